// A broker group end to end: a real etcd, three real weituo-broker members,
// the zone's real agents with all three in their broker list. The leader is
// killed, paused, cut off from etcd; followers are killed and wiped; every
// receipted commission must end COMPLETED exactly once, and every member's
// store must hold the same keys and values.
//
// The chaos test's moments come from a seed, printed on every run:
//   WEITUO_CHAOS_SEED=N ctest --test-dir build -R GroupChaos
#include <signal.h>

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "chaos_plan.h"
#include "group_zone.h"
#include "harness.h"
#include "raw_agent.h"
#include "trail.h"
#include "weituo/common/curve.h"
#include "weituo/v1/group.pb.h"

namespace weituo::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class GroupTest : public ::testing::Test {
 protected:
  void StartZone(int per_court) {
    group_.StartAll();
    leader_ = group_.WaitLeader(seconds(20));
    ASSERT_GE(leader_, 0) << "no leader; see " << zone_.dir();
    for (const std::string& court : kCourts) zone_.StartAgent(court, true);
    plan_ = MakePlan(zone_, per_court);
  }
  Zone zone_;
  GroupZone group_{zone_};
  int leader_ = -1;
  Plan plan_;
};

TEST_F(GroupTest, OneLeaderServesAndEveryMemberHoldsEveryCommit) {
  StartZone(5);
  auto codes = SubmitAll(zone_, plan_);
  for (const auto& [court, code] : codes) EXPECT_EQ(code, 0) << court << " submit";
  ExpectEachCompletedExactlyOnce(zone_, plan_);
  EXPECT_TRUE(WaitFor([&] { return Converged(group_); }, seconds(10)));
  auto leader = group_.Cluster(leader_);
  ASSERT_TRUE(leader);
  EXPECT_EQ(leader->in_sync_size(), 3) << leader->DebugString();
  for (int i = 0; i < GroupZone::kMembers; ++i) {
    if (i == leader_) continue;
    auto c = group_.Cluster(i);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->role(), "follower");
    EXPECT_EQ(c->leader(), leader->member());
    EXPECT_EQ(c->term(), leader->term());
  }
  // The same as Prometheus reads it, on every member's cluster address.
  for (int i = 0; i < GroupZone::kMembers; ++i) {
    const std::string metrics = HttpGet(group_.ClusterPort(i), "/metrics");
    EXPECT_NE(metrics.find("weituo_group_is_leader " + std::string(i == leader_ ? "1" : "0")),
              std::string::npos)
        << metrics;
    const std::string file = zone_.dir() + "/metrics-" + std::to_string(i) + ".txt";
    WriteFile(file, metrics);
    CommandResult promtool =
        RunCommand({"/bin/sh", "-c", "promtool check metrics < " + file + " 2>&1"});
    EXPECT_EQ(promtool.exit_code, 0) << promtool.out;
    EXPECT_EQ(promtool.out, "") << promtool.out;
  }
  ExpectIdenticalStores(group_);
}

