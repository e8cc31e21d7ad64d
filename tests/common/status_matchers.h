// gMock matchers for Status and StatusOr<T>, so that a test asserts the exact
// code (and, where it matters, the message) of an outcome:
//   EXPECT_THAT(NextState(...), StatusIs(StatusCode::kFailedPrecondition, HasSubstr("accept")));
// Header-only test support for the tests in this folder.
#pragma once

#include <ostream>
#include <string>

#include <gmock/gmock.h>

#include "weituo/common/status.h"

namespace weituo {

// Failure messages show "NOT_FOUND" rather than the enum's bytes.
inline void PrintTo(StatusCode code, std::ostream* os) { *os << StatusCodeName(code); }
inline void PrintTo(const Status& status, std::ostream* os) { *os << status.ToString(); }
template <typename T>
void PrintTo(const StatusOr<T>& status_or, std::ostream* os) {
  if (status_or.ok()) {
    *os << "OK with value " << ::testing::PrintToString(*status_or);
  } else {
    *os << status_or.status().ToString();
  }
}

namespace matchers_internal {
inline const Status& StatusOf(const Status& status) { return status; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& status_or) {
  return status_or.status();
}
}  // namespace matchers_internal

// Matches a Status or StatusOr<T> that is OK.
MATCHER(IsOk, negation ? "is not OK" : "is OK") {
  const Status& status = matchers_internal::StatusOf(arg);
  *result_listener << "whose status is " << status.ToString();
  return status.ok();
}

// Matches a Status or StatusOr<T> whose code is `code`.
MATCHER_P(StatusIs, code,
          std::string(negation ? "has a code other than " : "has code ") +
              std::string(StatusCodeName(code))) {
  const Status& status = matchers_internal::StatusOf(arg);
  *result_listener << "whose status is " << status.ToString();
  return status.code() == code;
}

// Matches a Status or StatusOr<T> whose code is `code` and whose message
// matches `message_matcher` (a string or a matcher such as HasSubstr).
MATCHER_P2(StatusIs, code, message_matcher,
           std::string(negation ? "does not have code " : "has code ") +
               std::string(StatusCodeName(code)) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher, negation)) {
  const Status& status = matchers_internal::StatusOf(arg);
  *result_listener << "whose status is " << status.ToString();
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, status.message(), result_listener);
}

}  // namespace weituo
