// What a configured handler may print, and what it may not: the parser the
// stock agent applies to a command's output or an HTTP handler's body.
#include <gtest/gtest.h>

#include "handlers.h"

namespace weituo::agent {
namespace {

TEST(HandlerAnswerTest, EmptyIsNoUpdates) {
  auto r = ParseHandlerAnswer(" \n\t\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(HandlerAnswerTest, OneObjectEvenOverSeveralLines) {
  auto r = ParseHandlerAnswer("{\n  \"complete\": {\n    \"result\": {\"assets\": {}}\n  }\n}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE((*r)[0].has_complete());
}

TEST(HandlerAnswerTest, OnePerLineKeepsTheirOrder) {
  auto r = ParseHandlerAnswer(
      "{\"accept\":{\"handler\":\"李明\"}}\n\n{\"progress\":{\"text\":\"under way\"}}\n"
      "{\"return\":{\"reason\":\"NOT_IN_JURISDICTION\"}}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].accept().handler(), "李明");
  EXPECT_EQ((*r)[1].progress().text(), "under way");
  EXPECT_EQ((*r)[2].return_().reason(), weituo::v1::NOT_IN_JURISDICTION);
}

TEST(HandlerAnswerTest, AnUpdatesArray) {
  auto r = ParseHandlerAnswer(
      R"({"updates":[{"progress":{"text":"a"}},{"complete":{"result":{"locate":{}}}}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_TRUE((*r)[1].complete().result().has_locate());
}

TEST(HandlerAnswerTest, WhatIsNotAnUpdateIsNamed) {
  auto bad_line = ParseHandlerAnswer("{\"progress\":{\"text\":\"a\"}}\n{\"finish\":{}}\n");
  ASSERT_FALSE(bad_line.ok());
  EXPECT_NE(bad_line.status().message().find("line 2"), std::string::npos);
  EXPECT_NE(bad_line.status().message().find("finish"), std::string::npos);
  auto bad_enum = ParseHandlerAnswer("{\"return\":{\"reason\":\"TOO_BUSY\"}}");
  ASSERT_FALSE(bad_enum.ok());
  EXPECT_NE(bad_enum.status().message().find("TOO_BUSY"), std::string::npos);
  auto prose = ParseHandlerAnswer("done, 3 accounts found\n");
  EXPECT_FALSE(prose.ok());
}

}  // namespace
}  // namespace weituo::agent
