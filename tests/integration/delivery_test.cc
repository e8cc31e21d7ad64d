// Store and forward, and the crash windows of delivery: a target offline at
// submission, the broker killed between receipt and delivery, and an agent
// killed between recording a commission and acknowledging it.
#include <signal.h>

#include <gtest/gtest.h>

#include "harness.h"
#include "trail.h"

namespace weituo::testing {
namespace {

std::string Story(const std::string& name) { return SourceDir() + "/deploy/stories/" + name; }

bool ReachesState(Zone& zone, const std::string& court, const std::string& id,
                  weituo::v1::State state) {
  return WaitFor([&] { return ShowView(zone, court, id).record().state() == state; },
                 std::chrono::seconds(20));
}

TEST(DeliveryTest, TargetOfflineAtSubmissionReceivesItWhenItStarts) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("chunan", false);
  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", Story("chunan-locate-kaihua.json")});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out;
  std::string id = SubmittedId(submitted);

  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(ShowView(zone, "chunan", id).record().state(), weituo::v1::SUBMITTED);

  zone.StartAgent("kaihua", true);
  ASSERT_TRUE(ReachesState(zone, "chunan", id, weituo::v1::COMPLETED));
  auto view = ShowView(zone, "chunan", id);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_DELIVERED), 1);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_COMPLETED), 1);
  EXPECT_EQ(AgentStatusOf(zone, "kaihua").commissions_received(), 1u);
}

TEST(DeliveryTest, BrokerKilledAfterReceiptBeforeDeliveryDeliversOnceAfterRestart) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", false);
  CommandResult submitted =
      zone.Cli("kaihua", {"submit", "-f", Story("kaihua-seize-shexian.json")});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out;
  std::string id = SubmittedId(submitted);
  ASSERT_TRUE(ShowView(zone, "kaihua", id).record().receipted());

  // Shexian has never connected: the commission exists only in the store.
  zone.KillBroker(SIGKILL);
  zone.StartBroker();
  zone.StartAgent("shexian", true);

  ASSERT_TRUE(ReachesState(zone, "kaihua", id, weituo::v1::COMPLETED));
  auto view = ShowView(zone, "kaihua", id);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_SUBMITTED), 1);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_DELIVERED), 1);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_COMPLETED), 1);
  EXPECT_EQ(AgentStatusOf(zone, "shexian").commissions_received(), 1u);
  auto inbox = ListViews(zone, "shexian");
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].record().commission().vehicle_seizure().plate(), "皖J·5X321");
}

TEST(DeliveryTest, AgentKilledBeforeAcknowledgingGetsItAgainWithNoDuplicateEffect) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("chunan", false);
  // Kaihua records the commission durably, then dies before its ack leaves.
  zone.StartAgent("kaihua", true, {"WEITUO_CRASH_POINT=agent_after_record"});
  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", Story("chunan-locate-kaihua.json")});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out;
  std::string id = SubmittedId(submitted);
  EXPECT_EQ(zone.WaitAgent("kaihua"), 86) << "the crash point was not reached";
  EXPECT_EQ(ShowView(zone, "chunan", id).record().state(), weituo::v1::SUBMITTED);

  zone.StartAgent("kaihua", true);
  ASSERT_TRUE(ReachesState(zone, "chunan", id, weituo::v1::COMPLETED));
  // The broker resent it (the ack never came); the agent dropped the
  // duplicate, and its handler ran exactly once.
  auto view = ShowView(zone, "chunan", id);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_DELIVERED), 1);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_ACCEPTED), 1);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_COMPLETED), 1);
  EXPECT_EQ(AgentStatusOf(zone, "kaihua").commissions_received(), 1u);
  std::string status = StatusShowing(zone, {"\"redelivered\""});
  EXPECT_NE(status.find("\"redelivered\""), std::string::npos) << status;
}

TEST(DeliveryTest, OriginKilledBeforeReceiptResendsAndGetsOneCommission) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", true);
  // Chun'an queues the commission while the broker is down, then dies.
  zone.KillBroker(SIGKILL);
  zone.StartAgent("chunan", false);
  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", Story("chunan-locate-kaihua.json"), "--wait", "0"});
  EXPECT_EQ(submitted.exit_code, 4) << "no receipt can exist yet: " << submitted.out;
  std::string id = SubmittedId(submitted);
  zone.KillAgent("chunan", SIGKILL);

  zone.StartBroker();
  zone.StartAgent("chunan", false);
  ASSERT_TRUE(ReachesState(zone, "chunan", id, weituo::v1::COMPLETED));
  auto view = ShowView(zone, "chunan", id);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_SUBMITTED), 1);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_COMPLETED), 1);
  EXPECT_EQ(AgentStatusOf(zone, "kaihua").commissions_received(), 1u);
}

}  // namespace
}  // namespace weituo::testing
