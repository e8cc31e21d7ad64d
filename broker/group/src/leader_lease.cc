#include "weituo/group/leader_lease.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "src/etcd_gateway.pb.h"
#include "weituo/common/clock.h"
#include "weituo/common/json.h"
#include "weituo/common/logging.h"

namespace weituo::group {

namespace {

// The config with every default filled in, or why it cannot work.
StatusOr<LeaderLeaseConfig> Completed(LeaderLeaseConfig c) {
  if (c.endpoints.empty()) return Status::InvalidArgument("no etcd endpoint");
  if (c.prefix.empty()) return Status::InvalidArgument("no key prefix");
  if (c.member.empty()) return Status::InvalidArgument("no member name");
  if (c.ttl_ms < 1000) {
    return Status::InvalidArgument("a lease TTL of " + std::to_string(c.ttl_ms) +
                                   " ms is under etcd's 1 s granularity");
  }
  if (c.keepalive_interval_ms <= 0) c.keepalive_interval_ms = c.ttl_ms / 3;
  if (c.drift_margin_ms < 0) c.drift_margin_ms = std::max<int64_t>(c.ttl_ms / 10, 200);
  if (c.poll_interval_ms <= 0) c.poll_interval_ms = std::max<int64_t>(c.ttl_ms / 6, 1);
  if (c.call_timeout_ms <= 0) c.call_timeout_ms = c.keepalive_interval_ms;
  if (c.keepalive_interval_ms >= c.ttl_ms - c.drift_margin_ms) {
    return Status::InvalidArgument("a keepalive every " + std::to_string(c.keepalive_interval_ms) +
                                   " ms cannot renew a " + std::to_string(c.ttl_ms) +
                                   " ms lease held " + std::to_string(c.drift_margin_ms) +
                                   " ms short of its TTL");
  }
  return c;
}

bool Watched(const LeaderLease::View& a, const LeaderLease::View& b) {
  return a.leader != b.leader || a.term != b.term || a.is_leader != b.is_leader ||
         a.etcd_reachable != b.etcd_reachable;
}

}  // namespace

StatusOr<std::unique_ptr<LeaderLease>> LeaderLease::Start(LeaderLeaseConfig config,
                                                          ChangeCallback on_change) {
  WEITUO_ASSIGN_OR_RETURN(auto completed, Completed(std::move(config)));
  std::unique_ptr<LeaderLease> lease(new LeaderLease(std::move(completed), std::move(on_change)));
  lease->thread_ = std::thread([raw = lease.get()] { raw->Run(); });
  return lease;
}

LeaderLease::LeaderLease(LeaderLeaseConfig config, ChangeCallback on_change)
    : config_(std::move(config)),
      on_change_(std::move(on_change)),
      grant_ttl_s_((config_.ttl_ms + 999) / 1000),
      etcd_(config_.endpoints, std::chrono::milliseconds(config_.call_timeout_ms)) {}

LeaderLease::~LeaderLease() { Stop(); }

bool LeaderLease::IsLeader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return view_.is_leader && MonotonicMs() < view_.valid_until_ms;
}

int64_t LeaderLease::LeaseValidUntilMs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return view_.is_leader ? view_.valid_until_ms : 0;
}

LeaderLease::View LeaderLease::CurrentView() const {
  std::lock_guard<std::mutex> lock(mu_);
  View v = view_;
  v.is_leader = v.is_leader && MonotonicMs() < v.valid_until_ms;
  return v;
}

void LeaderLease::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  view_.is_leader = false;
  view_.valid_until_ms = 0;
}

Status LeaderLease::Resign() {
  Stop();
  // The lease thread has ended: its fields are ours now.
  if (lease_id_ == 0) return Status::Ok();
  const int64_t lease = lease_id_;
  lease_id_ = 0;
  spdlog::info("msg=\"resigning\" member={} prefix={}", config_.member, config_.prefix);
  Status s = etcd_.Revoke(lease);
  return s.code() == StatusCode::kNotFound ? Status::Ok() : s;
}

