// The broker's durable state in RocksDB: commissions, their trails, the
// per-court outbox of messages pending acknowledgement, parked messages and
// the outcomes of updates (for idempotent resends). Key layout, one column
// family each (docs/storage.md):
//
//   commissions  <commission id>                    -> CommissionRecord, without
//                                                      its commission (the body)
//   bodies       <commission id>                    -> Commission, written once
//   events       <commission id> \0 <be64 seq>      -> Event
//   outbox       <court id> \0 <be64 delivery id>   -> OutboxItem
//   parked       <court id> \0 <be64 delivery id>   -> OutboxItem (park_reason set)
//   requests     <court id> \0 <request id>         -> RequestOutcome
//   default      "next_delivery_id"                 -> be64
//
// Nothing is loaded wholesale: every read is a point lookup or a bounded
// scan. Thread-safety: reads are safe from any thread; writes go through a
// Batch owned by the broker's loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weituo/common/kv_store.h"
#include "weituo/common/status.h"
#include "weituo/v1/store.pb.h"

namespace weituo::broker {

// Column families in KvStore order.
enum BrokerCf : int {
  kCfDefault = 0,
  kCfCommissions = 1,
  kCfEvents = 2,
  kCfOutbox = 3,
  kCfParked = 4,
  kCfRequests = 5,
  // Secondary index, empty values:
  //   'c' court '\0' commission_id : a commission the court originated or is target of
  //   's' state-byte commission_id  : a commission in that state
  //   't' be64 submitted_at_ms id    : by submission time (statistics)
  kCfIndex = 6,
  kCfChain = 7,  // ChainLink by position (big-endian u64)
  // Deadline reviews due: be64 due_ms, commission id -> empty. A commission
  // has at most one, named by its record's next_check_ms.
  kCfTimers = 8,
  // The commission itself, as submitted (target resolved): written once, at
  // submission, so that each later change rewrites only the small record.
  kCfBodies = 9,
};

std::string EventKey(const std::string& commission_id, uint64_t seq);
std::string OutboxKey(const std::string& court, uint64_t delivery_id);
std::string RequestKey(const std::string& court, const std::string& request_id);
// Parses an outbox or parked key; false if malformed.
bool ParseOutboxKey(std::string_view key, std::string* court, uint64_t* delivery_id);

// Fills the record's fields that statistics read (accepted_at_ms, handler,
// closed_at_ms, result, return_reason, deemed_withdrawn) from its trail,
// where they are not set yet: for stores written before the broker kept them.
void BackfillFromTrail(const std::vector<weituo::v1::Event>& events,
                       weituo::v1::CommissionRecord* record);

class BrokerStore {
 public:
  // accept_loss: KvOptions::accept_loss.
  static StatusOr<std::unique_ptr<BrokerStore>> Open(const std::string& path,
                                                     bool accept_loss = false);
  // Reads only, beside a running broker (what it had written when opened).
  static StatusOr<std::unique_ptr<BrokerStore>> OpenReadOnly(const std::string& path);

  // Writes queued for one group commit.
  class Batch {
   public:
    // A new commission: its body and its record.
    void PutNewCommission(const weituo::v1::CommissionRecord& record);
    // A changed record; the body, which never changes, is not written again.
    void PutCommission(const weituo::v1::CommissionRecord& record);
    void PutEvent(const weituo::v1::Event& event);
    // An item delivering a commission is stored without it (body_elided):
    // reads fill it back from the body.
    void PutOutbox(const weituo::v1::OutboxItem& item);
    void DeleteOutbox(const std::string& court, uint64_t delivery_id);
    void PutParked(const weituo::v1::OutboxItem& item);
    void DeleteParked(const std::string& court, uint64_t delivery_id);
    void PutRequest(const std::string& court, const std::string& request_id,
                    const weituo::v1::RequestOutcome& outcome);
    void PutNextDeliveryId(uint64_t next);
    // Index entries of a new commission (by both courts and by state), and
    // the move of one from `from` to its record's state.
    void IndexNew(const weituo::v1::CommissionRecord& record);
    void IndexState(const std::string& commission_id, weituo::v1::State from, weituo::v1::State to);
    void PutStateCounts(const weituo::v1::StateCounts& counts);
    void PutPaused(const std::string& court, bool paused);
    void PutChainLink(uint64_t position, const weituo::v1::ChainLink& link);
    // The chain's last link as of this batch (once per batch that extends it).
    void PutChainHead(uint64_t position, const std::string& hash);
    void PutTimer(int64_t due_ms, const std::string& commission_id);
    void DeleteTimer(int64_t due_ms, const std::string& commission_id);
    // A court flagged to its supervisor as offline since `since_ms`; 0 clears it.
    void PutOfflineFlag(const std::string& court, int64_t since_ms);
    bool empty() const { return batch_.Count() == 0; }
    size_t count() const { return batch_.Count(); }
    size_t bytes() const { return batch_.ByteSize(); }  // its size as written to the WAL

