#include "weituo/broker/broker_store.h"

#include <gtest/gtest.h>

#include "harness.h"

namespace weituo::broker {
namespace {

using weituo::testing::TempDir;
using weituo::v1::CommissionRecord;
using weituo::v1::Event;
using weituo::v1::OutboxItem;

CommissionRecord Record(const std::string& id, weituo::v1::State state) {
  CommissionRecord r;
  r.mutable_commission()->set_id(id);
  r.mutable_commission()->set_origin_court("chunan");
  r.mutable_commission()->set_target_court("kaihua");
  r.set_state(state);
  r.set_last_seq(1);
  return r;
}

OutboxItem Item(const std::string& court, uint64_t delivery_id, const std::string& commission) {
  OutboxItem item;
  item.set_court(court);
  item.mutable_deliver()->set_delivery_id(delivery_id);
  item.mutable_deliver()->mutable_commission()->set_id(commission);
  return item;
}

TEST(BrokerStoreKeysTest, OutboxKeysRoundTripAndSortByCourtThenId) {
  std::string court;
  uint64_t id = 0;
  ASSERT_TRUE(ParseOutboxKey(OutboxKey("kaihua", 258), &court, &id));
  EXPECT_EQ(court, "kaihua");
  EXPECT_EQ(id, 258u);
  EXPECT_LT(OutboxKey("kaihua", 255), OutboxKey("kaihua", 256));
  EXPECT_LT(OutboxKey("kaihua", uint64_t{1} << 40), OutboxKey("kaihuaa", 0));
  EXPECT_FALSE(ParseOutboxKey("short", &court, &id));
  EXPECT_LT(EventKey("01ABC", 9), EventKey("01ABC", 10));
  EXPECT_EQ(RequestKey("kaihua", "r1"), std::string("kaihua\0r1", 9));
}

TEST(BrokerStoreTest, ReopenAfterCloseRecoversEverything) {
  TempDir dir;
  {
    auto store = BrokerStore::Open(dir.path() + "/db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ(*(*store)->NextDeliveryId(), 1u);
    auto batch = (*store)->NewBatch();
    batch.PutCommission(Record("A", weituo::v1::ACCEPTED));
    Event e;
    e.set_commission_id("A");
    e.set_seq(1);
    e.set_type(weituo::v1::EV_SUBMITTED);
    batch.PutEvent(e);
    e.set_seq(2);
    e.set_type(weituo::v1::EV_ACCEPTED);
    batch.PutEvent(e);
    for (uint64_t i = 1; i <= 5; ++i) batch.PutOutbox(Item("kaihua", i, "A"));
    batch.PutOutbox(Item("kaihuaa", 6, "B"));
    batch.PutParked(Item("shexian", 7, "C"));
    weituo::v1::RequestOutcome outcome;
    outcome.mutable_receipt()->set_request_id("r1");
    batch.PutRequest("kaihua", "r1", outcome);
    batch.PutNextDeliveryId(8);
    ASSERT_TRUE((*store)->Commit(batch, true).ok());
    auto del = (*store)->NewBatch();
    del.DeleteOutbox("kaihua", 2);
    ASSERT_TRUE((*store)->Commit(del, true).ok());
  }
  auto store = BrokerStore::Open(dir.path() + "/db");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto& s = **store;
  EXPECT_EQ(*s.NextDeliveryId(), 8u);
  auto record = s.GetCommission("A");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->state(), weituo::v1::ACCEPTED);
  EXPECT_FALSE(s.GetCommission("Z")->has_value());
  auto events = s.Events("A");
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].type(), weituo::v1::EV_ACCEPTED);

  // The outbox scan stays within the court and starts where asked.
  auto items = s.ScanOutbox("kaihua", 0, 100);
  ASSERT_EQ(items->size(), 4u);
  EXPECT_EQ((*items)[0].deliver().delivery_id(), 1u);
  EXPECT_EQ((*items)[1].deliver().delivery_id(), 3u);
  auto tail = s.ScanOutbox("kaihua", 4, 1);
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].deliver().delivery_id(), 4u);
  EXPECT_EQ(s.ScanOutbox("kaihuaa", 0, 10)->size(), 1u);
  EXPECT_FALSE(s.GetOutbox("kaihua", 2)->has_value());
  EXPECT_TRUE(s.GetParked("shexian", 7)->has_value());
  EXPECT_EQ(s.ScanParked("shexian", 10)->size(), 1u);
  EXPECT_EQ((*s.GetRequest("kaihua", "r1"))->receipt().request_id(), "r1");
  EXPECT_FALSE(s.GetRequest("chunan", "r1")->has_value());
}

Event TrailEvent(const std::string& id, uint64_t seq, weituo::v1::EventType type,
                 weituo::v1::State state, int64_t at_ms, const std::string& actor) {
  Event e;
  e.set_commission_id(id);
  e.set_seq(seq);
  e.set_type(type);
  e.set_state(state);
  e.set_at_ms(at_ms);
  e.set_actor_court(actor);
  return e;
}

