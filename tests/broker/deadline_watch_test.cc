// Deadline reviews against a real RocksDB store in a temporary folder, with
// the zone's default deadlines (acknowledge within 7 days, warned at 5).

#include "deadline_watch.h"

#include <gtest/gtest.h>

#include "turn_fixture.h"
#include "weituo/common/trail_hash.h"

namespace weituo::broker {
namespace {

using weituo::testing::TempDir;
using weituo::v1::CommissionRecord;
using weituo::v1::Deliver;
using weituo::v1::Event;

constexpr char kId[] = "01HZY0000000000000000000AA";
constexpr int64_t kDay = 24 * 3600 * 1000;
constexpr int64_t kSubmitted = 1'700'000'000'000;

class DeadlineWatchTest : public TurnFixture {
 protected:
  void SetUp() override {
    TurnFixture::SetUp();
    trail_ = std::make_unique<TrailWriter>(*store_, *turn_,
                                           [this](const std::string& court, Deliver deliver) {
                                             told_.emplace_back(court, deliver.event());
                                           });
    watch_ = std::make_unique<DeadlineWatch>(
        options_, *store_, *turn_, *trail_, counters_,
        [](const std::string& court) { return court == "kaihua" ? "quzhou" : ""; });

    // Submitted and delivered, never accepted; its review due at once.
    CommissionRecord r;
    r.mutable_commission()->set_id(kId);
    r.mutable_commission()->set_origin_court("chunan");
    r.mutable_commission()->set_target_court("kaihua");
    r.mutable_commission()->mutable_debtor_locate();
    r.set_state(weituo::v1::SUBMITTED);
    r.set_last_seq(1);
    r.set_submitted_at_ms(kSubmitted);
    Event submitted;
    submitted.set_commission_id(kId);
    submitted.set_seq(1);
    submitted.set_type(weituo::v1::EV_SUBMITTED);
    submitted.set_at_ms(kSubmitted);
    submitted.set_state(weituo::v1::SUBMITTED);
    submitted.set_hash(EventHash(submitted));
    r.set_last_hash(submitted.hash());
    trail_->Reschedule(r, kSubmitted);
    trail_->AddNew(r, submitted);
    Commit();
    ASSERT_TRUE(
        trail_->Apply(r, Action::kDeliver, Role::kBroker, "", nullptr, "", kSubmitted).ok());
    Commit();
    told_.clear();
  }
  void Commit() {
    trail_->WriteHeads();
    ASSERT_TRUE(turn_->Commit(true).ok());
  }
  CommissionRecord Stored() {
    auto r = store_->GetCommission(kId);
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : CommissionRecord();
  }

  BrokerOptions options_;
  std::unique_ptr<TrailWriter> trail_;
  Counters counters_;
  std::unique_ptr<DeadlineWatch> watch_;
  std::vector<std::pair<std::string, Event>> told_;
};

TEST_F(DeadlineWatchTest, AWarningThenTheOverduePointAreWrittenAndTheSupervisorTold) {
  // The first review, at once: nothing crossed, the next check scheduled.
  watch_->ReviewDue(kSubmitted + 1, false);
  Commit();
  EXPECT_TRUE(told_.empty());
  const int64_t next = Stored().next_check_ms();
  EXPECT_GT(next, kSubmitted);
  EXPECT_LE(next, kSubmitted + 5 * kDay);

  // Six days on: warned of the acknowledgement due at seven.
  watch_->ReviewDue(kSubmitted + 6 * kDay, false);
  Commit();
  ASSERT_FALSE(told_.empty());
  EXPECT_EQ(told_[0].second.type(), weituo::v1::EV_DEADLINE_WARNING);
  EXPECT_EQ(told_[0].second.deadline().stage(), weituo::v1::STAGE_ACKNOWLEDGE);
  std::vector<std::string> courts;
  for (const auto& [court, event] : told_) courts.push_back(court);
  EXPECT_EQ(courts, (std::vector<std::string>{"chunan", "kaihua", "quzhou"}));
  EXPECT_EQ(counters_.Get("deadline_warnings"), 1u);
  told_.clear();

  // Eight days on: overdue, escalated to the supervisor, marked late.
  watch_->ReviewDue(kSubmitted + 8 * kDay, false);
  Commit();
  ASSERT_FALSE(told_.empty());
  EXPECT_EQ(told_[0].second.type(), weituo::v1::EV_DEADLINE_OVERDUE);
  CommissionRecord late = Stored();
  EXPECT_EQ(late.escalated_to(), "quzhou");
  EXPECT_TRUE(late.acknowledged_late());
  EXPECT_EQ(counters_.Get("deadline_overdue"), 1u);
  EXPECT_EQ(counters_.Get("escalations"), 2u);
  EXPECT_EQ(late.last_seq(), 4u);  // submitted, delivered, warning, overdue

  // Reviewed again at the same time: nothing is written twice.
  told_.clear();
  watch_->ReviewDue(kSubmitted + 8 * kDay, false);
  Commit();
  EXPECT_TRUE(told_.empty());
  EXPECT_EQ(Stored().last_seq(), 4u);
}

TEST_F(DeadlineWatchTest, AClosedCommissionLosesItsTimer) {
  CommissionRecord r = Stored();
  ASSERT_TRUE(
      trail_->Apply(r, Action::kWithdraw, Role::kOrigin, "chunan", nullptr, "", kSubmitted).ok());
  Commit();
  told_.clear();
  watch_->ReviewDue(kSubmitted + 30 * kDay, false);
  Commit();
  EXPECT_TRUE(told_.empty());
  EXPECT_TRUE(store_->DueTimers(0, kSubmitted + 400 * kDay, 10)->empty());
}

}  // namespace
}  // namespace weituo::broker
