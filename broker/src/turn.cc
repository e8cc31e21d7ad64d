#include "turn.h"

namespace weituo::broker {

using weituo::v1::CommissionRecord;
using weituo::v1::OutboxItem;
using weituo::v1::RequestOutcome;

std::string Turn::OutboxId(const std::string& court, uint64_t delivery_id) {
  return OutboxKey(court, delivery_id);
}

StatusOr<CommissionRecord> Turn::Record(const std::string& id) const {
  if (auto it = records_.find(id); it != records_.end()) return it->second;
  auto stored = store_.GetCommission(id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return Status::NotFound("no commission " + id);
  return std::move(**stored);
}

const CommissionRecord& Turn::AddRecord(CommissionRecord record) {
  batch_.PutNewCommission(record);
  batch_.IndexNew(record);
  const std::string id = record.commission().id();
  return records_[id] = std::move(record);
}

void Turn::PutRecord(const CommissionRecord& record) {
  batch_.PutCommission(record);
  records_[record.commission().id()] = record;
}

StatusOr<std::optional<OutboxItem>> Turn::Outbox(const std::string& court, uint64_t delivery_id,
                                                 bool with_body) const {
  if (Settled(court, delivery_id)) return std::optional<OutboxItem>();
  return store_.GetOutbox(court, delivery_id, with_body);
}

void Turn::RemoveFromOutbox(const std::string& court, uint64_t delivery_id) {
  batch_.DeleteOutbox(court, delivery_id);
  settled_.insert(OutboxId(court, delivery_id));
}

void Turn::Unpark(const std::string& court, uint64_t delivery_id) {
  batch_.DeleteParked(court, delivery_id);
  settled_.insert(OutboxId(court, delivery_id));
}

void Turn::Park(const OutboxItem& parked) {
  const std::string& court = parked.court();
  const uint64_t delivery_id = parked.deliver().delivery_id();
  batch_.DeleteOutbox(court, delivery_id);
  batch_.PutParked(parked);
  settled_.insert(OutboxId(court, delivery_id));
}

StatusOr<std::optional<RequestOutcome>> Turn::Request(const std::string& court,
                                                      const std::string& request_id) const {
  if (auto it = requests_.find(RequestKey(court, request_id)); it != requests_.end()) {
    return std::optional<RequestOutcome>(it->second);
  }
  return store_.GetRequest(court, request_id);
}

void Turn::PutRequest(const std::string& court, const std::string& request_id,
                      const RequestOutcome& outcome) {
  batch_.PutRequest(court, request_id, outcome);
  requests_[RequestKey(court, request_id)] = outcome;
}

Status Turn::Commit(bool sync) {
  if (!batch_.empty()) WEITUO_RETURN_IF_ERROR(store_.Commit(batch_, sync));
  Clear();
  return Status::Ok();
}

Status Turn::Retry(bool sync) {
  WEITUO_RETURN_IF_ERROR(store_.Resume());
  return Commit(sync);
}

void Turn::Clear() {
  records_.clear();
  settled_.clear();
  requests_.clear();
}

}  // namespace weituo::broker
