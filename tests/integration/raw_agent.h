// A hand-driven DEALER that speaks the wire protocol directly, as a buggy or
// hostile agent would, or to hold an acknowledgement back on purpose.
// Threading: one thread.
#pragma once

#include <string>
#include <vector>
#include <zmq.hpp>

#include "harness.h"
#include "weituo/common/clock.h"
#include "weituo/common/ids.h"
#include "weituo/common/wire.h"
#include "weituo/v1/wire.pb.h"

namespace weituo::testing {

using weituo::v1::Envelope;

class RawAgent {
 public:
  // Without keys: a plaintext client.
  RawAgent(zmq::context_t& ctx, const std::string& endpoint)
      : socket_(ctx, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 5000);
    // A DEALER with no connection (its key refused) would block a send for
    // ever; after 5 s the message is dropped and the Receive waits in vain.
    socket_.set(zmq::sockopt::sndtimeo, 5000);
    socket_.connect(endpoint);
  }
  // A client of the zone's broker holding the key pair `key_name` (in a
  // plaintext zone, none), connecting to `endpoint` if given (a relay in
  // front of the broker), else to the broker.
  RawAgent(zmq::context_t& ctx, Zone& zone, const std::string& key_name,
           const std::string& endpoint = "")
      : socket_(ctx, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 5000);
    // A DEALER with no connection (its key refused) would block a send for
    // ever; after 5 s the message is dropped and the Receive waits in vain.
    socket_.set(zmq::sockopt::sndtimeo, 5000);
    if (!zone.plaintext()) {
      CurveKeyPair mine = zone.Keys(key_name);
      socket_.set(zmq::sockopt::curve_serverkey, zone.Keys("broker").public_key);
      socket_.set(zmq::sockopt::curve_publickey, mine.public_key);
      socket_.set(zmq::sockopt::curve_secretkey, mine.secret_key);
    }
    socket_.connect(endpoint.empty() ? zone.endpoint() : endpoint);
  }
  void set_receive_timeout_ms(int ms) { socket_.set(zmq::sockopt::rcvtimeo, ms); }

  void SendRaw(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      (void)socket_.send(zmq::buffer(frames[i]), flags);
    }
  }
  void Send(Envelope env) { SendRaw({SerializeEnvelope(env)}); }
  // False if the socket's queue is full (nothing sent).
  bool TrySend(const std::string& frame) {
    return socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait).has_value();
  }

  // The next reply that is not a heartbeat (nor a delivery, once
  // skip_deliveries is set); an empty envelope on timeout.
  Envelope Receive() {
    for (;;) {
      zmq::message_t msg;
      if (!socket_.recv(msg)) return Envelope();
      Envelope env;
      if (!env.ParseFromArray(msg.data(), static_cast<int>(msg.size()))) return Envelope();
      if (env.has_heartbeat() || (skip_deliveries_ && env.has_deliver())) continue;
      return env;
    }
  }
  void skip_deliveries() { skip_deliveries_ = true; }

  Envelope Hello(const std::string& court) {
    Envelope env;
    env.mutable_hello()->set_court_id(court);
    Send(env);
    return Receive();
  }

 private:
  zmq::socket_t socket_;
  bool skip_deliveries_ = false;
};

// A debtor-locate commission from `origin`, routed by region code to Kaihua.
inline weituo::v1::Commission Valid(const std::string& origin) {
  weituo::v1::Commission c;
  c.set_id(NewUlid(NowMs()));
  c.set_case_number("（2026）浙0127执9号");
  c.set_origin_court(origin);
  c.mutable_debtor()->set_name("某");
  c.mutable_debtor()->set_region_code("330824");
  c.mutable_debtor_locate();
  return c;
}

inline Envelope SubmitOf(const weituo::v1::Commission& c) {
  Envelope env;
  *env.mutable_submit()->mutable_commission() = c;
  return env;
}

inline Envelope UpdateOf(const std::string& request_id, weituo::v1::Update u) {
  Envelope env;
  env.mutable_send_update()->set_request_id(request_id);
  *env.mutable_send_update()->mutable_update() = std::move(u);
  return env;
}

#define EXPECT_REFUSED(env, expected_code, text)                                                   \
  do {                                                                                             \
    Envelope reply_ = (env);                                                                       \
    ASSERT_TRUE(reply_.has_error()) << reply_.DebugString();                                       \
    EXPECT_EQ(reply_.error().code(), expected_code) << reply_.error().message();                   \
    EXPECT_NE(reply_.error().message().find(text), std::string::npos) << reply_.error().message(); \
  } while (0)

}  // namespace weituo::testing
