// A throw-away broker group for the benchmarks (docs/group.md): its own
// etcd (EtcdServer), a group file, and three weituo-broker members
// (--group FILE --member mN), each with its own store, courts endpoint,
// replication endpoint and cluster address; and a sampler of the leader's
// GET /api/cluster for the followers' lag while a run is under way.
//
// Threading: BrokerGroup is owned by one thread (the bench's main thread),
// though Cluster() may be called from any thread. ClusterSampler runs its
// own thread between Start() and Stop(); its results are read after Stop().
#pragma once

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_zone.h"
#include "weituo/v1/status.pb.h"

namespace weituo::bench {

class BrokerGroup {
 public:
  static constexpr int kMembers = 3;
  // The broker's flags for one member, as a single broker would get them:
  // its data folder and courts endpoint in, the whole argv (binary first)
  // out. The group adds --group and --member.
  using MemberFlags = std::function<std::vector<std::string>(const std::string& data_dir,
                                                             const std::string& courts)>;

  // Starts etcd, writes `folder`/group.toml (min_in_sync 2, the defaults
  // otherwise) and starts the three members, logging to `folder`/mN.log.
  // Throws if etcd does not start.
  BrokerGroup(const std::string& folder, const MemberFlags& flags) : etcd_(folder) {
    std::string file =
        "name = \"bench-zone\"\netcd = [\"" + etcd_.endpoint() + "\"]\nmin_in_sync = 2\n";
    for (int i = 0; i < kMembers; ++i) {
      Member m;
      m.name = "m" + std::to_string(i + 1);
      m.courts = "tcp://127.0.0.1:" + std::to_string(FreePort());
      m.replication = "tcp://127.0.0.1:" + std::to_string(FreePort());
      m.cluster_port = FreePort();
      file += "[[member]]\nname = \"" + m.name + "\"\ncourts = \"" + m.courts +
              "\"\nreplication = \"" + m.replication +
              "\"\nhttp = \"127.0.0.1:" + std::to_string(m.cluster_port) + "\"\n";
      m.data_dir = folder + "/" + m.name;
      m.log = folder + "/" + m.name + ".log";
      members_.push_back(std::move(m));
    }
    const std::string group_file = folder + "/group.toml";
    {
      std::ofstream out(group_file);
      out << file;
      if (!out.flush()) throw std::runtime_error("cannot write " + group_file);
    }
    for (Member& m : members_) {
      std::vector<std::string> argv = flags(m.data_dir, m.courts);
      argv.insert(argv.end(), {"--group", group_file, "--member", m.name});
      m.process = std::make_unique<BrokerProcess>(argv, m.log);
    }
  }
  BrokerGroup(const BrokerGroup&) = delete;
  BrokerGroup& operator=(const BrokerGroup&) = delete;

  BrokerProcess& member(int i) { return *members_[i].process; }
  const std::string& name(int i) const { return members_[i].name; }
  const std::string& courts(int i) const { return members_[i].courts; }
  const std::string& log(int i) const { return members_[i].log; }
  EtcdServer& etcd() { return etcd_; }

  // GET /api/cluster of member i, parsed; nullopt if it does not answer.
  std::optional<weituo::v1::ClusterStatus> Cluster(int i) const {
    auto reply = HttpGet(members_[i].cluster_port, "/api/cluster", std::chrono::milliseconds(1000));
    if (!reply.ok() || reply->status != 200) return std::nullopt;
    weituo::v1::ClusterStatus status;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (!google::protobuf::util::JsonStringToMessage(reply->body, &status, options).ok()) {
      return std::nullopt;
    }
    return status;
  }

