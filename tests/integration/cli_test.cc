// What an operator or a clerk sees when something is wrong with the set-up:
// each mistake gets a clear message and its own exit code, and the broker
// reads the same settings from a config file as from flags.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "harness.h"
#include "trail.h"

namespace weituo::testing {
namespace {

std::string Courts() { return SourceDir() + "/deploy/zone/courts.toml"; }

// Runs the broker to completion with stderr captured in a file.
CommandResult RunBroker(const std::vector<std::string>& args, const std::string& log,
                        std::string* err) {
  std::vector<std::string> argv = {BrokerBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p = Process::Spawn(argv, {}, log);
  CommandResult r;
  r.exit_code = p.Wait();
  *err = ReadFile(log);
  return r;
}

TEST(CliTest, BrokerRefusesABadSetUpWithAClearMessage) {
  TempDir dir;
  std::string err;
  EXPECT_EQ(RunBroker({"--directory", Courts()}, dir.path() + "/1.log", &err).exit_code, 2);
  EXPECT_NE(err.find("--data-dir and --directory are required"), std::string::npos) << err;

  // No key and no development flag: no start.
  EXPECT_EQ(RunBroker({"--data-dir", dir.path() + "/db", "--directory", Courts()},
                      dir.path() + "/keyless.log", &err)
                .exit_code,
            2);
  EXPECT_NE(err.find("--curve-secret-key-file is required"), std::string::npos) << err;
  // A secret key others may read is refused, as ssh refuses one.
  auto keys = GenerateCurveKeyPair();
  ASSERT_TRUE(keys.ok());
  ASSERT_TRUE(WriteCertificate(dir.path() + "/broker", *keys, {}, false).ok());
  ::chmod((dir.path() + "/broker.key_secret").c_str(), 0644);
  EXPECT_EQ(RunBroker({"--data-dir", dir.path() + "/db", "--directory", Courts(),
                       "--curve-secret-key-file", dir.path() + "/broker.key_secret"},
                      dir.path() + "/open-key.log", &err)
                .exit_code,
            2);
  EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
  // The public half is no secret key.
  EXPECT_EQ(RunBroker({"--data-dir", dir.path() + "/db", "--directory", Courts(),
                       "--curve-secret-key-file", dir.path() + "/broker.key"},
                      dir.path() + "/public-key.log", &err)
                .exit_code,
            2);
  EXPECT_NE(err.find("holds no secret-key"), std::string::npos) << err;

  WriteFile(dir.path() + "/dup.toml",
            "[[court]]\nid = \"a\"\nregion_codes = [\"330824\"]\n"
            "[[court]]\nid = \"b\"\nregion_codes = [\"330824\"]\n");
  EXPECT_EQ(RunBroker({"--data-dir", dir.path() + "/db", "--directory", dir.path() + "/dup.toml",
                       "--dev-plaintext"},
                      dir.path() + "/2.log", &err)
                .exit_code,
            2);
  EXPECT_NE(err.find("region code 330824 is claimed by both 'a' and 'b'"), std::string::npos)
      << err;

  WriteFile(dir.path() + "/broken.toml", "endpoint = \n");
  EXPECT_EQ(
      RunBroker({"--config", dir.path() + "/broken.toml"}, dir.path() + "/3.log", &err).exit_code,
      2);
  EXPECT_NE(err.find("broken.toml:1"), std::string::npos) << err;

  // A misspelt key is refused, not silently ignored.
  WriteFile(dir.path() + "/typo.toml",
            "data_dir = \"" + dir.path() + "/db\"\nbackup_dri = \"/tmp/x\"\n");
  EXPECT_EQ(
      RunBroker({"--config", dir.path() + "/typo.toml"}, dir.path() + "/4.log", &err).exit_code, 2);
  EXPECT_NE(err.find("typo.toml: unknown key 'backup_dri'"), std::string::npos) << err;
}

TEST(CliTest, TheAdminTokenMustBeLongEnoughAndTheOwnersAlone) {
  Zone zone;  // for its keys and directory
  std::vector<std::string> args = {"--data-dir",
                                   zone.dir() + "/db",
                                   "--directory",
                                   zone.DirectoryPath(),
                                   "--curve-secret-key-file",
                                   zone.KeyDir() + "/broker.key_secret",
                                   "--http",
                                   "127.0.0.1:" + std::to_string(FreePort()),
                                   "--endpoint",
                                   "tcp://127.0.0.1:" + std::to_string(FreePort()),
                                   "--admin-token-file",
                                   zone.dir() + "/token"};
  std::string err;
  // Config errors, found before the store is opened: exit code 2.
  WriteFile(zone.dir() + "/token", "changeme\n");
  ::chmod((zone.dir() + "/token").c_str(), 0600);
  EXPECT_EQ(RunBroker(args, zone.dir() + "/short.log", &err).exit_code, 2);
  EXPECT_NE(err.find("the token has 8 characters; it needs at least 16"), std::string::npos)
      << err;
  EXPECT_EQ(ReadFile(zone.dir() + "/token"), "changeme\n");  // not replaced behind our back
  WriteFile(zone.dir() + "/token", "0f3a9c1e7b52d4684e1f0f3a9c1e7b52\n");
  ::chmod((zone.dir() + "/token").c_str(), 0644);
  EXPECT_EQ(RunBroker(args, zone.dir() + "/open.log", &err).exit_code, 2);
  EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
  ::chmod((zone.dir() + "/token").c_str(), 0600);
  args[7] = "127.0.0.1:http";
  EXPECT_EQ(RunBroker(args, zone.dir() + "/port.log", &err).exit_code, 2);
  EXPECT_NE(err.find("--http: expected an address HOST:PORT"), std::string::npos) << err;
}

TEST(CliTest, ASecondBrokerOnTheSameStoreIsRefusedAndTheFirstKeepsServing) {
  Zone zone;
  zone.StartBroker();
  std::string err;
  CommandResult second =
      RunBroker({"--data-dir", zone.dir() + "/broker", "--directory", zone.DirectoryPath(),
                 "--curve-secret-key-file", zone.KeyDir() + "/broker.key_secret", "--endpoint",
                 "tcp://127.0.0.1:" + std::to_string(FreePort()), "--http", "off"},
                zone.dir() + "/second.log", &err);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(err.find("lock"), std::string::npos) << err;
  EXPECT_FALSE(zone.HttpGet("/readyz").empty());
}

// The config file also shows the development flag: plaintext runs, and
// says loudly on every start that it is not safe.
TEST(CliTest, BrokerReadsItsSettingsFromAConfigFile) {
  TempDir dir;
  int port = FreePort(), http = FreePort();
  WriteFile(dir.path() + "/broker.toml",
            "endpoint = \"tcp://127.0.0.1:" + std::to_string(port) + "\"\n" + "data_dir = \"" +
                dir.path() + "/db\"\n" + "directory = \"" + Courts() + "\"\n" +
                "http = \"127.0.0.1:" + std::to_string(http) + "\"\n" + "log_level = \"warn\"\n" +
                "dev_plaintext = true\n" + "read_token_file = \"" + dir.path() + "/read.tok\"\n");
  Process broker = Process::Spawn({BrokerBin(), "--config", dir.path() + "/broker.toml"}, {},
                                  dir.path() + "/broker.log");
  std::string status;
  ASSERT_TRUE(WaitFor(
      [&] {
        // Ready once bound; the status page answers (not ready) before.
        if (HttpGet(http, "/readyz").empty()) return false;
        std::string token = ReadFile(dir.path() + "/read.tok");
        status = HttpGet(http, "/api/status", token.substr(0, token.find('\n')));
        return !status.empty();
      },
      std::chrono::seconds(10)))
      << ReadFile(dir.path() + "/broker.log");
  EXPECT_NE(status.find("tcp://127.0.0.1:" + std::to_string(port)), std::string::npos) << status;
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/db/CURRENT"));
  EXPECT_NE(status.find("\"security\":\"plaintext\""), std::string::npos) << status;
  std::string log = ReadFile(dir.path() + "/broker.log");
  EXPECT_NE(log.find("WARNING: --dev-plaintext: traffic is NOT encrypted"), std::string::npos)
      << log;
  broker.Signal(SIGTERM);
  EXPECT_EQ(broker.Wait(), 0);
}

TEST(CliTest, CourtCommandsSayWhenTheAgentIsNotRunning) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", false);
  zone.KillAgent("kaihua", SIGTERM);
  CommandResult r = zone.Cli("kaihua", {"status"});
  EXPECT_EQ(r.exit_code, 3);
  CommandResult usage =
      zone.Cli("kaihua", {"return", "01M8F5726X797VYR30CVNEG6MK", "--reason", "BECAUSE"});
  EXPECT_EQ(usage.exit_code, 2);
  CommandResult missing = RunCommand({AgentBin(), "status", "-c", zone.dir() + "/nowhere.toml"});
  EXPECT_EQ(missing.exit_code, 2);

  // A misspelt key, at the top or in [responder], is refused by name.
  auto load = [&](const std::string& text) {
    WriteFile(zone.dir() + "/typo.toml", "court_id = \"kaihua\"\ndata_dir = \"d\"\n" + text);
    return RunCommand(
        {"/bin/sh", "-c", AgentBin() + " status -c " + zone.dir() + "/typo.toml 2>&1"});
  };
  CommandResult top = load("heartbeat_msec = 200\n");
  EXPECT_EQ(top.exit_code, 2);
  EXPECT_NE(top.out.find("unknown key 'heartbeat_msec'"), std::string::npos) << top.out;
  CommandResult nested = load("[responder]\nmdoe = \"auto\"\n");
  EXPECT_EQ(nested.exit_code, 2);
  EXPECT_NE(nested.out.find("unknown key 'responder.mdoe'"), std::string::npos) << nested.out;
}

TEST(CliTest, TheCourtsControlSocketAndStoreAreTheOwnersAlone) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("xiuning", false);
  struct stat st {};
  ASSERT_EQ(::stat((zone.dir() + "/xiuning-data/control.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((zone.dir() + "/xiuning-data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((zone.dir() + "/broker").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(CliTest, AClientThatSaysNothingDoesNotHoldTheStatusPage) {
  Zone zone;
  zone.StartBroker();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(zone.http_port()));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitFor([&] { return !zone.HttpGet("/healthz").empty(); }, std::chrono::seconds(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  ::close(fd);
}

}  // namespace
}  // namespace weituo::testing
