#pragma once

// The read API: what the operator's HTTP thread serves from the broker's
// store (pages of commissions, one commission's trail, parked messages,
// supervision statistics, a backup) and the loop's status snapshot completed
// with each court's oldest pending delivery.
//
// Owns: nothing of the store (it must outlive this); the last reading of each
// court's oldest pending messages.
//
// Threading: any thread, several at once, concurrently with the loop. Every
// method reads only what the loop has committed (RocksDB reads and
// checkpoints, never the loop's turn in progress) and never waits on the
// loop, so none blocks it.

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "weituo/broker/broker.h"
#include "weituo/broker/broker_store.h"
#include "weituo/common/directory.h"
#include "weituo/common/status.h"
#include "weituo/v1/status.pb.h"

namespace weituo::broker {

class ReadApi {
 public:
  // Takes from `options` the overdue cut-off and where backups go
  // (backup_dir, else "<data_dir>-backups").
  ReadApi(const BrokerStore& store, const BrokerOptions& options);

  // The loop's `snapshot` as operators see it at `now` (the broker's wall
  // clock): its uptime; not ready if the loop has not published for 5 s; and
  // each court with messages pending given the age of its oldest and how
  // many are overdue. The oldest are read from the store at most once a
  // second however often this is called (sooner when a court with messages
  // pending has no reading yet); ages count from that reading.
  weituo::v1::BrokerStatus CompleteStatus(weituo::v1::BrokerStatus snapshot, int64_t now) const;

  // A page of commission records with their commissions, filtered by court,
  // state and kind; next_after is set when the page is full or its bounded
  // read of the index ran out, to go on from. INVALID_ARGUMENT for a limit
  // outside 1..500; DATA_LOSS for a record that does not parse.
  StatusOr<weituo::v1::CommissionPage> ListCommissions(const CommissionQuery& query) const;

  // A commission's record and its trail up to the event the record names
  // as its last, checked as weituoctl verify checks it. INVALID_ARGUMENT
  // for an id that is not a ULID, NOT_FOUND for an unknown one, DATA_LOSS
  // (recorded as store damage) for a trail that fails its check: a trail
  // edited in the store is reported, never served as if whole.
  StatusOr<weituo::v1::CommissionTrail> Trail(const std::string& commission_id) const;

  // Up to `limit` parked messages of every court, by court then delivery id.
  StatusOr<weituo::v1::ParkedPage> Parked(size_t limit) const;

  // Supervision statistics (ComputeStats) for the courts of `directory`.
  StatusOr<weituo::v1::SupervisionStats> Stats(const CourtDirectory& directory,
                                               const StatsQuery& query, int64_t now) const;

  // A consistent RocksDB checkpoint in a new folder "store-<UTC time>Z"
  // under the backup folder (made owner-only: it holds personal data), named
  // by the real time whatever clock the broker runs on. The folder opens as
  // a store of its own. INTERNAL if the backup folder cannot be made,
  // UNAVAILABLE if a backup of the same millisecond exists, the checkpoint's
  // error otherwise.
  StatusOr<weituo::v1::ApiReply> Backup() const;

 private:
  const BrokerStore& store_;
  const int64_t overdue_after_ms_;
  const std::string backup_root_;

  // The last reading of each court's oldest pending messages.
  mutable std::mutex oldest_mu_;
  mutable int64_t oldest_read_at_ms_ = 0;                      // GUARDED_BY(oldest_mu_)
  mutable std::map<std::string, BrokerStore::Oldest> oldest_;  // GUARDED_BY(oldest_mu_)
};

}  // namespace weituo::broker
