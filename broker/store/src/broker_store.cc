#include "weituo/broker/broker_store.h"

#include <algorithm>
#include <unordered_map>

#include "weituo/common/keys.h"
#include "weituo/common/lifecycle.h"
#include "weituo/common/records.h"
#include "weituo/common/trail_hash.h"
#include "weituo/common/wire.h"

namespace weituo::broker {

using weituo::v1::CommissionRecord;
using weituo::v1::Event;
using weituo::v1::OutboxItem;
using weituo::v1::RequestOutcome;

namespace {

constexpr char kNextDeliveryIdKey[] = "next_delivery_id";
constexpr char kStateCountsKey[] = "state_counts";
constexpr char kChainHeadKey[] = "chain_head";
constexpr char kPausedPrefix[] = "paused/";
constexpr char kFlaggedPrefix[] = "offline_flagged/";
// 2: the index has 't' (by submission time) entries and every open
// commission has a deadline timer. 3: commissions live in CF "bodies", and
// records and outbox items name them.
constexpr char kIndexVersionKey[] = "index_version";
constexpr char kIndexVersion[] = "3";

std::string SubmittedIndexKey(int64_t submitted_at_ms, const std::string& id) {
  std::string key = "t";
  AppendBigEndian64(&key, static_cast<uint64_t>(submitted_at_ms));
  return key + id;
}

std::string TimerKey(int64_t due_ms, const std::string& id) {
  std::string key;
  AppendBigEndian64(&key, static_cast<uint64_t>(due_ms));
  return key + id;
}

std::string CourtIndexKey(const std::string& court, const std::string& id) {
  return "c" + PrefixStart(court) + id;
}

std::string StateIndexPrefix(weituo::v1::State state) {
  return std::string("s") + static_cast<char>(state);
}

// Just past every key that starts with `prefix` (whose last byte is < 0xff).
std::string PrefixSuccessor(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

// In the order of the kCf* numbers.
std::vector<std::string> ColumnFamilies() {
  return {"commissions", "events", "outbox", "parked", "requests",
          "index",       "chain",  "timers", "bodies"};
}

// The record without its commission. The record is only borrowed: its
// commission is lent out and put back, which moves pointers and copies
// nothing, instead of copying the record to clear one field.
std::string StateBytes(const CommissionRecord& record) {
  auto& lent = const_cast<CommissionRecord&>(record);
  if (!lent.has_commission()) return lent.SerializeAsString();
  weituo::v1::Commission* body = lent.release_commission();
  std::string bytes = lent.SerializeAsString();
  lent.set_allocated_commission(body);
  return bytes;
}

// The item with only the id of the commission it delivers.
std::string ElidedBytes(const OutboxItem& item) {
  if (!item.deliver().has_commission() || item.body_elided()) return item.SerializeAsString();
  auto& lent = const_cast<OutboxItem&>(item);
  weituo::v1::Commission* body = lent.mutable_deliver()->release_commission();
  lent.mutable_deliver()->mutable_commission()->set_id(body->id());
  lent.set_body_elided(true);
  std::string bytes = lent.SerializeAsString();
  lent.set_body_elided(false);
  lent.mutable_deliver()->set_allocated_commission(body);
  return bytes;
}

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

StatusOr<std::unique_ptr<BrokerStore>> BrokerStore::Open(const std::string& path,
                                                         bool accept_loss) {
  KvOptions options;
  options.accept_loss = accept_loss;
  // Index and filter blocks of every table are in the cache (KvStore): at
  // ten million commissions they alone are some tens of MiB.
  options.block_cache_bytes = size_t{128} << 20;
  WEITUO_ASSIGN_OR_RETURN(auto kv, KvStore::Open(path, ColumnFamilies(), options));
  return std::unique_ptr<BrokerStore>(new BrokerStore(std::move(kv)));
}

StatusOr<std::unique_ptr<BrokerStore>> BrokerStore::OpenReadOnly(const std::string& path) {
  KvOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  WEITUO_ASSIGN_OR_RETURN(auto kv, KvStore::Open(path, ColumnFamilies(), options));
  return std::unique_ptr<BrokerStore>(new BrokerStore(std::move(kv)));
}

void BrokerStore::Batch::PutNewCommission(const CommissionRecord& record) {
  batch_.Put(kCfBodies, record.commission().id(), record.commission().SerializeAsString());
  PutCommission(record);
}

void BrokerStore::Batch::PutCommission(const CommissionRecord& record) {
  batch_.Put(kCfCommissions, record.commission().id(), StateBytes(record));
}

void BrokerStore::Batch::PutEvent(const Event& event) {
  batch_.Put(kCfEvents, EventKey(event.commission_id(), event.seq()), event.SerializeAsString());
}

void BrokerStore::Batch::PutOutbox(const OutboxItem& item) {
  batch_.Put(kCfOutbox, OutboxKey(item.court(), item.deliver().delivery_id()), ElidedBytes(item));
}

void BrokerStore::Batch::DeleteOutbox(const std::string& court, uint64_t delivery_id) {
  batch_.Delete(kCfOutbox, OutboxKey(court, delivery_id));
}

void BrokerStore::Batch::PutParked(const OutboxItem& item) {
  batch_.Put(kCfParked, OutboxKey(item.court(), item.deliver().delivery_id()), ElidedBytes(item));
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

void BrokerStore::Batch::IndexNew(const CommissionRecord& record) {
  const auto& c = record.commission();
  batch_.Put(kCfIndex, CourtIndexKey(c.origin_court(), c.id()), "");
  batch_.Put(kCfIndex, CourtIndexKey(c.target_court(), c.id()), "");
  batch_.Put(kCfIndex, StateIndexPrefix(record.state()) + c.id(), "");
  batch_.Put(kCfIndex, SubmittedIndexKey(record.submitted_at_ms(), c.id()), "");
}

void BrokerStore::Batch::PutTimer(int64_t due_ms, const std::string& id) {
  batch_.Put(kCfTimers, TimerKey(due_ms, id), "");
}

void BrokerStore::Batch::DeleteTimer(int64_t due_ms, const std::string& id) {
  batch_.Delete(kCfTimers, TimerKey(due_ms, id));
}

void BrokerStore::Batch::PutOfflineFlag(const std::string& court, int64_t since_ms) {
  if (since_ms > 0) {
    std::string value;
    AppendBigEndian64(&value, static_cast<uint64_t>(since_ms));
    batch_.Put(kCfDefault, kFlaggedPrefix + court, value);
  } else {
    batch_.Delete(kCfDefault, kFlaggedPrefix + court);
  }
}

void BrokerStore::Batch::IndexState(const std::string& id, weituo::v1::State from,
                                    weituo::v1::State to) {
  if (from == to) return;
  batch_.Delete(kCfIndex, StateIndexPrefix(from) + id);
  batch_.Put(kCfIndex, StateIndexPrefix(to) + id, "");
}

void BrokerStore::Batch::PutStateCounts(const weituo::v1::StateCounts& counts) {
  batch_.Put(kCfDefault, kStateCountsKey, counts.SerializeAsString());
}

void BrokerStore::Batch::PutPaused(const std::string& court, bool paused) {
  if (paused) {
    batch_.Put(kCfDefault, kPausedPrefix + court, "");
  } else {
    batch_.Delete(kCfDefault, kPausedPrefix + court);
  }
}

void BrokerStore::Batch::PutChainLink(uint64_t position, const weituo::v1::ChainLink& link) {
  std::string key;
  AppendBigEndian64(&key, position);
  batch_.Put(kCfChain, key, link.SerializeAsString());
}

void BrokerStore::Batch::PutChainHead(uint64_t position, const std::string& hash) {
  weituo::v1::ChainHead head;
  head.set_position(position);
  head.set_hash(hash);
  batch_.Put(kCfDefault, kChainHeadKey, head.SerializeAsString());
}

Status BrokerStore::Commit(Batch& batch, bool sync) {
  WEITUO_RETURN_IF_ERROR(kv_->Commit(batch.batch_, sync));
  batch.batch_.Clear();
  return Status::Ok();
}

StatusOr<std::optional<CommissionRecord>> BrokerStore::GetCommission(const std::string& id) const {
  auto record = DecodeRecord<CommissionRecord>(*kv_, kCfCommissions, id, "commission");
  if (!record.ok() || !record->has_value() || (*record)->has_commission()) return record;
  WEITUO_ASSIGN_OR_RETURN(
      auto body, DecodeRecord<weituo::v1::Commission>(*kv_, kCfBodies, id, "commission body"));
  if (!body.has_value()) return Damaged("commission " + id + " has a record but no body");
  *(*record)->mutable_commission() = std::move(*body);
  return record;
}

Status BrokerStore::FillBody(OutboxItem& item, bool with_body) const {
  if (!item.body_elided() || !with_body) return Status::Ok();
  item.set_body_elided(false);
  const std::string id = item.deliver().commission().id();
  WEITUO_ASSIGN_OR_RETURN(
      auto body, DecodeRecord<weituo::v1::Commission>(*kv_, kCfBodies, id, "commission body"));
  if (!body.has_value()) return Damaged("delivery of " + id + " names no body");
  *item.mutable_deliver()->mutable_commission() = std::move(*body);
  return Status::Ok();
}

StatusOr<std::optional<Event>> BrokerStore::GetEvent(const std::string& commission_id,
                                                     uint64_t seq) const {
  return DecodeRecord<Event>(*kv_, kCfEvents, EventKey(commission_id, seq), "event");
}

StatusOr<std::vector<Event>> BrokerStore::Events(const std::string& commission_id) const {
  return ScanRecords<Event>(*kv_, kCfEvents, PrefixStart(commission_id), PrefixEnd(commission_id),
                            0, "event");
}

namespace {

// The items with their commissions put back.
StatusOr<std::vector<OutboxItem>> Filled(StatusOr<std::vector<OutboxItem>> items,
                                         const std::function<Status(OutboxItem&)>& fill) {
  if (!items.ok()) return items;
  for (OutboxItem& item : *items) WEITUO_RETURN_IF_ERROR(fill(item));
  return items;
}

}  // namespace

StatusOr<std::optional<OutboxItem>> BrokerStore::GetOutbox(const std::string& court,
                                                           uint64_t delivery_id,
                                                           bool with_body) const {
  auto item = DecodeRecord<OutboxItem>(*kv_, kCfOutbox, OutboxKey(court, delivery_id), "outbox");
  if (item.ok() && item->has_value()) WEITUO_RETURN_IF_ERROR(FillBody(**item, with_body));
  return item;
}

StatusOr<std::optional<OutboxItem>> BrokerStore::GetParked(const std::string& court,
                                                           uint64_t delivery_id) const {
  auto item = DecodeRecord<OutboxItem>(*kv_, kCfParked, OutboxKey(court, delivery_id), "parked");
  if (item.ok() && item->has_value()) WEITUO_RETURN_IF_ERROR(FillBody(**item, true));
  return item;
}

StatusOr<std::vector<OutboxItem>> BrokerStore::ScanOutbox(const std::string& court, uint64_t from,
                                                          size_t limit, bool with_body) const {
  return Filled(ScanRecords<OutboxItem>(*kv_, kCfOutbox, OutboxKey(court, from), PrefixEnd(court),
                                        limit, "outbox"),
                [&](OutboxItem& item) { return FillBody(item, with_body); });
}

StatusOr<std::string> BrokerStore::DeliveryFrame(const OutboxItem& item) const {
  weituo::v1::Envelope envelope;
  if (!item.body_elided()) {
    *envelope.mutable_deliver() = item.deliver();
    return SerializeEnvelope(envelope);
  }
  const std::string& id = item.deliver().commission().id();
  WEITUO_ASSIGN_OR_RETURN(auto body, kv_->Get(kCfBodies, id));
  if (!body.has_value()) return Damaged("delivery of " + id + " names no body");
  weituo::v1::DeliverCommissionFrame frame;
  frame.set_protocol(kProtocolVersion);
  frame.mutable_deliver()->set_delivery_id(item.deliver().delivery_id());
  frame.mutable_deliver()->set_commission(std::move(*body));
  return frame.SerializeAsString();
}

StatusOr<std::vector<OutboxItem>> BrokerStore::ScanParked(const std::string& court,
                                                          size_t limit) const {
  return Filled(ScanRecords<OutboxItem>(*kv_, kCfParked, OutboxKey(court, 0), PrefixEnd(court),
                                        limit, "parked"),
                [this](OutboxItem& item) { return FillBody(item, true); });
}

StatusOr<std::optional<RequestOutcome>> BrokerStore::GetRequest(
    const std::string& court, const std::string& request_id) const {
  return DecodeRecord<RequestOutcome>(*kv_, kCfRequests, RequestKey(court, request_id), "request");
}

StatusOr<weituo::v1::StateCounts> BrokerStore::StateCounts() const {
  WEITUO_ASSIGN_OR_RETURN(auto counts, DecodeRecord<weituo::v1::StateCounts>(
                                           *kv_, kCfDefault, kStateCountsKey, "state counts"));
  return counts.value_or(weituo::v1::StateCounts());
}

StatusOr<std::pair<uint64_t, weituo::v1::ChainLink>> BrokerStore::LastChainLink() const {
  WEITUO_ASSIGN_OR_RETURN(auto key, kv_->LastKey(kCfChain, "", ""));
  if (!key.has_value()) return std::make_pair(uint64_t{0}, weituo::v1::ChainLink());
  WEITUO_ASSIGN_OR_RETURN(auto link,
                          DecodeRecord<weituo::v1::ChainLink>(*kv_, kCfChain, *key, "chain link"));
  if (!link.has_value() || key->size() != 8) return Damaged("corrupt chain head");
  return std::make_pair(ReadBigEndian64(*key), std::move(*link));
}

StatusOr<std::optional<weituo::v1::ChainHead>> BrokerStore::CommittedChainHead() const {
  return DecodeRecord<weituo::v1::ChainHead>(*kv_, kCfDefault, kChainHeadKey, "chain head");
}

Status BrokerStore::Damaged(std::string what) const {
  kv_->ReportDamage(what);
  return Status::DataLoss(std::move(what));
}

StatusOr<std::vector<std::string>> BrokerStore::PausedCourts() const {
  std::vector<std::string> courts;
  std::string prefix = kPausedPrefix;
  Status s = kv_->Scan(kCfDefault, prefix, PrefixSuccessor(prefix), 0,
                       [&](std::string_view key, std::string_view) {
                         courts.emplace_back(key.substr(prefix.size()));
                         return true;
                       });
  if (!s.ok()) return s;
  return courts;
}

StatusOr<std::map<std::string, int64_t>> BrokerStore::OfflineFlags() const {
  std::map<std::string, int64_t> flags;
  std::string prefix = kFlaggedPrefix;
  Status s = kv_->Scan(kCfDefault, prefix, PrefixSuccessor(prefix), 0,
                       [&](std::string_view key, std::string_view value) {
                         if (value.size() == 8) {
                           flags[std::string(key.substr(prefix.size()))] =
                               static_cast<int64_t>(ReadBigEndian64(value));
                         }
                         return true;
                       });
  if (!s.ok()) return s;
  return flags;
}

StatusOr<std::vector<std::pair<int64_t, std::string>>> BrokerStore::DueTimers(int64_t from_ms,
                                                                              int64_t now_ms,
                                                                              size_t limit) const {
  std::vector<std::pair<int64_t, std::string>> due;
  std::string start, end;
  AppendBigEndian64(&start, static_cast<uint64_t>(std::max<int64_t>(from_ms, 0)));
  AppendBigEndian64(&end, static_cast<uint64_t>(now_ms) + 1);
  Status s = kv_->Scan(kCfTimers, start, end, limit, [&](std::string_view key, std::string_view) {
    if (key.size() > 8) {
      due.emplace_back(static_cast<int64_t>(ReadBigEndian64(key.substr(0, 8))),
                       std::string(key.substr(8)));
    }
    return true;
  });
  if (!s.ok()) return s;
  return due;
}

Status BrokerStore::ScanSubmitted(int64_t from_ms, int64_t to_ms, size_t budget,
                                  const std::function<bool(const CommissionRecord&)>& fn) const {
  std::string start = SubmittedIndexKey(from_ms, ""), end = SubmittedIndexKey(to_ms, "");
  std::vector<std::string> ids;
  Status decode = Status::Ok();
  WEITUO_RETURN_IF_ERROR(kv_->Scan(kCfIndex, start, end, budget, [&](std::string_view key, auto) {
    auto record = GetCommission(std::string(key.substr(9)));
    if (!record.ok()) {
      decode = record.status();
      return false;
    }
    if (!record->has_value()) return true;  // written in one batch with it; never happens
    return fn(**record);
  }));
  return decode;
}

void BackfillFromTrail(const std::vector<Event>& events, CommissionRecord* record) {
  for (const Event& e : events) {
    if (e.type() == weituo::v1::EV_ACCEPTED && record->accepted_at_ms() == 0) {
      record->set_accepted_at_ms(e.at_ms());
      record->set_handler(e.update().accept().handler());
    }
    if (!IsFinal(e.state()) || record->closed_at_ms() != 0) continue;
    record->set_closed_at_ms(e.at_ms());
    if (e.type() == weituo::v1::EV_COMPLETED) {
      *record->mutable_result() = e.update().complete().result();
    }
    if (e.type() == weituo::v1::EV_RETURNED)
      record->set_return_reason(e.update().return_().reason());
    if (e.type() == weituo::v1::EV_WITHDRAWN && e.actor_court().empty()) {
      record->set_deemed_withdrawn(true);
    }
  }
}

Status BrokerStore::MigrateIndex() {
  WEITUO_ASSIGN_OR_RETURN(auto version, kv_->Get(kCfDefault, kIndexVersionKey));
  if (version.has_value() && *version == kIndexVersion) return Status::Ok();
  if (version.has_value() && *version == "2") return MoveBodies();
  Batch batch = NewBatch();
  batch.batch_.Put(kCfDefault, kIndexVersionKey, kIndexVersion);
  weituo::v1::StateCounts counts;
  Status decode = Status::Ok();
  WEITUO_RETURN_IF_ERROR(kv_->Scan(kCfCommissions, "", "", 0, [&](auto, std::string_view value) {
    CommissionRecord record;
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      decode = Damaged("corrupt commission record while building the index");
      return false;
    }
    batch.IndexNew(record);
    (*counts.mutable_by_state())[record.state()]++;
    // What statistics read from the record, taken from the trail once.
    auto events = Events(record.commission().id());
    if (!events.ok()) {
      decode = events.status();
      return false;
    }
    BackfillFromTrail(*events, &record);
    // Open commissions are reviewed for deadlines at the first tick.
    if (!IsFinal(record.state()) && record.next_check_ms() == 0) {
      record.set_next_check_ms(1);
      batch.PutTimer(1, record.commission().id());
    }
    batch.PutNewCommission(record);
    return true;
  }));
  WEITUO_RETURN_IF_ERROR(decode);
  batch.PutStateCounts(counts);
  return Commit(batch, true);
}

Status BrokerStore::MoveBodies() {
  // In batches, so a large store needs no batch of its size in memory; a
  // crash part way is finished by the next start, which moves what is left.
  constexpr size_t kPerBatch = 10000;
  Batch batch = NewBatch();
  size_t in_batch = 0;
  Status failed = Status::Ok();
  WEITUO_RETURN_IF_ERROR(kv_->Scan(kCfCommissions, "", "", 0, [&](auto, std::string_view value) {
    CommissionRecord record;
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      failed = Damaged("corrupt commission record while moving bodies");
      return false;
    }
    if (!record.has_commission()) return true;  // moved before a crash
    batch.PutNewCommission(record);
    if (++in_batch < kPerBatch) return true;
    failed = Commit(batch, false);
    in_batch = 0;
    return failed.ok();
  }));
  WEITUO_RETURN_IF_ERROR(failed);
  batch.batch_.Put(kCfDefault, kIndexVersionKey, kIndexVersion);
  return Commit(batch, true);
}

StatusOr<std::string> BrokerStore::ScanCommissionIds(
    const std::string& court, weituo::v1::State state, const std::string& after, bool newest_first,
    size_t budget, const std::function<bool(const std::string&)>& fn) const {
  int cf = kCfIndex;
  std::string prefix;
  if (!court.empty()) {
    prefix = "c" + PrefixStart(court);
  } else if (state != weituo::v1::STATE_UNSPECIFIED) {
    prefix = StateIndexPrefix(state);
  } else {
    cf = kCfCommissions;
  }
  // Keys are prefix + id; ids are ULIDs of one length, so key order is id
  // order and prefix + after + '\0' is the first key after `after`.
  std::string start = prefix, end = prefix.empty() ? "" : PrefixSuccessor(prefix);
  if (!after.empty()) {
    if (newest_first) {
      end = prefix + after;
    } else {
      start = prefix + after + std::string(1, '\0');
    }
  }
  std::string last;
  auto visit = [&](std::string_view key, std::string_view) {
    last = std::string(key.substr(prefix.size()));
    return fn(last);
  };
  Status s = newest_first ? kv_->ScanReverse(cf, start, end, budget, visit)
                          : kv_->Scan(cf, start, end, budget, visit);
  if (!s.ok()) return s;
  return last;
}

StatusOr<std::vector<OutboxItem>> BrokerStore::AllParked(size_t limit) const {
  return Filled(ScanRecords<OutboxItem>(*kv_, kCfParked, "", "", limit, "parked"),
                [this](OutboxItem& item) { return FillBody(item, true); });
}

namespace {

StatusOr<std::map<std::string, uint64_t>> CountByCourt(const KvStore& kv, int cf) {
  std::map<std::string, uint64_t> counts;
  std::string court;
  uint64_t id;
  Status s = kv.Scan(cf, "", "", 0, [&](std::string_view key, auto) {
    if (ParseOutboxKey(key, &court, &id)) counts[court]++;
    return true;
  });
  if (!s.ok()) return s;
  return counts;
}

}  // namespace

StatusOr<BrokerStore::Oldest> BrokerStore::OldestPending(const std::string& court,
                                                         int64_t overdue_before_ms,
                                                         size_t cap) const {
  Oldest oldest;
  Status decode = Status::Ok();
  Status s = kv_->Scan(kCfOutbox, OutboxKey(court, 0), PrefixEnd(court), cap + 1,
                       [&](auto, std::string_view value) {
                         OutboxItem item;
                         if (!item.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                           decode = Damaged("corrupt outbox item of " + court);
                           return false;
                         }
                         if (oldest.enqueued_at_ms == 0)
                           oldest.enqueued_at_ms = item.enqueued_at_ms();
                         if (item.enqueued_at_ms() >= overdue_before_ms) return false;
                         return ++oldest.overdue < cap;
                       });
  WEITUO_RETURN_IF_ERROR(s);
  WEITUO_RETURN_IF_ERROR(decode);
  return oldest;
}

StatusOr<std::map<std::string, uint64_t>> BrokerStore::CountOutbox() const {
  return CountByCourt(*kv_, kCfOutbox);
}

StatusOr<std::map<std::string, uint64_t>> BrokerStore::CountParked() const {
  return CountByCourt(*kv_, kCfParked);
}

StatusOr<uint64_t> BrokerStore::NextDeliveryId() const {
  WEITUO_ASSIGN_OR_RETURN(auto raw, kv_->Get(kCfDefault, kNextDeliveryIdKey));
  if (!raw.has_value()) return uint64_t{1};
  if (raw->size() != 8) return Damaged("corrupt next_delivery_id in the store");
  return ReadBigEndian64(*raw);
}

}  // namespace weituo::broker
