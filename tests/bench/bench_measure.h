// What every benchmark measures the same way: process CPU and peak memory
// from /proc, nearest-rank percentiles, and the JSON number formats. Shared
// by weituo_bench and the comparison drivers so their figures line up.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace weituo::bench {

inline int64_t Nanos(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// CPU seconds (user + system) process `pid` has used so far; 0 if unknown.
inline double ProcessCpuSeconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  // After "pid (comm)": state is field 3; utime and stime are fields 14, 15.
  std::istringstream fields(stat.substr(paren + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;
  unsigned long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Peak resident set (VmHWM) of process `pid` in MiB; 0 if unknown.
inline double ProcessPeakRssMib(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return 0;
}

// CPU seconds (user + system) of this process, all threads.
inline double OwnCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Percentiles {
  size_t n = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
};

// Nearest-rank percentiles of `values`.
inline Percentiles PercentilesOf(std::vector<double> values) {
  Percentiles p;
  p.n = values.size();
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  auto rank = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<size_t>(i, 1, values.size()) - 1];
  };
  p.p50 = rank(0.50);
  p.p99 = rank(0.99);
  p.p999 = rank(0.999);
  p.max = values.back();
  return p;
}

inline std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

inline std::string JsonPercentiles(const Percentiles& p) {
  return "{\"n\":" + std::to_string(p.n) + ",\"p50\":" + Fixed(p.p50, 3) +
         ",\"p99\":" + Fixed(p.p99, 3) + ",\"p999\":" + Fixed(p.p999, 3) +
         ",\"max\":" + Fixed(p.max, 3) + "}";
}

}  // namespace weituo::bench
