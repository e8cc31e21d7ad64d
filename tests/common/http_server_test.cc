#include "weituo/common/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "harness.h"
#include "status_matchers.h"

namespace weituo {
namespace {

namespace http = boost::beast::http;
using ::testing::HasSubstr;
using testing::HttpExchange;
using ::testing::StartsWith;

// A server on 127.0.0.1 with a port of its own choosing that answers "hello"
// and counts what its handler and its error writer saw.
class HttpServerTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> allowed = {}) {
    HttpServer::Options options;
    options.allowed_hosts = std::move(allowed);
    auto server = HttpServer::Start(
        "127.0.0.1:0",
        [this](const HttpRequest&, HttpResponse& res) {
          ++handled_;
          res.body() = "hello";
        },
        [this](HttpResponse& res, http::status status, const std::string& message) {
          ++refused_;
          res.result(status);
          res.body() = message;
        },
        options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    std::string address = server_->address();
    port_ = std::stoi(address.substr(address.rfind(':') + 1));
  }

  std::string Get(const std::string& host_lines) {
    return HttpExchange(port_, "GET / HTTP/1.1\r\n" + host_lines + "Connection: close\r\n\r\n");
  }
  std::string Host(const std::string& host) { return "Host: " + host + "\r\n"; }
  std::string Port() const { return std::to_string(port_); }

  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  std::atomic<int> handled_{0}, refused_{0};
};

TEST_F(HttpServerTest, AnswersItsListenAddressAndLoopbackNamesOnTheBoundPort) {
  Start();
  ASSERT_NE(port_, 0);
  EXPECT_EQ(server_->allowed_hosts().ToString(),
            "127.0.0.1:" + Port() + ", localhost:" + Port() + ", [::1]:" + Port());
  for (const std::string& host :
       std::vector<std::string>{"127.0.0.1:" + Port(), "localhost:" + Port(), "[::1]:" + Port()}) {
    std::string answer = Get(Host(host));
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 200")) << host;
    EXPECT_THAT(answer, HasSubstr("hello"));
  }
  EXPECT_EQ(handled_.load(), 3);
  EXPECT_EQ(refused_.load(), 0);
}

TEST_F(HttpServerTest, RefusesAHostItWasNotConfiguredFor) {
  Start();
  for (const std::string& host :
       std::vector<std::string>{"evil.example:" + Port(), "evil.example", "127.0.0.1",
                                "localhost:" + std::to_string(port_ + 1)}) {
    std::string answer = Get(Host(host));
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 421 Misdirected Request")) << host;
    EXPECT_THAT(answer, HasSubstr("Host '" + host + "' is not a name this server answers to"));
  }
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(refused_.load(), 4);
}

TEST_F(HttpServerTest, RefusesARequestWithoutOneHost) {
  Start();
  EXPECT_THAT(Get(""), StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(Get(Host("localhost:" + Port()) + Host("evil.example")),
              AllOf(StartsWith("HTTP/1.1 400"), HasSubstr("exactly one Host header")));
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(refused_.load(), 2);
}

TEST_F(HttpServerTest, AnswersTheNamesTheOperatorLists) {
  Start({"weituo.court.example", "proxy.example:443"});
  EXPECT_THAT(Get(Host("Weituo.Court.Example:8080")), StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(Get(Host("proxy.example:443")), StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(Get(Host("proxy.example")), StartsWith("HTTP/1.1 421"));
  EXPECT_EQ(handled_.load(), 2);
}

TEST(HttpServerStartTest, RefusesAMalformedAllowedHost) {
  HttpServer::Options options;
  options.allowed_hosts = {"a.example:99999"};
  auto server = HttpServer::Start(
      "127.0.0.1:0", [](const HttpRequest&, HttpResponse&) {},
      [](HttpResponse&, http::status, const std::string&) {}, options);
  EXPECT_THAT(server,
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("allowed host 'a.example:99999'")));
}

}  // namespace
}  // namespace weituo
