// The agent's store reads back the numbers it wrote as eight bytes; any
// other size is damage (DATA_LOSS), never a silent 0 that would restart a
// counter or an outbox sequence over entries already stored.
#include "agent_store.h"

#include <gtest/gtest.h>

#include "harness.h"
#include "weituo/common/keys.h"

namespace weituo::agent {
namespace {

std::string Be64(uint64_t v) {
  std::string out;
  AppendBigEndian64(&out, v);
  return out;
}

class AgentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = AgentStore::Open(dir_.path() + "/store");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  void Put(int cf, const std::string& key, const std::string& value) {
    WriteBatch batch = store_->kv().NewBatch();
    batch.Put(cf, key, value);
    ASSERT_TRUE(store_->kv().Commit(batch, /*sync=*/false).ok());
  }

  weituo::testing::TempDir dir_;
  std::unique_ptr<AgentStore> store_;
};

TEST_F(AgentStoreTest, NumbersWrittenAsEightBytesReadBack) {
  EXPECT_EQ(*store_->Counter("received"), 0u);  // never written
  EXPECT_EQ(*store_->LastOutboxSeq(), 0u);
  EXPECT_FALSE(store_->OutboxSeqOf("r1")->has_value());
  Put(kCfDefault, "received", Be64(41));
  Put(kCfOutbox, Be64(7), "entry");
  Put(kCfOutboxIndex, "r1", Be64(7));
  EXPECT_EQ(*store_->Counter("received"), 41u);
  EXPECT_EQ(*store_->LastOutboxSeq(), 7u);
  EXPECT_EQ(**store_->OutboxSeqOf("r1"), 7u);
}

TEST_F(AgentStoreTest, ANumberOfTheWrongSizeIsDataLossNotZero) {
  Put(kCfDefault, "events", "\x01\x02\x03");
  Put(kCfOutboxIndex, "r2", std::string(9, '\x01'));
  Put(kCfOutbox, "short", "entry");  // sorts after any 8-byte key of 0x00..
  auto counter = store_->Counter("events");
  ASSERT_FALSE(counter.ok());
  EXPECT_EQ(counter.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(counter.status().message().find("counter 'events'"), std::string::npos)
      << counter.status().message();
  auto seq = store_->OutboxSeqOf("r2");
  ASSERT_FALSE(seq.ok());
  EXPECT_EQ(seq.status().code(), StatusCode::kDataLoss);
  auto last = store_->LastOutboxSeq();
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace weituo::agent
