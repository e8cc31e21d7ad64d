// The conformance suite: the protocol's rules for agents (docs/protocol.md),
// checked against any agent through an adapter script (README.md). Each
// scenario names the section it checks.
//
// The agent under test is court "dexing". It connects to a relay, which
// holds the broker's key toward it and dexing's key toward the real broker,
// so that the relay sees every message both ways and can drop, repeat or
// replace one: the faults a network and a broker produce, made on purpose.
// Everything else is real: the broker, the stock agents of Chun'an (which
// commissions dexing) and Kaihua (which answers dexing), sockets, stores.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <zmq.hpp>

#include "harness.h"
#include "trail.h"
#include "weituo/common/clock.h"
#include "weituo/common/curve.h"
#include "weituo/common/wire.h"
#include "weituo/v1/wire.pb.h"

namespace weituo::testing {
namespace {

using weituo::v1::Envelope;
constexpr char kCourt[] = "dexing";

// Between the agent under test and the broker; see the top of the file.
class Relay {
 public:
  struct Seen {
    bool from_agent;
    Envelope env;
    int64_t at_ms;
  };
  // What the agent gets in place of a broker message: itself by default;
  // none drops it, two repeat it, another replaces it.
  using ToAgent = std::function<std::vector<Envelope>(const Envelope&)>;
  // True: the agent's message does not reach the broker.
  using DropFromAgent = std::function<bool(const Envelope&)>;

  Relay(Zone& zone, const std::string& court)
      : broker_(zone.Keys("broker")), court_(zone.Keys(court)), upstream_(zone.endpoint()) {
    router_.set(zmq::sockopt::linger, 0);
    router_.set(zmq::sockopt::curve_server, 1);
    router_.set(zmq::sockopt::curve_secretkey, broker_.secret_key);
    router_.bind("tcp://127.0.0.1:0");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }

  void OnToAgent(ToAgent rule) {
    std::lock_guard lock(mu_);
    to_agent_ = std::move(rule);
  }
  void OnFromAgent(DropFromAgent rule) {
    std::lock_guard lock(mu_);
    from_agent_ = std::move(rule);
  }
  std::vector<Seen> Log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  // The messages seen so far that match.
  std::vector<Seen> Find(bool from_agent, const std::function<bool(const Envelope&)>& match) {
    std::vector<Seen> found;
    for (Seen& s : Log()) {
      if (s.from_agent == from_agent && match(s.env)) found.push_back(std::move(s));
    }
    return found;
  }

 private:
  struct Upstream {
    std::string routing_id;  // the agent's connection it stands for
    std::unique_ptr<zmq::socket_t> socket;
  };

  zmq::socket_t& UpstreamFor(const std::string& routing_id) {
    for (Upstream& u : upstreams_) {
      if (u.routing_id == routing_id) return *u.socket;
    }
    // A new connection of the agent is a new connection to the broker.
    auto s = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    s->set(zmq::sockopt::linger, 0);
    s->set(zmq::sockopt::curve_serverkey, broker_.public_key);
    s->set(zmq::sockopt::curve_publickey, court_.public_key);
    s->set(zmq::sockopt::curve_secretkey, court_.secret_key);
    s->connect(upstream_);
    upstreams_.push_back({routing_id, std::move(s)});
    return *upstreams_.back().socket;
  }

  void Record(bool from_agent, const Envelope& env) {
    std::lock_guard lock(mu_);
    log_.push_back({from_agent, env, MonotonicMs()});
  }

  void Loop() {
    while (!stop_) {
      std::vector<zmq::pollitem_t> items{{router_.handle(), 0, ZMQ_POLLIN, 0}};
      for (Upstream& u : upstreams_) items.push_back({u.socket->handle(), 0, ZMQ_POLLIN, 0});
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(20));
      if (items[0].revents & ZMQ_POLLIN) FromAgent();
      for (size_t i = 1; i < items.size(); ++i) {
        if (items[i].revents & ZMQ_POLLIN) ToAgentFrom(upstreams_[i - 1]);
      }
    }
  }

