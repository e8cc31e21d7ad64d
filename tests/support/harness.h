// Test harness for integration tests: real weituo-broker and weituo-agent
// processes on loopback, with free ports and temporary folders. A Zone is a
// broker plus the agents of some courts, each in its own folder.
//
// Threading: one Zone per test, used from the test's thread (a helper
// thread may call KillBroker/StartBroker while the test thread polls).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "weituo/common/curve.h"

namespace weituo::testing {

// A folder under $TMPDIR removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loopback TCP port reserved for the rest of this process: its probe
// socket stays bound (with SO_REUSEADDR, never listening), so the kernel
// gives the port to no one else, neither to a bind to port 0 nor as a
// connection's source port, while a server that sets SO_REUSEADDR too
// (libzmq and Boost.Asio do, so the broker and the agents do) binds and
// listens on it, as often as it restarts. Nothing listens on it until then.
int FreePort();

// The account a child runs as (set in the child before exec; needs root).
struct Account {
  uid_t uid;
  gid_t gid;
};

// What to start: the one spawner of the harness, used by Process::Spawn and
// RunCommand. Everything is prepared before fork(); in the child, which is
// the child of a threaded process, only async-signal-safe calls run
// (sigaction, dup2, setgid/setuid, execve, _exit).
struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is a path: no PATH search
  std::vector<std::string> env;   // "K=V" entries over this process's environment
  std::string stdin_path;         // the child's standard input; empty: ours
  std::optional<Account> account;
};

// A child process; killed with SIGKILL on destruction if still running.
class Process {
 public:
  Process() = default;
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;

  // Starts `spec` with stdout and stderr appended to log_path. Throws
  // std::runtime_error if the log cannot be opened or fork fails.
  static Process Spawn(const ChildSpec& spec, const std::string& log_path);
  // The same for argv with extra environment entries ("K=V").
  static Process Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       const std::string& log_path);
  bool running();
  void Signal(int sig);
  // Waits for the exit; returns the exit code, or 128+signal.
  int Wait();
  // Waits up to `timeout` for the exit; true once it has exited.
  bool WaitExited(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
};

// Runs a command to completion, capturing stdout (stderr goes to ours).
// Throws std::runtime_error if it cannot be started (pipe, fork).
CommandResult RunCommand(const ChildSpec& spec);
CommandResult RunCommand(const std::vector<std::string>& argv);

// Polls pred every 20 ms until it holds or timeout passes.
bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// A TCP connection to 127.0.0.1:port, its fd; -1 if refused.
int ConnectLoopback(int port);
// Writes `request` as is and returns all that comes back until the server
// closes (or 2 s of silence); empty if the port is closed.
std::string HttpExchange(int port, const std::string& request);
// "Host: 127.0.0.1:<port>\r\n", the header line a server on that port answers.
std::string HostHeader(int port);
// GET http://127.0.0.1:<port><path> with common's HTTP client
// (weituo/common/http_client.h), with "Authorization: Bearer <token>" unless
// `token` is empty: the whole answer, status line and headers too; empty if
// none came within 5 s.
std::string HttpGetAnswer(int port, const std::string& path, const std::string& token = "");
// The same, but only the body of a 200 answer, else empty.
std::string HttpGet(int port, const std::string& path, const std::string& token = "");

std::string BrokerBin();
std::string AgentBin();
std::string CtlBin();
std::string SourceDir();
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

// A digest of every key and value in every column family
// of the RocksDB store at `path` (opened read-only; stop its owner first).
std::string StoreDigest(const std::string& path);

// The zone runs with CURVE unless made plaintext: the constructor makes key
// pairs for the broker and every court of deploy/zone/courts.toml in
// KeyDir() and writes DirectoryPath() listing each court's public key.
class Zone {
 public:
  explicit Zone(bool plaintext = false);
  // SIGTERM to the agents, then the broker; one that has not exited
  // kStopGrace later is killed with SIGKILL and fails the test.
  ~Zone();
  static constexpr std::chrono::seconds kStopGrace{10};

