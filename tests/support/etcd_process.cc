#include "etcd_process.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "weituo/common/http_client.h"

namespace weituo::testing {

namespace {
constexpr const char* kSetpriv = "/usr/bin/setpriv";
}  // namespace

std::string EtcdProcess::Binary() {
  const char* bin = std::getenv("WEITUO_ETCD_BIN");
  return bin && *bin ? bin : "/usr/bin/etcd";
}

EtcdProcess::EtcdProcess(std::string host)
    : host_(std::move(host)),
      client_port_(FreePort()),
      peer_port_(FreePort()),
      data_dir_(dir_.path() + "/data"),
      log_path_(dir_.path() + "/etcd.log") {
  if (::access(Binary().c_str(), X_OK) != 0) {
    throw std::runtime_error("etcd is not installed (no executable " + Binary() +
                             "): run deploy/install-deps.sh, which installs Debian's "
                             "etcd-server, or set WEITUO_ETCD_BIN");
  }
  StartAndWait();
}

EtcdProcess::~EtcdProcess() {
  std::lock_guard<std::mutex> lock(mu_);
  process_.Signal(SIGCONT);  // a stopped process dies of SIGKILL too, but is reaped sooner
  process_.Signal(SIGKILL);
  process_.Wait();
}

void EtcdProcess::StartAndWait() {
  const std::string client = endpoint();
  const std::string peer = "http://" + host_ + ":" + std::to_string(peer_port_);
  std::vector<std::string> argv;
  // etcd dies with the test, even one that crashes before the destructor:
  // setpriv (util-linux, always there) sets its parent-death signal.
  if (::access(kSetpriv, X_OK) == 0) argv = {kSetpriv, "--pdeathsig", "KILL", "--"};
  argv.insert(argv.end(), {Binary(), "--name=weituo-test", "--data-dir=" + data_dir_,
                           "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
                           "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
                           "--initial-cluster=weituo-test=" + peer, "--initial-cluster-state=new",
                           "--logger=zap", "--log-outputs=stderr"});
  {
    std::lock_guard<std::mutex> lock(mu_);
    process_ = Process::Spawn(argv, {}, log_path_);
  }
  bool exited = false;
  bool ready = WaitFor(
      [&] {
        {
          std::lock_guard<std::mutex> lock(mu_);
          exited = !process_.running();
        }
        return exited || Healthy();
      },
      std::chrono::seconds(20));
  if (!ready || exited) {
    throw std::runtime_error(std::string("etcd ") + (exited ? "exited" : "not healthy in 20 s") +
                             " at start; its log: " + log_path_ + "\n" + ReadFile(log_path_));
  }
}

bool EtcdProcess::Healthy() {
  HttpCall call;
  call.host = host_;
  call.port = std::to_string(client_port_);
  call.target = "/health";
  call.timeout = std::chrono::milliseconds(2000);
  auto answer = CallHttp(call);
  return answer.ok() && answer->status == 200 &&
         answer->body.find("\"health\":\"true\"") != std::string::npos;
}

void EtcdProcess::Pause() {
  std::lock_guard<std::mutex> lock(mu_);
  process_.Signal(SIGSTOP);
}

void EtcdProcess::Resume() {
  std::lock_guard<std::mutex> lock(mu_);
  process_.Signal(SIGCONT);
}

void EtcdProcess::Kill() {
  std::lock_guard<std::mutex> lock(mu_);
  process_.Signal(SIGCONT);
  process_.Signal(SIGKILL);
  process_.Wait();
}

void EtcdProcess::Restart() {
  Kill();
  StartAndWait();
}

}  // namespace weituo::testing