StatusOr<Isr> LeaderLease::ReadIsr() {
  WEITUO_ASSIGN_OR_RETURN(auto kv, etcd_.Get(IsrKey()));
  Isr isr;
  if (!kv) return isr;
  etcd::IsrRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(kv->value, &record, options).ok()) {
    return Status::Internal("the key " + IsrKey() + " is not {\"members\": [names]}");
  }
  isr.members.assign(record.members().begin(), record.members().end());
  isr.mod_revision = kv->mod_revision;
  return isr;
}

StatusOr<int64_t> LeaderLease::WriteIsr(const std::vector<std::string>& members,
                                        int64_t expected_mod_revision) {
  uint64_t term = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!view_.is_leader || MonotonicMs() >= view_.valid_until_ms) {
      return Status::FailedPrecondition(config_.member + " is not the leader");
    }
    term = view_.term;
  }
  etcd::IsrRecord record;
  for (const std::string& m : members) record.add_members(m);
  // The leader key is written once, so its mod_revision is its term.
  WEITUO_ASSIGN_OR_RETURN(auto cas,
                          etcd_.CompareAndSwap(IsrKey(), expected_mod_revision, ToJson(record),
                                               EtcdGuard{LeaderKey(), static_cast<int64_t>(term)}));
  if (!cas.succeeded) {
    return Status::FailedPrecondition("the in-sync set was not written: its mod_revision is " +
                                      std::to_string(cas.mod_revision) + ", not " +
                                      std::to_string(expected_mod_revision) + ", or term " +
                                      std::to_string(term) + " is over");
  }
  return cas.mod_revision;
}

void LeaderLease::Run() {
  int64_t next = MonotonicMs();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      const std::chrono::steady_clock::time_point at{std::chrono::milliseconds(next)};
      if (wake_.wait_until(lock, at, [this] { return stopping_; })) return;
    }
    next = lease_id_ != 0 ? LeaderStep() : FollowerStep();
  }
}

int64_t LeaderLease::FollowerStep() {
  auto kv = etcd_.Get(LeaderKey());
  const int64_t next = MonotonicMs() + config_.poll_interval_ms;
  if (!kv.ok()) {
    Update([](View& v) { v.etcd_reachable = false; }, "etcd unreachable");
    return next;
  }
  if (*kv) {
    const EtcdKeyValue& leader = **kv;
    Update(
        [&](View& v) {
          v.etcd_reachable = true;
          v.leader = leader.value;
          v.term = static_cast<uint64_t>(leader.create_revision);
        },
        "leader seen");
    return next;
  }
  Update(
      [](View& v) {
        v.etcd_reachable = true;
        v.leader.clear();
        v.term = 0;
      },
      "no leader");
  if (Campaign()) return last_renew_sent_ms_ + config_.keepalive_interval_ms;
  return next;
}

std::optional<int64_t> LeaderLease::IsrRevisionIfEligible() {
  auto isr = ReadIsr();
  if (!isr.ok()) {
    if (isr.status().code() == StatusCode::kUnavailable) {
      Update([](View& v) { v.etcd_reachable = false; }, "etcd unreachable");
    } else {
      spdlog::warn("msg=\"no campaign\" member={} reason=\"{}\"", config_.member,
                   LogValue(isr.status().message()));
    }
    return std::nullopt;
  }
  const bool eligible =
      isr->mod_revision == 0 ||
      std::find(isr->members.begin(), isr->members.end(), config_.member) != isr->members.end();
  if (!eligible) {
    if (!not_in_isr_logged_) {
      spdlog::info("msg=\"no campaign\" member={} reason=\"not in the in-sync set\"",
                   config_.member);
    }
    not_in_isr_logged_ = true;
    return std::nullopt;
  }
  not_in_isr_logged_ = false;
  return isr->mod_revision;
}

