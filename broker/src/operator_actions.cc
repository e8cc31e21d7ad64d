#include "operator_actions.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

namespace weituo::broker {

using weituo::v1::ApiReply;

StatusOr<ApiReply> OperatorActions::Post(OperatorAction::Kind kind, std::string arg) {
  auto action = std::make_unique<OperatorAction>();
  action->kind = kind;
  action->arg = std::move(arg);
  std::future<StatusOr<ApiReply>> done = action->done.get_future();
  // Applied in the loop's next turn, which starts now; answered once that
  // turn is committed. A call the stopping loop drops breaks the promise.
  loop_.RunInEventLoop([this, action = std::shared_ptr<OperatorAction>(std::move(action))] {
    StatusOr<ApiReply> reply = Apply(*action);
    applied_.emplace_back(action, std::move(reply));
  });
  if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return Status::Unavailable("the broker's loop did not answer within 10 s");
  }
  try {
    return done.get();
  } catch (const std::future_error&) {
    return Status::Unavailable("the broker stopped before the action was applied");
  }
}

void OperatorActions::AnswerApplied() {
  for (auto& [action, reply] : applied_) action->done.set_value(std::move(reply));
  applied_.clear();
}

StatusOr<ApiReply> OperatorActions::Apply(const OperatorAction& action) {
  switch (action.kind) {
    case OperatorAction::Kind::kRedrive:
      return RedriveParked(action.arg);
    case OperatorAction::Kind::kAdvanceClock:
      return AdvanceClock(action.arg);
    case OperatorAction::Kind::kPause:
      return SetPaused(action.arg, true);
    case OperatorAction::Kind::kResume:
      return SetPaused(action.arg, false);
  }
  return Status::InvalidArgument("unknown operator action");
}

StatusOr<ApiReply> OperatorActions::AdvanceClock(const std::string& arg) {
  if (!options_.test_clock) {
    return Status::FailedPrecondition("the clock moves only in a broker started with --test-clock");
  }
  int64_t ms = std::strtoll(arg.c_str(), nullptr, 10);
  clock_.Advance(ms);
  hooks_.clock_moved();
  counters_.Add("clock_advances");
  spdlog::warn("msg=\"test clock advanced\" by_ms={} offset_ms={} now=\"{}\"", ms,
               clock_.offset_ms(), FormatTimeMs(clock_.Now()));
  ApiReply reply;
  reply.set_ok(true);
  reply.set_message("clock now " + FormatTimeMs(clock_.Now()) + " UTC (offset " +
                    std::to_string(clock_.offset_ms()) + " ms)");
  return reply;
}

StatusOr<ApiReply> OperatorActions::SetPaused(const std::string& court, bool pause) {
  if (!hooks_.known_court(court)) {
    return Status::NotFound("no court '" + court + "' in the directory");
  }
  ApiReply reply;
  reply.set_ok(true);
  if (!delivery_.SetPaused(court, pause)) {
    reply.set_message("deliveries to " + court + " were already " + (pause ? "paused" : "running"));
    return reply;
  }
  const uint64_t pending = delivery_.Counts(court).pending;
  counters_.Add(pause ? "courts_paused" : "courts_resumed");
  spdlog::warn("msg=\"court {}\" court={} pending={}", pause ? "paused" : "resumed", court,
               pending);
  reply.set_message("deliveries to " + court + (pause ? " paused; " : " resumed; ") +
                    std::to_string(pending) + " pending");
  return reply;
}

StatusOr<ApiReply> OperatorActions::RedriveParked(const std::string& id) {
  WEITUO_ASSIGN_OR_RETURN(const uint32_t redriven, delivery_.Redrive(id));
  ApiReply reply;
  reply.set_ok(true);
  reply.set_affected(redriven);
  reply.set_message(std::to_string(redriven) + " parked message(s) queued again");
  return reply;
}

}  // namespace weituo::broker
