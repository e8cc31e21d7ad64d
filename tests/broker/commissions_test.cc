// Commissions against a real RocksDB store in a temporary folder, with the
// real trail and delivery modules and a fake transport.

#include "commissions.h"

#include <gtest/gtest.h>

#include <iostream>

#include "turn_fixture.h"
#include "weituo/common/clock.h"

namespace weituo::broker {
namespace {

using weituo::v1::Commission;
using weituo::v1::Envelope;
using weituo::v1::ErrorCode;
using weituo::v1::EventType;

constexpr char kId[] = "01JDQ4W1Z8R9M2K3N4P5Q6R7S8";
constexpr int64_t kNow = 1'700'000'000'000;

// A valid debtor-locate commission from chunan, routed by region to kaihua.
Commission Locate() {
  Commission c;
  c.set_id(kId);
  c.set_case_number("（2023）浙0127执1234号");
  c.set_origin_court("chunan");
  c.set_origin_handler("张三");
  c.set_origin_contact("0571-0000000");
  c.set_not_after("2026-12-31");
  auto* d = c.mutable_debtor();
  d->set_name("李四");
  d->set_id_number("330824199001010000");
  d->set_region_code("330824");
  d->add_addresses("开化某路1号");
  c.mutable_debtor_locate()->set_notes("seen near the bus station");
  return c;
}

class CommissionsTest : public TurnFixture {
 protected:
  void SetUp() override {
    TurnFixture::SetUp();
    LoadDirectory(R"(
[[court]]
id = "kaihua"
region_codes = ["330824"]
superior = "quzhou"

[[court]]
id = "chunan"
region_codes = ["330127"]

[[court]]
id = "shexian"
region_codes = ["341021"]

[[supervisor]]
id = "quzhou"
)");
    storage_ = std::make_unique<StorageGuard>(
        dir_.path() + "/guard", /*reserve_bytes=*/1 << 20, /*check_every_ms=*/0,
        [this](const std::string&) -> StatusOr<uint64_t> { return free_bytes_; });
    replies_ = std::make_unique<Replies>(*turn_);
    delivery_ = std::make_unique<Delivery>(
        options_, *store_, *turn_, counters_, /*next_delivery_id=*/1,
        [this](const std::string& routing_id, std::string_view bytes) {
          sent_.emplace_back(routing_id, bytes);
          return SendResult::kSent;
        },
        [](const std::string&) {});
    trail_ = std::make_unique<TrailWriter>(
        *store_, *turn_, [this](const std::string& court, weituo::v1::Deliver deliver) {
          delivery_->Enqueue(court, std::move(deliver), kNow);
        });
    commissions_ = std::make_unique<Commissions>(options_, *turn_, *trail_, *delivery_, *storage_,
                                                 *replies_, counters_);
  }

  // The end of a turn, as the loop does it: commit, then send.
  void EndTurn() {
    if (auto next = delivery_->TakeNextDeliveryId()) turn_->batch().PutNextDeliveryId(*next);
    trail_->WriteHeads();
    mutations_ += turn_->writes();
    ASSERT_TRUE(turn_->Commit(true).ok());
    delivery_->SendDue();
  }
  bool Submit(const std::string& court, Commission commission) {
    weituo::v1::Submit submit;
    *submit.mutable_commission() = std::move(commission);
    return commissions_->Submit("r-" + court, court, &submit, directory_, kNow);
  }
  void Update(const std::string& court, const std::string& request_id, weituo::v1::Update update) {
    weituo::v1::SendUpdate request;
    request.set_request_id(request_id);
    *request.mutable_update() = std::move(update);
    commissions_->Update("r-" + court, court, request, directory_, kNow);
  }
  static weituo::v1::Update Accept(const std::string& handler = "王五") {
    weituo::v1::Update u;
    u.set_commission_id(kId);
    u.mutable_accept()->set_handler(handler);
    return u;
  }
  // The one reply of this turn.
  Envelope OnlyReply() {
    std::vector<Turn::Reply> replies = turn_->TakeReplies();
    EXPECT_EQ(replies.size(), 1u);
    Envelope env;
    if (!replies.empty()) {
      EXPECT_TRUE(env.ParseFromString(replies[0].bytes));
    }
    return env;
  }
  void ExpectRefused(ErrorCode code) {
    Envelope env = OnlyReply();
    ASSERT_TRUE(env.has_error());
    EXPECT_EQ(env.error().code(), code) << env.error().message();
  }
  weituo::v1::CommissionRecord Stored() {
    auto record = store_->GetCommission(kId);
    EXPECT_TRUE(record.ok() && record->has_value());
    return record.ok() && record->has_value() ? **record : weituo::v1::CommissionRecord();
  }

