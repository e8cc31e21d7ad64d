// Sessions against a real RocksDB store in a temporary folder (the replies
// wait in its turn) and fake hooks that record what the loop would be told.

#include "sessions.h"

#include <gtest/gtest.h>

#include "turn_fixture.h"
#include "weituo/common/wire.h"

namespace weituo::broker {
namespace {

using weituo::v1::Envelope;
using weituo::v1::ErrorCode;

constexpr int64_t kWall = 1'700'000'000'000;
constexpr int64_t kMono = 100'000;

class SessionsTest : public TurnFixture {
 protected:
  void SetUp() override {
    TurnFixture::SetUp();
    LoadDirectory(R"(
[[court]]
id = "kaihua"
region_codes = ["330824"]

[[court]]
id = "chunan"
region_codes = ["330127"]
)");
    options_.plaintext = true;
    options_.heartbeat_ms = 1000;
    options_.offline_after_ms = 3500;
    Make();
  }
  void Make() {
    replies_ = std::make_unique<Replies>(*turn_);
    sessions_ = std::make_unique<Sessions>(
        options_, "weituo-broker test", counters_, *replies_,
        Sessions::Hooks{
            .connected =
                [this](const std::string& court, const std::string& routing_id) {
                  connected_.push_back(court + "@" + routing_id);
                },
            .disconnected = [this](const std::string& court) { disconnected_.push_back(court); },
            .online = [this](const std::string& court, int64_t) { online_.push_back(court); },
            .bound = [this](
                         const std::string& routing_id,
                         const std::string& court) { bound_.push_back(court + "@" + routing_id); },
            .send =
                [this](const std::string& routing_id, std::string_view bytes) {
                  if (send_result_ == SendResult::kSent) sent_.emplace_back(routing_id, bytes);
                  return send_result_;
                }});
  }
  void Hello(const std::string& routing_id, const std::string& court, const std::string& user = "",
             int64_t mono = kMono) {
    weituo::v1::Hello hello;
    hello.set_court_id(court);
    hello.set_agent_version("test");
    sessions_->Hello(routing_id, user, hello, directory_, mono, kWall);
  }
  // The replies of this turn, parsed.
  std::vector<std::pair<std::string, Envelope>> Answers() {
    std::vector<std::pair<std::string, Envelope>> out;
    for (const Turn::Reply& r : turn_->TakeReplies()) {
      Envelope env;
      EXPECT_TRUE(env.ParseFromString(r.bytes));
      out.emplace_back(r.routing_id, env);
    }
    return out;
  }
  // The one reply of this turn is a refusal with `code`.
  void ExpectRefused(ErrorCode code) {
    auto replies = Answers();
    ASSERT_EQ(replies.size(), 1u);
    ASSERT_TRUE(replies[0].second.has_error());
    EXPECT_EQ(replies[0].second.error().code(), code) << replies[0].second.error().message();
  }

