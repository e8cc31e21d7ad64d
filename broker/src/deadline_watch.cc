#include "deadline_watch.h"

#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "weituo/common/lifecycle.h"
#include "weituo/common/validation.h"

namespace weituo::broker {

using weituo::v1::Commission;
using weituo::v1::CommissionRecord;
using weituo::v1::DeadlineStage;
using weituo::v1::Event;
using weituo::v1::EventType;

void DeadlineWatch::ReviewDue(int64_t now, bool all) {
  // Normally a bounded number per tick; after the clock moved, all of it,
  // so that the answer to the move says what became due. The scan starts
  // at the cursor, not over the deleted timers of the past.
  const size_t limit = all ? 1000000 : 1024;
  auto due = store_.DueTimers(cursor_, now, limit);
  if (!due.ok()) {
    spdlog::error("msg=\"timer scan failed\" error=\"{}\"", due.status().ToString());
    return;
  }
  int64_t cursor = due->size() < limit ? now + 1 : due->back().first;
  // Timers written this turn are not in the scan (not yet committed).
  cursor = std::min(cursor, trail_.lowest_timer_put());
  for (const auto& [at, id] : *due) {
    // Changed earlier in this turn: its trail is not in the store yet.
    if (turn_.Changed(id)) {
      cursor = std::min(cursor, at);
      continue;
    }
    Review(id, now);
  }
  // Reviews write timers only after `now`; the cursor stays at or before
  // any timer not reviewed.
  cursor_ = std::min(cursor, trail_.TakeLowestTimerPut());
}

void DeadlineWatch::Review(const std::string& id, int64_t now) {
  auto record = turn_.Record(id);
  if (!record.ok()) {
    spdlog::error("msg=\"deadline review: no record\" commission={} error=\"{}\"", id,
                  record.status().ToString());
    return;
  }
  if (IsFinal(record->state())) {
    if (record->next_check_ms() == 0) return;
    trail_.Reschedule(*record, 0);
    turn_.PutRecord(*record);
    return;
  }
  auto events = store_.Events(id);
  if (!events.ok()) {
    spdlog::error("msg=\"deadline review: trail unreadable\" commission={} error=\"{}\"", id,
                  events.status().ToString());
    return;
  }
  DeadlineReview review =
      weituo::ReviewDeadlines(options_.deadlines, record->commission(), *events, now);
  const CommissionRecord before = *record;
  for (const Crossing& crossing : review.crossings) RecordCrossing(*record, crossing, now);
  if (review.action) {
    auto event = trail_.Apply(*record, *review.action, Role::kBroker, "", nullptr, "", now);
    if (event.ok()) {
      counters_.Add(*review.action == Action::kExpire ? "expired" : "deemed_withdrawn");
      spdlog::warn("msg=\"{}\" commission={} origin={} target={}",
                   *review.action == Action::kExpire ? "expired" : "deemed withdrawn", id,
                   record->commission().origin_court(), record->commission().target_court());
    }
  }
  record->clear_overdue_now();
  for (DeadlineStage stage : review.overdue_now) {
    record->add_overdue_now(stage);
    if (stage == weituo::v1::STAGE_ACKNOWLEDGE) record->set_acknowledged_late(true);
  }
  trail_.Reschedule(*record, review.next_check_ms);
  if (google::protobuf::util::MessageDifferencer::Equals(before, *record)) return;
  turn_.PutRecord(*record);
}

void DeadlineWatch::RecordCrossing(CommissionRecord& record, const Crossing& crossing,
                                   int64_t now) {
  const Commission& c = record.commission();
  // The court that is late answers to its own superior: the origin for
  // material it was asked for, the target for everything else.
  const std::string supervisor = supervisor_of_(
      crossing.stage == weituo::v1::STAGE_SUPPLY_INFO ? c.origin_court() : c.target_court());
  Event event;
  event.set_type(crossing.overdue ? EventType::EV_DEADLINE_OVERDUE
                                  : EventType::EV_DEADLINE_WARNING);
  event.set_state(record.state());
  auto* notice = event.mutable_deadline();
  notice->set_stage(crossing.stage);
  notice->set_overdue(crossing.overdue);
  notice->set_due_at_ms(crossing.due_at_ms);
  notice->set_round(crossing.round);
  notice->set_supervisor(supervisor);
  auto* summary = event.mutable_summary();
  summary->set_case_number(c.case_number());
  summary->set_kind(KindOf(c));
  summary->set_urgency(c.urgency());
  summary->set_submitted_at_ms(record.submitted_at_ms());
  summary->set_debtor_name(c.debtor().name());
  summary->set_handler(record.handler());
  summary->set_origin_contact(c.origin_contact());
  summary->set_campaign(c.campaign());
  summary->set_not_after(c.not_after());
  if (crossing.overdue && crossing.stage == weituo::v1::STAGE_ACKNOWLEDGE) {
    record.set_acknowledged_late(true);
  }
  // Trail, origin, target and the supervisor.
  std::vector<std::string> recipients = {c.origin_court(), c.target_court()};
  if (!supervisor.empty()) {
    recipients.push_back(supervisor);
    if (crossing.stage != weituo::v1::STAGE_SUPPLY_INFO) record.set_escalated_to(supervisor);
  }
  trail_.Append(record, std::move(event), recipients, now);
  counters_.Add(crossing.overdue ? "deadline_overdue" : "deadline_warnings");
  if (!supervisor.empty()) counters_.Add("escalations");
  spdlog::warn(
      "msg=\"deadline {}\" commission={} stage={} round={} origin={} target={} "
      "supervisor={}",
      crossing.overdue ? "overdue" : "warning", c.id(), StageName(crossing.stage), crossing.round,
      c.origin_court(), c.target_court(), supervisor.empty() ? "-" : supervisor);
}

}  // namespace weituo::broker
