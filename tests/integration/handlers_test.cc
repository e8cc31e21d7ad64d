// A court's own systems answer commissions through configuration alone: the
// stock agent calls a command or an HTTP endpoint per kind, retries what
// fails, resumes what a crash cut short, serves a local HTTP/JSON API and
// watches a spool folder. Real broker, real agents, real handler processes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "api.h"
#include "harness.h"
#include "trail.h"

namespace weituo::testing {
namespace {

namespace fs = std::filesystem;
using weituo::v1::CommissionView;

std::string Story(const std::string& name) { return SourceDir() + "/deploy/stories/" + name; }

// Writes an executable shell script.
std::string Script(Zone& zone, const std::string& name, const std::string& body) {
  std::string path = zone.dir() + "/" + name;
  WriteFile(path, "#!/bin/sh\n" + body);
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

// Starts Wuyuan's agent with `toml` added to its config, then Dexing's.
void StartWuyuanWith(Zone& zone, const std::string& toml) {
  zone.SetAgentConfigExtra("wuyuan", toml);
  zone.StartAgent("wuyuan", false);
  zone.StartAgent("dexing", false);
}

// Dexing asks Wuyuan (found by region code) about a debtor; returns the id.
std::string DexingAsksWuyuan(Zone& zone,
                             const std::string& story = Story("dexing-assets-wuyuan.json")) {
  CommandResult sent = zone.Cli("dexing", {"submit", "-f", story});
  EXPECT_EQ(sent.exit_code, 0) << sent.out;
  return SubmittedId(sent);
}

bool Reaches(Zone& zone, const std::string& court, const std::string& id, weituo::v1::State state,
             int seconds = 20) {
  return WaitFor([&] { return ShowView(zone, court, id).record().state() == state; },
                 std::chrono::seconds(seconds));
}

// Waits until nothing more can arrive about commissions between `courts`:
// the target's handler has answered `id` (no call is left to make), each
// agent's outbox is empty (all it sent was receipted, so nothing is resent)
// and then the broker holds nothing pending or in flight for any of them
// (each delivery was acknowledged). False if that does not come in 20 s.
bool Settled(Zone& zone, const std::string& target, const std::string& id,
             const std::vector<std::string>& courts) {
  return WaitFor(
      [&] {
        if (ShowView(zone, target, id).handler().state() != weituo::v1::HANDLER_DONE) return false;
        for (const std::string& c : courts) {
          if (AgentStatusOf(zone, c).outbox_pending() != 0) return false;
        }
        weituo::v1::BrokerStatus status = NextBrokerStatus(zone);
        for (const std::string& c : courts) {
          const weituo::v1::CourtState* at_broker = CourtOf(status, c);
          if (!at_broker || at_broker->pending() != 0 || at_broker->in_flight() != 0) return false;
        }
        return true;
      },
      std::chrono::seconds(20));
}

std::string LocateStory(Zone& zone) {
  std::string path = zone.dir() + "/locate-wuyuan.json";
  WriteFile(path, R"({"caseNumber":"（2026）赣1181执0901号","debtor":{"name":"汪某",)"
                  R"("idNumber":"362330199003150417","regionCode":"361130"},)"
                  R"("debtorLocate":{"notes":"works at a tea farm"}})");
  return path;
}

TEST(HandlersTest, TheRegisterScriptAnswersAnAssetQueryWithNoHumanStep) {
  Zone zone;
  zone.StartBroker();
  StartWuyuanWith(zone,
                  "[handlers.ASSET_QUERY]\n"
                  "name = \"婺源 财产登记自动应答\"\n"
                  "command = [\"/usr/bin/python3\", \"" +
                      SourceDir() +
                      "/deploy/handlers/asset-register.py\", \"--register\", "
                      "\"" +
                      SourceDir() + "/deploy/handlers/register.csv\"]\n");
  std::string id = DexingAsksWuyuan(zone);
  ASSERT_TRUE(Reaches(zone, "dexing", id, weituo::v1::COMPLETED))
      << ReadFile(zone.dir() + "/wuyuan.log");

  CommissionView at_origin = ShowView(zone, "dexing", id);
  const weituo::v1::Event* complete = nullptr;
  for (const auto& e : at_origin.events()) {
    if (e.type() == weituo::v1::EV_COMPLETED) complete = &e;
    if (e.type() == weituo::v1::EV_ACCEPTED) {
      EXPECT_EQ(e.update().accept().handler(), "婺源 财产登记自动应答");
    }
  }
  ASSERT_NE(complete, nullptr);
  // The register holds four rows for this debtor in the asked classes.
  const auto& assets = complete->update().complete().result().assets().assets();
  ASSERT_EQ(assets.size(), 4);
  EXPECT_EQ(assets[2].asset_class(), weituo::v1::REAL_ESTATE);
  EXPECT_EQ(assets[2].value_fen(), 68000000);
  EXPECT_EQ(CountEvents(at_origin, weituo::v1::EV_PROGRESS), 1);

  CommissionView at_target = ShowView(zone, "wuyuan", id);
  EXPECT_EQ(at_target.handler().state(), weituo::v1::HANDLER_DONE);
  EXPECT_EQ(at_target.handler().attempts(), 1u);
  EXPECT_EQ(AgentStatusOf(zone, "wuyuan").counters().at("handler_calls"), 1u);
}

// A one-request-at-a-time HTTP server for the court's own system.
class CourtSystem {
 public:
  // `answer(n)`: the full HTTP response to the n-th request (from 1).
  explicit CourtSystem(std::function<std::string(int)> answer) : answer_(std::move(answer)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(listener_, 8);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CourtSystem() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::string req;
      char buf[8192];
      // Headers, then Content-Length bytes of body.
      while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        size_t end = req.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        size_t cl = req.find("Content-Length: ");
        size_t want = cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16));
        if (req.size() >= end + 4 + want) break;
      }
      int n;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
        n = static_cast<int>(requests_.size());
      }
      std::string res = answer_(n);
      (void)!::write(fd, res.data(), res.size());
      ::close(fd);
    }
  }
  std::function<std::string(int)> answer_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

