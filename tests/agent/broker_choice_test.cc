// Which member of a broker group the agent talks to: every move, and every
// time it does not move, with the time given by the test.
#include "broker_choice.h"

#include <gtest/gtest.h>

namespace weituo::agent {
namespace {

using Reason = BrokerChoice::Reason;

constexpr int64_t kFailover = 3000;
const std::vector<std::string> kGroup = {"tcp://a:5555", "tcp://b:5555", "tcp://c:5555"};

TEST(BrokerChoiceTest, NoWelcomeForFailoverMovesToTheNextRoundRobin) {
  BrokerChoice choice(kGroup, kFailover);
  EXPECT_EQ(choice.current(), "tcp://a:5555");
  choice.Connected(1000);
  EXPECT_FALSE(choice.Due(1000 + kFailover - 1));
  auto move = choice.Due(1000 + kFailover);
  ASSERT_TRUE(move);
  EXPECT_EQ(move->endpoint, "tcp://b:5555");
  EXPECT_EQ(move->reason, Reason::kNoWelcome);
  EXPECT_EQ(choice.current(), "tcp://b:5555");
  choice.Connected(4000);
  EXPECT_EQ(choice.Due(7000)->endpoint, "tcp://c:5555");
  choice.Connected(7000);
  EXPECT_EQ(choice.Due(10000)->endpoint, "tcp://a:5555");
}

TEST(BrokerChoiceTest, AfterAWelcomeOnlySilenceForFailoverMoves) {
  BrokerChoice choice(kGroup, kFailover);
  choice.Connected(0);
  choice.Welcomed(10);
  EXPECT_FALSE(choice.Due(10 + kFailover - 1));
  choice.Heard(2500);
  EXPECT_FALSE(choice.Due(2500 + kFailover - 1));
  auto move = choice.Due(2500 + kFailover);
  ASSERT_TRUE(move);
  EXPECT_EQ(move->reason, Reason::kSilent);
  EXPECT_EQ(move->endpoint, "tcp://b:5555");
  EXPECT_EQ(BrokerChoice::ReasonName(move->reason), "silent");
}

TEST(BrokerChoiceTest, ASingleEndpointNeverMovesForSilence) {
  BrokerChoice choice({"tcp://a:5555"}, kFailover);
  EXPECT_FALSE(choice.can_move());
  choice.Connected(0);
  EXPECT_FALSE(choice.Due(1'000'000));
  choice.Welcomed(10);
  EXPECT_FALSE(choice.Due(2'000'000));
}

TEST(BrokerChoiceTest, NotLeaderGoesToTheNamedLeaderInTheList) {
  BrokerChoice choice(kGroup, kFailover);
  choice.Connected(0);
  choice.NotLeader("tcp://c:5555");
  auto move = choice.Due(5);
  ASSERT_TRUE(move);
  EXPECT_EQ(move->endpoint, "tcp://c:5555");
  EXPECT_EQ(move->reason, Reason::kNotLeader);
  EXPECT_FALSE(move->unlisted_first_time);
  // Round robin goes on from the leader's place in the list.
  choice.Connected(5);
  EXPECT_EQ(choice.Due(5 + kFailover)->endpoint, "tcp://a:5555");
}

TEST(BrokerChoiceTest, NotLeaderWithoutALeaderGoesToTheNextAtAPace) {
  BrokerChoice choice(kGroup, kFailover);
  choice.Connected(0);
  choice.NotLeader("");
  auto first = choice.Due(0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->endpoint, "tcp://b:5555");
  choice.Connected(0);
  choice.NotLeader("");
  // Not faster than one move per kMinMoveMs.
  EXPECT_FALSE(choice.Due(BrokerChoice::kMinMoveMs - 1));
  EXPECT_EQ(choice.Due(BrokerChoice::kMinMoveMs)->endpoint, "tcp://c:5555");
  // A member naming itself knows no leader either.
  choice.Connected(BrokerChoice::kMinMoveMs);
  choice.NotLeader("tcp://c:5555");
  EXPECT_EQ(choice.Due(2 * BrokerChoice::kMinMoveMs)->endpoint, "tcp://a:5555");
}

TEST(BrokerChoiceTest, ALeaderOutsideTheListIsFollowedAndWarnedOfOnce) {
  BrokerChoice choice(kGroup, kFailover);
  choice.Connected(0);
  choice.NotLeader("tcp://d:5555");
  auto move = choice.Due(0);
  ASSERT_TRUE(move);
  EXPECT_EQ(move->endpoint, "tcp://d:5555");
  EXPECT_TRUE(move->unlisted_first_time);
  // Silent there: back to the member that named it.
  choice.Connected(0);
  choice.Welcomed(0);
  EXPECT_EQ(choice.Due(kFailover)->endpoint, "tcp://a:5555");
  choice.Connected(kFailover);
  choice.NotLeader("tcp://d:5555");
  auto again = choice.Due(kFailover + BrokerChoice::kMinMoveMs);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->unlisted_first_time);
}

TEST(BrokerChoiceTest, ASingleEndpointFollowsALeaderAndComesBackWhenItIsSilent) {
  BrokerChoice choice({"tcp://a:5555"}, kFailover);
  choice.Connected(0);
  choice.NotLeader("tcp://d:5555");
  EXPECT_EQ(choice.Due(0)->endpoint, "tcp://d:5555");
  EXPECT_TRUE(choice.can_move());
  choice.Connected(0);
  EXPECT_EQ(choice.Due(kFailover)->endpoint, "tcp://a:5555");
  EXPECT_FALSE(choice.can_move());
  // No leader known: the same endpoint again, but only after failover_ms.
  choice.Connected(kFailover);
  choice.NotLeader("");
  EXPECT_FALSE(choice.Due(2 * kFailover - 1));
  EXPECT_EQ(choice.Due(2 * kFailover)->endpoint, "tcp://a:5555");
}

TEST(BrokerChoiceTest, AWelcomeOrANewConnectionForgetsAPendingNotLeader) {
  BrokerChoice choice(kGroup, kFailover);
  choice.Connected(0);
  choice.NotLeader("");
  EXPECT_TRUE(choice.Due(0));
  choice.Connected(10);
  choice.NotLeader("");
  choice.Welcomed(20);  // it became the leader meanwhile
  EXPECT_FALSE(choice.Due(20 + BrokerChoice::kMinMoveMs));
}

TEST(BrokerChoiceTest, ALostConnectionMovesAtThePaceNotAfterFailover) {
  BrokerChoice choice(kGroup, kFailover);
  choice.Connected(0);
  choice.Welcomed(10);
  choice.Lost();  // the leader's process died
  auto move = choice.Due(20);
  ASSERT_TRUE(move);
  EXPECT_EQ(move->endpoint, "tcp://b:5555");
  EXPECT_EQ(move->reason, Reason::kDisconnected);
  EXPECT_EQ(BrokerChoice::ReasonName(move->reason), "disconnected");
  // b is down too (connecting is refused): on to c, but not faster than
  // one move per kMinMoveMs.
  choice.Connected(20);
  choice.Lost();
  EXPECT_FALSE(choice.Due(20 + BrokerChoice::kMinMoveMs - 1));
  EXPECT_EQ(choice.Due(20 + BrokerChoice::kMinMoveMs)->endpoint, "tcp://c:5555");
  // A new connection forgets it; so does a Welcome.
  choice.Connected(1000);
  EXPECT_FALSE(choice.Due(1000 + kFailover - 1));
  choice.Lost();
  choice.Welcomed(1100);
  EXPECT_FALSE(choice.Due(1100 + kFailover - 1));
}

TEST(BrokerChoiceTest, ASingleEndpointDoesNotMoveWhenItsConnectionIsLost) {
  BrokerChoice choice({"tcp://a:5555"}, kFailover);
  choice.Connected(0);
  choice.Lost();  // ZeroMQ reconnects to it by itself
  EXPECT_FALSE(choice.Due(1'000'000));
}

TEST(IsConnectableEndpointTest, TakesWhatACourtMayConnectTo) {
  EXPECT_TRUE(IsConnectableEndpoint("tcp://127.0.0.1:5555"));
  EXPECT_TRUE(IsConnectableEndpoint("tcp://broker-b.example:5555"));
  EXPECT_TRUE(IsConnectableEndpoint("ipc:///run/weituo/broker.sock"));
  for (const char* bad : {"", "tcp://127.0.0.1", "tcp://127.0.0.1:*", "tcp://:5555", "inproc://x",
                          "udp://a:1", "tcp://a:0", "tcp://a:70000"}) {
    EXPECT_FALSE(IsConnectableEndpoint(bad)) << bad;
  }
}

}  // namespace
}  // namespace weituo::agent
