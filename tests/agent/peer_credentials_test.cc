// Who is on the other end of a control connection: the credentials libzmq
// took when it accepted a unix socket connection, read from a real ipc://
// exchange.
#include "peer_credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <zmq.hpp>

#include "harness.h"

namespace weituo::agent {
namespace {

TEST(ParsePeerAddressTest, ReadsTheCredentialsOfAUnixSocketPeer) {
  auto c = ParsePeerAddress("localhost:65534:65533:4242");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->uid, 65534u);
  EXPECT_EQ(c->gid, 65533u);
  EXPECT_EQ(c->pid, 4242);
  EXPECT_EQ(ParsePeerAddress("localhost:0:0:1")->uid, 0u);
}

TEST(ParsePeerAddressTest, ANetworkAddressOrAnythingElseIsNoCredentials) {
  for (const char* peer : {"", "127.0.0.1", "::1", "::ffff:127.0.0.1", "2001:db8::1000:1000:5",
                           "fe80::1:2:3", "1:2:3:4:5", ":0:0:1", "localhost:0:0", "localhost:x:0:1",
                           "localhost:0:0:1:", "localhost:-1:0:1", "localhost:99999999999:0:1"}) {
    EXPECT_FALSE(ParsePeerAddress(peer).has_value()) << peer;
  }
}

// One request over a REQ socket to `endpoint`; the REP side's message.
zmq::message_t ExchangeOver(const std::string& endpoint) {
  zmq::context_t context(1);
  zmq::socket_t rep(context, zmq::socket_type::rep);
  rep.set(zmq::sockopt::linger, 0);
  rep.bind(endpoint);
  zmq::socket_t req(context, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect(rep.get(zmq::sockopt::last_endpoint));
  req.send(zmq::str_buffer("hello"), zmq::send_flags::none);
  zmq::message_t got;
  EXPECT_TRUE(rep.recv(got, zmq::recv_flags::none));
  return got;
}

TEST(PeerCredentialsOfTest, AnIpcMessageCarriesItsSendersAccount) {
  testing::TempDir dir;
  zmq::message_t msg = ExchangeOver("ipc://" + dir.path() + "/c.sock");
  auto c = PeerCredentialsOf(msg);
  ASSERT_TRUE(c.has_value()) << "libzmq recorded no SO_PEERCRED for the ipc connection";
  EXPECT_EQ(c->uid, ::geteuid());
  EXPECT_EQ(c->gid, ::getegid());
  EXPECT_EQ(c->pid, ::getpid());
}

TEST(PeerCredentialsOfTest, ATcpMessageCarriesNone) {
  zmq::message_t msg = ExchangeOver("tcp://127.0.0.1:*");
  EXPECT_FALSE(PeerCredentialsOf(msg).has_value());
}

}  // namespace
}  // namespace weituo::agent
