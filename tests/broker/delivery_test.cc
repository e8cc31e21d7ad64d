// Delivery against a real RocksDB store in a temporary folder and a fake
// transport that records what would have been sent.

#include "delivery.h"

#include <gtest/gtest.h>

#include "turn_fixture.h"
#include "weituo/common/clock.h"
#include "weituo/common/wire.h"

namespace weituo::broker {
namespace {

using weituo::testing::TempDir;
using weituo::v1::Deliver;
using weituo::v1::Envelope;

constexpr char kCommission[] = "01HZY0000000000000000000AA";

Deliver EventFor(uint64_t seq) {
  Deliver d;
  d.mutable_event()->set_commission_id(kCommission);
  d.mutable_event()->set_seq(seq);
  return d;
}

class OutboxDeliveryTest : public TurnFixture {
 protected:
  void SetUp() override {
    options_.window = 2;
    options_.ack_timeout_ms = 1000;
    options_.max_backoff_ms = 4000;
    options_.max_attempts = 3;
    TurnFixture::SetUp();
    delivery_ = std::make_unique<Delivery>(
        options_, *store_, *turn_, counters_, /*next_delivery_id=*/1,
        [this](const std::string& routing_id, std::string_view bytes) {
          if (result_ == SendResult::kSent) sent_.push_back({routing_id, std::string(bytes)});
          return result_;
        },
        [this](const std::string& court) { gone_.push_back(court); });
  }

  // The end of a turn, as the loop does it: commit, then send.
  bool EndTurn() {
    if (auto next = delivery_->TakeNextDeliveryId()) turn_->batch().PutNextDeliveryId(*next);
    EXPECT_TRUE(turn_->Commit(true).ok());
    return delivery_->SendDue();
  }

  // The delivery ids sent so far, in order.
  std::vector<uint64_t> SentIds() const {
    std::vector<uint64_t> ids;
    for (const auto& [routing_id, bytes] : sent_) {
      Envelope env;
      EXPECT_TRUE(env.ParseFromString(bytes));
      ids.push_back(env.deliver().delivery_id());
    }
    return ids;
  }

  BrokerOptions options_;
  Counters counters_;
  std::unique_ptr<Delivery> delivery_;
  SendResult result_ = SendResult::kSent;
  std::vector<std::pair<std::string, std::string>> sent_;
  std::vector<std::string> gone_;
};

TEST_F(OutboxDeliveryTest, NothingIsSentBeforeTheCommitNorToACourtNotConnected) {
  delivery_->Enqueue("kaihua", EventFor(2), NowMs());
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(delivery_->Counts("kaihua").pending, 1u);
  EndTurn();
  EXPECT_TRUE(sent_.empty());  // not connected
  auto stored = store_->GetOutbox("kaihua", 1);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->has_value());

  delivery_->Connected("kaihua", "kaihua.1");
  EndTurn();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].first, "kaihua.1");
  EXPECT_EQ(SentIds(), std::vector<uint64_t>{1});
  EXPECT_EQ(delivery_->Counts("kaihua").in_flight, 1u);
  EXPECT_EQ(counters_.Get("sent"), 1u);
}

