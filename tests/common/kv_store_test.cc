#include "weituo/common/kv_store.h"

#include <gtest/gtest.h>

#include <gmock/gmock.h>

#include <sys/mman.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "weituo/common/records.h"
#include "weituo/v1/wire.pb.h"

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

  // Commits `n` synced batches of a few keys each to a new store and closes
  // it: what they wrote is then only in the write-ahead log.
  void WriteSynced(int n) {
    auto kv = KvStore::Open(dir_ + "/db", {"a"});
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    for (int i = 0; i < n; ++i) {
      WriteBatch batch = (*kv)->NewBatch();
      for (int j = 0; j < 5; ++j) batch.Put(1, Key(i, j), std::string(100, 'x'));
      ASSERT_TRUE((*kv)->Commit(batch, true).ok());
    }
  }
  static std::string Key(int i, int j) { return "k" + std::to_string(i) + "." + std::to_string(j); }
  // The newest write-ahead log, which must hold what was written.
  std::string NewestLog() {
    std::string newest;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/db")) {
      if (e.path().extension() == ".log" && e.file_size() > 0)
        newest = std::max(newest, e.path().string());
    }
    return newest;
  }
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

TEST_F(KvStoreTest, ScanReverseVisitsTheSameRangeFromItsLastKey) {
  auto kv = KvStore::Open(dir_ + "/db", {"a"});
  ASSERT_TRUE(kv.ok());
  WriteBatch batch = (*kv)->NewBatch();
  for (const char* k : {"a1", "a2", "a3", "b1", "c1"}) batch.Put(1, k, std::string("v") + k);
  ASSERT_TRUE((*kv)->Commit(batch, false).ok());
  using Keys = std::vector<std::string>;
  auto reverse = [&](std::string_view start, std::string_view end, size_t limit) {
    Keys seen;
    Status s =
        (*kv)->ScanReverse(1, start, end, limit, [&](std::string_view k, std::string_view v) {
          EXPECT_EQ(v, "v" + std::string(k));
          seen.emplace_back(k);
          return true;
        });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seen;
  };
  // start is in the range, end is not; an empty end is no bound.
  EXPECT_EQ(reverse("a", "b", 0), (Keys{"a3", "a2", "a1"}));
  EXPECT_EQ(reverse("a2", "b1", 0), (Keys{"a3", "a2"}));
  EXPECT_EQ(reverse("a2", "", 0), (Keys{"c1", "b1", "a3", "a2"}));
  EXPECT_EQ(reverse("", "", 0), (Keys{"c1", "b1", "a3", "a2", "a1"}));
  // The limit counts from the last key.
  EXPECT_EQ(reverse("a", "c", 2), (Keys{"b1", "a3"}));
  EXPECT_EQ(reverse("d", "e", 0), Keys{});
  EXPECT_EQ(reverse("a3", "a3", 0), Keys{});

  // Returning false stops the scan after that key, in either order.
  Keys seen;
  auto first_only = [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    return false;
  };
  ASSERT_TRUE((*kv)->ScanReverse(1, "a", "c", 0, first_only).ok());
  ASSERT_TRUE((*kv)->Scan(1, "a", "c", 0, first_only).ok());
  EXPECT_EQ(seen, (Keys{"b1", "a1"}));
}

TEST_F(KvStoreTest, AWriteTheBatchRefusesFailsItsCommitAndWritesNothing) {
  auto kv = KvStore::Open(dir_ + "/db", {"a"});
  ASSERT_TRUE(kv.ok());
  // A value of 4 GiB and one byte, in address space that is never touched:
  // RocksDB refuses it by its size alone.
  const size_t huge = (size_t{1} << 32) + 1;
  void* pages =
      ::mmap(nullptr, huge, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(pages, MAP_FAILED);
  WriteBatch batch = (*kv)->NewBatch();
  batch.Put(1, "before", "v");
  batch.Put(1, "huge", std::string_view(static_cast<const char*>(pages), huge));
  batch.Put(1, "after", "v");
  ::munmap(pages, huge);
  EXPECT_EQ(batch.Count(), 2u);
  Status refused = (*kv)->Commit(batch, true);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument) << refused.ToString();
  EXPECT_THAT(refused.message(), ::testing::HasSubstr("value is too large"));
  EXPECT_FALSE((*kv)->Get(1, "before")->has_value());
  EXPECT_FALSE((*kv)->Get(1, "after")->has_value());

  // Clear forgets the refusal with the writes.
  batch.Clear();
  batch.Put(1, "after", "v");
  ASSERT_TRUE((*kv)->Commit(batch, true).ok());
  EXPECT_EQ(**(*kv)->Get(1, "after"), "v");
}

