// One court's key, or one address, cannot pin the broker's connections
// (issue 16, finding 8): a court over its cap keeps its newest connections
// and lets the least recently heard go with a reason; an address's
// connections and handshakes in progress are capped; a connection that says
// nothing after its handshake is let go; each is counted, and the courts
// already connected go on working.
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

  // A court's key keeps at most three connections. Each newcomer gets in
  // (so connections left half-open by a dead machine never lock the court
  // out), and the one heard from least recently is let go, told why.
  std::vector<std::unique_ptr<RawAgent>> court;
  for (int i = 0; i < 6; ++i) {
    court.push_back(std::make_unique<RawAgent>(ctx, zone, "changshan"));
    Envelope reply = court.back()->Hello("changshan");
    EXPECT_TRUE(reply.has_welcome()) << "connection " << i << ": " << reply.DebugString();
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_REFUSED(court[i]->Receive(), weituo::v1::RATE_LIMITED,
                   "court 'changshan' has 3 newer connections; this one, heard from least "
                   "recently, is closed");
  }
  for (int i = 3; i < 6; ++i) {
    EXPECT_TRUE(court[i]->Hello("changshan").has_welcome()) << "connection " << i << " is served";
  }
  std::string status;
  EXPECT_TRUE(WaitFor(
      [&] {
        status = zone.HttpGet("/api/status");
        return Counter(status, "connections_evicted_per_court") == 3 &&
               Counter(status, "connections_dropped") == 3;
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

TEST(ConnectionFloodTest, InPlaintextAHelloIdentifiesAConnectionAndNamesItsCourt) {
  // Plaintext connections carry no key: the first message identifies one,
  // so connections that spoke are not held to the cap on handshakes, and
  // the Hello names the court whose cap they count against.
  Zone zone(/*plaintext=*/true);
  zone.StartBroker({"--max-handshakes-per-address", "2", "--max-connections-per-court", "2"});
  zmq::context_t ctx;
  std::vector<std::unique_ptr<RawAgent>> courts;
  const std::vector<std::string> names = {"kaihua", "chunan", "changshan", "dexing"};
  for (const std::string& name : names) {
    courts.push_back(std::make_unique<RawAgent>(ctx, zone, name));
    EXPECT_TRUE(courts.back()->Hello(name).has_welcome()) << name;
  }
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_TRUE(courts[i]->Hello(names[i]).has_welcome()) << names[i] << " is still served";
  }
  // Three for one court: the first is let go.
  for (int i = 0; i < 2; ++i) {
    courts.push_back(std::make_unique<RawAgent>(ctx, zone, "kaihua"));
    EXPECT_TRUE(courts.back()->Hello("kaihua").has_welcome());
  }
  EXPECT_REFUSED(courts[0]->Receive(), weituo::v1::RATE_LIMITED, "court 'kaihua' has 2 newer");
  courts[0].reset();  // else libzmq connects it again, a seventh connection
  std::string status;
  EXPECT_TRUE(WaitFor(
      [&] {
        status = zone.HttpGet("/api/status");
        return Counter(status, "connections_evicted_per_court") == 1 && Live(status) == 5;
      },
      std::chrono::seconds(5)))
      << status;
  EXPECT_EQ(Counter(status, "connections_refused_unidentified"), 0u) << status;
}

}  // namespace
}  // namespace weituo::testing
