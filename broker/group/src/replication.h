// Replication of a group's store (docs/group.md): the leader's commits, as
// RocksDB batches, applied in order by its followers.
//
// - BatchRing: the member's recent commits in memory (its own as leader, or
//   those it applied as follower), from which a follower that reconnects is
//   continued. One further back is sent a checkpoint.
// - ReplicationLeader: on the leader, a thread with a ROUTER at the member's
//   replication endpoint. It sends each follower the commits it lacks, takes
//   its acks, and keeps the in-sync set (in etcd, through the Coordinator):
//   WaitDurable, on the broker's loop thread, returns when a commit is synced
//   on every member of the set and the set has at least min_in_sync members.
// - ReplicationFollower: on a follower, a thread with a DEALER to the
//   leader's replication endpoint that applies the leader's batches to the
//   member's store (synced) and acks them, or installs a checkpoint.
//
// Nothing here elects anyone: who leads, in which term, and whether this
// member's lease still holds come from etcd (LeaderLease).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "weituo/broker/broker_store.h"
#include "weituo/common/status.h"
#include "weituo/v1/group.pb.h"

namespace weituo::group {

using broker::BrokerStore;

// One ReplMessage as the frame that carries it.
inline std::string EncodeRepl(const weituo::v1::ReplMessage& message) {
  std::string out;
  message.SerializeToString(&out);
  return out;
}

// Thread-safe.
class BatchRing {
 public:
  explicit BatchRing(size_t max_bytes) : max_bytes_(max_bytes) {}
  // A commit that does not follow the last one (a snapshot installed)
  // starts the ring again.
  void Append(uint64_t number, uint64_t term, std::string_view data, int64_t at_ms);
  std::optional<uint64_t> TermOf(uint64_t number) const;
  // Commits from `from` on, in order, until about `max_bytes` (at least one
  // if any is held); empty if `from` is not held.
  std::vector<weituo::v1::ReplBatch> From(uint64_t from, size_t max_bytes) const;
  uint64_t first() const;  // 0 if empty
  uint64_t last() const;   // 0 if empty
  size_t bytes() const;

 private:
  mutable std::mutex mu_;
  const size_t max_bytes_;
  std::deque<weituo::v1::ReplBatch> batches_;  // GUARDED_BY(mu_)
  size_t bytes_ = 0;                           // GUARDED_BY(mu_)
};

// What the replication asks of etcd, so that it holds no etcd code.
struct Coordinator {
  // This member's lease still holds (it may act as leader now).
  std::function<bool()> is_leader;
  struct Isr {
    std::vector<std::string> members;
    int64_t mod_revision = 0;  // 0: no set in etcd yet
  };
  std::function<StatusOr<Isr>()> read_isr;
  // Compare-and-swap on mod_revision; FAILED_PRECONDITION if it moved.
  std::function<Status(const std::vector<std::string>&, int64_t expected)> write_isr;
};

struct ReplicationOptions {
  std::string member;                // this member's name
  std::string endpoint;              // the leader binds it; "tcp://127.0.0.1:*" picks a port
  size_t min_in_sync = 2;            // members (the leader included) a receipt needs
  int ack_timeout_ms = 1500;         // a follower this late is taken out of the set
  std::string snapshot_dir;          // where checkpoints for followers are made
  size_t max_batch_bytes = 1 << 20;  // per message
  size_t window = 256;               // commits sent and not acked, per follower
  // CURVE (docs/group.md): this member's secret key and every member's
  // public key (name -> Z85). Empty: plaintext, for development only. The
  // leader accepts a follower's handshake only for a listed key, and a
  // ReplFollow only for the member that key belongs to.
  std::string secret_key;
  std::map<std::string, std::string> member_keys;
};

struct FollowerView {
  std::string member;
  uint64_t acked = 0;
  int64_t lag_ms = 0;  // since the leader committed the first commit not acked
  bool in_sync = false;
  bool snapshotting = false;
  int64_t last_heard_ms = 0;  // wall clock
};

class ReplicationLeader {
 public:
  ReplicationLeader(ReplicationOptions options, BrokerStore* store, BatchRing* ring, uint64_t term,
                    Coordinator coordinator);
  ~ReplicationLeader();

  // Reads the in-sync set (writing one holding this member if there is
  // none), binds and starts the thread.
  Status Start();
  void Stop();
  const std::string& endpoint() const { return bound_; }
  // A commit was appended to the ring: send it. Any thread.
  void Notify();
  // Blocks until commit `number` is synced on every member of the in-sync
  // set and the set is at least min_in_sync; takes out of the set (in etcd
  // first) a follower later than ack_timeout_ms while the set stays large
  // enough, and takes in one that holds every commit up to `number`.
  // UNAVAILABLE once this member's lease no longer holds: nothing of the
  // turn may be sent.
  Status WaitDurable(uint64_t number);