TEST_F(KvStoreTest, ASecondOpenIsRefusedWhileTheFirstHoldsTheLock) {
  auto first = KvStore::Open(dir_ + "/db", {});
  ASSERT_TRUE(first.ok());
  auto second = KvStore::Open(dir_ + "/db", {});
  EXPECT_EQ(second.status().code(), StatusCode::kInternal);
}

TEST_F(KvStoreTest, AWriteAheadLogCutShortIsRefusedNamingIt) {
  WriteSynced(30);
  const std::string log = NewestLog();
  ASSERT_FALSE(log.empty());
  std::filesystem::resize_file(log, std::filesystem::file_size(log) / 2);
  auto kv = KvStore::Open(dir_ + "/db", {"a"});
  ASSERT_EQ(kv.status().code(), StatusCode::kDataLoss) << kv.status().ToString();
  EXPECT_THAT(kv.status().message(), ::testing::HasSubstr("commit 30 had been acknowledged"));
  EXPECT_THAT(kv.status().message(), ::testing::HasSubstr(log));
  // Refused again: nothing was repaired behind the operator's back.
  EXPECT_EQ(KvStore::Open(dir_ + "/db", {"a"}).status().code(), StatusCode::kDataLoss);
}

TEST_F(KvStoreTest, FlippedBytesInTheLogAreRefusedNamingIt) {
  WriteSynced(30);
  const std::string log = NewestLog();
  ASSERT_FALSE(log.empty());
  {
    std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(log) / 3));
    f.write("\xde\xad\xbe\xef\xde\xad\xbe\xef\xde\xad\xbe\xef\xde\xad\xbe\xef", 16);
  }
  auto kv = KvStore::Open(dir_ + "/db", {"a"});
  ASSERT_EQ(kv.status().code(), StatusCode::kDataLoss) << kv.status().ToString();
  EXPECT_THAT(kv.status().message(), ::testing::HasSubstr("is damaged"));
  EXPECT_THAT(kv.status().message(), ::testing::HasSubstr(log));
}

TEST_F(KvStoreTest, ATornLastRecordOfAnUnacknowledgedBatchIsDropped) {
  WriteSynced(3);
  {
    // A batch written without a sync is not acknowledged: a power cut may
    // tear it, and what was acknowledged before it must still open.
    auto kv = KvStore::Open(dir_ + "/db", {"a"});
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    WriteBatch batch = (*kv)->NewBatch();
    batch.Put(1, "unacknowledged", std::string(500, 'y'));
    ASSERT_TRUE((*kv)->Commit(batch, false).ok());
  }
  const std::string log = NewestLog();
  ASSERT_FALSE(log.empty());
  std::filesystem::resize_file(log, std::filesystem::file_size(log) - 100);
  auto kv = KvStore::Open(dir_ + "/db", {"a"});
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_FALSE((*kv)->Get(1, "unacknowledged")->has_value());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE((*kv)->Get(1, Key(i, 4))->has_value()) << i;
}

TEST_F(KvStoreTest, AMissingMarkerIsALossUnlessTheOperatorAcceptsIt) {
  WriteSynced(2);
  std::filesystem::remove(dir_ + "/db/COMMITTED");
  auto refused = KvStore::Open(dir_ + "/db", {"a"});
  ASSERT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("COMMITTED is missing"));
  KvOptions accept;
  accept.accept_loss = true;
  {
    auto kv = KvStore::Open(dir_ + "/db", {"a"}, accept);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    EXPECT_THAT((*kv)->recovery_note(), ::testing::HasSubstr("accepted loss"));
  }
  EXPECT_TRUE(KvStore::Open(dir_ + "/db", {"a"}).ok());  // the marker was rewritten
}

