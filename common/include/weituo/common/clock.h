// Time. Pure code takes time as a parameter; only the shells read the clock,
// through these functions. All times are Unix epoch milliseconds, UTC.
#pragma once

#include <cstdint>
#include <string>

namespace weituo {

// Wall-clock time in milliseconds since the epoch.
int64_t NowMs();

// Monotonic time in milliseconds, for timers.
int64_t MonotonicMs();

// "2026-11-27 18:25:29.123" in UTC.
std::string FormatTimeMs(int64_t ms);

// True if `date` is a valid "YYYY-MM-DD".
bool IsIsoDate(const std::string& date);

}  // namespace weituo
