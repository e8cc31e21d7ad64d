// One court's key, or one address, cannot pin the broker's connections
// (issue 16, finding 8): connections past a court's cap are refused with a
// reason, an address's connections and handshakes in progress are capped, a
// connection that says nothing after its handshake is let go, each counted;
// and the courts already connected go on working.
#include <gtest/gtest.h>

#include <zmq.hpp>

#include <memory>

#include "harness.h"
#include "raw_agent.h"
#include "trail.h"

namespace weituo::testing {
namespace {

uint64_t Counter(const std::string& status, const std::string& name) {
  const std::string key = "\"" + name + "\":\"";
  size_t at = status.find(key);
  return at == std::string::npos ? 0 : std::stoull(status.substr(at + key.size()));
}

uint64_t Live(const std::string& status) {
  const std::string key = "\"connectionsLive\":\"";
  size_t at = status.find(key);
  return at == std::string::npos ? 0 : std::stoull(status.substr(at + key.size()));
}

TEST(ConnectionFloodTest, OneKeyOrOneAddressCannotHoldTheBrokersConnections) {
  Zone zone;
  zone.StartBroker({"--max-connections-per-address", "30", "--max-handshakes-per-address", "8",
                    "--max-connections-per-court", "3", "--handshake-ms", "1000"});
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  zmq::context_t ctx;

  // A court's key speaks on at most three connections.
  std::vector<std::unique_ptr<RawAgent>> court;
  int welcomed = 0, refused = 0;
  for (int i = 0; i < 6; ++i) {
    court.push_back(std::make_unique<RawAgent>(ctx, zone, "changshan"));
    Envelope reply = court.back()->Hello("changshan");
    if (reply.has_welcome()) ++welcomed;
    if (reply.has_error()) {
      ++refused;
      EXPECT_NE(reply.error().message().find("already has 3 connections"), std::string::npos)
          << reply.error().message();
    }
  }
  EXPECT_EQ(welcomed, 3);
  EXPECT_EQ(refused, 3);
  std::string status;
  EXPECT_TRUE(WaitFor(
      [&] {
        status = zone.HttpGet("/api/status");
        return Counter(status, "connections_refused_per_court") == 3;
      },
      std::chrono::seconds(5)))
      << status;
  court.clear();

  // A flood from one address that never speaks: capped as it comes, and
  // let go two seconds after each is accepted.
  std::vector<std::unique_ptr<RawAgent>> flood;
  for (int i = 0; i < 80; ++i) flood.push_back(std::make_unique<RawAgent>(ctx, zone, "changshan"));
  ASSERT_TRUE(WaitFor(
      [&] {
        status = zone.HttpGet("/api/status");
        return Counter(status, "connections_silent_dropped") > 0 &&
               Counter(status, "connections_refused_per_address") +
                       Counter(status, "connections_refused_unidentified") >
                   0;
      },
      std::chrono::seconds(20)))
      << status;
  EXPECT_LE(Live(status), 30u) << status;

  // The courts that were connected work all the while.
  WriteFile(zone.dir() + "/c.json",
            R"({"caseNumber":"（2026）浙0127执1号","debtor":{"name":"某","regionCode":"330824"},)"
            R"("debtorLocate":{}})");
  CommandResult submitted = zone.Cli("chunan", {"submit", "-f", zone.dir() + "/c.json"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out;
  const std::string id = SubmittedId(submitted);
  EXPECT_TRUE(WaitFor(
      [&] { return ShowView(zone, "chunan", id).record().state() == weituo::v1::COMPLETED; },
      std::chrono::seconds(20)));

  // The flood gone, only the two agents' connections are left.
  flood.clear();
  EXPECT_TRUE(WaitFor(
      [&] {
        status = zone.HttpGet("/api/status");
        return Live(status) == 2;
      },
      std::chrono::seconds(20)))
      << status;
  EXPECT_NE(zone.HttpGet("/metrics").find("weituo_connections_live 2"), std::string::npos);
}

}  // namespace
}  // namespace weituo::testing
