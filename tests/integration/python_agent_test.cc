// The Python agent (agent/python/) on a real zone, beside the C++ agents:
// it answers a commission the stock agent sends it, its own commission is
// answered by the stock agent, and what it queued while the broker was down
// (and it was killed) goes out when both are back. Debian's python3 with
// python3-zmq and python3-protobuf; the schema's modules are generated into
// the build folder.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "harness.h"
#include "trail.h"

namespace weituo::testing {
namespace {

class PythonCourt {
 public:
  // `modules`: where the schema's Python modules are (the current schema's
  // by default).
  PythonCourt(Zone& zone, std::string court, std::string modules = WEITUO_PYTHON_MODULES)
      : zone_(zone), court_(std::move(court)), modules_(std::move(modules)) {
    zone_.Keys(court_);
    // The key file must be the agent's alone.
    std::filesystem::permissions(
        zone_.KeyDir() + "/" + court_ + ".key_secret",
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        std::filesystem::perm_options::replace);
  }
  ~PythonCourt() { Stop(SIGKILL); }

  void Start(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     SourceDir() + "/agent/python/court.py",
                                     "--court",
                                     court_,
                                     "--endpoint",
                                     zone_.endpoint(),
                                     "--db",
                                     zone_.dir() + "/" + court_ + ".db",
                                     "--key",
                                     zone_.KeyDir() + "/" + court_ + ".key_secret",
                                     "--broker-key",
                                     zone_.KeyDir() + "/broker.key"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = Process::Spawn(
        argv, {"PYTHONPATH=" + modules_ + ":" + SourceDir() + "/agent/python"}, log());
  }
  void Stop(int sig) {
    if (process_.running()) {
      process_.Signal(sig);
      process_.Wait();
    }
  }
  std::string log() const { return zone_.dir() + "/" + court_ + ".py.log"; }
  std::string Output() const { return ReadFile(log()); }
  bool Printed(const std::string& text) const { return Output().find(text) != std::string::npos; }

 private:
  Zone& zone_;
  std::string court_;
  std::string modules_;
  Process process_;
};

std::string Story(const std::string& name) { return SourceDir() + "/deploy/stories/" + name; }

// Chun'an's stock agent commissions Dexing (a Python court that answers);
// returns the commission's id once Chun'an sees it completed, "" if not.
std::string ChunanAsksDexing(Zone& zone, const PythonCourt& dexing, int n) {
  WriteFile(zone.dir() + "/to-dexing.json",
            R"({"caseNumber":"（2026）浙0127执)" + std::to_string(n) +
                R"(号","targetCourt":"dexing","debtor":{"name":"某","regionCode":"361181"},)"
                R"("debtorLocate":{}})");
  CommandResult sent = zone.Cli("chunan", {"submit", "-f", zone.dir() + "/to-dexing.json"});
  EXPECT_EQ(sent.exit_code, 0) << sent.out;
  std::string id = SubmittedId(sent);
  bool completed = WaitFor(
      [&] { return ShowView(zone, "chunan", id).record().state() == weituo::v1::COMPLETED; },
      std::chrono::seconds(20));
  EXPECT_TRUE(completed) << dexing.Output();
  return completed ? id : "";
}

