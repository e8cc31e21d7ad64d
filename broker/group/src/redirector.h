// What a member that is not the group's leader says to the courts: it binds
// the courts' endpoint (with the zone's CURVE server key, so an agent's
// handshake succeeds as with the leader) and answers every message with
// NOT_LEADER and the leader's endpoint, so that agents find the leader by
// themselves. It stores and accepts nothing.
//
// Threading: one thread of its own, in a ZeroMQ context of its own, so that
// Stop() has released the endpoint when it returns (the leader's ROUTER
// binds it next). SetLeader is safe from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "weituo/common/status.h"

namespace weituo::group {

class Redirector {
 public:
  Redirector(std::string endpoint, std::string curve_secret_key, bool plaintext);
  ~Redirector();
  Status Start();
  void Stop();
  // Where the leader serves the courts; empty while none is known.
  void SetLeader(std::string courts_endpoint);
  uint64_t redirected() const { return redirected_.load(); }

 private:
  void ThreadMain();
  const std::string endpoint_;
  const std::string curve_secret_key_;
  const bool plaintext_;
  struct Sockets;
  std::unique_ptr<Sockets> sockets_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> redirected_{0};
  mutable std::mutex mu_;
  std::string leader_;  // GUARDED_BY(mu_)
};

}  // namespace weituo::group
