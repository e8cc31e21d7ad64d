// Liaison against a real RocksDB store in a temporary folder.

#include "liaison.h"

#include <gtest/gtest.h>

#include "turn_fixture.h"

namespace weituo::broker {
namespace {

using weituo::testing::TempDir;
using weituo::v1::Deliver;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kStart = 1'700'000'000'000;

class LiaisonTest : public TurnFixture {
 protected:
  void SetUp() override {
    TurnFixture::SetUp();
    LoadDirectory(R"(
[[court]]
id = "kaihua"
region_codes = ["330824"]
superior = "quzhou"
liaison = { office = "执行局", phone = "0570-0000000", person = "值班员" }

[[supervisor]]
id = "quzhou"
)");
    liaison_ = std::make_unique<Liaison>(
        /*flag_after_ms=*/2 * kHour, *turn_, counters_,
        [this](const std::string& court, Deliver deliver) {
          told_.emplace_back(court, deliver.notice());
        },
        [](const std::string& court) { return court == "kaihua" ? "quzhou" : ""; });
  }
  Liaison::PresenceOf Presence() {
    return [this](const std::string&) { return presence_; };
  }

  Counters counters_;
  std::unique_ptr<Liaison> liaison_;
  Liaison::Presence presence_;
  std::vector<std::pair<std::string, weituo::v1::CourtNotice>> told_;
};

TEST_F(LiaisonTest, ACourtOfflineTooLongIsFlaggedOnceAndItsReturnTold) {
  liaison_->Check(directory_, Presence(), kStart, kStart + kHour);
  EXPECT_TRUE(told_.empty());  // not long enough
  liaison_->Check(directory_, Presence(), kStart, kStart + 3 * kHour);
  ASSERT_EQ(told_.size(), 1u);  // the supervisor itself is never flagged
  EXPECT_EQ(told_[0].first, "quzhou");
  EXPECT_EQ(told_[0].second.court(), "kaihua");
  EXPECT_EQ(told_[0].second.what(), "offline");
  EXPECT_EQ(told_[0].second.since_ms(), kStart);
  EXPECT_EQ(told_[0].second.liaison().phone(), "0570-0000000");
  EXPECT_EQ(liaison_->FlaggedSince("kaihua"), std::optional<int64_t>(kStart));
  liaison_->Check(directory_, Presence(), kStart, kStart + 4 * kHour);
  EXPECT_EQ(told_.size(), 1u);  // once
  EXPECT_EQ(counters_.Get("offline_flags"), 1u);
  ASSERT_TRUE(turn_->Commit(true).ok());

  // A restart remembers the flag.
  Liaison again(
      2 * kHour, *turn_, counters_, [](const std::string&, Deliver) {},
      [](const std::string&) { return std::string(); });
  ASSERT_TRUE(again.Load(*store_).ok());
  EXPECT_EQ(again.FlaggedSince("kaihua"), std::optional<int64_t>(kStart));

  liaison_->Online("kaihua", directory_.Find("kaihua"), kStart + 5 * kHour, kStart + 5 * kHour);
  ASSERT_EQ(told_.size(), 2u);
  EXPECT_EQ(told_[1].second.what(), "online");
  EXPECT_FALSE(liaison_->FlaggedSince("kaihua").has_value());
  ASSERT_TRUE(turn_->Commit(true).ok());
  ASSERT_TRUE(again.Load(*store_).ok());
  EXPECT_FALSE(again.FlaggedSince("kaihua").has_value());
  // Online again when never flagged: nobody is told.
  liaison_->Online("kaihua", directory_.Find("kaihua"), kStart, kStart);
  EXPECT_EQ(told_.size(), 2u);
}

TEST_F(LiaisonTest, AnOnlineCourtOrOneHeardLatelyIsNotFlagged) {
  presence_ = {/*online=*/true, kStart};
  liaison_->Check(directory_, Presence(), kStart, kStart + 10 * kHour);
  EXPECT_TRUE(told_.empty());
  presence_ = {/*online=*/false, kStart + 9 * kHour};
  liaison_->Check(directory_, Presence(), kStart, kStart + 10 * kHour);
  EXPECT_TRUE(told_.empty());
}

}  // namespace
}  // namespace weituo::broker
