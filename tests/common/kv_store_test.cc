#include "weituo/common/kv_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace weituo {
namespace {

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/weituo-kv-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(KvStoreTest, BatchesAreAtomicAndSurviveReopen) {
  {
    auto kv = KvStore::Open(dir_ + "/db", {"a", "b"});
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    WriteBatch batch = (*kv)->NewBatch();
    batch.Put(1, "k1", "v1");
    batch.Put(2, "k1", "other family");
    batch.Put(1, "k2", "v2");
    batch.Delete(1, "k2");
    EXPECT_EQ(batch.Count(), 4u);
    EXPECT_FALSE((*kv)->Get(1, "k1")->has_value());  // nothing before Commit
    ASSERT_TRUE((*kv)->Commit(batch, true).ok());
  }
  auto kv = KvStore::Open(dir_ + "/db", {"a", "b"});
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(**(*kv)->Get(1, "k1"), "v1");
  EXPECT_EQ(**(*kv)->Get(2, "k1"), "other family");
  EXPECT_FALSE((*kv)->Get(1, "k2")->has_value());
}

TEST_F(KvStoreTest, ScanHonoursBoundsAndLimitAndLastKeyFindsTheEnd) {
  auto kv = KvStore::Open(dir_ + "/db", {"a"});
  ASSERT_TRUE(kv.ok());
  WriteBatch batch = (*kv)->NewBatch();
  for (const char* k : {"a1", "a2", "a3", "b1"}) batch.Put(1, k, k);
  ASSERT_TRUE((*kv)->Commit(batch, false).ok());
  std::vector<std::string> seen;
  auto collect = [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    return true;
  };
  ASSERT_TRUE((*kv)->Scan(1, "a", "b", 0, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a1", "a2", "a3"}));
  seen.clear();
  ASSERT_TRUE((*kv)->Scan(1, "a2", "", 2, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a2", "a3"}));
  EXPECT_EQ(**(*kv)->LastKey(1, "a", "b"), "a3");
  EXPECT_EQ(**(*kv)->LastKey(1, "", ""), "b1");
  EXPECT_FALSE((*kv)->LastKey(1, "c", "d")->has_value());
}

TEST_F(KvStoreTest, ASecondOpenIsRefusedWhileTheFirstHoldsTheLock) {
  auto first = KvStore::Open(dir_ + "/db", {});
  ASSERT_TRUE(first.ok());
  auto second = KvStore::Open(dir_ + "/db", {});
  EXPECT_EQ(second.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace weituo
