#include "weituo/common/ids.h"

#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace weituo {
namespace {

constexpr int64_t kSomeMs = 1782498329123;  // 2026-06-26 18:25:29.123 UTC
constexpr int64_t kMaxUlidMs = (int64_t{1} << 48) - 1;

TEST(IdsTest, NewUlidIsAUlidOfTwentySixCharacters) {
  std::string id = NewUlid(kSomeMs);
  EXPECT_EQ(id.size(), 26u);
  EXPECT_TRUE(IsUlid(id)) << id;
}

TEST(IdsTest, UlidTimeMsRoundTrips) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{1000}, kSomeMs, kMaxUlidMs}) {
    std::string id = NewUlid(ms);
    ASSERT_TRUE(IsUlid(id)) << id;
    EXPECT_EQ(UlidTimeMs(id), ms) << id;
  }
}

TEST(IdsTest, TimestampIsTheFirstTenCharacters) {
  EXPECT_EQ(NewUlid(0).substr(0, 10), "0000000000");
  EXPECT_EQ(NewUlid(kMaxUlidMs).substr(0, 10), "7ZZZZZZZZZ");
  EXPECT_EQ(UlidTimeMs("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"), kMaxUlidMs);
  EXPECT_EQ(UlidTimeMs("0000000001ZZZZZZZZZZZZZZZZ"), 1);
  EXPECT_EQ(UlidTimeMs("0000000010ZZZZZZZZZZZZZZZZ"), 32);
}

TEST(IdsTest, LaterMillisecondsSortAfterEarlierOnes) {
  for (int64_t ms : {int64_t{0}, int64_t{31}, int64_t{1023}, kSomeMs, kMaxUlidMs - 1}) {
    // Random parts differ; the timestamp prefix decides the order.
    for (int i = 0; i < 20; ++i) {
      std::string earlier = NewUlid(ms);
      std::string later = NewUlid(ms + 1);
      EXPECT_LT(earlier, later) << "at " << ms;
    }
  }
  std::string previous = NewUlid(kSomeMs);
  for (int64_t ms = kSomeMs + 1; ms < kSomeMs + 2000; ++ms) {
    std::string next = NewUlid(ms);
    ASSERT_LT(previous, next);
    previous = next;
  }
}

TEST(IdsTest, TenThousandIdsInOneMillisecondAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(NewUlid(kSomeMs));
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(IdsTest, IdsMadeOnSeveralThreadsAreUnique) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      for (int i = 0; i < kPerThread; ++i) made[t].push_back(NewUlid(kSomeMs));
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> ids;
  for (const auto& list : made) ids.insert(list.begin(), list.end());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(IdsTest, IsUlidAcceptsCanonicalIds) {
  EXPECT_TRUE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
  EXPECT_TRUE(IsUlid("00000000000000000000000000"));
  EXPECT_TRUE(IsUlid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
}

TEST(IdsTest, IsUlidRejectsWrongLength) {
  EXPECT_FALSE(IsUlid(""));
  EXPECT_FALSE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FA"));    // 25
  EXPECT_FALSE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FAVX"));  // 27
}

TEST(IdsTest, IsUlidRejectsCharactersOutsideCrockfordBase32) {
  const std::string valid = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
  ASSERT_TRUE(IsUlid(valid));
  for (char bad : {'I', 'L', 'O', 'U', '-', ' ', '\0', '*'}) {
    for (size_t pos : {size_t{0}, size_t{9}, size_t{10}, size_t{25}}) {
      std::string id = valid;
      id[pos] = bad;
      EXPECT_FALSE(IsUlid(id)) << "'" << bad << "' at " << pos;
      EXPECT_EQ(UlidTimeMs(id), 0) << "'" << bad << "' at " << pos;
    }
  }
}

TEST(IdsTest, IsUlidRejectsATimestampOverFortyEightBits) {
  // The first character carries only three bits: '7' is the largest.
  for (char first : {'8', '9', 'A', 'Z'}) {
    std::string id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    id[0] = first;
    EXPECT_FALSE(IsUlid(id)) << id;
    EXPECT_EQ(UlidTimeMs(id), 0) << id;
  }
}

}  // namespace
}  // namespace weituo
