#include "weituo/agent/agent.h"

#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <zmq.hpp>

#include "agent_store.h"
#include "broker_choice.h"
#include "control_server.h"
#include "weituo/common/clock.h"
#include "weituo/common/curve.h"
#include "weituo/common/event_loop.h"
#include "weituo/common/ids.h"
#include "weituo/common/keys.h"
#include "weituo/common/lifecycle.h"
#include "weituo/common/logging.h"
#include "weituo/common/records.h"
#include "weituo/common/socket_events.h"
#include "weituo/common/validation.h"
#include "weituo/common/wire.h"

namespace weituo::agent {

using weituo::v1::AgentCommission;
using weituo::v1::AgentOutboxEntry;
using weituo::v1::AgentRequest;
using weituo::v1::AgentStatus;
using weituo::v1::Commission;
using weituo::v1::CommissionView;
using weituo::v1::ControlReply;
using weituo::v1::ControlRequest;
using weituo::v1::Envelope;
using weituo::v1::ErrorCode;
using weituo::v1::Event;
using weituo::v1::HandlerStatus;
using weituo::v1::Kind;
using weituo::v1::ListFilter;
using weituo::v1::Update;

namespace {

constexpr char kAgentVersion[] = "weituo-agent 0.1.0";
constexpr int64_t kTickMs = 50;

// Fault injection for tests: WEITUO_CRASH_POINT=<name> ends the process at
// that point as abruptly as SIGKILL would.
void MaybeCrash(const char* point) {
  static const char* wanted = std::getenv("WEITUO_CRASH_POINT");
  if (wanted && std::string_view(wanted) == point) {
    spdlog::warn("msg=\"crash point reached\" point={}", point);
    spdlog::default_logger()->flush();
    _exit(86);
  }
}

std::string RandomSuffix(std::mt19937_64& rng) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

std::string EncodeCounter(uint64_t v) {
  std::string out;
  AppendBigEndian64(&out, v);
  return out;
}

}  // namespace

class Agent::Impl {
 public:
  // options.broker_endpoints is the list (Open fills it).
  Impl(Agent* self, AgentOptions options, std::unique_ptr<AgentStore> store)
      : self_(self),
        options_(std::move(options)),
        store_(std::move(store)),
        choice_(options_.broker_endpoints, options_.failover_ms),
        endpoint_(choice_.current()) {}

  ~Impl() { Stop(); }

  Status Init();
  Status Start();
  void Stop();
  StatusOr<std::string> Submit(Commission commission);
  StatusOr<std::string> SendUpdate(Update update, std::string request_id);
  // Adds `envelope` to the durable outbox under the next seq, with the
  // caller's writes in `batch`, in one synced commit; wakes the I/O thread.
  // The caller holds write_mu_.
  Status Queue(WriteBatch& batch, const std::string& request_id, Envelope envelope);
  StatusOr<CommissionView> Show(const std::string& id) const;
  // The record with its trail attached.
  StatusOr<CommissionView> ViewOf(AgentCommission record) const;
  StatusOr<std::vector<CommissionView>> List(const ListFilter& filter) const;
  StatusOr<AgentRequest> Request(const std::string& id) const;
  AgentStatus GetStatus() const;

  Agent* self_;
  AgentOptions options_;
  std::unique_ptr<AgentStore> store_;
  mutable std::mutex counters_mu_;
  std::map<std::string, uint64_t> counters_;
  std::map<Kind, CommissionHandler> commission_handlers_;
  EventHandler event_handler_;
  Agent::RetryHandler retry_handler_;

 private:
  void ThreadMain();
  // Opens a new DEALER (a fresh routing id) and says Hello. INVALID_ARGUMENT
  // if the endpoint is malformed; the first call comes from Start, so every
  // later one, on the I/O thread, uses an endpoint known to be good.
  Status Connect();
  // INVALID_ARGUMENT naming the first endpoint of the list that libzmq
  // would not connect to.
  Status CheckEndpoints();
  // Moves to another member of the group if one is due (BrokerChoice).
  // True if it did.
  bool MaybeMove(int64_t now);
  void SendHello();
  void SendToBroker(Envelope& env);
  void SendPending(bool all);
  void HandleBroker(const zmq::message_t& msg);
  void HandleDeliver(const weituo::v1::Deliver& deliver);
  void HandleSubmitReceipt(const weituo::v1::SubmitReceipt& receipt);
  void HandleUpdateReceipt(const weituo::v1::UpdateReceipt& receipt);
  void HandleError(const weituo::v1::Error& error);
  // Handshake outcomes of the DEALER (why the broker would not talk to us),
  // and its connection dropped or refused (BrokerChoice::Lost).
  void HandleMonitorEvents();
  // Closes the DEALER and its monitor, if open.
  void CloseDealer();
  ControlReply Control(const ControlRequest& request);
  // Records a new event in this turn's batch; false if the store could not
  // be read (then nothing is recorded and it must not be acknowledged).
  bool RecordEvent(const Event& event, bool notify);
  StatusOr<std::optional<AgentCommission>> LoadRecord(const std::string& id);
  void PutRecord(const AgentCommission& record);
  void RemoveFromOutbox(const std::string& request_id);
  // A final refusal of the queued message error.ref(), by the broker or by
  // this agent: out of the outbox, recorded on its request or commission.
  void GiveUp(const weituo::v1::Error& error);
  void CommitTurn();
  void RunHandlers();
  // Reads what the broker sent, up to a batch.
  void DrainBroker();
  // After the turn's input: commit, handlers, the control socket, timers.
  void EndTurn();
  void Wake() { events_.Wake(); }

  zmq::context_t context_{1};
  std::unique_ptr<zmq::socket_t> dealer_;
  std::unique_ptr<zmq::socket_t> monitor_;  // events of dealer_
  int connections_made_ = 0;
  std::unique_ptr<ControlServer> control_;
  std::thread thread_;
  // The I/O thread's loop: the DEALER, its monitor and the control socket;
  // woken by Submit and SendUpdate from callers' threads.
  EventLoop events_;
  bool control_ready_ = false;  // the control socket has requests waiting
  std::atomic<bool> connected_{false};
  // Which member of the group the DEALER is connected to (I/O thread).
  BrokerChoice choice_;
  // What GetStatus shows of it, from callers' threads.
  mutable std::mutex broker_mu_;
  std::string endpoint_;  // choice_.current()
  uint64_t broker_changes_ = 0;
  std::string last_broker_change_;
  int64_t last_broker_change_at_ms_ = 0;
  // The largest frame the broker takes, from its last Welcome; 0 until one
  // announces it. Read by Queue on callers' threads.
  std::atomic<uint64_t> max_frame_bytes_{0};