TEST(PythonAgentTest, AnswersTheStockAgentAndIsAnsweredByIt) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  PythonCourt dexing(zone, "dexing");
  dexing.Start({"--answer", "江西德兴 赵六", "--result-file", Story("kaihua-locate-result.json")});

  // The stock agent of Chun'an commissions Dexing, which is Python.
  std::string id = ChunanAsksDexing(zone, dexing, 77);
  ASSERT_FALSE(id.empty());
  auto view = ShowView(zone, "chunan", id);
  EXPECT_EQ(view.record().commission().target_court(), "dexing");
  EXPECT_TRUE(dexing.Printed("commission " + id + " from chunan debtor_locate")) << dexing.Output();
  EXPECT_TRUE(dexing.Printed("event " + id + "#3 EV_ACCEPTED ACCEPTED")) << dexing.Output();
  EXPECT_TRUE(dexing.Printed("event " + id + "#4 EV_COMPLETED COMPLETED")) << dexing.Output();
  bool accepted_by_name = false;
  for (const auto& e : view.events()) {
    if (e.update().has_accept())
      accepted_by_name = e.update().accept().handler() == "江西德兴 赵六";
  }
  EXPECT_TRUE(accepted_by_name);

  // Python's own commission, found by region code (Kaihua), answered there.
  dexing.Stop(SIGTERM);
  dexing.Start({"--submit", Story("chunan-locate-kaihua.json")});
  ASSERT_TRUE(WaitFor(
      [&] {
        return dexing.Printed("EV_COMPLETED COMPLETED") &&
               dexing.Output().find("submitted ") != std::string::npos;
      },
      std::chrono::seconds(20)));
  std::string out = dexing.Output();
  size_t at = out.find("submitted ") + 10;
  std::string own = out.substr(at, 26);
  ASSERT_TRUE(WaitFor([&] { return dexing.Printed("event " + own + "#5 EV_COMPLETED COMPLETED"); },
                      std::chrono::seconds(20)))
      << dexing.Output();
  EXPECT_TRUE(dexing.Printed("event " + own + "#1 EV_SUBMITTED SUBMITTED"));
  EXPECT_TRUE(dexing.Printed("event " + own + "#2 EV_DELIVERED DELIVERED"));
}

TEST(PythonAgentTest, ItsOutboxOutlivesAKilledBrokerAndAKilledAgent) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  PythonCourt dexing(zone, "dexing");
  dexing.Start({});
  ASSERT_TRUE(WaitFor([&] { return dexing.Printed("connected to"); }, std::chrono::seconds(10)));

  zone.KillBroker(SIGKILL);
  dexing.Stop(SIGKILL);
  // Queued with no broker to take it: on disk only.
  dexing.Start({"--submit", Story("chunan-locate-kaihua.json")});
  ASSERT_TRUE(WaitFor([&] { return dexing.Printed("submitted "); }, std::chrono::seconds(10)));
  // Pacing, not a check: the agent runs a moment with no broker before it
  // is killed. The test passes only if the commission completes below.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  dexing.Stop(SIGKILL);
  std::string own = dexing.Output().substr(dexing.Output().find("submitted ") + 10, 26);

  zone.StartBroker();
  dexing.Start({});
  ASSERT_TRUE(WaitFor([&] { return dexing.Printed("event " + own + "#5 EV_COMPLETED COMPLETED"); },
                      std::chrono::seconds(30)))
      << dexing.Output();
  // Submitted once: the broker holds one commission from dexing.
  std::string page = zone.HttpGet("/api/commissions?court=dexing");
  EXPECT_NE(page.find(own), std::string::npos) << page;
}

// An agent built against the schema of commit 9af7b59 (tests/compat/),
// before deadlines, forwarding and court notices, works with today's broker
// and agents: it is answered, and it answers.
TEST(PythonAgentTest, AnAgentOnThePreviousSchemaStillInteroperates) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  PythonCourt dexing(zone, "dexing", WEITUO_FROZEN_PYTHON_MODULES);
  dexing.Start({"--answer", "江西德兴 赵六", "--result-file", Story("kaihua-locate-result.json"),
                "--submit", Story("chunan-locate-kaihua.json")});
  ASSERT_TRUE(WaitFor([&] { return dexing.Printed("connected to"); }, std::chrono::seconds(10)))
      << dexing.Output();
  std::string own = dexing.Output().substr(dexing.Output().find("submitted ") + 10, 26);
  ASSERT_TRUE(WaitFor([&] { return dexing.Printed("event " + own + "#5 EV_COMPLETED COMPLETED"); },
                      std::chrono::seconds(20)))
      << dexing.Output();

  std::string id = ChunanAsksDexing(zone, dexing, 78);
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(dexing.Printed("commission " + id + " from chunan debtor_locate")) << dexing.Output();
}

}  // namespace
}  // namespace weituo::testing