   private:
    friend class BrokerStore;
    explicit Batch(WriteBatch batch) : batch_(std::move(batch)) {}
    WriteBatch batch_;
  };

  Batch NewBatch() const { return Batch(kv_->NewBatch()); }
  // Atomic; with sync the WAL is on disk when this returns OK. The batch is
  // cleared on success and kept on failure, to be committed again.
  Status Commit(Batch& batch, bool sync);
  // A consistent copy of the store, while it runs (KvStore::Checkpoint).
  Status Checkpoint(const std::string& dir) const { return kv_->Checkpoint(dir); }

  // The record with its commission (two point reads).
  StatusOr<std::optional<weituo::v1::CommissionRecord>> GetCommission(const std::string& id) const;
  StatusOr<std::optional<weituo::v1::Event>> GetEvent(const std::string& commission_id,
                                                      uint64_t seq) const;
  // The trail in seq order.
  StatusOr<std::vector<weituo::v1::Event>> Events(const std::string& commission_id) const;
  // With `with_body` false, a commission delivered may have only its id
  // (body_elided stays set).
  StatusOr<std::optional<weituo::v1::OutboxItem>> GetOutbox(const std::string& court,
                                                            uint64_t delivery_id,
                                                            bool with_body = true) const;
  StatusOr<std::optional<weituo::v1::OutboxItem>> GetParked(const std::string& court,
                                                            uint64_t delivery_id) const;
  // Up to `limit` items of `court` with delivery id >= from, in order.
  StatusOr<std::vector<weituo::v1::OutboxItem>> ScanOutbox(const std::string& court, uint64_t from,
                                                           size_t limit,
                                                           bool with_body = true) const;
  // The Envelope that delivers `item`, encoded. A commission whose body the
  // item names is spliced in as stored, never decoded and encoded again.
  StatusOr<std::string> DeliveryFrame(const weituo::v1::OutboxItem& item) const;
  StatusOr<std::vector<weituo::v1::OutboxItem>> ScanParked(const std::string& court,
                                                           size_t limit) const;
  StatusOr<std::optional<weituo::v1::RequestOutcome>> GetRequest(
      const std::string& court, const std::string& request_id) const;
  // 1 on a new store; DATA_LOSS if the stored number is damaged.
  StatusOr<uint64_t> NextDeliveryId() const;
  StatusOr<weituo::v1::StateCounts> StateCounts() const;
  // The last link of the global chain and its position; position 0 if none.
  StatusOr<std::pair<uint64_t, weituo::v1::ChainLink>> LastChainLink() const;
  // The last link as the broker last committed it; nullopt on a store
  // written before the head was kept.
  StatusOr<std::optional<weituo::v1::ChainHead>> CommittedChainHead() const;
  // Proves the whole store: every commission's trail (CheckTrail) against
  // its record, every record with a trail and the state counts adding up
  // to them, and the global chain linking every chained event once, up to
  // the head last committed. OK with `broken` empty if all hold; else
  // `broken` names the first break. An error if the store cannot be read
  // (DATA_LOSS for corruption RocksDB finds).
  struct Audit {
    uint64_t events = 0;
    uint64_t commissions = 0;  // with a trail
    uint64_t records = 0;
    uint64_t links = 0;
    uint64_t chained = 0;
    uint64_t unchained = 0;  // events stored before the trail was chained
    std::string broken;
  };
  StatusOr<Audit> VerifyTrail() const;

