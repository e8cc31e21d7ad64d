// A zone served by a broker group: a real etcd (EtcdProcess), three real
// weituo-broker members (--group FILE --member mN) sharing the zone's CURVE
// server key, each with its own store, courts endpoint, replication
// endpoint, status server and cluster address, and the zone's agents with
// all three in their broker list. A member may bind another address than
// loopback and run in a network namespace of the test's (Place), to be cut
// off from the others.
//
// Threading: used from the test's thread; Kill/Start may be called from a
// helper thread (the chaos test's killer) while the test polls Cluster.
#pragma once

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "etcd_process.h"
#include "harness.h"
#include "netns.h"
#include "weituo/common/http_client.h"
#include "weituo/v1/status.pb.h"

namespace weituo::testing {

class GroupZone {
 public:
  static constexpr int kMembers = 3;

  // Where member i runs: the address it binds its courts, replication,
  // status and cluster endpoints on, and, for a member cut off by a test, the
  // network namespace it runs in (`ip netns exec`; not owned, outlives the
  // zone).
  struct Place {
    std::string host = "127.0.0.1";
    const Netns* netns = nullptr;
  };
  struct Options {
    int64_t lease_ttl_ms = 2000;  // the group file's
    std::string etcd_host = "127.0.0.1";
    std::vector<Place> places;  // kMembers of them; empty: every member on loopback
  };

  // The agents of `zone` are given the members' courts endpoints.
  explicit GroupZone(Zone& zone, int64_t lease_ttl_ms = 2000)
      : GroupZone(zone, Options{lease_ttl_ms, "127.0.0.1", {}}) {}
  GroupZone(Zone& zone, Options options) : zone_(zone), etcd_(options.etcd_host) {
    options.places.resize(kMembers);
    for (int i = 0; i < kMembers; ++i) {
      Member m;
      m.name = "m" + std::to_string(i + 1);
      m.place = options.places[i];
      const std::string tcp = "tcp://" + m.place.host + ":";
      m.courts = tcp + std::to_string(FreePort());
      m.replication = tcp + std::to_string(FreePort());
      m.http_port = FreePort();
      m.cluster_port = FreePort();
      members_.push_back(std::move(m));
    }
    std::string file = "name = \"test-zone\"\netcd = [\"" + etcd_.endpoint() +
                       "\"]\nlease_ttl_ms = " + std::to_string(options.lease_ttl_ms) +
                       "\nmin_in_sync = 2\nack_timeout_ms = 1000\n";
    std::vector<std::string> list;
    for (const Member& m : members_) {
      file += "[[member]]\nname = \"" + m.name + "\"\ncourts = \"" + m.courts +
              "\"\nreplication = \"" + m.replication + "\"\nhttp = \"" + m.place.host + ":" +
              std::to_string(m.cluster_port) + "\"\n";
      // CURVE between members too, each with a key of its own.
      if (!zone_.plaintext()) {
        file +=
            "replication_public_key = \"" + zone_.Keys(m.name + "-replication").public_key + "\"\n";
      }
      list.push_back(m.courts);
    }
    WriteFile(GroupFile(), file);
    zone_.SetBrokerList(list);
  }
  ~GroupZone() {
    std::lock_guard<std::mutex> lock(mu_);
    for (Member& m : members_) {
      if (m.process.running()) m.process.Signal(SIGTERM);
    }
    for (Member& m : members_) {
      if (m.process.running() && !m.process.WaitExited(std::chrono::seconds(10))) {
        m.process.Signal(SIGKILL);
        m.process.Wait();
      }
    }
  }

  std::string GroupFile() const { return zone_.dir() + "/group.toml"; }
  std::string DataDir(int i) const { return zone_.dir() + "/" + members_[i].name; }
  std::string Log(int i) const { return zone_.dir() + "/" + members_[i].name + ".log"; }
  const std::string& Name(int i) const { return members_[i].name; }
  const std::string& Courts(int i) const { return members_[i].courts; }
  const std::string& Replication(int i) const { return members_[i].replication; }
  int HttpPort(int i) const { return members_[i].http_port; }
  int ClusterPort(int i) const { return members_[i].cluster_port; }
  EtcdProcess& etcd() { return etcd_; }

  std::vector<std::string> Argv(int i) const {
    const Member& m = members_[i];
    std::vector<std::string> argv;
    if (m.place.netns) argv = m.place.netns->ExecPrefix();
    argv.insert(argv.end(), {BrokerBin(),
                             "--data-dir",
                             DataDir(i),
                             "--directory",
                             zone_.DirectoryPath(),
                             "--endpoint",
                             m.courts,
                             "--http",
                             m.place.host + ":" + std::to_string(m.http_port),
                             "--heartbeat-ms",
                             "200",
                             "--offline-after-ms",
                             "1000",
                             "--ack-timeout-ms",
                             "1000",
                             "--max-backoff-ms",
                             "4000",
                             "--storage-reserve-mb",
                             "16",
                             "--group",
                             GroupFile(),
                             "--member",
                             m.name});
    if (zone_.plaintext()) {
      argv.push_back("--dev-plaintext");
    } else {
      argv.insert(argv.end(), {"--curve-secret-key-file", zone_.KeyDir() + "/broker.key_secret",
                               "--replication-secret-key-file",
                               zone_.KeyDir() + "/" + m.name + "-replication.key_secret"});
    }
    return argv;
  }

