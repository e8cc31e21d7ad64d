#pragma once

// Latencies in fixed buckets (ms), for /metrics and /api/status, and the
// submission-to-receipt latency measured with them.
//
// Threading: one thread (the broker's loop); others see its ToProto copies.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "weituo/v1/status.pb.h"

namespace weituo::broker {

class LatencyHistogram {
 public:
  void Observe(double ms) {
    size_t i = 0;
    while (i < kBoundsMs.size() && ms > kBoundsMs[i]) ++i;
    counts_[i]++;
    sum_ms_ += ms;
    count_++;
  }
  weituo::v1::Histogram ToProto() const {
    weituo::v1::Histogram h;
    for (double b : kBoundsMs) h.add_upper_bounds_ms(b);
    for (uint64_t c : counts_) h.add_counts(c);
    h.set_sum_ms(sum_ms_);
    h.set_count(count_);
    return h;
  }

 private:
  static constexpr std::array<double, 15> kBoundsMs = {
      1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000};
  std::array<uint64_t, kBoundsMs.size() + 1> counts_{};
  double sum_ms_ = 0;
  uint64_t count_ = 0;
};

// The time from reading a submission to sending its receipt, which waits for
// the commit of its turn.
class ReceiptLatency {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  // A message was read at `at`.
  void Read(TimePoint at) { read_at_ = at; }
  // The message last read was a submission: its receipt is in this turn.
  void Receipted() { waiting_.push_back(read_at_); }
  // This turn's receipts were sent at `at`.
  void Sent(TimePoint at) { Sent(at, std::exchange(waiting_, {})); }
  // This turn's receipts are held (a group's leader holds a turn until the
  // group has it): their read times, for Sent(at, read_at) when they go.
  std::vector<TimePoint> TakeReceipted() { return std::exchange(waiting_, {}); }
  void Sent(TimePoint at, const std::vector<TimePoint>& read_at) {
    for (TimePoint t : read_at) {
      histogram_.Observe(std::chrono::duration<double, std::milli>(at - t).count());
    }
  }
  const LatencyHistogram& histogram() const { return histogram_; }

 private:
  TimePoint read_at_;
  std::vector<TimePoint> waiting_;  // read times of this turn's receipted submissions
  LatencyHistogram histogram_;
};

}  // namespace weituo::broker
