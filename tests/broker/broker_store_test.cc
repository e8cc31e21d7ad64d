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
