// What a group's leader may send while turns are held: the replies of the
// turns released, the deliveries they stored, nothing to a court welcomed
// in a turn still held.
#include "held_turns.h"

#include <gtest/gtest.h>

namespace weituo::broker {
namespace {

HeldTurns::Held TurnOf(uint64_t commit, uint64_t deliveries_below, const std::string& reply,
                       std::set<std::string> connected = {}) {
  HeldTurns::Held h;
  h.commit = commit;
  h.deliveries_below = deliveries_below;
  h.replies.push_back({"kaihua.1", reply});
  h.connected = std::move(connected);
  return h;
}

TEST(HeldTurnsTest, NothingHeldSendsEverything) {
  HeldTurns held;
  EXPECT_TRUE(held.empty());
  EXPECT_FALSE(held.released_any());
  EXPECT_EQ(held.SendableBelow(), UINT64_MAX);
  EXPECT_TRUE(held.Connecting().empty());
}

TEST(HeldTurnsTest, ReleasingTheOlderSendsWhatItStoredAndHoldsTheNewer) {
  HeldTurns held;
  held.Hold(TurnOf(7, 100, "receipt 1"));
  held.Hold(TurnOf(8, 130, "receipt 2", {"wuyuan"}));
  EXPECT_EQ(held.CommitOf(1), 7u);
  EXPECT_EQ(held.CommitOf(2), 8u);
  EXPECT_EQ(held.Connecting(), std::set<std::string>{"wuyuan"});

  std::vector<HeldTurns::Held> out = held.Release(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].replies.at(0).bytes, "receipt 1");
  EXPECT_TRUE(held.released_any());
  // The newer is still held: only what the older stored may go, and
  // nothing to the court the newer welcomed.
  EXPECT_EQ(held.size(), 1u);
  EXPECT_EQ(held.SendableBelow(), 100u);
  EXPECT_EQ(held.Connecting(), std::set<std::string>{"wuyuan"});

  out = held.Release(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].replies.at(0).bytes, "receipt 2");
  EXPECT_EQ(held.SendableBelow(), UINT64_MAX);
  EXPECT_TRUE(held.Connecting().empty());
}

TEST(HeldTurnsTest, ClearedTurnsAreNeverReleased) {
  HeldTurns held;
  held.Hold(TurnOf(3, 10, "receipt"));
  held.Clear();
  EXPECT_TRUE(held.empty());
  EXPECT_TRUE(held.Release(1).empty());
  EXPECT_FALSE(held.released_any());
}

}  // namespace
}  // namespace weituo::broker
