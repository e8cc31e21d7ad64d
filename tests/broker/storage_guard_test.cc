#include "storage_guard.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace weituo::broker {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

TEST(StorageGuardTest, TheLimitsFollowTheReserve) {
  StorageLimits l = StorageLimits::For(256 * kMiB);
  EXPECT_EQ(l.ballast, 64 * kMiB);
  EXPECT_EQ(l.critical, 16 * kMiB);
  EXPECT_EQ(l.margin, 32 * kMiB);
  EXPECT_EQ(StorageLimits::For(8192 * kMiB).margin, 64 * kMiB) << "at most 64 MiB";
}

TEST(StorageGuardTest, RefusesBelowTheReserveAndAcceptsAboveItsMargin) {
  const StorageLimits l = StorageLimits::For(16 * kMiB);
  EXPECT_FALSE(StorageGuard::ShouldRefuse(16 * kMiB, l, false));
  EXPECT_TRUE(StorageGuard::ShouldRefuse(16 * kMiB - 1, l, false));
  EXPECT_TRUE(StorageGuard::ShouldRefuse(17 * kMiB, l, true)) << "inside the margin: still";
  EXPECT_FALSE(StorageGuard::ShouldRefuse(18 * kMiB, l, true));
  EXPECT_FALSE(StorageGuard::ShouldRefuse(0, StorageLimits::For(0), false)) << "no reserve";
}

class GuardInFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/weituo-guard-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // The guard reads `free_` as the disk's free space, less the ballast
  // while it exists (as a real disk would).
  StorageGuard Guard(uint64_t reserve) {
    return StorageGuard(dir_, reserve, 1000, [this](const std::string&) -> StatusOr<uint64_t> {
      const bool ballast = std::filesystem::exists(StorageGuard::BallastPath(dir_));
      return free_ - (ballast ? std::filesystem::file_size(StorageGuard::BallastPath(dir_)) : 0);
    });
  }
  std::string dir_;
  uint64_t free_ = 0;
};

TEST_F(GuardInFolder, MakesTheBallastWithRoomAndGivesItUpAtTheEdge) {
  StorageGuard guard = Guard(16 * kMiB);
  free_ = 100 * kMiB;
  EXPECT_NE(guard.Check(0).find("made the ballast of 4 MiB"), std::string::npos);
  EXPECT_TRUE(guard.ballast_held());
  EXPECT_EQ(std::filesystem::file_size(StorageGuard::BallastPath(dir_)), 4 * kMiB);
  EXPECT_FALSE(guard.refusing());
  EXPECT_EQ(guard.Check(500), "") << "read at most once a second";

  free_ = 14 * kMiB;  // 10 MiB free beside the 4 MiB ballast: below the reserve
  EXPECT_NE(guard.Check(1000).find("refusing new submissions"), std::string::npos);
  EXPECT_TRUE(guard.refusing());
  EXPECT_NE(guard.RefusalMessage().find("14 MiB free, below its reserve of 16 MiB"),
            std::string::npos)
      << guard.RefusalMessage();

  free_ = 4 * kMiB + kMiB / 2;  // someone else took the rest
  EXPECT_NE(guard.Check(2000).find("gave up the ballast"), std::string::npos);
  EXPECT_FALSE(guard.ballast_held());
  EXPECT_FALSE(std::filesystem::exists(StorageGuard::BallastPath(dir_)));
  EXPECT_TRUE(guard.refusing());

  free_ = 40 * kMiB;  // freed
  std::string changed = guard.Check(3000);
  EXPECT_NE(changed.find("made the ballast"), std::string::npos) << changed;
  EXPECT_NE(changed.find("accepting"), std::string::npos) << changed;
  EXPECT_FALSE(guard.refusing());
}

TEST_F(GuardInFolder, ABurstWithinASecondIsRefusedBeforeTheNextReading) {
  StorageGuard guard = Guard(16 * kMiB);
  free_ = 19 * kMiB;  // no room for a ballast beside the reserve: none made
  EXPECT_EQ(guard.Check(0), "");
  EXPECT_FALSE(guard.WouldRefuse(0));
  // What was written since the reading counts twice (WAL, then tables).
  guard.Committed(kMiB);
  EXPECT_FALSE(guard.WouldRefuse(0)) << "19 - 2 is still above 16";
  EXPECT_TRUE(guard.WouldRefuse(kMiB)) << "19 - 4 is not";
  EXPECT_EQ(guard.Check(500), "") << "read at most once a second";
  // Past a sixteenth of the reserve written, the next turn reads the disk.
  guard.Committed(kMiB);
  free_ = 15 * kMiB;
  EXPECT_NE(guard.Check(501).find("refusing"), std::string::npos);
  EXPECT_TRUE(guard.WouldRefuse(0));
}

TEST_F(GuardInFolder, ThereIsRoomToOpenOnADiskWithRoom) {
  // A real file system with plenty of room: there is room to open.
  std::string note;
  auto room = StorageGuard::RoomToOpen(dir_ + "/not-yet-made", 16 * kMiB, &note);
  ASSERT_TRUE(room.ok());
  EXPECT_TRUE(*room);
  EXPECT_TRUE(note.empty());
}

}  // namespace
}  // namespace weituo::broker
