// The Weituo broker: one thread owns the ZeroMQ ROUTER socket and the routing
// state. Each turn of its loop drains the ready messages, applies them to the
// lifecycle, writes all their effects in one RocksDB batch with one WAL sync
// (group commit), and only then sends receipts and deliveries. Every message
// it sends to a court is in the store first and stays pending until that
// court acknowledges it.
//
// Threading: Run() blocks the calling thread, which becomes the loop thread.
// Stop(), ReloadDirectory() and Snapshot() may be called from any thread;
// Stop() and ReloadDirectory() only set an atomic flag, so they are safe
// from a signal handler.
//
// Identity: with CURVE (the default) a connection speaks for the court whose
// public key it proved in the handshake, checked on every message against
// the keys the directory lists now; plaintext is for development only.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "weituo/broker/broker_store.h"
#include "weituo/common/deadlines.h"
#include "weituo/common/directory.h"
#include "weituo/common/status.h"
#include "weituo/v1/status.pb.h"

namespace weituo::broker {

// A broker group's leader (docs/group.md): what the loop asks of the
// group's replication. Called on the loop's thread.
class GroupHooks {
 public:
  virtual ~GroupHooks() = default;
  // The store is open, before its first commit (a migration's): every
  // commit from now on goes to the group.
  virtual Status Attach(BrokerStore& store) = 0;
  // Before anything of a committed turn is sent: returns when the store's
  // commit `number` (KvStore::LastCommit after the turn) is durable on the
  // group. The loop may commit the next turn before it asks. An error means
  // this member may no longer act as leader (its lease does not hold): the
  // loop stops without sending anything of the turns not yet sent.
  virtual Status WaitDurable(uint64_t number) = 0;
  // GET /api/cluster: the group as this member sees it. Any thread.
  virtual weituo::v1::ClusterStatus Cluster() const = 0;
};

struct BrokerOptions {
  std::string endpoint = "tcp://127.0.0.1:5555";  // "tcp://127.0.0.1:*" picks a port
  std::string data_dir;
  // Where Backup() writes its checkpoints; empty: "<data_dir>-backups".
  std::string backup_dir;
  std::string directory_path;  // reread on ReloadDirectory(); empty: no reloads
  // The broker's own CURVE secret key (Z85). Required unless `plaintext`.
  std::string curve_secret_key;
  // Development only: no encryption, and a connection speaks for the court
  // its Hello names. Anyone who can reach the port can be any court.
  bool plaintext = false;
  // A connection still shaking hands this long is dropped, and one that has
  // not said Hello in twice that.
  int handshake_ms = 5000;
  // Live connections from one IP address, handshakes in progress from one
  // address, and connections that spoke for one court; more are refused.
  size_t max_connections_per_address = 256;
  size_t max_handshakes_per_address = 32;
  size_t max_connections_per_court = 8;
  // Work messages (Hello, Submit, SendUpdate, Ack, anything refused) a court
  // may send per second, averaged, and in one burst. 0: no limit.
  double rate_limit = 2000;
  double rate_burst = 4000;
  int heartbeat_ms = 1000;      // we send, and expect, something this often
  int offline_after_ms = 3500;  // silence after which a court is offline
  int ack_timeout_ms = 5000;    // first resend after this, doubling after
  int max_backoff_ms = 60000;
  uint32_t max_attempts = 10;  // sends of one message before it is parked
  size_t window = 256;         // unacknowledged messages in flight per court
  size_t max_batch = 1024;     // messages applied per turn (one sync)
  size_t max_frame_bytes = 256 * 1024;
  int64_t overdue_after_ms = 10 * 60 * 1000;  // a pending delivery this old is overdue
  bool sync = true;                           // fsync the WAL per batch; off only for benchmarks
  // Free space kept on the store's file system: below it, new submissions
  // and updates are refused with STORAGE_FULL (docs/storage.md). 0: none.
  uint64_t storage_reserve_bytes = uint64_t{256} << 20;
  // Opens a store that lost acknowledged writes (DATA_LOSS at start) anyway:
  // an operator's decision, logged; the marker then names what was recovered.
  bool accept_data_loss = false;
  DeadlinePolicy deadlines = DeadlinePolicy::Defaults();
  // A court offline this long (wall clock) is told to its supervisor with
  // its liaison contact, once per offline spell. 0: never.
  int64_t offline_flag_after_ms = 24LL * 60 * 60 * 1000;
  // Tests only (--test-clock): AdvanceClock moves the wall clock forward.
  bool test_clock = false;
  // A member of a broker group leading it; null: a broker of its own.
  GroupHooks* group = nullptr;
};

// GET /api/stats.
struct StatsQuery {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  std::string court;     // empty: every court
  std::string campaign;  // empty: every campaign tag
};

// Supervision statistics computed from the store (docs/supervision.md);
// INVALID_ARGUMENT if to <= from or the court is unknown.
StatusOr<weituo::v1::SupervisionStats> ComputeStats(const BrokerStore& store,
                                                    const CourtDirectory& directory,
                                                    const StatsQuery& query, int64_t now_ms);

// A page of GET /api/commissions.
struct CommissionQuery {
  std::string court;  // origin or target; empty: any
  weituo::v1::State state = weituo::v1::STATE_UNSPECIFIED;
  weituo::v1::Kind kind = weituo::v1::KIND_UNSPECIFIED;
  std::string after;  // the previous page's next_after
  size_t limit = 50;
  bool newest_first = true;
};

// What the operator's HTTP API (StatusServer) serves: a broker of its own,
// or a broker group's member, whose reads come from its own replica while it
// follows and whose actions go to the leader (docs/group.md). Every method is
// safe from any thread and none blocks a broker's loop.
class OperatorApi {
 public:
  virtual ~OperatorApi() = default;
  virtual weituo::v1::BrokerStatus GetStatus() const = 0;
  virtual StatusOr<weituo::v1::CommissionPage> ListCommissions(
      const CommissionQuery& query) const = 0;
  virtual StatusOr<weituo::v1::CommissionTrail> Trail(const std::string& commission_id) const = 0;
  virtual StatusOr<weituo::v1::ParkedPage> Parked(size_t limit) const = 0;
  virtual StatusOr<weituo::v1::SupervisionStats> Stats(const StatsQuery& query) const = 0;
  virtual int64_t Now() const = 0;
  virtual std::optional<weituo::v1::ClusterStatus> Cluster() const = 0;
  virtual StatusOr<weituo::v1::ApiReply> SetPaused(const std::string& court, bool paused) = 0;
  virtual StatusOr<weituo::v1::ApiReply> Redrive(const std::string& id) = 0;
  virtual StatusOr<weituo::v1::ApiReply> AdvanceClock(int64_t ms) = 0;
  virtual StatusOr<weituo::v1::ApiReply> Backup() const = 0;
};

class ReadApi;

class Broker final : public OperatorApi {
 public:
  // Opens the store (creating it) and reads the directory's courts. Does not
  // bind yet. DATA_LOSS if the store is damaged or lost acknowledged writes
  // (the message names the files), RESOURCE_EXHAUSTED if its disk is full,
  // INTERNAL if it cannot be opened otherwise (e.g. locked).
  static StatusOr<std::unique_ptr<Broker>> Create(BrokerOptions options, CourtDirectory directory);
  ~Broker();

