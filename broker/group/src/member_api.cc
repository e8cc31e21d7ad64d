#include "member_api.h"

#include <mutex>
#include <utility>

#include "weituo/broker/read_api.h"
#include "weituo/common/clock.h"

namespace weituo::group {

MemberApi::MemberApi(const MemberOptions& options, std::function<ClusterView()> view)
    : options_(options), view_(std::move(view)), started_at_ms_(NowMs()) {}

void MemberApi::Serve(Broker* broker, ReplicationFollower* follower) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  broker_ = broker;
  follower_ = follower;
}

template <typename T, typename Lead, typename Follow>
StatusOr<T> MemberApi::Route(const Lead& lead, const Follow& follow) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (broker_ != nullptr) return lead(*broker_);
  if (follower_ == nullptr) {
    return Status::Unavailable("member " + options_.member + " is changing roles; try again");
  }
  StatusOr<T> out = Status::Unavailable("the replica was not read");
  Status read = follower_->Read([&](const BrokerStore& store) {
    const broker::ReadApi api(store, options_.broker);
    out = follow(api, store);
    return Status::Ok();
  });
  if (!read.ok()) return read;
  return out;
}

Status MemberApi::NotLeader() const {
  const ClusterView view = view_();
  std::string where = "no member leads now; try again in a few seconds";
  if (!view.leader().empty() && view.leader() != options_.member) {
    where = "actions go to the leader, " + view.leader();
    const MemberConfig* leader = options_.group.Find(view.leader());
    if (leader && !leader->http.empty()) {
      where += " (its cluster page: http://" + leader->http + "/api/cluster)";
    }
  }
  return Status::Unavailable("member " + options_.member + " is not the group's leader: " + where);
}

weituo::v1::BrokerStatus MemberApi::GetStatus() const {
  const ClusterView view = view_();
  auto status = Route<weituo::v1::BrokerStatus>(
      [](const Broker& b) { return b.GetStatus(); },
      [&](const broker::ReadApi& api, const BrokerStore& store) {
        // A follower's own status: what its replica holds, no courts (they
        // are connected to the leader) and no counters of the leader's.
        weituo::v1::BrokerStatus s;
        s.set_version("weituo-broker (group follower)");
        s.set_security(options_.broker.plaintext ? "plaintext" : "curve");
        s.set_started_at_ms(started_at_ms_);
        s.set_published_at_ms(NowMs());
        s.set_overdue_after_ms(options_.broker.overdue_after_ms);
        s.set_store_bytes(store.ApproximateSizeBytes());
        s.set_ready(true);
        if (!view.last_error().empty()) s.add_degraded("replication: " + view.last_error());
        if (auto counts = store.StateCounts(); counts.ok()) {
          for (const auto& [state, n] : counts->by_state()) {
            (*s.mutable_commissions_by_state())[weituo::v1::State_Name(
                static_cast<weituo::v1::State>(state))] = n;
          }
        }
        return api.CompleteStatus(std::move(s), NowMs());
      });
  weituo::v1::BrokerStatus out;
  if (status.ok()) {
    out = std::move(status).value();
  } else {
    out.set_ready(false);
    out.add_degraded(status.status().message());
  }
  out.set_group_member(options_.member);
  out.set_group_role(view.role());
  out.set_group_leader(view.leader());
  out.set_replica_commit(view.last_applied());
  return out;
}

StatusOr<weituo::v1::CommissionPage> MemberApi::ListCommissions(
    const broker::CommissionQuery& query) const {
  return Route<weituo::v1::CommissionPage>(
      [&](const Broker& b) { return b.ListCommissions(query); },
      [&](const broker::ReadApi& api, const BrokerStore&) { return api.ListCommissions(query); });
}

StatusOr<weituo::v1::CommissionTrail> MemberApi::Trail(const std::string& commission_id) const {
  return Route<weituo::v1::CommissionTrail>(
      [&](const Broker& b) { return b.Trail(commission_id); },
      [&](const broker::ReadApi& api, const BrokerStore&) { return api.Trail(commission_id); });
}

StatusOr<weituo::v1::ParkedPage> MemberApi::Parked(size_t limit) const {
  return Route<weituo::v1::ParkedPage>(
      [&](const Broker& b) { return b.Parked(limit); },
      [&](const broker::ReadApi& api, const BrokerStore&) { return api.Parked(limit); });
}

StatusOr<weituo::v1::SupervisionStats> MemberApi::Stats(const broker::StatsQuery& query) const {
  return Route<weituo::v1::SupervisionStats>([&](const Broker& b) { return b.Stats(query); },
                                             [&](const broker::ReadApi& api, const BrokerStore&) {
                                               return api.Stats(options_.directory, query, NowMs());
                                             });
}

int64_t MemberApi::Now() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return broker_ != nullptr ? broker_->Now() : NowMs();
}

StatusOr<weituo::v1::ApiReply> MemberApi::SetPaused(const std::string& court, bool paused) {
  // Blocks a role change until the loop answers (at most its 10 s).
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (broker_ == nullptr) return NotLeader();
  return broker_->SetPaused(court, paused);
}

StatusOr<weituo::v1::ApiReply> MemberApi::Redrive(const std::string& id) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (broker_ == nullptr) return NotLeader();
  return broker_->Redrive(id);
}

StatusOr<weituo::v1::ApiReply> MemberApi::AdvanceClock(int64_t ms) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (broker_ == nullptr) return NotLeader();
  return broker_->AdvanceClock(ms);
}

StatusOr<weituo::v1::ApiReply> MemberApi::Backup() const {
  // A follower backs up its replica: the leader is not touched.
  return Route<weituo::v1::ApiReply>(
      [](const Broker& b) { return b.Backup(); },
      [](const broker::ReadApi& api, const BrokerStore&) { return api.Backup(); });
}

}  // namespace weituo::group
