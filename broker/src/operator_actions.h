#pragma once

// Operator actions: pausing and resuming a court's deliveries, redriving
// parked messages, and moving a test clock forward.
//
// An action is posted from another thread (the HTTP thread) to the loop,
// which it wakes; it is applied in the loop's next turn and answered once
// that turn is committed, so an answer never states what the store does not
// hold. The caller waits at most 10 s.
//
// Owns: the actions applied in this turn and not yet answered. Uses
// delivery (pause, redrive) and the broker's clock.
//
// Threading: Post from any thread but the loop's; the rest on the loop's
// thread.

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker_clock.h"
#include "counters.h"
#include "delivery.h"
#include "weituo/broker/broker.h"
#include "weituo/common/event_loop.h"

namespace weituo::broker {

// An operator's request, posted to the loop and answered after the turn
// that applied it is committed.
struct OperatorAction {
  enum class Kind { kPause, kResume, kRedrive, kAdvanceClock } kind;
  std::string arg;
  std::promise<StatusOr<weituo::v1::ApiReply>> done;
};

class OperatorActions {
 public:
  struct Hooks {
    // Whether the directory lists `court`.
    std::function<bool(const std::string& court)> known_court;
    // The test clock moved: every timer now due is reviewed in this turn.
    std::function<void()> clock_moved;
  };

  OperatorActions(const BrokerOptions& options, EventLoop& loop, Delivery& delivery,
                  BrokerClock& clock, Counters& counters, Hooks hooks)
      : options_(options),
        loop_(loop),
        delivery_(delivery),
        clock_(clock),
        counters_(counters),
        hooks_(std::move(hooks)) {}

  // Queues the action for the loop and waits for its answer: the reply, or
  // NOT_FOUND for a court not in the directory, FAILED_PRECONDITION for a
  // clock moved without --test-clock, what Delivery::Redrive returns, and
  // UNAVAILABLE if the loop does not answer within 10 s or stops first.
  StatusOr<weituo::v1::ApiReply> Post(OperatorAction::Kind kind, std::string arg);
  // After the turn's commit: answers the actions it applied.
  void AnswerApplied();
  // Actions applied and not yet answered.
  bool HasApplied() const { return !applied_.empty(); }

 private:
  StatusOr<weituo::v1::ApiReply> Apply(const OperatorAction& action);
  StatusOr<weituo::v1::ApiReply> AdvanceClock(const std::string& ms);
  StatusOr<weituo::v1::ApiReply> SetPaused(const std::string& court, bool pause);
  StatusOr<weituo::v1::ApiReply> RedriveParked(const std::string& id);

  const BrokerOptions& options_;
  EventLoop& loop_;
  Delivery& delivery_;
  BrokerClock& clock_;
  Counters& counters_;
  Hooks hooks_;
  std::vector<std::pair<std::shared_ptr<OperatorAction>, StatusOr<weituo::v1::ApiReply>>> applied_;
};

}  // namespace weituo::broker
