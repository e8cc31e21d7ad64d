// Logging set-up. Every program logs one line per event to stderr in
// logfmt (`ts=... level=... prog=... msg="..." key=value`), which log
// shippers parse. Thread-safe after InitLogging.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weituo {

// level: trace, debug, info, warn, error. Call once at start-up.
void InitLogging(const std::string& program, const std::string& level);

// Text from the outside (a court id, an agent's version, a refusal that
// quotes input) made safe to put between quotes in a log line: quotes and
// backslashes escaped, control characters (C0, DEL, C1) and bytes that are
// not UTF-8 written as \xNN, at most 256 bytes kept (never half a
// character), so a peer cannot forge or split log lines and the result is
// valid UTF-8. Put it between quotes: spaces are kept.
std::string LogValue(std::string_view text);

// Lets through at most `per_second` lines a second and counts the ones held
// back, so a flood of bad input cannot flood the log or the disk under it.
// Not thread-safe: one per thread that logs.
class LogThrottle {
 public:
  explicit LogThrottle(int per_second) : per_second_(per_second) {}
  // True if a line may be written at monotonic time `now_ms`; then
  // *suppressed is how many were held back since the last one let through.
  bool Allow(int64_t now_ms, uint64_t* suppressed);

 private:
  int per_second_;
  int64_t window_start_ms_ = -1000000;
  int in_window_ = 0;
  uint64_t held_back_ = 0;
};

}  // namespace weituo
