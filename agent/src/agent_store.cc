#include "agent_store.h"

#include "weituo/common/keys.h"
#include "weituo/common/records.h"

namespace weituo::agent {

using weituo::v1::AgentCommission;
using weituo::v1::AgentRequest;
using weituo::v1::Event;

namespace {

// A number the agent wrote as eight bytes and now reads as another size:
// read as 0 it would restart a counter or an outbox sequence over stored
// entries, so it is damage, reported with what it was.
Status Damaged(const std::string& what, const std::string& raw) {
  return Status::DataLoss("corrupt " + what + " in the agent's store: " +
                          std::to_string(raw.size()) + " bytes where 8 were written");
}

}  // namespace

std::string AgentStore::EventKey(const std::string& id, uint64_t seq) {
  return PrefixedSeqKey(id, seq);
}

std::string AgentStore::SeqKey(uint64_t seq) {
  std::string key;
  AppendBigEndian64(&key, seq);
  return key;
}

StatusOr<std::unique_ptr<AgentStore>> AgentStore::Open(const std::string& path, bool accept_loss) {
  KvOptions options;
  options.accept_loss = accept_loss;
  options.block_cache_bytes = 8 << 20;
  WEITUO_ASSIGN_OR_RETURN(auto kv, KvStore::Open(path,
                                                 {"commissions", "events", "outbox", "outbox_index",
                                                  "requests", "pending_handlers", "handlers"},
                                                 options));
  return std::unique_ptr<AgentStore>(new AgentStore(std::move(kv)));
}

StatusOr<std::optional<AgentCommission>> AgentStore::GetCommission(const std::string& id) const {
  return DecodeRecord<AgentCommission>(*kv_, kCfCommissions, id, "commission");
}

StatusOr<std::vector<Event>> AgentStore::Events(const std::string& id) const {
  return ScanRecords<Event>(*kv_, kCfEvents, PrefixStart(id), PrefixEnd(id), 0, "event");
}

StatusOr<bool> AgentStore::HasEvent(const std::string& id, uint64_t seq) const {
  WEITUO_ASSIGN_OR_RETURN(auto raw, kv_->Get(kCfEvents, EventKey(id, seq)));
  return raw.has_value();
}

StatusOr<std::optional<AgentRequest>> AgentStore::GetRequest(const std::string& id) const {
  return DecodeRecord<AgentRequest>(*kv_, kCfRequests, id, "request");
}

StatusOr<std::optional<weituo::v1::HandlerStatus>> AgentStore::GetHandlerStatus(
    const std::string& commission_id) const {
  return DecodeRecord<weituo::v1::HandlerStatus>(*kv_, kCfHandlers, commission_id,
                                                 "handler status");
}

StatusOr<std::optional<uint64_t>> AgentStore::OutboxSeqOf(const std::string& request_id) const {
  WEITUO_ASSIGN_OR_RETURN(auto raw, kv_->Get(kCfOutboxIndex, request_id));
  if (!raw.has_value()) return std::optional<uint64_t>();
  if (raw->size() != 8) return Damaged("outbox index entry of request " + request_id, *raw);
  return std::optional<uint64_t>(ReadBigEndian64(*raw));
}

StatusOr<uint64_t> AgentStore::Counter(const std::string& name) const {
  WEITUO_ASSIGN_OR_RETURN(auto raw, kv_->Get(kCfDefault, name));
  if (!raw.has_value()) return uint64_t{0};
  if (raw->size() != 8) return Damaged("counter '" + name + "'", *raw);
  return ReadBigEndian64(*raw);
}

StatusOr<uint64_t> AgentStore::LastOutboxSeq() const {
  WEITUO_ASSIGN_OR_RETURN(auto last, kv_->LastKey(kCfOutbox, "", ""));
  if (!last.has_value()) return uint64_t{0};
  if (last->size() != 8) return Damaged("outbox key", *last);
  return ReadBigEndian64(*last);
}

}  // namespace weituo::agent
