#pragma once

// The broker's status as the loop last published it, for the HTTP thread:
// the loop replaces it whole (every 200 ms, and while a commit is held);
// readers get a copy.
//
// Threading: Publish and Due on the loop's thread; Get from any thread.

#include <cstdint>
#include <mutex>

#include "weituo/v1/status.pb.h"

namespace weituo::broker {

class PublishedStatus {
 public:
  void Publish(weituo::v1::BrokerStatus status) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(status);
  }
  weituo::v1::BrokerStatus Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  // Whether the next regular publication is due at monotonic `now_ms`; if
  // it is, the one after is due `every_ms` later.
  bool Due(int64_t now_ms, int64_t every_ms) {
    if (now_ms < next_ms_) return false;
    next_ms_ = now_ms + every_ms;
    return true;
  }

 private:
  mutable std::mutex mu_;
  weituo::v1::BrokerStatus status_;  // guarded by mu_
  int64_t next_ms_ = 0;              // loop thread only
};

}  // namespace weituo::broker
