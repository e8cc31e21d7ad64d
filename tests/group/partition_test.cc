// A broker group split by the network: the leader runs in a network
// namespace of the test's own (tests/support/netns.h), joined to the rest
// (etcd, the two other members, the courts' agents, all in the root
// namespace on the root end of the veth pair) only by that pair. Taking the
// pair down mid-load cuts the leader off from etcd and from its followers:
// the minority side must stop receipting, the majority side must elect a
// leader in a higher term, and after healing the old leader must rejoin as a
// follower with nothing lost or doubled.
//
// Needs root with CAP_NET_ADMIN and /usr/sbin/ip (deploy/test.sh runs as
// root; deploy/install-deps.sh installs iproute2); without them it fails.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <thread>
#include <zmq.hpp>

#include "chaos_plan.h"
#include "group_zone.h"
#include "harness.h"
#include "netns.h"
#include "raw_agent.h"
#include "weituo/common/clock.h"

namespace weituo::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kLeaseTtlMs = 2000;
constexpr int kCutOff = 0;  // m1, in the namespace
const std::string kWitness = "quzhou-intermediate";

class PartitionTest : public ::testing::Test {
 protected:
  GroupZone::Options Places() const {
    GroupZone::Options options;
    options.lease_ttl_ms = kLeaseTtlMs;
    options.etcd_host = netns_.outer();
    options.places = {
        {netns_.inner(), &netns_}, {netns_.outer(), nullptr}, {netns_.outer(), nullptr}};
    return options;
  }

  // Declared first, destroyed last: every member has stopped by then.
  Netns netns_{'a'};
  Zone zone_;
  GroupZone group_{zone_, Places()};
};

TEST_F(PartitionTest, TheCutOffLeaderStopsReceiptingAndRejoinsAfterHealing) {
  // m1 starts alone, so it wins the bootstrap election; then the others,
  // and the load starts once both are in the in-sync set.
  group_.Start(kCutOff);
  ASSERT_EQ(group_.WaitLeader(seconds(20)), kCutOff) << "see " << group_.Log(kCutOff);
  group_.Start(1);
  group_.Start(2);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto c = group_.Cluster(kCutOff);
        return c && c->role() == "leader" && c->in_sync_size() == 3;
      },
      seconds(20)))
      << "the followers did not join m1's in-sync set; see " << zone_.dir();
  const uint64_t term = group_.Cluster(kCutOff)->term();
  for (const std::string& court : kCourts) zone_.StartAgent(court, true);
  const Plan plan = MakePlan(zone_, 60);

  // A court inside the namespace, connected to m1 only: it stays connected
  // through the partition, so whatever m1 does on the minority side, the
  // witness would see it.
  std::unique_ptr<zmq::context_t> ctx;
  std::unique_ptr<RawAgent> witness;
  netns_.RunInside([&] {
    ctx = std::make_unique<zmq::context_t>();
    witness = std::make_unique<RawAgent>(*ctx, zone_, kWitness, group_.Courts(kCutOff));
  });
  ASSERT_TRUE(witness->Hello(kWitness).has_welcome());
  witness->skip_deliveries();

  const uint64_t before = group_.Cluster(kCutOff)->last_applied();
  std::map<std::string, int> codes;
  std::atomic<bool> load_done{false};
  // A jthread: joined on every way out, an ASSERT too.
  std::jthread load([&] {
    codes = SubmitAll(zone_, plan, /*retry=*/true);
    load_done = true;
  });
  // Mid-load: m1 has committed a few turns of the plan (a turn's commit
  // holds many commissions), and the courts are still submitting.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto c = group_.Cluster(kCutOff);
        return load_done || (c && c->last_applied() >= before + 5);
      },
      seconds(30)))
      << "the load did not start; see " << zone_.dir();
  EXPECT_FALSE(load_done) << "the load ended before the partition";

  netns_.Partition();
  const int64_t cut_at = MonotonicMs();
  // m1 still holds its lease when this arrives; it must not receipt it.
  witness->Send(SubmitOf(Valid(kWitness)));

  // The minority side's own word, read inside the namespace: it no longer
  // leads, by the lease's TTL (its deadline comes before) plus a margin for
  // the loop to notice and the page to say so.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto c = group_.Cluster(kCutOff);
        return c && c->role() != "leader";
      },
      milliseconds(kLeaseTtlMs + 1500)))
      << "m1 still says it leads; see " << group_.Log(kCutOff);
  const int64_t stepped_down_ms = MonotonicMs() - cut_at;

  // The majority side leads in a higher term.
  const int next = group_.WaitLeader(seconds(20), kCutOff);
  ASSERT_GE(next, 1) << "no leader on the majority side; see " << zone_.dir();
  const int64_t majority_leads_ms = MonotonicMs() - cut_at;
  const uint64_t next_term = group_.Cluster(next)->term();
  EXPECT_GT(next_term, term);
  std::cout << "partition: m1 stopped leading " << stepped_down_ms << " ms after the cut, "
            << group_.Name(next) << " led (term " << next_term << ") after " << majority_leads_ms
            << " ms" << std::endl;

  // The witness got no receipt of the old term: m1 answers it NOT_LEADER.
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_at_ms(NowMs());
  bool redirected = false;
  for (int i = 0; i < 50 && !redirected; ++i) {
    witness->Send(heartbeat);
    Envelope got = witness->Receive();
    EXPECT_FALSE(got.has_submit_receipt())
        << "a receipt on the minority side: " << got.DebugString();
    redirected = got.has_error() && got.error().code() == weituo::v1::NOT_LEADER;
  }
  EXPECT_TRUE(redirected) << "the cut-off m1 never said NOT_LEADER";

  netns_.Heal();
  const int64_t healed_at = MonotonicMs();
  load.join();
  for (const auto& [court, code] : codes) EXPECT_EQ(code, 0) << court << " submit";

  // m1 follows the new leader, and catches up with it.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto c = group_.Cluster(kCutOff);
        return c && c->role() == "follower" && c->leader() == group_.Name(next) &&
               c->term() == next_term;
      },
      seconds(20)))
      << "m1 did not follow " << group_.Name(next) << "; see " << group_.Log(kCutOff);
  ExpectEachCompletedExactlyOnce(zone_, plan);
  EXPECT_TRUE(WaitFor([&] { return Converged(group_); }, seconds(30)))
      << "m1 did not catch up; see " << group_.Log(kCutOff);
  std::cout << "partition: converged " << MonotonicMs() - healed_at << " ms after healing"
            << std::endl;
  EXPECT_EQ(group_.Leader(), next) << "the leadership moved after healing";
  witness.reset();
  ctx.reset();
  ExpectIdenticalStores(group_);
}

}  // namespace
}  // namespace weituo::testing
