#pragma once

// The broker's named counters (weituo_<name>_total on /metrics), kept by
// whichever module counts and published with the loop's snapshot.
//
// Threading: the broker's loop thread only; the HTTP thread sees copies.

#include <cstdint>
#include <map>
#include <string>

namespace weituo::broker {

class Counters {
 public:
  void Add(const char* name, uint64_t n = 1) { counts_[name] += n; }
  uint64_t Get(const std::string& name) const {
    auto it = counts_.find(name);
    return it == counts_.end() ? 0 : it->second;
  }
  const std::map<std::string, uint64_t>& all() const { return counts_; }

 private:
  std::map<std::string, uint64_t> counts_;
};

}  // namespace weituo::broker
