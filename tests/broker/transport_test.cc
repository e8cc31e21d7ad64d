// The broker's transport against real ZeroMQ clients on loopback: what it
// hands the loop, what it sends, and when it ends a route.

#include "transport.h"

#include <functional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include <gtest/gtest.h>

#include "weituo/common/clock.h"
#include "weituo/common/curve.h"
#include "weituo/common/event_loop.h"
#include "weituo/common/wire.h"

namespace weituo::broker {
namespace {

using weituo::v1::Envelope;
using weituo::v1::ErrorCode;

struct Ended {
  std::string routing_id;
  std::string why;
};

class TransportTest : public ::testing::Test {
 protected:
  void Start(bool plaintext, const std::string& directory_toml) {
    options_.endpoint = "tcp://127.0.0.1:*";
    options_.plaintext = plaintext;
    if (!plaintext) {
      auto server = GenerateCurveKeyPair();
      ASSERT_TRUE(server.ok());
      server_ = *server;
      options_.curve_secret_key = server_.secret_key;
    }
    auto directory = CourtDirectory::LoadString(directory_toml, "test.toml");
    ASSERT_TRUE(directory.ok()) << directory.status().ToString();
    transport_ = std::make_unique<Transport>(
        options_, counters_,
        Transport::Hooks{
            .refusal =
                [this](const std::string& court, ErrorCode code, const std::string& message) {
                  refusals_.push_back(court + ":" + ErrorCode_Name(code));
                  Envelope env = MakeErrorEnvelope(code, message, "");
                  return SerializeEnvelope(env);
                },
            .route_ended =
                [this](const std::string& routing_id, const char* why) {
                  ended_.push_back({routing_id, why});
                }});
    ASSERT_TRUE(
        transport_->Bind(std::make_shared<const CourtDirectory>(std::move(directory).value()))
            .ok());
    transport_->Register(loop_, [this] {
      Inbound in;
      while (!hold_) {
        StatusOr<bool> got = transport_->Receive(&in);
        ASSERT_TRUE(got.ok());
        if (!*got) break;
        received_.push_back(in);
        payloads_.emplace_back(in.payload);
        if (on_message_) on_message_();
      }
    });
  }

  std::unique_ptr<zmq::socket_t> Client(const std::string& routing_id,
                                        const CurveKeyPair* keys = nullptr) {
    auto s = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
    s->set(zmq::sockopt::linger, 0);
    s->set(zmq::sockopt::routing_id, routing_id);
    if (keys) {
      s->set(zmq::sockopt::curve_serverkey, server_.public_key);
      s->set(zmq::sockopt::curve_publickey, keys->public_key);
      s->set(zmq::sockopt::curve_secretkey, keys->secret_key);
    }
    s->connect(transport_->endpoint());
    return s;
  }

  // Turns the loop until `done` holds (checked at each turn's end), or
  // fails after 10 s.
  void RunUntil(const std::function<bool()>& done) {
    bool timed_out = false;
    EventLoop::TimerId deadline = loop_.ScheduleTimeout(10000, [&] {
      timed_out = true;
      loop_.Stop();
    });
    loop_.SetMaxWaitMs(20);
    loop_.SetTurnEnd([&] {
      transport_->Tick(MonotonicMs());
      if (done()) loop_.Stop();
    });
    ASSERT_TRUE(loop_.Run().ok());
    loop_.CancelTimeout(deadline);
    ASSERT_FALSE(timed_out) << "the condition did not hold within 10 s";
  }

  static std::string Receive(zmq::socket_t& s) {
    zmq::message_t m;
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::seconds(10)) != 1) return "<nothing within 10 s>";
    (void)s.recv(m, zmq::recv_flags::none);
    return m.to_string();
  }

  BrokerOptions options_;
  CurveKeyPair server_;
  Counters counters_;
  EventLoop loop_;
  zmq::context_t context_;
  std::unique_ptr<Transport> transport_;
  std::vector<Inbound> received_;
  std::vector<std::string> payloads_;
  std::vector<std::string> refusals_;
  std::vector<Ended> ended_;
  std::function<void()> on_message_;  // after each message handed on
  bool hold_ = false;                 // leave the ROUTER's queue unread
};

constexpr char kOneCourt[] = "[[court]]\nid = \"kaihua\"\nregion_codes = [\"330824\"]\n";

TEST_F(TransportTest, HandsOnAMessageAndSendsTheAnswerToItsRoute) {
  Start(/*plaintext=*/true, kOneCourt);
  auto client = Client("kaihua.1");
  client->send(zmq::str_buffer("hello"), zmq::send_flags::none);
  RunUntil([&] { return !received_.empty(); });
  ASSERT_EQ(received_.size(), 1u);
  EXPECT_EQ(received_[0].routing_id, "kaihua.1");
  EXPECT_EQ(received_[0].user_id, "");  // plaintext: the Hello names the court
  EXPECT_EQ(received_[0].frames, 1u);
  EXPECT_EQ(payloads_[0], "hello");

  EXPECT_EQ(transport_->Send("kaihua.1", "welcome"), SendResult::kSent);
  EXPECT_EQ(Receive(*client), "welcome");
  EXPECT_EQ(transport_->Send("nobody", "x"), SendResult::kUnreachable);
}