  // Binds and serves until Stop(). Returns OK after Stop(), or the error
  // that ended it (bind failure). A store write that fails does not end it:
  // the turn is held, its replies unsent, and retried until it commits.
  Status Run();
  void Stop();
  // Rereads the directory file at the loop's next turn: keys added are
  // valid from the next handshake; connections whose key was removed are
  // dropped. A file that does not load is logged and changes nothing.
  void ReloadDirectory();

  // What operators see: the loop's latest snapshot (a few times a second)
  // with each court's oldest pending delivery read from the store now.
  weituo::v1::BrokerStatus GetStatus() const override;

  // Reads of the store, safe from any thread; none blocks the loop.
  // INVALID_ARGUMENT for a limit outside 1..500.
  StatusOr<weituo::v1::CommissionPage> ListCommissions(const CommissionQuery& query) const override;
  // NOT_FOUND for an unknown id.
  StatusOr<weituo::v1::CommissionTrail> Trail(const std::string& commission_id) const override;
  StatusOr<weituo::v1::ParkedPage> Parked(size_t limit) const override;

  // Operator actions, applied by the loop; when they return OK the change is
  // durable. NOT_FOUND for an unknown court or nothing parked under `id`;
  // UNAVAILABLE if the loop does not answer within 10 s.
  // Pausing holds deliveries to the court (its messages stay stored).
  StatusOr<weituo::v1::ApiReply> SetPaused(const std::string& court, bool paused) override;
  // Sends parked messages again: `id` is a delivery id, or a commission id
  // for all of its parked messages.
  StatusOr<weituo::v1::ApiReply> Redrive(const std::string& id) override;
  // Test clock only (FAILED_PRECONDITION otherwise): moves the wall clock
  // forward by `ms` and answers after every deadline then due is reviewed
  // and committed.
  StatusOr<weituo::v1::ApiReply> AdvanceClock(int64_t ms) override;
  // Backs the store up while it runs: a consistent RocksDB checkpoint in a
  // new folder under the backup dir, named by the UTC time. Safe from any
  // thread; it does not stop the loop. The folder opens as a store of its
  // own (restore: the broker's --data-dir pointed at a copy of it).
  StatusOr<weituo::v1::ApiReply> Backup() const override;
  // The broker's wall clock (real time unless a test clock moved it).
  int64_t Now() const override;
  // Reads the store; safe from any thread.
  StatusOr<weituo::v1::SupervisionStats> Stats(const StatsQuery& query) const override;
  // A group's leader: the group as it sees it (GroupHooks::Cluster); nullopt
  // for a broker of its own. Any thread.
  std::optional<weituo::v1::ClusterStatus> Cluster() const override;

 private:
  class Loop;
  explicit Broker(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
  // Over loop_'s store, so declared after it (destroyed before it).
  std::unique_ptr<ReadApi> read_api_;
};

}  // namespace weituo::broker