  BrokerOptions options_;
  Counters counters_;
  uint64_t free_bytes_ = uint64_t{1} << 40;
  std::unique_ptr<StorageGuard> storage_;
  std::unique_ptr<Replies> replies_;
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<TrailWriter> trail_;
  std::unique_ptr<Commissions> commissions_;
  std::vector<std::pair<std::string, std::string>> sent_;
  size_t mutations_ = 0;  // the store writes of every turn committed so far
};

TEST_F(CommissionsTest, ASubmissionIsReceiptedAndQueuedForItsTarget) {
  EXPECT_TRUE(Submit("chunan", Locate()));
  Envelope env = OnlyReply();
  ASSERT_TRUE(env.has_submit_receipt());
  EXPECT_EQ(env.submit_receipt().commission_id(), kId);
  EXPECT_EQ(env.submit_receipt().target_court(), "kaihua");  // by the debtor's region
  EXPECT_FALSE(env.submit_receipt().duplicate());
  EXPECT_EQ(env.submit_receipt().event().type(), EventType::EV_SUBMITTED);
  EXPECT_EQ(env.submit_receipt().event().at_ms(), kNow);
  EXPECT_EQ(counters_.Get("submitted"), 1u);
  EndTurn();

  EXPECT_EQ(Stored().state(), weituo::v1::SUBMITTED);
  EXPECT_EQ(Stored().commission().target_court(), "kaihua");
  auto outbox = store_->GetOutbox("kaihua", 1);
  ASSERT_TRUE(outbox.ok());
  ASSERT_TRUE(outbox->has_value());
  EXPECT_EQ((*outbox)->deliver().commission().id(), kId);
  EXPECT_EQ(delivery_->Counts("kaihua").pending, 1u);
}

TEST_F(CommissionsTest, TheSameSubmissionAgainGetsTheSameReceiptMarkedDuplicate) {
  ASSERT_TRUE(Submit("chunan", Locate()));
  Envelope first = OnlyReply();
  EndTurn();
  EXPECT_FALSE(Submit("chunan", Locate()));
  Envelope again = OnlyReply();
  ASSERT_TRUE(again.has_submit_receipt());
  EXPECT_TRUE(again.submit_receipt().duplicate());
  EXPECT_EQ(again.submit_receipt().event().SerializeAsString(),
            first.submit_receipt().event().SerializeAsString());
  EXPECT_EQ(counters_.Get("duplicate_submissions"), 1u);
  EXPECT_EQ(delivery_->Counts("kaihua").pending, 1u);  // queued once
}

TEST_F(CommissionsTest, TheSameIdWithOtherContentIsAConflict) {
  ASSERT_TRUE(Submit("chunan", Locate()));
  OnlyReply();
  // Within the same turn too: the turn's overlay shows the first.
  Commission other = Locate();
  other.set_case_number("（2023）浙0127执9999号");
  EXPECT_FALSE(Submit("chunan", other));
  ExpectRefused(ErrorCode::CONFLICT);
}

TEST_F(CommissionsTest, ACommissionWithNowhereToGoIsRefused) {
  Commission named = Locate();
  named.set_target_court("nowhere");
  EXPECT_FALSE(Submit("chunan", named));
  ExpectRefused(ErrorCode::UNKNOWN_TARGET);
  Commission supervisor = Locate();
  supervisor.set_target_court("quzhou");
  EXPECT_FALSE(Submit("chunan", supervisor));
  ExpectRefused(ErrorCode::UNKNOWN_TARGET);
  Commission region = Locate();
  region.mutable_debtor()->set_region_code("110101");
  EXPECT_FALSE(Submit("chunan", region));
  ExpectRefused(ErrorCode::UNKNOWN_TARGET);
  Commission itself = Locate();
  itself.set_target_court("chunan");
  EXPECT_FALSE(Submit("chunan", itself));
  ExpectRefused(ErrorCode::INVALID_ARGUMENT);
  // Another court's commission.
  EXPECT_FALSE(Submit("shexian", Locate()));
  ExpectRefused(ErrorCode::PERMISSION_DENIED);
  EXPECT_EQ(replies_->by_code().at("UNKNOWN_TARGET"), 3u);
  EndTurn();
  EXPECT_FALSE(store_->GetCommission(kId)->has_value());
}

TEST_F(CommissionsTest, AFullDiskRefusesNewWorkOnlyOnceAllElseIsChecked) {
  free_bytes_ = 1000;
  storage_->Check(MonotonicMs());
  ASSERT_TRUE(storage_->refusing());
  Commission named = Locate();
  named.set_target_court("nowhere");
  EXPECT_FALSE(Submit("chunan", named));
  ExpectRefused(ErrorCode::UNKNOWN_TARGET);  // not STORAGE_FULL: that would mislead
  EXPECT_FALSE(Submit("chunan", Locate()));
  ExpectRefused(ErrorCode::STORAGE_FULL);
  EndTurn();
  EXPECT_FALSE(store_->GetCommission(kId)->has_value());
}

TEST_F(CommissionsTest, OnlyAPartyUpdatesACommission) {
  ASSERT_TRUE(Submit("chunan", Locate()));
  OnlyReply();
  EndTurn();
  Update("shexian", "req-1", Accept());
  ExpectRefused(ErrorCode::PERMISSION_DENIED);
  // The origin may not accept its own commission: the lifecycle refuses.
  Update("chunan", "req-2", Accept());
  ExpectRefused(ErrorCode::PERMISSION_DENIED);
  weituo::v1::Update unknown = Accept();
  unknown.set_commission_id("01JDQ4W1Z8R9M2K3N4P5Q6R7S9");
  Update("kaihua", "req-3", unknown);
  ExpectRefused(ErrorCode::NOT_FOUND);
  Update("kaihua", "", Accept());
  ExpectRefused(ErrorCode::INVALID_ARGUMENT);
  EndTurn();
  EXPECT_EQ(Stored().state(), weituo::v1::SUBMITTED);
}

TEST_F(CommissionsTest, AResentUpdateGetsTheReceiptItGotTheFirstTime) {
  ASSERT_TRUE(Submit("chunan", Locate()));
  OnlyReply();
  EndTurn();
  Update("kaihua", "req-1", Accept());
  Envelope first = OnlyReply();
  ASSERT_TRUE(first.has_update_receipt()) << first.DebugString();
  EXPECT_EQ(first.update_receipt().request_id(), "req-1");
  EXPECT_EQ(first.update_receipt().event().type(), EventType::EV_ACCEPTED);
  EXPECT_FALSE(first.update_receipt().duplicate());
  EndTurn();
  EXPECT_EQ(Stored().state(), weituo::v1::ACCEPTED);

  Update("kaihua", "req-1", Accept());
  Envelope again = OnlyReply();
  ASSERT_TRUE(again.has_update_receipt());
  EXPECT_TRUE(again.update_receipt().duplicate());
  EXPECT_EQ(again.update_receipt().event().SerializeAsString(),
            first.update_receipt().event().SerializeAsString());
  EXPECT_EQ(counters_.Get("duplicate_updates"), 1u);
  // The same request id for another update is a conflict.
  Update("kaihua", "req-1", Accept("赵六"));
  ExpectRefused(ErrorCode::CONFLICT);
  EndTurn();
  EXPECT_EQ(Stored().last_seq(), 2u);  // EV_SUBMITTED, EV_ACCEPTED
}

TEST_F(CommissionsTest, TheTargetsAckOfTheDeliveryIsTheDeliveryReceipt) {
  ASSERT_TRUE(Submit("chunan", Locate()));
  OnlyReply();
  EndTurn();
  delivery_->Connected("kaihua", "r-kaihua");
  EndTurn();
  ASSERT_EQ(sent_.size(), 1u);
  Envelope deliver;
  ASSERT_TRUE(deliver.ParseFromString(sent_[0].second));
  ASSERT_EQ(deliver.deliver().commission().id(), kId);

  weituo::v1::Ack ack;
  ack.add_delivery_ids(deliver.deliver().delivery_id());
  commissions_->Ack("kaihua", ack, kNow + 250);
  EXPECT_EQ(counters_.Get("delivered"), 1u);
  EXPECT_EQ(commissions_->submit_to_delivered().ToProto().count(), 1u);
  EXPECT_DOUBLE_EQ(commissions_->submit_to_delivered().ToProto().sum_ms(), 250);
  EndTurn();
  EXPECT_EQ(Stored().state(), weituo::v1::DELIVERED);
  auto events = store_->Events(kId);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].type(), EventType::EV_DELIVERED);
  // The origin is told (its outbox), and an ack of it again changes nothing.
  EXPECT_EQ(delivery_->Counts("chunan").pending, 1u);
  commissions_->Ack("kaihua", ack, kNow + 500);
  EXPECT_EQ(counters_.Get("delivered"), 1u);
}

