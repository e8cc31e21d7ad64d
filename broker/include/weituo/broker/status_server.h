// The broker's HTTP status server: /healthz, /readyz, /api/status (JSON) and
// a small page at /. It runs on its own thread, reads only the broker's
// published snapshot and never touches the ZeroMQ socket.
#pragma once

#include <memory>
#include <string>

#include "weituo/broker/broker.h"
#include "weituo/common/status.h"

namespace weituo::broker {

class StatusServer {
 public:
  // Binds `address` ("host:port", port 0 picks one) and starts serving on a
  // new thread. `broker` must outlive the server.
  static StatusOr<std::unique_ptr<StatusServer>> Start(const std::string& address,
                                                       const Broker& broker);
  ~StatusServer();
  // Stops accepting and joins the thread. Idempotent.
  void Stop();
  // "127.0.0.1:8080", with the port actually bound.
  std::string address() const;

 private:
  struct Rep;
  explicit StatusServer(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// The snapshot as the JSON body of /api/status.
std::string StatusJson(const BrokerSnapshot& snapshot);

}  // namespace weituo::broker