bool LeaderLease::Campaign() {
  const std::optional<int64_t> isr_revision = IsrRevisionIfEligible();
  if (!isr_revision) return false;
  const int64_t sent = MonotonicMs();
  auto lease = etcd_.Grant(grant_ttl_s_);
  if (!lease.ok()) {
    if (lease.status().code() == StatusCode::kUnavailable) {
      Update([](View& v) { v.etcd_reachable = false; }, "etcd unreachable");
    }
    return false;
  }
  auto created = etcd_.CreateIfAbsent(LeaderKey(), config_.member, lease->id,
                                      EtcdGuard{IsrKey(), *isr_revision});
  if (!created.ok()) {
    (void)etcd_.Revoke(lease->id);  // whether or not the transaction took effect
    return false;
  }
  bool ours = created->succeeded;
  int64_t term = created->create_revision;
  // A first endpoint may have applied the transaction and timed out, and
  // the next one found our own key.
  if (!ours && created->current && created->current->lease == lease->id) {
    ours = true;
    term = created->current->create_revision;
  }
  if (!ours) {
    (void)etcd_.Revoke(lease->id);
    if (created->current) {
      const EtcdKeyValue& leader = *created->current;
      Update(
          [&](View& v) {
            v.leader = leader.value;
            v.term = static_cast<uint64_t>(leader.create_revision);
          },
          "another was elected");
    }
    return false;
  }
  lease_id_ = lease->id;
  last_renew_sent_ms_ = sent;
  const int64_t ttl_ms = std::min(config_.ttl_ms, lease->ttl_s * 1000);
  Update(
      [&](View& v) {
        v.leader = config_.member;
        v.term = static_cast<uint64_t>(term);
        v.is_leader = true;
        v.valid_until_ms = sent + ttl_ms - config_.drift_margin_ms;
      },
      "elected");
  return true;
}

int64_t LeaderLease::LeaderStep() {
  int64_t valid_until = 0;
  uint64_t term = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    valid_until = view_.valid_until_ms;
    term = view_.term;
  }
  const int64_t sent = MonotonicMs();
  if (sent >= valid_until) {
    LoseLeadership("lease not renewed in time", true);
    return MonotonicMs();
  }
  auto ttl_s = etcd_.KeepAliveOnce(lease_id_);
  if (!ttl_s.ok()) {
    if (ttl_s.status().code() == StatusCode::kNotFound) {
      LoseLeadership("lease expired at etcd", false);
      return MonotonicMs();
    }
    Update([](View& v) { v.etcd_reachable = false; }, "etcd unreachable");
    // Try again soon, and wake at the end of validity to report the loss.
    return std::min(MonotonicMs() + config_.poll_interval_ms, valid_until);
  }
  const int64_t renewed_until =
      sent + std::min(config_.ttl_ms, *ttl_s * 1000) - config_.drift_margin_ms;
  last_renew_sent_ms_ = sent;
  Update(
      [&](View& v) {
        v.etcd_reachable = true;
        v.valid_until_ms = std::max(v.valid_until_ms, renewed_until);
      },
      "etcd reachable");
  valid_until = std::max(valid_until, renewed_until);
  // The key may have been deleted or replaced under our live lease (by an
  // operator): then it is not ours, whatever the lease says.
  auto kv = etcd_.Get(LeaderKey());
  if (kv.ok() && (!*kv || (*kv)->value != config_.member || (*kv)->lease != lease_id_ ||
                  static_cast<uint64_t>((*kv)->create_revision) != term)) {
    LoseLeadership("the leader key is no longer ours", true);
    return MonotonicMs();
  }
  return std::min(sent + config_.keepalive_interval_ms, valid_until);
}

void LeaderLease::LoseLeadership(const std::string& reason, bool revoke) {
  const int64_t lease = lease_id_;
  lease_id_ = 0;
  Update(
      [](View& v) {
        v.is_leader = false;
        v.valid_until_ms = 0;
      },
      reason);
  if (revoke) (void)etcd_.Revoke(lease);
}

void LeaderLease::Update(const std::function<void(View&)>& change, const std::string& reason) {
  View after;
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const View before = view_;
    change(view_);
    changed = Watched(before, view_);
    if (changed) {
      view_.last_change_reason = reason;
      view_.last_change_at_ms = MonotonicMs();
    }
    after = view_;
  }
  if (!changed) return;
  spdlog::info(
      "msg=\"group view\" member={} leader={} term={} is_leader={} etcd_reachable={} "
      "reason=\"{}\"",
      config_.member, LogValue(after.leader), after.term, after.is_leader, after.etcd_reachable,
      reason);
  if (on_change_) on_change_(after);
}

}  // namespace weituo::group
