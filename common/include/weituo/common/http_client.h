// A small blocking HTTP/1.1 client on Boost.Beast, the one the project's
// programs use to call an HTTP API: weituoctl the broker's operator API, the
// stock agent a court's configured handler, the tests the broker's and the
// agent's servers. One request on a connection of its own, one answer read
// whole, all within one timeout; no TLS, no redirects, no keep-alive.
//
// Threading: CallHttp is safe from any thread (each call has its own I/O
// context and socket); it blocks the calling thread until the answer, an
// error or the timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weituo/common/status.h"

namespace weituo {

enum class HttpMethod { kGet, kPost };

// What to send, and to whom.
struct HttpCall {
  HttpMethod method = HttpMethod::kGet;
  std::string host;  // a name or an address (IPv6 without brackets)
  std::string port;
  std::string target = "/";
  // "Authorization: Bearer <token>" unless empty.
  std::string bearer_token;
  // Content-Type of the body, unless empty ("application/json").
  std::string content_type;
  // More header fields, in order. Host is always "<host>:<port>".
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with its Content-Length (0 if empty)
  // From resolving the host to the answer's last byte.
  std::chrono::milliseconds timeout{15000};
  // An answer with a longer body is an error (a bounded read).
  size_t max_body_bytes = 8 * 1024 * 1024;
  // How errors name the server; empty: "http://<host>:<port><target>".
  std::string url;
};

// What came back: any status the server answered with, 4xx and 5xx too.
struct HttpAnswer {
  int status = 0;      // 200, 404, ...
  std::string reason;  // "OK", "Not Found", ... as the server said it
  std::vector<std::pair<std::string, std::string>> headers;  // in the order received
  std::string body;
  // The first header field named `name` (case-insensitive); empty if none.
  std::string Header(std::string_view name) const;
  // The answer as it came: status line, header fields, blank line, body.
  std::string Text() const;
};

// Sends `call` and reads the answer. UNAVAILABLE if there is no answer:
// "no answer within <timeout> ms" once the timeout passes, else
// "cannot <step> <url>: <reason>", step one of resolve, connect, send, "read
// the answer" (a body over max_body_bytes is "body limit exceeded" there).
StatusOr<HttpAnswer> CallHttp(const HttpCall& call);

}  // namespace weituo