TEST_F(KvStoreTest, AStoreWithoutAMarkerYetGetsOne) {
  KvOptions unmarked;
  unmarked.commit_marker = false;
  {
    auto kv = KvStore::Open(dir_ + "/db", {"a"}, unmarked);
    ASSERT_TRUE(kv.ok());
    WriteBatch batch = (*kv)->NewBatch();
    batch.Put(1, "k", "v");
    ASSERT_TRUE((*kv)->Commit(batch, true).ok());
  }
  auto kv = KvStore::Open(dir_ + "/db", {"a"});
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_THAT((*kv)->recovery_note(), ::testing::HasSubstr("made the commit marker"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/db/COMMITTED"));
}

TEST_F(KvStoreTest, ACheckpointOpensWithAMarkerOfItsOwn) {
  WriteSynced(4);
  {
    auto kv = KvStore::Open(dir_ + "/db", {"a"});
    ASSERT_TRUE(kv.ok());
    ASSERT_TRUE((*kv)->Checkpoint(dir_ + "/copy").ok());
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/copy/COMMITTED"));
  auto copy = KvStore::Open(dir_ + "/copy", {"a"});
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_TRUE((*copy)->Get(1, Key(3, 0))->has_value());
  EXPECT_TRUE((*copy)->recovery_note().empty());
}

TEST_F(KvStoreTest, ARecordThatDoesNotParseIsDataLossAndCounted) {
  auto kv = KvStore::Open(dir_ + "/db", {"a"});
  ASSERT_TRUE(kv.ok());
  WriteBatch batch = (*kv)->NewBatch();
  batch.Put(1, "bad", "\xff\xff\xff");  // not a protobuf message
  ASSERT_TRUE((*kv)->Commit(batch, true).ok());
  EXPECT_EQ((*kv)->damage().count, 0u);
  auto read = DecodeRecord<weituo::v1::Envelope>(**kv, 1, "bad", "envelope");
  EXPECT_EQ(read.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ((*kv)->damage().count, 1u);
  EXPECT_THAT((*kv)->damage().last, ::testing::HasSubstr("corrupt envelope record"));
}

// A group's follower applies the leader's batches as their bytes: the same
// keys and values, the same commit numbers and terms, and nothing out of
// order.
TEST_F(KvStoreTest, AReplicaAppliesTheLeadersBatchesInOrder) {
  struct Shipped {
    uint64_t number, term;
    std::string bytes;
  };
  std::vector<Shipped> shipped;
  auto leader = KvStore::Open(dir_ + "/leader", {"a", "b"});
  ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  (*leader)->SetCommitTerm(7);
  (*leader)->SetCommitListener([&](uint64_t number, uint64_t term, std::string_view bytes) {
    shipped.push_back({number, term, std::string(bytes)});
  });
  for (int i = 0; i < 3; ++i) {
    WriteBatch batch = (*leader)->NewBatch();
    batch.Put(1, Key(i, 0), "v" + std::to_string(i));
    batch.Put(2, Key(i, 1), "other family");
    if (i == 2) batch.Delete(1, Key(0, 0));
    ASSERT_TRUE((*leader)->Commit(batch, true).ok());
  }
  ASSERT_EQ(shipped.size(), 3u);
  EXPECT_EQ(shipped[2].number, 3u);
  EXPECT_EQ(shipped[2].term, 7u);
  EXPECT_EQ((*leader)->LastCommit(), 3u);
  auto recorded = KvStore::BatchNumber(shipped[1].bytes);
  ASSERT_TRUE(recorded.ok());
  EXPECT_EQ(*recorded, std::make_pair(uint64_t{2}, uint64_t{7}));

  {
    auto replica = KvStore::Open(dir_ + "/replica", {"a", "b"});
    ASSERT_TRUE(replica.ok());
    // Out of order, or bytes that are not a batch: refused, nothing written.
    EXPECT_EQ((*replica)->ApplyReplicated(2, 7, shipped[1].bytes).code(),
              StatusCode::kFailedPrecondition);
    EXPECT_EQ((*replica)->ApplyReplicated(1, 7, "not a batch").code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ((*replica)->ApplyReplicated(1, 7, shipped[1].bytes).code(),
              StatusCode::kFailedPrecondition);  // the bytes of commit 2 as commit 1
    for (const Shipped& s : shipped) {
      ASSERT_TRUE((*replica)->ApplyReplicated(s.number, s.term, s.bytes).ok());
    }
    EXPECT_EQ((*replica)->ApplyReplicated(3, 7, shipped[2].bytes).code(),
              StatusCode::kFailedPrecondition);  // applied once
  }
  // Synced and numbered: it reopens with its marker, at the leader's number and term.
  auto replica = KvStore::Open(dir_ + "/replica", {"a", "b"});
  ASSERT_TRUE(replica.ok()) << replica.status().ToString();
  EXPECT_EQ((*replica)->LastCommit(), 3u);
  EXPECT_EQ((*replica)->LastTerm(), 7u);
  for (int cf = 0; cf <= 2; ++cf) {
    std::vector<std::pair<std::string, std::string>> mine, theirs;
    auto collect = [](auto& out) {
      return [&out](std::string_view k, std::string_view v) {
        out.emplace_back(std::string(k), std::string(v));
        return true;
      };
    };
    ASSERT_TRUE((*leader)->Scan(cf, "", "", 0, collect(theirs)).ok());
    ASSERT_TRUE((*replica)->Scan(cf, "", "", 0, collect(mine)).ok());
    EXPECT_EQ(mine, theirs) << "column family " << cf;
    EXPECT_FALSE(mine.empty());
  }
}

}  // namespace
}  // namespace weituo
