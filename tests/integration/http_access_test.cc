// Who may read debtors' personal data over HTTP, against a real broker and
// agents: the broker's reads need a token (the operator's read token, the
// admin token) unless the operator opened them, while /healthz, /readyz,
// /metrics and the page stay open; a Host the server was not configured for
// is refused on the broker and on the agent's local API (DNS rebinding);
// every refusal is counted; weituoctl sends its token for reads.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "api.h"
#include "harness.h"
#include "weituo/v1/status.pb.h"

namespace weituo::testing {
namespace {

namespace fs = std::filesystem;

std::string Story(const std::string& name) { return SourceDir() + "/deploy/stories/" + name; }

// Chun'an's commission of the zone's story (debtor 徐某, ID number
// 330824198805061234), delivered to Kaihua; its id.
std::string SubmitStory(Zone& zone) {
  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", Story("chunan-locate-kaihua.json"), "--wait", "10"});
  EXPECT_EQ(submitted.exit_code, 0) << submitted.out;
  return submitted.out.substr(0, submitted.out.find(' '));
}

// GET `target` with `host` as the Host header and `token` unless empty:
// the status code, the whole answer in `answer`.
int GetAs(Zone& zone, const std::string& host, const std::string& target, const std::string& token,
          std::string* answer = nullptr) {
  std::string auth = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
  std::string got = HttpExchange(
      zone.http_port(), "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + auth + "\r\n");
  if (answer) *answer = got;
  return got.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(got.substr(9, 3)) : 0;
}

uint64_t CounterOf(const google::protobuf::Map<std::string, uint64_t>& counters,
                   const std::string& name) {
  auto it = counters.find(name);
  return it == counters.end() ? 0 : it->second;
}

uint64_t BrokerCounter(Zone& zone, const std::string& name) {
  return CounterOf(Parse<weituo::v1::BrokerStatus>(zone.HttpGet("/api/status")).counters(), name);
}

const std::string kIdNumber = "330824198805061234";

TEST(HttpAccessTest, TheBrokersReadsNeedATokenAndHealthAndMetricsStayOpen) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("chunan", false);
  zone.StartAgent("kaihua", false);
  const std::string id = SubmitStory(zone);
  ASSERT_FALSE(id.empty());
  const std::vector<std::string> reads = {
      "/api/status", "/api/commissions", "/api/commissions?court=chunan", "/api/commissions/" + id,
      "/api/parked", "/api/stats"};
  std::string body;
  for (const std::string& read : reads) {
    EXPECT_EQ(Request(zone, "GET", read, "", &body), 401) << read;
    EXPECT_NE(body.find("need the header Authorization: Bearer"), std::string::npos) << body;
    EXPECT_NE(body.find("read.token"), std::string::npos) << body;
    EXPECT_EQ(body.find(kIdNumber), std::string::npos) << body;
  }

  EXPECT_EQ(fs::status(zone.dir() + "/broker/read.token").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const std::string reader = zone.ReadToken(), admin = zone.AdminToken();
  ASSERT_GE(reader.size(), 32u);
  ASSERT_NE(reader, admin);
  for (const std::string& read : reads) {
    EXPECT_EQ(Request(zone, "GET", read, reader + "x", &body), 401) << read;
    EXPECT_NE(body.find("the token is not one this broker knows"), std::string::npos) << body;
    EXPECT_EQ(Request(zone, "GET", read, reader), 200) << read;
    EXPECT_EQ(Request(zone, "GET", read, admin), 200) << read;
  }
  std::string answer;
  GetAs(zone, "127.0.0.1:" + std::to_string(zone.http_port()), "/api/commissions/" + id, "",
        &answer);
  EXPECT_NE(answer.find("WWW-Authenticate: Bearer"), std::string::npos) << answer;
  ASSERT_EQ(Request(zone, "GET", "/api/commissions/" + id, reader, &body), 200);
  EXPECT_NE(body.find(kIdNumber), std::string::npos) << "the reader sees the debtor: " << body;
  for (const char* open : {"/healthz", "/readyz", "/metrics", "/"}) {
    EXPECT_EQ(Request(zone, "GET", open, ""), 200) << open;
  }
  // The read token reads only.
  EXPECT_EQ(Request(zone, "POST", "/api/courts/kaihua/pause", reader, &body), 403);
  EXPECT_NE(body.find("only reads"), std::string::npos) << body;

  // Each refusal counted, in /api/status and on /metrics.
  EXPECT_EQ(BrokerCounter(zone, "http_refused_401"), 2 * reads.size() + 1);
  EXPECT_EQ(BrokerCounter(zone, "http_refused_403"), 1u);
  EXPECT_NE(
      zone.HttpGet("/metrics")
          .find("weituo_http_refused_total{code=\"401\"} " + std::to_string(2 * reads.size() + 1)),
      std::string::npos);
}

TEST(HttpAccessTest, TheBrokerRefusesAHostItWasNotConfiguredFor) {
  Zone zone;
  zone.StartBroker();
  const std::string port = std::to_string(zone.http_port());
  const std::string reader = zone.ReadToken();
  std::string answer;
  // A page of evil.example whose name now points at 127.0.0.1 sends its own name.
  for (const std::string& host :
       std::vector<std::string>{"evil.example:" + port, "evil.example", "127.0.0.1:1"}) {
    EXPECT_EQ(GetAs(zone, host, "/api/commissions", reader, &answer), 421) << host;
    EXPECT_NE(answer.find("Host '" + host + "' is not a name this server answers to"),
              std::string::npos)
        << answer;
    EXPECT_EQ(GetAs(zone, host, "/api/status", reader), 421) << host;
    // Health and metrics carry no personal data: a prober elsewhere may
    // name the broker as it knows it.
    EXPECT_EQ(GetAs(zone, host, "/healthz", "", &answer), 200) << host;
    EXPECT_EQ(GetAs(zone, host, "/metrics", ""), 200) << host;
  }
  for (const std::string& host :
       std::vector<std::string>{"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port}) {
    EXPECT_EQ(GetAs(zone, host, "/api/commissions", reader), 200) << host;
  }
  EXPECT_EQ(BrokerCounter(zone, "http_refused_421"), 6u);
  EXPECT_NE(zone.HttpGet("/metrics").find("weituo_http_refused_total{code=\"421\"} 6"),
            std::string::npos);
}

TEST(HttpAccessTest, TheBrokerAnswersTheHostsTheOperatorLists) {
  Zone zone;
  zone.StartBroker({"--http-allowed-hosts", "weituo.court.example, proxy.example:443"});
  const std::string port = std::to_string(zone.http_port());
  const std::string reader = zone.ReadToken();
  for (const std::string& host :
       std::vector<std::string>{"weituo.court.example", "WEITUO.court.example:" + port,
                                "proxy.example:443", "localhost:" + port}) {
    EXPECT_EQ(GetAs(zone, host, "/api/commissions", reader), 200) << host;
  }
  EXPECT_EQ(GetAs(zone, "proxy.example:8443", "/api/commissions", reader), 421);
  EXPECT_EQ(GetAs(zone, "evil.example:" + port, "/api/commissions", reader), 421);

  // A malformed allowed host is refused at start, by name.
  zone.KillBroker(SIGTERM);
  CommandResult refused = RunCommand(
      {"/bin/sh", "-c",
       BrokerBin() + " --data-dir " + zone.dir() + "/broker --directory " + zone.DirectoryPath() +
           " --dev-plaintext --endpoint tcp://127.0.0.1:" + std::to_string(FreePort()) +
           " --http 127.0.0.1:0 --http-allowed-hosts 'a.example:99999' 2>&1"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.out.find("allowed host 'a.example:99999'"), std::string::npos) << refused.out;
}

TEST(HttpAccessTest, OpenReadsOpenTheReadsOnlyAndSaySoLoudly) {
  Zone zone;
  zone.StartBroker({"--open-reads"});
  zone.StartAgent("chunan", false);
  zone.StartAgent("kaihua", false);
  const std::string id = SubmitStory(zone);
  std::string body;
  EXPECT_EQ(Request(zone, "GET", "/api/commissions/" + id, "", &body), 200);
  EXPECT_NE(body.find(kIdNumber), std::string::npos) << body;
  EXPECT_EQ(Request(zone, "GET", "/api/status", ""), 200);
  EXPECT_EQ(Request(zone, "POST", "/api/courts/kaihua/pause", ""), 401);
  EXPECT_EQ(GetAs(zone, "evil.example:" + std::to_string(zone.http_port()), "/api/status", ""), 421)
      << "the Host check stays";
  const std::string log = ReadFile(zone.dir() + "/broker.log");
  EXPECT_NE(log.find("WARNING: --open-reads: anyone who reaches http://127.0.0.1:" +
                     std::to_string(zone.http_port()) + "/ reads every commission"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("OPEN READS"), std::string::npos) << log;
}

// Starts Dexing's agent with [api] on a free port plus `extra` lines; the
// port, and the API's token in `token`.
int StartDexingApi(Zone& zone, const std::string& extra, std::string* token) {
  const int port = FreePort();
  zone.SetAgentConfigExtra("dexing",
                           "[api]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n" + extra);
  zone.StartAgent("dexing", false);
  *token = ReadFile(zone.dir() + "/dexing-data/api.token");
  *token = token->substr(0, token->find('\n'));
  return port;
}

TEST(HttpAccessTest, TheAgentsLocalApiRefusesAHostItWasNotConfiguredFor) {
  Zone zone;
  zone.StartBroker();
  std::string token;
  const int port = StartDexingApi(zone, "", &token);
  const std::string p = std::to_string(port);
  for (const std::string& host :
       std::vector<std::string>{"evil.example:" + p, "evil.example", "localhost:1"}) {
    std::string r = Api(port, "GET", "/api/inbox", token, "", host);
    EXPECT_EQ(r.substr(0, 3), "421") << host << " -> " << r;
    EXPECT_NE(r.find("is not a name this server answers to"), std::string::npos) << r;
  }
  for (const std::string& host : std::vector<std::string>{"127.0.0.1:" + p, "localhost:" + p}) {
    EXPECT_EQ(Api(port, "GET", "/api/inbox", token, "", host).substr(0, 3), "200") << host;
  }
  std::string status = Api(port, "GET", "/api/status", token);
  EXPECT_NE(status.find("\"api_refused_421\":\"3\""), std::string::npos) << status;
}

TEST(HttpAccessTest, TheAgentsLocalApiAnswersItsAllowedHosts) {
  Zone zone;
  zone.StartBroker();
  std::string token;
  const int port =
      StartDexingApi(zone, "allowed_hosts = [\"case-system.dexing.example\"]\n", &token);
  const std::string p = std::to_string(port);
  EXPECT_EQ(Api(port, "GET", "/api/inbox", token, "", "case-system.dexing.example").substr(0, 3),
            "200");
  EXPECT_EQ(Api(port, "GET", "/api/inbox", token, "", "evil.example:" + p).substr(0, 3), "421");

  // allowed_hosts of the wrong type, or malformed, stop the agent at start.
  zone.KillAgent("dexing", SIGTERM);
  const std::string config = ReadFile(zone.ConfigPath("dexing"));
  const std::string without_api = config.substr(0, config.find("[api]"));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"allowed_hosts = \"case-system.dexing.example\"",
       "api.allowed_hosts: expected an array of strings, got the string"},
      {"allowed_hosts = [7801]", "api.allowed_hosts: expected an array of strings"},
      {"allowed_hosts = [\"a b\"]", "allowed host 'a b'"}};
  for (const auto& [line, says] : bad) {
    WriteFile(zone.ConfigPath("dexing"),
              without_api + "[api]\nlisten = \"127.0.0.1:" + p + "\"\n" + line + "\n");
    CommandResult run = RunCommand(
        {"/bin/sh", "-c", AgentBin() + " run -c " + zone.ConfigPath("dexing") + " 2>&1"});
    EXPECT_EQ(run.exit_code, 2) << line << ": " << run.out;
    EXPECT_NE(run.out.find(says), std::string::npos) << line << ": " << run.out;
  }
}

TEST(HttpAccessTest, WeituoctlSendsItsTokenForReads) {
  Zone zone;
  zone.StartBroker();
  const std::string url = "http://127.0.0.1:" + std::to_string(zone.http_port());
  const std::string read_file = zone.dir() + "/broker/read.token";
  EXPECT_EQ(RunCommand({CtlBin(), "--url", url, "courts"}).exit_code, 1);
  CommandResult hint =
      RunCommand({"/bin/sh", "-c", CtlBin() + " --url " + url + " list 2>&1 >/dev/null"});
  EXPECT_NE(hint.out.find("weituoctl: 401: "), std::string::npos) << hint.out;
  EXPECT_NE(hint.out.find("--token-file <broker data dir>/read.token"), std::string::npos)
      << hint.out;
  EXPECT_EQ(RunCommand({CtlBin(), "--url", url, "--token-file", read_file, "courts"}).exit_code, 0);
  EXPECT_EQ(
      RunCommand({"/usr/bin/env", "WEITUO_TOKEN_FILE=" + read_file, CtlBin(), "--url", url, "list"})
          .exit_code,
      0);
  EXPECT_EQ(
      RunCommand({"/usr/bin/env", "WEITUO_ADMIN_TOKEN_FILE=" + zone.dir() + "/broker/admin.token",
                  CtlBin(), "--url", url, "status"})
          .exit_code,
      0);
  // The read token does not act.
  EXPECT_EQ(
      RunCommand({CtlBin(), "--url", url, "--token-file", read_file, "pause", "kaihua"}).exit_code,
      1);
  // localhost in the URL is a Host the broker answers to.
  EXPECT_EQ(RunCommand({CtlBin(), "--url", "http://localhost:" + std::to_string(zone.http_port()),
                        "--token-file", read_file, "status"})
                .exit_code,
            0);
}

}  // namespace
}  // namespace weituo::testing
