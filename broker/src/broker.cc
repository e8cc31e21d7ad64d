#include "weituo/broker/broker.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "broker_clock.h"
#include "commissions.h"
#include "counters.h"
#include "deadline_watch.h"
#include "delivery.h"
#include "held_turns.h"
#include "latency_histogram.h"
#include "liaison.h"
#include "operator_actions.h"
#include "published_status.h"
#include "replies.h"
#include "sessions.h"
#include "storage_guard.h"
#include "trail.h"
#include "transport.h"
#include "turn.h"
#include "weituo/broker/broker_store.h"
#include "weituo/broker/read_api.h"
#include "weituo/common/clock.h"
#include "weituo/common/curve.h"
#include "weituo/common/event_loop.h"
#include "weituo/common/logging.h"
#include "weituo/common/wire.h"

namespace weituo::broker {

using weituo::v1::Deliver;
using weituo::v1::Envelope;
using weituo::v1::ErrorCode;

namespace {

constexpr char kBrokerVersion[] = "weituo-broker 0.1.0";
constexpr int64_t kTimerTickMs = 50;
constexpr int64_t kSnapshotEveryMs = 200;
constexpr int kMaxAckIds = 4096;

}  // namespace

// The loop: the order of a turn, and the modules it wires together
// (docs/internals.md). Everything here runs on the loop's thread except
// Stop, ReloadDirectory, Snapshot, Post, store, directory, options and Now.
class Broker::Loop {
 public:
  Loop(BrokerOptions options, CourtDirectory directory, std::unique_ptr<BrokerStore> store,
       uint64_t next_delivery_id);

  Status Run();
  // Both safe from a signal handler: a flag and a wake.
  void Stop() { events_.Stop(); }
  void ReloadDirectory() {
    reload_.store(true);
    events_.Wake();
  }
  weituo::v1::BrokerStatus Snapshot() const { return published_.Get(); }
  // Queues an action for the loop and waits for its answer.
  StatusOr<weituo::v1::ApiReply> Post(OperatorAction::Kind kind, std::string arg) {
    return actions_.Post(kind, std::move(arg));
  }
  const BrokerStore& store() const { return *store_; }
  // The directory as last loaded, for other threads: an immutable snapshot
  // that a reload replaces whole.
  std::shared_ptr<const CourtDirectory> directory() const { return published_directory_.load(); }
  const BrokerOptions& options() const { return options_; }
  // The broker's wall clock: real time, moved forward only by a test clock.
  int64_t Now() const { return clock_.Now(); }
  int64_t overdue_after_ms() const { return options_.overdue_after_ms; }
  // Called once before Run: counts and pauses kept in the store.
  Status LoadState();

 private:
  // One turn's input.
  // Reads up to a batch of messages from the transport and dispatches them.
  void DrainMessages();
  void HandleMessage(const Inbound& inbound);
  // A message of `court`'s bound connection, to the module it is for.
  void Dispatch(const std::string& routing_id, const std::string& court, Envelope& env);
  void Reload();

  // What the modules tell the loop (their hooks), made in the constructor.
  Transport::Hooks TransportHooks();
  Sessions::Hooks SessionHooks();
  OperatorActions::Hooks ActionHooks();

  // The supervising court of `court` ("" if none).
  std::string SupervisorOf(const std::string& court) const;
  // Queued in the court's outbox in this turn, sent after the commit.
  void Enqueue(const std::string& court, Deliver deliver) {
    delivery_.Enqueue(court, std::move(deliver), Now());
  }

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
  void SendReplies(const std::vector<Turn::Reply>& replies);
  // A group's leader: waits until the oldest `count` held turns are durable
  // on the group and sends their replies; false (the loop stopping) if the
  // group says this member no longer leads.
  bool ReleaseHeld(size_t count);
  void PublishSnapshot();
  // One court's line of the snapshot.
  void PublishCourt(const CourtEntry& entry, weituo::v1::CourtState& cs) const;
  // The storage health and the reasons the broker is degraded.
  void PublishStorage(weituo::v1::BrokerStatus& s);
  void Count(const char* name, uint64_t n = 1) { counters_.Add(name, n); }

  // ---- Constant after construction, or safe from any thread ----
  BrokerOptions options_;
  // The loop's directory, and the same snapshot published to other threads.
  std::shared_ptr<const CourtDirectory> directory_;
  std::atomic<std::shared_ptr<const CourtDirectory>> published_directory_;
  std::unique_ptr<BrokerStore> store_;
  BrokerClock clock_;
  EventLoop events_;
  std::atomic<bool> reload_{false};

