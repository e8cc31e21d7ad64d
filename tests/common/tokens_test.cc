#include "weituo/common/tokens.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"

namespace weituo {
namespace {

using ::testing::HasSubstr;

TEST(TokensTest, ARandomHexTokenIsAccepted) {
  EXPECT_THAT(CheckToken("3f6b2c9d41e8a07c5d2e9b14f6a3c8e0"), IsOk());
  EXPECT_THAT(CheckToken("0f3a9c1e7b52d468"), IsOk());  // 16 hex digits, the shortest
  EXPECT_THAT(CheckToken("deputy-wang-3f6b2c9d41e8a07c5d2e", 32), IsOk());
}

TEST(TokensTest, WhitespaceControlCharactersAndNonAsciiAreRefusedByPosition) {
  EXPECT_THAT(
      CheckToken(std::string(16, ' ')),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("character 1 of the token is whitespace")));
  EXPECT_THAT(CheckToken("3f6b2c9d41e8a07c\r"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("character 17 ")));
  EXPECT_THAT(CheckToken("3f6b2c9d 41e8a07c5"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("character 9 ")));
  EXPECT_THAT(CheckToken("3f6b2c9d41e8a07c\xe4\xb8\xad"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not ASCII")));
  EXPECT_THAT(CheckToken(""), StatusIs(StatusCode::kInvalidArgument, HasSubstr("empty")));
}

TEST(TokensTest, AShortTokenIsRefusedSayingTheMinimum) {
  EXPECT_THAT(CheckToken("changeme"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("the token has 8 characters; it needs at least 16")));
  EXPECT_THAT(CheckToken("3f6b2c9d41e8a07c5d2e", 32),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("it needs at least 32")));
}

TEST(TokensTest, ATokenOfFewRepeatedCharactersIsRefusedWithoutQuotingIt) {
  for (const std::string& token :
       {std::string(32, 'a'), std::string("abababababababab"), std::string("1234123412341234"),
        std::string("aaaaaaaaaaaaaaaabcde")}) {
    SCOPED_TRACE(token);
    Status s = CheckToken(token);
    EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, HasSubstr("repeats too few")));
    EXPECT_EQ(s.message().find(token), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace weituo
