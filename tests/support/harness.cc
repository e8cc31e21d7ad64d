#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <spdlog/spdlog.h>

#include "weituo/common/directory.h"
#include "weituo/common/http_client.h"

extern char** environ;

namespace {

// spdlog's default logger is built by whichever thread logs first; in a
// test program that is often a thread a test started (the ZAP handler's),
// and ThreadSanitizer cannot see the uninstrumented library's guard. Built
// here, on the main thread, before any test runs.
[[maybe_unused]] const bool kLoggerBuiltFirst = spdlog::default_logger_raw() != nullptr;

}  // namespace

namespace weituo::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base ? base : "/tmp") + "/weituo-test-XXXXXX";
  if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("WEITUO_KEEP_TEST_DIRS")) std::filesystem::remove_all(path_, ec);
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind for a free port failed");
  }
  // Held, not closed: closing would free the port for anyone until the
  // server binds it (see harness.h).
  static std::mutex mu;
  static std::vector<int> held;
  std::lock_guard<std::mutex> lock(mu);
  held.push_back(fd);
  return ntohs(addr.sin_port);
}

namespace {

// A file descriptor closed on destruction.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Opens `path` close-on-exec (a child gets it through dup2 only); throws
// if it cannot.
int OpenOrThrow(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  return fd;
}

// This process's environment with `extra` ("K=V") put over it.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra) {
  auto key_of = [](std::string_view kv) { return kv.substr(0, kv.find('=')); };
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    bool replaced = false;
    for (const std::string& kv : extra) replaced = replaced || key_of(kv) == key_of(*e);
    if (!replaced) env.emplace_back(*e);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// The child's side of ForkExec: async-signal-safe calls only. Exit 126 if
// it cannot become the account, 127 if the exec fails.
[[noreturn]] void ExecChild(const ChildSpec& spec, char* const* argv, char* const* envp,
                            int stdin_fd, int stdout_fd, int stderr_fd) {
  // Dispositions and the mask are inherited across exec: a test that
  // ignores SIGPIPE (or a thread that blocked a signal) must not pass it on.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (stdin_fd >= 0) ::dup2(stdin_fd, 0);
  if (stdout_fd >= 0) ::dup2(stdout_fd, 1);
  if (stderr_fd >= 0) ::dup2(stderr_fd, 2);
  if (spec.account) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(spec.account->gid) != 0 ||
        ::setuid(spec.account->uid) != 0) {
      _exit(126);
    }
  }
  ::execve(argv[0], argv, envp);
  const char msg[] = "harness: execve failed\n";
  (void)!::write(2, msg, sizeof msg - 1);
  _exit(127);
}

// Starts `spec` with the given standard streams (-1: ours); the pid.
// Throws if fork fails.
pid_t ForkExec(const ChildSpec& spec, int stdout_fd, int stderr_fd) {
  if (spec.argv.empty()) throw std::runtime_error("nothing to run: empty argv");
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = ChildEnvironment(spec.env);
  std::vector<char*> argv = NullTerminated(args);
  std::vector<char*> envp = NullTerminated(env);
  Fd in(spec.stdin_path.empty() ? -1 : OpenOrThrow(spec.stdin_path, O_RDONLY));
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) ExecChild(spec, argv.data(), envp.data(), in.get(), stdout_fd, stderr_fd);
  return pid;
}

}  // namespace

Process::~Process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    Wait();
  }
}

Process::Process(Process&& other) noexcept : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && running()) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    pid_ = other.pid_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

Process Process::Spawn(const ChildSpec& spec, const std::string& log_path) {
  Fd log(OpenOrThrow(log_path, O_WRONLY | O_CREAT | O_APPEND));
  Process p;
  p.pid_ = ForkExec(spec, log.get(), log.get());
  return p;
}

Process Process::Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       const std::string& log_path) {
  return Spawn(ChildSpec{argv, env, "", std::nullopt}, log_path);
}

bool Process::running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int status;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0 || (r < 0 && errno == EINTR)) return true;
  status_ = r == pid_ ? status : 0;  // 0 if it cannot be waited for (not ours)
  return false;
}

void Process::Signal(int sig) {
  if (pid_ > 0 && status_ == -1) ::kill(pid_, sig);
}

