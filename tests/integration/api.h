// Talking to the broker's operator HTTP API from a test: raw requests with
// their status codes, and JSON answers parsed back into the schema.
#pragma once

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>

#include "harness.h"

namespace weituo::testing {

// The protobuf JSON `json` as M; a test failure if it does not parse.
template <typename M>
M Parse(const std::string& json) {
  M message;
  auto s = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(s.ok()) << json;
  return message;
}

// Sends `request` as is; returns the status code of the answer (0 if none).
inline int RawHttp(int port, const std::string& request, std::string* body = nullptr) {
  std::string answer = HttpExchange(port, request);
  if (answer.rfind("HTTP/1.1 ", 0) != 0) return 0;
  if (body) *body = answer.substr(answer.find("\r\n\r\n") + 4);
  return std::stoi(answer.substr(9, 3));
}

// `method target` with an empty body, and a bearer token unless empty.
inline int Request(Zone& zone, const std::string& method, const std::string& target,
                   const std::string& token, std::string* body = nullptr) {
  std::string auth = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
  return RawHttp(zone.http_port(),
                 method + " " + target + " HTTP/1.1\r\n" + HostHeader(zone.http_port()) + auth +
                     "Content-Length: 0\r\n\r\n",
                 body);
}

// One exchange with an HTTP API on loopback (the agent's local API):
// "<status code> <body>". `host` is the Host header's value, by default the
// address itself.
inline std::string Api(int port, const std::string& method, const std::string& path,
                       const std::string& token, const std::string& body = "",
                       const std::string& host = "") {
  std::string req = method + " " + path + " HTTP/1.1\r\n" +
                    (host.empty() ? HostHeader(port) : "Host: " + host + "\r\n");
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string res = HttpExchange(port, req);
  if (res.size() < 12) return "no answer";
  size_t at = res.find("\r\n\r\n");
  return res.substr(9, 3) + " " + (at == std::string::npos ? "" : res.substr(at + 4));
}

// The broker's admin token, from its data folder.
inline std::string AdminToken(Zone& zone) { return zone.AdminToken(); }

// Moves a --test-clock broker's clock forward by `ms`.
inline void Advance(Zone& zone, int64_t ms) {
  std::string body;
  ASSERT_EQ(Request(zone, "POST", "/api/test/clock?advance_ms=" + std::to_string(ms),
                    AdminToken(zone), &body),
            200)
      << body;
}

}  // namespace weituo::testing