  void FromAgent() {
    zmq::message_t rid, body;
    if (!router_.recv(rid, zmq::recv_flags::dontwait)) return;
    (void)router_.recv(body);
    while (body.more()) (void)router_.recv(body);  // one frame per message (section 3)
    Envelope env;
    env.ParseFromArray(body.data(), static_cast<int>(body.size()));
    Record(true, env);
    DropFromAgent rule;
    {
      std::lock_guard lock(mu_);
      rule = from_agent_;
    }
    if (rule && rule(env)) return;
    (void)UpstreamFor(rid.to_string()).send(body, zmq::send_flags::dontwait);
  }

  void ToAgentFrom(Upstream& u) {
    zmq::message_t body;
    if (!u.socket->recv(body, zmq::recv_flags::dontwait)) return;
    Envelope env;
    env.ParseFromArray(body.data(), static_cast<int>(body.size()));
    ToAgent rule;
    {
      std::lock_guard lock(mu_);
      rule = to_agent_;
    }
    std::vector<Envelope> out = rule ? rule(env) : std::vector<Envelope>{env};
    for (const Envelope& e : out) {
      Record(false, e);
      (void)router_.send(zmq::buffer(u.routing_id), zmq::send_flags::sndmore);
      (void)router_.send(zmq::buffer(e.SerializeAsString()), zmq::send_flags::dontwait);
    }
  }

  CurveKeyPair broker_, court_;
  std::string upstream_, endpoint_;
  zmq::context_t ctx_;
  zmq::socket_t router_{ctx_, zmq::socket_type::router};
  std::vector<Upstream> upstreams_;
  std::mutex mu_;
  ToAgent to_agent_;
  DropFromAgent from_agent_;
  std::vector<Seen> log_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Adapter {
  std::string name, script;
};
// In the names of failed scenarios.
void PrintTo(const Adapter& a, std::ostream* os) { *os << a.name << " (" << a.script << ")"; }

std::string Story(const std::string& name) { return SourceDir() + "/deploy/stories/" + name; }

class Conformance : public ::testing::TestWithParam<Adapter> {
 protected:
  void SetUp() override {
    zone_.StartBroker();
    zone_.StartAgent("kaihua", /*auto_responder=*/true);
    zone_.StartAgent("chunan", false);
    zone_.Keys(kCourt);
    relay_ = std::make_unique<Relay>(zone_, kCourt);
    std::filesystem::create_directories(work());
  }
  void TearDown() override { StopAgent(SIGKILL); }

  std::string work() const { return zone_.dir() + "/under-test"; }
  std::vector<std::string> Env() const {
    return {"WEITUO_AGENT_BIN=" + AgentBin(), "PYTHONPATH=" + std::string(WEITUO_PYTHON_MODULES)};
  }
  std::vector<std::string> Args(const std::string& verb) const {
    return {GetParam().script, verb, kCourt, relay_->endpoint(), zone_.KeyDir(), work()};
  }
  std::string AgentLog() const { return ReadFile(work() + "/agent.log"); }

  void StartAgent() { agent_ = Process::Spawn(Args("run"), Env(), work() + "/agent.log"); }
  void StopAgent(int sig) {
    if (agent_.running()) {
      agent_.Signal(sig);
      agent_.Wait();
    }
  }
  // The adapter queues a commission durably.
  void Submit(const std::string& file) {
    std::vector<std::string> argv = Args("submit");
    argv.push_back(file);
    Process p = Process::Spawn(argv, Env(), work() + "/submit.log");
    ASSERT_EQ(p.Wait(), 0) << ReadFile(work() + "/submit.log");
  }
  bool Connected() {
    return !relay_->Find(false, [](const Envelope& e) { return e.has_welcome(); }).empty();
  }