// The store writes of a commission's first life: submitted (and
// receipted), delivered to the target (its ack), the origin told of the
// delivery (its ack of the notice). Pinned so that a change to the layout
// shows here; issue 19 ("a lean commission path") aims at 6 or fewer.
TEST_F(CommissionsTest, ACommissionsFirstLifeTakesAPinnedNumberOfStoreWrites) {
  ASSERT_TRUE(Submit("chunan", Locate()));
  OnlyReply();
  EndTurn();
  const size_t submitted = mutations_;
  delivery_->Connected("kaihua", "r-kaihua");
  delivery_->Connected("chunan", "r-chunan");
  EndTurn();
  ASSERT_EQ(sent_.size(), 1u);
  Envelope deliver;
  ASSERT_TRUE(deliver.ParseFromString(sent_[0].second));
  weituo::v1::Ack ack;
  ack.add_delivery_ids(deliver.deliver().delivery_id());
  commissions_->Ack("kaihua", ack, kNow + 250);
  EndTurn();
  const size_t delivered = mutations_ - submitted;
  // The origin's notice of the delivery went out; its ack ends the life.
  ASSERT_EQ(sent_.size(), 2u);
  Envelope notice;
  ASSERT_TRUE(notice.ParseFromString(sent_[1].second));
  ASSERT_EQ(sent_[1].first, "r-chunan");
  weituo::v1::Ack origin_ack;
  origin_ack.add_delivery_ids(notice.deliver().delivery_id());
  commissions_->Ack("chunan", origin_ack, kNow + 300);
  EndTurn();
  const size_t told = mutations_ - submitted - delivered;
  EXPECT_EQ(delivery_->Counts("chunan").pending, 0u);
  std::cout << "store writes: submitted " << submitted << ", delivered " << delivered
            << ", origin told " << told << ", in all " << mutations_ << std::endl;
  // Today's layout (2026-12-08): index keys, the trail's event and chain
  // heads, the outboxes, the timers and the next delivery id.
  EXPECT_EQ(submitted, 13u);
  EXPECT_EQ(delivered, 10u);
  EXPECT_EQ(told, 1u);
  EXPECT_EQ(mutations_, 24u);
}