  // ---- The modules, in the order of their dependencies (loop thread) ----
  Counters counters_;
  Transport transport_;
  // The turn being built: writes, their effects visible to later messages
  // of the same turn, and what to send once the batch is durable.
  Turn turn_;
  Replies replies_;
  Delivery delivery_;
  Sessions sessions_;
  TrailWriter trail_;
  DeadlineWatch deadlines_;
  Liaison liaison_;
  // The store's health: its disk's reserve.
  StorageGuard storage_;
  Commissions commissions_;
  OperatorActions actions_;

  // ---- The loop's own state (loop thread) ----
  Status fatal_;    // why the loop stopped on its own
  HeldTurns held_;  // a group's leader: see held_turns.h
  EventLoop::TimerId tick_timer_ = 0;
  bool review_all_ = false;  // the clock moved: review every due timer now
  int64_t next_offline_check_ = 0;
  int64_t started_at_ms_ = 0;
  std::string write_error_;  // empty unless a commit is held
  uint64_t damage_logged_ = 0;
  // Submissions of this turn, by when their message was read: their
  // receipts go out after the commit.
  ReceiptLatency submit_to_receipt_;

  // ---- Published to the HTTP thread ----
  PublishedStatus published_;
};

Broker::Loop::Loop(BrokerOptions options, CourtDirectory directory,
                   std::unique_ptr<BrokerStore> store, uint64_t next_delivery_id)
    : options_(std::move(options)),
      directory_(std::make_shared<const CourtDirectory>(std::move(directory))),
      published_directory_(directory_),
      store_(std::move(store)),
      transport_(options_, counters_, TransportHooks()),
      turn_(*store_),
      replies_(turn_),
      delivery_(
          options_, *store_, turn_, counters_, next_delivery_id,
          [this](const std::string& routing_id, std::string_view bytes) {
            return transport_.Send(routing_id, bytes);
          },
          [this](const std::string& court) { sessions_.MarkOffline(court, "connection gone"); }),
      sessions_(options_, kBrokerVersion, counters_, replies_, SessionHooks()),
      trail_(*store_, turn_,
             [this](const std::string& court, Deliver deliver) {
               Enqueue(court, std::move(deliver));
             }),
      deadlines_(options_, *store_, turn_, trail_, counters_,
                 [this](const std::string& court) { return SupervisorOf(court); }),
      liaison_(
          options_.offline_flag_after_ms, turn_, counters_,
          [this](const std::string& court, Deliver deliver) { Enqueue(court, std::move(deliver)); },
          [this](const std::string& court) { return SupervisorOf(court); }),
      storage_(options_.data_dir, options_.storage_reserve_bytes),
      commissions_(options_, turn_, trail_, delivery_, storage_, replies_, counters_),
      actions_(options_, events_, delivery_, clock_, counters_, ActionHooks()) {}

// What the transport tells the loop: refusals it sends on its own, counted
// with the others, and routes that ended.
Transport::Hooks Broker::Loop::TransportHooks() {
  return {.refusal =
              [this](const std::string& court, ErrorCode code, const std::string& message) {
                return replies_.Refusal(court, code, message, "");
              },
          .route_ended = [this](const std::string& routing_id,
                                const char* why) { sessions_.Unbind(routing_id, why); }};
}

// What sessions tell the loop: a court's connection to delivery, its return
// to liaison, a plaintext Hello's court to the transport.
Sessions::Hooks Broker::Loop::SessionHooks() {
  return {.connected =
              [this](const std::string& court, const std::string& routing_id) {
                delivery_.Connected(court, routing_id);
              },
          .disconnected = [this](const std::string& court) { delivery_.Disconnected(court); },
          .online =
              [this](const std::string& court, int64_t since) {
                liaison_.Online(court, directory_->Find(court), since, Now());
              },
          .bound = [this](const std::string& routing_id,
                          const std::string& court) { transport_.HelloFrom(routing_id, court); },
          .send = [this](const std::string& routing_id,
                         std::string_view bytes) { return transport_.Send(routing_id, bytes); }};
}

OperatorActions::Hooks Broker::Loop::ActionHooks() {
  return {.known_court =
              [this](const std::string& court) { return directory_->Find(court) != nullptr; },
          .clock_moved =
              [this] {
                review_all_ = true;  // this turn's tick reviews everything now due
                ScheduleTick(0);
              }};
}

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
    submit_to_receipt_.Read(std::chrono::steady_clock::now());
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
  uint64_t sendable_below = UINT64_MAX;
  std::set<std::string> connecting;  // welcomed in a held turn
  if (options_.group) {
    // A group's leader sends nothing that is not durable on the group, and
    // nothing at all once its lease no longer holds. With more messages
    // waiting, the next turn is committed while the group acknowledges this
    // one (docs/group.md, "Pipelined turns"): this turn is held, with its
    // replies and the deliveries it stored, and the one before is released.
    held_.Hold({store_->kv().LastCommit(), delivery_.next_delivery_id(), turn_.TakeReplies(),
                delivery_.TakeConnected(), submit_to_receipt_.TakeReceipted()});
    // Never on a new leader's first turn: what its store held at start (the
    // previous leader's commits, its queued deliveries among them) is sent
    // once durable on the group, before anything newer, as by one broker.
    const bool overlap = held_.released_any() && transport_.Readable() && !actions_.HasApplied();
    if (!ReleaseHeld(overlap ? held_.size() - 1 : held_.size())) return;
    sendable_below = held_.SendableBelow();
    connecting = held_.Connecting();
    if (!held_.empty()) {
      Count("group_turns_overlapped");
      events_.WaitAtMostMs(0);
    }
  } else {
    SendTurnReplies();
    submit_to_receipt_.Sent(std::chrono::steady_clock::now());
    delivery_.TakeConnected();  // one broker sends a court's Welcome first, at once
  }
  if (held_.empty()) actions_.AnswerApplied();
  const bool backlog = delivery_.SendDue(sendable_below, connecting);
  // Room in a window with messages waiting: look again soon, not at the
  // next tick (a millisecond, so a full send queue is not spun on).
  if (backlog) events_.WaitAtMostMs(1);
  const int64_t now = MonotonicMs();
  if (published_.Due(now, kSnapshotEveryMs)) PublishSnapshot();
  CheckStorage();
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
  const std::string* bound = sessions_.Bound(routing_id, user);
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
      !sessions_.TakeToken(court, MonotonicMs())) {
    std::string ref = parsed && env.has_submit()        ? env.submit().commission().id()
                      : parsed && env.has_send_update() ? env.send_update().request_id()
                                                        : "";
    replies_.Refuse(routing_id, court, ErrorCode::RATE_LIMITED,
                    "court '" + court + "' is over its limit of " +
                        fmt::format("{:g}", options_.rate_limit) +
                        " messages per second; retry later",
                    ref);
    return;
  }
  if (!parsed) {
    replies_.Refuse(routing_id, court, error.code(), error.message(), "");
    return;
  }
  if (env.has_hello()) {
    sessions_.Hello(routing_id, user, env.hello(), *directory_, MonotonicMs(), Now());
    return;
  }
  if (!bound) {
    replies_.Refuse(routing_id, court, ErrorCode::NOT_IDENTIFIED, "send Hello before anything else",
                    "");
    return;
  }
  court = *bound;
  sessions_.HeardFrom(court, MonotonicMs(), Now());
  Dispatch(routing_id, court, env);
}

