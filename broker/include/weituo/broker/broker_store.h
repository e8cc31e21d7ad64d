// The broker's durable state in RocksDB: commissions, their trails, the
// per-court outbox of messages pending acknowledgement, parked messages and
// the outcomes of updates (for idempotent resends). Key layout, one column
// family each (docs/storage.md):
//
//   commissions  <commission id>                    -> CommissionRecord
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
};

std::string EventKey(const std::string& commission_id, uint64_t seq);
std::string OutboxKey(const std::string& court, uint64_t delivery_id);
std::string RequestKey(const std::string& court, const std::string& request_id);
// Parses an outbox or parked key; false if malformed.
bool ParseOutboxKey(std::string_view key, std::string* court, uint64_t* delivery_id);

class BrokerStore {
 public:
  static StatusOr<std::unique_ptr<BrokerStore>> Open(const std::string& path);

  // Writes queued for one group commit.
  class Batch {
   public:
    void PutCommission(const weituo::v1::CommissionRecord& record);
    void PutEvent(const weituo::v1::Event& event);
    void PutOutbox(const weituo::v1::OutboxItem& item);
    void DeleteOutbox(const std::string& court, uint64_t delivery_id);
    void PutParked(const weituo::v1::OutboxItem& item);
    void DeleteParked(const std::string& court, uint64_t delivery_id);
    void PutRequest(const std::string& court, const std::string& request_id,
                    const weituo::v1::RequestOutcome& outcome);
    void PutNextDeliveryId(uint64_t next);
    bool empty() const { return batch_.Count() == 0; }
    size_t count() const { return batch_.Count(); }

   private:
    friend class BrokerStore;
    explicit Batch(WriteBatch batch) : batch_(std::move(batch)) {}
    WriteBatch batch_;
  };

  Batch NewBatch() const { return Batch(kv_->NewBatch()); }
  // Atomic; with sync the WAL is on disk when this returns OK.
  Status Commit(Batch& batch, bool sync);

  StatusOr<std::optional<weituo::v1::CommissionRecord>> GetCommission(const std::string& id) const;
  StatusOr<std::optional<weituo::v1::Event>> GetEvent(const std::string& commission_id,
                                                      uint64_t seq) const;
  // The trail in seq order.
  StatusOr<std::vector<weituo::v1::Event>> Events(const std::string& commission_id) const;
  StatusOr<std::optional<weituo::v1::OutboxItem>> GetOutbox(const std::string& court,
                                                            uint64_t delivery_id) const;
  StatusOr<std::optional<weituo::v1::OutboxItem>> GetParked(const std::string& court,
                                                            uint64_t delivery_id) const;
  // Up to `limit` items of `court` with delivery id >= from, in order.
  StatusOr<std::vector<weituo::v1::OutboxItem>> ScanOutbox(const std::string& court, uint64_t from,
                                                           size_t limit) const;
  StatusOr<std::vector<weituo::v1::OutboxItem>> ScanParked(const std::string& court,
                                                           size_t limit) const;
  StatusOr<std::optional<weituo::v1::RequestOutcome>> GetRequest(
      const std::string& court, const std::string& request_id) const;
  // 1 on a new store.
  StatusOr<uint64_t> NextDeliveryId() const;

  uint64_t ApproximateSizeBytes() const { return kv_->ApproximateSizeBytes(); }

 private:
  explicit BrokerStore(std::unique_ptr<KvStore> kv) : kv_(std::move(kv)) {}
  std::unique_ptr<KvStore> kv_;
};

}  // namespace weituo::broker
