// What a handler says besides its answer is kept for the clerk escaped and
// capped, so it can neither forge a log line nor fill the store.
#include "handler_output.h"

#include <gtest/gtest.h>

namespace weituo::agent {
namespace {

TEST(LastOutputLinesTest, KeepsTheLastLinesEscaped) {
  auto lines = LastOutputLines(
      "register locked\r\n\n   \n"
      "debtor 330824199001011234\n"
      "\nts=2026-11-28T00:00:00.000Z level=critical msg=\"FORGED LINE\"\n"
      "\x1b[2Jcleared\a\n");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "register locked");
  EXPECT_EQ(lines[1], "debtor 330824199001011234");
  EXPECT_EQ(lines[2], "ts=2026-11-28T00:00:00.000Z level=critical msg=\\\"FORGED LINE\\\"");
  EXPECT_EQ(lines[3], "\\x1b[2Jcleared\\x07");
}

TEST(LastOutputLinesTest, ACarriageReturnInsideALineCannotHideWhatCameBefore) {
  auto lines = LastOutputLines("real error\rfake ok\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "real error\\x0dfake ok");
}

TEST(LastOutputLinesTest, IsCappedInLinesAndBytes) {
  std::string many;
  for (int i = 1; i <= 50; ++i) many += "line " + std::to_string(i) + "\n";
  auto lines = LastOutputLines(many);
  ASSERT_EQ(lines.size(), kMaxOutputLines);
  EXPECT_EQ(lines.front(), "line 41");
  EXPECT_EQ(lines.back(), "line 50");

  // Long lines are cut at 256 bytes each; escapes count towards the total.
  auto long_lines = LastOutputLines(std::string(5000, 'x') + "\n" + std::string(600, '\x01'));
  size_t total = 0;
  for (const auto& l : long_lines) total += l.size();
  EXPECT_LE(total, kMaxOutputBytes);
  ASSERT_FALSE(long_lines.empty());
  EXPECT_EQ(long_lines.back(), [] {
    std::string s;
    for (int i = 0; i < 256; ++i) s += "\\x01";
    return s + "...";
  }());
}

TEST(LastOutputLinesTest, BytesThatAreNotUtf8AreEscapedAndCharactersKept) {
  auto lines = LastOutputLines("开化县城关镇 \xff\xfe\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "开化县城关镇 \\xff\\xfe");
}

TEST(OutputLogValueTest, JoinsTheLinesOnOneLine) {
  EXPECT_EQ(OutputLogValue({"a", "b \\\"c\\\""}), "a | b \\\"c\\\"");
  EXPECT_EQ(OutputLogValue({}), "");
}

TEST(HoldOutputTest, KeepsTheEnd) {
  std::string held;
  for (int i = 0; i < 100; ++i) HoldOutput(held, std::string(1000, 'a' + i % 26));
  EXPECT_LE(held.size(), 2 * kOutputHeldBytes);
  EXPECT_GE(held.size(), kOutputHeldBytes);
  EXPECT_EQ(held.back(), 'a' + 99 % 26);
}

}  // namespace
}  // namespace weituo::agent
