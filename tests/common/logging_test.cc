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

TEST(LogValueTest, BytesThatAreNotUtf8AndC1ControlsAreEscaped) {
  EXPECT_EQ(LogValue("ok\xff\xfe"), "ok\\xff\\xfe");
  EXPECT_EQ(LogValue("\xe5\xbc"), "\\xe5\\xbc");           // a character cut off
  EXPECT_EQ(LogValue("\xc0\xaf"), "\\xc0\\xaf");           // an overlong '/'
  EXPECT_EQ(LogValue("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(LogValue("\xc2\x9b[2J"), "\\xc2\\x9b[2J");     // CSI, as a terminal reads it
  EXPECT_EQ(LogValue("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(LogValue("\xf0\x9f\x98\x80 \xc2\xa0"), "\xf0\x9f\x98\x80 \xc2\xa0");
}

TEST(LogValueTest, TheCutNeverSplitsACharacter) {
  // 255 bytes, then a three-byte character that would end past byte 256.
  std::string text = std::string(255, 'a') + "开化";
  EXPECT_EQ(LogValue(text), std::string(255, 'a') + "...");
  EXPECT_EQ(LogValue(std::string(253, 'a') + "开"), std::string(253, 'a') + "开");
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
