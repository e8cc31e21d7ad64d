#include "weituo/broker/broker.h"

#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "counters.h"
#include "deadline_watch.h"
#include "delivery.h"
#include "liaison.h"
#include "read_api.h"
#include "storage_guard.h"
#include "trail.h"
#include "transport.h"
#include "turn.h"
#include "weituo/broker/broker_store.h"
#include "weituo/common/clock.h"
#include "weituo/common/curve.h"
#include "weituo/common/deadlines.h"
#include "weituo/common/event_loop.h"
#include "weituo/common/ids.h"
#include "weituo/common/lifecycle.h"
#include "weituo/common/logging.h"
#include "weituo/common/trail_hash.h"
#include "weituo/common/validation.h"
#include "weituo/common/wire.h"

namespace weituo::broker {

using weituo::v1::Commission;
using weituo::v1::CommissionRecord;
using weituo::v1::Deliver;
using weituo::v1::Envelope;
using weituo::v1::ErrorCode;
using weituo::v1::Event;
using weituo::v1::EventType;
using weituo::v1::OutboxItem;
using weituo::v1::RequestOutcome;
using weituo::v1::Update;

namespace {

constexpr char kBrokerVersion[] = "weituo-broker 0.1.0";
constexpr int64_t kTimerTickMs = 50;
constexpr int64_t kSnapshotEveryMs = 200;
constexpr int kMaxAckIds = 4096;

// What the loop knows of one court. Only courts that connected or have
// messages queued get an entry, so memory follows activity.
struct CourtSession {
  std::string routing_id;  // empty until the court says Hello
  bool online = false;
  int64_t last_seen_mono = 0;
  int64_t last_seen_wall = 0;
  int64_t last_heartbeat_sent = 0;
  // Token bucket of the rate limit; tokens < 0 until first used.
  double tokens = -1;
  int64_t tokens_at_mono = 0;
  uint64_t refused = 0;
};

// Latencies in fixed buckets (ms), for /metrics and /api/status.
class LatencyHistogram {
 public:
  void Observe(double ms) {
    size_t i = 0;
    while (i < kBoundsMs.size() && ms > kBoundsMs[i]) ++i;
    counts_[i]++;
    sum_ms_ += ms;
    count_++;
  }
  weituo::v1::Histogram ToProto() const {
    weituo::v1::Histogram h;
    for (double b : kBoundsMs) h.add_upper_bounds_ms(b);
    for (uint64_t c : counts_) h.add_counts(c);
    h.set_sum_ms(sum_ms_);
    h.set_count(count_);
    return h;
  }

 private:
  static constexpr std::array<double, 15> kBoundsMs = {
      1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000};
  std::array<uint64_t, kBoundsMs.size() + 1> counts_{};
  double sum_ms_ = 0;
  uint64_t count_ = 0;
};

// An operator's request, posted to the loop and answered after the turn
// that applied it is committed.
struct OperatorAction {
  enum class Kind { kPause, kResume, kRedrive, kAdvanceClock } kind;
  std::string arg;
  std::promise<StatusOr<weituo::v1::ApiReply>> done;
};

}  // namespace

class Broker::Loop {
 public:
  Loop(BrokerOptions options, CourtDirectory directory, std::unique_ptr<BrokerStore> store,
       uint64_t next_delivery_id)
      : options_(std::move(options)),
        directory_(std::make_shared<const CourtDirectory>(std::move(directory))),
        published_directory_(directory_),
        store_(std::move(store)),
        transport_(
            options_, counters_,
            {.refusal =
                 [this](const std::string& court, ErrorCode code, const std::string& message) {
                   return Refusal(court, code, message, "");
                 },
             .route_ended = [this](const std::string& routing_id,
                                   const char* why) { Unbind(routing_id, why); }}),
        turn_(*store_),
        delivery_(
            options_, *store_, turn_, counters_, next_delivery_id,
            [this](const std::string& routing_id, std::string_view bytes) {
              return transport_.Send(routing_id, bytes);
            },
            [this](const std::string& court) { MarkOffline(court, "connection gone"); }),
        trail_(*store_, turn_,
               [this](const std::string& court, Deliver deliver) {
                 Enqueue(court, std::move(deliver));
               }),
        deadlines_(options_, *store_, turn_, trail_, counters_,
                   [this](const std::string& court) { return SupervisorOf(court); }),
        liaison_(
            options_.offline_flag_after_ms, turn_, counters_,
            [this](const std::string& court, Deliver deliver) {
              Enqueue(court, std::move(deliver));
            },
            [this](const std::string& court) { return SupervisorOf(court); }),
        storage_(options_.data_dir, options_.storage_reserve_bytes) {}

  Status Run();
  // Both safe from a signal handler: a flag and a wake.
  void Stop() { events_.Stop(); }
  void ReloadDirectory() {
    reload_.store(true);
    events_.Wake();
  }
  weituo::v1::BrokerStatus Snapshot() const {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    return snapshot_;
  }
  // Queues an action for the loop and waits for its answer.
  StatusOr<weituo::v1::ApiReply> Post(OperatorAction::Kind kind, std::string arg);
  const BrokerStore& store() const { return *store_; }
  // The directory as last loaded, for other threads: an immutable snapshot
  // that a reload replaces whole.
  std::shared_ptr<const CourtDirectory> directory() const { return published_directory_.load(); }
  const BrokerOptions& options() const { return options_; }
  // The broker's wall clock: real time, moved forward only by a test clock.
  int64_t Now() const { return NowMs() + clock_offset_ms_.load(); }
  int64_t overdue_after_ms() const { return options_.overdue_after_ms; }
  // Called once before Run: counts and pauses kept in the store.
  Status LoadState();

 private:
  // One turn's input.
  // Reads up to a batch of messages from the transport and dispatches them.
  void DrainMessages();
  void HandleMessage(const Inbound& inbound);
  // `user`: the court the connection's CURVE key proved ("" in plaintext).
  void HandleHello(const std::string& routing_id, const std::string& user,
                   const weituo::v1::Hello& hello);
  // Takes the commission out of `submit`.
  void HandleSubmit(const std::string& routing_id, const std::string& court,
                    weituo::v1::Submit* submit);
  // The submission receipt of `record`: the same bytes for the first answer
  // and for every duplicate.
  void ReplySubmitReceipt(const std::string& routing_id, const CommissionRecord& record,
                          bool duplicate);
  void HandleAck(const std::string& court, const weituo::v1::Ack& ack);
  void HandleUpdate(const std::string& routing_id, const std::string& court,
                    const weituo::v1::SendUpdate& request);