void Broker::Loop::Dispatch(const std::string& routing_id, const std::string& court,
                            Envelope& env) {
  switch (env.body_case()) {
    case Envelope::kHeartbeat:
      return;
    case Envelope::kSubmit:
      if (commissions_.Submit(routing_id, court, env.mutable_submit(), *directory_, Now())) {
        submit_to_receipt_.Receipted();
      }
      return;
    case Envelope::kAck:
      if (env.ack().delivery_ids_size() > kMaxAckIds) {
        return replies_.Refuse(
            routing_id, court, ErrorCode::MALFORMED,
            "an Ack carries at most " + std::to_string(kMaxAckIds) + " delivery ids", "");
      }
      return commissions_.Ack(court, env.ack(), Now());
    case Envelope::kSendUpdate:
      return commissions_.Update(routing_id, court, env.send_update(), *directory_, Now());
    default:
      replies_.Refuse(
          routing_id, court, ErrorCode::MALFORMED,
          "agents do not send " +
              std::string(Envelope::descriptor()->FindFieldByNumber(env.body_case())->name()),
          "");
  }
}

std::string Broker::Loop::SupervisorOf(const std::string& court) const {
  const CourtEntry* entry = directory_->Find(court);
  if (!entry || entry->superior.empty()) return "";
  const CourtEntry* superior = directory_->Find(entry->superior);
  return superior ? superior->id : "";
}

