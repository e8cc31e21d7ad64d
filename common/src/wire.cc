#include "weituo/common/wire.h"

namespace weituo {

using weituo::v1::Envelope;
using weituo::v1::Error;
using weituo::v1::ErrorCode;

bool ParseEnvelope(std::string_view frame, size_t max_bytes, Envelope* out, Error* error) {
  if (frame.size() > max_bytes) {
    error->set_code(ErrorCode::TOO_LARGE);
    error->set_message("frame of " + std::to_string(frame.size()) + " bytes is over the limit of " +
                       std::to_string(max_bytes));
    return false;
  }
  if (!out->ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    error->set_code(ErrorCode::MALFORMED);
    error->set_message("frame is not a weituo.v1.Envelope");
    return false;
  }
  if (out->protocol() != kProtocolVersion) {
    error->set_code(ErrorCode::UNSUPPORTED_VERSION);
    error->set_message("protocol " + std::to_string(out->protocol()) + " is not supported; use " +
                       std::to_string(kProtocolVersion));
    return false;
  }
  if (out->body_case() == Envelope::BODY_NOT_SET) {
    error->set_code(ErrorCode::MALFORMED);
    error->set_message("envelope has no body (or a body this broker does not know)");
    return false;
  }
  return true;
}

std::string SerializeEnvelope(Envelope& envelope) {
  envelope.set_protocol(kProtocolVersion);
  return envelope.SerializeAsString();
}

Envelope MakeErrorEnvelope(ErrorCode code, std::string message, std::string ref) {
  Envelope env;
  env.set_protocol(kProtocolVersion);
  Error* e = env.mutable_error();
  e->set_code(code);
  e->set_message(std::move(message));
  e->set_ref(std::move(ref));
  return env;
}

ErrorCode ErrorCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return ErrorCode::ERROR_CODE_UNSPECIFIED;
    case StatusCode::kInvalidArgument:
      return ErrorCode::INVALID_ARGUMENT;
    case StatusCode::kNotFound:
      return ErrorCode::NOT_FOUND;
    case StatusCode::kAlreadyExists:
      return ErrorCode::CONFLICT;
    case StatusCode::kPermissionDenied:
      return ErrorCode::PERMISSION_DENIED;
    case StatusCode::kFailedPrecondition:
      return ErrorCode::ILLEGAL_TRANSITION;
    case StatusCode::kResourceExhausted:
      return ErrorCode::TOO_LARGE;
    case StatusCode::kUnavailable:
      return ErrorCode::UNAVAILABLE;
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:  // the broker's own damage: the sender may retry
      return ErrorCode::INTERNAL;
  }
  return ErrorCode::INTERNAL;
}

bool IsRetryable(ErrorCode code) {
  return code == ErrorCode::UNAVAILABLE || code == ErrorCode::INTERNAL ||
         code == ErrorCode::NOT_IDENTIFIED || code == ErrorCode::RATE_LIMITED ||
         code == ErrorCode::STORAGE_FULL || code == ErrorCode::NOT_LEADER;
}

bool IsValidCourtId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace weituo
