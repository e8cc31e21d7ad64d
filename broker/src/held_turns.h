#pragma once

// A group's leader: the turns committed but not yet durable on the group,
// oldest first, each with what it may send only once its own commit is
// (docs/group.md, "Pipelined turns"). The loop holds the turn it has just
// committed while it takes the next, and releases the older one when the
// group has it; nothing is sent of a held turn.
//
// Threading: the broker's loop thread.

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "latency_histogram.h"
#include "turn.h"

namespace weituo::broker {

class HeldTurns {
 public:
  struct Held {
    uint64_t commit = 0;            // the store's LastCommit after the turn
    uint64_t deliveries_below = 0;  // every message stored so far has a delivery id below it
    std::vector<Turn::Reply> replies;
    std::set<std::string> connected;                   // courts welcomed in it
    std::vector<ReceiptLatency::TimePoint> receipted;  // read times of its receipts
  };

  void Hold(Held turn) { held_.push_back(std::move(turn)); }
  bool empty() const { return held_.empty(); }
  size_t size() const { return held_.size(); }
  // The commit the oldest `count` turns are durable with (count >= 1).
  uint64_t CommitOf(size_t count) const { return held_.at(count - 1).commit; }
  // The oldest `count`, oldest first, no longer held.
  std::vector<Held> Release(size_t count) {
    std::vector<Held> out;
    for (size_t i = 0; i < count && !held_.empty(); ++i) {
      released_below_ = held_.front().deliveries_below;
      out.push_back(std::move(held_.front()));
      held_.pop_front();
    }
    return out;
  }
  // The member no longer leads: nothing held is ever sent.
  void Clear() { held_.clear(); }
  // A turn has been released since the loop began (a new leader's first
  // turn is never held past its end).
  bool released_any() const { return released_below_ > 0; }
  // Queued messages with a delivery id below this may be sent: all when
  // nothing is held, else those stored by the turns released.
  uint64_t SendableBelow() const { return held_.empty() ? UINT64_MAX : released_below_; }
  // The courts welcomed in a held turn: nothing goes to them before it.
  std::set<std::string> Connecting() const {
    std::set<std::string> out;
    for (const Held& h : held_) out.insert(h.connected.begin(), h.connected.end());
    return out;
  }

 private:
  std::deque<Held> held_;
  uint64_t released_below_ = 0;  // deliveries_below of the last turn released
};

}  // namespace weituo::broker
