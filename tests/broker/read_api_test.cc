// The read API against a real RocksDB store in a temporary folder, written
// through the store's batches as the loop writes it.

#include "weituo/broker/read_api.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"
#include "weituo/common/trail_hash.h"

namespace weituo::broker {
namespace {

using weituo::testing::TempDir;
using weituo::v1::CommissionRecord;
using weituo::v1::Event;
using weituo::v1::OutboxItem;

constexpr int64_t kNow = 1'700'000'000'000;

// ULIDs in id (so submission) order.
std::string Id(int n) {
  std::string id = "01HZY000000000000000000000";
  id[id.size() - 1] = static_cast<char>('A' + n);
  return id;
}

class ReadApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.data_dir = dir_.path() + "/db";
    options_.backup_dir = dir_.path() + "/backups";
    options_.overdue_after_ms = 60'000;
    auto store = BrokerStore::Open(options_.data_dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    api_ = std::make_unique<ReadApi>(*store_, options_);
  }

  void Commit(BrokerStore::Batch& batch) {
    Status committed = store_->Commit(batch, /*sync=*/true);
    ASSERT_TRUE(committed.ok()) << committed.ToString();
  }

  // A debtor-locate (or asset-query) commission from `origin` to `target`,
  // submitted and then moved to `state`, with a chained trail of one event
  // per step (1 for a submitted one, 2 otherwise).
  void AddCommission(const std::string& id, const std::string& origin, const std::string& target,
                     weituo::v1::State state, bool asset_query = false) {
    CommissionRecord record;
    record.mutable_commission()->set_id(id);
    record.mutable_commission()->set_origin_court(origin);
    record.mutable_commission()->set_target_court(target);
    if (asset_query) {
      record.mutable_commission()->mutable_asset_query();
    } else {
      record.mutable_commission()->mutable_debtor_locate();
    }
    record.set_state(weituo::v1::SUBMITTED);
    std::vector<weituo::v1::State> steps = {weituo::v1::SUBMITTED};
    if (state != weituo::v1::SUBMITTED) steps.push_back(state);
    BrokerStore::Batch batch = store_->NewBatch();
    batch.PutNewCommission(record);
    batch.IndexNew(record);
    std::string prev;
    for (size_t i = 0; i < steps.size(); ++i) {
      Event event;
      event.set_commission_id(id);
      event.set_seq(i + 1);
      event.set_state(steps[i]);
      event.set_at_ms(kNow + static_cast<int64_t>(i));
      event.set_prev_hash(prev);
      event.set_hash(EventHash(event));
      prev = event.hash();
      batch.PutEvent(event);
    }
    if (state != weituo::v1::SUBMITTED) batch.IndexState(id, weituo::v1::SUBMITTED, state);
    record.set_state(state);
    record.set_last_seq(steps.size());
    record.set_last_hash(prev);
    batch.PutCommission(record);
    Commit(batch);
  }

  static std::vector<std::string> Ids(const weituo::v1::CommissionPage& page) {
    std::vector<std::string> ids;
    for (const CommissionRecord& r : page.commissions()) ids.push_back(r.commission().id());
    return ids;
  }

  static OutboxItem Item(const std::string& court, uint64_t delivery_id, int64_t enqueued_at_ms) {
    OutboxItem item;
    item.set_court(court);
    item.mutable_deliver()->set_delivery_id(delivery_id);
    item.mutable_deliver()->mutable_event()->set_commission_id(Id(0));
    item.set_enqueued_at_ms(enqueued_at_ms);
    return item;
  }