  // Waits until one member leads (it says so and etcd names it) and both
  // others follow it with nothing left to fetch (each acknowledged the
  // leader's last commit, no checkpoint under way). Returns the leader's
  // index; throws if a member exits or `timeout` passes.
  int WaitReady(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (int i = 0; i < kMembers; ++i) {
        if (!members_[i].process->Running()) {
          throw std::runtime_error("member " + members_[i].name + " exited; its log:\n" +
                                   Tail(members_[i].log, 2000));
        }
      }
      for (int i = 0; i < kMembers; ++i) {
        auto c = Cluster(i);
        if (!c || c->role() != "leader" || c->leader() != members_[i].name) continue;
        if (c->followers_size() != kMembers - 1) continue;
        const bool caught_up = std::all_of(c->followers().begin(), c->followers().end(),
                                           [](const weituo::v1::ClusterFollower& f) {
                                             return !f.snapshotting() && f.lag_batches() == 0;
                                           });
        if (caught_up) return i;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("no leader with both followers caught up in " +
                             std::to_string(timeout.count()) + " ms; see " + members_[0].log);
  }

  bool AllRunning() {
    return std::all_of(members_.begin(), members_.end(),
                       [](Member& m) { return m.process->Running(); });
  }

  // SIGTERM to every member at once, then waits for each (SIGKILL after
  // `grace`); the exit codes by member, as BrokerProcess::Stop.
  std::vector<int> Stop(std::chrono::milliseconds grace) {
    for (Member& m : members_) {
      if (m.process->Running()) ::kill(m.process->pid(), SIGTERM);
    }
    std::vector<int> codes;
    for (Member& m : members_) codes.push_back(m.process->Stop(grace));
    return codes;
  }

 private:
  struct Member {
    std::string name, courts, replication, data_dir, log;
    int cluster_port = 0;
    std::unique_ptr<BrokerProcess> process;
  };
  EtcdServer etcd_;
  std::vector<Member> members_;
};

// Samples the leader's /api/cluster every `period` from Start() to Stop():
// each follower's lag in commits not acknowledged and in ms since the first
// of them was committed, and the size of the in-sync set.
class ClusterSampler {
 public:
  struct Summary {
    size_t samples = 0;  // follower readings (two per answer of the leader)
    size_t unanswered = 0;
    uint64_t lag_batches_max = 0;
    double lag_batches_median = 0;
    int64_t lag_ms_max = 0;
    double lag_ms_median = 0;
    int in_sync_min = -1;  // -1: no answer
  };

  ClusterSampler(const BrokerGroup& group, int leader, std::chrono::milliseconds period)
      : group_(group), leader_(leader), period_(period) {}
  ~ClusterSampler() { Stop(); }
  ClusterSampler(const ClusterSampler&) = delete;
  ClusterSampler& operator=(const ClusterSampler&) = delete;

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }
  // Stops sampling and summarises; idempotent.
  Summary Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    Summary s;
    s.samples = lag_batches_.size();
    s.unanswered = unanswered_;
    s.in_sync_min = in_sync_min_;
    if (!lag_batches_.empty()) {
      s.lag_batches_max = *std::max_element(lag_batches_.begin(), lag_batches_.end());
      s.lag_ms_max = *std::max_element(lag_ms_.begin(), lag_ms_.end());
      s.lag_batches_median = Median(lag_batches_);
      s.lag_ms_median = Median(lag_ms_);
    }
    return s;
  }

 private:
  template <typename T>
  static double Median(std::vector<T> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? static_cast<double>(v[n / 2])
                 : (static_cast<double>(v[n / 2 - 1]) + static_cast<double>(v[n / 2])) / 2;
  }

  void Loop() {
    auto next = std::chrono::steady_clock::now();
    while (!stop_) {
      auto c = group_.Cluster(leader_);
      if (!c) {
        ++unanswered_;
      } else {
        for (const weituo::v1::ClusterFollower& f : c->followers()) {
          lag_batches_.push_back(f.lag_batches());
          lag_ms_.push_back(f.lag_ms());
        }
        const int in_sync = c->in_sync_size();
        if (in_sync_min_ < 0 || in_sync < in_sync_min_) in_sync_min_ = in_sync;
      }
      next += period_;
      while (!stop_ && std::chrono::steady_clock::now() < next) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }

  const BrokerGroup& group_;
  const int leader_;
  const std::chrono::milliseconds period_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // Written by the sampling thread only, read after it is joined.
  std::vector<uint64_t> lag_batches_;
  std::vector<int64_t> lag_ms_;
  size_t unanswered_ = 0;
  int in_sync_min_ = -1;
};

}  // namespace weituo::bench
