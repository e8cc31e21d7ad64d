// Store and forward, and the crash windows of delivery: a target offline at
// submission, the broker killed between receipt and delivery, and an agent
// killed between recording a commission and acknowledging it.
#include <signal.h>

#include <gtest/gtest.h>

#include "api.h"
#include "harness.h"
#include "raw_agent.h"
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

  // The broker stored it (the receipt came back) and, in the turn that
  // sent the receipt, had no one to deliver to: it holds it for Kaihua.
  ASSERT_TRUE(WaitFor([&] { return ShowView(zone, "chunan", id).record().receipted(); },
                      std::chrono::seconds(10)));
  auto held = NextBrokerStatus(zone);
  ASSERT_NE(CourtOf(held, "kaihua"), nullptr);
  EXPECT_EQ(CourtOf(held, "kaihua")->pending(), 1u);
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

TEST(DeliveryTest, UnacknowledgedDeliveryIsParkedAfterTheLastAttemptAndALateAckUnparksIt) {
  Zone zone;
  zone.StartBroker({"--max-attempts", "3", "--ack-timeout-ms", "200", "--max-backoff-ms", "400"});
  zone.StartAgent("chunan", false);
  zmq::context_t ctx;
  RawAgent kaihua(ctx, zone, "kaihua");
  ASSERT_TRUE(kaihua.Hello("kaihua").has_welcome());
  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", Story("chunan-locate-kaihua.json")});
  ASSERT_EQ(submitted.exit_code, 0);
  std::string id = SubmittedId(submitted);

  // Kaihua receives it three times (first send and two resends), never acks.
  // It says it is alive before each wait: silent through a slow submission
  // (under TSan, seconds) it would be offline, and nothing sent to it.
  uint64_t delivery_id = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    Envelope hb;
    hb.mutable_heartbeat();
    kaihua.Send(hb);  // alive, just not acknowledging
    Envelope got = kaihua.Receive();
    ASSERT_TRUE(got.has_deliver()) << "attempt " << attempt << ": " << got.DebugString();
    EXPECT_EQ(got.deliver().commission().id(), id);
    delivery_id = got.deliver().delivery_id();
  }
  std::string status = StatusShowing(zone, {"\"parked\":\"1\""});
  EXPECT_NE(status.find("\"parked\":\"1\""), std::string::npos) << status;
  EXPECT_EQ(ShowView(zone, "chunan", id).record().state(), weituo::v1::SUBMITTED);

  // The ack arrives after all: the message did arrive, so it is delivered.
  Envelope ack;
  ack.mutable_ack()->add_delivery_ids(delivery_id);
  kaihua.Send(ack);
  ASSERT_TRUE(ReachesState(zone, "chunan", id, weituo::v1::DELIVERED));
  status = StatusShowing(zone, {"\"unparked_by_ack\":\"1\""});
  EXPECT_NE(status.find("\"unparked_by_ack\":\"1\""), std::string::npos) << status;
}

TEST(DeliveryTest, ACourtIsOnlineWhileItsHeartbeatsArriveAndOfflineAfter) {
  Zone zone;
  zone.StartBroker();
  zmq::context_t ctx;
  {
    RawAgent yushan(ctx, zone, "yushan");
    ASSERT_TRUE(yushan.Hello("yushan").has_welcome());
    EXPECT_TRUE(WaitFor(
        [&] {
          std::string status = zone.HttpGet("/api/status");
          auto at = status.find("\"courtId\":\"yushan\"");
          return at != std::string::npos &&
                 status.find("\"online\":true", at) == status.find("\"online\"", at);
        },
        std::chrono::seconds(3)));
  }
  // Silent for longer than --offline-after-ms (1000 in tests).
  ASSERT_TRUE(WaitFor(
      [&] {
        std::string status = zone.HttpGet("/api/status");
        auto at = status.find("\"courtId\":\"yushan\"");
        return at != std::string::npos &&
               status.find("\"online\":false", at) == status.find("\"online\"", at);
      },
      std::chrono::seconds(5)));
}

}  // namespace
}  // namespace weituo::testing
