// The trail writer against a real RocksDB store in a temporary folder.

#include "trail.h"

#include <gtest/gtest.h>

#include "turn_fixture.h"
#include "weituo/common/keys.h"
#include "weituo/common/kv_store.h"
#include "weituo/common/trail_hash.h"

namespace weituo::broker {
namespace {

using weituo::testing::TempDir;
using weituo::v1::CommissionRecord;
using weituo::v1::Deliver;
using weituo::v1::Event;

constexpr char kId[] = "01HZY0000000000000000000AA";
constexpr int64_t kNow = 1'700'000'000'000;

class TrailWriterTest : public TurnFixture {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    trail_.reset();
    OpenStore();
    trail_ = std::make_unique<TrailWriter>(*store_, *turn_,
                                           [this](const std::string& court, Deliver deliver) {
                                             told_.emplace_back(court, deliver.event());
                                           });
  }
  void Commit() {
    trail_->WriteHeads();
    ASSERT_TRUE(turn_->Commit(true).ok());
  }

  // A submitted commission from chunan to kaihua, stored and committed.
  CommissionRecord Submitted() {
    CommissionRecord r;
    r.mutable_commission()->set_id(kId);
    r.mutable_commission()->set_origin_court("chunan");
    r.mutable_commission()->set_target_court("kaihua");
    r.set_state(weituo::v1::SUBMITTED);
    r.set_last_seq(1);
    Event submitted;
    submitted.set_commission_id(kId);
    submitted.set_seq(1);
    submitted.set_state(weituo::v1::SUBMITTED);
    submitted.set_hash(EventHash(submitted));
    r.set_last_hash(submitted.hash());
    trail_->AddNew(r, submitted);
    Commit();
    return r;
  }

  std::unique_ptr<TrailWriter> trail_;
  std::vector<std::pair<std::string, Event>> told_;
};

TEST_F(TrailWriterTest, AStepIsTheNextEventOfTheChainToldToTheOtherParty) {
  CommissionRecord record = Submitted();
  const std::string first_hash = record.last_hash();
  auto event = trail_->Apply(record, Action::kDeliver, Role::kBroker, "", nullptr, "", kNow);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_EQ(event->seq(), 2u);
  EXPECT_EQ(event->prev_hash(), first_hash);
  EXPECT_EQ(event->hash(), EventHash(*event));
  EXPECT_EQ(record.state(), weituo::v1::DELIVERED);
  EXPECT_EQ(record.last_seq(), 2u);
  EXPECT_EQ(record.last_hash(), event->hash());
  ASSERT_EQ(told_.size(), 1u);
  EXPECT_EQ(told_[0].first, "chunan");  // the origin hears of the delivery
  Commit();

  auto stored = store_->GetEvent(kId, 2);
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->hash(), event->hash());
  EXPECT_EQ(trail_->chain_position(), 2u);
  auto counts = store_->StateCounts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->by_state().at(weituo::v1::DELIVERED), 1u);
  EXPECT_EQ(counts->by_state().at(weituo::v1::SUBMITTED), 0u);
}

TEST_F(TrailWriterTest, AStepTheLifecycleRefusesWritesNothing) {
  CommissionRecord record = Submitted();
  const CommissionRecord before = record;
  // The origin cannot complete its own commission.
  auto event = trail_->Apply(record, Action::kComplete, Role::kOrigin, "chunan", nullptr, "", kNow);
  EXPECT_FALSE(event.ok());
  EXPECT_EQ(record.SerializeAsString(), before.SerializeAsString());
  EXPECT_TRUE(told_.empty());
  EXPECT_TRUE(turn_->empty());
}

TEST_F(TrailWriterTest, AStepSchedulesItsDeadlineReviewAndAnEndCancelsIt) {
  CommissionRecord record = Submitted();
  ASSERT_TRUE(trail_->Apply(record, Action::kDeliver, Role::kBroker, "", nullptr, "", kNow).ok());
  EXPECT_EQ(record.next_check_ms(), 0);  // a delivery reviews nothing new
  weituo::v1::Update accept;
  accept.mutable_accept()->set_handler("clerk");
  ASSERT_TRUE(
      trail_->Apply(record, Action::kAccept, Role::kTarget, "kaihua", &accept, "", kNow).ok());
  EXPECT_EQ(record.next_check_ms(), kNow);
  EXPECT_EQ(trail_->TakeLowestTimerPut(), kNow);
  EXPECT_EQ(record.handler(), "clerk");
  Commit();
  auto due = store_->DueTimers(0, kNow, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].second, kId);

  ASSERT_TRUE(
      trail_->Apply(record, Action::kWithdraw, Role::kOrigin, "chunan", nullptr, "", kNow).ok());
  EXPECT_EQ(record.next_check_ms(), 0);
  EXPECT_TRUE(IsFinal(record.state()));
  Commit();
  EXPECT_TRUE(store_->DueTimers(0, kNow, 10)->empty());
}

TEST_F(TrailWriterTest, LoadFindsTheChainItLeftAndRefusesOneThatLostLinks) {
  CommissionRecord record = Submitted();
  ASSERT_TRUE(trail_->Apply(record, Action::kDeliver, Role::kBroker, "", nullptr, "", kNow).ok());
  Commit();
  Open();
  ASSERT_TRUE(trail_->Load().ok());
  EXPECT_EQ(trail_->chain_position(), 2u);

  // The head says 2 links were committed; the newest goes missing.
  store_.reset();
  {
    const std::vector<std::string> families = {"commissions", "events",   "outbox",
                                               "parked",      "requests", "index",
                                               "chain",       "timers",   "bodies"};
    auto kv = KvStore::Open(dir_.path() + "/db", families);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    WriteBatch edit = (*kv)->NewBatch();
    std::string key;
    AppendBigEndian64(&key, 2);
    edit.Delete(kCfChain, key);
    ASSERT_TRUE((*kv)->Commit(edit, true).ok());
  }
  Open();
  EXPECT_EQ(trail_->Load().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace weituo::broker
