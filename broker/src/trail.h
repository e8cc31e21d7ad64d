#pragma once

// The trail: a commission's lifecycle steps as events, each linked into the
// commission's own hash chain and the broker's global chain, and the record
// that sums them up (state, counts by state, its deadline timer).
//
// A step is checked against the lifecycle (common/lifecycle.h), applied to
// the record, appended as the next event, and delivered to the parties it
// concerns through `notify` (the delivery module's outbox). Everything is
// written through the turn, committed with it.
//
// Owns: the counts of commissions by state and the global chain's head (its
// position and hash), both written once per turn that moved them
// (WriteHeads), and the earliest deadline timer written this turn.
//
// Threading: the broker's loop thread only.

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "turn.h"
#include "weituo/common/lifecycle.h"
#include "weituo/v1/store.pb.h"

namespace weituo::broker {

class TrailWriter {
 public:
  // `court` is told of an event (queued in its outbox this turn).
  using Notify = std::function<void(const std::string& court, weituo::v1::Deliver deliver)>;

  TrailWriter(BrokerStore& store, Turn& turn, Notify notify)
      : store_(store), turn_(turn), notify_(std::move(notify)) {}

  // At start: the counts and the chain's head the store holds, checked
  // against the head last committed (DATA_LOSS if the chain lost its newest
  // links or was rewritten).
  Status Load();

  // The step `action` by `role` (`actor` the court, "" for the broker),
  // with the update that asked for it; `child_id` names a forward's child.
  // FAILED_PRECONDITION (or another lifecycle refusal) if the lifecycle
  // does not allow it; then nothing is written. `now`: the broker's clock.
  StatusOr<weituo::v1::Event> Apply(weituo::v1::CommissionRecord& record, Action action, Role role,
                                    const std::string& actor, const weituo::v1::Update* update,
                                    const std::string& child_id, int64_t now);
  // Appends `event` (its type, state, actor and what it carries set) to the
  // record's trail and the chain, and tells each of `recipients`.
  weituo::v1::Event Append(weituo::v1::CommissionRecord& record, weituo::v1::Event event,
                           const std::vector<std::string>& recipients, int64_t now);
  // A new commission's record with its first event (EV_SUBMITTED, already
  // hashed), which is linked into the chain.
  const weituo::v1::CommissionRecord& AddNew(weituo::v1::CommissionRecord record,
                                             const weituo::v1::Event& submitted);

  // The record's deadline review is due at `next_check_ms` (0: never).
  void Reschedule(weituo::v1::CommissionRecord& record, int64_t next_check_ms);
  // The earliest timer written since the last call (max if none).
  int64_t TakeLowestTimerPut() {
    return std::exchange(lowest_timer_put_, std::numeric_limits<int64_t>::max());
  }
  int64_t lowest_timer_put() const { return lowest_timer_put_; }

  // Before the turn's commit: the counts and the chain head, if they moved.
  void WriteHeads();
  const weituo::v1::StateCounts& state_counts() const { return state_counts_; }
  uint64_t chain_position() const { return chain_position_; }

 private:
  void Link(const weituo::v1::Event& event);
  void CountMove(weituo::v1::State from, weituo::v1::State to);

  BrokerStore& store_;
  Turn& turn_;
  Notify notify_;
  weituo::v1::StateCounts state_counts_;
  bool state_counts_dirty_ = false;
  uint64_t chain_position_ = 0;  // of the last link written
  std::string chain_head_;       // its hash
  bool chain_advanced_ = false;  // this turn linked events: the head is written
  int64_t lowest_timer_put_ = std::numeric_limits<int64_t>::max();
};

}  // namespace weituo::broker