  std::mutex write_mu_;  // serialises Submit and SendUpdate
  uint64_t next_seq_ = 1;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> events_received_{0};
  mutable std::mutex connection_error_mu_;
  std::string connection_error_;
  // Queued messages the broker refused for now, by request id (the
  // commission id of a submission): the last such refusal of each, until
  // its receipt or a final refusal. In memory: a restart resends them all.
  mutable std::mutex waiting_mu_;
  std::map<std::string, weituo::v1::Error> waiting_;
  weituo::v1::Error last_waiting_;

  // I/O thread only (Connect's first call, from Start, comes before the
  // thread). Each agent has its own: agents in one process share no state.
  std::mt19937_64 routing_id_rng_{std::random_device{}()};
  LogThrottle connect_error_log_{1};  // "cannot connect" lines per second
  // Outbox seq -> when it was last sent and how often, on this connection.
  struct Sent {
    int64_t at = 0;
    int sends = 0;
  };
  std::map<uint64_t, Sent> sent_;
  uint64_t scan_from_ = 0;  // outbox seqs below were sent at least once
  int64_t last_heard_ = 0;
  int64_t last_hello_ = 0;
  int64_t last_heartbeat_ = 0;
  // The broker's pace from its Welcome, if faster than ours: an agent must
  // be heard at least that often (protocol section 10).
  int64_t welcome_heartbeat_ms_ = 0;
  int64_t last_resend_ = 0;
  std::unique_ptr<WriteBatch> batch_;
  std::unordered_map<std::string, AgentCommission> turn_records_;
  std::unordered_set<std::string> turn_events_;
  std::vector<uint64_t> acks_;
  std::vector<Commission> new_commissions_;
  std::vector<Event> new_events_;
};

Status Agent::Impl::Init() {
  WEITUO_ASSIGN_OR_RETURN(const uint64_t last, store_->LastOutboxSeq());
  next_seq_ = last + 1;
  WEITUO_ASSIGN_OR_RETURN(received_, store_->Counter("received"));
  WEITUO_ASSIGN_OR_RETURN(events_received_, store_->Counter("events"));
  batch_ = std::make_unique<WriteBatch>(store_->kv().NewBatch());
  return Status::Ok();
}

Status Agent::Impl::Start() {
  if (thread_.joinable()) return Status::FailedPrecondition("agent already started");
  if (!options_.control_endpoint.empty()) {
    // Whoever reaches the control socket speaks for the court: it answers
    // only the account this agent runs as.
    WEITUO_ASSIGN_OR_RETURN(control_,
                            ControlServer::Bind(context_, options_.control_endpoint, ::geteuid()));
  }
  // The sockets are made here and handed to the I/O thread; starting a
  // thread is the full memory barrier ZeroMQ asks for when a socket moves.
  Status s = CheckEndpoints();
  if (s.ok()) s = Connect();
  if (!s.ok()) {
    control_.reset();
    dealer_.reset();
    return s;
  }
  if (control_) events_.AddSocket(control_->handle(), [this] { control_ready_ = true; });
  thread_ = std::thread([this] { ThreadMain(); });
  return Status::Ok();
}

void Agent::Impl::Stop() {
  if (!thread_.joinable()) return;
  events_.Stop();
  thread_.join();
}

void Agent::Impl::CloseDealer() {
  if (dealer_) {
    // Monitoring stops first: an event (a disconnect, say) sent to a
    // monitor whose reader is closed would block ZeroMQ's I/O thread, and
    // with it every socket of this agent's context.
    (void)zmq_socket_monitor(dealer_->handle(), nullptr, 0);
    events_.RemoveSocket(dealer_->handle());
    dealer_->close();
  }
  if (monitor_) {
    events_.RemoveSocket(monitor_->handle());
    monitor_->close();
  }
}

Status Agent::Impl::Connect() {
  CloseDealer();
  dealer_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  dealer_->set(zmq::sockopt::linger, 0);
  if (!options_.plaintext) {
    auto public_key = CurvePublicKeyOf(options_.curve_secret_key);
    dealer_->set(zmq::sockopt::curve_serverkey, options_.broker_public_key);
    dealer_->set(zmq::sockopt::curve_publickey, *public_key);  // checked by Open
    dealer_->set(zmq::sockopt::curve_secretkey, options_.curve_secret_key);
  }
  std::string monitor_endpoint =
      "inproc://weituo.agent.monitor." + std::to_string(++connections_made_);
  if (zmq_socket_monitor(dealer_->handle(), monitor_endpoint.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED |
                             ZMQ_EVENT_CONNECT_RETRIED) == 0) {
    monitor_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::pair);
    monitor_->set(zmq::sockopt::linger, 0);
    monitor_->connect(monitor_endpoint);
    events_.AddSocket(monitor_->handle(), [this] { HandleMonitorEvents(); });
  }
  dealer_->set(zmq::sockopt::routing_id, options_.court_id + "." + RandomSuffix(routing_id_rng_));
  dealer_->set(zmq::sockopt::reconnect_ivl, 100);
  dealer_->set(zmq::sockopt::reconnect_ivl_max, 2000);
  dealer_->set(zmq::sockopt::sndhwm, 100000);
  dealer_->set(zmq::sockopt::rcvhwm, 100000);
  try {
    dealer_->connect(choice_.current());
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("broker endpoint '" + choice_.current() + "': " + e.what());
  }
  events_.AddSocket(dealer_->handle(), [this] { DrainBroker(); });
  connected_ = false;
  sent_.clear();
  scan_from_ = 0;
  last_heard_ = MonotonicMs();
  choice_.Connected(last_heard_);
  SendHello();
  return Status::Ok();
}

