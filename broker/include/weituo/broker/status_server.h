// The broker's operator HTTP server:
//   GET  /healthz, /readyz, /metrics (Prometheus text), / (the dashboard):
//        open to anyone who reaches the port;
//   GET  /api/status, /api/commissions?state=&court=&kind=&limit=&after=&order=,
//        /api/commissions/{id} (the trail), /api/parked?limit=,
//        /api/stats?from=&to=&court=&campaign= (supervision statistics):
//        with the header Authorization: Bearer <token>, the operator's read
//        token, the admin token, or a witness's (trails and statistics
//        only), unless reads were opened (HttpAccess::open_reads);
//   POST /api/courts/{court}/pause|resume, /api/parked/{id}/redrive,
//        /api/admin/backup and with --test-clock /api/test/clock?advance_ms=,
//        with the admin token.
// A request whose Host is not the listen address, a loopback name on its
// port or an allowed host is refused with 421 (DNS rebinding). Every 4xx
// answer is counted (counters http_refused_<code> in /api/status,
// weituo_http_refused_total on /metrics).
// JSON is protobuf's JSON mapping of status.proto; errors are ApiReply with
// a 4xx or 5xx status. It runs on its own thread, reads the broker's
// published snapshot and its store, posts actions to the loop, and never
// touches the ZeroMQ socket.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "weituo/broker/broker.h"
#include "weituo/common/status.h"

namespace weituo::broker {

// Who may use the HTTP API, and under which names it answers.
struct HttpAccess {
  std::string admin_token;                            // actions (POST), and every read
  std::string read_token;                             // the operator's reads; empty: none
  std::map<std::string, std::string> witness_tokens;  // name -> token: trails, statistics
  bool open_reads = false;  // reads need no token (a trusted network only)
  // Host names answered besides the listen address and the loopback names
  // on its port: "name" (any port) or "name:port".
  std::vector<std::string> allowed_hosts;
};

class StatusServer {
 public:
  // Binds `address` ("host:port", port 0 picks one) and starts serving on a
  // new thread. `api` (a Broker, or a group member's) must outlive the
  // server. INVALID_ARGUMENT for a malformed address or allowed host,
  // UNAVAILABLE if it cannot listen.
  static StatusOr<std::unique_ptr<StatusServer>> Start(const std::string& address, OperatorApi& api,
                                                       HttpAccess access);
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
// witnesses share or one equal to `admin_token` or `read_token`, or a path that is not a
// regular file of at most 1 MiB; PERMISSION_DENIED if group or others may
// read the file.
StatusOr<std::map<std::string, std::string>> ReadWitnessTokens(const std::string& path,
                                                               const std::string& admin_token = "",
                                                               const std::string& read_token = "");

// A "from"/"to" of /api/stats: milliseconds since the epoch, or a date
// YYYY-MM-DD in China Standard Time (UTC+8), its first moment (`end`
// false) or the moment after its last (`end` true).
StatusOr<int64_t> ParseStatsTime(const std::string& text, bool end);

// The body of /api/status.
std::string StatusJson(const weituo::v1::BrokerStatus& status);

}  // namespace weituo::broker
