#include "weituo/broker/broker_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "harness.h"
#include "weituo/v1/wire.pb.h"

namespace weituo::broker {
namespace {

using weituo::KvStore;
using weituo::WriteBatch;
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
    batch.PutNewCommission(Record("A", weituo::v1::ACCEPTED));
    batch.PutNewCommission(Record("B", weituo::v1::SUBMITTED));
    batch.PutNewCommission(Record("C", weituo::v1::SUBMITTED));
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
  EXPECT_EQ((*record)->commission().origin_court(), "chunan") << "the body is read back";
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
  // A delivery names its commission's body and reads back whole, or with
  // only the id where that is all the caller needs.
  EXPECT_EQ((*items)[0].deliver().commission().origin_court(), "chunan");
  EXPECT_FALSE((*items)[0].body_elided());
  auto bare = s.GetOutbox("kaihua", 1, /*with_body=*/false);
  ASSERT_TRUE(bare.ok() && bare->has_value());
  EXPECT_EQ((*bare)->deliver().commission().id(), "A");
  EXPECT_EQ((*bare)->deliver().commission().origin_court(), "");
  EXPECT_EQ((**s.GetParked("shexian", 7)).deliver().commission().target_court(), "kaihua");
  // The frame that sends a delivery splices the stored body in: it parses as
  // the Envelope a court's agent expects, the commission whole.
  auto frame = s.DeliveryFrame(**bare);
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  weituo::v1::Envelope sent;
  ASSERT_TRUE(sent.ParseFromString(*frame));
  EXPECT_EQ(sent.protocol(), 1u);
  EXPECT_EQ(sent.deliver().delivery_id(), 1u);
  EXPECT_EQ(sent.deliver().commission().id(), "A");
  EXPECT_EQ(sent.deliver().commission().origin_court(), "chunan");
  EXPECT_EQ(sent.deliver().commission().target_court(), "kaihua");
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
// The column families of a store, as every version had them.
const std::vector<std::string> kFamilies = {"commissions", "events", "outbox", "parked", "requests",
                                            "index",       "chain",  "timers", "bodies"};

// Writes records as brokers before index_version 3 did: whole, the
// commission inside, with `index_version` (none if empty).
void WriteOldStore(const std::string& path, const std::vector<CommissionRecord>& records,
                   const std::vector<OutboxItem>& outbox, const std::string& index_version) {
  auto kv = KvStore::Open(path, kFamilies);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  WriteBatch batch = (*kv)->NewBatch();
  for (const CommissionRecord& r : records)
    batch.Put(kCfCommissions, r.commission().id(), r.SerializeAsString());
  for (const OutboxItem& item : outbox)
    batch.Put(kCfOutbox, OutboxKey(item.court(), item.deliver().delivery_id()),
              item.SerializeAsString());
  if (!index_version.empty()) batch.Put(kCfDefault, "index_version", index_version);
  ASSERT_TRUE((*kv)->Commit(batch, true).ok());
}

TEST(BrokerStoreTest, MigrationBackfillsStatisticsFromTrailsOnce) {
  TempDir dir;
  const std::string done = "01JDONE0000000000000000000", gone = "01JGONE0000000000000000000",
                    open = "01JOPEN0000000000000000000";
  CommissionRecord completed = Record(done, weituo::v1::COMPLETED);
  completed.set_submitted_at_ms(1000);
  CommissionRecord withdrawn = Record(gone, weituo::v1::WITHDRAWN);
  withdrawn.set_submitted_at_ms(1500);
  CommissionRecord pending = Record(open, weituo::v1::DELIVERED);
  pending.set_submitted_at_ms(3000);
  WriteOldStore(dir.path(), {completed, withdrawn, pending}, {}, "");
  auto store = BrokerStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto batch = (*store)->NewBatch();
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
  batch.PutEvent(
      TrailEvent(gone, 1, weituo::v1::EV_SUBMITTED, weituo::v1::SUBMITTED, 1500, "chunan"));
  batch.PutEvent(TrailEvent(gone, 2, weituo::v1::EV_WITHDRAWN, weituo::v1::WITHDRAWN, 9000, ""));
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
  EXPECT_EQ((**(*store)->GetCommission(done)).commission().origin_court(), "chunan");
}

// A store of index_version 2 keeps each commission inside its record and
// its deliveries: the upgrade moves them into bodies, once, and deliveries
// written before still read whole.
TEST(BrokerStoreTest, MigrationMovesCommissionsIntoBodies) {
  TempDir dir;
  std::vector<CommissionRecord> records;
  for (int i = 0; i < 25000; ++i) {  // more than one batch of the move
    char id[27];
    std::snprintf(id, sizeof id, "01JMOVE%019d", i);
    records.push_back(Record(id, weituo::v1::DELIVERED));
    records.back().mutable_commission()->set_case_number("(2026)浙0824执" + std::to_string(i));
  }
  OutboxItem old_item = Item("kaihua", 1, records[7].commission().id());
  *old_item.mutable_deliver()->mutable_commission() = records[7].commission();
  WriteOldStore(dir.path(), records, {old_item}, "2");
  {
    auto kv = KvStore::Open(dir.path(), kFamilies);
    ASSERT_TRUE(kv.ok());
    CommissionRecord raw;
    ASSERT_TRUE(raw.ParseFromString(**(*kv)->Get(kCfCommissions, records[0].commission().id())));
    ASSERT_TRUE(raw.has_commission()) << "the old layout, before the upgrade";
  }
  auto store = BrokerStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->MigrateIndex().ok());
  for (int i : {0, 9999, 10000, 24999}) {
    auto got = (*store)->GetCommission(records[i].commission().id());
    ASSERT_TRUE(got.ok() && got->has_value()) << i;
    EXPECT_EQ((*got)->commission().case_number(), records[i].commission().case_number());
    EXPECT_EQ((*got)->state(), weituo::v1::DELIVERED);
  }
  auto item = (*store)->GetOutbox("kaihua", 1);
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->deliver().commission().case_number(), records[7].commission().case_number());
  store->reset();
  auto kv = KvStore::Open(dir.path(), kFamilies);
  ASSERT_TRUE(kv.ok());
  CommissionRecord raw;
  ASSERT_TRUE(raw.ParseFromString(**(*kv)->Get(kCfCommissions, records[0].commission().id())));
  EXPECT_FALSE(raw.has_commission()) << "the record is stored without its body";
  EXPECT_TRUE((**(*kv)->Get(kCfBodies, records[0].commission().id())).size() > 0);
  EXPECT_EQ(**(*kv)->Get(kCfDefault, "index_version"), "3");
}

