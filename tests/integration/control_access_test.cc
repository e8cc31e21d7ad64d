// Only the court's own account reaches its agent. The control socket checks
// the account of every connection (the kernel's SO_PEERCRED, as libzmq took
// it), whatever the socket file's mode: here the file and its folders are
// opened to anyone on purpose, so that only that check stands between
// another local user and the court. Real broker, real agents, and the other
// user's requests from a process running as `nobody`.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "control_client.h"
#include "harness.h"
#include "trail.h"
#include "weituo/v1/control.pb.h"

namespace weituo::testing {
namespace {

// control_call (control_call.cc), copied where another account may run it:
// the zone's folder, which the test opens to anyone.
std::string ControlCallIn(Zone& zone) {
  const std::string copy = zone.dir() + "/control_call";
  if (!std::filesystem::exists(copy)) {
    std::filesystem::copy_file(WEITUO_CONTROL_CALL_BIN, copy);
    std::filesystem::permissions(copy, std::filesystem::perms(0755));
  }
  return copy;
}

// What control_call prints with `args`, run as `account` with `request` on
// its standard input; nullopt if the child could not become that account
// or got no answer.
std::optional<std::string> RunAs(Zone& zone, const Account& account,
                                 const std::vector<std::string>& args,
                                 const weituo::v1::ControlRequest& request) {
  const std::string input = zone.dir() + "/control_call.in";
  WriteFile(input, request.SerializeAsString());
  std::vector<std::string> argv = {ControlCallIn(zone)};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(ChildSpec{argv, {}, input, account});
  if (r.exit_code != 0) return std::nullopt;
  return r.out;
}

// One ControlRequest to `endpoint` over a raw REQ socket, as `account`.
std::optional<weituo::v1::ControlReply> AskAs(Zone& zone, const Account& account,
                                              const std::string& endpoint,
                                              const weituo::v1::ControlRequest& request) {
  auto got = RunAs(zone, account, {"raw", endpoint}, request);
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
  weituo::v1::ControlRequest status;
  status.set_status(true);
  auto fenced = RunAs(zone, stranger, {"client", endpoint, "1000"}, status);
  ASSERT_TRUE(fenced.has_value());
  EXPECT_EQ(fenced->rfind("PERMISSION_DENIED: this account may not reach the control socket", 0),
            0u)
      << *fenced;
  ASSERT_EQ(::chmod(socket_path.c_str(), 0666), 0);

  // nobody asks for the inbox (debtors' names and ID numbers), then
  // accepts the commission in the court's name.
  weituo::v1::ControlRequest list;
  list.mutable_list()->set_inbox_only(false);
  auto listed = AskAs(zone, stranger, endpoint, list);
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
  auto accepted = AskAs(zone, stranger, endpoint, accept);
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