Status Agent::Impl::CheckEndpoints() {
  zmq::socket_t probe(context_, zmq::socket_type::dealer);
  probe.set(zmq::sockopt::linger, 0);
  for (const std::string& endpoint : choice_.endpoints()) {
    try {
      probe.connect(endpoint);
    } catch (const zmq::error_t& e) {
      return Status::InvalidArgument("broker endpoint '" + endpoint + "': " + e.what());
    }
  }
  return Status::Ok();
}

bool Agent::Impl::MaybeMove(int64_t now) {
  const std::string from = choice_.current();
  std::optional<BrokerChoice::Move> move = choice_.Due(now);
  if (!move) return false;
  const std::string_view reason = BrokerChoice::ReasonName(move->reason);
  if (move->unlisted_first_time) {
    spdlog::warn(
        "msg=\"following a leader that is not in this agent's broker list\" endpoint={} "
        "list_size={}",
        LogValue(move->endpoint), choice_.endpoints().size());
  }
  spdlog::info("msg=\"moving to another broker\" from={} to={} reason={}", LogValue(from),
               LogValue(move->endpoint), reason);
  {
    std::lock_guard<std::mutex> lock(broker_mu_);
    endpoint_ = move->endpoint;
    ++broker_changes_;
    last_broker_change_ = reason;
    last_broker_change_at_ms_ = NowMs();
  }
  if (Status s = Connect(); !s.ok()) {
    // Only a leader endpoint can be refused (the list was checked by
    // Start): the next move, failover_ms later, goes back to the list.
    spdlog::warn("msg=\"cannot connect to broker\" error=\"{}\"", LogValue(s.message()));
    choice_.Connected(now);
  }
  return true;
}

void Agent::Impl::SendHello() {
  Envelope env;
  env.mutable_hello()->set_court_id(options_.court_id);
  env.mutable_hello()->set_agent_version(kAgentVersion);
  last_hello_ = MonotonicMs();
  SendToBroker(env);
}

void Agent::Impl::SendToBroker(Envelope& env) {
  std::string bytes = SerializeEnvelope(env);
  try {
    // Never block on the broker: a full queue is a resend later.
    (void)dealer_->send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    spdlog::warn("msg=\"send to broker failed\" error=\"{}\"", e.what());
  }
}

void Agent::Impl::ThreadMain() {
  // Handlers that did not finish before the last stop run again.
  std::vector<std::string> pending;
  (void)store_->kv().Scan(kCfPendingHandlers, "", "", 0, [&](std::string_view key, auto) {
    pending.emplace_back(key);
    return true;
  });
  for (const std::string& id : pending) {
    auto rec = store_->GetCommission(id);
    if (rec.ok() && rec->has_value()) new_commissions_.push_back((*rec)->commission());
  }
  RunHandlers();

  events_.SetMaxWaitMs(kTickMs);
  events_.SetTurnEnd([this] { EndTurn(); });
  if (Status s = events_.Run(); !s.ok()) {
    spdlog::error("msg=\"poll failed\" error=\"{}\"", s.message());
  }
  CloseDealer();
  if (control_) events_.RemoveSocket(control_->handle());
  if (control_) control_->Close();
}