  bool plaintext() const { return plaintext_; }
  std::string KeyDir() const { return dir() + "/keys"; }
  std::string DirectoryPath() const { return dir() + "/courts.toml"; }
  // The key pair in KeyDir()/<name>.key_secret, made on first use.
  CurveKeyPair Keys(const std::string& name);
  // The public keys the directory lists for `court` (rewrites the file; the
  // broker rereads it on ReloadBroker).
  void SetDirectoryKeys(const std::string& court, const std::vector<std::string>& public_keys);
  // The key (a name in KeyDir()) the court's agent uses from its next
  // start; by default the court's id.
  void UseKey(const std::string& court, const std::string& key_name);
  // SIGHUP: the broker rereads its directory.
  void ReloadBroker();

  const std::string& dir() const { return dir_.path(); }
  const std::string& endpoint() const { return endpoint_; }
  int http_port() const { return http_port_; }

  // Starts the broker on this zone's fixed port and store (so a restart
  // finds its data), with fast test timers plus `extra` flags. Waits until
  // its status page answers and its loop has published a first status
  // (/readyz: ready or degraded, not "not ready").
  void StartBroker(const std::vector<std::string>& extra = {});
  // The command line StartBroker runs, for a test that runs it itself.
  std::vector<std::string> BrokerArgv(const std::vector<std::string>& extra = {}) const;
  void KillBroker(int sig);
  // Sends `sig` (SIGSTOP, SIGCONT) and does not wait.
  void SignalBroker(int sig);
  bool BrokerRunning();

  // Writes <dir>/<court>.toml (responder "auto" or "off") and starts
  // `weituo-agent run`; waits until its control endpoint answers.
  void StartAgent(const std::string& court, bool auto_responder,
                  const std::vector<std::string>& env = {});
  // TOML appended to the court's config by StartAgent (tables such as
  // [handlers.ASSET_QUERY], [api], [spool]).
  void SetAgentConfigExtra(const std::string& court, const std::string& toml);
  // The agents' broker list from their next start (a broker group's
  // members); empty: this zone's own broker.
  void SetBrokerList(std::vector<std::string> endpoints) { broker_list_ = std::move(endpoints); }
  void KillAgent(const std::string& court, int sig);
  // Waits for the agent's exit and returns its code (128+signal if killed).
  int WaitAgent(const std::string& court);
  std::string ConfigPath(const std::string& court) const;

  // Runs `weituo-agent <args...> -c <court config>`.
  CommandResult Cli(const std::string& court, std::vector<std::string> args);

  // GET on the broker's status server with its operator read token; empty
  // on failure.
  std::string HttpGet(const std::string& path);
  // The broker's operator read token and admin token, from its data folder
  // (the broker makes them at its first start).
  std::string ReadToken() const;
  std::string AdminToken() const;
  // Runs `weituoctl --url <this broker> --token-file <its admin token> <args...>`.
  CommandResult Ctl(std::vector<std::string> args);

 private:
  // Waits for `p` (signalled) until `deadline`, then kills it and fails the
  // test, naming `what` and its log.
  static void StopBy(Process& p, std::chrono::steady_clock::time_point deadline,
                     const std::string& what, const std::string& log);
  void WriteAgentConfig(const std::string& court, bool auto_responder);
  void WriteDirectory();

  bool plaintext_;
  std::map<std::string, std::vector<std::string>> directory_keys_;
  std::map<std::string, std::string> agent_key_;
  std::map<std::string, std::string> agent_extra_;
  std::vector<std::string> broker_list_;
  TempDir dir_;
  int port_;
  int http_port_;
  std::string endpoint_;
  std::mutex mu_;
  Process broker_;
  std::map<std::string, Process> agents_;
};

}  // namespace weituo::testing