TEST_F(OutboxDeliveryTest, TheWindowHoldsBackTheRestUntilAnAck) {
  delivery_->Connected("kaihua", "kaihua.1");
  for (uint64_t seq = 2; seq <= 4; ++seq) delivery_->Enqueue("kaihua", EventFor(seq), NowMs());
  EXPECT_FALSE(EndTurn());  // the window is full: nothing more to send now
  EXPECT_EQ(SentIds(), (std::vector<uint64_t>{1, 2}));

  std::optional<std::string> acked = delivery_->Acknowledged("kaihua", 1);
  ASSERT_TRUE(acked.has_value());
  EXPECT_EQ(*acked, "");  // an event, not a commission
  // Acknowledged twice in one turn: the second is not counted again.
  EXPECT_FALSE(delivery_->Acknowledged("kaihua", 1).has_value());
  EndTurn();
  EXPECT_EQ(SentIds(), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(delivery_->Counts("kaihua").pending, 2u);
  EXPECT_FALSE(store_->GetOutbox("kaihua", 1)->has_value());

  // A stale ack (from before a restart, say) is counted and changes nothing.
  EXPECT_FALSE(delivery_->Acknowledged("kaihua", 99).has_value());
  EXPECT_EQ(counters_.Get("stale_acks"), 1u);
}

TEST_F(OutboxDeliveryTest, AnAckOfACommissionNamesItWithoutReadingTheOutbox) {
  weituo::v1::CommissionRecord record;
  record.mutable_commission()->set_id(kCommission);
  record.mutable_commission()->set_origin_court("chunan");
  record.mutable_commission()->set_target_court("kaihua");
  turn_->AddRecord(record);
  Deliver deliver;
  deliver.mutable_commission()->set_id(kCommission);
  delivery_->Enqueue("kaihua", deliver, NowMs());
  delivery_->Connected("kaihua", "kaihua.1");
  EndTurn();
  ASSERT_EQ(sent_.size(), 1u);
  Envelope env;
  ASSERT_TRUE(env.ParseFromString(sent_[0].second));
  EXPECT_EQ(env.deliver().commission().origin_court(), "chunan");  // the body, read back

  // Gone from the store behind delivery's back: an ack that read the outbox
  // would find nothing and call itself stale.
  {
    Turn behind(*store_);
    behind.RemoveFromOutbox("kaihua", 1);
    ASSERT_TRUE(behind.Commit(true).ok());
  }
  std::optional<std::string> acked = delivery_->Acknowledged("kaihua", 1);
  ASSERT_TRUE(acked.has_value());
  EXPECT_EQ(*acked, kCommission);
}

TEST_F(OutboxDeliveryTest, UnacknowledgedIsResentWithBackoffThenParkedAndRedriven) {
  delivery_->Connected("kaihua", "kaihua.1");
  delivery_->Enqueue("kaihua", EventFor(2), NowMs());
  EndTurn();
  const int64_t start = MonotonicMs();
  // Not yet due: nothing resent.
  delivery_->Tick(start + 10, NowMs());
  EndTurn();
  EXPECT_EQ(sent_.size(), 1u);
  // Due after ack_timeout_ms, then after twice that.
  delivery_->Tick(start + 1000 + 50, NowMs());
  EndTurn();
  EXPECT_EQ(sent_.size(), 2u);
  // Backoff: 2000 ms from the second send (made just after `start` + 0, as
  // the resend's due time is taken from the real clock).
  delivery_->Tick(start + 1500, NowMs());
  EndTurn();
  EXPECT_EQ(sent_.size(), 2u);
  delivery_->Tick(start + 2000 + 500, NowMs());
  EndTurn();
  EXPECT_EQ(sent_.size(), 3u);
  EXPECT_EQ(counters_.Get("redelivered"), 2u);
  // Out of attempts: parked.
  delivery_->Tick(start + 100000, NowMs());
  EndTurn();
  EXPECT_EQ(sent_.size(), 3u);
  EXPECT_EQ(delivery_->Counts("kaihua").parked, 1u);
  EXPECT_EQ(delivery_->Counts("kaihua").pending, 0u);
  auto parked = store_->GetParked("kaihua", 1);
  ASSERT_TRUE(parked.ok());
  ASSERT_TRUE(parked->has_value());
  EXPECT_EQ((*parked)->attempts(), 3u);

  EXPECT_EQ(delivery_->Redrive("7").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(delivery_->Redrive("nonsense").status().code(), StatusCode::kInvalidArgument);
  auto redriven = delivery_->Redrive("1");
  ASSERT_TRUE(redriven.ok());
  EXPECT_EQ(*redriven, 1u);
  EndTurn();
  EXPECT_EQ(sent_.size(), 4u);
  EXPECT_EQ(delivery_->Counts("kaihua").parked, 0u);
  EXPECT_EQ(delivery_->Counts("kaihua").pending, 1u);
}

TEST_F(OutboxDeliveryTest, APausedCourtGetsNothingUntilResumed) {
  delivery_->Connected("kaihua", "kaihua.1");
  EXPECT_TRUE(delivery_->SetPaused("kaihua", true));
  EXPECT_FALSE(delivery_->SetPaused("kaihua", true));
  delivery_->Enqueue("kaihua", EventFor(2), NowMs());
  EndTurn();
  EXPECT_TRUE(sent_.empty());
  EXPECT_TRUE(delivery_->Counts("kaihua").paused);
  EXPECT_TRUE(delivery_->SetPaused("kaihua", false));
  EndTurn();
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(OutboxDeliveryTest, AConnectionFoundGoneIsReportedAndItsFlightForgotten) {
  delivery_->Connected("kaihua", "kaihua.1");
  delivery_->Enqueue("kaihua", EventFor(2), NowMs());
  result_ = SendResult::kUnreachable;
  EndTurn();
  EXPECT_EQ(gone_, std::vector<std::string>{"kaihua"});
  EXPECT_EQ(delivery_->Counts("kaihua").in_flight, 0u);
  EXPECT_EQ(delivery_->Counts("kaihua").pending, 1u);  // still stored, sent on reconnect
  result_ = SendResult::kSent;
  delivery_->Connected("kaihua", "kaihua.2");
  EndTurn();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].first, "kaihua.2");
}

TEST_F(OutboxDeliveryTest, AFullSendQueueLeavesItPendingForTheNextTurn) {
  delivery_->Connected("kaihua", "kaihua.1");
  delivery_->Enqueue("kaihua", EventFor(2), NowMs());
  result_ = SendResult::kWouldBlock;
  EXPECT_TRUE(EndTurn());  // room in the window and something waiting
  EXPECT_EQ(delivery_->Counts("kaihua").in_flight, 0u);
  result_ = SendResult::kSent;
  EXPECT_FALSE(EndTurn());
  EXPECT_EQ(SentIds(), std::vector<uint64_t>{1});
}

TEST_F(OutboxDeliveryTest, TheNextDeliveryIdIsPersistedOnlyWhenItMoved) {
  EXPECT_FALSE(delivery_->TakeNextDeliveryId().has_value());
  delivery_->Enqueue("kaihua", EventFor(2), NowMs());
  delivery_->Enqueue("chunan", EventFor(3), NowMs());
  EXPECT_EQ(delivery_->TakeNextDeliveryId(), std::optional<uint64_t>(3));
  EXPECT_FALSE(delivery_->TakeNextDeliveryId().has_value());
}

}  // namespace
}  // namespace weituo::broker