  // The court bound to this connection by Hello, or nullptr. With CURVE a
  // Hello binds only the court the connection's key proved (its User-Id).
  const std::string* AuthenticatedCourt(const std::string& routing_id) const;
  // The route no longer names the connection its court said Hello on.
  void Unbind(const std::string& routing_id, const char* why);
  // One token of the court's rate limit; false if it has none left.
  bool TakeToken(CourtSession& session, int64_t now);
  void Reload();
  StatusOr<weituo::v1::ApiReply> ApplyOperatorAction(OperatorAction& action);
  StatusOr<weituo::v1::ApiReply> RedriveParked(const std::string& id);

  // Lifecycle effects, written to the turn's batch.
  StatusOr<CommissionRecord> LoadRecord(const std::string& id);
  // Applies the action if the lifecycle allows it; `child_id` names the
  // child of a forward.
  StatusOr<Event> ApplyStep(CommissionRecord& record, Action action, Role role,
                            const std::string& actor, const Update* update,
                            const std::string& child_id = "");
  // Stores a new commission (target resolved) with its EV_SUBMITTED event,
  // queues its delivery and its first deadline review.
  const CommissionRecord& StoreNew(Commission commission, Event* submitted);
  void Forward(const CommissionRecord& parent, const std::string& to_court,
               const std::string& from_court, const std::string& child_id);

  // The supervising court of `court` ("" if none).
  std::string SupervisorOf(const std::string& court) const;
  // Queued in the court's outbox in this turn, sent after the commit.
  void Enqueue(const std::string& court, Deliver deliver) {
    delivery_.Enqueue(court, std::move(deliver), Now());
  }

  void Reply(const std::string& routing_id, Envelope& envelope);
  void Refuse(const std::string& routing_id, const std::string& court, ErrorCode code,
              const std::string& message, const std::string& ref);
  // Counts and logs a refusal; returns the Error envelope's bytes.
  std::string Refusal(const std::string& court, ErrorCode code, const std::string& message,
                      const std::string& ref);

  // Timers: heartbeats, offline detection, resend scheduling and parking.
  void Tick(int64_t now);
  // (Re)arms the tick timer to run `after_ms` from now.
  void ScheduleTick(int64_t after_ms);
  // After the turn's input: tick if due, commit, send, publish.
  void EndTurn();
  Status CommitTurn();
  // After a failed commit: keeps the turn (its batch and unsent replies),
  // makes RocksDB writable again and commits it, retrying until it does or
  // the broker is stopped (then `failed` is returned).
  Status HoldUntilCommitted(Status failed);
  // Reads the disk's free space (once a second) and logs what changed.
  void CheckStorage();
  void SendTurnReplies();
  SendResult SendTo(const std::string& routing_id, const std::string& bytes) {
    return transport_.Send(routing_id, bytes);
  }
  void MarkOffline(const std::string& court, const char* why);
  void PublishSnapshot();
  // The storage health and the reasons the broker is degraded.
  void PublishStorage(weituo::v1::BrokerStatus& s);
  void Count(const char* name, uint64_t n = 1) { counters_.Add(name, n); }

  BrokerOptions options_;
  // The loop's directory, and the same snapshot published to other threads.
  std::shared_ptr<const CourtDirectory> directory_;
  std::atomic<std::shared_ptr<const CourtDirectory>> published_directory_;
  std::unique_ptr<BrokerStore> store_;
  Counters counters_;
  EventLoop events_;
  Transport transport_;
  Status fatal_;  // why the loop stopped on its own
  EventLoop::TimerId tick_timer_ = 0;
  std::atomic<bool> reload_{false};
  LogThrottle refusal_log_{50};

  std::unordered_map<std::string, CourtSession> courts_;
  std::atomic<int64_t> clock_offset_ms_{0};
  bool review_all_ = false;  // the clock moved: review every due timer now
  int64_t next_offline_check_ = 0;
  std::unordered_map<std::string, std::string> court_by_routing_id_;

  // The turn being built: writes, their effects visible to later messages
  // of the same turn, and what to send once the batch is durable.
  Turn turn_;
  Delivery delivery_;
  TrailWriter trail_;
  DeadlineWatch deadlines_;
  Liaison liaison_;

  std::map<std::string, uint64_t> refused_;
  int64_t started_at_ms_ = 0;
  int64_t next_snapshot_ = 0;

  mutable std::mutex snapshot_mu_;
  weituo::v1::BrokerStatus snapshot_;

  std::vector<std::pair<std::shared_ptr<OperatorAction>, StatusOr<weituo::v1::ApiReply>>>
      turn_actions_;
  LatencyHistogram submit_to_receipt_;
  LatencyHistogram submit_to_delivered_;

  // The store's health: its disk's reserve, a commit that failed and is
  // being retried, and the damage last logged.
  StorageGuard storage_;
  std::string write_error_;  // empty unless a commit is held
  uint64_t damage_logged_ = 0;

