// The agent's local HTTP/JSON API, for the court's case system on the same
// machine or network (bind it to loopback unless the court's network is
// trusted). Every request but GET /healthz needs the header
// "Authorization: Bearer <token>"; a missing or wrong token is a 401. A
// request whose Host is not the listen address, a loopback name on its port
// or one of `allowed_hosts` is a 421 (DNS rebinding), counted as
// api_refused_421.
// Bodies and answers are protobuf's JSON mapping of the schema, the same
// model as the wire and the control channel:
//
//   POST /api/commissions               Commission  -> 201 {"ok":true,"commissionId":...}
//   POST /api/commissions/{id}/updates  Update      -> 202 {"ok":true,"requestId":...}
//        (commissionId may be left out; an Idempotency-Key header becomes the
//        request id, so a retried POST takes effect once)
//   GET  /api/inbox                     received commissions still open, with
//                                       their handler status
//   GET  /api/commissions[?limit=N]     every commission this court knows
//   GET  /api/commissions/{id}          a CommissionView: the commission and its trail
//   GET  /api/requests/{id}             an AgentRequest: what the broker said to an update
//   GET  /api/status                    AgentStatus
//
// Errors are {"ok":false,"error":"..."} with 400 (the problem named: bad
// JSON, an unknown field, a wrong enum value, a missing required field),
// 401, 404, 405, 409 (an id or request id reused with other content), 413,
// 421.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "weituo/agent/agent.h"

namespace weituo::agent {

// The agent's [api] table.
struct LocalApiOptions {
  std::string listen;      // "127.0.0.1:7801" (port 0 picks one); empty: no local API
  std::string token_file;  // the bearer token; made (0600) if missing
  // Host names answered besides the listen address and the loopback names
  // on its port: "name" (any port) or "name:port".
  std::vector<std::string> allowed_hosts;
};

class LocalApi {
 public:
  // Reads (or makes) the token in options.token_file and serves on
  // options.listen, on a thread of its own; `agent` must outlive it.
  // INVALID_ARGUMENT or PERMISSION_DENIED for a bad token file, address or
  // allowed host; UNAVAILABLE if it cannot listen.
  static StatusOr<std::unique_ptr<LocalApi>> Start(Agent& agent, const LocalApiOptions& options);
  ~LocalApi();
  void Stop();
  std::string address() const;

 private:
  struct Rep;
  explicit LocalApi(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace weituo::agent
