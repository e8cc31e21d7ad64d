#include "trail.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "weituo/common/trail_hash.h"

namespace weituo::broker {

using weituo::v1::Commission;
using weituo::v1::CommissionRecord;
using weituo::v1::Deliver;
using weituo::v1::Event;
using weituo::v1::Update;

Status TrailWriter::Load() {
  auto counts = store_.StateCounts();
  if (!counts.ok()) return counts.status();
  state_counts_ = *counts;
  auto head = store_.LastChainLink();
  if (!head.ok()) return head.status();
  chain_position_ = head->first;
  chain_head_ = head->second.hash();

  auto committed = store_.CommittedChainHead();
  if (!committed.ok()) return committed.status();
  if (!committed->has_value()) {
    // A store from before the head was kept: it is kept from now on.
    if (chain_position_ == 0) return Status::Ok();
    turn_.batch().PutChainHead(chain_position_, chain_head_);
    WEITUO_RETURN_IF_ERROR(turn_.Commit(/*sync=*/true));
    spdlog::info("msg=\"chain head recorded\" position={}", chain_position_);
    return Status::Ok();
  }
  if ((*committed)->position() == chain_position_ && (*committed)->hash() == chain_head_) {
    return Status::Ok();
  }
  return store_.Damaged("the global chain ends at link " + std::to_string(chain_position_) +
                        " but the broker last committed link " +
                        std::to_string((*committed)->position()) +
                        ((*committed)->position() > chain_position_
                             ? ": the newest events were removed from the store"
                             : ": the chain was rewritten"));
}

void TrailWriter::CountMove(weituo::v1::State from, weituo::v1::State to) {
  if (from == to) return;
  auto& by_state = *state_counts_.mutable_by_state();
  if (by_state[from] > 0) by_state[from]--;
  by_state[to]++;
  state_counts_dirty_ = true;
}

StatusOr<Event> TrailWriter::Apply(CommissionRecord& record, Action action, Role role,
                                   const std::string& actor, const Update* update,
                                   const std::string& child_id, int64_t now) {
  auto next = NextState(record.state(), action, role);
  if (!next.ok()) return next.status();
  Event event;
  event.set_type(EventTypeOf(action));
  event.set_actor_court(actor);
  event.set_state(*next);
  if (update) *event.mutable_update() = *update;
  if (!child_id.empty()) event.set_child_commission_id(child_id);

  turn_.batch().IndexState(record.commission().id(), record.state(), *next);
  CountMove(record.state(), *next);
  record.set_state(*next);
  // What supervision statistics read without the trail.
  if (action == Action::kAccept && update) {
    record.set_accepted_at_ms(now);
    record.set_handler(update->accept().handler());
  }
  if (IsFinal(*next)) {
    record.set_closed_at_ms(now);
    record.clear_overdue_now();
    if (action == Action::kComplete && update)
      *record.mutable_result() = update->complete().result();
    if (action == Action::kReturn && update) record.set_return_reason(update->return_().reason());
    if (action == Action::kDeemWithdrawn) record.set_deemed_withdrawn(true);
  }

  // The other party learns of it: the origin of what the target and the
  // broker do, the target of what the origin does; both of what the
  // broker decides on its own (expiry, deemed withdrawal).
  const Commission& commission = record.commission();
  std::vector<std::string> recipients;
  if (role == Role::kOrigin) {
    recipients.push_back(commission.target_court());
  } else {
    recipients.push_back(commission.origin_court());
    if (action == Action::kExpire || action == Action::kDeemWithdrawn) {
      recipients.push_back(commission.target_court());
    }
  }
  // A supervisor that was told of a late commission is told of its end.
  if (IsFinal(*next) && !record.escalated_to().empty()) {
    recipients.push_back(record.escalated_to());
  }
  // The trail changed: review its deadlines at the next tick, through a
  // timer due now (durable, so a restart does not forget it); an end has
  // nothing left to review.
  if (IsFinal(*next)) {
    Reschedule(record, 0);
  } else if (action != Action::kDeliver) {
    Reschedule(record, now);
  }
  return Append(record, std::move(event), recipients, now);
}

Event TrailWriter::Append(CommissionRecord& record, Event event,
                          const std::vector<std::string>& recipients, int64_t now) {
  const Commission& commission = record.commission();
  event.set_commission_id(commission.id());
  event.set_seq(record.last_seq() + 1);
  event.set_at_ms(now);
  event.set_origin_court(commission.origin_court());
  event.set_target_court(commission.target_court());
  event.set_prev_hash(record.last_hash());
  event.set_hash(EventHash(event));
  record.set_last_hash(event.hash());
  Link(event);
  record.set_last_seq(event.seq());
  record.set_updated_at_ms(now);
  turn_.PutRecord(record);
  turn_.batch().PutEvent(event);
  for (const std::string& court : recipients) {
    Deliver deliver;
    *deliver.mutable_event() = event;
    notify_(court, std::move(deliver));
  }
  return event;
}

const CommissionRecord& TrailWriter::AddNew(CommissionRecord record, const Event& submitted) {
  Link(submitted);
  turn_.batch().PutEvent(submitted);
  (*state_counts_.mutable_by_state())[record.state()]++;
  state_counts_dirty_ = true;
  return turn_.AddRecord(std::move(record));
}

void TrailWriter::Reschedule(CommissionRecord& record, int64_t next_check_ms) {
  if (record.next_check_ms() == next_check_ms) return;
  if (record.next_check_ms() != 0) {
    turn_.batch().DeleteTimer(record.next_check_ms(), record.commission().id());
  }
  if (next_check_ms != 0) {
    turn_.batch().PutTimer(next_check_ms, record.commission().id());
    lowest_timer_put_ = std::min(lowest_timer_put_, next_check_ms);
  }
  record.set_next_check_ms(next_check_ms);
}

void TrailWriter::Link(const Event& event) {
  weituo::v1::ChainLink link;
  link.set_commission_id(event.commission_id());
  link.set_seq(event.seq());
  link.set_event_hash(event.hash());
  link.set_prev(chain_head_);
  link.set_hash(LinkHash(chain_head_, event.hash()));
  turn_.batch().PutChainLink(++chain_position_, link);
  chain_head_ = link.hash();
  chain_advanced_ = true;
}

void TrailWriter::WriteHeads() {
  if (state_counts_dirty_) turn_.batch().PutStateCounts(state_counts_);
  if (chain_advanced_) turn_.batch().PutChainHead(chain_position_, chain_head_);
  state_counts_dirty_ = false;
  chain_advanced_ = false;
}

}  // namespace weituo::broker
