#include "weituo/common/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "harness.h"
#include "status_matchers.h"
#include "weituo/common/http_server.h"

namespace weituo {
namespace {

namespace http = boost::beast::http;
using ::testing::HasSubstr;

// What the server's handler saw of the last request.
struct Seen {
  std::string method, target, host, authorization, content_type, body;
  std::vector<std::string> fields;  // "Name: value", in order
};

// The project's HTTP server on 127.0.0.1 with a port of its own choosing:
// it answers with `status_` and `body_` and keeps what it saw.
class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = HttpServer::Start(
        "127.0.0.1:0",
        [this](const HttpRequest& req, HttpResponse& res) {
          std::lock_guard<std::mutex> lock(mu_);
          seen_.method = std::string(req.method_string());
          seen_.target = std::string(req.target());
          seen_.host = std::string(req[http::field::host]);
          seen_.authorization = std::string(req[http::field::authorization]);
          seen_.content_type = std::string(req[http::field::content_type]);
          seen_.body = req.body();
          seen_.fields.clear();
          for (const auto& f : req) {
            seen_.fields.push_back(std::string(f.name_string()) + ": " + std::string(f.value()));
          }
          res.result(status_);
          res.set(http::field::content_type, "text/plain");
          res.body() = body_;
        },
        [](HttpResponse& res, http::status status, const std::string& message) {
          res.result(status);
          res.body() = message;
        });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    const std::string address = server_->address();
    port_ = address.substr(address.rfind(':') + 1);
  }

  HttpCall Call(const std::string& target) const {
    HttpCall call;
    call.host = "127.0.0.1";
    call.port = port_;
    call.target = target;
    return call;
  }
  Seen LastSeen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  std::mutex mu_;
  Seen seen_;
  http::status status_ = http::status::ok;
  std::string body_ = "hello";
  std::unique_ptr<HttpServer> server_;
  std::string port_;
};

TEST_F(HttpClientTest, AGetWithATokenGetsTheStatusAndTheBody) {
  HttpCall call = Call("/api/status?x=1");
  call.bearer_token = "s3cret";
  auto answer = CallHttp(call);
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->reason, "OK");
  EXPECT_EQ(answer->body, "hello");
  EXPECT_EQ(answer->Header("content-type"), "text/plain");
  EXPECT_EQ(answer->Header("Content-Length"), "5");
  EXPECT_EQ(answer->Header("X-None"), "");
  EXPECT_TRUE(answer->Text().starts_with("HTTP/1.1 200 OK\r\n")) << answer->Text();
  EXPECT_TRUE(answer->Text().ends_with("\r\n\r\nhello")) << answer->Text();

  Seen seen = LastSeen();
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/api/status?x=1");
  EXPECT_EQ(seen.host, "127.0.0.1:" + port_);
  EXPECT_EQ(seen.authorization, "Bearer s3cret");
  EXPECT_EQ(seen.body, "");
}

TEST_F(HttpClientTest, WithoutATokenNoAuthorizationIsSent) {
  ASSERT_THAT(CallHttp(Call("/")), IsOk());
  EXPECT_EQ(LastSeen().authorization, "");
}

TEST_F(HttpClientTest, APostSendsItsJsonBodyAndHeaderFieldsInOrder) {
  status_ = http::status::accepted;
  body_ = "";
  HttpCall call = Call("/hook");
  call.method = HttpMethod::kPost;
  call.content_type = "application/json";
  call.headers = {{"User-Agent", "weituo-agent"}, {"Weituo-Attempt", "2"}};
  call.body = R"({"id":"01HZY0000000000000000000AA"})";
  auto answer = CallHttp(call);
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->status, 202);
  EXPECT_EQ(answer->body, "");

  Seen seen = LastSeen();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.content_type, "application/json");
  EXPECT_EQ(seen.body, call.body);
  std::vector<std::string> expected = {"Host: 127.0.0.1:" + port_, "Content-Type: application/json",
                                       "User-Agent: weituo-agent", "Weituo-Attempt: 2",
                                       "Content-Length: " + std::to_string(call.body.size())};
  EXPECT_EQ(seen.fields, expected);
}

TEST_F(HttpClientTest, AnEmptyPostSaysItsLengthIsZero) {
  HttpCall call = Call("/api/courts/kaihua/pause");
  call.method = HttpMethod::kPost;
  ASSERT_THAT(CallHttp(call), IsOk());
  Seen seen = LastSeen();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.fields.back(), "Content-Length: 0");
}

TEST_F(HttpClientTest, AnErrorStatusIsAnAnswerNotAnError) {
  status_ = http::status::not_found;
  body_ = R"({"ok":false,"message":"no commission"})";
  auto answer = CallHttp(Call("/api/commissions/x"));
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->status, 404);
  EXPECT_EQ(answer->reason, "Not Found");
  EXPECT_EQ(answer->body, body_);
}

TEST_F(HttpClientTest, ABodyOverTheLimitIsNotRead) {
  body_ = std::string(2000, 'x');
  HttpCall call = Call("/big");
  call.max_body_bytes = 1000;
  EXPECT_THAT(CallHttp(call),
              StatusIs(StatusCode::kUnavailable,
                       HasSubstr("cannot read the answer http://127.0.0.1:" + port_ + "/big: ")));
  call.max_body_bytes = 2000;
  auto answer = CallHttp(call);
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->body.size(), 2000u);
}

TEST(HttpClientErrorsTest, APortNobodyListensOnIsCannotConnectNamingTheUrl) {
  // Reserved for this process, bound, never listening: connections are refused.
  const std::string port = std::to_string(weituo::testing::FreePort());
  HttpCall call;
  call.host = "127.0.0.1";
  call.port = port;
  call.target = "/api/status";
  EXPECT_THAT(CallHttp(call),
              StatusIs(StatusCode::kUnavailable, "cannot connect http://127.0.0.1:" + port +
                                                     "/api/status: Connection refused"));
  call.url = "http://localhost:" + port + "/hook";
  EXPECT_THAT(CallHttp(call),
              StatusIs(StatusCode::kUnavailable,
                       HasSubstr("cannot connect http://localhost:" + port + "/hook: ")));
}

TEST(HttpClientErrorsTest, AServerThatNeverAnswersIsNoAnswerWithinTheTimeout) {
  // Listening, never accepting: the kernel completes the handshake, nobody reads.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  HttpCall call;
  call.host = "127.0.0.1";
  call.port = std::to_string(ntohs(addr.sin_port));
  call.timeout = std::chrono::milliseconds(300);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THAT(CallHttp(call), StatusIs(StatusCode::kUnavailable, "no answer within 300 ms"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  ::close(fd);
}

}  // namespace
}  // namespace weituo
