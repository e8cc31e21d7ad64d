// Status and StatusOr<T>: the one error type that crosses module borders.
// A Status is OK or carries a code a caller can act on and a message for a
// person. RocksDB and ZeroMQ errors are converted at the border of the module
// that uses them. Values are cheap to copy when OK.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace weituo {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the input is malformed or incomplete
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // the same id with different content
  kPermissionDenied,    // the caller's court may not do this
  kFailedPrecondition,  // not allowed in the current state
  kResourceExhausted,   // over a size or rate limit
  kUnavailable,         // retry later
  kInternal,            // a bug or a store failure
  kDataLoss,            // the store is damaged or lost something it had acknowledged
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(StatusCode::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) { return Status(StatusCode::kNotFound, std::move(msg)); }
  static Status AlreadyExists(std::string msg) {
    return Status(StatusCode::kAlreadyExists, std::move(msg));
  }
  static Status PermissionDenied(std::string msg) {
    return Status(StatusCode::kPermissionDenied, std::move(msg));
  }
  static Status FailedPrecondition(std::string msg) {
    return Status(StatusCode::kFailedPrecondition, std::move(msg));
  }
  static Status ResourceExhausted(std::string msg) {
    return Status(StatusCode::kResourceExhausted, std::move(msg));
  }
  static Status Unavailable(std::string msg) {
    return Status(StatusCode::kUnavailable, std::move(msg));
  }
  static Status Internal(std::string msg) { return Status(StatusCode::kInternal, std::move(msg)); }
  static Status DataLoss(std::string msg) { return Status(StatusCode::kDataLoss, std::move(msg)); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: no commission 01J..." or "OK".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-OK Status. Accessing value() of an error is a
// programmer error and aborts.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {
    if (status_.ok()) status_ = Status::Internal("StatusOr built from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  const T& value() const& { return Checked(); }
  T& value() & { return Checked(); }
  T&& value() && { return std::move(Checked()); }
  const T& operator*() const& { return Checked(); }
  T& operator*() & { return Checked(); }
  const T* operator->() const { return &Checked(); }
  T* operator->() { return &Checked(); }

 private:
  T& Checked() const {
    if (!value_) Abort(status_);
    return const_cast<T&>(*value_);
  }
  [[noreturn]] static void Abort(const Status& s);

  Status status_;
  std::optional<T> value_;
};

namespace internal {
[[noreturn]] void AbortOnBadAccess(const Status& s);
}

template <typename T>
void StatusOr<T>::Abort(const Status& s) {
  internal::AbortOnBadAccess(s);
}

}  // namespace weituo

// Returns early from a function returning Status or StatusOr if expr fails.
#define WEITUO_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::weituo::Status weituo_status_ = (expr);        \
    if (!weituo_status_.ok()) return weituo_status_; \
  } while (0)

// Evaluates expr, a StatusOr<T>; returns its status early from a function
// returning Status or StatusOr if it failed, otherwise moves its value into
// lhs, which declares a variable (`auto store`, `const Table& t`) or names one:
//   WEITUO_ASSIGN_OR_RETURN(auto table, ConfigTable::Parse(text, origin));
// It expands to several statements: not the lone body of an unbraced if.
// lhs holds no top-level comma (use auto); expr may.
#define WEITUO_ASSIGN_OR_RETURN(lhs, ...)                                                   \
  WEITUO_ASSIGN_OR_RETURN_IMPL_(WEITUO_STATUS_CONCAT_(weituo_status_or_, __COUNTER__), lhs, \
                                __VA_ARGS__)

#define WEITUO_ASSIGN_OR_RETURN_IMPL_(status_or, lhs, ...) \
  auto status_or = (__VA_ARGS__);                          \
  if (!status_or.ok()) return status_or.status();          \
  lhs = std::move(status_or).value()
#define WEITUO_STATUS_CONCAT_(a, b) WEITUO_STATUS_CONCAT_INNER_(a, b)
#define WEITUO_STATUS_CONCAT_INNER_(a, b) a##b