int Process::Wait() {
  if (pid_ <= 0) return -1;
  if (status_ == -1) {
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
    status_ = r == pid_ ? status : 0;
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

bool Process::WaitExited(std::chrono::milliseconds timeout) {
  return WaitFor([&] { return !running(); }, timeout);
}

CommandResult RunCommand(const ChildSpec& spec) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe failed: ") + std::strerror(errno));
  }
  Fd read_end(pipefd[0]), write_end(pipefd[1]);
  pid_t pid = ForkExec(spec, write_end.get(), -1);
  write_end.Close();
  CommandResult result;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(read_end.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) result.out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

CommandResult RunCommand(const std::vector<std::string>& argv) {
  return RunCommand(ChildSpec{argv, {}, "", std::nullopt});
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string BrokerBin() { return WEITUO_BROKER_BIN; }
std::string AgentBin() { return WEITUO_AGENT_BIN; }
std::string CtlBin() { return WEITUO_CTL_BIN; }
std::string SourceDir() { return WEITUO_SOURCE_DIR; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

Zone::Zone(bool plaintext) : plaintext_(plaintext), port_(FreePort()), http_port_(FreePort()) {
  endpoint_ = "tcp://127.0.0.1:" + std::to_string(port_);
  std::filesystem::create_directories(KeyDir());
  auto directory = CourtDirectory::LoadFile(SourceDir() + "/deploy/zone/courts.toml");
  if (!directory.ok()) throw std::runtime_error(directory.status().ToString());
  Keys("broker");
  for (const CourtEntry& entry : directory->entries()) {
    directory_keys_[entry.id] = {Keys(entry.id).public_key};
  }
  WriteDirectory();
}

CurveKeyPair Zone::Keys(const std::string& name) {
  std::string base = KeyDir() + "/" + name;
  if (!std::filesystem::exists(base + ".key_secret")) {
    auto made = GenerateCurveKeyPair();
    if (!made.ok()) throw std::runtime_error(made.status().ToString());
    Status s = WriteCertificate(base, *made, {{"name", name}}, false);
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
  auto keys = ReadCertificate(base + ".key_secret");
  if (!keys.ok()) throw std::runtime_error(keys.status().ToString());
  return *keys;
}

void Zone::SetDirectoryKeys(const std::string& court, const std::vector<std::string>& keys) {
  directory_keys_[court] = keys;
  WriteDirectory();
}

void Zone::UseKey(const std::string& court, const std::string& key_name) {
  Keys(key_name);
  agent_key_[court] = key_name;
}

void Zone::ReloadBroker() {
  std::lock_guard<std::mutex> lock(mu_);
  broker_.Signal(SIGHUP);
}

void Zone::WriteDirectory() {
  auto directory = CourtDirectory::LoadFile(SourceDir() + "/deploy/zone/courts.toml");
  if (!directory.ok()) throw std::runtime_error(directory.status().ToString());
  std::ostringstream t;
  for (const CourtEntry& e : directory->entries()) {
    t << (e.is_supervisor ? "[[supervisor]]" : "[[court]]") << "\nid = \"" << e.id
      << "\"\nname = \"" << e.name << "\"\n";
    // A supervisor serves no region and has no superior in the directory.
    if (!e.is_supervisor) {
      if (!e.superior.empty()) t << "superior = \"" << e.superior << "\"\n";
      t << "region_codes = [";
      for (size_t i = 0; i < e.region_codes.size(); ++i) {
        t << (i ? ", " : "") << '"' << e.region_codes[i] << '"';
      }
      t << "]\n";
    }
    t << "liaison = { office = \"" << e.liaison_office << "\", phone = \"" << e.liaison_phone
      << "\", person = \"" << e.liaison_person << "\" }";
    t << "\ncurve_keys = [";
    const std::vector<std::string>& keys = directory_keys_[e.id];
    for (size_t i = 0; i < keys.size(); ++i) t << (i ? ", " : "") << '"' << keys[i] << '"';
    t << "]\n\n";
  }
  // Written whole then renamed, so a reload never reads half a file.
  WriteFile(DirectoryPath() + ".tmp", t.str());
  std::filesystem::rename(DirectoryPath() + ".tmp", DirectoryPath());
}

std::string StoreDigest(const std::string& path) {
  std::vector<std::string> families;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families);
  if (!s.ok()) throw std::runtime_error("list column families of " + path + ": " + s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  // As the store opens itself (common/src/kv_store.cc): a MANIFEST that
  // tracks WALs, opened read-only without tracking, trips RocksDB 7.8's
  // assert(recovery_ctx != nullptr) in DBImpl::Recover and aborts.
  rocksdb::DBOptions options;
  options.track_and_verify_wals_in_manifest = true;
  s = rocksdb::DB::OpenForReadOnly(options, path, descriptors, &handles, &raw);
  if (!s.ok()) throw std::runtime_error("open " + path + " read-only: " + s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::ostringstream out;
  for (size_t i = 0; i < handles.size(); ++i) {
    uint64_t count = 0;
    std::hash<std::string> hash;
    uint64_t sum = 0;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++count;
      sum = sum * 1099511628211ull + hash(it->key().ToString() + '\0' + it->value().ToString());
    }
    out << families[i] << ":" << count << ":" << std::hex << sum << std::dec << " ";
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  return out.str();
}

Zone::~Zone() {
  std::lock_guard<std::mutex> lock(mu_);
  // Agents first, so that the broker does not see them go offline.
  for (auto& [court, p] : agents_) p.Signal(SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + kStopGrace;
  for (auto& [court, p] : agents_)
    StopBy(p, deadline, "agent " + court, dir() + "/" + court + ".log");
  broker_.Signal(SIGTERM);
  StopBy(broker_, std::chrono::steady_clock::now() + kStopGrace, "broker", dir() + "/broker.log");
}

void Zone::StopBy(Process& p, std::chrono::steady_clock::time_point deadline,
                  const std::string& what, const std::string& log) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (p.WaitExited(std::max(left, std::chrono::milliseconds(0)))) return;
  p.Signal(SIGKILL);
  p.Wait();
  ADD_FAILURE() << "the " << what << " (pid " << p.pid() << ") did not exit within "
                << kStopGrace.count() << " s of SIGTERM and was killed; see " << log;
}

std::vector<std::string> Zone::BrokerArgv(const std::vector<std::string>& extra) const {
  std::vector<std::string> argv = {
      BrokerBin(), "--data-dir", dir() + "/broker", "--directory", DirectoryPath(), "--endpoint",
      endpoint_, "--http", "127.0.0.1:" + std::to_string(http_port_), "--heartbeat-ms", "200",
      "--offline-after-ms", "1000", "--ack-timeout-ms", "1000", "--max-backoff-ms", "4000",
      // A small reserve: a shared test machine's
      // disk may be fuller than a broker's.
      "--storage-reserve-mb", "16"};
  if (plaintext_) {
    argv.push_back("--dev-plaintext");
  } else {
    argv.insert(argv.end(), {"--curve-secret-key-file", KeyDir() + "/broker.key_secret"});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

void Zone::StartBroker(const std::vector<std::string>& extra) {
  const std::vector<std::string> argv = BrokerArgv(extra);
  // Right after a kill the store's lock can take a moment to free; an
  // exit at start-up is retried a few times before the test fails.
  for (int attempt = 0; attempt < 5; ++attempt) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      broker_ = Process::Spawn(argv, {}, dir() + "/broker.log");
    }
    // Serving once its loop has published a first status: /readyz says
    // ready, or degraded (a broker that starts on a full disk serves all
    // the same), no longer "not ready". /healthz answers before that.
    auto serving = [&] {
      std::string ready = HttpGetAnswer(http_port_, "/readyz");
      return !HttpGet("/healthz").empty() && !ready.empty() &&
             ready.find("not ready") == std::string::npos;
    };
    WaitFor([&] { return serving() || !BrokerRunning(); }, std::chrono::seconds(20));
    if (BrokerRunning() && serving()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("broker did not become ready; see " + dir() + "/broker.log");
}

void Zone::KillBroker(int sig) {
  std::lock_guard<std::mutex> lock(mu_);
  broker_.Signal(sig);
  broker_.Wait();
}

void Zone::SignalBroker(int sig) {
  std::lock_guard<std::mutex> lock(mu_);
  broker_.Signal(sig);
}

bool Zone::BrokerRunning() {
  std::lock_guard<std::mutex> lock(mu_);
  return broker_.running();
}

std::string Zone::ConfigPath(const std::string& court) const {
  return dir() + "/" + court + ".toml";
}

void Zone::WriteAgentConfig(const std::string& court, bool auto_responder) {
  std::ostringstream t;
  t << "court_id = \"" << court << "\"\n"
    << "broker = ";
  if (broker_list_.empty()) {
    t << "\"" << endpoint_ << "\"\n";
  } else {
    t << "[";
    for (size_t i = 0; i < broker_list_.size(); ++i) {
      t << (i ? ", " : "") << "\"" << broker_list_[i] << "\"";
    }
    t << "]\n";
  }
  t << "data_dir = \"" << court << "-data\"\n"
    << "heartbeat_ms = 200\nbroker_silence_ms = 1000\nresend_ms = 600\n";
  if (plaintext_) {
    t << "dev_plaintext = true\n";
  } else {
    auto key = agent_key_.find(court);
    t << "curve_secret_key_file = \"keys/" << (key == agent_key_.end() ? court : key->second)
      << ".key_secret\"\nbroker_public_key_file = \"keys/broker.key\"\n";
  }
  t << "[responder]\nmode = \"" << (auto_responder ? "auto" : "off") << "\"\n"
    << "handler = \"" << court << "-clerk\"\n";
  if (auto extra = agent_extra_.find(court); extra != agent_extra_.end()) t << extra->second;
  WriteFile(ConfigPath(court), t.str());
}

void Zone::SetAgentConfigExtra(const std::string& court, const std::string& toml) {
  agent_extra_[court] = toml;
}

void Zone::StartAgent(const std::string& court, bool auto_responder,
                      const std::vector<std::string>& env) {
  WriteAgentConfig(court, auto_responder);
  Process p = Process::Spawn({AgentBin(), "run", "-c", ConfigPath(court)}, env,
                             dir() + "/" + court + ".log");
  {
    std::lock_guard<std::mutex> lock(mu_);
    agents_[court] = std::move(p);
  }
  if (!WaitFor([&] { return Cli(court, {"status"}).exit_code == 0; }, std::chrono::seconds(20))) {
    throw std::runtime_error("agent " + court + " did not start; see " + dir() + "/" + court +
                             ".log");
  }
}

void Zone::KillAgent(const std::string& court, int sig) {
  std::lock_guard<std::mutex> lock(mu_);
  agents_[court].Signal(sig);
  agents_[court].Wait();
}

int Zone::WaitAgent(const std::string& court) {
  std::lock_guard<std::mutex> lock(mu_);
  return agents_[court].Wait();
}

CommandResult Zone::Cli(const std::string& court, std::vector<std::string> args) {
  args.insert(args.begin(), AgentBin());
  args.push_back("-c");
  args.push_back(ConfigPath(court));
  return RunCommand(args);
}

std::string Zone::HttpGet(const std::string& path) {
  return testing::HttpGet(http_port_, path, ReadToken());
}

namespace {
// The first line of `path`; empty if there is none.
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}
}  // namespace

std::string Zone::ReadToken() const { return FirstLine(dir() + "/broker/read.token"); }
std::string Zone::AdminToken() const { return FirstLine(dir() + "/broker/admin.token"); }

CommandResult Zone::Ctl(std::vector<std::string> args) {
  args.insert(args.begin(), {CtlBin(), "--url", "http://127.0.0.1:" + std::to_string(http_port_),
                             "--token-file", dir() + "/broker/admin.token"});
  return RunCommand(args);
}

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string HttpExchange(int port, const std::string& request) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!::write(fd, request.data(), request.size());
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return resp;
}

std::string HostHeader(int port) { return "Host: 127.0.0.1:" + std::to_string(port) + "\r\n"; }

namespace {

// GET http://127.0.0.1:<port><path>, the connection closed after the answer.
StatusOr<HttpAnswer> LoopbackGet(int port, const std::string& path, const std::string& token) {
  HttpCall call;
  call.host = "127.0.0.1";
  call.port = std::to_string(port);
  call.target = path;
  call.bearer_token = token;
  call.headers = {{"Connection", "close"}};
  call.timeout = std::chrono::seconds(5);
  return CallHttp(call);
}

}  // namespace

std::string HttpGetAnswer(int port, const std::string& path, const std::string& token) {
  auto answer = LoopbackGet(port, path, token);
  return answer.ok() ? answer->Text() : "";
}

std::string HttpGet(int port, const std::string& path, const std::string& token) {
  auto answer = LoopbackGet(port, path, token);
  return answer.ok() && answer->status == 200 ? answer->body : "";
}

}  // namespace weituo::testing
