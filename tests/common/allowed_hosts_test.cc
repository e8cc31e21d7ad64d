#include "weituo/common/allowed_hosts.h"

#include <gtest/gtest.h>

#include "status_matchers.h"

namespace weituo {
namespace {

using ::testing::HasSubstr;

AllowedHosts Make(std::string_view ip, uint16_t port, const std::vector<std::string>& extra = {}) {
  auto hosts = AllowedHosts::Make(ip, port, extra);
  EXPECT_TRUE(hosts.ok()) << hosts.status().ToString();
  return hosts.ok() ? *hosts : AllowedHosts();
}

TEST(AllowedHostsTest, LoopbackListenAllowsItsAddressAndLoopbackNamesOnItsPort) {
  AllowedHosts hosts = Make("127.0.0.1", 18080);
  EXPECT_TRUE(hosts.Allows("127.0.0.1:18080"));
  EXPECT_TRUE(hosts.Allows("localhost:18080"));
  EXPECT_TRUE(hosts.Allows("LocalHost:18080"));
  EXPECT_TRUE(hosts.Allows("[::1]:18080"));
  EXPECT_TRUE(hosts.Allows("[0:0:0:0:0:0:0:1]:18080"));
  EXPECT_EQ(hosts.ToString(), "127.0.0.1:18080, localhost:18080, [::1]:18080");
}

TEST(AllowedHostsTest, RefusesOtherNamesPortsAndMalformedValues) {
  AllowedHosts hosts = Make("127.0.0.1", 18080);
  EXPECT_FALSE(hosts.Allows("evil.example:18080"));  // a rebound name
  EXPECT_FALSE(hosts.Allows("evil.example"));
  EXPECT_FALSE(hosts.Allows("localhost:18081"));
  EXPECT_FALSE(hosts.Allows("localhost"));  // port 80
  EXPECT_FALSE(hosts.Allows("localhost.:18080"));
  EXPECT_FALSE(hosts.Allows("127.0.0.1:"));
  EXPECT_FALSE(hosts.Allows("127.0.0.1:18080:1"));
  EXPECT_FALSE(hosts.Allows("::1:18080"));
  EXPECT_FALSE(hosts.Allows("[::1"));
  EXPECT_FALSE(hosts.Allows("[nonsense]:18080"));
  EXPECT_FALSE(hosts.Allows(""));
  EXPECT_FALSE(hosts.Allows("local host:18080"));
  EXPECT_FALSE(hosts.Allows("localhost:018080"));
}

TEST(AllowedHostsTest, WildcardAndOtherAddressesAllowThemselvesAndLoopback) {
  AllowedHosts any = Make("0.0.0.0", 8080);
  EXPECT_TRUE(any.Allows("0.0.0.0:8080"));
  EXPECT_TRUE(any.Allows("localhost:8080"));
  EXPECT_FALSE(any.Allows("10.0.0.5:8080"));  // not configured
  AllowedHosts v6 = Make("::", 8080);
  EXPECT_TRUE(v6.Allows("[::]:8080"));
  EXPECT_TRUE(v6.Allows("127.0.0.1:8080"));
  AllowedHosts lan = Make("10.0.0.5", 80);
  EXPECT_TRUE(lan.Allows("10.0.0.5"));
  EXPECT_TRUE(lan.Allows("10.0.0.5:80"));
  EXPECT_TRUE(lan.Allows("localhost"));
}

TEST(AllowedHostsTest, OperatorNamesWithAndWithoutPort) {
  AllowedHosts hosts =
      Make("127.0.0.1", 8080, {"Weituo.Court.example", "proxy.example:443", "[::2]:9000"});
  EXPECT_TRUE(hosts.Allows("weituo.court.example"));
  EXPECT_TRUE(hosts.Allows("weituo.court.example:8443"));  // no port listed: any
  EXPECT_TRUE(hosts.Allows("proxy.example:443"));
  EXPECT_FALSE(hosts.Allows("proxy.example"));
  EXPECT_TRUE(hosts.Allows("[::2]:9000"));
  EXPECT_FALSE(hosts.Allows("court.example"));
}

TEST(AllowedHostsTest, MalformedEntriesAreRefusedByName) {
  for (const char* bad : {"", "a b", "a.example:0", "a.example:65536", "a.example:http", "::1",
                          "[::1", "[zz]:80", "a/b", "*"}) {
    auto hosts = AllowedHosts::Make("127.0.0.1", 8080, {bad});
    EXPECT_THAT(hosts, StatusIs(StatusCode::kInvalidArgument,
                                HasSubstr("allowed host '" + std::string(bad) + "'")));
  }
  EXPECT_THAT(AllowedHosts::Make("not-an-ip", 8080, {}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'not-an-ip'")));
}

TEST(SplitHostListTest, SplitsAtCommasAndTrims) {
  EXPECT_EQ(SplitHostList(" a.example:8080, b.example ,,"),
            (std::vector<std::string>{"a.example:8080", "b.example"}));
  EXPECT_TRUE(SplitHostList("").empty());
}

}  // namespace
}  // namespace weituo
