// The broker's operator HTTP server:
//   GET  /healthz, /readyz, /api/status, /metrics (Prometheus text), / (the
//        dashboard), /api/commissions?state=&court=&kind=&limit=&after=&order=,
//        /api/commissions/{id} (the trail), /api/parked?limit=,
//        /api/stats?from=&to=&court=&campaign= (supervision statistics)
//   POST /api/courts/{court}/pause|resume, /api/parked/{id}/redrive, and
//        with --test-clock /api/test/clock?advance_ms=, with the header
//        Authorization: Bearer <admin token>
// With witnesses configured every read but /healthz, /readyz and the page
// itself needs a token too: the admin's, or a witness's, which may read
// trails and statistics (/api/commissions..., /api/stats) and nothing else.
// JSON is protobuf's JSON mapping of status.proto; errors are ApiReply with
// a 4xx or 5xx status. It runs on its own thread, reads the broker's
// published snapshot and its store, posts actions to the loop, and never
// touches the ZeroMQ socket.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "weituo/broker/broker.h"
#include "weituo/common/status.h"

namespace weituo::broker {

class StatusServer {
 public:
  // Binds `address` ("host:port", port 0 picks one) and starts serving on a
  // new thread. `broker` must outlive the server. POSTs must carry
  // `admin_token`; `witness_tokens` maps a witness's name to its token.
  static StatusOr<std::unique_ptr<StatusServer>> Start(
      const std::string& address, Broker& broker, std::string admin_token,
      std::map<std::string, std::string> witness_tokens = {});
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

// Reads a witness tokens file: one "name token" per line, '#' comments.
// INVALID_ARGUMENT naming the line for a malformed one, a token CheckToken
// refuses or shorter than 32 characters, a repeated name, a token two
// witnesses share or one equal to `admin_token`, or a path that is not a
// regular file of at most 1 MiB; PERMISSION_DENIED if group or others may
// read the file.
StatusOr<std::map<std::string, std::string>> ReadWitnessTokens(const std::string& path,
                                                               const std::string& admin_token = "");

// A "from"/"to" of /api/stats: milliseconds since the epoch, or a date
// YYYY-MM-DD in China Standard Time (UTC+8), its first moment (`end`
// false) or the moment after its last (`end` true).
StatusOr<int64_t> ParseStatsTime(const std::string& text, bool end);

// The body of /api/status.
std::string StatusJson(const weituo::v1::BrokerStatus& status);

}  // namespace weituo::broker