// Bytes that are not what the broker wrote where it reads a number or a
// record directly: each read is DATA_LOSS naming what it met, and counted.
TEST(BrokerStoreTest, DamagedNumbersAndRecordsAreDataLossAndCounted) {
  TempDir dir;
  {
    auto kv = KvStore::Open(dir.path(), kFamilies);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    WriteBatch batch = (*kv)->NewBatch();
    batch.Put(kCfDefault, "next_delivery_id", "short");
    batch.Put(kCfOutbox, OutboxKey("kaihua", 1), "\xff not an outbox item");
    batch.Put(kCfCommissions, "01JDAMAGED0000000000000000", "\xff not a record");
    ASSERT_TRUE((*kv)->Commit(batch, true).ok());
  }
  auto store = BrokerStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();

  const Status next = (*store)->NextDeliveryId().status();
  EXPECT_EQ(next.code(), StatusCode::kDataLoss) << next.ToString();
  EXPECT_THAT(next.message(), ::testing::HasSubstr("next_delivery_id"));
  EXPECT_EQ((*store)->damage().count, 1u);
  const Status oldest = (*store)->OldestPending("kaihua", 0, 10).status();
  EXPECT_EQ(oldest.code(), StatusCode::kDataLoss) << oldest.ToString();
  EXPECT_THAT(oldest.message(), ::testing::HasSubstr("outbox item of kaihua"));
  EXPECT_EQ((*store)->damage().count, 2u);
  // No index_version: the migration builds the index and meets the record.
  const Status migrated = (*store)->MigrateIndex();
  EXPECT_EQ(migrated.code(), StatusCode::kDataLoss) << migrated.ToString();
  EXPECT_EQ((*store)->damage().count, 3u);
  EXPECT_EQ((*store)->damage().last, "corrupt commission record while building the index");
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
