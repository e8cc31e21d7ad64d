#pragma once

// A group member's operator API (docs/group.md, "Every member serves the
// read API"): the StatusServer on the member's --http address is started
// once and serves through this for the member's whole life. While the member
// leads, everything goes to its broker. While it follows, reads (status,
// commissions, trails, parked, statistics, a backup) come from its own
// replica, which holds every commit it has applied; actions are refused with
// UNAVAILABLE naming the leader, where they go.
//
// Threading: any thread. Serve() waits for calls in progress on what it
// replaces, so the broker or follower it was given may be destroyed once it
// returns.

#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>

#include "cluster_view.h"
#include "replication.h"
#include "weituo/broker/broker.h"
#include "weituo/group/member.h"

namespace weituo::group {

class MemberApi final : public broker::OperatorApi {
 public:
  // `options` must outlive this; `view` is the member's cluster view.
  MemberApi(const MemberOptions& options, std::function<ClusterView()> view);

  // What serves from now: the leader's broker, a follower, or neither
  // (both nullptr: between roles, every call UNAVAILABLE).
  void Serve(Broker* broker, ReplicationFollower* follower);

  weituo::v1::BrokerStatus GetStatus() const override;
  StatusOr<weituo::v1::CommissionPage> ListCommissions(
      const broker::CommissionQuery& query) const override;
  StatusOr<weituo::v1::CommissionTrail> Trail(const std::string& commission_id) const override;
  StatusOr<weituo::v1::ParkedPage> Parked(size_t limit) const override;
  StatusOr<weituo::v1::SupervisionStats> Stats(const broker::StatsQuery& query) const override;
  int64_t Now() const override;
  std::optional<weituo::v1::ClusterStatus> Cluster() const override { return view_(); }
  StatusOr<weituo::v1::ApiReply> SetPaused(const std::string& court, bool paused) override;
  StatusOr<weituo::v1::ApiReply> Redrive(const std::string& id) override;
  StatusOr<weituo::v1::ApiReply> AdvanceClock(int64_t ms) override;
  StatusOr<weituo::v1::ApiReply> Backup() const override;

 private:
  // `lead` on the broker while leading, else `follow` on a ReadApi over the
  // replica while following, else UNAVAILABLE.
  template <typename T, typename Lead, typename Follow>
  StatusOr<T> Route(const Lead& lead, const Follow& follow) const;
  // Why an action is refused here: who leads and where.
  Status NotLeader() const;

  const MemberOptions& options_;
  const std::function<ClusterView()> view_;
  const int64_t started_at_ms_;
  mutable std::shared_mutex mu_;
  Broker* broker_ = nullptr;                 // GUARDED_BY(mu_)
  ReplicationFollower* follower_ = nullptr;  // GUARDED_BY(mu_)
};

}  // namespace weituo::group
