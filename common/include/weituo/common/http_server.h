// A small HTTP/1.1 server on Boost.Beast for the broker's status page and the
// agent's local API: one request per connection, read with a deadline and
// size limits (a client that connects and says nothing, or sends too much,
// gets an answer or is dropped without holding anyone up), answered by one
// function on the server's own thread. A request whose Host header is not
// one the server answers to (AllowedHosts: DNS rebinding) is refused before
// the handler sees it.
#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weituo/common/allowed_hosts.h"
#include "weituo/common/status.h"

namespace weituo {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

class HttpServer {
 public:
  struct Options {
    size_t header_bytes = 8 * 1024;
    size_t body_bytes = 64 * 1024;
    // Names the server answers to besides its listen address and the
    // loopback names on its port: "name" (any port) or "name:port".
    std::vector<std::string> allowed_hosts;
    // GET paths answered whatever the Host (health checks and metrics from
    // another host carry no personal data): "/healthz", "/metrics".
    std::vector<std::string> any_host_paths;
  };
  // Answers one request. `res` comes with the request's version and
  // keep-alive off; the server prepares the payload.
  using Handler = std::function<void(const HttpRequest& req, HttpResponse& res)>;
  // Answers what could not be read or may not be answered with `status` and
  // `message`: malformed (400), over a limit (413, 431), no Host header
  // (400), a Host the server does not answer to (421 Misdirected Request).
  using ErrorWriter =
      std::function<void(HttpResponse& res, boost::beast::http::status status, const std::string&)>;

  // Binds `address` ("host:port", port 0 picks one; IPv6 as [::1]:port) and
  // serves on a new thread. INVALID_ARGUMENT for a malformed address or
  // allowed host, UNAVAILABLE if it cannot listen.
  static StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& address, Handler handler,
                                                     ErrorWriter error_writer, Options options);
  static StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& address, Handler handler,
                                                     ErrorWriter error_writer) {
    return Start(address, std::move(handler), std::move(error_writer), Options());
  }
  ~HttpServer();
  // Stops accepting and joins the thread. Idempotent.
  void Stop();
  // "127.0.0.1:8080", with the port actually bound.
  std::string address() const;
  // What it answers to, with the port actually bound.
  const AllowedHosts& allowed_hosts() const;

 private:
  struct Rep;
  explicit HttpServer(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// A request target split at its '?': the path, and the query without it.
struct HttpTarget {
  std::string_view path, query;
};
HttpTarget SplitTarget(const HttpRequest& req);

// The HTTP status that says what `s` says: 400 invalid, 403 not permitted,
// 404 not found, 409 exists or out of order, 503 unavailable, else 500.
boost::beast::http::status HttpStatusOf(const Status& s);

// Constant time in the length of `expected`, so a token does not leak
// through response times.
bool TokenMatches(std::string_view given, const std::string& expected);

// The token of "Authorization: Bearer <token>", empty if none.
std::string_view BearerToken(const HttpRequest& req);

// Reads the token in `path` (its first line, a token CheckToken accepts, in
// a regular file of at most kMaxConfigFileBytes only its owner may read) or,
// if there is no such file, writes 32 random bytes in hex there, owner-only.
// `what` names the token in errors: INVALID_ARGUMENT for a weak token or a
// file that is not a small regular one, PERMISSION_DENIED for a file others
// may read, INTERNAL if the new file cannot be written.
StatusOr<std::string> ReadOrMakeToken(const std::string& path, const std::string& what);

}  // namespace weituo