  // Chun'an's stock agent commissions dexing; returns the id.
  std::string ChunanAsksDexing() {
    WriteFile(zone_.dir() + "/to-dexing.json",
              R"({"caseNumber":"（2026）浙0127执90号","targetCourt":"dexing",)"
              R"("debtor":{"name":"某","regionCode":"361181"},"debtorLocate":{}})");
    CommandResult sent = zone_.Cli("chunan", {"submit", "-f", zone_.dir() + "/to-dexing.json"});
    EXPECT_EQ(sent.exit_code, 0) << sent.out;
    return SubmittedId(sent);
  }
  bool Completed(const std::string& id, int seconds = 20) {
    return WaitFor(
        [&] {
          return zone_.HttpGet("/api/commissions/" + id).find("COMPLETED") != std::string::npos;
        },
        std::chrono::seconds(seconds));
  }
  // The distinct request ids of the agent's accepts of `id`: one, however
  // often the commission reached it.
  std::set<std::string> AcceptRequests(const std::string& id) {
    std::set<std::string> ids;
    for (const auto& s : relay_->Find(true, [&](const Envelope& e) {
           return e.has_send_update() && e.send_update().update().commission_id() == id &&
                  e.send_update().update().has_accept();
         })) {
      ids.insert(s.env.send_update().request_id());
    }
    return ids;
  }
  uint64_t DeliveryIdOf(const std::string& id) {
    auto d = relay_->Find(false, [&](const Envelope& e) {
      return e.has_deliver() && e.deliver().commission().id() == id;
    });
    return d.empty() ? 0 : d[0].env.deliver().delivery_id();
  }
  size_t AcksOf(uint64_t delivery_id) {
    return relay_
        ->Find(true,
               [&](const Envelope& e) {
                 if (!e.has_ack()) return false;
                 for (uint64_t d : e.ack().delivery_ids()) {
                   if (d == delivery_id) return true;
                 }
                 return false;
               })
        .size();
  }
  std::vector<Relay::Seen> SubmitsOf(const std::function<bool(const weituo::v1::Commission&)>& m) {
    return relay_->Find(
        true, [&](const Envelope& e) { return e.has_submit() && m(e.submit().commission()); });
  }

  void RetriedAfter(weituo::v1::ErrorCode code);

  Zone zone_;
  std::unique_ptr<Relay> relay_;
  Process agent_;
};

// §6.1: the agent says Hello, is welcomed, and keeps the connection alive
// with heartbeats at the Welcome's pace (§10).
TEST_P(Conformance, S6_1_HelloWelcomeHeartbeats) {
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(10))) << AgentLog();
  auto hellos = relay_->Find(true, [](const Envelope& e) { return e.has_hello(); });
  ASSERT_FALSE(hellos.empty());
  EXPECT_EQ(hellos[0].env.hello().court_id(), kCourt);
  auto heartbeats = [&] {
    return relay_->Find(true, [](const Envelope& e) { return e.has_heartbeat(); });
  };
  ASSERT_TRUE(WaitFor([&] { return heartbeats().size() >= 3; }, std::chrono::seconds(10)))
      << AgentLog();
  EXPECT_GE(heartbeats().size(), 3u);
  // At the Welcome's pace (the zone's heartbeat: 200 ms): three within 1.5 s.
  const int64_t welcomed_at =
      relay_->Find(false, [](const Envelope& e) { return e.has_welcome(); })[0].at_ms;
  EXPECT_LE(heartbeats()[2].at_ms - welcomed_at, 1500);
}

// §6.3, §14 rules 2 and 6: a commission delivered is recorded, acknowledged
// by its delivery id, and handed to the court's handler, whose updates come
// back in order: accept before complete (§6.4, §11).
TEST_P(Conformance, S6_3_ReceiveAcknowledgeAnswerInOrder) {
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(10))) << AgentLog();
  std::string id = ChunanAsksDexing();
  ASSERT_TRUE(Completed(id)) << AgentLog();
  uint64_t delivery = DeliveryIdOf(id);
  ASSERT_NE(delivery, 0u);
  EXPECT_GE(AcksOf(delivery), 1u);
  auto updates = relay_->Find(true, [&](const Envelope& e) {
    return e.has_send_update() && e.send_update().update().commission_id() == id;
  });
  ASSERT_FALSE(updates.empty());
  EXPECT_TRUE(updates.front().env.send_update().update().has_accept())
      << "the first update sent for a commission must be its accept";
  EXPECT_EQ(AcceptRequests(id).size(), 1u);
}

// §14 rule 3, §11: the same delivery twice is acknowledged and handled once.
TEST_P(Conformance, S14_3_DuplicateDeliveryHandledOnce) {
  std::atomic<bool> repeated{false};
  relay_->OnToAgent([&](const Envelope& e) -> std::vector<Envelope> {
    if (e.has_deliver() && e.deliver().has_commission() && !repeated.exchange(true)) return {e, e};
    return {e};
  });
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(10))) << AgentLog();
  std::string id = ChunanAsksDexing();
  ASSERT_TRUE(Completed(id)) << AgentLog();
  EXPECT_TRUE(repeated);
  EXPECT_GE(AcksOf(DeliveryIdOf(id)), 1u);
  EXPECT_EQ(AcceptRequests(id).size(), 1u) << "the commission was handled more than once";
}