// A store written before the statistics fields and the timers existed is
// brought up to date once: index by submission time, the fields read from
// each trail, a timer for each open commission.
TEST(BrokerStoreTest, MigrationBackfillsStatisticsFromTrailsOnce) {
  TempDir dir;
  auto store = BrokerStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  const std::string done = "01JDONE0000000000000000000", gone = "01JGONE0000000000000000000",
                    open = "01JOPEN0000000000000000000";
  auto batch = (*store)->NewBatch();
  CommissionRecord completed = Record(done, weituo::v1::COMPLETED);
  completed.set_submitted_at_ms(1000);
  batch.PutCommission(completed);
  batch.PutEvent(
      TrailEvent(done, 1, weituo::v1::EV_SUBMITTED, weituo::v1::SUBMITTED, 1000, "chunan"));
  Event accepted =
      TrailEvent(done, 2, weituo::v1::EV_ACCEPTED, weituo::v1::ACCEPTED, 2000, "kaihua");
  accepted.mutable_update()->mutable_accept()->set_handler("李明");
  batch.PutEvent(accepted);
  Event complete =
      TrailEvent(done, 3, weituo::v1::EV_COMPLETED, weituo::v1::COMPLETED, 5000, "kaihua");
  complete.mutable_update()
      ->mutable_complete()
      ->mutable_result()
      ->mutable_locate()
      ->set_amount_paid_fen(2000000);
  batch.PutEvent(complete);
  CommissionRecord withdrawn = Record(gone, weituo::v1::WITHDRAWN);
  withdrawn.set_submitted_at_ms(1500);
  batch.PutCommission(withdrawn);
  batch.PutEvent(
      TrailEvent(gone, 1, weituo::v1::EV_SUBMITTED, weituo::v1::SUBMITTED, 1500, "chunan"));
  batch.PutEvent(TrailEvent(gone, 2, weituo::v1::EV_WITHDRAWN, weituo::v1::WITHDRAWN, 9000, ""));
  CommissionRecord pending = Record(open, weituo::v1::DELIVERED);
  pending.set_submitted_at_ms(3000);
  batch.PutCommission(pending);
  batch.PutEvent(
      TrailEvent(open, 1, weituo::v1::EV_SUBMITTED, weituo::v1::SUBMITTED, 3000, "chunan"));
  ASSERT_TRUE((*store)->Commit(batch, true).ok());

  ASSERT_TRUE((*store)->MigrateIndex().ok());
  auto got = (*store)->GetCommission(done);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->accepted_at_ms(), 2000);
  EXPECT_EQ((*got)->handler(), "李明");
  EXPECT_EQ((*got)->closed_at_ms(), 5000);
  EXPECT_EQ((*got)->result().locate().amount_paid_fen(), 2000000);
  EXPECT_EQ((*got)->next_check_ms(), 0) << "an ended commission has no deadlines";
  got = (*store)->GetCommission(gone);
  EXPECT_TRUE((*got)->deemed_withdrawn()) << "withdrawn by the broker itself";
  EXPECT_EQ((*got)->closed_at_ms(), 9000);
  got = (*store)->GetCommission(open);
  EXPECT_EQ((*got)->next_check_ms(), 1) << "reviewed at the first tick";
  auto due = (*store)->DueTimers(0, 10, 100);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].second, open);
  // By submission time, in order, the range's end excluded.
  std::vector<std::string> in_range;
  ASSERT_TRUE((*store)
                  ->ScanSubmitted(1000, 3000, 0,
                                  [&](const CommissionRecord& r) {
                                    in_range.push_back(r.commission().id());
                                    return true;
                                  })
                  .ok());
  EXPECT_EQ(in_range, (std::vector<std::string>{done, gone}));

  // Once: a second migration changes nothing, even of a record changed since.
  auto later = (*store)->NewBatch();
  CommissionRecord changed = **(*store)->GetCommission(done);
  changed.set_handler("王芳");
  later.PutCommission(changed);
  ASSERT_TRUE((*store)->Commit(later, true).ok());
  ASSERT_TRUE((*store)->MigrateIndex().ok());
  EXPECT_EQ((**(*store)->GetCommission(done)).handler(), "王芳");
}

TEST(BrokerStoreTest, SecondOpenOfALockedStoreFailsClearly) {
  TempDir dir;
  auto first = BrokerStore::Open(dir.path() + "/db");
  ASSERT_TRUE(first.ok());
  auto second = BrokerStore::Open(dir.path() + "/db");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kInternal);
  EXPECT_NE(second.status().message().find("lock"), std::string::npos) << second.status().message();
}

}  // namespace
}  // namespace weituo::broker