// Every member serves the operator's read API from its own replica (on its
// --http address, with its own tokens); actions on a follower are refused
// naming the leader, and a follower's backup is of its replica.
TEST_F(GroupTest, FollowersServeReadsFromTheirReplicaAndSendActionsToTheLeader) {
  StartZone(5);
  auto codes = SubmitAll(zone_, plan_);
  for (const auto& [court, code] : codes) EXPECT_EQ(code, 0) << court << " submit";
  ExpectEachCompletedExactlyOnce(zone_, plan_);
  ASSERT_TRUE(WaitFor([&] { return Converged(group_); }, seconds(10)));
  auto token = [&](int i, const char* name) {
    std::string t = ReadFile(group_.DataDir(i) + "/" + name);
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  };
  auto page = [&](int i) {
    weituo::v1::CommissionPage p;
    const std::string body =
        HttpGet(group_.HttpPort(i), "/api/commissions?limit=500", token(i, "read.token"));
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(body, &p).ok())
        << HttpGetAnswer(group_.HttpPort(i), "/api/commissions?limit=500", token(i, "read.token"));
    std::set<std::string> ids;
    for (const auto& r : p.commissions()) ids.insert(r.commission().id());
    return ids;
  };
  const std::set<std::string> leader_ids = page(leader_);
  EXPECT_EQ(leader_ids.size(), static_cast<size_t>(plan_.total));
  const int follower = (leader_ + 1) % GroupZone::kMembers;
  EXPECT_EQ(page(follower), leader_ids);
  ASSERT_FALSE(leader_ids.empty());

  // One trail, the same from the replica as from the leader.
  const std::string trail_path = "/api/commissions/" + *leader_ids.begin();
  const std::string trail =
      HttpGet(group_.HttpPort(follower), trail_path, token(follower, "read.token"));
  EXPECT_EQ(trail, HttpGet(group_.HttpPort(leader_), trail_path, token(leader_, "read.token")));
  EXPECT_NE(trail.find("\"events\""), std::string::npos) << trail;

  // Its status says what it is and what it holds.
  weituo::v1::BrokerStatus status;
  const std::string body =
      HttpGet(group_.HttpPort(follower), "/api/status", token(follower, "read.token"));
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &status).ok()) << body;
  EXPECT_EQ(status.group_role(), "follower");
  EXPECT_EQ(status.group_member(), group_.Name(follower));
  EXPECT_EQ(status.group_leader(), group_.Name(leader_));
  EXPECT_EQ(status.replica_commit(), group_.Cluster(leader_)->last_applied());
  EXPECT_TRUE(status.ready()) << body;
  const auto completed = status.commissions_by_state().find("COMPLETED");
  ASSERT_NE(completed, status.commissions_by_state().end()) << body;
  EXPECT_EQ(completed->second, static_cast<uint64_t>(plan_.total)) << body;

  // An action is refused there, naming the leader; the leader takes it.
  auto post = [&](int i, const std::string& path) {
    return HttpExchange(group_.HttpPort(i), "POST " + path + " HTTP/1.1\r\n" +
                                                HostHeader(group_.HttpPort(i)) +
                                                "Authorization: Bearer " + token(i, "admin.token") +
                                                "\r\nContent-Length: 0\r\n\r\n");
  };
  const std::string pause = "/api/courts/" + kCourts[0] + "/pause";
  const std::string refused = post(follower, pause);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("actions go to the leader, " + group_.Name(leader_)), std::string::npos)
      << refused;
  EXPECT_EQ(post(leader_, pause).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(post(leader_, "/api/courts/" + kCourts[0] + "/resume").rfind("HTTP/1.1 200", 0), 0u);

  // A follower's backup is of its replica, and opens as a store.
  const std::string backup = post(follower, "/api/admin/backup");
  EXPECT_EQ(backup.rfind("HTTP/1.1 200", 0), 0u) << backup;
  size_t stores = 0;
  for (const auto& e : std::filesystem::directory_iterator(group_.DataDir(follower) + "-backups")) {
    stores += e.path().filename().string().starts_with("store-");
  }
  EXPECT_EQ(stores, 1u);
}

// Replication runs over CURVE with each member's key: a key no member has
// does not get through the handshake, and a member's key follows only as
// that member. Both refusals are counted where an operator sees them.
TEST_F(GroupTest, ReplicationRefusesAStrangersKeyAndAMemberNamingAnother) {
  StartZone(1);
  auto refused = [&] { return group_.Cluster(leader_)->replication_refused(); };
  const uint64_t before = refused();
  zmq::context_t ctx;
  auto follower_as = [&](const std::string& key_name, const std::string& member) {
    auto dealer = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    dealer->set(zmq::sockopt::linger, 0);
    const CurveKeyPair mine = zone_.Keys(key_name);
    dealer->set(zmq::sockopt::curve_serverkey,
                zone_.Keys(group_.Name(leader_) + "-replication").public_key);
    dealer->set(zmq::sockopt::curve_publickey, mine.public_key);
    dealer->set(zmq::sockopt::curve_secretkey, mine.secret_key);
    dealer->connect(group_.Replication(leader_));
    weituo::v1::ReplMessage follow;
    follow.mutable_follow()->set_member(member);
    dealer->send(zmq::buffer(follow.SerializeAsString()), zmq::send_flags::dontwait);
    return dealer;
  };
  auto stranger = follower_as("stranger", group_.Name((leader_ + 1) % 3));
  EXPECT_TRUE(WaitFor([&] { return refused() >= before + 1; }, seconds(10)));
  const int other = (leader_ + 1) % 3, third = (leader_ + 2) % 3;
  auto impostor = follower_as(group_.Name(other) + "-replication", group_.Name(third));
  EXPECT_TRUE(WaitFor([&] { return refused() >= before + 2; }, seconds(10)));
  // The members themselves still follow.
  EXPECT_TRUE(WaitFor([&] { return Converged(group_); }, seconds(10)));
  const std::string metrics = HttpGet(group_.ClusterPort(leader_), "/metrics");
  EXPECT_NE(metrics.find("weituo_group_replication_refused_total " + std::to_string(refused())),
            std::string::npos)
      << metrics;
}

