#include "handler_output.h"

#include <deque>

#include "weituo/common/logging.h"

namespace weituo::agent {

std::vector<std::string> LastOutputLines(std::string_view raw) {
  std::deque<std::string> lines;
  size_t bytes = 0;
  // From the end, so that only what is kept is escaped.
  size_t end = raw.size();
  while (end > 0 && lines.size() < kMaxOutputLines) {
    size_t newline = raw.rfind('\n', end - 1);
    size_t start = newline == std::string_view::npos ? 0 : newline + 1;
    std::string_view line = raw.substr(start, end - start);
    end = newline == std::string_view::npos ? 0 : newline;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::string escaped = LogValue(line);
    if (bytes + escaped.size() > kMaxOutputBytes) break;
    bytes += escaped.size();
    lines.push_front(std::move(escaped));
  }
  return {lines.begin(), lines.end()};
}

std::string OutputLogValue(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += (out.empty() ? "" : " | ") + line;
  return out;
}

void HoldOutput(std::string& held, std::string_view more) {
  held.append(more);
  // Trimmed in steps, not on every read: the end is what counts.
  if (held.size() > 2 * kOutputHeldBytes) held.erase(0, held.size() - kOutputHeldBytes);
}

}  // namespace weituo::agent