  std::vector<FollowerView> Followers() const;
  std::vector<std::string> InSync() const;
  uint64_t term() const { return term_; }
  // Handshakes refused (a key no member has) and ReplFollows from a key
  // that is not the member's they name.
  uint64_t refused() const { return refused_.load(); }

 private:
  struct Follower {
    std::string routing_id;
    std::string member;
    uint64_t acked = 0;
    uint64_t next = 0;  // the next commit to send
    bool tailing = false;
    std::string snapshot_id;
    std::string snapshot_path;
    // The last checkpoint offered: a follower that comes back holding it
    // continues from the ring.
    bool snapshot_offered = false;
    uint64_t snapshot_number = 0;
    uint64_t snapshot_term = 0;
    int64_t last_heard_ms = 0;
  };
  void ThreadMain();
  // One ZAP request (RFC 27) on the replication's own context.
  void AnswerZap();
  // `member` is who the connection's CURVE key proved (empty: plaintext).
  void OnMessage(const std::string& routing_id, const std::string& member,
                 const std::string& payload);
  void OnFollow(Follower& f, const weituo::v1::ReplFollow& follow);
  void OfferSnapshot(Follower& f);
  void OnChunkRequest(Follower& f, const weituo::v1::ReplChunkRequest& request);
  // Sends each tailing follower what it lacks, within its window.
  void Pump();
  void Send(const std::string& routing_id, const weituo::v1::ReplMessage& message);
  // With mu_ held: the commit time of the first commit `f` lacks.
  int64_t LagMs(const Follower& f) const;
  Status WriteIsr(std::vector<std::string> members);  // mu_ not held

  const ReplicationOptions options_;
  BrokerStore* const store_;
  BatchRing* const ring_;
  const uint64_t term_;
  const Coordinator coordinator_;
  std::string bound_;

  struct Sockets;
  std::unique_ptr<Sockets> sockets_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> notified_{false};
  std::atomic<uint64_t> refused_{0};

  mutable std::mutex mu_;
  std::condition_variable acked_;
  std::map<std::string, Follower> followers_;  // GUARDED_BY(mu_), by member
  std::vector<std::string> isr_;               // GUARDED_BY(mu_)
  int64_t isr_revision_ = 0;                   // GUARDED_BY(mu_)
};

class ReplicationFollower {
 public:
  // Owns the member's store while it follows; `data_dir` is where it lives
  // (a snapshot replaces it).
  ReplicationFollower(std::string member, std::string data_dir, std::unique_ptr<BrokerStore> store,
                      BatchRing* ring);
  ~ReplicationFollower();

  void Start();
  // Stops the thread and hands the store back (closed if `close`), e.g. to
  // open it as the leader's.
  std::unique_ptr<BrokerStore> Stop();
  // The leader to follow now, its term (batches of an older term are
  // refused) and its replication public key (empty: plaintext). Any thread.
  void SetLeader(std::string replication_endpoint, uint64_t term, std::string server_key = "");
  // This member's CURVE secret key for the replication; before Start.
  void SetKeys(std::string secret_key, std::string public_key) {
    secret_key_ = std::move(secret_key);
    public_key_ = std::move(public_key);
  }

  // Calls `read` with the replica's store: what the follower has applied,
  // read while it applies more (a checkpoint's install waits for the read,
  // and a read during the install is UNAVAILABLE). Any thread.
  Status Read(const std::function<Status(const BrokerStore&)>& read) const;

  uint64_t last_applied() const { return last_applied_.load(); }
  uint64_t last_term() const { return last_term_.load(); }
  int64_t lag_ms() const { return lag_ms_.load(); }
  uint64_t leader_last() const { return leader_last_.load(); }
  uint64_t snapshots_installed() const { return snapshots_.load(); }
  std::string last_error() const;

 private:
  void ThreadMain();
  // Applies, acks; false if the stream must start again (ReplFollow).
  bool OnBatches(const weituo::v1::ReplBatches& batches);
  Status InstallSnapshot(const weituo::v1::ReplSnapshot& snapshot);
  void SetError(std::string error);
  // The store's applied commits go to the ring.
  void Listen();

  const std::string member_;
  const std::string data_dir_;
  // Replaced only on the follower's thread (or in Stop), under the unique
  // lock; Read holds the shared one.
  mutable std::shared_mutex store_mu_;
  std::unique_ptr<BrokerStore> store_;
  BatchRing* const ring_;
  struct Sockets;
  std::unique_ptr<Sockets> sockets_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  std::string leader_endpoint_;  // GUARDED_BY(mu_)
  uint64_t leader_term_ = 0;     // GUARDED_BY(mu_)
  std::string leader_key_;       // GUARDED_BY(mu_)
  std::string secret_key_, public_key_;
  std::string error_;  // GUARDED_BY(mu_)

  std::atomic<uint64_t> last_applied_{0};
  std::atomic<uint64_t> last_term_{0};
  std::atomic<int64_t> lag_ms_{0};
  std::atomic<uint64_t> leader_last_{0};
  std::atomic<uint64_t> snapshots_{0};
};

}  // namespace weituo::group
