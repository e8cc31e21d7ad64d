// Talking to the broker's operator HTTP API from a test: raw requests with
// their status codes, and JSON answers parsed back into the schema.
#pragma once

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "harness.h"
#include "weituo/common/clock.h"
#include "weituo/v1/status.pb.h"

namespace weituo::testing {

// The protobuf JSON `json` as M; a test failure if it does not parse.
template <typename M>
M Parse(const std::string& json) {
  M message;
  auto s = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(s.ok()) << json;
  return message;
}

// The broker's /api/status as published last; empty if it does not answer.
inline weituo::v1::BrokerStatus BrokerStatusOf(Zone& zone) {
  weituo::v1::BrokerStatus status;
  (void)google::protobuf::util::JsonStringToMessage(zone.HttpGet("/api/status"), &status);
  return status;
}

// A counter of `status`; 0 if it is not there (none counted yet).
inline uint64_t CounterOf(const weituo::v1::BrokerStatus& status, const std::string& name) {
  auto it = status.counters().find(name);
  return it == status.counters().end() ? 0 : it->second;
}

// The same, as published last.
inline uint64_t CounterOf(Zone& zone, const std::string& name) {
  return CounterOf(BrokerStatusOf(zone), name);
}

// The court's entry in `status`; nullptr if it has none.
inline const weituo::v1::CourtState* CourtOf(const weituo::v1::BrokerStatus& status,
                                             const std::string& court) {
  for (const auto& c : status.courts()) {
    if (c.court_id() == court) return &c;
  }
  return nullptr;
}

// The first /api/status the broker published after this call: its loop
// has finished the turn that was under way, and every turn before it. A
// turn handles what it read, then sends its replies, then its deliveries,
// then publishes; so after a reply was read, this status shows what that
// turn did and sent. A test failure if none comes within 10 s.
inline weituo::v1::BrokerStatus NextBrokerStatus(Zone& zone) {
  const int64_t after_ms = NowMs();
  weituo::v1::BrokerStatus status;
  // published_at_ms is on the broker's clock, which a test may move ahead.
  bool fresh = WaitFor(
      [&] {
        status = BrokerStatusOf(zone);
        return status.published_at_ms() - status.clock_offset_ms() > after_ms;
      },
      std::chrono::seconds(10));
  EXPECT_TRUE(fresh) << "the broker published no status for 10 s";
  return status;
}

// A status published at least one timer tick of the broker's loop after
// this call: the loop ticks every 50 ms and publishes every 200 ms, so the
// second status published after now is a whole publishing interval later.
inline weituo::v1::BrokerStatus StatusAfterATick(Zone& zone) {
  (void)NextBrokerStatus(zone);
  return NextBrokerStatus(zone);
}

// The first status in which the broker has heard from `court` (a heartbeat
// or anything else) later than this call: it had the court connected then,
// and whatever was waiting for it would have been sent. A test failure if
// the court is not heard from within 10 s.
inline weituo::v1::BrokerStatus StatusAfterHearingFrom(Zone& zone, const std::string& court) {
  const int64_t after_ms = NowMs();
  weituo::v1::BrokerStatus status;
  bool heard = WaitFor(
      [&] {
        status = BrokerStatusOf(zone);
        const weituo::v1::CourtState* c = CourtOf(status, court);
        return c != nullptr && c->last_seen_ms() - status.clock_offset_ms() > after_ms;
      },
      std::chrono::seconds(10));
  EXPECT_TRUE(heard) << "the broker did not hear from " << court << " for 10 s";
  return status;
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
