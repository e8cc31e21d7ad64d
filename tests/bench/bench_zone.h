// A throw-away zone for the benchmarks that start a real weituo-broker: a
// temporary folder, a free loopback port, the broker as a child process,
// and CURVE key pairs for the broker and every court with a copy of the
// court directory that lists them. Shared by weituo_bench,
// weituo_wire_bench, scale_bench and connection_storm_bench.
//
// EtcdServer starts the etcd a broker group needs (bench_group.h).
//
// Threading: TempDir, BrokerProcess and EtcdServer are owned by one thread
// (the bench's main thread); the free functions are thread-safe.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "bench_measure.h"
#include "weituo/common/curve.h"
#include "weituo/common/directory.h"
#include "weituo/common/http_client.h"
#include "weituo/common/status.h"

namespace weituo::bench {

// A folder under /tmp (or `base`), removed with its contents on destruction
// unless kept.
class TempDir {
 public:
  TempDir() { Create("/tmp/weituo-bench-XXXXXX", "mkdtemp failed"); }
  // A folder `prefix`-XXXXXX under `base`.
  TempDir(const std::string& base, const std::string& prefix) {
    Create(base + "/" + prefix + "-XXXXXX", "mkdtemp failed under " + base);
  }
  ~TempDir() {
    std::error_code ec;
    if (!keep_) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  void Keep() { keep_ = true; }

 private:
  void Create(std::string templ, const std::string& error) {
    if (!::mkdtemp(templ.data())) throw std::runtime_error(error);
    path_ = templ;
  }

  std::string path_;
  bool keep_ = false;
};

// A loopback TCP port that was free a moment ago. Throws if none is found.
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
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
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A field of /proc/<pid>/status in MiB ("VmRSS:", "VmHWM:"); 0 if unknown.
inline double ProcessStatusMib(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(field.size())) / 1024.0;  // kB
  }
  return 0;
}