  // Submissions of this turn, by when their message was read: their
  // receipts go out after the commit.
  std::vector<std::chrono::steady_clock::time_point> turn_submits_;
  std::chrono::steady_clock::time_point message_read_at_;
};

Status Broker::Loop::Run() {
  WEITUO_RETURN_IF_ERROR(transport_.Bind(directory_));
  started_at_ms_ = Now();
  CheckStorage();
  spdlog::info("msg=\"broker listening\" endpoint={} sync={} security={}", transport_.endpoint(),
               options_.sync, options_.plaintext ? "plaintext" : "curve");
  PublishSnapshot();
  // A turn: the messages waiting (up to a batch), the connection events,
  // posted operator actions, due timers, then EndTurn: commit and send.
  transport_.Register(events_, [this] { DrainMessages(); });
  events_.SetMaxWaitMs(kTimerTickMs);
  events_.SetTurnEnd([this] { EndTurn(); });
  ScheduleTick(0);
  Status ran = events_.Run();
  spdlog::info("msg=\"broker stopping\"");
  transport_.Close(events_);
  if (!fatal_.ok()) return fatal_;
  return ran;
}

void Broker::Loop::DrainMessages() {
  Inbound inbound;
  for (size_t n = 0; n < options_.max_batch; ++n) {
    StatusOr<bool> got = transport_.Receive(&inbound);
    if (!got.ok()) {
      fatal_ = got.status();
      events_.Stop();
      return;
    }
    if (!*got) return;
    message_read_at_ = std::chrono::steady_clock::now();
    HandleMessage(inbound);
  }
  events_.WaitAtMostMs(0);  // a full batch: more may be waiting
}

void Broker::Loop::ScheduleTick(int64_t after_ms) {
  if (tick_timer_ != 0) events_.CancelTimeout(tick_timer_);
  tick_timer_ = events_.ScheduleTimeout(after_ms, [this] {
    tick_timer_ = 0;
    Tick(MonotonicMs());
    ScheduleTick(kTimerTickMs);
  });
}

void Broker::Loop::EndTurn() {
  if (fatal_.ok() && reload_.exchange(false)) Reload();
  if (!fatal_.ok()) return;
  if (Status s = CommitTurn(); !s.ok()) {
    fatal_ = std::move(s);
    events_.Stop();
    return;
  }
  SendTurnReplies();
  auto sent_at = std::chrono::steady_clock::now();
  for (auto read_at : turn_submits_) {
    submit_to_receipt_.Observe(
        std::chrono::duration<double, std::milli>(sent_at - read_at).count());
  }
  turn_submits_.clear();
  for (auto& [action, reply] : turn_actions_) action->done.set_value(std::move(reply));
  turn_actions_.clear();
  const bool backlog = delivery_.SendDue();
  // Room in a window with messages waiting: look again soon, not at the
  // next tick (a millisecond, so a full send queue is not spun on).
  if (backlog) events_.WaitAtMostMs(1);
  const int64_t now = MonotonicMs();
  if (now >= next_snapshot_) {
    PublishSnapshot();
    next_snapshot_ = now + kSnapshotEveryMs;
  }
  CheckStorage();
}

const std::string* Broker::Loop::AuthenticatedCourt(const std::string& routing_id) const {
  auto it = court_by_routing_id_.find(routing_id);
  return it == court_by_routing_id_.end() ? nullptr : &it->second;
}

void Broker::Loop::Unbind(const std::string& routing_id, const char* why) {
  auto bound = court_by_routing_id_.find(routing_id);
  if (bound == court_by_routing_id_.end()) return;
  std::string court = std::move(bound->second);
  court_by_routing_id_.erase(bound);
  CourtSession& session = courts_[court];
  if (session.routing_id != routing_id) return;
  session.routing_id.clear();
  if (session.online) MarkOffline(court, why);
}

bool Broker::Loop::TakeToken(CourtSession& session, int64_t now) {
  if (options_.rate_limit <= 0) return true;
  if (session.tokens < 0) {
    session.tokens = options_.rate_burst;
    session.tokens_at_mono = now;
  }
  session.tokens = std::min(options_.rate_burst, session.tokens + (now - session.tokens_at_mono) *
                                                                      options_.rate_limit / 1000.0);
  session.tokens_at_mono = now;
  if (session.tokens < 1) return false;
  session.tokens -= 1;
  return true;
}

void Broker::Loop::Reload() {
  auto loaded = CourtDirectory::LoadFile(options_.directory_path);
  if (!loaded.ok()) {
    Count("directory_reloads_failed");
    spdlog::error("msg=\"directory reload failed, keeping the old one\" error=\"{}\"",
                  LogValue(loaded.status().ToString()));
    return;
  }
  directory_ = std::make_shared<const CourtDirectory>(std::move(loaded).value());
  published_directory_.store(directory_);
  Count("directory_reloads");
  const size_t dropped = transport_.SetDirectory(directory_);
  spdlog::info("msg=\"directory reloaded\" courts={} connections_dropped={}",
               directory_->entries().size(), dropped);
}

void Broker::Loop::HandleMessage(const Inbound& inbound) {
  const std::string& routing_id = inbound.routing_id;
  // With CURVE the connection's court is the one its key proved; the court a
  // Hello bound it to must be that one.
  const std::string& user = inbound.user_id;
  const std::string* bound = AuthenticatedCourt(routing_id);
  if (bound && !options_.plaintext && *bound != user) {
    Unbind(routing_id, "route taken by another connection");
    bound = nullptr;
  }
  std::string court = options_.plaintext ? (bound ? *bound : std::string()) : user;
  Envelope env;
  weituo::v1::Error error;
  bool parsed = false;
  if (inbound.frames != 1) {
    error.set_code(ErrorCode::MALFORMED);
    error.set_message("expected one frame after the routing id, got " +
                      std::to_string(inbound.frames));
  } else {
    parsed = ParseEnvelope(inbound.payload, options_.max_frame_bytes, &env, &error);
  }
  // Heartbeats are free; everything else spends the court's allowance.
  if (!court.empty() && !(parsed && env.has_heartbeat()) &&
      !TakeToken(courts_[court], MonotonicMs())) {
    std::string ref = parsed && env.has_submit()        ? env.submit().commission().id()
                      : parsed && env.has_send_update() ? env.send_update().request_id()
                                                        : "";
    Refuse(routing_id, court, ErrorCode::RATE_LIMITED,
           "court '" + court + "' is over its limit of " +
               fmt::format("{:g}", options_.rate_limit) + " messages per second; retry later",
           ref);
    return;
  }
  if (!parsed) {
    Refuse(routing_id, court, error.code(), error.message(), "");
    return;
  }
  if (env.has_hello()) {
    HandleHello(routing_id, user, env.hello());
    return;
  }
  if (!bound) {
    Refuse(routing_id, court, ErrorCode::NOT_IDENTIFIED, "send Hello before anything else", "");
    return;
  }
  court = *bound;
  CourtSession& session = courts_[court];
  session.last_seen_mono = MonotonicMs();
  session.last_seen_wall = Now();
  if (!session.online) {
    // Heard from again after we gave up on it: resend everything pending.
    session.online = true;
    delivery_.Connected(court, session.routing_id);
    spdlog::info("msg=\"court online\" court={} reason=heard-again", court);
    liaison_.Online(court, directory_->Find(court), session.last_seen_wall, Now());
  }
  switch (env.body_case()) {
    case Envelope::kHeartbeat:
      return;
    case Envelope::kSubmit:
      return HandleSubmit(routing_id, court, env.mutable_submit());
    case Envelope::kAck:
      if (env.ack().delivery_ids_size() > kMaxAckIds) {
        return Refuse(routing_id, court, ErrorCode::MALFORMED,
                      "an Ack carries at most " + std::to_string(kMaxAckIds) + " delivery ids", "");
      }
      return HandleAck(court, env.ack());
    case Envelope::kSendUpdate:
      return HandleUpdate(routing_id, court, env.send_update());
    default:
      Refuse(routing_id, court, ErrorCode::MALFORMED,
             "agents do not send " +
                 std::string(Envelope::descriptor()->FindFieldByNumber(env.body_case())->name()),
             "");
  }
}

void Broker::Loop::HandleHello(const std::string& routing_id, const std::string& user,
                               const weituo::v1::Hello& hello) {
  const std::string& court = hello.court_id();
  if (!options_.plaintext && court != user) {
    Refuse(routing_id, user, ErrorCode::PERMISSION_DENIED,
           "Hello names court '" + court + "' but this connection's key is court '" + user + "'",
           "");
    return;
  }
  const CourtEntry* entry = IsValidCourtId(court) ? directory_->Find(court) : nullptr;
  if (!entry) {
    Refuse(routing_id, "", ErrorCode::UNKNOWN_COURT,
           "court '" + court + "' is not in the broker's directory", "");
    return;
  }
  // A connection that said Hello before speaks for its first court only.
  if (const std::string* bound = AuthenticatedCourt(routing_id); bound && *bound != court) {
    Refuse(routing_id, *bound, ErrorCode::PERMISSION_DENIED,
           "this connection already speaks for court '" + *bound + "'", "");
    return;
  }
  CourtSession& session = courts_[court];
  if (!session.routing_id.empty() && session.routing_id != routing_id) {
    court_by_routing_id_.erase(session.routing_id);
  }
  session.routing_id = routing_id;
  court_by_routing_id_[routing_id] = court;
  transport_.HelloFrom(routing_id, court);
  session.online = true;
  session.last_seen_mono = MonotonicMs();
  session.last_seen_wall = Now();
  delivery_.Connected(court, routing_id);
  Count("hellos");
  liaison_.Online(court, entry, session.last_seen_wall, Now());
  spdlog::info("msg=\"court online\" court={} agent=\"{}\"", court,
               LogValue(hello.agent_version()));

  Envelope env;
  auto* welcome = env.mutable_welcome();
  welcome->set_court_id(court);
  welcome->set_broker_version(kBrokerVersion);
  welcome->set_heartbeat_ms(static_cast<uint32_t>(options_.heartbeat_ms));
  welcome->set_server_time_ms(Now());
  welcome->set_max_frame_bytes(options_.max_frame_bytes);
  Reply(routing_id, env);
}

namespace {

// A store read that failed: a damaged record (DATA_LOSS) is the broker's own
// fault, INTERNAL; anything else (the store busy or closing) UNAVAILABLE.
// Both are retryable: the agent keeps the message.
ErrorCode StoreReadRefusal(const Status& status) {
  return status.code() == StatusCode::kDataLoss ? ErrorCode::INTERNAL : ErrorCode::UNAVAILABLE;
}

// The EV_SUBMITTED event: made the same way for the first receipt and for
// every duplicate, so a resend gets the very same receipt.
Event SubmittedEvent(const CommissionRecord& record) {
  Event e;
  e.set_commission_id(record.commission().id());
  e.set_seq(1);
  e.set_type(EventType::EV_SUBMITTED);
  e.set_at_ms(record.submitted_at_ms());
  // A child made by forwarding was submitted by the court that forwarded it.
  const Commission& c = record.commission();
  e.set_actor_court(c.forwarded_by().empty() ? c.origin_court() : c.forwarded_by());
  e.set_state(weituo::v1::SUBMITTED);
  e.set_origin_court(record.commission().origin_court());
  e.set_target_court(record.commission().target_court());
  e.set_hash(EventHash(e));  // the first of its chain: no prev_hash
  return e;
}

}  // namespace

void Broker::Loop::ReplySubmitReceipt(const std::string& routing_id, const CommissionRecord& record,
                                      bool duplicate) {
  Envelope env;
  auto* receipt = env.mutable_submit_receipt();
  receipt->set_commission_id(record.commission().id());
  receipt->set_target_court(record.commission().target_court());
  *receipt->mutable_event() = SubmittedEvent(record);
  receipt->set_duplicate(duplicate);
  Reply(routing_id, env);
}

void Broker::Loop::HandleSubmit(const std::string& routing_id, const std::string& court,
                                weituo::v1::Submit* submit) {
  Commission commission = std::move(*submit->mutable_commission());
  const std::string id = commission.id();
  if (commission.origin_court() != court) {
    Refuse(routing_id, court, ErrorCode::PERMISSION_DENIED,
           "commission claims origin court '" + commission.origin_court() +
               "' but this connection is court '" + court + "'",
           id);
    return;
  }
  if (Status s = ValidateCommission(commission); !s.ok()) {
    Refuse(routing_id, court, ErrorCode::INVALID_ARGUMENT, s.message(), id);
    return;
  }

  auto existing = LoadRecord(id);
  if (existing.ok()) {
    const Commission& stored = existing->commission();
    if (commission.target_court().empty()) commission.set_target_court(stored.target_court());
    if (!google::protobuf::util::MessageDifferencer::Equals(commission, stored)) {
      Refuse(routing_id, court, ErrorCode::CONFLICT,
             "commission " + id + " was already submitted with different content", id);
      return;
    }
    Count("duplicate_submissions");
    ReplySubmitReceipt(routing_id, *existing, /*duplicate=*/true);
    return;
  }
  if (existing.status().code() != StatusCode::kNotFound) {
    Refuse(routing_id, court, StoreReadRefusal(existing.status()), existing.status().message(), id);
    return;
  }
  // Route: a named court, else the court serving the debtor's region code.
  const CourtEntry* target = nullptr;
  if (!commission.target_court().empty()) {
    target = directory_->Find(commission.target_court());
    if (!target) {
      Refuse(routing_id, court, ErrorCode::UNKNOWN_TARGET,
             "target court '" + commission.target_court() + "' is not in the directory", id);
      return;
    }
    if (target->is_supervisor) {
      Refuse(routing_id, court, ErrorCode::UNKNOWN_TARGET,
             "'" + target->id + "' is a supervising court, which does not take commissions", id);
      return;
    }
  } else {
    target = directory_->FindByRegion(commission.debtor().region_code());
    if (!target) {
      Refuse(routing_id, court, ErrorCode::UNKNOWN_TARGET,
             "no court in the directory serves region code " + commission.debtor().region_code(),
             id);
      return;
    }
  }
  if (target->id == court) {
    Refuse(routing_id, court, ErrorCode::INVALID_ARGUMENT,
           "a court cannot commission itself (target resolved to '" + court + "')", id);
    return;
  }
  // Refused for want of room only once nothing else would refuse it, so a
  // clerk retrying after space is freed meets no other surprise.
  if (storage_.WouldRefuse(turn_.bytes())) {
    Refuse(routing_id, court, ErrorCode::STORAGE_FULL, storage_.RefusalMessage(), id);
    return;
  }
  commission.set_target_court(target->id);
  spdlog::info("msg=submitted commission={} origin={} target={} kind={}", id, court, target->id,
               weituo::v1::Kind_Name(KindOf(commission)));

  Event submitted;
  const CommissionRecord& record = StoreNew(std::move(commission), &submitted);
  turn_submits_.push_back(message_read_at_);
  Count("submitted");
  ReplySubmitReceipt(routing_id, record, /*duplicate=*/false);
}

const CommissionRecord& Broker::Loop::StoreNew(Commission commission, Event* submitted) {
  const std::string id = commission.id();
  const std::string target = commission.target_court();
  CommissionRecord record;
  *record.mutable_commission() = std::move(commission);
  record.set_state(weituo::v1::SUBMITTED);
  record.set_last_seq(1);
  record.set_submitted_at_ms(Now());
  record.set_updated_at_ms(record.submitted_at_ms());
  *submitted = SubmittedEvent(record);
  record.set_last_hash(submitted->hash());
  // Its first deadline review, from the trail it has now.
  DeadlineReview review =
      weituo::ReviewDeadlines(options_.deadlines, record.commission(), {*submitted}, Now());
  trail_.Reschedule(record, review.next_check_ms);
  // The outbox keeps only the commission's id; its body is read back when
  // the delivery is sent (BrokerStore::PutOutbox), so none is copied here.
  Deliver deliver;
  deliver.mutable_commission()->set_id(id);
  Enqueue(target, std::move(deliver));
  return trail_.AddNew(std::move(record), *submitted);
}

void Broker::Loop::Forward(const CommissionRecord& parent, const std::string& to_court,
                           const std::string& from_court, const std::string& child_id) {
  Commission child = parent.commission();
  child.set_id(child_id);
  child.set_target_court(to_court);
  child.set_parent_id(parent.commission().id());
  child.set_forwarded_by(from_court);
  child.set_created_at_ms(Now());
  Event submitted;
  StoreNew(std::move(child), &submitted);
  // The origin learns of the child as of a commission of its own.
  Deliver deliver;
  *deliver.mutable_event() = submitted;
  Enqueue(parent.commission().origin_court(), std::move(deliver));
  Count("forwarded");
  spdlog::info("msg=forwarded commission={} child={} from={} to={}", parent.commission().id(),
               child_id, from_court, to_court);
}

void Broker::Loop::HandleAck(const std::string& court, const weituo::v1::Ack& ack) {
  for (uint64_t delivery_id : ack.delivery_ids()) {
    std::optional<std::string> delivered = delivery_.Acknowledged(court, delivery_id);
    if (!delivered || delivered->empty()) continue;
    // The target's agent recorded the commission: the delivery receipt.
    auto record = LoadRecord(*delivered);
    if (!record.ok()) {
      spdlog::error("msg=\"delivered commission missing\" commission={} error=\"{}\"", *delivered,
                    record.status().ToString());
      continue;
    }
    auto event = ApplyStep(*record, Action::kDeliver, Role::kBroker, "", nullptr);
    if (event.ok()) {
      submit_to_delivered_.Observe(static_cast<double>(Now() - record->submitted_at_ms()));
      Count("delivered");
      spdlog::info("msg=delivered commission={} target={}", *delivered, court);
    }
  }
}

void Broker::Loop::HandleUpdate(const std::string& routing_id, const std::string& court,
                                const weituo::v1::SendUpdate& request) {
  const std::string& request_id = request.request_id();
  const Update& update = request.update();
  if (request_id.empty() || request_id.size() > 128) {
    Refuse(routing_id, court, ErrorCode::INVALID_ARGUMENT,
           "request_id is required (at most 128 bytes)", request_id);
    return;
  }
  // A resent request gets the outcome it got the first time.
  auto stored = turn_.Request(court, request_id);
  if (!stored.ok()) {
    Refuse(routing_id, court, StoreReadRefusal(stored.status()), stored.status().message(),
           request_id);
    return;
  }
  const std::optional<RequestOutcome>& seen = *stored;
  if (seen && !google::protobuf::util::MessageDifferencer::Equals(seen->receipt().event().update(),
                                                                  update)) {
    Refuse(routing_id, court, ErrorCode::CONFLICT,
           "request_id " + request_id + " was already used for a different update", request_id);
    return;
  }
  if (seen) {
    Count("duplicate_updates");
    Envelope env;
    *env.mutable_update_receipt() = seen->receipt();
    env.mutable_update_receipt()->set_duplicate(true);
    Reply(routing_id, env);
    return;
  }
  if (!IsUlid(update.commission_id())) {
    Refuse(routing_id, court, ErrorCode::INVALID_ARGUMENT, "commission_id must be a ULID",
           request_id);
    return;
  }
  auto record = LoadRecord(update.commission_id());
  if (!record.ok()) {
    Refuse(routing_id, court,
           record.status().code() == StatusCode::kNotFound ? ErrorCode::NOT_FOUND
                                                           : StoreReadRefusal(record.status()),
           record.status().message(), request_id);
    return;
  }
  const Commission& commission = record->commission();
  Role role;
  if (court == commission.target_court()) {
    role = Role::kTarget;
  } else if (court == commission.origin_court()) {
    role = Role::kOrigin;
  } else {
    Refuse(routing_id, court, ErrorCode::PERMISSION_DENIED,
           "court '" + court + "' is neither origin nor target of commission " + commission.id(),
           request_id);
    return;
  }
  if (Status s = ValidateUpdate(update, KindOf(commission)); !s.ok()) {
    Refuse(routing_id, court, ErrorCode::INVALID_ARGUMENT, s.message(), request_id);
    return;
  }
  const Action action = *ActionOf(update);
  std::string child_id;
  // The new target is checked once the role is right; a forward by the
  // origin is refused by the lifecycle like any other target action.
  if (action == Action::kForward && role == Role::kTarget) {
    const std::string& to = update.forward().to_court();
    const CourtEntry* entry = directory_->Find(to);
    if (!entry || entry->is_supervisor) {
      Refuse(routing_id, court, ErrorCode::UNKNOWN_TARGET,
             entry ? "'" + to + "' is a supervising court, which does not take commissions"
                   : "forward.to_court '" + to + "' is not in the directory",
             request_id);
      return;
    }
    if (to == court || to == commission.origin_court()) {
      Refuse(routing_id, court, ErrorCode::INVALID_ARGUMENT,
             to == court ? "a court cannot forward a commission to itself"
                         : "forwarding to the origin court is a return (退回), not a forward",
             request_id);
      return;
    }
    child_id = NewUlid(Now());
  }
  // As for a submission: refused for want of room once all else is checked,
  // the lifecycle too (ApplyStep checks it again as it applies it).
  if (auto next = NextState(record->state(), action, role); !next.ok()) {
    Refuse(routing_id, court, ErrorCodeFor(next.status()), next.status().message(), request_id);
    return;
  }
  if (storage_.WouldRefuse(turn_.bytes())) {
    Refuse(routing_id, court, ErrorCode::STORAGE_FULL, storage_.RefusalMessage(), request_id);
    return;
  }
  auto event = ApplyStep(*record, action, role, court, &update, child_id);
  if (!event.ok()) {
    Refuse(routing_id, court, ErrorCodeFor(event.status()), event.status().message(), request_id);
    return;
  }
  if (!child_id.empty()) Forward(*record, update.forward().to_court(), court, child_id);
  RequestOutcome outcome;
  outcome.mutable_receipt()->set_request_id(request_id);
  *outcome.mutable_receipt()->mutable_event() = *event;
  turn_.PutRequest(court, request_id, outcome);
  Count("updates");
  spdlog::info("msg=updated commission={} court={} event={} state={}", commission.id(), court,
               EventType_Name(event->type()), weituo::v1::State_Name(event->state()));

  Envelope env;
  *env.mutable_update_receipt() = outcome.receipt();
  Reply(routing_id, env);
}

StatusOr<CommissionRecord> Broker::Loop::LoadRecord(const std::string& id) {
  return turn_.Record(id);
}

StatusOr<Event> Broker::Loop::ApplyStep(CommissionRecord& record, Action action, Role role,
                                        const std::string& actor, const Update* update,
                                        const std::string& child_id) {
  return trail_.Apply(record, action, role, actor, update, child_id, Now());
}

// ---- Deadlines ---------------------------------------------------------------

std::string Broker::Loop::SupervisorOf(const std::string& court) const {
  const CourtEntry* entry = directory_->Find(court);
  if (!entry || entry->superior.empty()) return "";
  const CourtEntry* superior = directory_->Find(entry->superior);
  return superior ? superior->id : "";
}

void Broker::Loop::Reply(const std::string& routing_id, Envelope& envelope) {
  turn_.AddReply(routing_id, SerializeEnvelope(envelope));
}

void Broker::Loop::Refuse(const std::string& routing_id, const std::string& court, ErrorCode code,
                          const std::string& message, const std::string& ref) {
  turn_.AddReply(routing_id, Refusal(court, code, message, ref));
}

std::string Broker::Loop::Refusal(const std::string& court, ErrorCode code,
                                  const std::string& message, const std::string& ref) {
  refused_[ErrorCode_Name(code)]++;
  if (!court.empty()) courts_[court].refused++;
  uint64_t suppressed = 0;
  if (refusal_log_.Allow(MonotonicMs(), &suppressed)) {
    spdlog::warn("msg=refused code={} court={} ref=\"{}\" reason=\"{}\" suppressed={}",
                 ErrorCode_Name(code), court.empty() ? "-" : court,
                 ref.empty() ? "-" : LogValue(ref), LogValue(message), suppressed);
  }
  Envelope env = MakeErrorEnvelope(code, message, ref);
  return SerializeEnvelope(env);
}

void Broker::Loop::Tick(int64_t now) {
  transport_.Tick(now);
  deadlines_.ReviewDue(Now(), std::exchange(review_all_, false));
  if (now >= next_offline_check_) {
    liaison_.Check(
        *directory_,
        [this](const std::string& court) {
          auto it = courts_.find(court);
          if (it == courts_.end()) return Liaison::Presence{};
          return Liaison::Presence{it->second.online, it->second.last_seen_wall};
        },
        started_at_ms_, Now());
    next_offline_check_ = now + 1000;
  }
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_at_ms(Now());
  std::string heartbeat_bytes = SerializeEnvelope(heartbeat);
  for (auto& [court, session] : courts_) {
    if (!session.online) continue;
    if (now - session.last_seen_mono > options_.offline_after_ms) {
      MarkOffline(court, "no heartbeat");
      continue;
    }
    if (now - session.last_heartbeat_sent >= options_.heartbeat_ms) {
      session.last_heartbeat_sent = now;
      if (SendTo(session.routing_id, heartbeat_bytes) == SendResult::kUnreachable) {
        MarkOffline(court, "connection gone");
        continue;
      }
    }
  }
  delivery_.Tick(now, Now());
}

Status Broker::Loop::CommitTurn() {
  if (auto next = delivery_.TakeNextDeliveryId()) turn_.batch().PutNextDeliveryId(*next);
  trail_.WriteHeads();
  const bool empty = turn_.empty();
  const size_t writes = turn_.writes();
  const uint64_t bytes = turn_.bytes();
  // Nothing of this turn has been sent: it waits for its commit, never
  // answering from a state the store does not hold.
  if (Status s = turn_.Commit(options_.sync); !s.ok()) {
    WEITUO_RETURN_IF_ERROR(HoldUntilCommitted(std::move(s)));
  }
  if (!empty) {
    storage_.Committed(bytes);
    Count("batches");
    Count("batch_writes", writes);
  }
  return Status::Ok();
}

Status Broker::Loop::HoldUntilCommitted(Status failed) {
  Count("store_write_failures");
  write_error_ = failed.ToString();
  spdlog::critical(
      "msg=\"store write failed; holding this turn's replies and retrying\" error=\"{}\"",
      LogValue(write_error_));
  const int64_t since = MonotonicMs();
  int64_t logged_at = since;
  while (!events_.stopping()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    PublishSnapshot();  // operators see the hold, and the loop is not taken for stuck
    CheckStorage();     // at the edge, the ballast's room goes to the store
    Status s = turn_.Retry(options_.sync);
    if (s.ok()) {
      spdlog::warn("msg=\"store writable again; the held turn is committed\" held_ms={}",
                   MonotonicMs() - since);
      write_error_.clear();
      return Status::Ok();
    }
    write_error_ = s.ToString();
    if (MonotonicMs() - logged_at >= 10000) {
      logged_at = MonotonicMs();
      spdlog::error("msg=\"store still not writable\" error=\"{}\" held_ms={}",
                    LogValue(write_error_), MonotonicMs() - since);
    }
  }
  return failed;
}

void Broker::Loop::CheckStorage() {
  const bool was_refusing = storage_.refusing();
  const std::string changed = storage_.Check(MonotonicMs());
  if (changed.empty()) return;
  if (storage_.refusing() && !was_refusing) Count("storage_full_entered");
  if (!storage_.ballast_held() && changed.find("gave up the ballast") != std::string::npos) {
    Count("storage_ballast_released");
  }
  spdlog::warn("msg=\"storage: {}\" free_bytes={} reserve_bytes={} ballast={}", changed,
               storage_.free_bytes(), storage_.reserve_bytes(), storage_.ballast_held());
}

void Broker::Loop::SendTurnReplies() {
  for (const Turn::Reply& out : turn_.TakeReplies()) {
    // A lost reply is recovered by the agent's resend of its request.
    if (SendTo(out.routing_id, out.bytes) != SendResult::kSent) Count("replies_dropped");
  }
}

void Broker::Loop::MarkOffline(const std::string& court, const char* why) {
  courts_[court].online = false;
  delivery_.Disconnected(court);
  spdlog::info("msg=\"court offline\" court={} reason=\"{}\"", court, why);
}

void Broker::Loop::PublishSnapshot() {
  weituo::v1::BrokerStatus s;
  s.set_version(kBrokerVersion);
  s.set_endpoint(transport_.endpoint());
  s.set_security(options_.plaintext ? "plaintext" : "curve");
  s.set_ready(true);
  s.set_published_at_ms(Now());
  s.set_started_at_ms(started_at_ms_);
  s.set_store_bytes(store_->ApproximateSizeBytes());
  s.set_overdue_after_ms(options_.overdue_after_ms);
  s.set_clock_offset_ms(clock_offset_ms_.load());
  auto& counters = *s.mutable_counters();
  for (const auto& [name, n] : counters_.all()) counters[name] = n;
  transport_.AddZapCounts(counters);
  for (const auto& [code, n] : refused_) (*s.mutable_refused())[code] = n;
  for (const auto& [state, n] : trail_.state_counts().by_state()) {
    (*s.mutable_commissions_by_state())[weituo::v1::State_Name(
        static_cast<weituo::v1::State>(state))] = n;
  }
  for (const CourtEntry& entry : directory_->entries()) {
    weituo::v1::CourtState* cs = s.add_courts();
    cs->set_court_id(entry.id);
    cs->set_name(entry.name);
    cs->set_supervisor(entry.is_supervisor);
    cs->set_keys(static_cast<uint32_t>(entry.curve_keys.size()));
    cs->set_superior(entry.superior);
    cs->mutable_liaison()->set_office(entry.liaison_office);
    cs->mutable_liaison()->set_phone(entry.liaison_phone);
    cs->mutable_liaison()->set_person(entry.liaison_person);
    if (std::optional<int64_t> since = liaison_.FlaggedSince(entry.id)) {
      cs->set_offline_flagged_since_ms(*since);
    }
    if (auto it = courts_.find(entry.id); it != courts_.end()) {
      const CourtSession& session = it->second;
      cs->set_online(session.online);
      cs->set_last_seen_ms(session.last_seen_wall);
      cs->set_refused(session.refused);
    }
    const Delivery::CourtCounts outbox = delivery_.Counts(entry.id);
    cs->set_in_flight(outbox.in_flight);
    cs->set_pending(outbox.pending);
    cs->set_parked(outbox.parked);
    cs->set_paused(outbox.paused);
  }
  *s.mutable_submit_to_receipt() = submit_to_receipt_.ToProto();
  *s.mutable_submit_to_delivered() = submit_to_delivered_.ToProto();
  PublishStorage(s);
  s.set_connections_live(transport_.connections_live());
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  snapshot_ = std::move(s);
}

Status Broker::Loop::LoadState() {
  WEITUO_RETURN_IF_ERROR(store_->MigrateIndex());
  WEITUO_RETURN_IF_ERROR(trail_.Load());
  WEITUO_RETURN_IF_ERROR(delivery_.Load());
  WEITUO_RETURN_IF_ERROR(liaison_.Load(*store_));
  return Status::Ok();
}

void Broker::Loop::PublishStorage(weituo::v1::BrokerStatus& s) {
  weituo::v1::StorageHealth& health = *s.mutable_storage();
  health.set_free_bytes(storage_.free_bytes());
  health.set_reserve_bytes(storage_.reserve_bytes());
  health.set_refusing(storage_.refusing());
  health.set_write_failed(!write_error_.empty());
  health.set_write_error(write_error_);
  const StoreDamage damage = store_->damage();
  health.set_damage_count(damage.count);
  health.set_last_damage(damage.last);
  health.set_last_damage_at_ms(damage.last_at_ms);
  if (damage.count > damage_logged_) {
    // Met by any thread (a read of the HTTP API too), logged here once.
    spdlog::error("msg=\"store damaged: a read found corruption\" count={} last=\"{}\"",
                  damage.count, LogValue(damage.last));
    damage_logged_ = damage.count;
  }
  if (damage.count > 0) {
    s.add_degraded("store damaged: " + std::to_string(damage.count) +
                   " corrupt read(s), the last: " + damage.last +
                   "; check it with weituoctl verify --data-dir and restore the last backup");
  }
  if (!write_error_.empty()) {
    s.add_degraded("store write failed, its turn held and retried: " + write_error_);
  }
  if (storage_.refusing()) s.add_degraded("storage full: " + storage_.RefusalMessage());
}

StatusOr<weituo::v1::ApiReply> Broker::Loop::Post(OperatorAction::Kind kind, std::string arg) {
  auto action = std::make_unique<OperatorAction>();
  action->kind = kind;
  action->arg = std::move(arg);
  std::future<StatusOr<weituo::v1::ApiReply>> done = action->done.get_future();
  // Applied in the loop's next turn, which starts now; answered once that
  // turn is committed. A call the stopping loop drops breaks the promise.
  events_.RunInEventLoop([this, action = std::shared_ptr<OperatorAction>(std::move(action))] {
    StatusOr<weituo::v1::ApiReply> reply = ApplyOperatorAction(*action);
    turn_actions_.emplace_back(action, std::move(reply));
  });
  if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return Status::Unavailable("the broker's loop did not answer within 10 s");
  }
  try {
    return done.get();
  } catch (const std::future_error&) {
    return Status::Unavailable("the broker stopped before the action was applied");
  }
}

