// The promises of common/ that both fuzz targets check, and how a broken one
// stops the run: FUZZ_CHECK prints the promise and aborts, so libFuzzer
// reports a crash and writes the input that broke it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "weituo/common/lifecycle.h"
#include "weituo/common/status.h"
#include "weituo/common/wire.h"

#define FUZZ_CHECK(condition, context)                                                         \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "%s:%d: broken promise: %s (%s)\n", __FILE__, __LINE__, #condition, \
                   std::string(context).c_str());                                              \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace weituo::fuzz {

// A refusal names its problem and maps to a wire code that is not OK, and the
// specific one wire.h documents for the codes the lifecycle uses.
inline void CheckRefusal(const Status& status) {
  FUZZ_CHECK(!status.ok(), "a refusal");
  FUZZ_CHECK(!status.message().empty(), status.ToString());
  const weituo::v1::ErrorCode code = ErrorCodeFor(status);
  FUZZ_CHECK(code != weituo::v1::ERROR_CODE_UNSPECIFIED, status.ToString());
  FUZZ_CHECK(weituo::v1::ErrorCode_IsValid(code), status.ToString());
  if (status.code() == StatusCode::kPermissionDenied) {
    FUZZ_CHECK(code == weituo::v1::PERMISSION_DENIED, status.ToString());
  }
  if (status.code() == StatusCode::kFailedPrecondition) {
    FUZZ_CHECK(code == weituo::v1::ILLEGAL_TRANSITION, status.ToString());
  }
}

// Applies NextState and checks what lifecycle.h promises of it: the same
// answer every time (it is pure); PERMISSION_DENIED exactly when `role` is not
// ActorOf(action), otherwise FAILED_PRECONDITION or a state of the schema that
// is not STATE_UNSPECIFIED; nothing leaves a final state, and kDeliver after
// SUBMITTED is allowed and changes nothing. Returns the next state, or nullopt
// for a refusal.
inline std::optional<State> CheckTransition(State from, Action action, Role role) {
  const auto step = [=] {
    return std::string(ActionName(action)) + " by " + std::string(RoleName(role)) + " in " +
           std::string(StateName(from));
  };
  StatusOr<State> next = NextState(from, action, role);
  StatusOr<State> again = NextState(from, action, role);
  FUZZ_CHECK(next.ok() == again.ok(), step());
  FUZZ_CHECK(next.ok() ? *next == *again : next.status() == again.status(), step());

  const bool after_submitted = from != State::STATE_UNSPECIFIED && from != State::SUBMITTED;
  if (action == Action::kDeliver && role == Role::kBroker && after_submitted) {
    FUZZ_CHECK(next.ok() && *next == from, step());
  }
  if (!next.ok()) {
    CheckRefusal(next.status());
    const StatusCode expected =
        role == ActorOf(action) ? StatusCode::kFailedPrecondition : StatusCode::kPermissionDenied;
    FUZZ_CHECK(next.status().code() == expected, step() + ": " + next.status().ToString());
    return std::nullopt;
  }
  FUZZ_CHECK(role == ActorOf(action), step());
  FUZZ_CHECK(weituo::v1::State_IsValid(*next) && *next != State::STATE_UNSPECIFIED,
             step() + " gave " + std::to_string(static_cast<int>(*next)));
  FUZZ_CHECK(!IsFinal(from) || (action == Action::kDeliver && *next == from), step());
  FUZZ_CHECK(EventTypeOf(action) != weituo::v1::EVENT_TYPE_UNSPECIFIED, step());
  return *next;
}

}  // namespace weituo::fuzz
