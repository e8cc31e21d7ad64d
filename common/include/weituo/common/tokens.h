// The rule for a bearer token a program reads from a file (the broker's
// admin token, witnesses' tokens, the agent's API token): long enough,
// printable, no whitespace, and not one or two characters repeated, so that
// a placeholder such as sixteen spaces or "aaaa..." is refused at start.
// Thread-safe: a pure function.
#pragma once

#include <cstddef>
#include <string_view>

#include "weituo/common/status.h"

namespace weituo {

inline constexpr size_t kMinTokenChars = 16;
// With the "no character over half" rule below, a random token of 16 hex
// digits is refused about once in 450,000 (the tokens the programs make
// have 64); "abab...", "1234..." and "aaaaaaaaaaaaaaab" always are.
inline constexpr size_t kMinTokenDistinctChars = 5;

// OK if `token` has at least `min_chars` characters, all printable ASCII
// other than the space, at least kMinTokenDistinctChars different ones and
// none making up more than half of it. Else INVALID_ARGUMENT saying which
// rule it breaks (never quoting the token itself).
Status CheckToken(std::string_view token, size_t min_chars = kMinTokenChars);

}  // namespace weituo