  BrokerOptions options_;
  Counters counters_;
  std::unique_ptr<Replies> replies_;
  std::unique_ptr<Sessions> sessions_;
  std::vector<std::string> connected_, disconnected_, online_, bound_;
  SendResult send_result_ = SendResult::kSent;
  std::vector<std::pair<std::string, std::string>> sent_;
};

TEST_F(SessionsTest, TheRateLimitIsABucketOfBurstTokensRefilledPerSecond) {
  options_.rate_limit = 10;  // a token every 100 ms
  options_.rate_burst = 2;
  EXPECT_TRUE(sessions_->TakeToken("kaihua", kMono));
  EXPECT_TRUE(sessions_->TakeToken("kaihua", kMono));
  EXPECT_FALSE(sessions_->TakeToken("kaihua", kMono));
  EXPECT_FALSE(sessions_->TakeToken("kaihua", kMono + 50));  // half a token
  EXPECT_TRUE(sessions_->TakeToken("kaihua", kMono + 100));
  EXPECT_FALSE(sessions_->TakeToken("kaihua", kMono + 100));
  // Each court has its own bucket, and a long pause refills only to the burst.
  EXPECT_TRUE(sessions_->TakeToken("chunan", kMono));
  EXPECT_TRUE(sessions_->TakeToken("kaihua", kMono + 60'000));
  EXPECT_TRUE(sessions_->TakeToken("kaihua", kMono + 60'000));
  EXPECT_FALSE(sessions_->TakeToken("kaihua", kMono + 60'000));

  options_.rate_limit = 0;  // no limit
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(sessions_->TakeToken("kaihua", kMono + 60'000));
}

TEST_F(SessionsTest, HelloBindsTheConnectionAndIsWelcomed) {
  EXPECT_EQ(sessions_->CourtOf("r1"), nullptr);
  Hello("r1", "kaihua");
  auto replies = Answers();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].first, "r1");
  ASSERT_TRUE(replies[0].second.has_welcome());
  EXPECT_EQ(replies[0].second.welcome().court_id(), "kaihua");
  EXPECT_EQ(replies[0].second.welcome().broker_version(), "weituo-broker test");
  EXPECT_EQ(replies[0].second.welcome().heartbeat_ms(), 1000u);
  EXPECT_EQ(replies[0].second.welcome().server_time_ms(), kWall);
  ASSERT_NE(sessions_->CourtOf("r1"), nullptr);
  EXPECT_EQ(*sessions_->CourtOf("r1"), "kaihua");
  EXPECT_EQ(connected_, std::vector<std::string>{"kaihua@r1"});
  EXPECT_EQ(bound_, std::vector<std::string>{"kaihua@r1"});
  EXPECT_EQ(online_, std::vector<std::string>{"kaihua"});
  EXPECT_EQ(counters_.Get("hellos"), 1u);
  const CourtSession* session = sessions_->Find("kaihua");
  ASSERT_NE(session, nullptr);
  EXPECT_TRUE(session->online);
  EXPECT_EQ(session->last_seen_wall, kWall);
}

TEST_F(SessionsTest, AConnectionSpeaksForItsFirstCourtOnly) {
  Hello("r1", "kaihua");
  Answers();
  Hello("r1", "chunan");
  ExpectRefused(ErrorCode::PERMISSION_DENIED);
  EXPECT_EQ(*sessions_->CourtOf("r1"), "kaihua");
  EXPECT_EQ(sessions_->Find("chunan"), nullptr);
  EXPECT_EQ(replies_->Of("kaihua"), 1u);  // counted against the court it speaks for
  // The same court again is welcomed again.
  Hello("r1", "kaihua");
  auto replies = Answers();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].second.has_welcome());
}

TEST_F(SessionsTest, ACourtNotInTheDirectoryIsRefused) {
  Hello("r1", "nowhere");
  ExpectRefused(ErrorCode::UNKNOWN_COURT);
  Hello("r1", "not a court id!");
  ExpectRefused(ErrorCode::UNKNOWN_COURT);
  EXPECT_EQ(sessions_->CourtOf("r1"), nullptr);
  EXPECT_TRUE(connected_.empty());
}

TEST_F(SessionsTest, ANewConnectionOfTheCourtTakesItsPlace) {
  Hello("r1", "kaihua");
  Hello("r2", "kaihua");
  EXPECT_EQ(sessions_->CourtOf("r1"), nullptr);
  EXPECT_EQ(*sessions_->CourtOf("r2"), "kaihua");
  EXPECT_EQ(sessions_->Find("kaihua")->routing_id, "r2");
  // The old route ending does not take the court offline.
  sessions_->Unbind("r1", "disconnected");
  EXPECT_TRUE(disconnected_.empty());
  EXPECT_TRUE(sessions_->Find("kaihua")->online);
  // Its own route ending does.
  sessions_->Unbind("r2", "disconnected");
  EXPECT_EQ(disconnected_, std::vector<std::string>{"kaihua"});
  EXPECT_FALSE(sessions_->Find("kaihua")->online);
  EXPECT_EQ(sessions_->CourtOf("r2"), nullptr);
}

TEST_F(SessionsTest, WithCurveHelloBindsOnlyTheCourtTheKeyProved) {
  options_.plaintext = false;
  Hello("r1", "chunan", /*user=*/"kaihua");
  ExpectRefused(ErrorCode::PERMISSION_DENIED);
  EXPECT_EQ(sessions_->CourtOf("r1"), nullptr);
  Hello("r1", "kaihua", /*user=*/"kaihua");
  Answers();
  ASSERT_NE(sessions_->Bound("r1", "kaihua"), nullptr);

  // The route now carries another key's messages: taken by another
  // connection, the court's binding ends and it goes offline.
  EXPECT_EQ(sessions_->Bound("r1", "chunan"), nullptr);
  EXPECT_EQ(sessions_->CourtOf("r1"), nullptr);
  EXPECT_EQ(disconnected_, std::vector<std::string>{"kaihua"});
  EXPECT_FALSE(sessions_->Find("kaihua")->online);
}

TEST_F(SessionsTest, ACourtSilentTooLongGoesOfflineAndComesBackWhenHeard) {
  Hello("r1", "kaihua");
  sessions_->Tick(kMono + options_.offline_after_ms, kWall);
  EXPECT_TRUE(sessions_->Find("kaihua")->online);  // not longer than the limit
  sessions_->Tick(kMono + options_.offline_after_ms + 1, kWall);
  EXPECT_FALSE(sessions_->Find("kaihua")->online);
  EXPECT_EQ(disconnected_, std::vector<std::string>{"kaihua"});

  // Heard from again on its bound connection: online, everything resent.
  sessions_->HeardFrom("kaihua", kMono + 10'000, kWall + 10'000);
  EXPECT_TRUE(sessions_->Find("kaihua")->online);
  EXPECT_EQ(sessions_->Find("kaihua")->last_seen_wall, kWall + 10'000);
  EXPECT_EQ(connected_, (std::vector<std::string>{"kaihua@r1", "kaihua@r1"}));
  EXPECT_EQ(online_, (std::vector<std::string>{"kaihua", "kaihua"}));
  // Heard while online: nothing more to tell.
  sessions_->HeardFrom("kaihua", kMono + 10'500, kWall + 10'500);
  EXPECT_EQ(connected_.size(), 2u);
}

TEST_F(SessionsTest, AHeartbeatGoesOutEveryHeartbeatPeriod) {
  Hello("r1", "kaihua");
  sessions_->Tick(kMono, kWall);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].first, "r1");
  Envelope env;
  ASSERT_TRUE(env.ParseFromString(sent_[0].second));
  ASSERT_TRUE(env.has_heartbeat());
  EXPECT_EQ(env.heartbeat().at_ms(), kWall);
  sessions_->Tick(kMono + 999, kWall);
  EXPECT_EQ(sent_.size(), 1u);  // not due yet
  sessions_->Tick(kMono + 1000, kWall);
  EXPECT_EQ(sent_.size(), 2u);
  // An offline court gets none.
  sessions_->MarkOffline("kaihua", "test");
  sessions_->Tick(kMono + 3000, kWall);
  EXPECT_EQ(sent_.size(), 2u);
}

TEST_F(SessionsTest, AHeartbeatThatFindsTheConnectionGoneTakesTheCourtOffline) {
  Hello("r1", "kaihua");
  send_result_ = SendResult::kUnreachable;
  sessions_->Tick(kMono, kWall);
  EXPECT_FALSE(sessions_->Find("kaihua")->online);
  EXPECT_EQ(disconnected_, std::vector<std::string>{"kaihua"});
}

}  // namespace
}  // namespace weituo::broker