// §11: an acknowledgement lost on the way makes the broker deliver again
// after its ack timeout; the agent acknowledges again and handles once.
TEST_P(Conformance, S11_RedeliveryAfterALostAck) {
  // Nothing but the commission is delivered to dexing before it: the
  // agent's first Ack is for it.
  std::atomic<uint64_t> dropped{0};
  relay_->OnFromAgent([&](const Envelope& e) {
    if (!e.has_ack() || e.ack().delivery_ids_size() == 0 || dropped != 0) return false;
    dropped = e.ack().delivery_ids(0);
    return true;
  });
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(10))) << AgentLog();
  std::string id = ChunanAsksDexing();
  ASSERT_TRUE(Completed(id)) << AgentLog();
  uint64_t delivery = DeliveryIdOf(id);
  ASSERT_TRUE(WaitFor([&] { return AcksOf(delivery) >= 2; }, std::chrono::seconds(15)))
      << "no second ack of delivery " << delivery << " (dropped " << dropped << ")";
  EXPECT_GE(relay_
                ->Find(false,
                       [&](const Envelope& e) {
                         return e.has_deliver() && e.deliver().delivery_id() == delivery;
                       })
                .size(),
            2u);
  EXPECT_EQ(AcceptRequests(id).size(), 1u);
}

// §14 rule 1, §10: what the agent queued while the broker was down (killed)
// goes out when it is back, and is stored once.
TEST_P(Conformance, S14_1_OutboxSurvivesABrokerCrash) {
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(10))) << AgentLog();
  zone_.KillBroker(SIGKILL);
  Submit(Story("chunan-locate-kaihua.json"));
  auto ours = [](const weituo::v1::Commission& c) {
    return c.case_number() == "（2026）浙0127执1234号";
  };
  // The agent has sent it with no broker behind the relay to take it.
  ASSERT_TRUE(WaitFor([&] { return !SubmitsOf(ours).empty(); }, std::chrono::seconds(15)))
      << AgentLog();
  zone_.StartBroker();
  ASSERT_TRUE(WaitFor([&] { return !SubmitsOf(ours).empty(); }, std::chrono::seconds(15)))
      << AgentLog();
  std::string id = SubmitsOf(ours)[0].env.submit().commission().id();
  ASSERT_TRUE(Completed(id, 30)) << AgentLog();
  for (const auto& s : SubmitsOf(ours)) EXPECT_EQ(s.env.submit().commission().id(), id);
}

// §12, §14 rule 1: a retryable refusal keeps the submission queued and it
// is sent again.
void Conformance::RetriedAfter(weituo::v1::ErrorCode code) {
  std::atomic<bool> refused{false};
  relay_->OnToAgent([&](const Envelope& e) -> std::vector<Envelope> {
    if (e.has_submit_receipt() && !refused.exchange(true)) {
      Envelope error;
      error.set_protocol(1);
      error.mutable_error()->set_code(code);
      error.mutable_error()->set_message("conformance: try again");
      error.mutable_error()->set_ref(e.submit_receipt().commission_id());
      return {error};
    }
    return {e};
  });
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(10))) << AgentLog();
  Submit(Story("chunan-locate-kaihua.json"));
  auto any = [](const weituo::v1::Commission&) { return true; };
  ASSERT_TRUE(WaitFor([&] { return SubmitsOf(any).size() >= 2; }, std::chrono::seconds(20)))
      << "not sent again after " << weituo::v1::ErrorCode_Name(code) << "\n"
      << AgentLog();
  EXPECT_TRUE(refused);
  relay_->OnToAgent(nullptr);
}

TEST_P(Conformance, S12_RetryableRefusalIsRetried) { RetriedAfter(weituo::v1::UNAVAILABLE); }

