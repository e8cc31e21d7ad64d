#include "connection_limits.h"

#include <gtest/gtest.h>

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
  EXPECT_TRUE(limits.Spoke(10, "kaihua"));
  EXPECT_TRUE(limits.Spoke(11, "chunan"));
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

TEST(ConnectionLimitsTest, ACourtHoldsAtMostSoManyConnectionsThatSpoke) {
  ConnectionLimits limits = Small();
  for (int fd : {1, 2, 3}) limits.Accepted(fd, "10.0.0." + std::to_string(fd), 0);
  EXPECT_TRUE(limits.Spoke(1, "kaihua"));
  EXPECT_TRUE(limits.Spoke(1, "kaihua")) << "the same connection again";
  EXPECT_TRUE(limits.Spoke(2, "kaihua"));
  EXPECT_FALSE(limits.Spoke(3, "kaihua"));
  EXPECT_TRUE(limits.Spoke(3, "chunan"));
  limits.Closed(1);
  EXPECT_EQ(limits.CourtConnections("kaihua"), 1u);
  limits.Accepted(4, "10.0.0.4", 0);
  EXPECT_TRUE(limits.Spoke(4, "kaihua"));
}

TEST(ConnectionLimitsTest, AFirstMessageBeforeItsAcceptEventIsCountedOnce) {
  ConnectionLimits limits = Small();
  EXPECT_TRUE(limits.Spoke(7, "kaihua"));
  EXPECT_EQ(limits.Accepted(7, "10.0.0.1", 0), Verdict::kAdmit);
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
  EXPECT_TRUE(limits.Spoke(6, "kaihua"));
  EXPECT_TRUE(limits.Silent(1500, 1000).empty());
  EXPECT_EQ(limits.Silent(2000, 1000), std::vector<int>{5});
  EXPECT_TRUE(limits.Silent(3000, 1000).empty());
}

TEST(ConnectionLimitsTest, AReusedNumberEndsTheConnectionThatHadIt) {
  ConnectionLimits limits = Small();
  limits.Accepted(9, "10.0.0.1", 0);
  EXPECT_TRUE(limits.Spoke(9, "kaihua"));
  EXPECT_EQ(limits.Accepted(9, "10.0.0.2", 0), Verdict::kAdmit);
  EXPECT_EQ(limits.LiveFrom("10.0.0.1"), 0u);
  EXPECT_EQ(limits.CourtConnections("kaihua"), 0u);
  EXPECT_EQ(limits.HandshakesFrom("10.0.0.2"), 1u);
}

}  // namespace
}  // namespace weituo::broker
