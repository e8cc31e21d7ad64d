#pragma once

// Latencies in fixed buckets (ms), for /metrics and /api/status.
//
// Threading: one thread (the broker's loop); others see its ToProto copies.

#include <array>
#include <cstddef>
#include <cstdint>

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

}  // namespace weituo::broker