StatusOr<weituo::v1::ApiReply> Broker::Loop::ApplyOperatorAction(OperatorAction& action) {
  if (action.kind == OperatorAction::Kind::kRedrive) return RedriveParked(action.arg);
  if (action.kind == OperatorAction::Kind::kAdvanceClock) {
    if (!options_.test_clock) {
      return Status::FailedPrecondition(
          "the clock moves only in a broker started with --test-clock");
    }
    int64_t ms = std::strtoll(action.arg.c_str(), nullptr, 10);
    clock_offset_ms_ += ms;
    review_all_ = true;  // this turn's tick reviews everything now due
    ScheduleTick(0);
    Count("clock_advances");
    spdlog::warn("msg=\"test clock advanced\" by_ms={} offset_ms={} now=\"{}\"", ms,
                 clock_offset_ms_.load(), FormatTimeMs(Now()));
    weituo::v1::ApiReply reply;
    reply.set_ok(true);
    reply.set_message("clock now " + FormatTimeMs(Now()) + " UTC (offset " +
                      std::to_string(clock_offset_ms_.load()) + " ms)");
    return reply;
  }
  const std::string& court = action.arg;
  if (!directory_->Find(court))
    return Status::NotFound("no court '" + court + "' in the directory");
  bool pause = action.kind == OperatorAction::Kind::kPause;
  weituo::v1::ApiReply reply;
  reply.set_ok(true);
  if (!delivery_.SetPaused(court, pause)) {
    reply.set_message("deliveries to " + court + " were already " + (pause ? "paused" : "running"));
    return reply;
  }
  const uint64_t pending = delivery_.Counts(court).pending;
  Count(pause ? "courts_paused" : "courts_resumed");
  spdlog::warn("msg=\"court {}\" court={} pending={}", pause ? "paused" : "resumed", court,
               pending);
  reply.set_message("deliveries to " + court + (pause ? " paused; " : " resumed; ") +
                    std::to_string(pending) + " pending");
  return reply;
}

