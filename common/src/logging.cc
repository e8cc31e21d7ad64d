#include "weituo/common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

namespace weituo {

void InitLogging(const std::string& program, const std::string& level) {
  auto logger = spdlog::stderr_logger_mt(program);
  logger->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l prog=%n %v",
                      spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

namespace {

// The length of the well-formed UTF-8 sequence that starts at text[i], or 0
// if none does (a stray continuation byte, an overlong or surrogate form, a
// sequence cut off by the end of the text).
size_t Utf8SequenceAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  const size_t n = lead >= 0xf5 ? 0 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  const unsigned char second = byte(i + 1);
  if ((lead == 0xe0 && second < 0xa0) || (lead == 0xed && second >= 0xa0) ||
      (lead == 0xf0 && second < 0x90) || (lead == 0xf4 && second >= 0x90)) {
    return 0;
  }
  return n;
}

void AppendEscaped(std::string& out, std::string_view bytes) {
  for (unsigned char c : bytes) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  }
}

}  // namespace

std::string LogValue(std::string_view text) {
  constexpr size_t kMaxBytes = 256;
  std::string out;
  out.reserve(std::min(text.size(), kMaxBytes) + 8);
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80 ? 1 : Utf8SequenceAt(text, i);
    const size_t len = n == 0 ? 1 : n;
    if (i + len > kMaxBytes) break;  // never cut a character in two
    const std::string_view unit = text.substr(i, len);
    // C0 and C1 controls (U+0080..U+009F: a terminal takes some as escape
    // sequences), DEL, and bytes that are not UTF-8 are written as \xNN.
    const bool c1 = n == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0;
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f || n == 0 || c1) {
      AppendEscaped(out, unit);
    } else {
      out.append(unit);
    }
    i += len;
  }
  if (i < text.size()) out += "...";
  return out;
}

bool LogThrottle::Allow(int64_t now_ms, uint64_t* suppressed) {
  if (now_ms - window_start_ms_ >= 1000) {
    window_start_ms_ = now_ms;
    in_window_ = 0;
  }
  if (in_window_ >= per_second_) {
    ++held_back_;
    return false;
  }
  ++in_window_;
  *suppressed = held_back_;
  held_back_ = 0;
  return true;
}

}  // namespace weituo