// §12: STORAGE_FULL (the broker's disk is below its reserve) is retryable too.
TEST_P(Conformance, S12_StorageFullIsRetried) { RetriedAfter(weituo::v1::STORAGE_FULL); }

// §4: on a new connection the agent sends one Hello and nothing else until
// Welcome. The relay keeps everything from the broker back until the agent
// gives up on that connection (silence, §10) and says Hello on a new one.
TEST_P(Conformance, S4_NothingButHelloBeforeWelcome) {
  std::atomic<int> hellos{0};
  relay_->OnFromAgent([&](const Envelope& e) {
    if (e.has_hello()) ++hellos;
    return false;
  });
  relay_->OnToAgent([&](const Envelope& e) -> std::vector<Envelope> {
    if (hellos < 2) return {};
    return {e};
  });
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(20))) << AgentLog();
  int64_t welcomed_at =
      relay_->Find(false, [](const Envelope& e) { return e.has_welcome(); })[0].at_ms;
  int before = 0;
  for (const auto& s : relay_->Find(true, [](const Envelope&) { return true; })) {
    if (s.at_ms >= welcomed_at) break;
    ++before;
    EXPECT_TRUE(s.env.has_hello()) << "sent before Welcome: " << s.env.ShortDebugString();
  }
  EXPECT_GE(before, 2) << "one Hello on each of two connections";
  EXPECT_LE(before, 4) << "a Hello per connection, not a stream of them";
}

// §2, §5.1: a message larger than Welcome.max_frame_bytes is never sent (the
// broker's TOO_LARGE would carry no ref); the agent refuses it itself, at
// once or when it would send it, and what was queued after it still goes.
TEST_P(Conformance, S5_1_NothingOverTheAnnouncedFrameLimitIsSent) {
  constexpr uint64_t kLimit = 4096;
  relay_->OnToAgent([&](const Envelope& e) -> std::vector<Envelope> {
    if (!e.has_welcome()) return {e};
    Envelope smaller = e;
    smaller.mutable_welcome()->set_max_frame_bytes(kLimit);
    return {smaller};
  });
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(10))) << AgentLog();
  const std::string address(3000, 'x');
  WriteFile(work() + "/big.json", R"({"caseNumber":"（2026）赣1181执7号","targetCourt":"kaihua",)"
                                  R"("debtor":{"name":"某","regionCode":"330824","addresses":[")" +
                                      address + R"(",")" + address + R"("]},"debtorLocate":{}})");
  Submit(work() + "/big.json");
  Submit(Story("chunan-locate-kaihua.json"));
  auto small = [](const weituo::v1::Commission& c) {
    return c.case_number() == "（2026）浙0127执1234号";
  };
  ASSERT_TRUE(WaitFor([&] { return !SubmitsOf(small).empty(); }, std::chrono::seconds(15)))
      << AgentLog();
  ASSERT_TRUE(Completed(SubmitsOf(small)[0].env.submit().commission().id(), 30)) << AgentLog();
  for (const auto& s : relay_->Find(true, [](const Envelope&) { return true; })) {
    EXPECT_LE(s.env.ByteSizeLong(), kLimit) << "sent over the announced limit";
  }
  EXPECT_TRUE(SubmitsOf([](const weituo::v1::Commission& c) {
                return c.case_number() == "（2026）赣1181执7号";
              }).empty());
}

// §12, §14 rule 1: a final refusal takes the submission out of the outbox:
// it is not sent again.
TEST_P(Conformance, S12_FinalRefusalIsNotRetried) {
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(10))) << AgentLog();
  WriteFile(work() + "/nowhere.json",
            R"({"caseNumber":"（2026）赣1181执5号","targetCourt":"atlantis",)"
            R"("debtor":{"name":"某","regionCode":"361181"},"debtorLocate":{}})");
  Submit(work() + "/nowhere.json");
  auto refusal = [](const Envelope& e) {
    return e.has_error() && e.error().code() == weituo::v1::UNKNOWN_TARGET;
  };
  ASSERT_TRUE(
      WaitFor([&] { return !relay_->Find(false, refusal).empty(); }, std::chrono::seconds(10)));
  int64_t refused_at = relay_->Find(false, refusal)[0].at_ms;
  // A later submission, which the relay keeps from the broker, is resent
  // once: its resend was due after the refused one's would have been (the
  // same back-off from a later first send), so the agent has had its
  // chance to send that one again.
  auto later = [](const weituo::v1::Commission& c) {
    return c.case_number() == "（2026）浙0127执1234号";
  };
  relay_->OnFromAgent(
      [later](const Envelope& e) { return e.has_submit() && later(e.submit().commission()); });
  Submit(Story("chunan-locate-kaihua.json"));
  ASSERT_TRUE(WaitFor([&] { return SubmitsOf(later).size() >= 2; }, std::chrono::seconds(30)))
      << AgentLog();
  for (const auto& s :
       SubmitsOf([](const weituo::v1::Commission& c) { return c.target_court() == "atlantis"; })) {
    EXPECT_LE(s.at_ms, refused_at) << "sent again after UNKNOWN_TARGET";
  }
}