std::string HttpResponse(int code, const std::string& reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

TEST(HandlersTest, AnHttpHandlerAnswersAndOneThatTakesItAnswersLaterThroughTheLocalApi) {
  Zone zone;
  zone.StartBroker();
  // The court's system answers the first locate at once (after a 503), and
  // takes the asset query to answer later.
  CourtSystem system([](int n) {
    if (n == 1) return HttpResponse(503, "Service Unavailable", "database is restarting");
    if (n == 2) {
      return HttpResponse(200, "OK",
                          R"({"complete":{"result":{"locate":{"foundAtPlace":"婺源县江湾镇茶场",)"
                          R"("measures":["SUMMONED"]}}}})");
    }
    return HttpResponse(202, "Accepted", "");
  });
  const std::string url = "http://127.0.0.1:" + std::to_string(system.port());
  const int api_port = FreePort();
  StartWuyuanWith(zone,
                  "[handlers.DEBTOR_LOCATE]\nname = \"婺源 执行指挥中心\"\n"
                  "url = \"" +
                      url +
                      "/weituo/locate\"\nretry_ms = 100\n"
                      "[handlers.ASSET_QUERY]\nurl = \"" +
                      url +
                      "/weituo/assets\"\n"
                      "[api]\nlisten = \"127.0.0.1:" +
                      std::to_string(api_port) + "\"\n");

  std::string located = DexingAsksWuyuan(zone, LocateStory(zone));
  ASSERT_TRUE(Reaches(zone, "dexing", located, weituo::v1::COMPLETED));
  CommissionView v = ShowView(zone, "dexing", located);
  EXPECT_EQ(CountEvents(v, weituo::v1::EV_COMPLETED), 1);
  EXPECT_EQ(CountEvents(v, weituo::v1::EV_ACCEPTED), 1);
  auto requests = system.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].rfind("POST /weituo/locate HTTP/1.1", 0), 0u) << requests[0];
  EXPECT_NE(requests[1].find("Idempotency-Key: " + located), std::string::npos);
  EXPECT_NE(requests[1].find("Weituo-Attempt: 2"), std::string::npos);
  EXPECT_NE(requests[1].find("\"debtorLocate\":{\"notes\":\"works at a tea farm\"}"),
            std::string::npos);
  EXPECT_EQ(ShowView(zone, "wuyuan", located).handler().attempts(), 2u);

  // Handed over: the commission waits for the court's system.
  std::string asked = DexingAsksWuyuan(zone);
  ASSERT_TRUE(WaitFor(
      [&] {
        return ShowView(zone, "wuyuan", asked).handler().state() == weituo::v1::HANDLER_HANDED_OVER;
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(ShowView(zone, "wuyuan", asked).record().state(), weituo::v1::DELIVERED);
  // ... which answers later through the agent's local API.
  std::string token = ReadFile(zone.dir() + "/wuyuan-data/api.token");
  token.pop_back();
  auto post = [&](const std::string& path, const std::string& body) {
    return HttpExchange(api_port, "POST " + path + " HTTP/1.1\r\n" + HostHeader(api_port) +
                                      "Authorization: Bearer " + token + "\r\nContent-Length: " +
                                      std::to_string(body.size()) + "\r\n\r\n" + body);
  };
  std::string base = "/api/commissions/" + asked + "/updates";
  EXPECT_EQ(post(base, R"({"accept":{"handler":"婺源 执行局 查控组"}})").rfind("HTTP/1.1 202", 0),
            0u);
  std::string done = post(base, R"({"complete":{"result":{"assets":{"assets":[]}}}})");
  EXPECT_EQ(done.rfind("HTTP/1.1 202", 0), 0u) << done;
  EXPECT_NE(done.find("\"requestId\""), std::string::npos);
  ASSERT_TRUE(Reaches(zone, "dexing", asked, weituo::v1::COMPLETED));
}

TEST(HandlersTest, AHandlerThatFailsTwiceThenSucceedsGivesOneResult) {
  Zone zone;
  zone.StartBroker();
  // Fails on its first two calls, answers on the third.
  std::string script =
      Script(zone, "flaky.sh",
             "cat > /dev/null\n"
             "n=$(cat calls 2>/dev/null || echo 0); n=$((n + 1)); echo $n > calls\n"
             "if [ $n -le 2 ]; then echo \"register locked (call $n)\" >&2; "
             "exit 1; fi\n"
             "echo '{\"progress\":{\"text\":\"searched\"}}'\n"
             "echo '{\"complete\":{\"result\":{\"assets\":{}}}}'\n");
  zone.SetAgentConfigExtra(
      "wuyuan", "[handlers.ASSET_QUERY]\ncommand = [\"" + script + "\"]\nretry_ms = 200\n");
  zone.StartAgent("wuyuan", false);
  zone.StartAgent("dexing", false);
  std::string id = DexingAsksWuyuan(zone);
  ASSERT_TRUE(Reaches(zone, "dexing", id, weituo::v1::COMPLETED));
  // Any duplicate would have arrived by the time all is settled.
  ASSERT_TRUE(Settled(zone, "wuyuan", id, {"wuyuan", "dexing"}));
  CommissionView v = ShowView(zone, "dexing", id);
  EXPECT_EQ(CountEvents(v, weituo::v1::EV_COMPLETED), 1);
  EXPECT_EQ(CountEvents(v, weituo::v1::EV_ACCEPTED), 1);
  EXPECT_EQ(CountEvents(v, weituo::v1::EV_PROGRESS), 1);
  EXPECT_EQ(ReadFile(zone.dir() + "/calls"), "3\n");
  CommissionView at_target = ShowView(zone, "wuyuan", id);
  EXPECT_EQ(at_target.handler().state(), weituo::v1::HANDLER_DONE);
  EXPECT_EQ(at_target.handler().attempts(), 3u);
  auto counters = AgentStatusOf(zone, "wuyuan").counters();
  EXPECT_EQ(counters["handler_failures"], 2u);
  EXPECT_EQ(counters["handler_calls"], 3u);
}

TEST(HandlersTest, AHandlerThatHangsIsKilledRetriedAndItsErrorShownInTheInbox) {
  Zone zone;
  zone.StartBroker();
  std::string script = Script(zone, "hangs.sh",
                              "echo $$ >> pids\n"
                              // Every other call also closes its output first.
                              "if [ $((WEITUO_ATTEMPT % 2)) -eq 1 ]; then exec >&- 2>&-; fi\n"
                              "exec sleep 60\n");
  StartWuyuanWith(zone, "[handlers.ASSET_QUERY]\nname = \"register\"\ncommand = [\"" + script +
                            "\"]\ntimeout_ms = 300\nretry_ms = 200\n");
  std::string id = DexingAsksWuyuan(zone);
  ASSERT_TRUE(WaitFor([&] { return ShowView(zone, "wuyuan", id).handler().attempts() >= 3; },
                      std::chrono::seconds(20)));
  CommissionView v = ShowView(zone, "wuyuan", id);
  EXPECT_EQ(v.record().state(), weituo::v1::DELIVERED);
  EXPECT_NE(v.handler().last_error().find("no answer within 300 ms"), std::string::npos)
      << v.handler().last_error();
  CommandResult inbox = zone.Cli("wuyuan", {"inbox"});
  EXPECT_NE(inbox.out.find(id), std::string::npos);
  EXPECT_NE(inbox.out.find("handler register:"), std::string::npos) << inbox.out;
  EXPECT_NE(inbox.out.find("last error: no answer within 300 ms; killed"), std::string::npos)
      << inbox.out;
  // The first two calls (a third has started) were killed and reaped.
  std::istringstream pids(ReadFile(zone.dir() + "/pids"));
  for (int i = 0; i < 2; ++i) {
    pid_t pid = 0;
    ASSERT_TRUE(pids >> pid);
    EXPECT_EQ(::kill(pid, 0), -1) << "call " << i + 1 << " (pid " << pid << ") still runs";
    EXPECT_EQ(errno, ESRCH);
  }
  // Nothing was sent for it but the delivery receipt.
  EXPECT_EQ(ShowView(zone, "dexing", id).record().state(), weituo::v1::DELIVERED);
}

TEST(HandlersTest, WhatAFailingHandlerSaysStaysOutOfTheLogAndTheClerkSeesItEscaped) {
  Zone zone;
  zone.StartBroker();
  // A debtor's ID number and address, a forged log line and a terminal
  // escape on standard error, then a failure.
  std::string script = Script(zone, "leaks.sh",
                              "cat > /dev/null\n"
                              "echo 'debtor 330824199001011234 at 开化县城关镇解放街12号' >&2\n"
                              "printf '\\nts=2026-11-28T08:00:00.000Z level=critical "
                              "prog=weituo-agent.wuyuan msg=\"FORGED LINE\"\\n' >&2\n"
                              "printf '\\033[2Jgone\\n' >&2\n"
                              "exit 3\n");
  StartWuyuanWith(zone, "[handlers.ASSET_QUERY]\nname = \"register\"\ncommand = [\"" + script +
                            "\"]\nretry_ms = 60000\n");
  std::string id = DexingAsksWuyuan(zone);
  ASSERT_TRUE(WaitFor(
      [&] {
        return ShowView(zone, "wuyuan", id).handler().state() == weituo::v1::HANDLER_RETRYING;
      },
      std::chrono::seconds(20)));
  // The log says that the handler failed, and nothing it said.
  std::string log = ReadFile(zone.dir() + "/wuyuan.log");
  EXPECT_NE(log.find("msg=\"handler failed\" commission=" + id), std::string::npos) << log;
  EXPECT_NE(log.find("error=\"exit status 3\""), std::string::npos) << log;
  for (const char* leaked : {"330824199001011234", "解放街", "FORGED LINE", "\x1b"}) {
    EXPECT_EQ(log.find(leaked), std::string::npos) << leaked << " in the log:\n" << log;
  }
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_EQ(line.rfind("ts=", 0), 0u) << "a line the agent did not write: " << line;
  }

  // The status keeps the last lines, escaped; the error is the agent's.
  weituo::v1::HandlerStatus h = ShowView(zone, "wuyuan", id).handler();
  EXPECT_EQ(h.last_error(), "exit status 3");
  ASSERT_EQ(h.last_output_size(), 3) << h.DebugString();
  EXPECT_EQ(h.last_output(0), "debtor 330824199001011234 at 开化县城关镇解放街12号");
  EXPECT_EQ(h.last_output(1),
            "ts=2026-11-28T08:00:00.000Z level=critical prog=weituo-agent.wuyuan "
            "msg=\\\"FORGED LINE\\\"");
  EXPECT_EQ(h.last_output(2), "\\x1b[2Jgone");
  CommandResult shown = zone.Cli("wuyuan", {"show", id});
  EXPECT_NE(shown.out.find("  handler register: RETRYING (1 call), next call "), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("\n    | debtor 330824199001011234 at 开化县城关镇解放街12号\n"),
            std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("\n    | \\x1b[2Jgone\n"), std::string::npos) << shown.out;
  EXPECT_NE(zone.Cli("wuyuan", {"inbox"}).out.find("\n      | \\x1b[2Jgone\n"), std::string::npos);

  // With log_output the court asks for it in the log: escaped, one line.
  zone.KillAgent("wuyuan", SIGTERM);
  zone.SetAgentConfigExtra("wuyuan", "[handlers.ASSET_QUERY]\nname = \"register\"\ncommand = [\"" +
                                         script + "\"]\nretry_ms = 60000\nlog_output = true\n");
  zone.StartAgent("wuyuan", false);
  ASSERT_EQ(zone.Cli("wuyuan", {"retry", id}).exit_code, 0);
  ASSERT_TRUE(WaitFor(
      [&] { return ReadFile(zone.dir() + "/wuyuan.log").find("output=\"") != std::string::npos; },
      std::chrono::seconds(20)));
  log = ReadFile(zone.dir() + "/wuyuan.log");
  EXPECT_NE(log.find("330824199001011234"), std::string::npos) << "asked for: " << log;
  std::istringstream logged(log);
  while (std::getline(logged, line)) {
    EXPECT_EQ(line.rfind("ts=", 0), 0u) << "a line the agent did not write: " << line;
  }
  EXPECT_EQ(log.find("\x1b"), std::string::npos);
}

TEST(HandlersTest, AnAgentKilledDuringAHandlerCallResumesItAfterRestart) {
  Zone zone;
  zone.StartBroker();
  // The first call hangs (and says so); later calls answer.
  std::string script = Script(zone, "slow.sh",
                              "cat > /dev/null\n"
                              "if [ ! -e started ]; then echo $$ > started; exec sleep 30; fi\n"
                              "echo \"$WEITUO_ATTEMPT\" > answered-at-attempt\n"
                              "echo '{\"complete\":{\"result\":{\"assets\":{}}}}'\n");
  StartWuyuanWith(zone, "[handlers.ASSET_QUERY]\ncommand = [\"" + script + "\"]\n");
  std::string id = DexingAsksWuyuan(zone);
  ASSERT_TRUE(
      WaitFor([&] { return fs::exists(zone.dir() + "/started"); }, std::chrono::seconds(20)));
  zone.KillAgent("wuyuan", SIGKILL);
  zone.WaitAgent("wuyuan");
  // The orphaned call of the killed agent.
  std::string pid = ReadFile(zone.dir() + "/started");
  ::kill(-std::stoi(pid), SIGKILL);

  zone.StartAgent("wuyuan", false);
  ASSERT_TRUE(Reaches(zone, "dexing", id, weituo::v1::COMPLETED));
  EXPECT_EQ(ReadFile(zone.dir() + "/answered-at-attempt"), "2\n");
  ASSERT_TRUE(Settled(zone, "wuyuan", id, {"wuyuan", "dexing"}));
  CommissionView v = ShowView(zone, "dexing", id);
  EXPECT_EQ(CountEvents(v, weituo::v1::EV_COMPLETED), 1);
  EXPECT_EQ(CountEvents(v, weituo::v1::EV_ACCEPTED), 1);
  EXPECT_EQ(ShowView(zone, "wuyuan", id).handler().attempts(), 2u);
}

TEST(HandlersTest, AnAnswerTheBrokerRefusesIsShownForAClerkWhoCanHaveItCalledAgain) {
  Zone zone;
  zone.StartBroker();
  // Sends the commission on to a court the directory does not know.
  std::string script =
      Script(zone, "forwards.sh",
             "cat > /dev/null\necho call >> calls\n"
             "echo '{\"forward\":{\"toCourt\":\"atlantis\",\"text\":\"moved\"}}'\n");
  zone.SetAgentConfigExtra(
      "wuyuan", "[handlers.ASSET_QUERY]\ncommand = [\"" + script + "\"]\nretry_ms = 100\n");
  zone.StartAgent("wuyuan", false);
  zone.StartAgent("dexing", false);
  std::string id = DexingAsksWuyuan(zone);
  ASSERT_TRUE(WaitFor(
      [&] {
        return ShowView(zone, "wuyuan", id).handler().state() == weituo::v1::HANDLER_ANSWER_REFUSED;
      },
      std::chrono::seconds(20)));
  CommissionView v = ShowView(zone, "wuyuan", id);
  EXPECT_NE(v.handler().last_error().find("the broker refused the answer's update 1"),
            std::string::npos)
      << v.handler().last_error();
  EXPECT_NE(v.handler().last_error().find("atlantis"), std::string::npos);
  EXPECT_EQ(v.record().state(), weituo::v1::ACCEPTED);  // the agent's accept went through
  CommandResult inbox = zone.Cli("wuyuan", {"inbox"});
  EXPECT_NE(inbox.out.find("ANSWER_REFUSED"), std::string::npos) << inbox.out;
  // The same answer would be refused again: one call only. The agent runs
  // on past the refusal (the broker hears two heartbeats from it, 200 ms
  // apart, after the refusal was shown: two of its 100 ms retry intervals)
  // and calls nothing.
  (void)StatusAfterHearingFrom(zone, "wuyuan");
  (void)StatusAfterHearingFrom(zone, "wuyuan");
  EXPECT_EQ(ReadFile(zone.dir() + "/calls"), "call\n");
  EXPECT_EQ(AgentStatusOf(zone, "wuyuan").counters().at("handler_answers_refused"), 1u);

  // The court fixes its handler; a clerk has it called again.
  Script(zone, "forwards.sh",
         "cat > /dev/null\necho call >> calls\n"
         "echo '{\"complete\":{\"result\":{\"assets\":{}}}}'\n");
  CommandResult retried = zone.Cli("wuyuan", {"retry", id});
  EXPECT_EQ(retried.exit_code, 0);
  EXPECT_EQ(retried.out, id + " handler call queued\n");
  ASSERT_TRUE(Reaches(zone, "dexing", id, weituo::v1::COMPLETED));
  EXPECT_EQ(ShowView(zone, "wuyuan", id).handler().state(), weituo::v1::HANDLER_DONE);
  EXPECT_EQ(ReadFile(zone.dir() + "/calls"), "call\ncall\n");
  // Nothing left to answer, and no handler for a kind answered by hand.
  EXPECT_EQ(zone.Cli("wuyuan", {"retry", id}).exit_code, 1);
  EXPECT_EQ(zone.Cli("wuyuan", {"retry", "01NOSUCHCOMMISSION0000000000"}).exit_code, 1);
  EXPECT_EQ(zone.Cli("dexing", {"retry", id}).exit_code, 1);
}

TEST(HandlersTest, TheLocalApiRefusesWhatIsWrongByNameAndServesTheRest) {
  Zone zone;
  zone.StartBroker();
  const int port = FreePort();
  zone.SetAgentConfigExtra("dexing", "[api]\nlisten = \"127.0.0.1:" + std::to_string(port) +
                                         "\"\ntoken_file = \"dexing-api.token\"\n");
  zone.StartAgent("dexing", false);
  zone.StartAgent("wuyuan", /*auto_responder=*/true);
  std::string token = ReadFile(zone.dir() + "/dexing-api.token");
  ASSERT_EQ(token.size(), 65u);
  token.pop_back();
  EXPECT_EQ(fs::status(zone.dir() + "/dexing-api.token").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // Who asks.
  EXPECT_EQ(Api(port, "GET", "/healthz", "").substr(0, 3), "200");
  std::string none = Api(port, "GET", "/api/inbox", "");
  EXPECT_EQ(none.substr(0, 3), "401") << none;
  EXPECT_NE(none.find("Authorization: Bearer"), std::string::npos);
  EXPECT_EQ(Api(port, "GET", "/api/inbox", token + "x").substr(0, 3), "401");
  EXPECT_EQ(Api(port, "POST", "/api/commissions", "wrong-token-wrong-token", "{}").substr(0, 3),
            "401");

  // What is asked, each refusal naming the problem.
  struct Bad {
    std::string body, names;
  };
  std::vector<Bad> bad = {
      {"{\"caseNumber\": ", "the body is not a valid Commission"},
      {"", "the body is empty"},
      {R"({"caseNumber":"x","colour":"red"})", "colour: Cannot find field"},
      {R"({"caseNumber":"x","debtor":{"regionCode":"361130"},"assetQuery":{"classes":["BOATS"]}})",
       "asset_query.classes[0]"},
      {R"({"caseNumber":"x","debtor":{"name":"汪某"},"assetQuery":{}})",
       "target_court or debtor.region_code is required"},
      {R"({"caseNumber":"x","debtor":{"name":"汪某","regionCode":"361130"}})", "payload"},
      {R"({"caseNumber":1.5})", "case_number"},
  };
  for (const Bad& b : bad) {
    std::string r = Api(port, "POST", "/api/commissions", token, b.body);
    EXPECT_EQ(r.substr(0, 3), "400") << b.body << " -> " << r;
    EXPECT_NE(r.find(b.names), std::string::npos) << b.body << " -> " << r;
    EXPECT_NE(r.find("\"ok\":false"), std::string::npos) << r;
  }
  EXPECT_EQ(Api(port, "GET", "/api/commissions/01NOSUCHCOMMISSION0000000000", token).substr(0, 3),
            "404");
  EXPECT_EQ(Api(port, "DELETE", "/api/inbox", token).substr(0, 3), "405");
  EXPECT_EQ(Api(port, "GET", "/api/commissions?limit=many", token).substr(0, 3), "400");
  EXPECT_EQ(Api(port, "GET", "/api/nothing", token).substr(0, 3), "404");

  // Submitted through the API, answered by Wuyuan's responder.
  std::string body = ReadFile(Story("dexing-assets-wuyuan.json"));
  std::string created = Api(port, "POST", "/api/commissions", token, body);
  ASSERT_EQ(created.substr(0, 3), "201") << created;
  size_t at = created.find("\"commissionId\":\"") + 16;
  std::string id = created.substr(at, 26);
  ASSERT_TRUE(WaitFor(
      [&] {
        return Api(port, "GET", "/api/commissions/" + id, token).find("\"COMPLETED\"") !=
               std::string::npos;
      },
      std::chrono::seconds(20)));
  std::string trail = Api(port, "GET", "/api/commissions/" + id, token);
  EXPECT_EQ(trail.substr(0, 3), "200");
  EXPECT_NE(trail.find("\"type\":\"EV_COMPLETED\""), std::string::npos) << trail;
  // An update to a commission this court sent: the path's id rules.
  std::string mismatch = Api(port, "POST", "/api/commissions/" + id + "/updates", token,
                             R"({"commissionId":"01OTHER","withdraw":{}})");
  EXPECT_EQ(mismatch.substr(0, 3), "400");
  EXPECT_NE(mismatch.find("not the path's"), std::string::npos);
  std::string status = Api(port, "GET", "/api/status", token);
  EXPECT_NE(status.find("\"api_refused_unauthorized\":\"3\""), std::string::npos) << status;
  EXPECT_NE(status.find("\"api_refused_400\""), std::string::npos) << status;
}

// The names in `folder` that start with `prefix`, sorted.
std::vector<std::string> FilesStartingWith(const std::string& folder, const std::string& prefix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(folder, ec)) {
    std::string name = f.path().filename().string();
    if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(HandlersTest, ACourtThatOnlyWritesAndReadsFilesAsksAndAnswersThroughTheSpool) {
  Zone zone;
  zone.StartBroker();
  zone.SetAgentConfigExtra("dexing", "[spool]\ndir = \"dexing-spool\"\n");
  zone.SetAgentConfigExtra("wuyuan", "[spool]\ndir = \"wuyuan-spool\"\n");
  zone.StartAgent("dexing", false);
  zone.StartAgent("wuyuan", false);
  const std::string spool = zone.dir() + "/dexing-spool";
  ASSERT_TRUE(fs::is_directory(spool + "/outgoing"));
  // Written elsewhere and renamed in, as a careful writer does.
  WriteFile(spool + "/q.json.part", ReadFile(Story("dexing-assets-wuyuan.json")));
  fs::rename(spool + "/q.json.part", spool + "/outgoing/q.json");
  WriteFile(spool + "/outgoing/broken.json", "{\"caseNumber\": ");
  WriteFile(spool + "/outgoing/nowhere.json",
            R"({"caseNumber":"x","debtor":{"name":"汪某"},"assetQuery":{}})");
  WriteFile(spool + "/outgoing/atlantis.json",
            R"({"caseNumber":"x","targetCourt":"atlantis","debtor":{"name":"汪某"},)"
            R"("assetQuery":{"classes":["DEPOSITS"]}})");
  WriteFile(spool + "/outgoing/notes.txt", "not for the spool");
  WriteFile(spool + "/outgoing/huge.json", std::string(2 << 20, ' '));

  // Refused by the agent: at once. Refused by the broker: after it left.
  ASSERT_TRUE(WaitFor(
      [&] {
        return fs::exists(spool + "/failed/broken.json") &&
               fs::exists(spool + "/failed/nowhere.json") &&
               fs::exists(spool + "/failed/huge.json.reason") &&
               FilesStartingWith(spool + "/failed", "atlantis.").size() == 2;
      },
      std::chrono::seconds(10)));
  EXPECT_NE(ReadFile(spool + "/failed/broken.json.reason").find("neither a Commission"),
            std::string::npos);
  EXPECT_NE(ReadFile(spool + "/failed/nowhere.json.reason")
                .find("target_court or debtor.region_code is required"),
            std::string::npos);
  // Moved from sent/ with its id in the name, the broker's reason beside it.
  std::vector<std::string> atlantis = FilesStartingWith(spool + "/failed", "atlantis.");
  ASSERT_EQ(atlantis.size(), 2u);
  std::string refused = ReadFile(spool + "/failed/" + atlantis[1]);
  EXPECT_NE(refused.find("refused by the broker: "), std::string::npos) << refused;
  EXPECT_NE(refused.find("atlantis"), std::string::npos) << refused;
  EXPECT_NE(ReadFile(spool + "/failed/huge.json.reason").find("at most 1048576"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(spool + "/outgoing/notes.txt"));
  EXPECT_FALSE(fs::exists(spool + "/outgoing/q.json"));
  std::vector<std::string> sent;
  for (const auto& f : fs::directory_iterator(spool + "/sent")) {
    sent.push_back(f.path().filename().string());
  }
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].size(), 2 + 26 + 5u) << sent[0];  // q.<id>.json
  std::string id = sent[0].substr(2, 26);
  EXPECT_NE(ReadFile(spool + "/sent/" + sent[0]).find("\"id\": \"" + id + "\""), std::string::npos);

  // Wuyuan's system finds it as a file and answers with files.
  const std::string wuyuan = zone.dir() + "/wuyuan-spool";
  std::string incoming = wuyuan + "/incoming/" + id + ".json";
  ASSERT_TRUE(WaitFor([&] { return fs::exists(incoming); }, std::chrono::seconds(10)));
  EXPECT_NE(ReadFile(incoming).find("\"idNumber\":\"362330199003150417\""), std::string::npos);
  WriteFile(wuyuan + "/outgoing/1-accept.json",
            R"({"commissionId":")" + id + R"(","accept":{"handler":"婺源 档案室"}})");
  WriteFile(wuyuan + "/outgoing/2-complete.json",
            R"({"commissionId":")" + id + R"(","complete":{"result":{"assets":{}}}})");
  ASSERT_TRUE(Reaches(zone, "dexing", id, weituo::v1::COMPLETED));
  EXPECT_EQ(fs::directory_iterator(wuyuan + "/sent") == fs::directory_iterator(), false);

  // Dexing's system reads the trail of what it sent as files.
  const std::string completed = spool + "/incoming/" + id + ".4.EV_COMPLETED.json";
  ASSERT_TRUE(WaitFor([&] { return fs::exists(completed); }, std::chrono::seconds(10)));
  EXPECT_NE(ReadFile(completed).find("\"state\":\"COMPLETED\""), std::string::npos);
  EXPECT_TRUE(fs::exists(spool + "/incoming/" + id + ".1.EV_SUBMITTED.json"));
  EXPECT_TRUE(fs::exists(spool + "/incoming/" + id + ".3.EV_ACCEPTED.json"));
  EXPECT_FALSE(fs::exists(spool + "/incoming/" + id + ".json"));  // not received: sent
  auto counters = AgentStatusOf(zone, "dexing").counters();
  EXPECT_EQ(counters["spool_sent"], 2u);
  EXPECT_EQ(counters["spool_failed"], 4u);
  EXPECT_EQ(AgentStatusOf(zone, "wuyuan").counters().at("spool_sent"), 2u);
}

TEST(HandlersTest, AConfigThatCannotWorkIsRefusedAtStartByName) {
  TempDir dir;
  struct Case {
    std::string toml, says;
  };
  std::vector<Case> cases = {
      {"[handlers.BOAT_SEIZURE]\ncommand = [\"x\"]\n", "not a commission kind"},
      {"[handlers.ASSET_QUERY]\ncommand = [\"x\"]\nurl = \"http://127.0.0.1:1/\"\n",
       "exactly one of command"},
      {"[handlers.ASSET_QUERY]\ncommand = \"answer.sh --all\"\n", "array of strings"},
      {"[handlers.ASSET_QUERY]\nurl = \"https://10.0.0.1/weituo\"\n", "must start with http://"},
      {"[handlers.ASSET_QUERY]\ncommand = [\"x\"]\ntimeout = 5\n",
       "unknown key 'handlers.ASSET_QUERY.timeout'"},
      {"[api]\ntoken_file = \"t\"\n", "[api] needs listen"},
      {"[spool]\nincoming = true\n", "[spool] needs dir"},
      {"[responder]\nmode = \"auto\"\n[handlers.ASSET_QUERY]\ncommand = [\"x\"]\n",
       "cannot be combined"},
  };
  for (const Case& c : cases) {
    std::string path = dir.path() + "/agent.toml";
    WriteFile(path,
              "court_id = \"wuyuan\"\nbroker = \"tcp://127.0.0.1:1\"\ndata_dir = \"d\"\n"
              "dev_plaintext = true\n" +
                  c.toml);
    std::string err = dir.path() + "/err";
    CommandResult r = RunCommand({"/bin/sh", "-c", AgentBin() + " run -c " + path + " 2>" + err});
    EXPECT_EQ(r.exit_code, 2) << c.toml;
    EXPECT_NE(ReadFile(err).find(c.says), std::string::npos) << c.toml << ReadFile(err);
  }
}

}  // namespace
}  // namespace weituo::testing