StatusOr<weituo::v1::ApiReply> Broker::Loop::RedriveParked(const std::string& id) {
  StatusOr<uint32_t> redriven = delivery_.Redrive(id);
  if (!redriven.ok()) return redriven.status();
  weituo::v1::ApiReply reply;
  reply.set_ok(true);
  reply.set_affected(*redriven);
  reply.set_message(std::to_string(*redriven) + " parked message(s) queued again");
  return reply;
}

StatusOr<std::unique_ptr<Broker>> Broker::Create(BrokerOptions options, CourtDirectory directory) {
  if (options.data_dir.empty()) return Status::InvalidArgument("data_dir is required");
  if (!options.plaintext && !IsCurveKey(options.curve_secret_key)) {
    return Status::InvalidArgument(
        "the broker needs its CURVE secret key (--curve-secret-key-file); plaintext runs only "
        "with --dev-plaintext, for development");
  }
  auto store = BrokerStore::Open(options.data_dir, options.accept_data_loss);
  if (!store.ok()) return store.status();
  if (!(*store)->recovery_note().empty()) {
    spdlog::warn("msg=\"store opened\" note=\"{}\"", LogValue((*store)->recovery_note()));
  }
  auto next = (*store)->NextDeliveryId();
  if (!next.ok()) return next.status();
  auto loop = std::make_unique<Loop>(std::move(options), std::move(directory),
                                     std::move(store).value(), *next);
  WEITUO_RETURN_IF_ERROR(loop->LoadState());
  return std::unique_ptr<Broker>(new Broker(std::move(loop)));
}