  TempDir dir_;
  BrokerOptions options_;
  std::unique_ptr<BrokerStore> store_;
  std::unique_ptr<ReadApi> api_;
};

TEST_F(ReadApiTest, ListsByCourtStateAndKindNewestFirst) {
  AddCommission(Id(0), "chunan", "kaihua", weituo::v1::SUBMITTED);
  AddCommission(Id(1), "kaihua", "chunan", weituo::v1::DELIVERED);
  AddCommission(Id(2), "chunan", "lishui", weituo::v1::DELIVERED, /*asset_query=*/true);
  AddCommission(Id(3), "lishui", "kaihua", weituo::v1::SUBMITTED);

  CommissionQuery all;
  auto page = api_->ListCommissions(all);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(Ids(*page), (std::vector<std::string>{Id(3), Id(2), Id(1), Id(0)}));
  EXPECT_EQ(page->next_after(), "") << "all there is fits one page";
  EXPECT_TRUE(page->commissions(0).has_commission()) << "records come with their commission";

  CommissionQuery chunan;
  chunan.court = "chunan";
  chunan.newest_first = false;
  page = api_->ListCommissions(chunan);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(Ids(*page), (std::vector<std::string>{Id(0), Id(1), Id(2)}));

  CommissionQuery delivered;
  delivered.state = weituo::v1::DELIVERED;
  page = api_->ListCommissions(delivered);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(Ids(*page), (std::vector<std::string>{Id(2), Id(1)}));

  CommissionQuery assets;
  assets.court = "chunan";
  assets.kind = weituo::v1::ASSET_QUERY;
  page = api_->ListCommissions(assets);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(Ids(*page), (std::vector<std::string>{Id(2)}));
}

TEST_F(ReadApiTest, AFullPageNamesWhereTheNextGoesOn) {
  for (int i = 0; i < 5; ++i) AddCommission(Id(i), "chunan", "kaihua", weituo::v1::SUBMITTED);
  CommissionQuery query;
  query.limit = 2;
  std::vector<std::string> seen;
  std::vector<std::string> next_afters;
  for (int pages = 0; pages < 4; ++pages) {
    auto page = api_->ListCommissions(query);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const std::string& id : Ids(*page)) seen.push_back(id);
    next_afters.push_back(page->next_after());
    if (page->next_after().empty()) break;
    query.after = page->next_after();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{Id(4), Id(3), Id(2), Id(1), Id(0)}));
  // Two full pages go on after their last; the third, not full, ends it.
  EXPECT_EQ(next_afters, (std::vector<std::string>{Id(3), Id(1), ""}));
}

TEST_F(ReadApiTest, ALimitOutsideOneTo500IsInvalid) {
  CommissionQuery query;
  query.limit = 0;
  EXPECT_EQ(api_->ListCommissions(query).status().code(), StatusCode::kInvalidArgument);
  query.limit = 501;
  EXPECT_EQ(api_->ListCommissions(query).status().code(), StatusCode::kInvalidArgument);
  query.limit = 500;
  EXPECT_TRUE(api_->ListCommissions(query).ok());
}

