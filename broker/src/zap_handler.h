// The broker's ZAP handler (ZeroMQ RFC 27): decides every CURVE handshake on
// the broker's ROUTER from the court directory's public keys. An accepted
// connection carries the court id as its User-Id and the client's public
// key as the property kKeyProperty on every message it sends, so the loop
// can check each message against the keys valid now.
//
// Threading: Start() spawns one thread that owns a REP socket bound to
// inproc://zeromq.zap.01 in the loop's context; it must run before the
// ROUTER binds. SetKeys() and counts() are safe from any thread. The
// destructor stops and joins the thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "weituo/common/directory.h"
#include "weituo/common/status.h"

namespace weituo::broker {

class ZapHandler {
 public:
  static constexpr char kDomain[] = "weituo";
  static constexpr char kKeyProperty[] = "X-Key";

  struct Counts {
    uint64_t accepted = 0;
    uint64_t unknown_key = 0;  // a CURVE key no court in the directory has
    uint64_t malformed = 0;    // not a CURVE request for our domain
  };

  explicit ZapHandler(zmq::context_t& context) : context_(context) {}
  ~ZapHandler();

  // Binds the handler's socket and starts its thread. UNAVAILABLE if
  // another handler is bound in this context.
  Status Start();
  // The keys valid from the next handshake on.
  void SetKeys(const CourtDirectory& directory);
  Counts counts() const;

 private:
  void ThreadMain();
  // The reply's status code and text, the user id and the metadata.
  void Answer(std::vector<zmq::message_t>& request);

  zmq::context_t& context_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  // Z85 public key -> court id; replaced whole, never changed in place.
  std::shared_ptr<const std::map<std::string, std::string>> court_by_key_ =
      std::make_shared<const std::map<std::string, std::string>>();

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> unknown_key_{0};
  std::atomic<uint64_t> malformed_{0};
};

}  // namespace weituo::broker