void Broker::Loop::Tick(int64_t now) {
  transport_.Tick(now);
  deadlines_.ReviewDue(Now(), std::exchange(review_all_, false));
  if (now >= next_offline_check_) {
    liaison_.Check(
        *directory_,
        [this](const std::string& court) {
          const CourtSession* session = sessions_.Find(court);
          if (!session) return Liaison::Presence{};
          return Liaison::Presence{session->online, session->last_seen_wall};
        },
        started_at_ms_, Now());
    next_offline_check_ = now + 1000;
  }
  sessions_.Tick(now, Now());
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
    if (!Turn::Retryable(s)) {
      // Retrying the same batch fails the same way for ever. Nothing of the
      // turn was answered: the loop stops, and agents resend to the broker
      // that starts next.
      Count("store_writes_refused");
      spdlog::critical("msg=\"the store refused this turn's batch; stopping\" error=\"{}\"",
                       LogValue(s.ToString()));
      return s;
    }
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
    if (!Turn::Retryable(s)) return s;
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

void Broker::Loop::SendTurnReplies() { SendReplies(turn_.TakeReplies()); }

void Broker::Loop::SendReplies(const std::vector<Turn::Reply>& replies) {
  for (const Turn::Reply& out : replies) {
    // A lost reply is recovered by the agent's resend of its request.
    if (transport_.Send(out.routing_id, out.bytes) != SendResult::kSent) Count("replies_dropped");
  }
}

bool Broker::Loop::ReleaseHeld(size_t count) {
  if (count == 0) return true;
  if (Status s = options_.group->WaitDurable(held_.CommitOf(count)); !s.ok()) {
    Count("group_leadership_lost");
    spdlog::error(
        "msg=\"stopping as the group's leader; nothing of the turns not yet durable is sent\" "
        "held={} error=\"{}\"",
        held_.size(), LogValue(s.ToString()));
    held_.Clear();
    fatal_ = std::move(s);
    events_.Stop();
    return false;
  }
  for (const HeldTurns::Held& turn : held_.Release(count)) {
    SendReplies(turn.replies);
    submit_to_receipt_.Sent(std::chrono::steady_clock::now(), turn.receipted);
  }
  return true;
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
  s.set_clock_offset_ms(clock_.offset_ms());
  auto& counters = *s.mutable_counters();
  for (const auto& [name, n] : counters_.all()) counters[name] = n;
  transport_.AddZapCounts(counters);
  for (const auto& [code, n] : replies_.by_code()) (*s.mutable_refused())[code] = n;
  for (const auto& [state, n] : trail_.state_counts().by_state()) {
    (*s.mutable_commissions_by_state())[weituo::v1::State_Name(
        static_cast<weituo::v1::State>(state))] = n;
  }
  for (const CourtEntry& entry : directory_->entries()) PublishCourt(entry, *s.add_courts());
  *s.mutable_submit_to_receipt() = submit_to_receipt_.histogram().ToProto();
  *s.mutable_submit_to_delivered() = commissions_.submit_to_delivered().ToProto();
  PublishStorage(s);
  s.set_connections_live(transport_.connections_live());
  published_.Publish(std::move(s));
}

void Broker::Loop::PublishCourt(const CourtEntry& entry, weituo::v1::CourtState& cs) const {
  cs.set_court_id(entry.id);
  cs.set_name(entry.name);
  cs.set_supervisor(entry.is_supervisor);
  cs.set_keys(static_cast<uint32_t>(entry.curve_keys.size()));
  cs.set_superior(entry.superior);
  cs.mutable_liaison()->set_office(entry.liaison_office);
  cs.mutable_liaison()->set_phone(entry.liaison_phone);
  cs.mutable_liaison()->set_person(entry.liaison_person);
  if (std::optional<int64_t> since = liaison_.FlaggedSince(entry.id)) {
    cs.set_offline_flagged_since_ms(*since);
  }
  if (const CourtSession* session = sessions_.Find(entry.id)) {
    cs.set_online(session->online);
    cs.set_last_seen_ms(session->last_seen_wall);
  }
  cs.set_refused(replies_.Of(entry.id));
  const Delivery::CourtCounts outbox = delivery_.Counts(entry.id);
  cs.set_in_flight(outbox.in_flight);
  cs.set_pending(outbox.pending);
  cs.set_parked(outbox.parked);
  cs.set_paused(outbox.paused);
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

StatusOr<std::unique_ptr<Broker>> Broker::Create(BrokerOptions options, CourtDirectory directory) {
  if (options.data_dir.empty()) return Status::InvalidArgument("data_dir is required");
  if (!options.plaintext && !IsCurveKey(options.curve_secret_key)) {
    return Status::InvalidArgument(
        "the broker needs its CURVE secret key (--curve-secret-key-file); plaintext runs only "
        "with --dev-plaintext, for development");
  }
  WEITUO_ASSIGN_OR_RETURN(std::unique_ptr<BrokerStore> store,
                          BrokerStore::Open(options.data_dir, options.accept_data_loss));
  if (!store->recovery_note().empty()) {
    spdlog::warn("msg=\"store opened\" note=\"{}\"", LogValue(store->recovery_note()));
  }
  if (options.group) WEITUO_RETURN_IF_ERROR(options.group->Attach(*store));
  WEITUO_ASSIGN_OR_RETURN(const uint64_t next, store->NextDeliveryId());
  auto loop =
      std::make_unique<Loop>(std::move(options), std::move(directory), std::move(store), next);
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

std::optional<weituo::v1::ClusterStatus> Broker::Cluster() const {
  if (loop_->options().group == nullptr) return std::nullopt;
  return loop_->options().group->Cluster();
}

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
