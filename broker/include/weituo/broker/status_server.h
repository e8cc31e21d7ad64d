// The broker's operator HTTP server:
//   GET  /healthz, /readyz, /api/status, /metrics (Prometheus text), / (the
//        dashboard), /api/commissions?state=&court=&kind=&limit=&after=&order=,
//        /api/commissions/{id} (the trail), /api/parked?limit=
//   POST /api/courts/{court}/pause|resume, /api/parked/{id}/redrive, with
//        the header Authorization: Bearer <admin token>
// JSON is protobuf's JSON mapping of status.proto; errors are ApiReply with
// a 4xx or 5xx status. It runs on its own thread, reads the broker's
// published snapshot and its store, posts actions to the loop, and never
// touches the ZeroMQ socket.
#pragma once

#include <memory>
#include <string>

#include "weituo/broker/broker.h"
#include "weituo/common/status.h"

namespace weituo::broker {

class StatusServer {
 public:
  // Binds `address` ("host:port", port 0 picks one) and starts serving on a
  // new thread. `broker` must outlive the server. POSTs must carry
  // `admin_token`.
  static StatusOr<std::unique_ptr<StatusServer>> Start(const std::string& address, Broker& broker,
                                                       std::string admin_token);
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

// The body of /api/status.
std::string StatusJson(const weituo::v1::BrokerStatus& status);

}  // namespace weituo::broker