// §6.1, §12: told NOT_IDENTIFIED, the agent says Hello again. As a broker
// that forgot the court would, the relay answers NOT_IDENTIFIED (in place of
// the broker's heartbeats) until the Hello comes; the stock agent sends at
// most one Hello per 200 ms (§10), so one refusal alone may go unanswered.
TEST_P(Conformance, S6_1_NotIdentifiedIsAnsweredWithHello) {
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(10))) << AgentLog();
  std::atomic<int64_t> told_at{0};
  auto hello_since = [&](int64_t t) {
    for (const auto& s : relay_->Find(true, [](const Envelope& e) { return e.has_hello(); })) {
      if (s.at_ms >= t) return true;
    }
    return false;
  };
  relay_->OnToAgent([&](const Envelope& e) -> std::vector<Envelope> {
    if (!e.has_heartbeat()) return {e};
    if (told_at != 0 && hello_since(told_at)) return {e};
    if (told_at == 0) told_at = MonotonicMs();
    Envelope error;
    error.set_protocol(1);
    error.mutable_error()->set_code(weituo::v1::NOT_IDENTIFIED);
    error.mutable_error()->set_message("conformance: say Hello");
    return {error};
  });
  ASSERT_TRUE(
      WaitFor([&] { return told_at != 0 && hello_since(told_at); }, std::chrono::seconds(5)))
      << AgentLog();
}

// §3: a frame without `protocol = 1` is not the protocol's: the agent
// ignores it (no ack), and takes the broker's redelivery instead.
TEST_P(Conformance, S3_AFrameWithoutProtocolIsIgnored) {
  std::atomic<bool> stripped{false};
  relay_->OnToAgent([&](const Envelope& e) -> std::vector<Envelope> {
    if (e.has_deliver() && e.deliver().has_commission() && !stripped.exchange(true)) {
      Envelope bad = e;
      bad.clear_protocol();
      return {bad};
    }
    return {e};
  });
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return Connected(); }, std::chrono::seconds(10))) << AgentLog();
  std::string id = ChunanAsksDexing();
  ASSERT_TRUE(Completed(id)) << AgentLog();
  uint64_t delivery = DeliveryIdOf(id);
  auto deliveries = relay_->Find(false, [&](const Envelope& e) {
    return e.has_deliver() && e.deliver().delivery_id() == delivery;
  });
  ASSERT_GE(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0].env.protocol(), 0u);
  auto acks = relay_->Find(true, [&](const Envelope& e) {
    return e.has_ack() &&
           std::count(e.ack().delivery_ids().begin(), e.ack().delivery_ids().end(), delivery) > 0;
  });
  ASSERT_FALSE(acks.empty());
  EXPECT_GE(acks[0].at_ms, deliveries[1].at_ms) << "acknowledged a frame without protocol 1";
}

std::vector<Adapter> Adapters() {
  std::vector<Adapter> all = {{"cpp", SourceDir() + "/tests/conformance/agents/cpp.sh"},
                              {"python", SourceDir() + "/tests/conformance/agents/python.sh"}};
  // Any other agent: WEITUO_CONFORMANCE_ADAPTER=/path/to/adapter.sh.
  if (const char* extra = std::getenv("WEITUO_CONFORMANCE_ADAPTER"))
    all.push_back({"extra", extra});
  return all;
}

INSTANTIATE_TEST_SUITE_P(Agents, Conformance, ::testing::ValuesIn(Adapters()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace weituo::testing
