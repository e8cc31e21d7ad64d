// Operator actions posted from this thread to a real event loop on another,
// with the real delivery module over a RocksDB store in a temporary folder.

#include "operator_actions.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "turn_fixture.h"

namespace weituo::broker {
namespace {

using Kind = OperatorAction::Kind;

class OperatorActionsTest : public TurnFixture {
 protected:
  void SetUp() override {
    TurnFixture::SetUp();
    delivery_ = std::make_unique<Delivery>(
        options_, *store_, *turn_, counters_, /*next_delivery_id=*/1,
        [](const std::string&, std::string_view) { return SendResult::kSent; },
        [](const std::string&) {});
    actions_ = std::make_unique<OperatorActions>(
        options_, loop_, *delivery_, clock_, counters_,
        OperatorActions::Hooks{
            .known_court = [](const std::string& court) { return court == "kaihua"; },
            .clock_moved = [this] { clock_moved_++; }});
    // The loop answers at its turn's end, as the broker does after the commit.
    loop_.SetMaxWaitMs(10);
    loop_.SetTurnEnd([this] {
      turns_++;
      actions_->AnswerApplied();
    });
    thread_ = std::thread([this] { ASSERT_TRUE(loop_.Run().ok()); });
  }
  void TearDown() override {
    loop_.Stop();
    thread_.join();
  }

  BrokerOptions options_;
  Counters counters_;
  BrokerClock clock_;
  EventLoop loop_;
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<OperatorActions> actions_;
  std::atomic<int> clock_moved_{0};
  std::atomic<int> turns_{0};
  std::thread thread_;
};

TEST_F(OperatorActionsTest, PauseAndResumeAreAnsweredFromTheLoop) {
  auto paused = actions_->Post(Kind::kPause, "kaihua");
  ASSERT_TRUE(paused.ok()) << paused.status().ToString();
  EXPECT_TRUE(paused->ok());
  EXPECT_EQ(paused->message(), "deliveries to kaihua paused; 0 pending");
  EXPECT_GE(turns_.load(), 1);  // answered at a turn's end
  auto again = actions_->Post(Kind::kPause, "kaihua");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->message(), "deliveries to kaihua were already paused");
  auto resumed = actions_->Post(Kind::kResume, "kaihua");
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->message(), "deliveries to kaihua resumed; 0 pending");
  EXPECT_EQ(counters_.Get("courts_paused"), 1u);
  EXPECT_EQ(counters_.Get("courts_resumed"), 1u);

  auto unknown = actions_->Post(Kind::kPause, "nowhere");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

TEST_F(OperatorActionsTest, TheClockMovesOnlyWithTheTestClock) {
  auto refused = actions_->Post(Kind::kAdvanceClock, "60000");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(clock_.offset_ms(), 0);

  options_.test_clock = true;
  auto moved = actions_->Post(Kind::kAdvanceClock, "60000");
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(clock_.offset_ms(), 60000);
  EXPECT_EQ(clock_moved_.load(), 1);
  EXPECT_NE(moved->message().find("(offset 60000 ms)"), std::string::npos) << moved->message();
  EXPECT_EQ(counters_.Get("clock_advances"), 1u);
}

TEST_F(OperatorActionsTest, RedriveSaysWhatDeliveryFound) {
  EXPECT_EQ(actions_->Post(Kind::kRedrive, "nonsense").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(actions_->Post(Kind::kRedrive, "7").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace weituo::broker
