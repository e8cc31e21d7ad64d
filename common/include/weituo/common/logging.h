// Logging set-up. Every program logs one line per event to stderr in
// logfmt (`ts=... level=... prog=... msg="..." key=value`), which log
// shippers parse. Thread-safe after InitLogging.
#pragma once

#include <string>

namespace weituo {

// level: trace, debug, info, warn, error. Call once at start-up.
void InitLogging(const std::string& program, const std::string& level);

}  // namespace weituo
