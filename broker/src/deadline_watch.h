#pragma once

// Deadlines, above the trail: each open commission has a timer (CF
// "timers", by due time) for its next deadline review. Reviewing one reads
// its trail, writes the crossings (warnings, overdue points) as events told
// to both courts and the late court's supervisor, escalates, and applies
// what the zone's rules decide on their own (expiry, deemed withdrawal).
//
// Owns: the cursor of the timer scan (every timer due before it was
// reviewed). Writes through the turn and the trail.
//
// Threading: the broker's loop thread only.

#include <cstdint>
#include <functional>
#include <string>

#include "counters.h"
#include "trail.h"
#include "turn.h"
#include "weituo/broker/broker.h"
#include "weituo/common/deadlines.h"

namespace weituo::broker {

class DeadlineWatch {
 public:
  // The supervising court of `court` ("" if none).
  using SupervisorOf = std::function<std::string(const std::string& court)>;

  DeadlineWatch(const BrokerOptions& options, BrokerStore& store, Turn& turn, TrailWriter& trail,
                Counters& counters, SupervisorOf supervisor_of)
      : options_(options),
        store_(store),
        turn_(turn),
        trail_(trail),
        counters_(counters),
        supervisor_of_(std::move(supervisor_of)) {}

  // Reviews what is due at `now` (the broker's wall clock): a bounded number
  // per call, or with `all` (after the test clock moved) every one.
  void ReviewDue(int64_t now, bool all);

 private:
  void Review(const std::string& id, int64_t now);
  void RecordCrossing(weituo::v1::CommissionRecord& record, const Crossing& crossing, int64_t now);

  const BrokerOptions& options_;
  BrokerStore& store_;
  Turn& turn_;
  TrailWriter& trail_;
  Counters& counters_;
  SupervisorOf supervisor_of_;
  int64_t cursor_ = 0;
};

}  // namespace weituo::broker
