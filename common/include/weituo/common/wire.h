// Framing of wire messages: one Envelope per ZeroMQ message, a size limit,
// a protocol version. Used on both sides; never throws on bad input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "weituo/common/status.h"
#include "weituo/v1/wire.pb.h"

namespace weituo {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kDefaultMaxFrameBytes = 256 * 1024;

// Parses one frame. On failure returns false and fills `error` with
// TOO_LARGE (over max_bytes), MALFORMED (not an Envelope, or no body) or
// UNSUPPORTED_VERSION, and a message naming the problem.
bool ParseEnvelope(std::string_view frame, size_t max_bytes, weituo::v1::Envelope* out,
                   weituo::v1::Error* error);

// Serializes with the protocol version set.
std::string SerializeEnvelope(weituo::v1::Envelope& envelope);

// An Envelope carrying an Error.
weituo::v1::Envelope MakeErrorEnvelope(weituo::v1::ErrorCode code, std::string message,
                                       std::string ref);

// The wire code for a refusal Status (FAILED_PRECONDITION is an illegal
// transition, ALREADY_EXISTS a conflict, and so on).
weituo::v1::ErrorCode ErrorCodeFor(const Status& status);

// Retryable codes: the sender keeps the message and tries again.
bool IsRetryable(weituo::v1::ErrorCode code);

// Court ids are 1..64 characters of [a-z0-9-]; keys rely on it.
bool IsValidCourtId(std::string_view id);

}  // namespace weituo
