// A real etcd server for the tests of the broker group: Debian's
// /usr/bin/etcd (deploy/install-deps.sh installs it) as a one-member
// cluster on 127.0.0.1 (or another address of this machine), with free
// client and peer ports and its data in a
// temporary folder, which a restart keeps.
//
// Threading: one EtcdProcess per test, used from the test's thread (a
// helper thread may Pause/Resume while the test thread polls). etcd gets
// SIGKILL when the thread that started it (the constructor's or Restart's)
// ends, so that a crashed test leaves no etcd behind.
#pragma once

#include <mutex>
#include <string>

#include "harness.h"

namespace weituo::testing {

class EtcdProcess {
 public:
  // Where etcd is looked for: $WEITUO_ETCD_BIN, else /usr/bin/etcd.
  static std::string Binary();

  // Starts etcd and waits until it answers /health. Throws
  // std::runtime_error (the test fails with its text) if the binary is
  // missing ("run deploy/install-deps.sh") or etcd is not ready in 20 s.
  // It listens on `host` only (in a partition test, the root end of a veth
  // pair).
  explicit EtcdProcess(std::string host = "127.0.0.1");
  // SIGKILL (after SIGCONT if paused); the folder goes with it.
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // "http://<host>:<client port>", for EtcdClient and LeaderLease.
  std::string endpoint() const { return "http://" + host_ + ":" + std::to_string(client_port_); }
  int client_port() const { return client_port_; }
  const std::string& log_path() const { return log_path_; }

  // True if /health answers {"health":"true"} within 2 s.
  bool Healthy();
  // SIGSTOP: the ports stay open, nothing answers.
  void Pause();
  // SIGCONT.
  void Resume();
  // SIGKILL, waited for.
  void Kill();
  // Kill() if running, then a start on the same ports and data folder;
  // waits until ready as the constructor does.
  void Restart();

 private:
  void StartAndWait();

  TempDir dir_;
  std::string host_;
  int client_port_;
  int peer_port_;
  std::string data_dir_;
  std::string log_path_;
  std::mutex mu_;
  Process process_;  // guarded by mu_
};

}  // namespace weituo::testing
