#include "weituo/common/lifecycle.h"

#include <string>

namespace weituo {

using weituo::v1::EventType;
using weituo::v1::Update;

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kDeliver:
      return "deliver";
    case Action::kAccept:
      return "accept";
    case Action::kProgress:
      return "progress";
    case Action::kComplete:
      return "complete";
    case Action::kReturn:
      return "return";
    case Action::kRequestInfo:
      return "request_info";
    case Action::kForward:
      return "forward";
    case Action::kWithdraw:
      return "withdraw";
    case Action::kSupplyInfo:
      return "supply_info";
    case Action::kExpire:
      return "expire";
    case Action::kDeemWithdrawn:
      return "deem_withdrawn";
  }
  return "unknown";
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kOrigin:
      return "origin";
    case Role::kTarget:
      return "target";
    case Role::kBroker:
      return "broker";
  }
  return "unknown";
}

std::string_view StateName(State state) { return weituo::v1::State_Name(state); }

Role ActorOf(Action action) {
  switch (action) {
    case Action::kAccept:
    case Action::kProgress:
    case Action::kComplete:
    case Action::kReturn:
    case Action::kRequestInfo:
    case Action::kForward:
      return Role::kTarget;
    case Action::kWithdraw:
    case Action::kSupplyInfo:
      return Role::kOrigin;
    case Action::kDeliver:
    case Action::kExpire:
    case Action::kDeemWithdrawn:
      return Role::kBroker;
  }
  return Role::kBroker;
}

bool IsFinal(State state) {
  switch (state) {
    case State::COMPLETED:
    case State::RETURNED:
    case State::WITHDRAWN:
    case State::FORWARDED:
    case State::EXPIRED:
      return true;
    default:
      return false;
  }
}

namespace {

// States in which work on a commission is still open.
bool IsOpen(State s) {
  return s == State::SUBMITTED || s == State::DELIVERED || s == State::ACCEPTED ||
         s == State::IN_PROGRESS || s == State::NEEDS_INFO;
}

// The transition table for the right role; nullopt means illegal here.
std::optional<State> Target(State s, Action action) {
  switch (action) {
    case Action::kDeliver:
      if (s == State::SUBMITTED) return State::DELIVERED;
      if (s == State::STATE_UNSPECIFIED) return std::nullopt;
      return s;  // receipt recorded, state unchanged
    case Action::kAccept:
      if (s == State::SUBMITTED || s == State::DELIVERED) return State::ACCEPTED;
      return std::nullopt;
    case Action::kProgress:
      if (s == State::ACCEPTED || s == State::IN_PROGRESS) return State::IN_PROGRESS;
      return std::nullopt;
    case Action::kComplete:
      if (s == State::ACCEPTED || s == State::IN_PROGRESS) return State::COMPLETED;
      return std::nullopt;
    case Action::kReturn:
      if (IsOpen(s)) return State::RETURNED;
      return std::nullopt;
    case Action::kRequestInfo:
      if (s == State::ACCEPTED || s == State::IN_PROGRESS) return State::NEEDS_INFO;
      return std::nullopt;
    case Action::kForward:
      if (s == State::DELIVERED || s == State::ACCEPTED || s == State::IN_PROGRESS)
        return State::FORWARDED;
      return std::nullopt;
    case Action::kWithdraw:
      if (IsOpen(s)) return State::WITHDRAWN;
      return std::nullopt;
    case Action::kSupplyInfo:
      if (s == State::NEEDS_INFO) return State::IN_PROGRESS;
      return std::nullopt;
    case Action::kExpire:
      if (IsOpen(s)) return State::EXPIRED;
      return std::nullopt;
    case Action::kDeemWithdrawn:
      if (s == State::NEEDS_INFO) return State::WITHDRAWN;
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

StatusOr<State> NextState(State current, Action action, Role role) {
  if (ActorOf(action) != role) {
    return Status::PermissionDenied("the " + std::string(RoleName(role)) + " may not " +
                                    std::string(ActionName(action)) + " a commission; only the " +
                                    std::string(RoleName(ActorOf(action))) + " may");
  }
  std::optional<State> next = Target(current, action);
  if (!next) {
    return Status::FailedPrecondition("cannot " + std::string(ActionName(action)) +
                                      " a commission that is " + std::string(StateName(current)));
  }
  return *next;
}

std::optional<Action> ActionOf(const Update& update) {
  switch (update.action_case()) {
    case Update::kAccept:
      return Action::kAccept;
    case Update::kProgress:
      return Action::kProgress;
    case Update::kComplete:
      return Action::kComplete;
    case Update::kReturn:
      return Action::kReturn;
    case Update::kWithdraw:
      return Action::kWithdraw;
    case Update::kRequestInfo:
      return Action::kRequestInfo;
    case Update::kSupplyInfo:
      return Action::kSupplyInfo;
    case Update::kForward:
      return Action::kForward;
    case Update::ACTION_NOT_SET:
      return std::nullopt;
  }
  return std::nullopt;
}

EventType EventTypeOf(Action action) {
  switch (action) {
    case Action::kDeliver:
      return EventType::EV_DELIVERED;
    case Action::kAccept:
      return EventType::EV_ACCEPTED;
    case Action::kProgress:
      return EventType::EV_PROGRESS;
    case Action::kComplete:
      return EventType::EV_COMPLETED;
    case Action::kReturn:
      return EventType::EV_RETURNED;
    case Action::kRequestInfo:
      return EventType::EV_INFO_REQUESTED;
    case Action::kSupplyInfo:
      return EventType::EV_INFO_SUPPLIED;
    case Action::kWithdraw:
    case Action::kDeemWithdrawn:
      return EventType::EV_WITHDRAWN;
    case Action::kForward:
      return EventType::EV_FORWARDED;
    case Action::kExpire:
      return EventType::EV_EXPIRED;
  }
  return EventType::EVENT_TYPE_UNSPECIFIED;
}

}  // namespace weituo