  // Starts member i and waits until its cluster address answers.
  void Start(int i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      members_[i].process = Process::Spawn(Argv(i), {}, Log(i));
    }
    if (!WaitFor([&] { return Cluster(i).has_value() || !Running(i); }, std::chrono::seconds(20)) ||
        !Running(i)) {
      throw std::runtime_error("member " + members_[i].name + " did not start; see " + Log(i));
    }
  }
  void StartAll() {
    for (int i = 0; i < kMembers; ++i) Start(i);
  }
  void Signal(int i, int sig) {
    std::lock_guard<std::mutex> lock(mu_);
    members_[i].process.Signal(sig);
  }
  void Kill(int i) {
    std::lock_guard<std::mutex> lock(mu_);
    members_[i].process.Signal(SIGKILL);
    members_[i].process.Wait();
  }
  // SIGTERM, and waits for its exit.
  void Stop(int i) {
    std::lock_guard<std::mutex> lock(mu_);
    members_[i].process.Signal(SIGTERM);
    if (!members_[i].process.WaitExited(std::chrono::seconds(15))) {
      members_[i].process.Signal(SIGKILL);
      members_[i].process.Wait();
      ADD_FAILURE() << members_[i].name << " did not stop on SIGTERM; see " << Log(i);
    }
  }
  bool Running(int i) {
    std::lock_guard<std::mutex> lock(mu_);
    return members_[i].process.running();
  }

  // GET /api/cluster of member i (from inside its network namespace, if it
  // runs in one); nullopt if it does not answer within 2 s.
  std::optional<weituo::v1::ClusterStatus> Cluster(int i) const {
    const Member& m = members_[i];
    HttpCall call;
    call.host = m.place.host;
    call.port = std::to_string(m.cluster_port);
    call.target = "/api/cluster";
    call.timeout = std::chrono::milliseconds(2000);
    StatusOr<HttpAnswer> answer = Status::Unavailable("not asked");
    if (m.place.netns) {
      m.place.netns->RunInside([&] { answer = CallHttp(call); });
    } else {
      answer = CallHttp(call);
    }
    if (!answer.ok() || answer->status != 200) return std::nullopt;
    const std::string& body = answer->body;
    weituo::v1::ClusterStatus status;
    if (!google::protobuf::util::JsonStringToMessage(body, &status).ok()) return std::nullopt;
    return status;
  }
  // The member that says it leads and that etcd names; -1 if none.
  int Leader() const {
    for (int i = 0; i < kMembers; ++i) {
      auto c = Cluster(i);
      if (c && c->role() == "leader" && c->leader() == members_[i].name) return i;
    }
    return -1;
  }
  int WaitLeader(std::chrono::milliseconds timeout, int not_this = -1) const {
    int leader = -1;
    WaitFor(
        [&] {
          leader = Leader();
          return leader >= 0 && leader != not_this;
        },
        timeout);
    return leader != not_this ? leader : -1;
  }

 private:
  struct Member {
    std::string name, courts, replication;
    Place place;
    int http_port = 0, cluster_port = 0;
    Process process;
  };
  Zone& zone_;
  EtcdProcess etcd_;
  mutable std::mutex mu_;
  std::vector<Member> members_;
};

// Every member's last applied commit is the leader's.
inline bool Converged(GroupZone& group) {
  uint64_t last = 0;
  for (int i = 0; i < GroupZone::kMembers; ++i) {
    auto c = group.Cluster(i);
    if (!c) return false;
    if (i > 0 && c->last_applied() != last) return false;
    last = c->last_applied();
  }
  return last > 0;
}

// Stops every member and compares their stores, and checks each with
// weituoctl verify.
inline void ExpectIdenticalStores(GroupZone& group) {
  for (int i = 0; i < GroupZone::kMembers; ++i) group.Stop(i);
  const std::string first = StoreDigest(group.DataDir(0));
  for (int i = 0; i < GroupZone::kMembers; ++i) {
    EXPECT_EQ(StoreDigest(group.DataDir(i)), first) << "member " << i << " differs from m1";
    CommandResult verified = RunCommand({CtlBin(), "verify", "--data-dir", group.DataDir(i)});
    EXPECT_EQ(verified.exit_code, 0) << "member " << i << ": " << verified.out;
  }
}

}  // namespace weituo::testing
