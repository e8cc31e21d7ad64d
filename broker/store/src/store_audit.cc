// The audit of a whole broker store (BrokerStore::VerifyTrail, what
// `weituoctl verify --data-dir` runs): every trail against its record, every
// record against its trail and the state counts, and the global chain
// against the head the broker last committed.
#include <algorithm>
#include <unordered_map>

#include "weituo/broker/broker_store.h"
#include "weituo/common/keys.h"
#include "weituo/common/records.h"
#include "weituo/common/trail_hash.h"
#include "weituo/common/wire.h"

namespace weituo::broker {

using weituo::v1::CommissionRecord;
using weituo::v1::Event;

StatusOr<BrokerStore::Audit> BrokerStore::VerifyTrail() const {
  Audit audit;
  WEITUO_RETURN_IF_ERROR(VerifyTrails(audit));
  if (audit.broken.empty()) WEITUO_RETURN_IF_ERROR(VerifyRecords(audit));
  if (audit.broken.empty()) WEITUO_RETURN_IF_ERROR(VerifyChain(audit));
  return audit;
}

// Each commission's trail, in key order (commission id, seq), against its
// record: CheckTrail over the events of one commission at a time.
Status BrokerStore::VerifyTrails(Audit& audit) const {
  std::vector<Event> trail;
  auto check = [&]() -> Status {
    if (trail.empty()) return Status::Ok();
    const std::string id = trail.front().commission_id();
    WEITUO_ASSIGN_OR_RETURN(auto record, GetCommission(id));
    audit.commissions++;
    if (!record.has_value()) {
      audit.broken = "commission " + id + ": a trail without a record";
    } else {
      TrailCheck checked = CheckTrail(trail, record->last_seq(), record->last_hash());
      audit.unchained += checked.unchained;
      audit.chained += trail.size() - checked.unchained;
      if (!checked.broken.empty()) audit.broken = checked.Where(id);
    }
    trail.clear();
    return Status::Ok();
  };
  Status read = Status::Ok();
  Status s = kv_->Scan(kCfEvents, "", "", 0, [&](std::string_view key, std::string_view value) {
    Event e;
    if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      audit.broken = "an event under key " + Hex(key) + " cannot be read";
      return false;
    }
    if (!trail.empty() && e.commission_id() != trail.front().commission_id()) {
      read = check();
      if (!read.ok() || !audit.broken.empty()) return false;
    }
    audit.events++;
    trail.push_back(std::move(e));
    return true;
  });
  WEITUO_RETURN_IF_ERROR(s);
  WEITUO_RETURN_IF_ERROR(read);
  if (audit.broken.empty()) return check();
  return Status::Ok();
}

// Every record has a trail (whose first event VerifyTrails has checked),
// and the state counts add up to the records.
Status BrokerStore::VerifyRecords(Audit& audit) const {
  Status read = Status::Ok();
  Status s = kv_->Scan(kCfCommissions, "", "", 0, [&](std::string_view key, std::string_view) {
    audit.records++;
    auto first = kv_->Get(kCfEvents, EventKey(std::string(key), 1));
    if (!first.ok()) {
      read = first.status();
      return false;
    }
    if (!first->has_value()) {
      audit.broken = "commission " + std::string(key) + ": a record without a trail";
      return false;
    }
    return true;
  });
  WEITUO_RETURN_IF_ERROR(s);
  WEITUO_RETURN_IF_ERROR(read);
  if (!audit.broken.empty()) return Status::Ok();
  WEITUO_ASSIGN_OR_RETURN(auto counts, StateCounts());
  uint64_t counted = 0;
  for (const auto& [state, n] : counts.by_state()) counted += n;
  if (counted != audit.records) {
    audit.broken = "the broker counted " + std::to_string(counted) +
                   " commissions but the store holds " + std::to_string(audit.records) +
                   (counted > audit.records ? " (commissions were removed)" : "");
  }
  return Status::Ok();
}

// The global chain: every link follows the one before and names a stored
// event with that very hash, each commission's events in seq order; there
// are as many links as chained events; and the last is the head the broker
// last committed.
Status BrokerStore::VerifyChain(Audit& audit) const {
  std::string prev;
  uint64_t expected = 1;
  std::unordered_map<std::string, uint64_t> last_seq;  // per commission, in the chain
  Status read = Status::Ok();
  Status s = kv_->Scan(kCfChain, "", "", 0, [&](std::string_view key, std::string_view value) {
    weituo::v1::ChainLink link;
    uint64_t position = key.size() == 8 ? ReadBigEndian64(key) : 0;
    std::string where = "chain link " + std::to_string(position);
    if (position != expected ||
        !link.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      audit.broken =
          where + ": missing or unreadable (expected link " + std::to_string(expected) + ")";
      return false;
    }
    ++expected;
    audit.links++;
    if (link.prev() != prev || LinkHash(link.prev(), link.event_hash()) != link.hash()) {
      audit.broken = where + ": does not follow link " + std::to_string(position - 1);
      return false;
    }
    const std::string event = "event " + link.commission_id() + "#" + std::to_string(link.seq());
    uint64_t& seen = last_seq[link.commission_id()];
    auto stored = GetEvent(link.commission_id(), link.seq());
    if (!stored.ok()) {
      read = stored.status();
      return false;
    }
    if (link.seq() <= seen || !stored->has_value() || (*stored)->hash() != link.event_hash()) {
      audit.broken = where + ": " + event + " is missing or not the event chained here";
      return false;
    }
    seen = link.seq();
    prev = link.hash();
    return true;
  });
  WEITUO_RETURN_IF_ERROR(s);
  WEITUO_RETURN_IF_ERROR(read);
  if (!audit.broken.empty()) return Status::Ok();
  if (audit.links != audit.chained) {
    audit.broken = std::to_string(audit.chained) + " chained events but " +
                   std::to_string(audit.links) + " links of the global chain";
    return Status::Ok();
  }
  WEITUO_ASSIGN_OR_RETURN(auto head, CommittedChainHead());
  if (!head.has_value()) {
    if (audit.links > 0) audit.broken = "the chain head the broker commits is missing";
    return Status::Ok();
  }
  if (head->position() != audit.links || head->hash() != prev) {
    audit.broken = "the global chain ends at link " + std::to_string(audit.links) +
                   " but the broker last committed link " + std::to_string(head->position()) +
                   (head->position() > audit.links ? " (the newest were removed)" : "");
  }
  return Status::Ok();
}

}  // namespace weituo::broker
