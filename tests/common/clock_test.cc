#include "weituo/common/clock.h"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace weituo {
namespace {

TEST(ClockTest, FormatTimeMsOfKnownInstants) {
  EXPECT_EQ(FormatTimeMs(0), "1970-01-01 00:00:00.000");
  EXPECT_EQ(FormatTimeMs(1700000000123), "2023-11-14 22:13:20.123");
  EXPECT_EQ(FormatTimeMs(1782498329007), "2026-06-26 18:25:29.007");
  EXPECT_EQ(FormatTimeMs(951782400999), "2000-02-29 00:00:00.999");  // leap day
}

TEST(ClockTest, FormatTimeMsBeforeTheEpoch) {
  EXPECT_EQ(FormatTimeMs(-1), "1969-12-31 23:59:59.999");
  EXPECT_EQ(FormatTimeMs(-1000), "1969-12-31 23:59:59.000");
  EXPECT_EQ(FormatTimeMs(-1001), "1969-12-31 23:59:58.999");
}

TEST(ClockTest, NowMsIsAfter2024AndMonotonicMsDoesNotGoBack) {
  EXPECT_GT(NowMs(), int64_t{1704067200000});  // 2024-01-01
  int64_t before = MonotonicMs();
  int64_t after = MonotonicMs();
  EXPECT_GE(after, before);
}

TEST(ClockTest, IsIsoDateAcceptsRealDates) {
  for (const char* date : {"2026-11-27", "2023-01-01", "2023-12-31", "2023-04-30", "2024-02-29",
                           "2000-02-29", "0001-01-01", "9999-12-31"}) {
    EXPECT_TRUE(IsIsoDate(date)) << date;
  }
}

TEST(ClockTest, IsIsoDateRejectsOtherShapes) {
  for (const char* date : {"", "2023-1-01", "2023-01-1", "23-01-01", "2023/01/01", "20230101",
                           "2023-01-01 ", " 2023-01-01", "2023-01-01T00:00", "2023-0a-01",
                           "2023-01-0x", "abcd-01-01", "2023--1-01"}) {
    EXPECT_FALSE(IsIsoDate(date)) << "'" << date << "'";
  }
}

TEST(ClockTest, IsIsoDateRejectsDaysThatDoNotExist) {
  for (const char* date :
       {"2023-00-10", "2023-13-01", "2023-01-00", "2023-01-32", "2023-02-29", "1900-02-29",
        "2024-02-30", "2023-04-31", "2023-06-31", "2023-09-31", "2023-11-31"}) {
    EXPECT_FALSE(IsIsoDate(date)) << date;
  }
}

}  // namespace
}  // namespace weituo
