#pragma once

// The broker's wall clock: real time, moved forward only by an operator on a
// broker started with --test-clock (docs: the test clock).
//
// Threading: any thread; the offset is atomic.

#include <atomic>
#include <cstdint>

#include "weituo/common/clock.h"

namespace weituo::broker {

class BrokerClock {
 public:
  int64_t Now() const { return NowMs() + offset_ms_.load(); }
  // How far it has been moved forward (ms).
  int64_t offset_ms() const { return offset_ms_.load(); }
  void Advance(int64_t ms) { offset_ms_ += ms; }

 private:
  std::atomic<int64_t> offset_ms_{0};
};

}  // namespace weituo::broker
