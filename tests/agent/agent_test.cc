#include "weituo/agent/agent.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "auto_responder.h"
#include "harness.h"
#include "weituo/common/clock.h"
#include "weituo/common/ids.h"
#include "weituo/common/wire.h"

namespace weituo::agent {
namespace {

using weituo::testing::FreePort;
using weituo::testing::WaitFor;
using weituo::testing::Zone;
using weituo::v1::Commission;
using weituo::v1::Event;

// The agent of `court`, with the key pair `key_name` of the zone's key folder
// (the court's own by default, which the broker's directory lists).
// With `group`, the agent's broker list (else the zone's broker alone).
std::unique_ptr<Agent> OpenAgent(Zone& zone, const std::string& court,
                                 const std::string& key_name = "",
                                 std::vector<std::string> group = {}) {
  AgentOptions options;
  options.court_id = court;
  options.broker_endpoint = zone.endpoint();
  options.broker_endpoints = std::move(group);
  options.failover_ms = 800;
  options.data_dir = zone.dir() + "/sdk-" + court;
  options.heartbeat_ms = 200;
  options.broker_silence_ms = 1000;
  options.resend_ms = 600;
  options.curve_secret_key = zone.Keys(key_name.empty() ? court : key_name).secret_key;
  options.broker_public_key = zone.Keys("broker").public_key;
  auto agent = Agent::Open(options);
  EXPECT_TRUE(agent.ok()) << agent.status().ToString();
  return agent.ok() ? std::move(agent).value() : nullptr;
}

// A member of a broker group that is not its leader: a CURVE server with
// the broker's key that answers every message with Error{NOT_LEADER}
// naming `leader` (empty: no leader known).
class NotLeaderMember {
 public:
  NotLeaderMember(Zone& zone, std::string leader) : leader_(std::move(leader)) {
    router_.set(zmq::sockopt::linger, 0);
    router_.set(zmq::sockopt::curve_server, 1);
    router_.set(zmq::sockopt::curve_secretkey, zone.Keys("broker").secret_key);
    router_.bind("tcp://127.0.0.1:0");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { Loop(); });
  }
  ~NotLeaderMember() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  int answered() const { return answered_; }

 private:
  void Loop() {
    zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop_) {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(20)) <= 0) continue;
      zmq::message_t id, body;
      if (!router_.recv(id) || !router_.recv(body)) continue;
      weituo::v1::Envelope error;
      error.mutable_error()->set_code(weituo::v1::NOT_LEADER);
      error.mutable_error()->set_message("not the leader");
      error.mutable_error()->set_leader_endpoint(leader_);
      (void)router_.send(id, zmq::send_flags::sndmore);
      (void)router_.send(zmq::buffer(SerializeEnvelope(error)), zmq::send_flags::none);
      ++answered_;
    }
  }

  const std::string leader_;
  zmq::context_t ctx_;
  zmq::socket_t router_{ctx_, zmq::socket_type::router};
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::thread thread_;
};

Commission AssetQueryTo(const std::string& target) {
  Commission c;
  c.set_case_number("（2026）赣1181执88号");
  c.set_target_court(target);
  c.mutable_debtor()->set_name("某公司");
  c.mutable_asset_query()->add_classes(weituo::v1::DEPOSITS);
  c.mutable_asset_query()->add_classes(weituo::v1::REAL_ESTATE);
  return c;
}

// A handler's answer: accepted in the name of `handler`, then completed with
// the demo responder's result, under request ids made from the commission id.
void AcceptAndComplete(Agent& a, const Commission& c, const std::string& handler) {
  weituo::v1::Update accept;
  accept.set_commission_id(c.id());
  accept.mutable_accept()->set_handler(handler);
  EXPECT_TRUE(a.SendUpdate(accept, c.id() + ".accept").ok());
  weituo::v1::Update complete;
  complete.set_commission_id(c.id());
  *complete.mutable_complete()->mutable_result() = DemoResult(c, NowMs());
  EXPECT_TRUE(a.SendUpdate(complete, c.id() + ".complete").ok());
}

