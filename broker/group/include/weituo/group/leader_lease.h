// Leadership of a broker group, held in etcd: the leader is the member whose
// name is the value of <prefix>leader, a key under that member's lease. A
// member campaigns, if it is in the in-sync set (<prefix>isr) or that key
// is absent, with one transaction that creates the leader key if it is
// absent and the in-sync set has not changed since it was read. The term is
// the leader key's create_revision, so each leadership has a greater one.
// No election, failure detection or quorum of our own: etcd's (docs/group.md).
//
// Fencing: the leader holds itself leader only until the send time of its
// last successful keepalive (or grant) plus the TTL less a margin for clock
// drift, so it stops before etcd can expire the lease and let another in.
//
// Threading: LeaderLease runs its own thread (the lease thread), which
// makes every etcd call of the campaign and the keepalives and calls the
// change callback. All public methods are safe from any thread except the
// callback's own (Stop and Resign from the callback would wait on
// themselves).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "weituo/common/status.h"
#include "weituo/group/etcd_client.h"

namespace weituo::group {

struct LeaderLeaseConfig {
  std::vector<std::string> endpoints;  // etcd's, "http://127.0.0.1:2379"
  std::string prefix;                  // "/weituo/<zone>/": keys prefix+"leader", prefix+"isr"
  std::string member;                  // this member's name, as the isr key lists it
  int64_t ttl_ms = 3000;               // the lease's TTL (etcd's is in whole seconds, rounded up)
  int64_t keepalive_interval_ms = 0;   // 0: ttl_ms / 3
  int64_t drift_margin_ms = -1;        // < 0: max(ttl_ms / 10, 200)
  int64_t poll_interval_ms = 0;        // a follower reads the leader key this often; 0: ttl_ms / 6
  // One etcd call to one endpoint; 0: the keepalive interval. A call may
  // take this for each endpoint that does not answer; IsLeader() turns
  // false on time regardless, the change callback comes when it returns.
  int64_t call_timeout_ms = 0;
};

// The in-sync set, as the isr key holds it.
struct Isr {
  std::vector<std::string> members;  // plain names
  int64_t mod_revision = 0;          // 0: the key is absent (bootstrap: anyone may campaign)
};

class LeaderLease {
 public:
  // What a member knows about the group's leadership.
  struct View {
    std::string leader;              // the leader key's value; empty if absent or unknown
    uint64_t term = 0;               // the leader key's create_revision; 0 if absent
    bool is_leader = false;          // this member, now (as IsLeader())
    int64_t valid_until_ms = 0;      // as LeaseValidUntilMs()
    std::string last_change_reason;  // "elected", "lease expired", ...
    int64_t last_change_at_ms = 0;   // MonotonicMs() of that change
    bool etcd_reachable = false;     // the last etcd call was answered
  };
  // Called on the lease thread after each change of leader, term,
  // is_leader or etcd_reachable, with the view after it. It must not block
  // for long (keepalives wait for it) nor call Stop or Resign. It may be
  // called until Stop (or the destructor) returns.
  using ChangeCallback = std::function<void(const View&)>;

  // Checks the config (INVALID_ARGUMENT: no endpoint, prefix or member, a
  // TTL under 1 s, a margin or interval that leaves no time to renew) and
  // starts the lease thread.
  static StatusOr<std::unique_ptr<LeaderLease>> Start(LeaderLeaseConfig config,
                                                      ChangeCallback on_change = {});
  // Stop().
  ~LeaderLease();
  LeaderLease(const LeaderLease&) = delete;
  LeaderLease& operator=(const LeaderLease&) = delete;

  // True while this member holds the leader key and now (MonotonicMs) is
  // before LeaseValidUntilMs().
  bool IsLeader() const;
  // Steady-clock ms (MonotonicMs) until which this member may act as
  // leader; 0 if it is not the leader. It may be past already, until the
  // lease thread notices: IsLeader() is false then.
  int64_t LeaseValidUntilMs() const;
  View CurrentView() const;

  // Stops the lease thread (waits for its etcd call in flight, at most the
  // call timeout per endpoint) without revoking the lease: as a crash would,
  // leaving the key until etcd expires the lease. IsLeader() is false after.
  void Stop();
  // Stop(), then revokes the lease if this member is the leader, so the
  // key goes at once: for a clean shutdown. The revoke's error, if any.
  Status Resign();

  // The in-sync set as etcd holds it now.
  StatusOr<Isr> ReadIsr();
  // Writes the in-sync set if the isr key's mod_revision is still
  // expected_mod_revision (0: absent) and this member still holds the
  // leader key of its term; the new mod_revision. FAILED_PRECONDITION if
  // this member is not the leader or lost the race.
  StatusOr<int64_t> WriteIsr(const std::vector<std::string>& members,
                             int64_t expected_mod_revision);

  const LeaderLeaseConfig& config() const { return config_; }

 private:
  LeaderLease(LeaderLeaseConfig config, ChangeCallback on_change);

  void Run();
  // One step of the lease thread; each returns when the next step is due
  // (MonotonicMs).
  int64_t FollowerStep();
  int64_t LeaderStep();
  // Grants a lease and tries the creating transaction; true if elected.
  bool Campaign();
  // The isr key's mod_revision (0: absent) if this member may campaign;
  // nullopt if it is not in the set or the set cannot be read.
  std::optional<int64_t> IsrRevisionIfEligible();
  // Leadership ends now; revokes the lease (best effort) if `revoke`.
  void LoseLeadership(const std::string& reason, bool revoke);
  // Applies `change` to the view under the lock and calls the callback if
  // a watched field changed.
  void Update(const std::function<void(View&)>& change, const std::string& reason);

  std::string LeaderKey() const { return config_.prefix + "leader"; }
  std::string IsrKey() const { return config_.prefix + "isr"; }

  // Constant after construction.
  const LeaderLeaseConfig config_;
  const ChangeCallback on_change_;
  const int64_t grant_ttl_s_;  // the TTL asked of etcd: ttl_ms rounded up to seconds
  EtcdClient etcd_;            // thread-safe itself

  // Used by the lease thread only (and by Resign once it has ended).
  int64_t lease_id_ = 0;  // the lease of this member's leadership; 0 if not leader
  int64_t last_renew_sent_ms_ = 0;
  bool not_in_isr_logged_ = false;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  // GUARDED_BY(mu_). is_leader and valid_until_ms as the lease thread last
  // set them; readers compare valid_until_ms with the clock themselves.
  View view_;
  std::thread thread_;  // started by Start, joined by Stop
};

}  // namespace weituo::group
