#include "weituo/group/member.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "cluster_view.h"
#include "member_api.h"
#include "redirector.h"
#include "replication.h"
#include "weituo/common/clock.h"
#include "weituo/common/logging.h"
#include "weituo/group/leader_lease.h"

namespace weituo::group {

namespace {

// The broker loop's hooks while this member leads: every commit to the
// ring and to the followers, and each turn held until the group has it.
class LeaderHooks : public broker::GroupHooks {
 public:
  LeaderHooks(ReplicationOptions options, BatchRing* ring, uint64_t term, LeaderLease* lease,
              std::function<ClusterView()> view)
      : options_(std::move(options)),
        ring_(ring),
        term_(term),
        lease_(lease),
        view_(std::move(view)) {}
  ~LeaderHooks() override { Stop(); }

  Status Attach(BrokerStore& store) override {
    Coordinator coordinator;
    coordinator.is_leader = [lease = lease_] { return lease->IsLeader(); };
    coordinator.read_isr = [lease = lease_]() -> StatusOr<Coordinator::Isr> {
      WEITUO_ASSIGN_OR_RETURN(Isr isr, lease->ReadIsr());
      return Coordinator::Isr{isr.members, isr.mod_revision};
    };
    coordinator.write_isr = [lease = lease_](const std::vector<std::string>& members,
                                             int64_t expected) -> Status {
      auto written = lease->WriteIsr(members, expected);
      return written.ok() ? Status::Ok() : written.status();
    };
    leader_ =
        std::make_unique<ReplicationLeader>(options_, &store, ring_, term_, std::move(coordinator));
    store.kv().SetCommitTerm(term_);
    store.kv().SetCommitListener([ring = ring_, leader = leader_.get()](
                                     uint64_t number, uint64_t term, std::string_view data) {
      ring->Append(number, term, data, NowMs());
      leader->Notify();
    });
    kv_ = &store.kv();
    return leader_->Start();
  }

  Status WaitDurable(uint64_t number) override { return leader_->WaitDurable(number); }
  weituo::v1::ClusterStatus Cluster() const override {
    ClusterView v = view_();
    v.set_at_ms(NowMs());
    return v;
  }

  // Before the broker (and its store) is destroyed; idempotent.
  void Stop() {
    if (kv_) kv_->SetCommitListener({});
    kv_ = nullptr;
    if (leader_) leader_->Stop();
  }
  ReplicationLeader* leader() const { return leader_.get(); }
  // The store's last commit; 0 before Attach or after Stop.
  uint64_t last_commit() const { return kv_ ? kv_->LastCommit() : 0; }

 private:
  const ReplicationOptions options_;
  BatchRing* const ring_;
  const uint64_t term_;
  LeaderLease* const lease_;
  const std::function<ClusterView()> view_;
  std::unique_ptr<ReplicationLeader> leader_;
  KvStore* kv_ = nullptr;
};

}  // namespace

struct Member::Impl {
  MemberOptions options;
  const MemberConfig* me = nullptr;
  BatchRing ring;
  std::unique_ptr<LeaderLease> lease;
  std::unique_ptr<ClusterServer> cluster;

  // What /api/cluster shows, as this member knows it now.
  std::mutex mu;
  std::string role = "starting";            // GUARDED_BY(mu)
  ReplicationFollower* follower = nullptr;  // GUARDED_BY(mu), while following
  LeaderHooks* hooks = nullptr;             // GUARDED_BY(mu), while leading
  Broker* broker = nullptr;                 // GUARDED_BY(mu), while leading
  uint64_t led_terms = 0;                   // GUARDED_BY(mu)

  // The operator API on the member's --http address, for its whole life.
  MemberApi api{options, [this] { return View(); }};

  explicit Impl(MemberOptions o)
      : options(std::move(o)), ring(static_cast<size_t>(options.group.ring_mb) << 20) {}

  ReplicationOptions Replication() const {
    ReplicationOptions r;
    r.member = options.member;
    r.endpoint = me->replication;
    r.min_in_sync = static_cast<size_t>(options.group.min_in_sync);
    r.ack_timeout_ms = static_cast<int>(options.group.ack_timeout_ms);
    r.snapshot_dir = options.broker.data_dir + "-snapshots";
    r.secret_key = options.replication_secret_key;
    for (const MemberConfig& m : options.group.members) {
      r.member_keys[m.name] = m.replication_public_key;
    }
    return r;
  }

  ClusterView View() {
    ClusterView v;
    v.set_group(options.group.name);
    v.set_member(options.member);
    const LeaderLease::View lv = lease ? lease->CurrentView() : LeaderLease::View{};
    v.set_leader(lv.leader);
    v.set_term(lv.term);
    v.set_etcd_reachable(lv.etcd_reachable);
    v.set_last_change_reason(lv.last_change_reason);
    v.set_last_change_ago_ms(lv.last_change_at_ms == 0 ? -1 : MonotonicMs() - lv.last_change_at_ms);
    for (const MemberConfig& m : options.group.members) v.add_members(m.name);
    std::lock_guard<std::mutex> lock(mu);
    v.set_role(role);
    if (follower) {
      v.set_last_applied(follower->last_applied());
      v.set_leader_last(follower->leader_last());
      v.set_lag_ms(follower->lag_ms());
      v.set_snapshots_installed(follower->snapshots_installed());
      v.set_last_error(follower->last_error());
    }
    if (hooks && hooks->leader()) {
      const uint64_t last = hooks->last_commit();
      v.set_last_applied(last);
      v.set_leader_last(last);
      for (const std::string& m : hooks->leader()->InSync()) v.add_in_sync(m);
      v.set_replication_refused(hooks->leader()->refused());
      for (const FollowerView& f : hooks->leader()->Followers()) {
        auto* out = v.add_followers();
        out->set_member(f.member);
        out->set_acked(f.acked);
        out->set_lag_batches(last > f.acked ? last - f.acked : 0);
        out->set_lag_ms(f.lag_ms);
        out->set_in_sync(f.in_sync);
        out->set_snapshotting(f.snapshotting);
        out->set_last_heard_ms(f.last_heard_ms);
      }
    }
    return v;
  }