TEST(AgentTest, SubmitFillsIdOriginAndTimeAndRefusesWhatTheBrokerWould) {
  Zone zone;
  auto dexing = OpenAgent(zone, "dexing");
  ASSERT_NE(dexing, nullptr);
  int64_t before = NowMs();
  auto id = dexing->Submit(AssetQueryTo("wuyuan"));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_TRUE(IsUlid(*id));
  auto view = dexing->Show(*id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->record().commission().origin_court(), "dexing");
  EXPECT_GE(view->record().commission().created_at_ms(), before);
  EXPECT_FALSE(view->record().receipted());  // no broker yet: queued only

  Commission other = AssetQueryTo("wuyuan");
  other.set_origin_court("yushan");
  EXPECT_EQ(dexing->Submit(other).status().code(), StatusCode::kInvalidArgument);
  Commission empty = AssetQueryTo("wuyuan");
  empty.mutable_asset_query()->clear_classes();
  auto refused = dexing->Submit(empty);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("asset_query.classes"), std::string::npos);

  // Too big for one frame: refused here rather than resent forever.
  Commission huge = AssetQueryTo("wuyuan");
  for (int i = 0; i < 40; ++i) huge.mutable_debtor()->add_addresses(std::string(4000, 'x'));
  auto too_big = dexing->Submit(huge);
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_big.status().message().find("over the limit"), std::string::npos);

  // The same id again is the same commission, also when the time and the
  // origin are left for the agent to fill; different content is refused.
  Commission again = view->record().commission();
  EXPECT_EQ(*dexing->Submit(again), *id);
  Commission as_first_given = AssetQueryTo("wuyuan");
  as_first_given.set_id(*id);
  EXPECT_EQ(*dexing->Submit(as_first_given), *id);
  again.set_case_number("changed");
  EXPECT_EQ(dexing->Submit(again).status().code(), StatusCode::kAlreadyExists);

  weituo::v1::Update update;
  update.set_commission_id(NewUlid(NowMs()));
  update.mutable_withdraw();
  EXPECT_EQ(dexing->SendUpdate(update).status().code(), StatusCode::kNotFound);
}

TEST(AgentTest, QueuedWhileTheBrokerIsDownThenDeliveredAndAnsweredOnce) {
  Zone zone;
  auto dexing = OpenAgent(zone, "dexing");
  auto wuyuan = OpenAgent(zone, "wuyuan");
  ASSERT_TRUE(dexing && wuyuan);
  std::mutex mu;
  std::vector<Event> origin_events;
  std::atomic<int> handled{0};
  dexing->OnEvent([&](Agent&, const Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    origin_events.push_back(e);
  });
  wuyuan->OnCommission(weituo::v1::ASSET_QUERY, [&](Agent& a, const Commission& c) {
    ++handled;
    AcceptAndComplete(a, c, "婺源 执行局");
  });
  ASSERT_TRUE(dexing->Start().ok());
  ASSERT_TRUE(wuyuan->Start().ok());
  auto id = dexing->Submit(AssetQueryTo("wuyuan"));
  ASSERT_TRUE(id.ok());
  // Queued: no broker listens yet, so only a receipt, which cannot come,
  // would take it out of the outbox; there is nothing to wait for.
  EXPECT_EQ(dexing->GetStatus().outbox_pending(), 1u);

  zone.StartBroker();
  ASSERT_TRUE(WaitFor([&] { return dexing->Show(*id)->record().state() == weituo::v1::COMPLETED; },
                      std::chrono::seconds(15)));
  EXPECT_EQ(handled.load(), 1);
  EXPECT_EQ(dexing->GetStatus().outbox_pending(), 0u);
  EXPECT_TRUE(dexing->GetStatus().connected());
  auto view = dexing->Show(*id);
  ASSERT_EQ(view->events_size(), 4);  // submitted, delivered, accepted, completed
  EXPECT_EQ(view->events(3).update().complete().result().assets().assets_size(), 2);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(origin_events.size(), 4u);
  EXPECT_EQ(origin_events.front().type(), weituo::v1::EV_SUBMITTED);
  EXPECT_EQ(origin_events.back().type(), weituo::v1::EV_COMPLETED);

  // The target's inbox no longer lists it: it is final. The target learns
  // that from its own event, which can come after the origin's.
  weituo::v1::ListFilter inbox;
  inbox.set_inbox_only(true);
  EXPECT_TRUE(WaitFor([&] { return wuyuan->List(inbox)->empty(); }, std::chrono::seconds(10)));
  EXPECT_EQ(wuyuan->List(weituo::v1::ListFilter())->size(), 1u);
}

