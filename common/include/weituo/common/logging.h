// Logging set-up. Every program logs one line per event to stderr in
// logfmt (`ts=... level=... prog=... msg="..." key=value`), which log
// shippers parse. Thread-safe after InitLogging.
#pragma once

#include <string>
#include <string_view>

namespace weituo {

// level: trace, debug, info, warn, error. Call once at start-up.
void InitLogging(const std::string& program, const std::string& level);

// Text from the outside (a court id, an agent's version, a refusal that
// quotes input) made safe to put between quotes in a log line: quotes,
// backslashes and control characters escaped, at most 256 bytes kept, so
// a peer cannot forge or split log lines.
std::string LogValue(std::string_view text);

}  // namespace weituo