TEST_F(CommissionsTest, AForwardMakesAChildForTheNewTarget) {
  ASSERT_TRUE(Submit("chunan", Locate()));
  OnlyReply();
  EndTurn();
  weituo::v1::Ack ack;
  ack.add_delivery_ids(1);
  delivery_->Connected("kaihua", "r-kaihua");
  EndTurn();
  commissions_->Ack("kaihua", ack, kNow);
  EndTurn();
  weituo::v1::Update forward;
  forward.set_commission_id(kId);
  forward.mutable_forward()->set_to_court("chunan");
  forward.mutable_forward()->set_text("the debtor moved");
  Update("kaihua", "req-1", forward);
  ExpectRefused(ErrorCode::INVALID_ARGUMENT);  // to the origin: a return
  forward.mutable_forward()->set_to_court("quzhou");
  Update("kaihua", "req-2", forward);
  ExpectRefused(ErrorCode::UNKNOWN_TARGET);
  forward.mutable_forward()->set_to_court("shexian");
  Update("kaihua", "req-3", forward);
  Envelope env = OnlyReply();
  ASSERT_TRUE(env.has_update_receipt()) << env.DebugString();
  EXPECT_EQ(env.update_receipt().event().type(), EventType::EV_FORWARDED);
  EXPECT_EQ(counters_.Get("forwarded"), 1u);
  EndTurn();
  EXPECT_EQ(Stored().state(), weituo::v1::FORWARDED);
  EXPECT_EQ(delivery_->Counts("shexian").pending, 1u);
}

}  // namespace
}  // namespace weituo::broker
