// Identifiers. Commission ids are ULIDs made by the origin court's agent:
// 26 Crockford base-32 characters, the first ten a millisecond timestamp, so
// ids sort by creation time and are unique without coordination.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weituo {

// A new ULID for `now_ms`. Thread-safe.
std::string NewUlid(int64_t now_ms);

// True if `id` has the form of a ULID.
bool IsUlid(std::string_view id);

// The millisecond timestamp encoded in a ULID (0 if it is not one).
int64_t UlidTimeMs(std::string_view id);

}  // namespace weituo
