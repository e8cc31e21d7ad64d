#include "connection_limits.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

namespace weituo::broker {
namespace {

using Verdict = ConnectionLimits::Verdict;

ConnectionLimits Small() { return ConnectionLimits({3, 2, 2}); }

TEST(ConnectionLimitsTest, AnAddressHoldsAtMostSoManyConnectionsAndUnidentifiedOnes) {
  ConnectionLimits limits = Small();
  EXPECT_EQ(limits.Accepted(10, "10.0.0.1", 0), Verdict::kAdmit);
  EXPECT_EQ(limits.Accepted(11, "10.0.0.1", 0), Verdict::kAdmit);
  // Two not yet identified: a third waits its turn.
  EXPECT_EQ(limits.Accepted(12, "10.0.0.1", 0), Verdict::kTooManyHandshakes);
  EXPECT_EQ(limits.Accepted(20, "10.0.0.2", 0), Verdict::kAdmit) << "another address";
  limits.Closed(12);
  EXPECT_EQ(limits.Spoke(10, "kaihua"), -1);
  EXPECT_EQ(limits.Spoke(11, "chunan"), -1);
  EXPECT_EQ(limits.HandshakesFrom("10.0.0.1"), 0u);
  EXPECT_EQ(limits.Accepted(13, "10.0.0.1", 0), Verdict::kAdmit);
  EXPECT_EQ(limits.Accepted(14, "10.0.0.1", 0), Verdict::kTooManyFromAddress);
  limits.Closed(14);
  limits.Closed(11);
  EXPECT_EQ(limits.LiveFrom("10.0.0.1"), 2u);
  EXPECT_EQ(limits.Accepted(15, "10.0.0.1", 0), Verdict::kAdmit);
  for (int fd : {10, 13, 15, 20}) limits.Closed(fd);
  EXPECT_EQ(limits.live(), 0u);
  EXPECT_EQ(limits.LiveFrom("10.0.0.1"), 0u);
  EXPECT_EQ(limits.HandshakesFrom("10.0.0.1"), 0u);
  EXPECT_EQ(limits.CourtConnections("kaihua"), 0u);
}

TEST(ConnectionLimitsTest, ACourtsNewestConnectionGetsInAndItsLeastRecentlyHeardGoes) {
  ConnectionLimits limits = Small();
  for (int fd : {1, 2, 3, 4}) limits.Accepted(fd, "10.0.0." + std::to_string(fd), 0);
  EXPECT_EQ(limits.Spoke(1, "kaihua"), -1);
  EXPECT_EQ(limits.Spoke(1, "kaihua"), -1) << "the same connection again";
  EXPECT_EQ(limits.Spoke(2, "kaihua"), -1);
  limits.Heard(1);  // 2 is now the one heard from least recently
  EXPECT_EQ(limits.Spoke(3, "kaihua"), 2);
  EXPECT_EQ(limits.CourtConnections("kaihua"), 2u);
  EXPECT_EQ(limits.Spoke(4, "chunan"), -1) << "another court has its own cap";
  // The one let go is no longer the court's, though still live until its
  // end is reported: the next newcomer takes another.
  limits.Accepted(5, "10.0.0.5", 500);
  EXPECT_EQ(limits.Spoke(5, "kaihua"), 1);
  limits.Closed(2);
  limits.Closed(1);
  EXPECT_EQ(limits.CourtConnections("kaihua"), 2u);
  limits.Closed(3);
  EXPECT_EQ(limits.CourtConnections("kaihua"), 1u);
}

TEST(ConnectionLimitsTest, ConnectionsLeftHalfOpenNeverLockACourtOut) {
  // A court whose machine died five times without a FIN: each restart's
  // connection gets in, and the dead ones are the ones let go.
  ConnectionLimits limits({256, 32, 2});
  int64_t now = 0;
  std::vector<int> let_go;
  for (int fd = 1; fd <= 6; ++fd) {
    limits.Accepted(fd, "10.0.0.1", now);
    const int gone = limits.Spoke(fd, "kaihua");
    if (gone >= 0) let_go.push_back(gone);
    now += 10000;  // silent from here on: its machine is gone
  }
  EXPECT_EQ(let_go, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(limits.CourtConnections("kaihua"), 2u);
}

TEST(ConnectionLimitsTest, AFirstMessageBeforeItsAcceptEventIsCountedOnce) {
  ConnectionLimits limits = Small();
  EXPECT_EQ(limits.Spoke(7, "kaihua"), -1);
  EXPECT_EQ(limits.AddressOf(7), "");
  EXPECT_EQ(limits.Accepted(7, "10.0.0.1", 0), Verdict::kAdmit);
  EXPECT_EQ(limits.AddressOf(7), "10.0.0.1");
  EXPECT_EQ(limits.LiveFrom("10.0.0.1"), 1u);
  EXPECT_EQ(limits.HandshakesFrom("10.0.0.1"), 0u);
  EXPECT_EQ(limits.CourtConnections("kaihua"), 1u);
  EXPECT_TRUE(limits.Silent(1000000, 10).empty()) << "it spoke";
  limits.Closed(7);
  EXPECT_EQ(limits.live(), 0u);
  EXPECT_EQ(limits.CourtConnections("kaihua"), 0u);
}

TEST(ConnectionLimitsTest, AConnectionThatSaysNothingIsReportedOnce) {
  ConnectionLimits limits = Small();
  limits.Accepted(5, "10.0.0.1", 1000);
  limits.Accepted(6, "10.0.0.1", 1000);
  limits.Heard(6);
  EXPECT_TRUE(limits.Silent(1500, 1000).empty());
  EXPECT_EQ(limits.Silent(2000, 1000), std::vector<int>{5});
  EXPECT_TRUE(limits.Silent(3000, 1000).empty());
}

TEST(ConnectionLimitsTest, AReusedNumberEndsTheConnectionThatHadIt) {
  ConnectionLimits limits = Small();
  limits.Accepted(9, "10.0.0.1", 0);
  EXPECT_EQ(limits.Spoke(9, "kaihua"), -1);
  EXPECT_EQ(limits.Accepted(9, "10.0.0.2", 0), Verdict::kAdmit);
  EXPECT_EQ(limits.LiveFrom("10.0.0.1"), 0u);
  EXPECT_EQ(limits.CourtConnections("kaihua"), 0u);
  EXPECT_EQ(limits.HandshakesFrom("10.0.0.2"), 1u);
}

TEST(ConnectionLimitsTest, AnEndpointsPortIsReadOnlyFromATcpEndpoint) {
  EXPECT_EQ(EndpointPort("tcp://127.0.0.1:18980"), 18980);
  EXPECT_EQ(EndpointPort("tcp://[::1]:5555"), 5555);
  EXPECT_EQ(EndpointPort("ipc:///run/weituo/broker.sock"), -1);
  EXPECT_EQ(EndpointPort("tcp://127.0.0.1:99999"), -1);
  EXPECT_EQ(EndpointPort("tcp://127.0.0.1:"), -1);
}

TEST(ConnectionLimitsTest, OnlyALiveConnectionFromThatPeerToThatPortIsShutDown) {
  EXPECT_FALSE(ShutdownPeer(-1, "127.0.0.1", 1));
  // A file is no connection.
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_FALSE(ShutdownPeer(fileno(file), "127.0.0.1", 1));
  std::fclose(file);

  // A real connection on loopback: only the right peer and port end it.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t at_len = sizeof at;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &at_len), 0);
  const int port = ntohs(at.sin_port);
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
  int served = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(served, 0);
  EXPECT_EQ(PeerAddress(served), "127.0.0.1");
  EXPECT_FALSE(ShutdownPeer(served, "127.0.0.1", port + 1)) << "another port";
  EXPECT_FALSE(ShutdownPeer(served, "10.0.0.9", port)) << "another peer";
  EXPECT_FALSE(ShutdownPeer(listener, "127.0.0.1", port)) << "no peer at all";
  EXPECT_TRUE(ShutdownPeer(served, "127.0.0.1", port));
  char byte = 0;
  EXPECT_EQ(::recv(client, &byte, 1, 0), 0) << "the client sees the end";
  for (int fd : {client, served, listener}) ::close(fd);
}

TEST(ConnectionLimitsTest, MemoryIsGivenBackOnceManyConnectionsEndedThoughFewWereLive) {
  ConnectionLimitOptions options{3, 2, 2};
  options.trim_after_ended = 10;
  options.trim_every_ms = 1000;
  ConnectionLimits limits(options);
  EXPECT_FALSE(limits.TrimDue(0)) << "nothing ended yet";
  // A storm through the caps: never more than two live at once.
  for (int i = 0; i < 9; ++i) {
    limits.Accepted(100 + i, "10.0.0.1", 0);
    limits.Accepted(200 + i, "10.0.0.1", 0);
    limits.Closed(100 + i);
    limits.Closed(200 + i);
  }
  EXPECT_EQ(limits.live(), 0u);
  EXPECT_EQ(limits.ended_since_trim(), 18u);
  EXPECT_FALSE(limits.TrimDue(999)) << "looked at 0: not again before 1000";
  EXPECT_TRUE(limits.TrimDue(1000));
  EXPECT_EQ(limits.ended_since_trim(), 0u);
  for (int i = 0; i < 9; ++i) {
    limits.Accepted(300 + i, "10.0.0.1", 1000);
    limits.Closed(300 + i);
  }
  // The tail of the storm, fewer than ten, is trimmed at the next check.
  EXPECT_TRUE(limits.TrimDue(2000)) << "nine ended since the trim at 1000";
  EXPECT_FALSE(limits.TrimDue(3000)) << "nothing ended since";
  for (int i = 0; i < 9; ++i) {
    limits.Accepted(400 + i, "10.0.0.1", 3000);
    limits.Closed(400 + i);
  }
  EXPECT_FALSE(limits.TrimDue(4000)) << "nine ended, and the last check did not trim";
  limits.Accepted(500, "10.0.0.1", 4000);
  limits.Closed(500);
  EXPECT_FALSE(limits.TrimDue(4500)) << "looked at 4000: not before 5000";
  EXPECT_TRUE(limits.TrimDue(5000)) << "ten ended";
  limits.Accepted(600, "10.0.0.1", 5000);
  limits.Closed(600);
  EXPECT_FALSE(limits.TrimDue(6000)) << "one after a trim is no storm's tail";
}

}  // namespace
}  // namespace weituo::broker
