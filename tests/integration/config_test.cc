// Every value the broker and the agent read at start is checked for its type
// and range, whatever its source (a flag, the config file), and every file
// they read at start must be a small regular file: each row below starts the
// real program with one bad value or file and expects exit code 2 and a
// message naming the file (or flag) and the key. A refusal costs ~50 ms; a
// row that starts the program instead is stopped after a few seconds and
// fails.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "harness.h"

namespace weituo::testing {
namespace {

std::string Courts() { return SourceDir() + "/deploy/zone/courts.toml"; }

struct Outcome {
  int exit_code = -1;  // -1: still running after the deadline (then killed)
  std::string err;
};

// Runs argv to its end, or kills it after 5 s (a hang, or a start that
// should have been a refusal); stdout and stderr are in `err`.
Outcome RunToEnd(const std::vector<std::string>& argv, const std::string& log) {
  std::filesystem::remove(log);
  Process p = Process::Spawn(argv, {}, log);
  bool ended = WaitFor([&] { return !p.running(); }, std::chrono::seconds(5));
  if (!ended) p.Signal(SIGKILL);
  Outcome o;
  o.exit_code = p.Wait();
  if (!ended) o.exit_code = -1;
  o.err = ReadFile(log);
  return o;
}

struct Row {
  std::string what;  // the bad value, as the row's name
  std::vector<std::string> args;
  std::string says;
};

void ExpectRefused(const Row& row, const std::vector<std::string>& argv, const std::string& log) {
  SCOPED_TRACE(row.what);
  Outcome o = RunToEnd(argv, log);
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_NE(o.err.find(row.says), std::string::npos)
      << "expected: " << row.says << "\ngot: " << o.err;
}

class BrokerConfigTest : public ::testing::Test {
 protected:
  // The flags of a broker that would start: plaintext, without HTTP unless `http`.
  std::vector<std::string> Flags(bool http = false) const {
    return {BrokerBin(),
            "--data-dir",
            dir_.path() + "/db",
            "--directory",
            Courts(),
            "--dev-plaintext",
            "--http",
            http ? "127.0.0.1:" + std::to_string(FreePort()) : "off",
            "--endpoint",
            "tcp://127.0.0.1:" + std::to_string(port_)};
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string Fifo(const std::string& name) const {
    std::string path = Path(name);
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
    return path;
  }
  void Refused(const Row& row) {
    std::vector<std::string> argv = Flags();
    argv.insert(argv.end(), row.args.begin(), row.args.end());
    ExpectRefused(row, argv, Path("broker.log"));
  }

  TempDir dir_;
  int port_ = FreePort();
};

TEST_F(BrokerConfigTest, AConfigFileValueOfTheWrongTypeOrRangeIsRefusedNamingFileAndKey) {
  const std::string file = Path("broker.toml");
  std::vector<Row> rows = {
      {"sync as a string",
       {"sync = \"false\""},
       "broker.toml: sync: expected a boolean (true or false), got the string \"false\""},
      {"http as an integer",
       {"http = 18981"},
       "broker.toml: http: expected a string, got the integer 18981"},
      {"window 0",
       {"window = 0"},
       "broker.toml: window: expected an integer from 1 to 65536, got the integer 0"},
      {"max_frame_bytes 0",
       {"max_frame_bytes = 0"},
       "broker.toml: max_frame_bytes: expected an integer from 147456 to 67108864, got the "
       "integer 0"},
      {"heartbeat 0", {"heartbeat_ms = 0"}, "broker.toml: heartbeat_ms: expected an integer"},
      {"negative timeout",
       {"ack_timeout_ms = -5"},
       "broker.toml: ack_timeout_ms: expected an integer from 10 to 3600000, got the integer -5"},
      {"rate as a word",
       {"rate_limit = \"fast\""},
       "broker.toml: rate_limit: expected a number from 0 to 1000000, got the string \"fast\""},
      {"a log level that turns logging off",
       {"log_level = \"verbose\""},
       "broker.toml: log_level: expected one of trace, debug, info, warn, error, critical or "
       "off, got the string \"verbose\""},
      {"an endpoint without a port",
       {"endpoint = \"tcp://127.0.0.1\""},
       "broker.toml: endpoint: expected a ZeroMQ endpoint tcp://HOST:PORT or ipc://PATH"},
      {"a misspelt key", {"backup_dri = \"/tmp/x\""}, "broker.toml: unknown key 'backup_dri'"},
  };
  for (const Row& row : rows) {
    WriteFile(file, "data_dir = \"" + Path("db") + "\"\ndirectory = \"" + Courts() +
                        "\"\ndev_plaintext = true\n" + row.args[0] + "\n");
    // A flag overrides the file's value, which is checked all the same.
    ExpectRefused(row, {BrokerBin(), "--config", file, "--http", "off"}, Path("broker.log"));
  }
}

TEST_F(BrokerConfigTest, AFlagOutOfRangeIsRefusedByTheSameRules) {
  for (const Row& row : std::vector<Row>{
           {"max frame 0",
            {"--max-frame-bytes", "0"},
            "--max-frame-bytes: expected an integer from 147456 to 67108864, got \"0\""},
           {"window 0",
            {"--window", "0"},
            "--window: expected an integer from 1 to 65536, got \"0\""},
           {"window a word", {"--window", "many"}, "--window: expected an integer"},
           {"sync no", {"--sync", "no"}, "--sync: expected a boolean (true or false), got \"no\""},
           {"burst 0", {"--rate-burst", "0"}, "--rate-burst: expected a number from 1 to"},
           {"http port a word",
            {"--http", "127.0.0.1:http"},
            "--http: expected an address HOST:PORT"},
           {"offline before a heartbeat",
            {"--heartbeat-ms", "5000"},
            "offline_after_ms (3500) must be longer than heartbeat_ms (5000)"},
           {"backoff under the timeout",
            {"--ack-timeout-ms", "1000", "--max-backoff-ms", "100"},
            "max_backoff_ms (100) must be at least ack_timeout_ms (1000)"},
       }) {
    Refused(row);
  }
}

TEST_F(BrokerConfigTest, AFileThatIsNotASmallRegularFileIsRefusedBeforeItIsRead) {
  std::filesystem::create_directories(Path("folder"));
  WriteFile(Path("huge.toml"), std::string(2 << 20, '#'));
  WriteFile(Path("courts.toml"), ReadFile(Courts()) + "\n[[courts]]\nid = \"x\"\n");
  std::vector<Row> rows = {
      {"directory /dev/zero",
       {"--directory", "/dev/zero"},
       "cannot read court directory /dev/zero: it is a character device, not a regular file"},
      {"directory a FIFO",
       {"--directory", Fifo("courts.fifo")},
       "courts.fifo: it is a FIFO, not a regular file"},
      {"directory a folder", {"--directory", Path("folder")}, "it is a directory"},
      {"directory of 2 MiB", {"--directory", Path("huge.toml")}, "it is larger than 1 MiB"},
      {"directory with an unknown table",
       {"--directory", Path("courts.toml")},
       "courts.toml: unknown key 'courts' (known keys: court, supervisor)"},
      {"config a FIFO", {"--config", Fifo("broker.fifo")}, "broker.fifo: it is a FIFO"},
      {"deadlines a FIFO",
       {"--deadlines", Fifo("deadlines.fifo")},
       "cannot read deadlines file " + Path("deadlines.fifo") + ": it is a FIFO"},
      {"deadlines /dev/zero", {"--deadlines", "/dev/zero"}, "it is a character device"},
      {"witness tokens a FIFO",
       {"--witness-tokens-file", Fifo("witnesses.fifo")},
       "cannot read witness tokens file " + Path("witnesses.fifo") + ": it is a FIFO"},
  };
  for (const Row& row : rows) Refused(row);
  // The key file is read only without --dev-plaintext.
  for (const Row& row : std::vector<Row>{
           {"key a FIFO",
            {"--curve-secret-key-file", Fifo("broker.key_secret")},
            "cannot read key file " + Path("broker.key_secret") + ": it is a FIFO"},
           {"key /dev/zero", {"--curve-secret-key-file", "/dev/zero"}, "it is a character device"},
       }) {
    std::vector<std::string> argv = {BrokerBin(), "--data-dir", Path("db"), "--directory",
                                     Courts(),    "--http",     "off"};
    argv.insert(argv.end(), row.args.begin(), row.args.end());
    ExpectRefused(row, argv, Path("broker.log"));
  }
}

TEST_F(BrokerConfigTest, AWeakOrSharedTokenIsRefusedNamingTheFileAndLine) {
  const std::string admin = Path("admin.token"), witnesses = Path("witnesses");
  const std::string good = "3f6b2c9d41e8a07c5d2e9b14f6a3c8e0";
  auto with = [&](const std::string& admin_token, const std::string& witness_lines) {
    WriteFile(admin, admin_token + "\n");
    WriteFile(witnesses, witness_lines);
    ::chmod(admin.c_str(), 0600);
    ::chmod(witnesses.c_str(), 0600);
    std::vector<std::string> argv = Flags(true);
    argv.insert(argv.end(), {"--admin-token-file", admin, "--witness-tokens-file", witnesses});
    return argv;
  };
  const std::string wang = "deputy-wang 9c1e7b52d4684e1f0f3a9c1e7b52d468\n";
  ExpectRefused({"admin token of 16 spaces",
                 {},
                 "the admin token in " + admin + ": character 1 of the token is whitespace"},
                with(std::string(16, ' '), wang), Path("broker.log"));
  ExpectRefused({"admin token one letter", {}, "repeats too few characters"},
                with(std::string(32, 'a'), wang), Path("broker.log"));
  ExpectRefused(
      {"two witnesses, one token",
       {},
       witnesses + ":3: witness 'deputy-li' has the same token as 'deputy-wang' (line 1)"},
      with(good, wang + "# invited\ndeputy-li 9c1e7b52d4684e1f0f3a9c1e7b52d468\n"),
      Path("broker.log"));
  ExpectRefused({"a witness with the admin token",
                 {},
                 witnesses + ":1: witness 'deputy-wang' has the admin token"},
                with(good, "deputy-wang " + good + "\n"), Path("broker.log"));
  const std::string reader = "0b7c4e19a2f85d36c0b7c4e19a2f85d3";
  const std::string read_file = Path("read.token");
  WriteFile(read_file, reader + "\n");
  ::chmod(read_file.c_str(), 0600);
  std::vector<std::string> with_reader = with(good, "deputy-wang " + reader + "\n");
  with_reader.insert(with_reader.end(), {"--read-token-file", read_file});
  ExpectRefused({"a witness with the read token",
                 {},
                 witnesses + ":1: witness 'deputy-wang' has the operator's read token"},
                with_reader, Path("broker.log"));
  ExpectRefused({"a witness token of 40 w",
                 {},
                 witnesses + ":1: witness 'deputy-wang': the token "
                             "repeats too few characters"},
                with(good, "deputy-wang " + std::string(40, 'w') + "\n"), Path("broker.log"));
}

TEST_F(BrokerConfigTest, HelpListsEveryFlagWithItsDefault) {
  CommandResult help = RunCommand({BrokerBin(), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* shown : {"--endpoint TEXT=tcp://127.0.0.1:5555",
                            "--data-dir TEXT",
                            "--backup-dir TEXT",
                            "--directory TEXT",
                            "--curve-secret-key-file TEXT",
                            "--dev-plaintext",
                            "--handshake-ms INT=5000",
                            "--rate-limit NUMBER=2000",
                            "--rate-burst NUMBER=4000",
                            "--overdue-after-ms INT=600000",
                            "--admin-token-file TEXT",
                            "--http TEXT=127.0.0.1:8080",
                            "--deadlines TEXT",
                            "--offline-flag-after-ms INT=86400000",
                            "--witness-tokens-file TEXT",
                            "--heartbeat-ms INT=1000",
                            "--offline-after-ms INT=3500",
                            "--ack-timeout-ms INT=5000",
                            "--max-backoff-ms INT=60000",
                            "--max-attempts INT=10",
                            "--window INT=256",
                            "--max-frame-bytes INT=262144",
                            "--sync BOOL=true",
                            "--log-level TEXT=info",
                            "--test-clock",
                            "--config TEXT",
                            "1 to 65536"}) {
    EXPECT_NE(help.out.find(shown), std::string::npos) << shown << "\n" << help.out;
  }
}

class AgentConfigTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  // `weituo-agent run` on a plaintext config with `extra` appended.
  void Refused(const Row& row, const std::string& base) {
    WriteFile(Path("agent.toml"), base + row.args[0] + "\n");
    ExpectRefused(row, {AgentBin(), "run", "-c", Path("agent.toml")}, Path("agent.log"));
  }
  void Refused(const Row& row) {
    Refused(row, "court_id = \"kaihua\"\nbroker = \"tcp://127.0.0.1:" + std::to_string(FreePort()) +
                     "\"\ndata_dir = \"d\"\ndev_plaintext = true\n");
  }

  TempDir dir_;
};

TEST_F(AgentConfigTest, AValueOfTheWrongTypeOrRangeIsRefusedNamingFileAndKey) {
  const std::string file = Path("agent.toml");
  const std::string broker = "broker = \"tcp://127.0.0.1:1\"\n";
  const std::string plain = broker + "dev_plaintext = true\n";
  for (const Row& row : std::vector<Row>{
           {"dev_plaintext yes",
            {broker + "dev_plaintext = \"yes\""},
            file + ": dev_plaintext: expected a boolean (true or false), got the string \"yes\""},
           {"heartbeat fast",
            {plain + "heartbeat_ms = \"fast\""},
            file + ": heartbeat_ms: expected an integer from 10 to 60000, got the string "
                   "\"fast\""},
           {"heartbeat 0",
            {plain + "heartbeat_ms = 0"},
            file + ": heartbeat_ms: expected an integer"},
           {"silence under a heartbeat",
            {plain + "broker_silence_ms = 500"},
            file + ": broker_silence_ms: must be longer than heartbeat_ms (1000)"},
           {"broker a number",
            {"dev_plaintext = true\nbroker = 5555"},
            file + ": broker: expected a string or an array of strings, got the integer 5555"},
           {"broker an empty array",
            {"dev_plaintext = true\nbroker = []"},
            file + ": broker: expected a string or an array of at least one string, got an "
                   "empty array"},
           {"broker an array holding a number",
            {"dev_plaintext = true\nbroker = [\"tcp://127.0.0.1:1\", 5556]"},
            file + ": broker: expected an array of strings, got an array holding the integer "
                   "5556"},
           {"broker an array holding a malformed endpoint",
            {"dev_plaintext = true\nbroker = [\"tcp://127.0.0.1:1\", \"tcp://b\"]"},
            file + ": broker: element 2 expected a ZeroMQ endpoint tcp://HOST:PORT or ipc://PATH, "
                   "got \"tcp://b\""},
           {"broker an array naming a member twice",
            {"dev_plaintext = true\nbroker = [\"tcp://127.0.0.1:1\", \"tcp://127.0.0.1:1\"]"},
            file + ": broker: element 2 \"tcp://127.0.0.1:1\" is given twice"},
           {"broker a table",
            {"dev_plaintext = true\n[broker]\na = 1"},
            file + ": broker: expected a string or an array of strings, got a table"},
           {"failover 5",
            {plain + "broker_failover_ms = 5"},
            file + ": broker_failover_ms: expected an integer from 100 to 600000, got the "
                   "integer 5"},
           {"failover under a heartbeat in a group",
            {"dev_plaintext = true\nbroker = [\"tcp://127.0.0.1:1\", \"tcp://127.0.0.1:2\"]\n"
             "broker_failover_ms = 500"},
            file + ": broker_failover_ms: must be longer than heartbeat_ms (1000)"},
           {"handler workers 0",
            {plain + "handler_workers = 0"},
            file + ": handler_workers: expected an integer from 1 to 64, got the integer 0"},
           {"api listen without a port",
            {plain + "[api]\nlisten = \"localhost\""},
            file + ": api.listen: expected an address HOST:PORT"},
           {"responder mode",
            {plain + "[responder]\nmode = \"on\""},
            file + ": responder.mode: expected one of off or auto, got the string \"on\""},
           {"handler timeout negative",
            {plain + "[handlers.ASSET_QUERY]\ncommand = [\"x\"]\ntimeout_ms = -1"},
            file + ": handlers.ASSET_QUERY.timeout_ms: expected an integer from 10 to 86400000"},
       }) {
    Refused(row, "court_id = \"kaihua\"\ndata_dir = \"d\"\n");
  }
  Refused({"court id with a space", {plain}, file + ": court_id: expected a court id"},
          "court_id = \"Kai Hua\"\ndata_dir = \"d\"\n");
}

TEST_F(AgentConfigTest, TheControlEndpointIsASocketFileInAFolderOnlyTheAgentMayWrite) {
  const std::string file = Path("agent.toml");
  std::filesystem::create_directories(Path("open"));
  ::chmod(Path("open").c_str(), 0777);
  for (const Row& row : std::vector<Row>{
           {"abstract",
            {"control = \"ipc://@weituo-kaihua\""},
            file + ": control: \"ipc://@weituo-kaihua\" is an abstract socket, which has no file "
                   "permissions"},
           {"tcp",
            {"control = \"tcp://0.0.0.0:18999\""},
            file + ": control: expected an ipc:// socket file, got \"tcp://0.0.0.0:18999\""},
           {"inproc", {"control = \"inproc://control\""}, file + ": control: expected an ipc://"},
           {"a folder others may write",
            {"control = \"ipc://" + Path("open") + "/control.sock\""},
            file + ": control: the socket's folder " + Path("open") +
                " (mode 0777) may be written by group or others"},
       }) {
    Refused(row);
  }
  // A folder that does not exist yet is made, the owner's alone.
  WriteFile(file,
            "court_id = \"kaihua\"\nbroker = \"tcp://127.0.0.1:1\"\ndata_dir = \"d\"\n"
            "dev_plaintext = true\ncontrol = \"ipc://sockets/control.sock\"\n");
  Process agent = Process::Spawn({AgentBin(), "run", "-c", file}, {}, Path("agent.log"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return RunCommand({AgentBin(), "status", "-c", file}).exit_code == 0;
      },
      std::chrono::seconds(10)))
      << ReadFile(Path("agent.log"));
  struct stat st {};
  ASSERT_EQ(::stat(Path("sockets").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(std::filesystem::exists(Path("sockets/control.sock")));
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(), 0);
}

TEST_F(AgentConfigTest, TheBrokerIsOneEndpointOrAGroupsMembersInOrder) {
  const std::string file = Path("agent.toml");
  const std::string a = "tcp://127.0.0.1:" + std::to_string(FreePort());
  const std::string b = "tcp://127.0.0.1:" + std::to_string(FreePort());
  for (const auto& [broker, shown] : std::vector<std::pair<std::string, std::string>>{
           {"\"" + a + "\"", "to " + a + " (plaintext)\n"},
           {"[\"" + a + "\", \"" + b + "\"]", "broker group " + a + ", " + b + "; changes "}}) {
    SCOPED_TRACE(broker);
    WriteFile(file, "court_id = \"kaihua\"\nbroker = " + broker +
                        "\ndata_dir = \"d\"\ndev_plaintext = true\nbroker_failover_ms = 60000\n");
    Process agent = Process::Spawn({AgentBin(), "run", "-c", file}, {}, Path("agent.log"));
    CommandResult status;
    ASSERT_TRUE(WaitFor(
        [&] {
          status = RunCommand({AgentBin(), "status", "-c", file});
          return status.exit_code == 0;
        },
        std::chrono::seconds(10)))
        << ReadFile(Path("agent.log"));
    EXPECT_NE(status.out.find(shown), std::string::npos) << status.out;
    agent.Signal(SIGTERM);
    EXPECT_EQ(agent.Wait(), 0);
  }
}

TEST_F(AgentConfigTest, AFileThatIsNotASmallRegularFileOrAWeakTokenIsRefused) {
  ASSERT_EQ(::mkfifo(Path("kaihua.key_secret").c_str(), 0600), 0);
  Refused(
      {"key file a FIFO",
       {"curve_secret_key_file = \"kaihua.key_secret\"\nbroker_public_key_file = \"/dev/zero\""},
       "cannot read key file " + Path("kaihua.key_secret") + ": it is a FIFO"},
      "court_id = \"kaihua\"\nbroker = \"tcp://127.0.0.1:1\"\ndata_dir = \"d\"\n");
  ASSERT_EQ(::mkfifo(Path("fifo.toml").c_str(), 0600), 0);
  ExpectRefused(
      {"config a FIFO", {}, "cannot read config file " + Path("fifo.toml") + ": it is a FIFO"},
      {AgentBin(), "run", "-c", Path("fifo.toml")}, Path("agent.log"));
  WriteFile(Path("api.token"), std::string(16, ' ') + "\n");
  ::chmod(Path("api.token").c_str(), 0600);
  Refused({"api token of 16 spaces",
           {"[api]\nlisten = \"127.0.0.1:" + std::to_string(FreePort()) +
            "\"\ntoken_file = \"api.token\""},
           "the API token in " + Path("api.token") + ": character 1 of the token is whitespace"});
}

TEST_F(AgentConfigTest, RunHelpListsEveryKeyWithItsTypeAndDefault) {
  CommandResult help = RunCommand({AgentBin(), "run", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* shown :
       {"court_id",
        "broker ",
        "data_dir",
        "curve_secret_key_file",
        "broker_public_key_file",
        "dev_plaintext                   boolean, default false",
        "control",
        "heartbeat_ms                    integer (10 to 60000), default 1000",
        "broker_silence_ms               integer (20 to 600000), default 3500",
        "resend_ms                       integer (10 to 3600000), default 3000",
        "broker_failover_ms              integer (100 to 600000), default 3000",
        "string or array of strings (tcp://HOST:PORT or ipc://PATH, or an array of them), "
        "required",
        "log_level",
        "handler_workers                 integer (1 to 64), default 2",
        "responder.mode",
        "responder.handler",
        "api.listen",
        "api.token_file",
        "spool.dir",
        "spool.incoming",
        "handlers.KIND.name",
        "handlers.KIND.command",
        "handlers.KIND.url",
        "handlers.KIND.timeout_ms        integer (10 to 86400000), default 30000",
        "handlers.KIND.retry_ms",
        "handlers.KIND.retry_max_ms"}) {
    EXPECT_NE(help.out.find(shown), std::string::npos) << shown << "\n" << help.out;
  }
}

}  // namespace
}  // namespace weituo::testing
