// Only the court's own account reaches its agent. The control socket checks
// the account of every connection (the kernel's SO_PEERCRED, as libzmq took
// it), whatever the socket file's mode: here the file and its folders are
// opened to anyone on purpose, so that only that check stands between
// another local user and the court. Real broker, real agents, and the other
// user's requests from a process running as `nobody`.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <zmq.hpp>

#include "control_client.h"
#include "harness.h"
#include "trail.h"

namespace weituo::testing {
namespace {

struct Account {
  uid_t uid;
  gid_t gid;
};

// What `body` gives, run in a child process as `account`; nullopt if the
// child could not become that account or `body` gave nothing.
std::optional<std::string> RunAs(const Account& account,
                                 const std::function<std::optional<std::string>()>& body) {
  int out[2];
  if (::pipe(out) != 0) return std::nullopt;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(out[0]);
    if (::setgroups(0, nullptr) != 0 || ::setresgid(account.gid, account.gid, account.gid) != 0 ||
        ::setresuid(account.uid, account.uid, account.uid) != 0) {
      _exit(3);
    }
    std::optional<std::string> result = body();
    if (result) (void)!::write(out[1], result->data(), result->size());
    _exit(result ? 0 : 2);
  }
  ::close(out[1]);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return got;
}

// One ControlRequest to `endpoint` over a raw REQ socket, as `account`.
std::optional<weituo::v1::ControlReply> AskAs(const Account& account, const std::string& endpoint,
                                              const weituo::v1::ControlRequest& request) {
  auto got = RunAs(account, [&]() -> std::optional<std::string> {
    zmq::context_t context(1);
    zmq::socket_t req(context, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.set(zmq::sockopt::rcvtimeo, 5000);
    req.connect(endpoint);
    req.send(zmq::buffer(request.SerializeAsString()), zmq::send_flags::none);
    zmq::message_t reply;
    if (!req.recv(reply, zmq::recv_flags::none)) return std::nullopt;
    return reply.to_string();
  });
  weituo::v1::ControlReply reply;
  if (!got || !reply.ParseFromString(*got)) return std::nullopt;
  return reply;
}

// The log lines of `log` that contain `text`.
int LinesWith(const std::string& log, const std::string& text) {
  std::istringstream lines(log);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) n += line.find(text) != std::string::npos;
  return n;
}

TEST(ControlAccessTest, AnotherAccountIsRefusedByTheAgentItselfCountedAndNothingIsDone) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "runs a caller as the user nobody, which needs root (CI runs as root)";
  }
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "this machine has no user nobody";
  const Account stranger{nobody->pw_uid, nobody->pw_gid};

  Zone zone;
  zone.StartBroker();
  zone.StartAgent("wuyuan", false);
  zone.StartAgent("dexing", false);
  CommandResult sent = zone.Cli(
      "dexing", {"submit", "-f", SourceDir() + "/deploy/stories/dexing-assets-wuyuan.json"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  const std::string id = SubmittedId(sent);
  ASSERT_TRUE(WaitFor(
      [&] { return ShowView(zone, "wuyuan", id).record().state() == weituo::v1::DELIVERED; },
      std::chrono::seconds(20)));

  // Open the way to Wuyuan's control socket for anyone: its folders may be
  // entered and the socket file (0600 from the agent) written by all.
  const std::string data = zone.dir() + "/wuyuan-data";
  const std::string socket_path = data + "/control.sock";
  ASSERT_EQ(::chmod(zone.dir().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(data.c_str(), 0711), 0);
  struct stat st {};
  ASSERT_EQ(::stat(socket_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the agent leaves its socket file to its owner";
  const std::string endpoint = "ipc://" + socket_path;
  // While the file is the agent's alone, the client library says so
  // rather than waiting for an answer that cannot come.
  auto fenced = RunAs(stranger, [&]() -> std::optional<std::string> {
    weituo::v1::ControlRequest status;
    status.set_status(true);
    auto r = weituo::agent::ControlClient(endpoint).Call(status, 1000);
    return r.ok() ? "answered" : r.status().ToString();
  });
  ASSERT_TRUE(fenced.has_value());
  EXPECT_EQ(fenced->rfind("PERMISSION_DENIED: this account may not reach the control socket", 0),
            0u)
      << *fenced;
  ASSERT_EQ(::chmod(socket_path.c_str(), 0666), 0);

  // nobody asks for the inbox (debtors' names and ID numbers), then
  // accepts the commission in the court's name.
  weituo::v1::ControlRequest list;
  list.mutable_list()->set_inbox_only(false);
  auto listed = AskAs(stranger, endpoint, list);
  ASSERT_TRUE(listed.has_value()) << "nobody got no reply: the file mode still stops it";
  EXPECT_FALSE(listed->ok());
  EXPECT_EQ(listed->commissions_size(), 0);
  EXPECT_EQ(listed->error().rfind("PERMISSION_DENIED: this agent answers only its own account", 0),
            0u)
      << listed->error();
  EXPECT_NE(listed->error().find("not uid " + std::to_string(stranger.uid)), std::string::npos)
      << listed->error();
  weituo::v1::ControlRequest accept;
  accept.mutable_update()->set_commission_id(id);
  accept.mutable_update()->mutable_accept()->set_handler("nobody");
  auto accepted = AskAs(stranger, endpoint, accept);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_FALSE(accepted->ok());
  EXPECT_TRUE(accepted->request_id().empty());

  // The agent's own account is answered as before. Its accept is the first
  // to reach the broker (the outbox is in order, and a second accept would
  // be refused): nothing of nobody's was queued.
  CommandResult mine = zone.Cli("wuyuan", {"accept", id, "--handler", "婺源 执行局"});
  EXPECT_EQ(mine.exit_code, 0) << mine.out;
  ASSERT_TRUE(
      WaitFor([&] { return ShowView(zone, "dexing", id).record().state() == weituo::v1::ACCEPTED; },
              std::chrono::seconds(20)));
  weituo::v1::CommissionView at_origin = ShowView(zone, "dexing", id);
  ASSERT_EQ(CountEvents(at_origin, weituo::v1::EV_ACCEPTED), 1);
  for (const auto& e : at_origin.events()) {
    if (e.type() == weituo::v1::EV_ACCEPTED) {
      EXPECT_EQ(e.update().accept().handler(), "婺源 执行局");
    }
  }

  // Counted for the operator, logged once for the uid.
  EXPECT_EQ(AgentStatusOf(zone, "wuyuan").counters().at("control_refused_uid"), 2u);
  std::string log = ReadFile(zone.dir() + "/wuyuan.log");
  EXPECT_EQ(LinesWith(log, "msg=\"control request refused: another account\" uid=" +
                               std::to_string(stranger.uid)),
            1)
      << log;
}

}  // namespace
}  // namespace weituo::testing
