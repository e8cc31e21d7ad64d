// What a handler says besides its answer (a command's standard error, the
// body of an HTTP handler's error status, why its answer did not parse) is
// the handler's text, not the agent's: it may hold a debtor's ID number or
// address, or a line made to look like one of the agent's log lines. The
// agent keeps only its last lines, escaped and capped, with the
// commission's handler status for a clerk (`weituo-agent show`, `inbox`),
// and writes them to its log only where a handler's `log_output` asks.
//
// Threading: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace weituo::agent {

inline constexpr size_t kMaxOutputLines = 10;
// What the lines kept may add up to, escapes included.
inline constexpr size_t kMaxOutputBytes = 2048;
// How much of a handler's raw output is held while it runs: the end of it.
inline constexpr size_t kOutputHeldBytes = 4096;

// The last non-blank lines of `raw` (at most kMaxOutputLines, together at
// most kMaxOutputBytes), each escaped as LogValue does: no control
// character, quote or byte that is not UTF-8 left as it was, at most 256
// bytes of text per line. Safe to print, to store as a proto string and to
// put between quotes in a log line.
std::vector<std::string> LastOutputLines(std::string_view raw);

// `lines` (from LastOutputLines) as one log value, " | " between lines.
std::string OutputLogValue(const std::vector<std::string>& lines);

// Appends `more` to `held`, keeping only its last kOutputHeldBytes.
void HoldOutput(std::string& held, std::string_view more);

}  // namespace weituo::agent