TEST_F(GroupTest, LeaderKilledAnotherTakesOverAndTheOldOneRejoins) {
  StartZone(60);
  const uint64_t term = group_.Cluster(leader_)->term();
  std::thread killer([&] {
    std::this_thread::sleep_for(milliseconds(150));
    group_.Kill(leader_);
  });
  auto codes = SubmitAll(zone_, plan_);
  killer.join();
  for (const auto& [court, code] : codes) EXPECT_EQ(code, 0) << court << " submit";
  const int next = group_.WaitLeader(seconds(20), leader_);
  ASSERT_GE(next, 0) << "no new leader; see " << zone_.dir();
  EXPECT_GT(group_.Cluster(next)->term(), term);
  ExpectEachCompletedExactlyOnce(zone_, plan_);
  group_.Start(leader_);
  EXPECT_TRUE(WaitFor([&] { return Converged(group_); }, seconds(20)))
      << "the old leader did not catch up; see " << group_.Log(leader_);
  ExpectIdenticalStores(group_);
}

TEST_F(GroupTest, AFollowerWhoseStoreIsDeletedRejoinsFromACheckpoint) {
  StartZone(5);
  auto codes = SubmitAll(zone_, plan_);
  for (const auto& [court, code] : codes) EXPECT_EQ(code, 0) << court << " submit";
  ExpectEachCompletedExactlyOnce(zone_, plan_);
  const int follower = (leader_ + 1) % GroupZone::kMembers;
  group_.Kill(follower);
  std::filesystem::remove_all(group_.DataDir(follower));
  group_.Start(follower);
  EXPECT_TRUE(WaitFor([&] { return Converged(group_); }, seconds(20)))
      << "see " << group_.Log(follower);
  auto c = group_.Cluster(follower);
  ASSERT_TRUE(c);
  EXPECT_GE(c->snapshots_installed(), 1u);
  ExpectIdenticalStores(group_);
}

// SIGSTOP past the lease: another member leads; the old leader, resumed,
// must not send one receipt of its old term. Its agents' submissions made
// during the pause are receipted by the new leader only.
TEST_F(GroupTest, APausedLeaderResumesWithoutReceiptingAndStepsDown) {
  StartZone(10);
  // A court that talks to the old leader only, and submits while it is
  // paused: whatever that leader does when it wakes, it must not receipt.
  zmq::context_t ctx;
  RawAgent witness(ctx, zone_, "quzhou-intermediate", group_.Courts(leader_));
  ASSERT_TRUE(witness.Hello("quzhou-intermediate").has_welcome());
  witness.skip_deliveries();
  group_.Signal(leader_, SIGSTOP);
  const weituo::v1::Commission paused = Valid("quzhou-intermediate");
  witness.Send(SubmitOf(paused));
  const int next = group_.WaitLeader(seconds(20), leader_);
  ASSERT_GE(next, 0) << "no new leader while the old one is paused";
  auto codes = SubmitAll(zone_, plan_);
  group_.Signal(leader_, SIGCONT);
  for (const auto& [court, code] : codes) EXPECT_EQ(code, 0) << court << " submit";
  // The positive sign: the old leader says it follows the new one.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto c = group_.Cluster(leader_);
        return c && c->role() == "follower" && c->term() > 0;
      },
      seconds(20)))
      << "see " << group_.Log(leader_);
  // Now it answers everything with NOT_LEADER: whatever it sent the witness
  // came before that answer, and none of it is a receipt.
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_at_ms(NowMs());
  bool redirected = false;
  for (int i = 0; i < 50 && !redirected; ++i) {
    witness.Send(heartbeat);
    Envelope got = witness.Receive();
    EXPECT_FALSE(got.has_submit_receipt()) << "a receipt of the old term: " << got.DebugString();
    redirected = got.has_error() && got.error().code() == weituo::v1::NOT_LEADER;
  }
  EXPECT_TRUE(redirected) << "the old leader never said NOT_LEADER";
  ExpectEachCompletedExactlyOnce(zone_, plan_);
  EXPECT_TRUE(WaitFor([&] { return Converged(group_); }, seconds(20)));
  ExpectIdenticalStores(group_);
}