Broker::Broker(std::unique_ptr<Loop> loop)
    : loop_(std::move(loop)),
      read_api_(std::make_unique<ReadApi>(loop_->store(), loop_->options())) {}
Broker::~Broker() = default;
Status Broker::Run() { return loop_->Run(); }
void Broker::Stop() { loop_->Stop(); }
void Broker::ReloadDirectory() { loop_->ReloadDirectory(); }

weituo::v1::BrokerStatus Broker::GetStatus() const {
  return read_api_->CompleteStatus(loop_->Snapshot(), loop_->Now());
}

StatusOr<weituo::v1::CommissionPage> Broker::ListCommissions(const CommissionQuery& query) const {
  return read_api_->ListCommissions(query);
}

StatusOr<weituo::v1::CommissionTrail> Broker::Trail(const std::string& commission_id) const {
  return read_api_->Trail(commission_id);
}

StatusOr<weituo::v1::ParkedPage> Broker::Parked(size_t limit) const {
  return read_api_->Parked(limit);
}

StatusOr<weituo::v1::ApiReply> Broker::SetPaused(const std::string& court, bool paused) {
  return loop_->Post(paused ? OperatorAction::Kind::kPause : OperatorAction::Kind::kResume, court);
}

StatusOr<weituo::v1::ApiReply> Broker::Redrive(const std::string& id) {
  return loop_->Post(OperatorAction::Kind::kRedrive, id);
}

StatusOr<weituo::v1::ApiReply> Broker::AdvanceClock(int64_t ms) {
  if (ms <= 0) return Status::InvalidArgument("the clock only moves forward (advance_ms > 0)");
  return loop_->Post(OperatorAction::Kind::kAdvanceClock, std::to_string(ms));
}

StatusOr<weituo::v1::ApiReply> Broker::Backup() const { return read_api_->Backup(); }

int64_t Broker::Now() const { return loop_->Now(); }

StatusOr<weituo::v1::SupervisionStats> Broker::Stats(const StatsQuery& query) const {
  return read_api_->Stats(*loop_->directory(), query, loop_->Now());
}

}  // namespace weituo::broker
