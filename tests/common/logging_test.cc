#include "weituo/common/logging.h"

#include <gtest/gtest.h>

namespace weituo {
namespace {

TEST(LogValueTest, PlainTextIsUnchanged) {
  EXPECT_EQ(LogValue("weituo-agent 0.1.0"), "weituo-agent 0.1.0");
  EXPECT_EQ(LogValue("开化县人民法院"), "开化县人民法院");
}

TEST(LogValueTest, APeerCannotSplitOrForgeALogLine) {
  EXPECT_EQ(LogValue("x\nts=2026 level=info msg=forged"), "x\\x0ats=2026 level=info msg=forged");
  EXPECT_EQ(LogValue("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(LogValue(std::string("nul\0byte", 8)), "nul\\x00byte");
}

TEST(LogValueTest, LongTextIsCutAt256Bytes) {
  std::string logged = LogValue(std::string(1000, 'a'));
  EXPECT_EQ(logged, std::string(256, 'a') + "...");
}

TEST(LogThrottleTest, LetsAFewLinesASecondThroughAndCountsTheRest) {
  LogThrottle throttle(2);
  uint64_t suppressed = 99;
  EXPECT_TRUE(throttle.Allow(1000, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(throttle.Allow(1100, &suppressed));
  EXPECT_FALSE(throttle.Allow(1200, &suppressed));
  EXPECT_FALSE(throttle.Allow(1900, &suppressed));
  // A new second: the next line says how many were held back.
  EXPECT_TRUE(throttle.Allow(2000, &suppressed));
  EXPECT_EQ(suppressed, 2u);
  EXPECT_TRUE(throttle.Allow(2001, &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

}  // namespace
}  // namespace weituo
