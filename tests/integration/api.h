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
  return RawHttp(
      zone.http_port(),
      method + " " + target + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 0\r\n\r\n",
      body);
}

// The broker's admin token, from its data folder.
inline std::string AdminToken(Zone& zone) {
  std::string token = ReadFile(zone.dir() + "/broker/admin.token");
  while (!token.empty() && token.back() == '\n') token.pop_back();
  return token;
}

// Moves a --test-clock broker's clock forward by `ms`.
inline void Advance(Zone& zone, int64_t ms) {
  std::string body;
  ASSERT_EQ(Request(zone, "POST", "/api/test/clock?advance_ms=" + std::to_string(ms),
                    AdminToken(zone), &body),
            200)
      << body;
}

}  // namespace weituo::testing
