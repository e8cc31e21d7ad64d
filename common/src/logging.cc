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

std::string LogValue(std::string_view text) {
  constexpr size_t kMaxBytes = 256;
  std::string out;
  out.reserve(std::min(text.size(), kMaxBytes) + 8);
  for (size_t i = 0; i < text.size() && i < kMaxBytes; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > kMaxBytes) out += "...";
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