TEST_F(TransportTest, ADisconnectEndsTheRoute) {
  Start(/*plaintext=*/true, kOneCourt);
  auto client = Client("kaihua.1");
  client->send(zmq::str_buffer("hello"), zmq::send_flags::none);
  RunUntil([&] { return !received_.empty(); });
  client->close();
  RunUntil([&] { return !ended_.empty(); });
  EXPECT_EQ(ended_[0].routing_id, "kaihua.1");
  EXPECT_EQ(ended_[0].why, "disconnected");
  EXPECT_EQ(counters_.Get("connections_closed"), 1u);
  EXPECT_EQ(counters_.Get("connections_accepted"), 1u);
}

TEST_F(TransportTest, WhatWasQueuedBeforeADisconnectIsDiscardedNotANewConnection) {
  Start(/*plaintext=*/true, kOneCourt);
  auto client = Client("kaihua.1");
  client->send(zmq::str_buffer("first"), zmq::send_flags::none);
  RunUntil([&] { return received_.size() == 1; });
  hold_ = true;  // the ROUTER's queue is left unread
  // Flushed before the connection goes: the broker holds it queued, read
  // only after the end has been reported.
  client->set(zmq::sockopt::linger, 5000);
  client->send(zmq::str_buffer("late"), zmq::send_flags::none);
  client->close();
  RunUntil([&] { return !ended_.empty(); });
  hold_ = false;
  RunUntil([&] { return counters_.Get("messages_after_disconnect") == 1; });
  EXPECT_EQ(received_.size(), 1u);
  ASSERT_EQ(ended_.size(), 1u);  // no second route made and ended
  EXPECT_EQ(transport_->connections_live(), 0u);

  // A new connection on the same route (and perhaps the same fd) is one.
  auto again = Client("kaihua.1");
  again->send(zmq::str_buffer("again"), zmq::send_flags::none);
  RunUntil([&] { return received_.size() == 2; });
  EXPECT_EQ(counters_.Get("messages_after_disconnect"), 1u);
  EXPECT_EQ(transport_->connections_live(), 1u);
}

TEST_F(TransportTest, WhatADroppedRouteStillSendsIsDiscardedAndCounted) {
  Start(/*plaintext=*/true, kOneCourt);
  auto client = Client("kaihua.1");
  // Sent at once, so that libzmq reads them together: when the first is
  // handed on and its connection dropped, the others are already queued.
  for (int i = 0; i < 50; ++i) client->send(zmq::str_buffer("message"), zmq::send_flags::none);
  on_message_ = [&] {
    if (received_.size() == 1) transport_->Drop("kaihua.1", "a test");
  };
  RunUntil([&] { return counters_.Get("messages_after_drop") >= 1; });
  EXPECT_EQ(received_.size(), 1u);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].why, "a test");
  EXPECT_EQ(counters_.Get("connections_dropped"), 1u);
}

TEST_F(TransportTest, ACurveKeyNamesTheCourtAndARevokedOneIsRefusedAndDropped) {
  auto keys = GenerateCurveKeyPair();
  ASSERT_TRUE(keys.ok());
  const std::string listed =
      "[[court]]\nid = \"kaihua\"\nregion_codes = [\"330824\"]\n"
      "curve_keys = [\"" +
      keys->public_key + "\"]\n";
  Start(/*plaintext=*/false, listed);
  auto client = Client("kaihua.1", &*keys);
  client->send(zmq::str_buffer("hello"), zmq::send_flags::none);
  RunUntil([&] { return !received_.empty(); });
  EXPECT_EQ(received_[0].user_id, "kaihua");

  // The directory no longer lists the key: the connection is refused and
  // dropped at once, and its reconnection fails the handshake.
  auto without = CourtDirectory::LoadString(kOneCourt, "test.toml");
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(transport_->SetDirectory(std::make_shared<const CourtDirectory>(*without)), 1u);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].why, "key revoked");
  client->send(zmq::str_buffer("after"), zmq::send_flags::none);
  RunUntil([&] { return counters_.Get("handshakes_refused") >= 1 || received_.size() > 1; });
  EXPECT_EQ(received_.size(), 1u);
  EXPECT_EQ(refusals_, std::vector<std::string>{});  // dropped by the reload, not refused later
}

TEST_F(TransportTest, ACourtOverItsConnectionCapLosesItsLeastRecentlyHeard) {
  options_.max_connections_per_court = 1;
  Start(/*plaintext=*/true, kOneCourt);
  auto first = Client("kaihua.1");
  first->send(zmq::str_buffer("hello"), zmq::send_flags::none);
  RunUntil([&] { return received_.size() == 1; });
  transport_->HelloFrom("kaihua.1", "kaihua");
  auto second = Client("kaihua.2");
  second->send(zmq::str_buffer("hello"), zmq::send_flags::none);
  RunUntil([&] { return received_.size() == 2; });
  transport_->HelloFrom("kaihua.2", "kaihua");
  // The older is told why, then dropped once that has had time to leave.
  ASSERT_EQ(refusals_, std::vector<std::string>{"kaihua:RATE_LIMITED"});
  Envelope refusal;
  ASSERT_TRUE(refusal.ParseFromString(Receive(*first)));
  EXPECT_EQ(refusal.error().code(), ErrorCode::RATE_LIMITED);
  RunUntil([&] { return !ended_.empty(); });
  EXPECT_EQ(ended_[0].routing_id, "kaihua.1");
  EXPECT_EQ(counters_.Get("connections_evicted_per_court"), 1u);
}

}  // namespace
}  // namespace weituo::broker
