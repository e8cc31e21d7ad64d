#include "commissions.h"

#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "weituo/common/deadlines.h"
#include "weituo/common/ids.h"
#include "weituo/common/lifecycle.h"
#include "weituo/common/trail_hash.h"
#include "weituo/common/validation.h"
#include "weituo/common/wire.h"

namespace weituo::broker {

using google::protobuf::util::MessageDifferencer;
using weituo::v1::Commission;
using weituo::v1::CommissionRecord;
using weituo::v1::Deliver;
using weituo::v1::Envelope;
using weituo::v1::ErrorCode;
using weituo::v1::Event;
using weituo::v1::EventType;
using weituo::v1::RequestOutcome;
using weituo::v1::Update;

namespace {

// A store read that failed: a damaged record (DATA_LOSS) is the broker's own
// fault, INTERNAL; anything else (the store busy or closing) UNAVAILABLE.
// Both are retryable: the agent keeps the message.
ErrorCode StoreReadRefusal(const Status& status) {
  return status.code() == StatusCode::kDataLoss ? ErrorCode::INTERNAL : ErrorCode::UNAVAILABLE;
}

// The EV_SUBMITTED event: made the same way for the first receipt and for
// every duplicate, so a resend gets the very same receipt.
Event SubmittedEvent(const CommissionRecord& record) {
  Event e;
  e.set_commission_id(record.commission().id());
  e.set_seq(1);
  e.set_type(EventType::EV_SUBMITTED);
  e.set_at_ms(record.submitted_at_ms());
  // A child made by forwarding was submitted by the court that forwarded it.
  const Commission& c = record.commission();
  e.set_actor_court(c.forwarded_by().empty() ? c.origin_court() : c.forwarded_by());
  e.set_state(weituo::v1::SUBMITTED);
  e.set_origin_court(record.commission().origin_court());
  e.set_target_court(record.commission().target_court());
  e.set_hash(EventHash(e));  // the first of its chain: no prev_hash
  return e;
}

}  // namespace

void Commissions::ReplySubmitReceipt(const std::string& routing_id, const CommissionRecord& record,
                                     bool duplicate) {
  Envelope env;
  auto* receipt = env.mutable_submit_receipt();
  receipt->set_commission_id(record.commission().id());
  receipt->set_target_court(record.commission().target_court());
  *receipt->mutable_event() = SubmittedEvent(record);
  receipt->set_duplicate(duplicate);
  replies_.Reply(routing_id, env);
}

bool Commissions::Submit(const std::string& routing_id, const std::string& court,
                         weituo::v1::Submit* submit, const CourtDirectory& directory, int64_t now) {
  Commission commission = std::move(*submit->mutable_commission());
  const std::string id = commission.id();
  if (commission.origin_court() != court) {
    replies_.Refuse(routing_id, court, ErrorCode::PERMISSION_DENIED,
                    "commission claims origin court '" + commission.origin_court() +
                        "' but this connection is court '" + court + "'",
                    id);
    return false;
  }
  if (Status s = ValidateCommission(commission); !s.ok()) {
    replies_.Refuse(routing_id, court, ErrorCode::INVALID_ARGUMENT, s.message(), id);
    return false;
  }
  if (AnswerSubmittedBefore(routing_id, court, commission)) return false;
  const CourtEntry* target = Route(routing_id, court, commission, directory);
  if (!target) return false;
  if (target->id == court) {
    replies_.Refuse(routing_id, court, ErrorCode::INVALID_ARGUMENT,
                    "a court cannot commission itself (target resolved to '" + court + "')", id);
    return false;
  }
  // Refused for want of room only once nothing else would refuse it, so a
  // clerk retrying after space is freed meets no other surprise.
  if (storage_.WouldRefuse(turn_.bytes())) {
    replies_.Refuse(routing_id, court, ErrorCode::STORAGE_FULL, storage_.RefusalMessage(), id);
    return false;
  }
  commission.set_target_court(target->id);
  spdlog::info("msg=submitted commission={} origin={} target={} kind={}", id, court, target->id,
               weituo::v1::Kind_Name(KindOf(commission)));

  Event submitted;
  const CommissionRecord& record = StoreNew(std::move(commission), &submitted, now);
  counters_.Add("submitted");
  ReplySubmitReceipt(routing_id, record, /*duplicate=*/false);
  return true;
}

bool Commissions::AnswerSubmittedBefore(const std::string& routing_id, const std::string& court,
                                        Commission& commission) {
  const std::string& id = commission.id();
  auto existing = LoadRecord(id);
  if (existing.ok()) {
    const Commission& stored = existing->commission();
    if (commission.target_court().empty()) commission.set_target_court(stored.target_court());
    if (!MessageDifferencer::Equals(commission, stored)) {
      replies_.Refuse(routing_id, court, ErrorCode::CONFLICT,
                      "commission " + id + " was already submitted with different content", id);
      return true;
    }
    counters_.Add("duplicate_submissions");
    ReplySubmitReceipt(routing_id, *existing, /*duplicate=*/true);
    return true;
  }
  if (existing.status().code() != StatusCode::kNotFound) {
    replies_.Refuse(routing_id, court, StoreReadRefusal(existing.status()),
                    existing.status().message(), id);
    return true;
  }
  return false;
}

const CourtEntry* Commissions::Route(const std::string& routing_id, const std::string& court,
                                     const Commission& commission,
                                     const CourtDirectory& directory) {
  const std::string& id = commission.id();
  // A named court, else the court serving the debtor's region code.
  if (commission.target_court().empty()) {
    const CourtEntry* target = directory.FindByRegion(commission.debtor().region_code());
    if (!target) {
      replies_.Refuse(
          routing_id, court, ErrorCode::UNKNOWN_TARGET,
          "no court in the directory serves region code " + commission.debtor().region_code(), id);
    }
    return target;
  }
  const CourtEntry* target = directory.Find(commission.target_court());
  if (!target) {
    replies_.Refuse(routing_id, court, ErrorCode::UNKNOWN_TARGET,
                    "target court '" + commission.target_court() + "' is not in the directory", id);
    return nullptr;
  }
  if (target->is_supervisor) {
    replies_.Refuse(routing_id, court, ErrorCode::UNKNOWN_TARGET,
                    "'" + target->id + "' is a supervising court, which does not take commissions",
                    id);
    return nullptr;
  }
  return target;
}

const CommissionRecord& Commissions::StoreNew(Commission commission, Event* submitted,
                                              int64_t now) {
  const std::string id = commission.id();
  const std::string target = commission.target_court();
  CommissionRecord record;
  *record.mutable_commission() = std::move(commission);
  record.set_state(weituo::v1::SUBMITTED);
  record.set_last_seq(1);
  record.set_submitted_at_ms(now);
  record.set_updated_at_ms(record.submitted_at_ms());
  *submitted = SubmittedEvent(record);
  record.set_last_hash(submitted->hash());
  // Its first deadline review, from the trail it has now.
  DeadlineReview review =
      weituo::ReviewDeadlines(options_.deadlines, record.commission(), {*submitted}, now);
  trail_.Reschedule(record, review.next_check_ms);
  // The outbox keeps only the commission's id; its body is read back when
  // the delivery is sent (BrokerStore::PutOutbox), so none is copied here.
  Deliver deliver;
  deliver.mutable_commission()->set_id(id);
  delivery_.Enqueue(target, std::move(deliver), now);
  return trail_.AddNew(std::move(record), *submitted);
}

void Commissions::Forward(const CommissionRecord& parent, const std::string& to_court,
                          const std::string& from_court, const std::string& child_id, int64_t now) {
  Commission child = parent.commission();
  child.set_id(child_id);
  child.set_target_court(to_court);
  child.set_parent_id(parent.commission().id());
  child.set_forwarded_by(from_court);
  child.set_created_at_ms(now);
  Event submitted;
  StoreNew(std::move(child), &submitted, now);
  // The origin learns of the child as of a commission of its own.
  Deliver deliver;
  *deliver.mutable_event() = submitted;
  delivery_.Enqueue(parent.commission().origin_court(), std::move(deliver), now);
  counters_.Add("forwarded");
  spdlog::info("msg=forwarded commission={} child={} from={} to={}", parent.commission().id(),
               child_id, from_court, to_court);
}

void Commissions::Ack(const std::string& court, const weituo::v1::Ack& ack, int64_t now) {
  for (uint64_t delivery_id : ack.delivery_ids()) {
    std::optional<std::string> delivered = delivery_.Acknowledged(court, delivery_id);
    if (!delivered || delivered->empty()) continue;
    // The target's agent recorded the commission: the delivery receipt.
    auto record = LoadRecord(*delivered);
    if (!record.ok()) {
      spdlog::error("msg=\"delivered commission missing\" commission={} error=\"{}\"", *delivered,
                    record.status().ToString());
      continue;
    }
    auto event = ApplyStep(*record, Action::kDeliver, Role::kBroker, "", nullptr, "", now);
    if (event.ok()) {
      submit_to_delivered_.Observe(static_cast<double>(now - record->submitted_at_ms()));
      counters_.Add("delivered");
      spdlog::info("msg=delivered commission={} target={}", *delivered, court);
    }
  }
}

bool Commissions::AnswerRequestedBefore(const std::string& routing_id, const std::string& court,
                                        const weituo::v1::SendUpdate& request) {
  const std::string& request_id = request.request_id();
  // A resent request gets the outcome it got the first time.
  auto stored = turn_.Request(court, request_id);
  if (!stored.ok()) {
    replies_.Refuse(routing_id, court, StoreReadRefusal(stored.status()), stored.status().message(),
                    request_id);
    return true;
  }
  const std::optional<RequestOutcome>& seen = *stored;
  if (!seen) return false;
  if (!MessageDifferencer::Equals(seen->receipt().event().update(), request.update())) {
    replies_.Refuse(routing_id, court, ErrorCode::CONFLICT,
                    "request_id " + request_id + " was already used for a different update",
                    request_id);
    return true;
  }
  counters_.Add("duplicate_updates");
  Envelope env;
  *env.mutable_update_receipt() = seen->receipt();
  env.mutable_update_receipt()->set_duplicate(true);
  replies_.Reply(routing_id, env);
  return true;
}

bool Commissions::CheckForward(const std::string& routing_id, const std::string& court,
                               const Commission& commission, const std::string& request_id,
                               const std::string& to, const CourtDirectory& directory) {
  const CourtEntry* entry = directory.Find(to);
  if (!entry || entry->is_supervisor) {
    replies_.Refuse(routing_id, court, ErrorCode::UNKNOWN_TARGET,
                    entry ? "'" + to + "' is a supervising court, which does not take commissions"
                          : "forward.to_court '" + to + "' is not in the directory",
                    request_id);
    return false;
  }
  if (to == court || to == commission.origin_court()) {
    replies_.Refuse(routing_id, court, ErrorCode::INVALID_ARGUMENT,
                    to == court
                        ? "a court cannot forward a commission to itself"
                        : "forwarding to the origin court is a return (退回), not a forward",
                    request_id);
    return false;
  }
  return true;
}

void Commissions::Update(const std::string& routing_id, const std::string& court,
                         const weituo::v1::SendUpdate& request, const CourtDirectory& directory,
                         int64_t now) {
  const std::string& request_id = request.request_id();
  const weituo::v1::Update& update = request.update();
  auto refuse = [&](ErrorCode code, const std::string& message) {
    replies_.Refuse(routing_id, court, code, message, request_id);
  };
  if (request_id.empty() || request_id.size() > 128) {
    return refuse(ErrorCode::INVALID_ARGUMENT, "request_id is required (at most 128 bytes)");
  }
  if (AnswerRequestedBefore(routing_id, court, request)) return;
  if (!IsUlid(update.commission_id())) {
    return refuse(ErrorCode::INVALID_ARGUMENT, "commission_id must be a ULID");
  }
  auto record = LoadRecord(update.commission_id());
  if (!record.ok()) {
    return refuse(record.status().code() == StatusCode::kNotFound
                      ? ErrorCode::NOT_FOUND
                      : StoreReadRefusal(record.status()),
                  record.status().message());
  }
  const Commission& commission = record->commission();
  const bool target = court == commission.target_court();
  if (!target && court != commission.origin_court()) {
    return refuse(
        ErrorCode::PERMISSION_DENIED,
        "court '" + court + "' is neither origin nor target of commission " + commission.id());
  }
  const Role role = target ? Role::kTarget : Role::kOrigin;
  if (Status s = ValidateUpdate(update, KindOf(commission)); !s.ok()) {
    return refuse(ErrorCode::INVALID_ARGUMENT, s.message());
  }
  const Action action = *ActionOf(update);
  std::string child_id;
  // The new target is checked once the role is right; a forward by the
  // origin is refused by the lifecycle like any other target action.
  if (action == Action::kForward && role == Role::kTarget) {
    if (!CheckForward(routing_id, court, commission, request_id, update.forward().to_court(),
                      directory)) {
      return;
    }
    child_id = NewUlid(now);
  }
  // As for a submission: refused for want of room once all else is checked,
  // the lifecycle too (ApplyStep checks it again as it applies it).
  if (auto next = NextState(record->state(), action, role); !next.ok()) {
    return refuse(ErrorCodeFor(next.status()), next.status().message());
  }
  if (storage_.WouldRefuse(turn_.bytes())) {
    return refuse(ErrorCode::STORAGE_FULL, storage_.RefusalMessage());
  }
  auto event = ApplyStep(*record, action, role, court, &update, child_id, now);
  if (!event.ok()) return refuse(ErrorCodeFor(event.status()), event.status().message());
  if (!child_id.empty()) Forward(*record, update.forward().to_court(), court, child_id, now);
  ReplyUpdateReceipt(routing_id, court, request_id, *event);
}

void Commissions::ReplyUpdateReceipt(const std::string& routing_id, const std::string& court,
                                     const std::string& request_id, const Event& event) {
  RequestOutcome outcome;
  outcome.mutable_receipt()->set_request_id(request_id);
  *outcome.mutable_receipt()->mutable_event() = event;
  turn_.PutRequest(court, request_id, outcome);
  counters_.Add("updates");
  spdlog::info("msg=updated commission={} court={} event={} state={}", event.commission_id(), court,
               EventType_Name(event.type()), weituo::v1::State_Name(event.state()));

  Envelope env;
  *env.mutable_update_receipt() = outcome.receipt();
  replies_.Reply(routing_id, env);
}

}  // namespace weituo::broker