// The weituo-broker child process (or any other server a bench runs). The destructor SIGKILLs it if
// it is still running; Stop() is the orderly SIGTERM and wait.
class BrokerProcess {
 public:
  BrokerProcess(const std::vector<std::string>& argv, const std::string& log_path) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the bench
      int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (log >= 0) {
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      std::perror(("execv " + argv[0]).c_str());
      ::_exit(127);
    }
  }
  ~BrokerProcess() {
    if (pid_ > 0 && Running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  int pid() const { return pid_; }
  // CPU seconds (user + system) the process has used so far; 0 if unknown.
  double CpuSeconds() const { return ProcessCpuSeconds(pid_); }
  // Peak resident set (VmHWM) in MiB so far; 0 if unknown.
  double PeakRssMib() const { return ProcessPeakRssMib(pid_); }
  // Resident set (VmRSS) in MiB now; 0 if unknown.
  double RssMib() const { return ProcessStatusMib(pid_, "VmRSS:"); }

  bool Running() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
      return false;
    }
    return true;
  }

  // SIGTERM, then waits up to `grace` (SIGKILL after), looking every `poll`.
  // Returns the exit code, or 128+signal.
  int Stop(std::chrono::milliseconds grace,
           std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
    if (Running()) {
      ::kill(pid_, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + grace;
      while (Running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(poll);
      }
      if (Running()) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        exited_ = true;
      }
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

// The last `bytes` of the file at `path` (a log), or all of it.
inline std::string Tail(const std::string& path, size_t bytes) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

// The zone's CURVE keys for one run.
struct ZoneKeys {
  weituo::CurveKeyPair broker;
  std::string broker_secret_file;                  // the broker's certificate with its secret key
  std::map<std::string, std::string> secret_keys;  // court id -> Z85 secret key
  std::string directory_path;                      // the directory listing each court's key
};

// `entries` as a court directory in TOML: [[court]] and [[supervisor]]
// tables with each entry's fields and curve_keys, under the comment line
// `heading`.
inline std::string RenderDirectory(
    const std::vector<weituo::CourtEntry>& entries,
    const std::string& heading =
        "Written by weituo_bench: the zone's directory with this run's keys.") {
  toml::array courts;
  toml::array supervisors;
  for (const weituo::CourtEntry& e : entries) {
    toml::table t;
    t.insert("id", e.id);
    t.insert("name", e.name);
    if (!e.name_en.empty()) t.insert("name_en", e.name_en);
    if (!e.province.empty()) t.insert("province", e.province);
    if (!e.superior.empty()) t.insert("superior", e.superior);
    // A supervisor serves no region: the directory refuses region_codes there.
    if (!e.is_supervisor) {
      toml::array region_codes;
      for (const std::string& code : e.region_codes) region_codes.push_back(code);
      t.insert("region_codes", std::move(region_codes));
    }
    toml::array curve_keys;
    for (const std::string& key : e.curve_keys) curve_keys.push_back(key);
    t.insert("curve_keys", std::move(curve_keys));
    (e.is_supervisor ? supervisors : courts).push_back(std::move(t));
  }
  toml::table root;
  root.insert("court", std::move(courts));
  if (!supervisors.empty()) root.insert("supervisor", std::move(supervisors));
  std::ostringstream out;
  out << "# " << heading << "\n\n" << toml::toml_formatter(root) << "\n";
  return out.str();
}

// Generates a key pair for the broker and for every court of `directory`,
// writes their certificates and the directory with each court's key (as
// its only curve key) into `folder`, and reads that directory back to prove
// that every court is known by its key. The error of the step that failed.
inline weituo::StatusOr<ZoneKeys> MakeZoneKeys(const weituo::CourtDirectory& directory,
                                               const std::string& folder) {
  ZoneKeys zone;
  WEITUO_ASSIGN_OR_RETURN(zone.broker, weituo::GenerateCurveKeyPair());
  WEITUO_RETURN_IF_ERROR(
      weituo::WriteCertificate(folder + "/broker", zone.broker, {{"role", "broker"}}, false));
  zone.broker_secret_file = folder + "/broker.key_secret";

  std::vector<weituo::CourtEntry> entries = directory.entries();
  for (weituo::CourtEntry& e : entries) {
    WEITUO_ASSIGN_OR_RETURN(auto keys, weituo::GenerateCurveKeyPair());
    WEITUO_RETURN_IF_ERROR(
        weituo::WriteCertificate(folder + "/" + e.id, keys, {{"court", e.id}}, false));
    e.curve_keys = {keys.public_key};
    zone.secret_keys[e.id] = keys.secret_key;
  }

  zone.directory_path = folder + "/courts.toml";
  {
    std::ofstream out(zone.directory_path);
    out << RenderDirectory(entries);
    if (!out.flush()) return weituo::Status::Internal("cannot write " + zone.directory_path);
  }
  WEITUO_ASSIGN_OR_RETURN(auto written, weituo::CourtDirectory::LoadFile(zone.directory_path));
  for (const weituo::CourtEntry& e : entries) {
    const weituo::CourtEntry* found = written.FindByKey(e.curve_keys.front());
    if (!found || found->id != e.id || found->is_supervisor != e.is_supervisor) {
      return weituo::Status::Internal(zone.directory_path + " does not list court '" + e.id +
                                      "' with its key");
    }
  }
  return zone;
}

// What one HTTP GET returned.
struct HttpReply {
  unsigned status = 0;  // the HTTP status code
  size_t body_bytes = 0;
  std::string body;
};

// GETs `target` from 127.0.0.1:`port` over a fresh HTTP/1.1 connection,
// with "Authorization: Bearer <token>" unless `token` is empty, and reads the
// whole response. Blocks for at most `timeout`; UNAVAILABLE if the
// connection, the request or the response failed or did not finish by then.
inline weituo::StatusOr<HttpReply> HttpGet(int port, const std::string& target,
                                           std::chrono::milliseconds timeout,
                                           const std::string& token = "") {
  HttpCall call;
  call.host = "127.0.0.1";
  call.port = std::to_string(port);
  call.target = target;
  call.bearer_token = token;
  call.headers = {{"Connection", "close"}};
  call.timeout = timeout;
  auto answer = CallHttp(call);
  if (!answer.ok()) return answer.status();
  const size_t bytes = answer->body.size();
  return HttpReply{static_cast<unsigned>(answer->status), bytes, std::move(answer->body)};
}

// A one-member etcd cluster on 127.0.0.1 for a broker group: Debian's
// /usr/bin/etcd (deploy/install-deps.sh installs etcd-server) or
// $WEITUO_ETCD_BIN, on free client and peer ports, with its data and log in
// `folder`. The constructor blocks until etcd answers /health.
class EtcdServer {
 public:
  static std::string Binary() {
    const char* bin = std::getenv("WEITUO_ETCD_BIN");
    return bin && *bin ? bin : "/usr/bin/etcd";
  }

  // Starts etcd and waits up to 20 s for {"health":"true"}. Throws
  // std::runtime_error (with the log's tail) if the binary is missing, etcd
  // exits, or it is not healthy in time.
  explicit EtcdServer(const std::string& folder)
      : client_port_(FreePort()), peer_port_(FreePort()), log_path_(folder + "/etcd.log") {
    if (::access(Binary().c_str(), X_OK) != 0) {
      throw std::runtime_error("etcd is not installed (no executable " + Binary() +
                               "): run deploy/install-deps.sh or set WEITUO_ETCD_BIN");
    }
    const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    process_ = std::make_unique<BrokerProcess>(
        std::vector<std::string>{
            Binary(), "--name=weituo-bench", "--data-dir=" + folder + "/etcd",
            "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
            "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
            "--initial-cluster=weituo-bench=" + peer, "--initial-cluster-state=new", "--logger=zap",
            "--log-outputs=stderr", "--log-level=warn"},
        log_path_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!Healthy()) {
      if (!process_->Running() || std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error(std::string("etcd ") +
                                 (process_->Running() ? "not healthy in 20 s" : "exited") +
                                 "; its log:\n" + Tail(log_path_, 2000));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // "http://127.0.0.1:<client port>", for the group file's etcd list.
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  BrokerProcess& process() { return *process_; }
  const std::string& log_path() const { return log_path_; }

  // True if /health answers {"health":"true"} within 2 s.
  bool Healthy() const {
    auto reply = HttpGet(client_port_, "/health", std::chrono::milliseconds(2000));
    return reply.ok() && reply->status == 200 &&
           reply->body.find("\"health\":\"true\"") != std::string::npos;
  }

 private:
  int client_port_;
  int peer_port_;
  std::string log_path_;
  std::unique_ptr<BrokerProcess> process_;
};

}  // namespace weituo::bench
