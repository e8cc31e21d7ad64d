// A turn against a real RocksDB store in a temporary folder: what it shows
// the rest of the turn before the commit, and what the commit leaves.

#include "turn.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include "harness.h"
#include "weituo/v1/wire.pb.h"

namespace weituo::broker {
namespace {

using weituo::testing::TempDir;
using weituo::v1::CommissionRecord;
using weituo::v1::OutboxItem;
using weituo::v1::RequestOutcome;

constexpr char kId[] = "01HZY0000000000000000000AA";

CommissionRecord Record(weituo::v1::State state) {
  CommissionRecord r;
  r.mutable_commission()->set_id(kId);
  r.mutable_commission()->set_origin_court("chunan");
  r.mutable_commission()->set_target_court("kaihua");
  r.set_state(state);
  r.set_last_seq(1);
  return r;
}

OutboxItem Item(uint64_t delivery_id) {
  OutboxItem item;
  item.set_court("kaihua");
  item.mutable_deliver()->set_delivery_id(delivery_id);
  item.mutable_deliver()->mutable_event()->set_commission_id(kId);
  return item;
}

class TurnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = BrokerStore::Open(dir_.path() + "/db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  TempDir dir_;
  std::unique_ptr<BrokerStore> store_;
};

TEST_F(TurnTest, ARecordWrittenThisTurnIsReadBackBeforeTheCommitAndStoredAfter) {
  Turn turn(*store_);
  EXPECT_EQ(turn.Record(kId).status().code(), StatusCode::kNotFound);
  turn.AddRecord(Record(weituo::v1::SUBMITTED));
  EXPECT_TRUE(turn.Changed(kId));
  CommissionRecord delivered = Record(weituo::v1::DELIVERED);
  turn.PutRecord(delivered);
  ASSERT_TRUE(turn.Record(kId).ok());
  EXPECT_EQ(turn.Record(kId)->state(), weituo::v1::DELIVERED);
  // Not in the store yet.
  auto stored = store_->GetCommission(kId);
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->has_value());

  ASSERT_TRUE(turn.Commit(/*sync=*/true).ok());
  EXPECT_FALSE(turn.Changed(kId));
  EXPECT_TRUE(turn.empty());
  auto committed = turn.Record(kId);  // now from the store
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->state(), weituo::v1::DELIVERED);
}

TEST_F(TurnTest, AnOutboxItemSettledThisTurnIsGoneForTheRestOfIt) {
  {
    Turn setup(*store_);
    setup.batch().PutOutbox(Item(7));
    setup.batch().PutOutbox(Item(8));
    ASSERT_TRUE(setup.Commit(true).ok());
  }
  Turn turn(*store_);
  auto before = turn.Outbox("kaihua", 7);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(before->has_value());
  turn.RemoveFromOutbox("kaihua", 7);
  OutboxItem parked = Item(8);
  parked.set_park_reason("a test");
  turn.Park(parked);
  EXPECT_TRUE(turn.Settled("kaihua", 7));
  EXPECT_TRUE(turn.Settled("kaihua", 8));
  EXPECT_FALSE(turn.Settled("kaihua", 9));
  EXPECT_FALSE(turn.Outbox("kaihua", 7)->has_value());
  EXPECT_FALSE(turn.Outbox("kaihua", 8)->has_value());
  // The store still holds both until the commit.
  EXPECT_TRUE(store_->GetOutbox("kaihua", 7)->has_value());

  ASSERT_TRUE(turn.Commit(true).ok());
  EXPECT_FALSE(turn.Settled("kaihua", 7));
  EXPECT_FALSE(store_->GetOutbox("kaihua", 7)->has_value());
  EXPECT_FALSE(store_->GetOutbox("kaihua", 8)->has_value());
  auto moved = store_->GetParked("kaihua", 8);
  ASSERT_TRUE(moved.ok());
  ASSERT_TRUE(moved->has_value());
  EXPECT_EQ((*moved)->park_reason(), "a test");

  Turn unpark(*store_);
  unpark.Unpark("kaihua", 8);
  EXPECT_TRUE(unpark.Settled("kaihua", 8));
  ASSERT_TRUE(unpark.Commit(true).ok());
  EXPECT_FALSE(store_->GetParked("kaihua", 8)->has_value());
}

TEST_F(TurnTest, ARequestOutcomeIsSeenByAResendInTheSameTurn) {
  Turn turn(*store_);
  ASSERT_TRUE(turn.Request("kaihua", "r1").ok());
  EXPECT_FALSE(turn.Request("kaihua", "r1")->has_value());
  RequestOutcome outcome;
  outcome.mutable_receipt()->set_request_id("r1");
  turn.PutRequest("kaihua", "r1", outcome);
  ASSERT_TRUE(turn.Request("kaihua", "r1")->has_value());
  EXPECT_EQ((*turn.Request("kaihua", "r1"))->receipt().request_id(), "r1");
  EXPECT_FALSE(turn.Request("chunan", "r1")->has_value());  // per court
  ASSERT_TRUE(turn.Commit(true).ok());
  EXPECT_TRUE(store_->GetRequest("kaihua", "r1")->has_value());
}

TEST_F(TurnTest, RepliesWaitForTheCommitAndAreTakenOnce) {
  Turn turn(*store_);
  turn.AddReply("kaihua.1", "receipt");
  turn.AddReply("chunan.1", "refusal");
  ASSERT_TRUE(turn.Commit(true).ok());
  std::vector<Turn::Reply> replies = turn.TakeReplies();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].routing_id, "kaihua.1");
  EXPECT_EQ(replies[1].bytes, "refusal");
  EXPECT_TRUE(turn.TakeReplies().empty());
}

TEST_F(TurnTest, AnEmptyTurnCommitsWithoutWriting) {
  Turn turn(*store_);
  EXPECT_TRUE(turn.empty());
  EXPECT_EQ(turn.writes(), 0u);
  EXPECT_TRUE(turn.Commit(true).ok());
}

TEST_F(TurnTest, ABatchTheStoreRefusesForWhatItHoldsIsNotRetriedButAFullDiskIs) {
  // The refusal as the store gives it: a value of 4 GiB and one byte, in
  // address space never touched, refused by its size alone.
  auto kv = KvStore::Open(dir_.path() + "/kv", {"a"});
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  const size_t huge = (size_t{1} << 32) + 1;
  void* pages =
      ::mmap(nullptr, huge, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(pages, MAP_FAILED);
  WriteBatch batch = (*kv)->NewBatch();
  batch.Put(1, "huge", std::string_view(static_cast<const char*>(pages), huge));
  ::munmap(pages, huge);
  const Status refused = (*kv)->Commit(batch, /*sync=*/false);
  ASSERT_FALSE(refused.ok());
  EXPECT_FALSE(Turn::Retryable(refused)) << refused.ToString();
  // What a full disk or an I/O error gives (kv_store.cc's FromRocks).
  EXPECT_TRUE(Turn::Retryable(Status::ResourceExhausted("commit: No space left on device")));
  EXPECT_TRUE(Turn::Retryable(Status::Internal("commit: IO error")));
}

}  // namespace
}  // namespace weituo::broker