// etcd stopped: the leader stops receipting by its lease's deadline (the
// agents keep their outboxes) and the zone goes on when etcd is back.
TEST_F(GroupTest, WithoutEtcdNobodyReceiptsAndTheZoneResumesWhenItReturns) {
  StartZone(10);
  group_.etcd().Pause();
  // The positive sign that the lease was given up: no member says it leads.
  EXPECT_TRUE(WaitFor(
      [&] {
        for (int i = 0; i < GroupZone::kMembers; ++i) {
          auto c = group_.Cluster(i);
          if (!c || c->role() == "leader") return false;
        }
        return true;
      },
      seconds(15)));
  std::thread resumer([&] {
    std::this_thread::sleep_for(milliseconds(1500));
    group_.etcd().Resume();
  });
  auto codes = SubmitAll(zone_, plan_);
  resumer.join();
  for (const auto& [court, code] : codes) EXPECT_EQ(code, 0) << court << " submit";
  ExpectEachCompletedExactlyOnce(zone_, plan_);
  EXPECT_GE(group_.WaitLeader(seconds(20)), 0);
  EXPECT_TRUE(WaitFor([&] { return Converged(group_); }, seconds(20)));
  ExpectIdenticalStores(group_);
}

// 2,000 commissions among the eight courts, submitted in 50 waves one
// after the other, while the leader is SIGKILLed at random moments, 20
// times, each killed member started again. A kill waits for a wave to
// begin and comes a random 0-40 ms into it, so that it meets commissions
// on their way (the agents fail over in well under a wave's interval, so
// a kill between waves would find the outboxes empty).
TEST_F(GroupTest, GroupChaosTwentyLeaderKillsLoseAndDoubleNothing) {
  constexpr int kKills = 20, kWaves = 50, kPerCourt = 2000 / kWaves / 8;
  constexpr int64_t kWaveEveryMs = 1500;
  StartZone(0);
  std::vector<Plan> waves;
  for (int w = 0; w < kWaves; ++w) waves.push_back(MakePlan(zone_, kPerCourt, w + 1));
  const Plan all = MergePlans(waves);
  ASSERT_EQ(all.total, 2000);
  const uint32_t seed = ChaosSeed();
  SCOPED_TRACE("chaos seed: " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::atomic<int> kills{0}, waves_begun{0};
  std::vector<int64_t> failover_ms, first_receipt_ms;
  std::mutex first_receipt_mu;
  std::vector<std::thread> watchers;
  std::vector<uint64_t> in_flight_at_kill;
  std::thread killer([&] {
    std::uniform_int_distribution<int> pause_ms(0, 600), into_wave_ms(0, 40);
    for (int k = 0; k < kKills; ++k) {
      std::this_thread::sleep_for(milliseconds(pause_ms(rng)));
      const int wave = waves_begun.load();
      // The next wave (none left: at once).
      (void)WaitFor([&] { return waves_begun.load() > wave; }, milliseconds(2 * kWaveEveryMs));
      std::this_thread::sleep_for(milliseconds(into_wave_ms(rng)));
      const int leader = group_.WaitLeader(seconds(30));
      if (leader < 0) {
        ADD_FAILURE() << "no leader before kill " << k;
        return;
      }
      // What the courts hold unreceipted at the kill: each of these is
      // either receipted by the group (and then on every in-sync member)
      // or resent by its agent to the next leader; the checks below find
      // any that was lost or doubled.
      uint64_t in_flight = 0;
      for (const std::string& court : kCourts) {
        in_flight += AgentStatusOf(zone_, court).outbox_pending();
      }
      in_flight_at_kill.push_back(in_flight);
      const int64_t killed_at = MonotonicMs();
      group_.Kill(leader);
      ++kills;
      const int next = group_.WaitLeader(seconds(30), leader);
      failover_ms.push_back(MonotonicMs() - killed_at);
      if (next < 0) ADD_FAILURE() << "no leader after kill " << k;
      // With commissions waiting, until the new leader's first receipt
      // (its submit_to_receipt histogram counts the receipts it has sent),
      // watched beside the kills so that they keep their pace.
      if (next >= 0 && in_flight > 0) {
        watchers.emplace_back([&, next, killed_at] {
          std::string token = ReadFile(group_.DataDir(next) + "/read.token");
          token.erase(token.find_last_not_of("\r\n") + 1);
          const bool receipted = WaitFor(
              [&] {
                weituo::v1::BrokerStatus status;
                const std::string body = HttpGet(group_.HttpPort(next), "/api/status", token);
                return !body.empty() &&
                       google::protobuf::util::JsonStringToMessage(body, &status).ok() &&
                       status.submit_to_receipt().count() > 0;
              },
              seconds(15));
          std::lock_guard<std::mutex> lock(first_receipt_mu);
          if (receipted) first_receipt_ms.push_back(MonotonicMs() - killed_at);
        });
      }
      group_.Start(leader);
    }
  });
  // A wave every 1.5 s at the most.
  std::map<std::string, int> failed;
  const int64_t started = MonotonicMs();
  for (int w = 0; w < kWaves; ++w) {
    const int64_t due = started + w * kWaveEveryMs;
    if (MonotonicMs() < due) std::this_thread::sleep_for(milliseconds(due - MonotonicMs()));
    ++waves_begun;
    for (const auto& [court, code] : SubmitAll(zone_, waves[w], /*retry=*/true)) {
      if (code != 0) failed[court] = code;
    }
  }
  killer.join();
  for (std::thread& w : watchers) w.join();
  EXPECT_EQ(kills.load(), kKills);
  for (const auto& [court, code] : failed) EXPECT_EQ(code, 0) << court << " submit";
  ExpectEachCompletedExactlyOnce(zone_, all, seconds(300));
  std::sort(failover_ms.begin(), failover_ms.end());
  if (!failover_ms.empty()) {
    std::cout << "failover (kill -> a new leader serving), ms: p50 "
              << failover_ms[failover_ms.size() / 2] << " max " << failover_ms.back() << " over "
              << failover_ms.size() << " kills" << std::endl;
  }
  std::sort(first_receipt_ms.begin(), first_receipt_ms.end());
  if (!first_receipt_ms.empty()) {
    std::cout << "failover (kill -> the new leader's first receipt), ms: p50 "
              << first_receipt_ms[first_receipt_ms.size() / 2] << " max " << first_receipt_ms.back()
              << " over " << first_receipt_ms.size() << " kills with commissions waiting"
              << std::endl;
  }
  std::cout << "unreceipted in the courts' outboxes at each kill:";
  int loaded = 0;
  for (uint64_t n : in_flight_at_kill) {
    std::cout << " " << n;
    loaded += n > 0;
  }
  std::cout << std::endl;
  // The kills were under load, not after it.
  EXPECT_GE(loaded, kKills / 2) << "most kills found nothing in flight";
  EXPECT_TRUE(WaitFor([&] { return Converged(group_); }, seconds(30)));
  ExpectIdenticalStores(group_);
}

}  // namespace
}  // namespace weituo::testing