  // The damage this store has met since it was opened (KvStore::damage).
  StoreDamage damage() const { return kv_->damage(); }
  // Records damage found above the store (a trail that fails its check);
  // returns it as DATA_LOSS.
  Status Damaged(std::string what) const;
  // After a failed write (KvStore::Resume).
  Status Resume() { return kv_->Resume(); }
  const std::string& recovery_note() const { return kv_->recovery_note(); }
  // Courts whose deliveries an operator paused.
  StatusOr<std::vector<std::string>> PausedCourts() const;
  // Courts flagged to their supervisor as offline, with since when.
  StatusOr<std::map<std::string, int64_t>> OfflineFlags() const;
  // Up to `limit` deadline timers due in [from_ms, now_ms], earliest first.
  StatusOr<std::vector<std::pair<int64_t, std::string>>> DueTimers(int64_t from_ms, int64_t now_ms,
                                                                   size_t limit) const;
  // Calls fn for each commission submitted in [from_ms, to_ms), in
  // submission order, visiting at most `budget` index entries (0: no
  // limit); stops when fn returns false.
  Status ScanSubmitted(int64_t from_ms, int64_t to_ms, size_t budget,
                       const std::function<bool(const weituo::v1::CommissionRecord&)>& fn) const;
  // Builds the index (by court, state and submission time), the state
  // counts and a deadline timer per open commission if the store predates
  // them, and moves commissions out of records into bodies; a no-op once
  // done. DATA_LOSS at a record that does not parse.
  Status MigrateIndex();

  // Commission ids through the index, visiting at most `budget` entries:
  // `court` and/or `state` may be empty (no index: all commissions, by id).
  // Calls fn(id) in id order (reverse if newest_first), strictly after
  // `after` (before it, if newest_first); stops when fn returns false.
  // Returns the last id visited.
  StatusOr<std::string> ScanCommissionIds(const std::string& court, weituo::v1::State state,
                                          const std::string& after, bool newest_first,
                                          size_t budget,
                                          const std::function<bool(const std::string&)>& fn) const;
  // All parked items of every court, by court then delivery id.
  StatusOr<std::vector<weituo::v1::OutboxItem>> AllParked(size_t limit) const;
  // Pending (outbox) and parked messages per court, counted.
  StatusOr<std::map<std::string, uint64_t>> CountOutbox() const;
  struct Oldest {
    int64_t enqueued_at_ms = 0;  // of the court's oldest pending message; 0 if none
    uint64_t overdue = 0;        // pending messages enqueued before the cut-off, at most `cap`
  };
  // Reads the court's outbox from its oldest message until one enqueued at
  // or after `overdue_before_ms` (delivery ids grow with time). DATA_LOSS
  // at an item that does not parse.
  StatusOr<Oldest> OldestPending(const std::string& court, int64_t overdue_before_ms,
                                 size_t cap) const;
  StatusOr<std::map<std::string, uint64_t>> CountParked() const;

  uint64_t ApproximateSizeBytes() const { return kv_->ApproximateSizeBytes(); }
  // The store underneath, for a group's replication (its commit numbers,
  // terms and batches; docs/group.md). Nothing else writes through it.
  KvStore& kv() const { return *kv_; }

 private:
  explicit BrokerStore(std::unique_ptr<KvStore> kv) : kv_(std::move(kv)) {}
  // index_version 2 -> 3: each record's commission into CF "bodies".
  Status MoveBodies();
  // Puts an elided commission back into `item`; false if its body is gone.
  Status FillBody(weituo::v1::OutboxItem& item, bool with_body) const;
  // The parts of VerifyTrail.
  Status VerifyTrails(Audit& audit) const;
  Status VerifyRecords(Audit& audit) const;
  Status VerifyChain(Audit& audit) const;
  std::unique_ptr<KvStore> kv_;
};

}  // namespace weituo::broker
