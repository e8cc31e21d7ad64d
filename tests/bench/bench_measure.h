// What every benchmark measures the same way: process CPU and peak memory
// from /proc, the times of each commission, nearest-rank percentiles, and
// the JSON number formats. Shared
// by weituo_bench and the comparison drivers so their figures line up.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
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

// Open file descriptors of process `pid`; -1 if unknown.
inline int OpenFds(int pid) {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
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

// Times of one commission, in steady-clock nanoseconds; 0 = not yet. A
// bench fills the ones its system has.
struct Sample {
  int64_t start = 0;             // submit or publish began (open loop: scheduled time)
  int64_t returned = 0;          // the submit or publish call returned
  int64_t receipt = 0;           // the broker confirmed it stored it
  int64_t delivered = 0;         // the target's handler got it (before its ack)
  int64_t delivery_receipt = 0;  // Weituo: the origin saw EV_DELIVERED
  int64_t completed = 0;         // Weituo --answer: the origin saw EV_COMPLETED
};

// The samples of one run, by slot and by commission id. Thread-safe. A time
// marked again (a redelivery, a handler run again) keeps the first.
class Recorder {
 public:
  explicit Recorder(size_t capacity) : samples_(capacity) { index_.reserve(capacity); }

  // Registers commission `id` as sample `slot` with its start time.
  void Begin(size_t slot, const std::string& id, int64_t start) {
    std::lock_guard<std::mutex> lock(mu_);
    index_[id] = slot;
    samples_[slot].start = start;
  }
  void Returned(size_t slot, int64_t t) {
    std::lock_guard<std::mutex> lock(mu_);
    samples_[slot].returned = t;
  }
  void Receipt(size_t slot, int64_t t) {
    std::lock_guard<std::mutex> lock(mu_);
    Set(samples_[slot].receipt, t, receipts_);
  }
  void Receipt(const std::string& id, int64_t t) { Mark(id, &Sample::receipt, t, receipts_); }
  void Delivered(const std::string& id, int64_t t) { Mark(id, &Sample::delivered, t, delivered_); }
  void DeliveryReceipt(const std::string& id, int64_t t) {
    Mark(id, &Sample::delivery_receipt, t, delivery_receipts_);
  }
  void Completed(const std::string& id, int64_t t) { Mark(id, &Sample::completed, t, completed_); }

  uint64_t receipts() const { return receipts_; }
  uint64_t delivered() const { return delivered_; }
  uint64_t delivery_receipts() const { return delivery_receipts_; }
  uint64_t completed() const { return completed_; }

  // A copy of the samples of commissions whose submit call returned.
  std::vector<Sample> Samples() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Sample> out;
    for (const Sample& s : samples_) {
      if (s.returned) out.push_back(s);
    }
    return out;
  }

 private:
  // The caller holds mu_.
  static void Set(int64_t& slot, int64_t t, std::atomic<uint64_t>& counter) {
    if (slot) return;
    slot = t;
    ++counter;
  }
  void Mark(const std::string& id, int64_t Sample::*field, int64_t t,
            std::atomic<uint64_t>& counter) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(id);
    if (it != index_.end()) Set(samples_[it->second].*field, t, counter);
  }

  mutable std::mutex mu_;
  std::vector<Sample> samples_;
  std::unordered_map<std::string, size_t> index_;
  std::atomic<uint64_t> receipts_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> delivery_receipts_{0};
  std::atomic<uint64_t> completed_{0};
};

}  // namespace weituo::bench