  // Follows until this member is the leader or Stop. The store stays closed
  // when it returns.
  Status Follow(const std::atomic<bool>& stop) {
    WEITUO_ASSIGN_OR_RETURN(std::unique_ptr<BrokerStore> store,
                            BrokerStore::Open(options.broker.data_dir));
    ReplicationFollower follower(options.member, options.broker.data_dir, std::move(store), &ring);
    if (!options.replication_secret_key.empty()) {
      follower.SetKeys(options.replication_secret_key, me->replication_public_key);
    }
    Redirector redirector(me->courts, options.broker.curve_secret_key, options.broker.plaintext);
    WEITUO_RETURN_IF_ERROR(redirector.Start());
    follower.Start();
    {
      std::lock_guard<std::mutex> lock(mu);
      role = "follower";
      this->follower = &follower;
    }
    api.Serve(nullptr, &follower);
    spdlog::info("msg=\"following\" member={} last_commit={}", options.member,
                 follower.last_applied());
    std::string known_leader;
    uint64_t known_term = 0;
    while (!stop.load() && !lease->IsLeader()) {
      const LeaderLease::View lv = lease->CurrentView();
      if (lv.leader != known_leader || lv.term != known_term) {
        known_leader = lv.leader;
        known_term = lv.term;
        const MemberConfig* leader = options.group.Find(lv.leader);
        const bool other = leader && leader->name != options.member;
        follower.SetLeader(other ? leader->replication : "", lv.term,
                           other ? leader->replication_public_key : "");
        redirector.SetLeader(leader ? leader->courts : "");
        spdlog::info("msg=\"the group's leader\" leader={} term={}", lv.leader, lv.term);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    api.Serve(nullptr, nullptr);  // waits for reads of the replica in progress
    {
      std::lock_guard<std::mutex> lock(mu);
      this->follower = nullptr;
      role = "promoting";
    }
    redirector.Stop();
    follower.Stop().reset();  // closed: the broker opens it
    return Status::Ok();
  }

  // Leads until Stop or the lease no longer holds.
  Status Lead(const std::atomic<bool>& stop, std::atomic<Broker*>& running) {
    const uint64_t term = lease->CurrentView().term;
    spdlog::warn("msg=\"leading the group\" member={} term={}", options.member, term);
    LeaderHooks hooks(Replication(), &ring, term, lease.get(), [this] { return View(); });
    BrokerOptions bo = options.broker;
    bo.endpoint = me->courts;
    bo.group = &hooks;
    auto created = Broker::Create(bo, options.directory);
    if (!created.ok()) {
      hooks.Stop();
      return created.status();
    }
    std::unique_ptr<Broker> b = std::move(created).value();
    {
      std::lock_guard<std::mutex> lock(mu);
      role = "leader";
      this->hooks = &hooks;
      broker = b.get();
      ++led_terms;
    }
    std::function<void()> stop_serving;
    if (options.on_lead) stop_serving = options.on_lead(*b);
    running.store(b.get());
    api.Serve(b.get(), nullptr);
    if (stop.load()) b->Stop();
    Status ran = b->Run();
    running.store(nullptr);
    api.Serve(nullptr, nullptr);  // waits for calls on the broker in progress
    if (stop_serving) stop_serving();
    {
      std::lock_guard<std::mutex> lock(mu);
      this->hooks = nullptr;
      broker = nullptr;
      role = "stepping down";
    }
    hooks.Stop();
    b.reset();
    spdlog::warn("msg=\"no longer leading\" member={} term={} why=\"{}\"", options.member, term,
                 LogValue(ran.ok() ? std::string("stopped") : ran.ToString()));
    return Status::Ok();
  }
};

Member::Member(MemberOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Member::~Member() = default;

broker::OperatorApi& Member::api() { return impl_->api; }

Status Member::Run() {
  Impl& m = *impl_;
  m.me = m.options.group.Find(m.options.member);
  if (m.me == nullptr) {
    return Status::InvalidArgument(m.options.group.path + ": no [[member]] named \"" +
                                   m.options.member + "\"");
  }
  if (!m.me->http.empty()) {
    WEITUO_ASSIGN_OR_RETURN(m.cluster, ClusterServer::Start(m.me->http, [&m] { return m.View(); }));
    spdlog::info("msg=\"cluster page\" url=http://{}/api/cluster", m.cluster->address());
  }
  LeaderLeaseConfig lc;
  lc.endpoints = m.options.group.etcd;
  lc.prefix = m.options.group.Prefix();
  lc.member = m.options.member;
  lc.ttl_ms = m.options.group.lease_ttl_ms;
  WEITUO_ASSIGN_OR_RETURN(m.lease, LeaderLease::Start(lc));
  std::atomic<Broker*> running{nullptr};
  // Stop() sets the flag; the leader's loop is told too.
  std::thread watcher([this, &running] {
    while (!stop_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (Broker* b = running.load()) b->Stop();
  });
  Status result = Status::Ok();
  while (!stop_.load()) {
    if (Status s = m.Follow(stop_); !s.ok()) {
      result = s;
      break;
    }
    if (stop_.load()) break;
    if (Status s = m.Lead(stop_, running); !s.ok()) {
      result = s;
      break;
    }
  }
  stop_.store(true);
  watcher.join();
  (void)m.lease->Resign();
  if (m.cluster) m.cluster->Stop();
  return result;
}

}  // namespace weituo::group