void Agent::Impl::DrainBroker() {
  for (size_t n = 0; n < options_.max_batch; ++n) {
    zmq::message_t msg;
    zmq::recv_result_t got;
    try {
      got = dealer_->recv(msg, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t&) {
      return;
    }
    if (!got) return;
    last_heard_ = MonotonicMs();
    choice_.Heard(last_heard_);
    HandleBroker(msg);
  }
  events_.WaitAtMostMs(0);  // a full batch: more may be waiting
}

void Agent::Impl::EndTurn() {
  CommitTurn();
  RunHandlers();
  // Requests are answered after the commit, from the state it left.
  if (control_ && std::exchange(control_ready_, false)) {
    control_->Drain([this](const ControlRequest& r) { return Control(r); },
                    [this] { self_->Count("control_refused_uid"); });
  }
  int64_t now = MonotonicMs();
  if (connected_) {
    bool resend = now - last_resend_ >= options_.resend_ms / 2;
    if (resend) last_resend_ = now;
    SendPending(resend);
  }
  int64_t heartbeat_ms = options_.heartbeat_ms;
  if (welcome_heartbeat_ms_ > 0) heartbeat_ms = std::min(heartbeat_ms, welcome_heartbeat_ms_);
  // Before Welcome the connection carries nothing but our Hello.
  if (connected_ && now - last_heartbeat_ >= heartbeat_ms) {
    last_heartbeat_ = now;
    Envelope hb;
    hb.mutable_heartbeat()->set_at_ms(NowMs());
    SendToBroker(hb);
  }
  if (MaybeMove(now)) return;
  // Where it cannot move (one endpoint), silence reconnects to the same.
  if (!choice_.can_move() && now - last_heard_ > options_.broker_silence_ms) {
    spdlog::info("msg=\"broker silent, reconnecting\" endpoint={}", choice_.current());
    (void)Connect();  // the endpoint was accepted by Start
  }
}

void Agent::Impl::HandleMonitorEvents() {
  while (std::optional<SocketEvent> event = NextSocketEvent(monitor_->handle())) {
    const auto [type, value] = *event;
    std::string error;
    if (type == ZMQ_EVENT_DISCONNECTED || type == ZMQ_EVENT_CONNECT_RETRIED) {
      // The member is gone or refuses connections: in a group, the next
      // one is tried at once (BrokerChoice::Lost); alone, ZeroMQ retries.
      choice_.Lost();
      continue;
    }
    if (type == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
      error.clear();
    } else if (type == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      error = "the broker refused this court's key (status " + std::to_string(value) +
              "): is its public key in the broker's directory?";
    } else if (type == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
               type == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
      // libzmq 4.3.4 says NO_DETAIL for a wrong broker key; other versions
      // may say it for a refused key too (docs/protocol.md section 2).
      error = options_.plaintext
                  ? "handshake with the broker failed: does it run with CURVE (then give this "
                    "agent keys)?"
                  : "handshake with the broker failed: is broker_public_key the broker's key, "
                    "and does the broker run with CURVE? (with some libzmq versions also: is "
                    "this court's public key in the broker's directory?)";
    } else {
      continue;
    }
    uint64_t suppressed = 0;
    if (!error.empty() && connect_error_log_.Allow(MonotonicMs(), &suppressed)) {
      spdlog::error("msg=\"cannot connect\" endpoint={} reason=\"{}\"", choice_.current(), error);
    }
    std::lock_guard<std::mutex> lock(connection_error_mu_);
    connection_error_ = std::move(error);
  }
}

void Agent::Impl::SendPending(bool all) {
  int64_t now = MonotonicMs();
  std::vector<std::pair<uint64_t, std::string>> to_send;
  std::string start = AgentStore::SeqKey(all ? 0 : scan_from_);
  (void)store_->kv().Scan(kCfOutbox, start, "", 0, [&](std::string_view key, std::string_view v) {
    uint64_t seq = ReadBigEndian64(key);
    // TCP loses nothing on a live connection (a new one resends all on
    // Welcome), so timed resends are a safety net: they back off rather
    // than add load to a broker that is merely slow.
    auto it = sent_.find(seq);
    if (it == sent_.end() || now - it->second.at >= int64_t{options_.resend_ms}
                                                        << std::min(it->second.sends - 1, 4)) {
      to_send.emplace_back(seq, std::string(v));
    }
    return true;
  });
  const uint64_t limit = max_frame_bytes_;
  for (auto& [seq, raw] : to_send) {
    AgentOutboxEntry entry;
    if (!entry.ParseFromString(raw)) continue;
    const size_t bytes = entry.envelope().ByteSizeLong();
    if (limit > 0 && bytes > limit) {
      // The broker would refuse it with TOO_LARGE and no ref, which matches
      // no entry: it would be resent for ever. Refused here instead, as the
      // broker's final TOO_LARGE would be.
      self_->Count("outbox_too_large");
      spdlog::error(
          "msg=\"not sent: over the broker's frame limit\" ref=\"{}\" bytes={} "
          "max_frame_bytes={}",
          LogValue(entry.request_id()), bytes, limit);
      weituo::v1::Error error;
      error.set_code(ErrorCode::TOO_LARGE);
      error.set_message("not sent: " + std::to_string(bytes) + " bytes in its frame, over the " +
                        "broker's limit of " + std::to_string(limit) +
                        " (Welcome.max_frame_bytes)");
      error.set_ref(entry.request_id());
      GiveUp(error);
      scan_from_ = std::max(scan_from_, seq + 1);
      continue;
    }
    SendToBroker(*entry.mutable_envelope());
    Sent& sent = sent_[seq];
    sent.at = now;
    ++sent.sends;
    scan_from_ = std::max(scan_from_, seq + 1);
  }
}

void Agent::Impl::HandleBroker(const zmq::message_t& msg) {
  Envelope env;
  weituo::v1::Error error;
  if (!ParseEnvelope(std::string_view(static_cast<const char*>(msg.data()), msg.size()), 64 << 20,
                     &env, &error)) {
    spdlog::warn("msg=\"bad frame from broker\" error=\"{}\"", LogValue(error.message()));
    return;
  }
  switch (env.body_case()) {
    case Envelope::kWelcome:
      connected_ = true;
      choice_.Welcomed(MonotonicMs());
      welcome_heartbeat_ms_ = env.welcome().heartbeat_ms();
      max_frame_bytes_ = env.welcome().max_frame_bytes();
      spdlog::info("msg=\"connected to broker\" court={} broker=\"{}\"", options_.court_id,
                   LogValue(env.welcome().broker_version()));
      sent_.clear();
      scan_from_ = 0;
      SendPending(true);
      return;
    case Envelope::kHeartbeat:
      return;
    case Envelope::kDeliver:
      return HandleDeliver(env.deliver());
    case Envelope::kSubmitReceipt:
      return HandleSubmitReceipt(env.submit_receipt());
    case Envelope::kUpdateReceipt:
      return HandleUpdateReceipt(env.update_receipt());
    case Envelope::kError:
      return HandleError(env.error());
    default:
      spdlog::warn("msg=\"unexpected message from broker\" body={}",
                   static_cast<int>(env.body_case()));
  }
}

StatusOr<std::optional<AgentCommission>> Agent::Impl::LoadRecord(const std::string& id) {
  if (auto it = turn_records_.find(id); it != turn_records_.end()) {
    return std::optional<AgentCommission>(it->second);
  }
  return store_->GetCommission(id);
}

void Agent::Impl::PutRecord(const AgentCommission& record) {
  batch_->Put(kCfCommissions, record.commission().id(), record.SerializeAsString());
  turn_records_[record.commission().id()] = record;
}

void Agent::Impl::HandleDeliver(const weituo::v1::Deliver& deliver) {
  // Only what is recorded is acknowledged: a kind of item this agent does
  // not know stays pending at the broker, where operators see it parked. A
  // commission id names store keys, spool files and log lines: only a ULID
  // (as the broker checks at submission) is taken.
  const std::string& about =
      deliver.has_commission() ? deliver.commission().id() : deliver.event().commission_id();
  if ((deliver.has_commission() || deliver.has_event()) && !IsUlid(about)) {
    spdlog::warn("msg=\"delivery with a malformed commission id left unacknowledged\" delivery={}",
                 deliver.delivery_id());
  } else if (deliver.has_commission()) {
    const Commission& c = deliver.commission();
    auto existing = LoadRecord(c.id());
    if (!existing.ok()) return;  // not recorded: the broker resends
    acks_.push_back(deliver.delivery_id());
    // A duplicate, unless we only hold the stub that an event about this
    // commission made when it overtook the commission itself.
    bool stub = existing->has_value() &&
                (*existing)->commission().payload_case() == Commission::PAYLOAD_NOT_SET;
    if (existing->has_value() && !stub) return;
    AgentCommission record;
    if (stub) record = std::move(**existing);
    *record.mutable_commission() = c;
    record.set_is_origin(false);
    if (!stub) record.set_state(weituo::v1::DELIVERED);
    record.set_updated_at_ms(NowMs());
    PutRecord(record);
    batch_->Put(kCfPendingHandlers, c.id(), "");
    batch_->Put(kCfDefault, "received", EncodeCounter(++received_));
    new_commissions_.push_back(c);
    spdlog::info("msg=\"commission received\" commission={} origin=\"{}\" kind={}", c.id(),
                 LogValue(c.origin_court()), weituo::v1::Kind_Name(KindOf(c)));
  } else if (deliver.has_event()) {
    if (RecordEvent(deliver.event(), true)) acks_.push_back(deliver.delivery_id());
  } else if (deliver.has_notice()) {
    // About a court, not a commission (a supervisor learns that one of its
    // courts is offline): kept under its delivery id, so a redelivery
    // writes the same entry again. The liaison's phone and name are shown
    // by `status`, not logged.
    std::string key = "notice/";
    AppendBigEndian64(&key, deliver.delivery_id());
    batch_->Put(kCfDefault, key, deliver.notice().SerializeAsString());
    acks_.push_back(deliver.delivery_id());
    spdlog::warn("msg=\"court notice\" court=\"{}\" what=\"{}\" since=\"{}\"",
                 LogValue(deliver.notice().court()), LogValue(deliver.notice().what()),
                 FormatTimeMs(deliver.notice().since_ms()));
  } else {
    spdlog::warn("msg=\"delivery of an unknown kind left unacknowledged\" delivery={}",
                 deliver.delivery_id());
  }
}

bool Agent::Impl::RecordEvent(const Event& event, bool notify) {
  std::string key = AgentStore::EventKey(event.commission_id(), event.seq());
  if (turn_events_.count(key)) return true;
  auto has = store_->HasEvent(event.commission_id(), event.seq());
  if (!has.ok()) return false;
  if (*has) return true;
  batch_->Put(kCfEvents, key, event.SerializeAsString());
  batch_->Put(kCfDefault, "events", EncodeCounter(++events_received_));
  turn_events_.insert(key);
  auto existing = LoadRecord(event.commission_id());
  AgentCommission record;
  if (existing.ok() && existing->has_value()) {
    record = std::move(**existing);
  } else {
    record.mutable_commission()->set_id(event.commission_id());
    record.mutable_commission()->set_origin_court(event.origin_court());
    record.mutable_commission()->set_target_court(event.target_court());
    record.set_is_origin(event.origin_court() == options_.court_id);
  }
  // A supervisor knows an escalated commission only by the summary its
  // deadline events carry.
  if (event.has_summary() && record.commission().case_number().empty()) {
    record.mutable_commission()->set_case_number(event.summary().case_number());
    record.mutable_commission()->mutable_debtor()->set_name(event.summary().debtor_name());
  }
  if (event.seq() > record.last_seq()) {
    record.set_last_seq(event.seq());
    record.set_state(event.state());
  }
  if (event.type() == weituo::v1::EV_SUBMITTED) record.set_receipted(true);
  record.set_updated_at_ms(NowMs());
  PutRecord(record);
  if (notify) new_events_.push_back(event);
  return true;
}

void Agent::Impl::RemoveFromOutbox(const std::string& request_id) {
  auto seq = store_->OutboxSeqOf(request_id);
  if (!seq.ok() || !seq->has_value()) return;
  batch_->Delete(kCfOutbox, AgentStore::SeqKey(**seq));
  batch_->Delete(kCfOutboxIndex, request_id);
  sent_.erase(**seq);
  std::lock_guard<std::mutex> lock(waiting_mu_);
  waiting_.erase(request_id);
}

void Agent::Impl::HandleSubmitReceipt(const weituo::v1::SubmitReceipt& receipt) {
  RemoveFromOutbox(receipt.commission_id());
  auto existing = LoadRecord(receipt.commission_id());
  if (existing.ok() && existing->has_value()) {
    AgentCommission record = std::move(**existing);
    record.mutable_commission()->set_target_court(receipt.target_court());
    record.set_receipted(true);
    PutRecord(record);
  }
  RecordEvent(receipt.event(), true);
  spdlog::info("msg=\"submission receipted\" commission=\"{}\" target=\"{}\" duplicate={}",
               LogValue(receipt.commission_id()), LogValue(receipt.target_court()),
               receipt.duplicate());
}

void Agent::Impl::HandleUpdateReceipt(const weituo::v1::UpdateReceipt& receipt) {
  RemoveFromOutbox(receipt.request_id());
  auto request = store_->GetRequest(receipt.request_id());
  if (request.ok() && request->has_value()) {
    AgentRequest r = std::move(**request);
    r.set_state(weituo::v1::REQUEST_DONE);
    *r.mutable_event() = receipt.event();
    batch_->Put(kCfRequests, r.request_id(), r.SerializeAsString());
  }
  RecordEvent(receipt.event(), true);
}

void Agent::Impl::HandleError(const weituo::v1::Error& error) {
  if (error.code() == ErrorCode::NOT_IDENTIFIED) {
    // The broker restarted and forgot us: introduce ourselves again, then
    // everything pending is resent on Welcome.
    connected_ = false;
    if (MonotonicMs() - last_hello_ > 200) SendHello();
    return;
  }
  if (error.code() == ErrorCode::NOT_LEADER) {
    // A member of a group that is not its leader: it serves nothing, so
    // the agent goes to the leader it names, else to the next member
    // (MaybeMove, at the end of this turn or once the pace allows).
    connected_ = false;
    std::string leader = error.leader_endpoint();
    if (!leader.empty() && !IsConnectableEndpoint(leader)) {
      spdlog::warn("msg=\"NOT_LEADER names a malformed leader endpoint, ignored\" endpoint={}",
                   LogValue(leader));
      leader.clear();
    }
    spdlog::info("msg=\"broker is not the leader\" endpoint={} leader={}", choice_.current(),
                 leader.empty() ? "unknown" : LogValue(leader));
    choice_.NotLeader(leader);
    return;
  }
  spdlog::warn("msg=\"broker refused\" code={} ref=\"{}\" reason=\"{}\"",
               weituo::v1::ErrorCode_Name(error.code()), LogValue(error.ref()),
               LogValue(error.message()));
  if (error.ref().empty()) return;
  auto seq = store_->OutboxSeqOf(error.ref());
  if (!seq.ok() || !seq->has_value()) return;
  if (IsRetryable(error.code())) {
    // Resent as usual; shown to the clerk meanwhile (status, show).
    self_->Count("broker_refused_for_now");
    std::lock_guard<std::mutex> lock(waiting_mu_);
    waiting_[error.ref()] = error;
    last_waiting_ = error;
    return;
  }
  GiveUp(error);
}

void Agent::Impl::GiveUp(const weituo::v1::Error& error) {
  RemoveFromOutbox(error.ref());
  auto request = store_->GetRequest(error.ref());
  if (request.ok() && request->has_value()) {
    AgentRequest r = std::move(**request);
    r.set_state(weituo::v1::REQUEST_FAILED);
    *r.mutable_error() = error;
    batch_->Put(kCfRequests, r.request_id(), r.SerializeAsString());
    return;
  }
  auto record = LoadRecord(error.ref());
  if (record.ok() && record->has_value()) {
    AgentCommission rec = std::move(**record);
    *rec.mutable_error() = error;
    PutRecord(rec);
  }
}

void Agent::Impl::CommitTurn() {
  if (batch_->Count() > 0) {
    // Only an acknowledgement needs the WAL on disk first: it lets the
    // broker forget. A receipt recorded without a sync is safe to lose in a
    // power cut: the outbox entry it clears is resent and receipted again.
    Status s = store_->kv().Commit(*batch_, /*sync=*/!acks_.empty());
    batch_->Clear();
    if (!s.ok()) {
      // Nothing of this turn is acknowledged; the broker resends it.
      spdlog::error("msg=\"agent store write failed\" error=\"{}\"", s.ToString());
      acks_.clear();
      new_commissions_.clear();
      new_events_.clear();
      turn_records_.clear();
      turn_events_.clear();
      return;
    }
  }
  turn_records_.clear();
  turn_events_.clear();
  if (!acks_.empty()) {
    MaybeCrash("agent_after_record");
    // Not welcomed (the broker forgot us, the Hello is out): nothing but
    // Hello is sent. These deliveries are recorded; the broker sends them
    // again after its Welcome, and they are acknowledged as duplicates.
    if (connected_) {
      Envelope env;
      for (uint64_t id : acks_) env.mutable_ack()->add_delivery_ids(id);
      SendToBroker(env);
    }
    acks_.clear();
  }
}

void Agent::Impl::RunHandlers() {
  if (new_commissions_.empty() && new_events_.empty()) return;
  std::vector<Commission> commissions;
  commissions.swap(new_commissions_);
  std::vector<Event> events;
  events.swap(new_events_);
  WriteBatch done = store_->kv().NewBatch();
  for (const Commission& c : commissions) {
    auto it = commission_handlers_.find(KindOf(c));
    if (it == commission_handlers_.end()) it = commission_handlers_.find(Kind::KIND_UNSPECIFIED);
    if (it != commission_handlers_.end()) it->second(*self_, c);
    done.Delete(kCfPendingHandlers, c.id());
  }
  if (event_handler_) {
    for (const Event& e : events) event_handler_(*self_, e);
  }
  // Losing this write only means a handler runs again after a crash.
  if (done.Count() > 0) (void)store_->kv().Commit(done, false);
}

ControlReply Agent::Impl::Control(const ControlRequest& request) {
  ControlReply reply;
  auto fail = [&](const Status& s) {
    reply.set_ok(false);
    reply.set_error(s.ToString());
    return reply;
  };
  switch (request.op_case()) {
    case ControlRequest::kSubmit: {
      auto id = Submit(request.submit());
      if (!id.ok()) return fail(id.status());
      reply.set_commission_id(*id);
      break;
    }
    case ControlRequest::kUpdate: {
      auto id = SendUpdate(request.update(), "");
      if (!id.ok()) return fail(id.status());
      reply.set_request_id(*id);
      break;
    }
    case ControlRequest::kRetryHandler: {
      if (!retry_handler_) {
        return fail(Status::FailedPrecondition("this agent runs no configured handlers"));
      }
      if (Status s = retry_handler_(request.retry_handler()); !s.ok()) return fail(s);
      reply.set_commission_id(request.retry_handler());
      break;
    }
    case ControlRequest::kShow: {
      auto view = Show(request.show());
      if (!view.ok()) return fail(view.status());
      *reply.mutable_view() = *view;
      break;
    }
    case ControlRequest::kList: {
      auto views = List(request.list());
      if (!views.ok()) return fail(views.status());
      for (auto& v : *views) *reply.add_commissions() = std::move(v);
      break;
    }
    case ControlRequest::kRequest: {
      auto r = Request(request.request());
      if (!r.ok()) return fail(r.status());
      *reply.mutable_request() = *r;
      break;
    }
    case ControlRequest::kStatus:
      *reply.mutable_status() = GetStatus();
      break;
    case ControlRequest::OP_NOT_SET:
      return fail(Status::InvalidArgument("control request has no operation"));
  }
  reply.set_ok(true);
  return reply;
}

StatusOr<std::string> Agent::Impl::Submit(Commission c) {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (c.id().empty()) c.set_id(NewUlid(NowMs()));
  if (c.origin_court().empty()) c.set_origin_court(options_.court_id);
  if (c.origin_court() != options_.court_id) {
    return Status::InvalidArgument("origin_court must be this agent's court '" + options_.court_id +
                                   "'");
  }
  WEITUO_ASSIGN_OR_RETURN(auto existing, store_->GetCommission(c.id()));
  if (existing.has_value()) {
    // Submitting the same commission again (a clerk re-running a file after
    // a failure) is idempotent: what the agent or the broker filled in the
    // first time does not make it different.
    const Commission& stored = existing->commission();
    if (c.created_at_ms() == 0) c.set_created_at_ms(stored.created_at_ms());
    if (c.target_court().empty()) c.set_target_court(stored.target_court());
    if (!google::protobuf::util::MessageDifferencer::Equals(c, stored)) {
      return Status::AlreadyExists("commission " + c.id() + " exists with different content");
    }
    return c.id();
  }
  if (c.created_at_ms() == 0) c.set_created_at_ms(NowMs());
  WEITUO_RETURN_IF_ERROR(ValidateCommission(c));
  const std::string id = c.id();
  AgentCommission record;
  *record.mutable_commission() = c;
  record.set_is_origin(true);
  record.set_updated_at_ms(NowMs());
  WriteBatch batch = store_->kv().NewBatch();
  batch.Put(kCfCommissions, id, record.SerializeAsString());
  Envelope envelope;
  *envelope.mutable_submit()->mutable_commission() = std::move(c);
  WEITUO_RETURN_IF_ERROR(Queue(batch, id, std::move(envelope)));
  return id;
}

Status Agent::Impl::Queue(WriteBatch& batch, const std::string& request_id, Envelope envelope) {
  AgentOutboxEntry entry;
  entry.set_request_id(request_id);
  envelope.set_protocol(kProtocolVersion);
  // Refused now rather than sent to be refused with TOO_LARGE and no ref.
  const uint64_t limit = max_frame_bytes_;
  if (const size_t bytes = envelope.ByteSizeLong(); limit > 0 && bytes > limit) {
    self_->Count("outbox_too_large");
    return Status::ResourceExhausted(
        std::string(envelope.has_submit() ? "the commission" : "the update") + " is " +
        std::to_string(bytes) + " bytes in its frame, over the broker's limit of " +
        std::to_string(limit) + " (Welcome.max_frame_bytes); nothing was queued");
  }
  *entry.mutable_envelope() = std::move(envelope);
  entry.set_queued_at_ms(NowMs());
  uint64_t seq = next_seq_++;
  batch.Put(kCfOutbox, AgentStore::SeqKey(seq), entry.SerializeAsString());
  batch.Put(kCfOutboxIndex, request_id, AgentStore::SeqKey(seq));
  WEITUO_RETURN_IF_ERROR(store_->kv().Commit(batch, true));
  Wake();
  return Status::Ok();
}

StatusOr<std::string> Agent::Impl::SendUpdate(Update update, std::string request_id) {
  std::lock_guard<std::mutex> lock(write_mu_);
  WEITUO_ASSIGN_OR_RETURN(auto record, store_->GetCommission(update.commission_id()));
  if (!record.has_value()) {
    return Status::NotFound("this court has no commission " + update.commission_id());
  }
  WEITUO_RETURN_IF_ERROR(ValidateUpdate(update, KindOf(record->commission())));
  if (request_id.empty()) request_id = NewUlid(NowMs());
  WEITUO_ASSIGN_OR_RETURN(auto existing, store_->GetRequest(request_id));
  if (existing.has_value()) {
    if (!google::protobuf::util::MessageDifferencer::Equals(existing->update(), update)) {
      return Status::AlreadyExists("request " + request_id + " was used for a different update");
    }
    return request_id;
  }

  AgentRequest request;
  request.set_request_id(request_id);
  *request.mutable_update() = update;
  request.set_state(weituo::v1::REQUEST_PENDING);
  WriteBatch batch = store_->kv().NewBatch();
  batch.Put(kCfRequests, request_id, request.SerializeAsString());
  Envelope envelope;
  envelope.mutable_send_update()->set_request_id(request_id);
  *envelope.mutable_send_update()->mutable_update() = std::move(update);
  WEITUO_RETURN_IF_ERROR(Queue(batch, request_id, std::move(envelope)));
  return request_id;
}

StatusOr<CommissionView> Agent::Impl::ViewOf(AgentCommission record) const {
  CommissionView view;
  WEITUO_ASSIGN_OR_RETURN(auto events, store_->Events(record.commission().id()));
  WEITUO_ASSIGN_OR_RETURN(auto handler, store_->GetHandlerStatus(record.commission().id()));
  if (handler.has_value()) *view.mutable_handler() = std::move(*handler);
  {
    std::lock_guard<std::mutex> lock(waiting_mu_);
    if (auto it = waiting_.find(record.commission().id()); it != waiting_.end()) {
      *view.mutable_waiting() = it->second;
    }
  }
  *view.mutable_record() = std::move(record);
  for (auto& e : events) *view.add_events() = std::move(e);
  return view;
}

StatusOr<CommissionView> Agent::Impl::Show(const std::string& id) const {
  WEITUO_ASSIGN_OR_RETURN(auto record, store_->GetCommission(id));
  if (!record.has_value()) return Status::NotFound("this court has no commission " + id);
  return ViewOf(std::move(*record));
}

StatusOr<std::vector<CommissionView>> Agent::Impl::List(const ListFilter& filter) const {
  size_t limit = filter.limit() ? filter.limit() : 1000;
  std::vector<CommissionView> views;
  Status failed;
  Status s = store_->kv().Scan(kCfCommissions, "", "", 0, [&](auto, std::string_view value) {
    AgentCommission rec;
    if (!rec.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      failed = Status::DataLoss("corrupt commission record in the store");
      store_->kv().ReportDamage(failed.message());
      return false;
    }
    if (filter.inbox_only() && (rec.is_origin() || IsFinal(rec.state()))) return true;
    auto view = ViewOf(std::move(rec));
    if (!view.ok()) {
      failed = view.status();
      return false;
    }
    views.push_back(std::move(*view));
    return views.size() < limit;
  });
  if (!s.ok()) return s;
  if (!failed.ok()) return failed;
  return views;
}

StatusOr<AgentRequest> Agent::Impl::Request(const std::string& id) const {
  WEITUO_ASSIGN_OR_RETURN(auto r, store_->GetRequest(id));
  if (!r.has_value()) return Status::NotFound("no request " + id);
  return std::move(*r);
}

AgentStatus Agent::Impl::GetStatus() const {
  AgentStatus status;
  status.set_court_id(options_.court_id);
  status.set_connected(connected_);
  {
    std::lock_guard<std::mutex> lock(broker_mu_);
    status.set_broker_endpoint(endpoint_);
    status.set_broker_changes(broker_changes_);
    status.set_last_broker_change(last_broker_change_);
    status.set_last_broker_change_at_ms(last_broker_change_at_ms_);
  }
  for (const std::string& e : options_.broker_endpoints) status.add_broker_endpoints(e);
  status.set_security(options_.plaintext ? "plaintext" : "curve");
  {
    std::lock_guard<std::mutex> lock(connection_error_mu_);
    status.set_connection_error(connection_error_);
  }
  uint64_t pending = 0;
  (void)store_->kv().Scan(kCfOutbox, "", "", 0, [&](auto, auto) {
    ++pending;
    return true;
  });
  status.set_outbox_pending(pending);
  {
    std::lock_guard<std::mutex> lock(waiting_mu_);
    status.set_outbox_refused_for_now(waiting_.size());
    if (!waiting_.empty()) *status.mutable_broker_refusing() = last_waiting_;
  }
  status.set_commissions_received(received_);
  status.set_events_received(events_received_);
  {
    std::lock_guard<std::mutex> lock(counters_mu_);
    for (const auto& [name, n] : counters_) (*status.mutable_counters())[name] = n;
  }
  // The latest notices about courts, newest first.
  (void)store_->kv().ScanReverse(
      kCfDefault, "notice/", "notice0", 50, [&](auto, std::string_view value) {
        weituo::v1::CourtNotice notice;
        if (notice.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          *status.add_notices() = std::move(notice);
        }
        return true;
      });
  return status;
}

StatusOr<std::unique_ptr<Agent>> Agent::Open(AgentOptions options) {
  if (!IsValidCourtId(options.court_id)) {
    return Status::InvalidArgument("court_id '" + options.court_id +
                                   "' must be 1-64 characters of a-z, 0-9 and -");
  }
  if (options.broker_endpoints.empty() && !options.broker_endpoint.empty()) {
    options.broker_endpoints.push_back(options.broker_endpoint);
  }
  if (options.broker_endpoints.empty()) {
    return Status::InvalidArgument("broker endpoint is required");
  }
  for (size_t i = 0; i < options.broker_endpoints.size(); ++i) {
    const std::string& e = options.broker_endpoints[i];
    if (e.empty())
      return Status::InvalidArgument("broker endpoint " + std::to_string(i + 1) +
                                     " of the list is empty");
    if (std::find(options.broker_endpoints.begin(), options.broker_endpoints.begin() + i, e) !=
        options.broker_endpoints.begin() + i) {
      return Status::InvalidArgument("broker endpoint '" + e + "' is listed twice");
    }
  }
  if (options.failover_ms <= 0) return Status::InvalidArgument("failover_ms must be positive");
  options.broker_endpoint = options.broker_endpoints.front();
  if (options.data_dir.empty()) return Status::InvalidArgument("data_dir is required");
  if (!options.plaintext) {
    if (!CurvePublicKeyOf(options.curve_secret_key).ok()) {
      return Status::InvalidArgument(
          "this court's CURVE secret key is missing or malformed (curve_secret_key_file); "
          "plaintext runs only with dev_plaintext, for development");
    }
    if (!IsCurveKey(options.broker_public_key)) {
      return Status::InvalidArgument(
          "the broker's CURVE public key is missing or malformed (broker_public_key_file)");
    }
  }
  WEITUO_ASSIGN_OR_RETURN(auto store, AgentStore::Open(options.data_dir, options.accept_data_loss));
  if (!store->kv().recovery_note().empty()) {
    spdlog::warn("msg=\"store opened\" note=\"{}\"", LogValue(store->kv().recovery_note()));
  }
  std::unique_ptr<Agent> agent(new Agent(nullptr));
  agent->impl_ = std::make_unique<Impl>(agent.get(), std::move(options), std::move(store));
  WEITUO_RETURN_IF_ERROR(agent->impl_->Init());
  return agent;
}

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Agent::~Agent() = default;

void Agent::OnCommission(Kind kind, CommissionHandler handler) {
  impl_->commission_handlers_[kind] = std::move(handler);
}
void Agent::OnEvent(EventHandler handler) { impl_->event_handler_ = std::move(handler); }
void Agent::OnRetryHandler(RetryHandler retry) { impl_->retry_handler_ = std::move(retry); }
Status Agent::Start() { return impl_->Start(); }
void Agent::Stop() { impl_->Stop(); }
StatusOr<std::string> Agent::Submit(Commission commission) {
  return impl_->Submit(std::move(commission));
}
StatusOr<std::string> Agent::SendUpdate(Update update, std::string request_id) {
  return impl_->SendUpdate(std::move(update), std::move(request_id));
}
Status Agent::SetHandlerStatus(const std::string& commission_id, const HandlerStatus& status,
                               bool sync) {
  WriteBatch batch = impl_->store_->kv().NewBatch();
  batch.Put(kCfHandlers, commission_id, status.SerializeAsString());
  return impl_->store_->kv().Commit(batch, sync);
}
StatusOr<std::optional<HandlerStatus>> Agent::GetHandlerStatus(
    const std::string& commission_id) const {
  return impl_->store_->GetHandlerStatus(commission_id);
}
StatusOr<std::vector<std::pair<std::string, HandlerStatus>>> Agent::HandlerStatuses() const {
  std::vector<std::pair<std::string, HandlerStatus>> out;
  WEITUO_RETURN_IF_ERROR(ScanRecordsInto<HandlerStatus>(
      impl_->store_->kv(), kCfHandlers, "", "", 0, "handler status",
      [&](std::string_view key, HandlerStatus&& h) { out.emplace_back(key, std::move(h)); }));
  return out;
}
StatusOr<CommissionView> Agent::Show(const std::string& id) const { return impl_->Show(id); }
StatusOr<std::vector<CommissionView>> Agent::List(const ListFilter& filter) const {
  return impl_->List(filter);
}
StatusOr<AgentRequest> Agent::Request(const std::string& id) const { return impl_->Request(id); }
AgentStatus Agent::GetStatus() const { return impl_->GetStatus(); }
void Agent::Count(const std::string& name, uint64_t n) {
  std::lock_guard<std::mutex> lock(impl_->counters_mu_);
  impl_->counters_[name] += n;
}
const std::string& Agent::court_id() const { return impl_->options_.court_id; }

}  // namespace weituo::agent
