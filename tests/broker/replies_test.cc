// Replies against a real RocksDB store's turn in a temporary folder.

#include "replies.h"

#include <gtest/gtest.h>

#include "turn_fixture.h"

namespace weituo::broker {
namespace {

using weituo::v1::Envelope;
using weituo::v1::ErrorCode;

class RepliesTest : public TurnFixture {};

TEST_F(RepliesTest, RepliesWaitInTheTurnAndRefusalsAreCounted) {
  Replies replies(*turn_);
  Envelope welcome;
  welcome.mutable_welcome()->set_court_id("kaihua");
  replies.Reply("r1", welcome);
  replies.Refuse("r1", "kaihua", ErrorCode::CONFLICT, "already", "01HZY0000000000000000000AA");
  replies.Refuse("r2", "", ErrorCode::UNKNOWN_COURT, "who", "");
  const std::string bytes = replies.Refusal("kaihua", ErrorCode::CONFLICT, "again", "");

  std::vector<Turn::Reply> out = turn_->TakeReplies();
  ASSERT_EQ(out.size(), 3u);
  Envelope env;
  ASSERT_TRUE(env.ParseFromString(out[0].bytes));
  EXPECT_EQ(env.welcome().court_id(), "kaihua");
  ASSERT_TRUE(env.ParseFromString(out[1].bytes));
  EXPECT_EQ(env.error().code(), ErrorCode::CONFLICT);
  EXPECT_EQ(env.error().ref(), "01HZY0000000000000000000AA");
  EXPECT_EQ(out[2].routing_id, "r2");
  ASSERT_TRUE(env.ParseFromString(bytes));
  EXPECT_EQ(env.error().message(), "again");

  EXPECT_EQ(replies.by_code().at("CONFLICT"), 2u);
  EXPECT_EQ(replies.by_code().at("UNKNOWN_COURT"), 1u);
  EXPECT_EQ(replies.Of("kaihua"), 2u);
  EXPECT_EQ(replies.Of("chunan"), 0u);
}

}  // namespace
}  // namespace weituo::broker