TEST_F(ReadApiTest, ATrailIsServedWholeWithItsRecord) {
  AddCommission(Id(0), "chunan", "kaihua", weituo::v1::DELIVERED);
  auto trail = api_->Trail(Id(0));
  ASSERT_TRUE(trail.ok()) << trail.status().ToString();
  EXPECT_EQ(trail->record().commission().id(), Id(0));
  EXPECT_EQ(trail->record().state(), weituo::v1::DELIVERED);
  ASSERT_EQ(trail->events_size(), 2);
  EXPECT_EQ(trail->events(0).seq(), 1u);
  EXPECT_EQ(trail->events(1).seq(), 2u);
  EXPECT_EQ(trail->events(1).prev_hash(), trail->events(0).hash());

  EXPECT_EQ(api_->Trail(Id(9)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(api_->Trail("not-a-ulid").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ReadApiTest, ATamperedTrailIsDataLossAndCountedAsDamage) {
  AddCommission(Id(0), "chunan", "kaihua", weituo::v1::DELIVERED);
  // Someone with the store's files rewrites the delivery as made by another
  // court, keeping its hash.
  auto stored = store_->GetEvent(Id(0), 2);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  Event edited = **stored;
  edited.set_actor_court("lishui");
  BrokerStore::Batch batch = store_->NewBatch();
  batch.PutEvent(edited);
  Commit(batch);

  const uint64_t damage_before = store_->damage().count;
  auto trail = api_->Trail(Id(0));
  EXPECT_EQ(trail.status().code(), StatusCode::kDataLoss) << trail.status().ToString();
  EXPECT_NE(trail.status().message().find("the trail fails its check at event " + Id(0) + "#2"),
            std::string::npos)
      << trail.status().message();
  EXPECT_EQ(store_->damage().count, damage_before + 1);
}

TEST_F(ReadApiTest, ARecordOlderThanItsTrailIsDataLoss) {
  AddCommission(Id(0), "chunan", "kaihua", weituo::v1::DELIVERED);
  // The record put back as it was before the delivery.
  auto record = store_->GetCommission(Id(0));
  ASSERT_TRUE(record.ok() && record->has_value());
  CommissionRecord stale = **record;
  stale.set_last_seq(1);
  BrokerStore::Batch batch = store_->NewBatch();
  batch.PutCommission(stale);
  Commit(batch);

  auto trail = api_->Trail(Id(0));
  EXPECT_EQ(trail.status().code(), StatusCode::kDataLoss) << trail.status().ToString();
  EXPECT_NE(trail.status().message().find("the record is stale"), std::string::npos)
      << trail.status().message();
}

TEST_F(ReadApiTest, ParkedMessagesComeByCourtThenDeliveryIdUpToTheLimit) {
  BrokerStore::Batch batch = store_->NewBatch();
  for (auto [court, id] :
       std::vector<std::pair<std::string, uint64_t>>{{"lishui", 3}, {"kaihua", 9}, {"kaihua", 4}}) {
    OutboxItem item = Item(court, id, kNow);
    item.set_park_reason("no acknowledgement after 10 attempts");
    batch.PutParked(item);
  }
  Commit(batch);

  auto page = api_->Parked(10);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->items_size(), 3);
  EXPECT_EQ(page->items(0).court(), "kaihua");
  EXPECT_EQ(page->items(0).deliver().delivery_id(), 4u);
  EXPECT_EQ(page->items(1).deliver().delivery_id(), 9u);
  EXPECT_EQ(page->items(2).court(), "lishui");
  EXPECT_EQ(page->items(0).park_reason(), "no acknowledgement after 10 attempts");

  page = api_->Parked(2);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->items_size(), 2);
}

TEST_F(ReadApiTest, TheStatusGetsEachCourtsOldestPendingAgeAndOverdueCount) {
  BrokerStore::Batch batch = store_->NewBatch();
  batch.PutOutbox(Item("kaihua", 1, kNow - 120'000));  // overdue (cut-off: 60 s)
  batch.PutOutbox(Item("kaihua", 2, kNow - 90'000));   // overdue
  batch.PutOutbox(Item("kaihua", 3, kNow - 1'000));
  Commit(batch);

  weituo::v1::BrokerStatus snapshot;
  snapshot.set_started_at_ms(kNow - 10'000);
  snapshot.set_published_at_ms(kNow - 100);
  snapshot.set_ready(true);
  auto* kaihua = snapshot.add_courts();
  kaihua->set_court_id("kaihua");
  kaihua->set_pending(3);
  auto* chunan = snapshot.add_courts();
  chunan->set_court_id("chunan");

  weituo::v1::BrokerStatus status = api_->CompleteStatus(snapshot, kNow);
  EXPECT_EQ(status.uptime_ms(), 10'000);
  EXPECT_TRUE(status.ready());
  ASSERT_EQ(status.courts_size(), 2);
  EXPECT_EQ(status.courts(0).oldest_pending_ms(), 120'000);
  EXPECT_EQ(status.courts(0).overdue(), 2u);
  EXPECT_EQ(status.courts(1).oldest_pending_ms(), 0) << "nothing pending, nothing read";

  // Within the second, the ages count on from the same reading.
  batch = store_->NewBatch();
  batch.DeleteOutbox("kaihua", 1);
  Commit(batch);
  status = api_->CompleteStatus(snapshot, kNow + 500);
  EXPECT_EQ(status.courts(0).oldest_pending_ms(), 120'500);
  // A second later the store is read again.
  status = api_->CompleteStatus(snapshot, kNow + 1'000);
  EXPECT_EQ(status.courts(0).oldest_pending_ms(), 91'000);
  EXPECT_EQ(status.courts(0).overdue(), 1u);
}

TEST_F(ReadApiTest, ALoopSilentForFiveSecondsIsNotReady) {
  weituo::v1::BrokerStatus snapshot;
  snapshot.set_ready(true);
  snapshot.set_published_at_ms(kNow - 5'000);
  EXPECT_TRUE(api_->CompleteStatus(snapshot, kNow).ready());
  snapshot.set_published_at_ms(kNow - 5'001);
  EXPECT_FALSE(api_->CompleteStatus(snapshot, kNow).ready());
}

TEST_F(ReadApiTest, ABackupIsACheckpointFolderThatOpensAsAStore) {
  AddCommission(Id(0), "chunan", "kaihua", weituo::v1::DELIVERED);
  auto reply = api_->Backup();
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_TRUE(reply->ok());

  namespace fs = std::filesystem;
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(options_.backup_dir)) {
    folders.push_back(entry.path());
  }
  ASSERT_EQ(folders.size(), 1u);
  const std::string name = folders[0].filename().string();
  EXPECT_EQ(name.rfind("store-", 0), 0u) << name;
  EXPECT_EQ(name.back(), 'Z') << name;
  EXPECT_NE(reply->message().find("backed up to " + folders[0].string()), std::string::npos)
      << reply->message();
  EXPECT_EQ(fs::status(options_.backup_dir).permissions() & fs::perms::all, fs::perms::owner_all);

  auto copy = BrokerStore::Open(folders[0].string());
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  auto record = (*copy)->GetCommission(Id(0));
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->state(), weituo::v1::DELIVERED);
  ReadApi copied(**copy, options_);
  EXPECT_TRUE(copied.Trail(Id(0)).ok()) << "the copy's trail holds";
}

TEST_F(ReadApiTest, WithoutABackupDirBackupsGoBesideTheStore) {
  BrokerOptions options = options_;
  options.backup_dir.clear();
  ReadApi api(*store_, options);
  auto reply = api.Backup();
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_TRUE(std::filesystem::is_directory(options.data_dir + "-backups"));
}

}  // namespace
}  // namespace weituo::broker
