// A hand-driven DEALER that speaks the wire protocol directly, as a buggy or
// hostile agent would, or to hold an acknowledgement back on purpose.
// Threading: one thread.
#pragma once

#include <string>
#include <vector>
#include <zmq.hpp>

#include "harness.h"
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
    socket_.connect(endpoint);
  }
  // A client of the zone's broker holding the key pair `key_name` (in a
  // plaintext zone, none).
  RawAgent(zmq::context_t& ctx, Zone& zone, const std::string& key_name)
      : socket_(ctx, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 5000);
    if (!zone.plaintext()) {
      CurveKeyPair mine = zone.Keys(key_name);
      socket_.set(zmq::sockopt::curve_serverkey, zone.Keys("broker").public_key);
      socket_.set(zmq::sockopt::curve_publickey, mine.public_key);
      socket_.set(zmq::sockopt::curve_secretkey, mine.secret_key);
    }
    socket_.connect(zone.endpoint());
  }
  void set_receive_timeout_ms(int ms) { socket_.set(zmq::sockopt::rcvtimeo, ms); }

  void SendRaw(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      (void)socket_.send(zmq::buffer(frames[i]), flags);
    }
  }
  void Send(Envelope env) { SendRaw({SerializeEnvelope(env)}); }

  // The next reply that is not a heartbeat; an empty envelope on timeout.
  Envelope Receive() {
    for (;;) {
      zmq::message_t msg;
      if (!socket_.recv(msg)) return Envelope();
      Envelope env;
      if (!env.ParseFromArray(msg.data(), static_cast<int>(msg.size()))) return Envelope();
      if (!env.has_heartbeat()) return env;
    }
  }

  Envelope Hello(const std::string& court) {
    Envelope env;
    env.mutable_hello()->set_court_id(court);
    Send(env);
    return Receive();
  }

 private:
  zmq::socket_t socket_;
};

}  // namespace weituo::testing
