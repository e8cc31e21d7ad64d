// The agent's control endpoint answers only its own account, over a real
// ipc:// socket; a caller it cannot identify (tcp) is answered by nobody.
// A caller of another account as another process: tests/integration/
// control_access_test.cc.
#include "control_server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <zmq.hpp>

#include "harness.h"

namespace weituo::agent {
namespace {

// Asks `server` over `endpoint` and lets it answer.
weituo::v1::ControlReply Ask(ControlServer& server, zmq::context_t& context,
                             const std::string& endpoint, int* handled, int* refused) {
  zmq::socket_t req(context, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect(endpoint);
  weituo::v1::ControlRequest request;
  request.set_status(true);
  std::string bytes = request.SerializeAsString();
  req.send(zmq::buffer(bytes), zmq::send_flags::none);
  zmq::pollitem_t item{server.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(5000));
  server.Drain(
      [&](const weituo::v1::ControlRequest&) {
        ++*handled;
        weituo::v1::ControlReply ok;
        ok.set_ok(true);
        return ok;
      },
      [&] { ++*refused; });
  zmq::message_t got;
  EXPECT_TRUE(req.recv(got, zmq::recv_flags::none));
  weituo::v1::ControlReply reply;
  EXPECT_TRUE(reply.ParseFromArray(got.data(), static_cast<int>(got.size())));
  return reply;
}

TEST(ControlServerTest, ItsOwnAccountIsAnsweredAndAnotherIsRefusedUnparsed) {
  testing::TempDir dir;
  zmq::context_t context(1);
  const std::string endpoint = "ipc://" + dir.path() + "/control.sock";
  int handled = 0, refused = 0;
  {
    auto server = ControlServer::Bind(context, endpoint, ::geteuid());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    EXPECT_TRUE(Ask(**server, context, endpoint, &handled, &refused).ok());
    EXPECT_EQ(handled, 1);
    EXPECT_EQ(refused, 0);
  }
  // The same caller, to a server that answers only another uid.
  auto server = ControlServer::Bind(context, endpoint, ::geteuid() + 1);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  weituo::v1::ControlReply reply = Ask(**server, context, endpoint, &handled, &refused);
  EXPECT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().rfind("PERMISSION_DENIED: this agent answers only its own account", 0),
            0u)
      << reply.error();
  EXPECT_NE(reply.error().find("not uid " + std::to_string(::geteuid())), std::string::npos)
      << reply.error();
  EXPECT_NE(reply.error().find("runuser -u "), std::string::npos) << reply.error();
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(refused, 1);
}

TEST(ControlServerTest, OverTcpNobodyCanBeToldApartSoNobodyIsAnswered) {
  zmq::context_t context(1);
  auto server = ControlServer::Bind(context, "tcp://127.0.0.1:*", ::geteuid());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string endpoint;
  {
    char name[256];
    size_t size = sizeof name;
    zmq_getsockopt((*server)->handle(), ZMQ_LAST_ENDPOINT, name, &size);
    endpoint = name;
  }
  int handled = 0, refused = 0;
  weituo::v1::ControlReply reply = Ask(**server, context, endpoint, &handled, &refused);
  EXPECT_FALSE(reply.ok());
  EXPECT_NE(reply.error().find("cannot tell which account is asking"), std::string::npos)
      << reply.error();
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(refused, 1);
}

}  // namespace
}  // namespace weituo::agent
