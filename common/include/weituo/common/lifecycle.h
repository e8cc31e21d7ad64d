// The commission lifecycle as a pure state machine: given the current state,
// an action and the role of whoever acts, the next state or a refusal. No I/O,
// no clock: the broker applies it, the tests enumerate it.
//
//   SUBMITTED -> DELIVERED -> ACCEPTED -> IN_PROGRESS -> COMPLETED
//   IN_PROGRESS <-> NEEDS_INFO; RETURNED, WITHDRAWN, FORWARDED, EXPIRED end it.
#pragma once

#include <optional>
#include <string_view>

#include "weituo/common/status.h"
#include "weituo/v1/commission.pb.h"

namespace weituo {

using State = weituo::v1::State;

enum class Role {
  kOrigin,  // the court that sent the commission
  kTarget,  // the court asked to act
  kBroker,  // the broker itself (delivery receipts, timers)
};

enum class Action {
  kDeliver,        // broker: the target's agent recorded the commission
  kAccept,         // target: 签收, names a handler
  kProgress,       // target: progress report, maybe a partial result
  kComplete,       // target: done, with a typed result
  kReturn,         // target: 退回 with a coded reason
  kRequestInfo,    // target: 补正, material missing
  kForward,        // target: to the competent court
  kWithdraw,       // origin: 撤回
  kSupplyInfo,     // origin: supplies the missing material
  kExpire,         // broker: past the not-after date
  kDeemWithdrawn,  // broker: material not supplied in time
};

inline constexpr Action kAllActions[] = {
    Action::kDeliver,    Action::kAccept,      Action::kProgress,     Action::kComplete,
    Action::kReturn,     Action::kRequestInfo, Action::kForward,      Action::kWithdraw,
    Action::kSupplyInfo, Action::kExpire,      Action::kDeemWithdrawn};
inline constexpr Role kAllRoles[] = {Role::kOrigin, Role::kTarget, Role::kBroker};

std::string_view ActionName(Action action);
std::string_view RoleName(Role role);
std::string_view StateName(State state);

// The only role allowed to take `action`.
Role ActorOf(Action action);

// True for COMPLETED, RETURNED, WITHDRAWN, FORWARDED and EXPIRED.
bool IsFinal(State state);

// Returns the state after `role` takes `action` in `current`.
// PERMISSION_DENIED if the role may never take the action; FAILED_PRECONDITION
// if the action is not allowed in `current`. kDeliver in a state after
// SUBMITTED is allowed and leaves the state unchanged: the receipt is still
// recorded, because a delivery may be acknowledged after the target already
// acted on it (an acknowledgement lost across a reconnect).
StatusOr<State> NextState(State current, Action action, Role role);

// The action an update asks for, or nullopt if it carries none.
std::optional<Action> ActionOf(const weituo::v1::Update& update);

// The trail event type that records `action`.
weituo::v1::EventType EventTypeOf(Action action);

}  // namespace weituo