TEST(AgentTest, OpenRefusesMissingKeysUnlessPlaintext) {
  Zone zone;
  AgentOptions options;
  options.court_id = "dexing";
  options.broker_endpoint = zone.endpoint();
  options.data_dir = zone.dir() + "/no-keys";
  auto agent = Agent::Open(options);
  EXPECT_EQ(agent.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(agent.status().message().find("curve_secret_key_file"), std::string::npos);
  options.curve_secret_key = zone.Keys("dexing").secret_key;
  options.broker_public_key = "not a key";
  agent = Agent::Open(options);
  EXPECT_EQ(agent.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(agent.status().message().find("broker_public_key_file"), std::string::npos);
  options.broker_public_key = zone.Keys("broker").public_key;
  EXPECT_TRUE(Agent::Open(options).ok());
}

TEST(AgentTest, StartRefusesAMalformedBrokerEndpoint) {
  Zone zone;
  AgentOptions options;
  options.court_id = "dexing";
  options.broker_endpoint = "tcp://no-port-here";
  options.data_dir = zone.dir() + "/bad-endpoint";
  options.plaintext = true;
  auto agent = Agent::Open(options);
  ASSERT_TRUE(agent.ok());
  Status s = (*agent)->Start();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tcp://no-port-here"), std::string::npos) << s.message();
}

TEST(AgentTest, ARefusedUpdateIsRecordedAsFailedWithTheBrokersReason) {
  Zone zone;
  zone.StartBroker();
  auto dexing = OpenAgent(zone, "dexing");
  auto wuyuan = OpenAgent(zone, "wuyuan");
  ASSERT_TRUE(dexing && wuyuan);
  ASSERT_TRUE(dexing->Start().ok());
  ASSERT_TRUE(wuyuan->Start().ok());
  auto id = dexing->Submit(AssetQueryTo("wuyuan"));
  ASSERT_TRUE(WaitFor([&] { return wuyuan->Show(*id).ok(); }, std::chrono::seconds(10)));
  weituo::v1::Update progress;
  progress.set_commission_id(*id);
  progress.mutable_progress()->set_text("too early");
  auto request = wuyuan->SendUpdate(progress);
  ASSERT_TRUE(request.ok());
  ASSERT_TRUE(
      WaitFor([&] { return wuyuan->Request(*request)->state() == weituo::v1::REQUEST_FAILED; },
              std::chrono::seconds(10)));
  auto failed = wuyuan->Request(*request);
  EXPECT_EQ(failed->error().code(), weituo::v1::ILLEGAL_TRANSITION);
  EXPECT_NE(failed->error().message().find("DELIVERED"), std::string::npos);
  EXPECT_EQ(wuyuan->GetStatus().outbox_pending(), 0u);  // not resent forever
}

// Every Agent method is safe from any thread, and agents in one process
// share nothing: here several agents exchange commissions through a real
// broker while each is started, fed and read from threads of the test's, and
// their handlers answer on their I/O threads. Under ThreadSanitizer this is
// what catches state shared between agents (a generator of routing ids, a
// log throttle) that is not guarded.
TEST(AgentTest, SeveralAgentsInOneProcessWorkAtOnceFromManyThreads) {
  Zone zone;
  zone.StartBroker();
  const std::vector<std::string> courts = {"kaihua", "changshan", "chunan", "dexing"};
  constexpr int kPerCourt = 5;
  std::vector<std::unique_ptr<Agent>> agents;
  for (const std::string& court : courts) {
    agents.push_back(OpenAgent(zone, court));
    ASSERT_NE(agents.back(), nullptr);
  }
  std::atomic<int> handled{0};
  for (auto& agent : agents) {
    agent->OnCommission(weituo::v1::ASSET_QUERY, [&](Agent& a, const Commission& c) {
      ++handled;
      AcceptAndComplete(a, c, "执行局");
      a.Count("answered");
    });
  }

  // One thread per court starts its agent, submits to the next court and
  // reads every agent in between.
  std::vector<std::vector<std::string>> submitted(courts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < courts.size(); ++i) {
    threads.emplace_back([&, i] {
      EXPECT_TRUE(agents[i]->Start().ok());
      for (int n = 0; n < kPerCourt; ++n) {
        auto id = agents[i]->Submit(AssetQueryTo(courts[(i + 1) % courts.size()]));
        EXPECT_TRUE(id.ok()) << id.status().ToString();
        if (id.ok()) submitted[i].push_back(*id);
        for (auto& other : agents) {
          other->Count("looked");
          (void)other->GetStatus();
          EXPECT_TRUE(other->List(weituo::v1::ListFilter()).ok());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();

  auto all_completed = [&] {
    for (size_t i = 0; i < courts.size(); ++i) {
      for (const std::string& id : submitted[i]) {
        auto view = agents[i]->Show(id);
        if (!view.ok() || view->record().state() != weituo::v1::COMPLETED) return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(WaitFor(all_completed, std::chrono::seconds(30)));
  EXPECT_EQ(handled.load(), static_cast<int>(courts.size()) * kPerCourt);
  for (size_t i = 0; i < courts.size(); ++i) {
    EXPECT_EQ(submitted[i].size(), static_cast<size_t>(kPerCourt)) << courts[i];
    weituo::v1::AgentStatus status = agents[i]->GetStatus();
    EXPECT_TRUE(status.connected()) << courts[i];
    EXPECT_EQ(status.commissions_received(), static_cast<uint64_t>(kPerCourt)) << courts[i];
    EXPECT_EQ(status.counters().at("answered"), static_cast<uint64_t>(kPerCourt)) << courts[i];
    EXPECT_EQ(status.counters().at("looked"), courts.size() * kPerCourt) << courts[i];
  }
}

// Agents the broker refuses say why, each in its own status, when several
// fail their handshakes in one process at once (each I/O thread logs the
// failure through a throttle of its own and reconnects with a new routing
// id).
TEST(AgentTest, SeveralAgentsRefusedAtOnceEachSayWhy) {
  Zone zone;
  zone.StartBroker();
  const std::vector<std::string> courts = {"kaihua", "changshan", "chunan", "dexing"};
  std::vector<std::unique_ptr<Agent>> agents;
  for (const std::string& court : courts) {
    // A key pair the broker's directory does not list for this court.
    agents.push_back(OpenAgent(zone, court, "stranger-" + court));
    ASSERT_NE(agents.back(), nullptr);
  }
  std::vector<std::thread> threads;
  for (auto& agent : agents) {
    threads.emplace_back([&agent] { EXPECT_TRUE(agent->Start().ok()); });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < courts.size(); ++i) {
    EXPECT_TRUE(WaitFor(
        [&] {
          return agents[i]->GetStatus().connection_error().find("broker's directory") !=
                 std::string::npos;
        },
        std::chrono::seconds(10)))
        << courts[i] << ": " << agents[i]->GetStatus().DebugString();
    EXPECT_FALSE(agents[i]->GetStatus().connected()) << courts[i];
  }
}

// The commission `agent` submits is receipted, and the broker holds it
// once: one commission of dexing's, whose trail says it was submitted once.
void ExpectReceiptedOnce(Zone& zone, Agent& agent) {
  auto id = agent.Submit(AssetQueryTo("wuyuan"));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(
      WaitFor([&] { return agent.Show(*id)->record().receipted(); }, std::chrono::seconds(15)))
      << "broker " << agent.GetStatus().broker_endpoint();
  EXPECT_EQ(agent.GetStatus().outbox_pending(), 0u);
  std::string page = zone.HttpGet("/api/commissions?court=dexing");
  size_t count = 0;
  for (size_t at = page.find("\"caseNumber\""); at != std::string::npos;
       at = page.find("\"caseNumber\"", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << page;
  EXPECT_NE(page.find(*id), std::string::npos) << page;
  std::string trail = zone.HttpGet("/api/commissions/" + *id);
  size_t submitted = 0;
  for (size_t at = trail.find("EV_SUBMITTED"); at != std::string::npos;
       at = trail.find("EV_SUBMITTED", at + 1)) {
    ++submitted;
  }
  EXPECT_EQ(submitted, 1u) << trail;
}

// A TCP port on loopback that is listened on and never accepted from: a
// connection to it is made (by the kernel) and then nothing is said.
class MuteListener {
 public:
  MuteListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    port_ = ntohs(addr.sin_port);
  }
  ~MuteListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(AgentGroupTest, AMemberThatNeverWelcomesIsLeftForTheNext) {
  Zone zone;
  zone.StartBroker();
  MuteListener mute;
  const std::string dead = mute.endpoint();
  auto dexing = OpenAgent(zone, "dexing", "", {dead, zone.endpoint()});
  ASSERT_NE(dexing, nullptr);
  EXPECT_EQ(dexing->GetStatus().broker_endpoint(), dead);
  ASSERT_TRUE(dexing->Start().ok());
  ExpectReceiptedOnce(zone, *dexing);
  weituo::v1::AgentStatus status = dexing->GetStatus();
  EXPECT_EQ(status.broker_endpoint(), zone.endpoint());
  EXPECT_EQ(status.broker_changes(), 1u);
  EXPECT_EQ(status.last_broker_change(), "no_welcome");
  EXPECT_GT(status.last_broker_change_at_ms(), 0);
  ASSERT_EQ(status.broker_endpoints_size(), 2);
  EXPECT_EQ(status.broker_endpoints(0), dead);
}

// Dexing's agent started with the zone's broker (started) and a dead
// member as its list, connected to the first; null if it did not connect.
std::unique_ptr<Agent> ConnectedToTheFirstOfTwo(Zone& zone) {
  zone.StartBroker();
  const std::string dead = "tcp://127.0.0.1:" + std::to_string(FreePort());
  auto agent = OpenAgent(zone, "dexing", "", {zone.endpoint(), dead});
  if (!agent || !agent->Start().ok() ||
      !WaitFor([&] { return agent->GetStatus().connected(); }, std::chrono::seconds(10))) {
    return nullptr;
  }
  return agent;
}

// The reason of the agent's first move to another member (waited for, up
// to 10 s; empty if it did not move).
std::string FirstMoveReason(Agent& agent) {
  std::string first;
  (void)WaitFor(
      [&] {
        weituo::v1::AgentStatus s = agent.GetStatus();
        if (s.broker_changes() == 1) first = s.last_broker_change();
        return s.broker_changes() >= 1;
      },
      std::chrono::seconds(10));
  return first;
}

TEST(AgentGroupTest, AMemberSilentSinceItsWelcomeIsLeftAndTheListGoesRound) {
  Zone zone;
  auto dexing = ConnectedToTheFirstOfTwo(zone);
  ASSERT_NE(dexing, nullptr);
  EXPECT_EQ(dexing->GetStatus().broker_changes(), 0u);
  // Stopped, not killed: the connection stays up and says nothing.
  zone.SignalBroker(SIGSTOP);
  const std::string first = FirstMoveReason(*dexing);
  zone.SignalBroker(SIGCONT);
  EXPECT_EQ(first, "silent");
  // Round the list (the dead member, then the first again): welcomed there.
  ExpectReceiptedOnce(zone, *dexing);
  EXPECT_EQ(dexing->GetStatus().broker_endpoint(), zone.endpoint());
  EXPECT_GE(dexing->GetStatus().broker_changes(), 2u);
}

TEST(AgentGroupTest, AMemberWhoseConnectionDropsIsLeftAtOnceAndTheListGoesRound) {
  Zone zone;
  auto dexing = ConnectedToTheFirstOfTwo(zone);
  ASSERT_NE(dexing, nullptr);
  zone.KillBroker(SIGKILL);  // its connections close with it
  EXPECT_EQ(FirstMoveReason(*dexing), "disconnected");
  // The dead member refuses the connection: on round the list, at the
  // NOT_LEADER pace, until the broker is back.
  ASSERT_TRUE(
      WaitFor([&] { return dexing->GetStatus().broker_changes() >= 3; }, std::chrono::seconds(10)));
  zone.StartBroker();
  ExpectReceiptedOnce(zone, *dexing);
  EXPECT_EQ(dexing->GetStatus().broker_endpoint(), zone.endpoint());
}

TEST(AgentGroupTest, NotLeaderSendsTheAgentToTheLeaderItNames) {
  Zone zone;
  zone.StartBroker();
  NotLeaderMember follower(zone, zone.endpoint());
  const std::string dead = "tcp://127.0.0.1:" + std::to_string(FreePort());
  // The leader is the list's last: it is gone to at once, not in turn.
  auto dexing = OpenAgent(zone, "dexing", "", {follower.endpoint(), dead, zone.endpoint()});
  ASSERT_NE(dexing, nullptr);
  ASSERT_TRUE(dexing->Start().ok());
  ExpectReceiptedOnce(zone, *dexing);
  weituo::v1::AgentStatus status = dexing->GetStatus();
  EXPECT_EQ(status.broker_endpoint(), zone.endpoint());
  EXPECT_EQ(status.broker_changes(), 1u);
  EXPECT_EQ(status.last_broker_change(), "not_leader");
  EXPECT_GE(follower.answered(), 1);
}

TEST(AgentGroupTest, NotLeaderWithoutALeaderSendsTheAgentToTheNextMember) {
  Zone zone;
  zone.StartBroker();
  NotLeaderMember electing(zone, "");
  auto dexing = OpenAgent(zone, "dexing", "", {electing.endpoint(), zone.endpoint()});
  ASSERT_NE(dexing, nullptr);
  ASSERT_TRUE(dexing->Start().ok());
  ExpectReceiptedOnce(zone, *dexing);
  weituo::v1::AgentStatus status = dexing->GetStatus();
  EXPECT_EQ(status.broker_endpoint(), zone.endpoint());
  EXPECT_EQ(status.broker_changes(), 1u);
  EXPECT_EQ(status.last_broker_change(), "not_leader");
}

TEST(AgentGroupTest, ALeaderOutsideTheListIsFollowed) {
  Zone zone;
  zone.StartBroker();
  NotLeaderMember member(zone, zone.endpoint());
  auto dexing = OpenAgent(zone, "dexing", "", {member.endpoint()});
  ASSERT_NE(dexing, nullptr);
  ASSERT_TRUE(dexing->Start().ok());
  ExpectReceiptedOnce(zone, *dexing);
  EXPECT_EQ(dexing->GetStatus().broker_endpoint(), zone.endpoint());
  EXPECT_EQ(dexing->GetStatus().broker_changes(), 1u);
}

TEST(AgentGroupTest, OpenRefusesAnEndpointListedTwiceAndStartAMalformedOne) {
  Zone zone;
  AgentOptions options;
  options.court_id = "dexing";
  options.data_dir = zone.dir() + "/group";
  options.plaintext = true;
  options.broker_endpoints = {zone.endpoint(), zone.endpoint()};
  auto twice = Agent::Open(options);
  EXPECT_EQ(twice.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(twice.status().message().find("listed twice"), std::string::npos);
  options.broker_endpoints = {zone.endpoint(), "tcp://no-port-here"};
  auto agent = Agent::Open(options);
  ASSERT_TRUE(agent.ok());
  Status s = (*agent)->Start();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tcp://no-port-here"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace weituo::agent
