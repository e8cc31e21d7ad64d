#pragma once

// One loop turn's writes, what they make visible to the rest of the same
// turn, and the replies that wait for them.
//
// A turn handles many messages; their writes go into one batch, committed
// (synced) once at the turn's end, and nothing is sent before: a reply never
// states what the store does not hold. Until then the store still shows the
// state before the turn, so reads of what this turn changed come from here
// (read-your-writes): records, outbox items acknowledged or parked, request
// outcomes.
//
// Owns: the batch, those three overlays and the replies. Does not own the
// store. Returns Status from the store unchanged (DATA_LOSS for damage,
// NotFound for a commission that does not exist).
//
// Threading: the broker's loop thread only.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "weituo/broker/broker_store.h"

namespace weituo::broker {

class Turn {
 public:
  struct Reply {
    std::string routing_id;
    std::string bytes;
  };

  explicit Turn(BrokerStore& store) : store_(store), batch_(store.NewBatch()) {}
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

  // For writes no later read of this turn depends on (events, timers,
  // indexes, flags, outbox puts).
  BrokerStore::Batch& batch() { return batch_; }

  // ---- Commission records ----
  // As of this turn. NotFound if there is no such commission.
  StatusOr<weituo::v1::CommissionRecord> Record(const std::string& id) const;
  // Changed (or created) in this turn: its trail is not in the store yet.
  bool Changed(const std::string& id) const { return records_.count(id) > 0; }
  // A new commission's record and body, with its index entries.
  const weituo::v1::CommissionRecord& AddRecord(weituo::v1::CommissionRecord record);
  void PutRecord(const weituo::v1::CommissionRecord& record);

  // ---- The outbox ----
  // Acknowledged or parked in this turn: settled, whatever the store says.
  bool Settled(const std::string& court, uint64_t delivery_id) const {
    return settled_.count(OutboxId(court, delivery_id)) > 0;
  }
  // Its item as of this turn: none once settled in it.
  StatusOr<std::optional<weituo::v1::OutboxItem>> Outbox(const std::string& court,
                                                         uint64_t delivery_id,
                                                         bool with_body = true) const;
  // Acknowledged: it leaves the outbox.
  void RemoveFromOutbox(const std::string& court, uint64_t delivery_id);
  // Acknowledged after it was parked: it leaves the parked set.
  void Unpark(const std::string& court, uint64_t delivery_id);
  // Parked: it leaves the outbox for the parked set.
  void Park(const weituo::v1::OutboxItem& parked);

  // ---- Request outcomes (an update's request id, per court) ----
  StatusOr<std::optional<weituo::v1::RequestOutcome>> Request(const std::string& court,
                                                              const std::string& request_id) const;
  void PutRequest(const std::string& court, const std::string& request_id,
                  const weituo::v1::RequestOutcome& outcome);

  // ---- Replies, sent once the turn is committed ----
  void AddReply(std::string routing_id, std::string bytes) {
    replies_.push_back({std::move(routing_id), std::move(bytes)});
  }
  std::vector<Reply> TakeReplies() { return std::exchange(replies_, {}); }

  // Commits the batch (synced if `sync`) and starts the next turn. On
  // failure nothing is lost: the batch, the overlays and the replies stay,
  // for Retry.
  Status Commit(bool sync);
  // After a failed commit: makes the store writable again and commits.
  Status Retry(bool sync);
  // Whether a commit that failed so can succeed if retried: not when the
  // store refused the batch for what it holds (INVALID_ARGUMENT, e.g. a
  // value of 4 GiB or more), only when the store could not write it then
  // (a full disk, an I/O error).
  static bool Retryable(const Status& failed) {
    return failed.code() != StatusCode::kInvalidArgument;
  }
  bool empty() const { return batch_.empty(); }
  size_t writes() const { return batch_.count(); }
  uint64_t bytes() const { return batch_.bytes(); }

 private:
  static std::string OutboxId(const std::string& court, uint64_t delivery_id);
  void Clear();

  BrokerStore& store_;
  BrokerStore::Batch batch_;
  std::unordered_map<std::string, weituo::v1::CommissionRecord> records_;  // by commission id
  std::unordered_set<std::string> settled_;                                // by OutboxId
  std::unordered_map<std::string, weituo::v1::RequestOutcome> requests_;   // by RequestKey
  std::vector<Reply> replies_;
};

}  // namespace weituo::broker
