// The agent's durable state in its own RocksDB (private to the agent
// module). Key layout, one column family each:
//
//   commissions      <commission id>            -> AgentCommission
//   events           <commission id> \0 <be64>  -> Event
//   outbox           <be64 local seq>           -> AgentOutboxEntry
//   outbox_index     <request id>               -> <be64 local seq>
//   requests         <request id>               -> AgentRequest
//   pending_handlers <commission id>            -> "" (handler not yet run)
//   handlers         <commission id>            -> HandlerStatus
//   default          "received" | "events"      -> be64 counters
//
// The be64 numbers (counters, outbox keys and index entries) are checked
// when read: one of another size is DATA_LOSS, not 0.
//
// Thread-safety: as KvStore; callers serialise writes to one key.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weituo/common/kv_store.h"
#include "weituo/v1/store.pb.h"

namespace weituo::agent {

enum AgentCf : int {
  kCfDefault = 0,
  kCfCommissions = 1,
  kCfEvents = 2,
  kCfOutbox = 3,
  kCfOutboxIndex = 4,
  kCfRequests = 5,
  kCfPendingHandlers = 6,
  kCfHandlers = 7,
};

class AgentStore {
 public:
  // accept_loss: KvOptions::accept_loss.
  static StatusOr<std::unique_ptr<AgentStore>> Open(const std::string& path,
                                                    bool accept_loss = false);

  KvStore& kv() { return *kv_; }
  const KvStore& kv() const { return *kv_; }

  StatusOr<std::optional<weituo::v1::AgentCommission>> GetCommission(const std::string& id) const;
  StatusOr<std::vector<weituo::v1::Event>> Events(const std::string& id) const;
  StatusOr<bool> HasEvent(const std::string& id, uint64_t seq) const;
  StatusOr<std::optional<weituo::v1::AgentRequest>> GetRequest(const std::string& id) const;
  StatusOr<std::optional<weituo::v1::HandlerStatus>> GetHandlerStatus(
      const std::string& commission_id) const;
  // The outbox seq of a pending request (commission id for a submit).
  StatusOr<std::optional<uint64_t>> OutboxSeqOf(const std::string& request_id) const;
  StatusOr<uint64_t> Counter(const std::string& name) const;
  // The largest outbox seq in use, 0 if empty.
  StatusOr<uint64_t> LastOutboxSeq() const;

  static std::string EventKey(const std::string& id, uint64_t seq);
  static std::string SeqKey(uint64_t seq);

 private:
  explicit AgentStore(std::unique_ptr<KvStore> kv) : kv_(std::move(kv)) {}
  std::unique_ptr<KvStore> kv_;
};

}  // namespace weituo::agent
