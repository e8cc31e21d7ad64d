#include "weituo/broker/broker_store.h"

#include "weituo/common/keys.h"
#include "weituo/common/records.h"

namespace weituo::broker {

using weituo::v1::CommissionRecord;
using weituo::v1::Event;
using weituo::v1::OutboxItem;
using weituo::v1::RequestOutcome;

namespace {

constexpr char kNextDeliveryIdKey[] = "next_delivery_id";

}  // namespace

std::string EventKey(const std::string& commission_id, uint64_t seq) {
  return PrefixedSeqKey(commission_id, seq);
}

std::string OutboxKey(const std::string& court, uint64_t delivery_id) {
  return PrefixedSeqKey(court, delivery_id);
}

std::string RequestKey(const std::string& court, const std::string& request_id) {
  return PrefixStart(court) + request_id;
}

bool ParseOutboxKey(std::string_view key, std::string* court, uint64_t* delivery_id) {
  if (key.size() < 10 || key[key.size() - 9] != '\0') return false;
  *court = std::string(key.substr(0, key.size() - 9));
  *delivery_id = ReadBigEndian64(key.substr(key.size() - 8));
  return true;
}

StatusOr<std::unique_ptr<BrokerStore>> BrokerStore::Open(const std::string& path) {
  auto kv = KvStore::Open(path, {"commissions", "events", "outbox", "parked", "requests"});
  if (!kv.ok()) return kv.status();
  return std::unique_ptr<BrokerStore>(new BrokerStore(std::move(kv).value()));
}

void BrokerStore::Batch::PutCommission(const CommissionRecord& record) {
  batch_.Put(kCfCommissions, record.commission().id(), record.SerializeAsString());
}

void BrokerStore::Batch::PutEvent(const Event& event) {
  batch_.Put(kCfEvents, EventKey(event.commission_id(), event.seq()), event.SerializeAsString());
}

void BrokerStore::Batch::PutOutbox(const OutboxItem& item) {
  batch_.Put(kCfOutbox, OutboxKey(item.court(), item.deliver().delivery_id()),
             item.SerializeAsString());
}

void BrokerStore::Batch::DeleteOutbox(const std::string& court, uint64_t delivery_id) {
  batch_.Delete(kCfOutbox, OutboxKey(court, delivery_id));
}

void BrokerStore::Batch::PutParked(const OutboxItem& item) {
  batch_.Put(kCfParked, OutboxKey(item.court(), item.deliver().delivery_id()),
             item.SerializeAsString());
}

void BrokerStore::Batch::DeleteParked(const std::string& court, uint64_t delivery_id) {
  batch_.Delete(kCfParked, OutboxKey(court, delivery_id));
}

void BrokerStore::Batch::PutRequest(const std::string& court, const std::string& request_id,
                                    const RequestOutcome& outcome) {
  batch_.Put(kCfRequests, RequestKey(court, request_id), outcome.SerializeAsString());
}

void BrokerStore::Batch::PutNextDeliveryId(uint64_t next) {
  std::string value;
  AppendBigEndian64(&value, next);
  batch_.Put(kCfDefault, kNextDeliveryIdKey, value);
}

Status BrokerStore::Commit(Batch& batch, bool sync) {
  Status s = kv_->Commit(batch.batch_, sync);
  batch.batch_.Clear();
  return s;
}

StatusOr<std::optional<CommissionRecord>> BrokerStore::GetCommission(const std::string& id) const {
  return DecodeRecord<CommissionRecord>(kv_->Get(kCfCommissions, id), "commission");
}

StatusOr<std::optional<Event>> BrokerStore::GetEvent(const std::string& commission_id,
                                                     uint64_t seq) const {
  return DecodeRecord<Event>(kv_->Get(kCfEvents, EventKey(commission_id, seq)), "event");
}

StatusOr<std::vector<Event>> BrokerStore::Events(const std::string& commission_id) const {
  return ScanRecords<Event>(*kv_, kCfEvents, PrefixStart(commission_id), PrefixEnd(commission_id),
                            0, "event");
}

StatusOr<std::optional<OutboxItem>> BrokerStore::GetOutbox(const std::string& court,
                                                           uint64_t delivery_id) const {
  return DecodeRecord<OutboxItem>(kv_->Get(kCfOutbox, OutboxKey(court, delivery_id)), "outbox");
}

StatusOr<std::optional<OutboxItem>> BrokerStore::GetParked(const std::string& court,
                                                           uint64_t delivery_id) const {
  return DecodeRecord<OutboxItem>(kv_->Get(kCfParked, OutboxKey(court, delivery_id)), "parked");
}

StatusOr<std::vector<OutboxItem>> BrokerStore::ScanOutbox(const std::string& court, uint64_t from,
                                                          size_t limit) const {
  return ScanRecords<OutboxItem>(*kv_, kCfOutbox, OutboxKey(court, from), PrefixEnd(court), limit,
                                 "outbox");
}

StatusOr<std::vector<OutboxItem>> BrokerStore::ScanParked(const std::string& court,
                                                          size_t limit) const {
  return ScanRecords<OutboxItem>(*kv_, kCfParked, OutboxKey(court, 0), PrefixEnd(court), limit,
                                 "parked");
}

StatusOr<std::optional<RequestOutcome>> BrokerStore::GetRequest(
    const std::string& court, const std::string& request_id) const {
  return DecodeRecord<RequestOutcome>(kv_->Get(kCfRequests, RequestKey(court, request_id)),
                                      "request");
}

StatusOr<uint64_t> BrokerStore::NextDeliveryId() const {
  auto raw = kv_->Get(kCfDefault, kNextDeliveryIdKey);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return uint64_t{1};
  if ((*raw)->size() != 8) return Status::Internal("corrupt next_delivery_id in the store");
  return ReadBigEndian64(**raw);
}

}  // namespace weituo::broker
