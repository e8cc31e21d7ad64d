#include "weituo/common/trail_hash.h"

#include <gtest/gtest.h>

namespace weituo {
namespace {

weituo::v1::Event Accepted() {
  weituo::v1::Event e;
  e.set_commission_id("01M8FF3833C5BRKS0Y323C7XQS");
  e.set_seq(3);
  e.set_type(weituo::v1::EV_ACCEPTED);
  e.set_at_ms(1795815369785);
  e.set_actor_court("kaihua");
  e.mutable_update()->mutable_accept()->set_handler("开化县人民法院 执行局 李明");
  e.set_prev_hash(std::string(32, '\x01'));
  return e;
}

TEST(TrailHashTest, AnEventsHashIsStableAndCoversEveryFieldButItself) {
  weituo::v1::Event e = Accepted();
  std::string hash = EventHash(e);
  EXPECT_EQ(hash.size(), 32u);
  EXPECT_EQ(EventHash(e), hash);
  e.set_hash(hash);
  EXPECT_EQ(EventHash(e), hash);  // the hash field itself is not hashed

  weituo::v1::Event other = Accepted();
  other.mutable_update()->mutable_accept()->set_handler("someone else");
  EXPECT_NE(EventHash(other), hash);
  other = Accepted();
  other.set_prev_hash(std::string(32, '\x02'));
  EXPECT_NE(EventHash(other), hash);
  other = Accepted();
  other.set_at_ms(other.at_ms() + 1);
  EXPECT_NE(EventHash(other), hash);
}

TEST(TrailHashTest, LinksAndHex) {
  // SHA-256 of the empty string, a known value.
  EXPECT_EQ(Hex(LinkHash("", "")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(LinkHash("a", "bc"), LinkHash("ab", "c"));  // a hash of the concatenation
  EXPECT_NE(LinkHash("a", "b"), LinkHash("b", "a"));
  EXPECT_EQ(Hex(std::string("\x00\xff", 2)), "00ff");
}

}  // namespace
}  // namespace weituo
