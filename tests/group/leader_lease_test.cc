#include "weituo/group/leader_lease.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "etcd_process.h"
#include "harness.h"
#include "status_matchers.h"
#include "weituo/common/clock.h"

namespace weituo::group {
namespace {

using ::testing::HasSubstr;
using weituo::testing::EtcdProcess;
using weituo::testing::WaitFor;

constexpr int64_t kTtlMs = 2000;  // etcd's smallest lease with its default timers
constexpr int64_t kMarginMs = 200;
constexpr std::chrono::milliseconds kFailover{kTtlMs + 2000};
constexpr const char* kPrefix = "/weituo/z1/";

// A member and every view its callback was given.
struct Member {
  std::mutex mu;
  std::vector<LeaderLease::View> changes;
  bool ever_leader = false;
  // Last, so destroyed first: its thread calls back into the fields above.
  std::unique_ptr<LeaderLease> lease;
};

class LeaderLeaseTest : public ::testing::Test {
 protected:
  LeaderLeaseConfig Config(const std::string& name) {
    LeaderLeaseConfig c;
    c.endpoints = {etcd_.endpoint()};
    c.prefix = kPrefix;
    c.member = name;
    c.ttl_ms = kTtlMs;
    c.drift_margin_ms = kMarginMs;
    return c;
  }

  Member& Start(const std::string& name) {
    auto m = std::make_unique<Member>();
    Member* raw = m.get();
    auto lease = LeaderLease::Start(Config(name), [raw](const LeaderLease::View& v) {
      std::lock_guard<std::mutex> lock(raw->mu);
      raw->changes.push_back(v);
      raw->ever_leader = raw->ever_leader || v.is_leader;
    });
    EXPECT_TRUE(lease.ok()) << lease.status().ToString();
    m->lease = std::move(lease).value();
    members_[name] = std::move(m);
    return *raw;
  }

  // The one member that holds itself leader, once exactly one does within
  // `timeout`; empty if none does.
  std::string WaitForOneLeader(std::chrono::milliseconds timeout) {
    std::string leader;
    WaitFor(
        [&] {
          leader.clear();
          int count = 0;
          for (auto& [name, m] : members_) {
            if (m->lease && m->lease->IsLeader()) {
              leader = name;
              ++count;
            }
          }
          return count == 1;
        },
        timeout);
    return leader;
  }

  EtcdProcess etcd_;
  EtcdClient client_{{etcd_.endpoint()}, std::chrono::milliseconds(2000)};
  std::map<std::string, std::unique_ptr<Member>> members_;
};

TEST(LeaderLeaseConfigTest, RefusesAConfigThatCannotRenewInTime) {
  LeaderLeaseConfig c;
  c.endpoints = {"http://127.0.0.1:1"};
  c.prefix = kPrefix;
  c.member = "b1";
  c.ttl_ms = 500;
  EXPECT_THAT(LeaderLease::Start(c), StatusIs(StatusCode::kInvalidArgument, HasSubstr("1 s")));
  c.ttl_ms = 3000;
  c.keepalive_interval_ms = 2900;
  EXPECT_THAT(LeaderLease::Start(c),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("cannot renew")));
  c.keepalive_interval_ms = 0;
  c.member = "";
  EXPECT_THAT(LeaderLease::Start(c), StatusIs(StatusCode::kInvalidArgument, HasSubstr("member")));
}

TEST_F(LeaderLeaseTest, ThreeMembersElectExactlyOneWhomAllSee) {
  Start("b1");
  Start("b2");
  Start("b3");
  const std::string leader = WaitForOneLeader(kFailover);
  ASSERT_FALSE(leader.empty()) << "no single leader";

  auto key = client_.Get(std::string(kPrefix) + "leader");
  ASSERT_TRUE(key.ok() && key->has_value());
  EXPECT_EQ((*key)->value, leader);
  const uint64_t term = static_cast<uint64_t>((*key)->create_revision);
  EXPECT_TRUE(WaitFor(
      [&] {
        for (auto& [name, m] : members_) {
          LeaderLease::View v = m->lease->CurrentView();
          if (v.leader != leader || v.term != term || !v.etcd_reachable) return false;
          if (v.is_leader != (name == leader)) return false;
        }
        return true;
      },
      kFailover))
      << "every member sees " << leader << " in term " << term;

  LeaderLease::View v = members_[leader]->lease->CurrentView();
  EXPECT_EQ(v.last_change_reason, "elected");
  const int64_t now = MonotonicMs();
  EXPECT_GT(v.valid_until_ms, now);
  EXPECT_LE(v.valid_until_ms, now + kTtlMs - kMarginMs);
}

TEST_F(LeaderLeaseTest, StoppedLeaderIsReplacedInALaterTermAfterItsValidity) {
  Start("b1");
  Start("b2");
  Start("b3");
  const std::string first = WaitForOneLeader(kFailover);
  ASSERT_FALSE(first.empty());
  const uint64_t first_term = members_[first]->lease->CurrentView().term;

  // As a crash: no revoke, the key stays until etcd expires the lease.
  const int64_t stop_called = MonotonicMs();
  members_[first]->lease->Stop();
  EXPECT_FALSE(members_[first]->lease->IsLeader());
  EXPECT_EQ(members_[first]->lease->LeaseValidUntilMs(), 0);

  const std::string second = WaitForOneLeader(kFailover);
  ASSERT_FALSE(second.empty()) << "no leader within " << kFailover.count() << " ms of the stop";
  EXPECT_NE(second, first);
  LeaderLease::View v = members_[second]->lease->CurrentView();
  EXPECT_GT(v.term, first_term);
  EXPECT_EQ(v.leader, second);
  // etcd kept the old lease to its end (its last keepalive was at most a
  // keepalive interval before the stop): the new leader came after it.
  EXPECT_GE(v.last_change_at_ms, stop_called + kTtlMs / 2);
  EXPECT_LE(v.last_change_at_ms, stop_called + kFailover.count());
}

TEST_F(LeaderLeaseTest, ResignHandsOverAtOnce) {
  Start("b1");
  Start("b2");
  const std::string first = WaitForOneLeader(kFailover);
  ASSERT_FALSE(first.empty());
  const uint64_t first_term = members_[first]->lease->CurrentView().term;

  const int64_t resigned_at = MonotonicMs();
  EXPECT_TRUE(members_[first]->lease->Resign().ok());
  EXPECT_FALSE(members_[first]->lease->IsLeader());
  auto key = client_.Get(std::string(kPrefix) + "leader");
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(!key->has_value() || (*key)->value != first) << "the revoke deleted the key";

  const std::string second = WaitForOneLeader(kFailover);
  ASSERT_FALSE(second.empty());
  EXPECT_NE(second, first);
  EXPECT_GT(members_[second]->lease->CurrentView().term, first_term);
  // A poll interval or so, not a lease's TTL.
  EXPECT_LT(MonotonicMs() - resigned_at, kTtlMs);
}

TEST_F(LeaderLeaseTest, MemberOutsideTheInSyncSetNeverCampaigns) {
  ASSERT_TRUE(client_.Put(std::string(kPrefix) + "isr", R"({"members":["b1","b2"]})").ok());
  Member& b3 = Start("b3");
  // b3 has looked at the group (and, the key absent, decided on a campaign).
  ASSERT_TRUE(WaitFor(
      [&] {
        LeaderLease::View v = b3.lease->CurrentView();
        return v.etcd_reachable && v.leader.empty();
      },
      kFailover));
  Member& b1 = Start("b1");
  ASSERT_EQ(WaitForOneLeader(kFailover), "b1");
  const uint64_t term = b1.lease->CurrentView().term;
  // b3 polls again and sees b1: it had its chances to campaign in between.
  ASSERT_TRUE(WaitFor(
      [&] {
        LeaderLease::View v = b3.lease->CurrentView();
        return v.leader == "b1" && v.term == term;
      },
      kFailover));
  std::lock_guard<std::mutex> lock(b3.mu);
  EXPECT_FALSE(b3.ever_leader);
  EXPECT_FALSE(b3.lease->IsLeader());
}

TEST_F(LeaderLeaseTest, IsrReadAndWrittenByTheLeaderOnly) {
  Member& b1 = Start("b1");
  ASSERT_EQ(WaitForOneLeader(kFailover), "b1");
  Member& b2 = Start("b2");

  auto absent = b1.lease->ReadIsr();
  ASSERT_TRUE(absent.ok()) << absent.status().ToString();
  EXPECT_EQ(absent->mod_revision, 0);
  EXPECT_TRUE(absent->members.empty());

  EXPECT_THAT(b2.lease->WriteIsr({"b2"}, 0),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("not the leader")));
  auto written = b1.lease->WriteIsr({"b1", "b2"}, 0);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto isr = b2.lease->ReadIsr();
  ASSERT_TRUE(isr.ok());
  EXPECT_EQ(isr->members, (std::vector<std::string>{"b1", "b2"}));
  EXPECT_EQ(isr->mod_revision, *written);
  auto raw = client_.Get(std::string(kPrefix) + "isr");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_EQ((*raw)->value, R"({"members":["b1","b2"]})");

  EXPECT_THAT(b1.lease->WriteIsr({"b1"}, 0),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("not written")));
  auto shrunk = b1.lease->WriteIsr({"b1"}, *written);
  ASSERT_TRUE(shrunk.ok()) << shrunk.status().ToString();
  EXPECT_GT(*shrunk, *written);
}

TEST_F(LeaderLeaseTest, LeaderKeyDeletedUnderItIsLeadershipLost) {
  Member& b1 = Start("b1");
  ASSERT_EQ(WaitForOneLeader(kFailover), "b1");
  const uint64_t term = b1.lease->CurrentView().term;
  ASSERT_TRUE(client_.Delete(std::string(kPrefix) + "leader").ok());
  // It notices at its next keepalive and campaigns again: a new term.
  EXPECT_TRUE(WaitFor(
      [&] {
        LeaderLease::View v = b1.lease->CurrentView();
        return v.is_leader && v.term > term;
      },
      kFailover));
  std::lock_guard<std::mutex> lock(b1.mu);
  bool lost = false;
  for (const LeaderLease::View& v : b1.changes) {
    lost = lost || v.last_change_reason == "the leader key is no longer ours";
  }
  EXPECT_TRUE(lost);
}

TEST_F(LeaderLeaseTest, StoppedEtcdEndsLeadershipByItsValidityAndALeaderReturns) {
  Start("b1");
  Start("b2");
  const std::string first = WaitForOneLeader(kFailover);
  ASSERT_FALSE(first.empty());
  LeaderLease& leader = *members_[first]->lease;
  const uint64_t first_term = leader.CurrentView().term;

  etcd_.Pause();
  // No keepalive sent after this can succeed, so no validity can go past:
  const int64_t bound = MonotonicMs() + kTtlMs - kMarginMs;
  int64_t samples = 0;
  int64_t ended_at = 0;
  const int64_t deadline = bound + 2000;
  while (MonotonicMs() < deadline) {
    const int64_t before = MonotonicMs();
    LeaderLease::View v = leader.CurrentView();
    const bool is_leader = leader.IsLeader();
    ++samples;
    if (v.is_leader) {
      ASSERT_LT(before, v.valid_until_ms) << "leader past its own validity";
      ASSERT_LE(v.valid_until_ms, bound) << "validity beyond ttl - margin of the last send";
    }
    if (!v.is_leader && !is_leader) {
      ended_at = MonotonicMs();
      break;
    }
  }
  ASSERT_NE(ended_at, 0) << "still leader " << deadline - bound << " ms past the bound";
  EXPECT_LE(ended_at, bound + 100) << "after " << samples << " samples";
  // And it stays so while etcd is stopped: until the lease thread has seen it.
  ASSERT_TRUE(WaitFor(
      [&] {
        EXPECT_FALSE(leader.IsLeader());
        LeaderLease::View v = leader.CurrentView();
        return !v.etcd_reachable && v.valid_until_ms == 0;
      },
      std::chrono::milliseconds(kTtlMs * 3)));
  for (auto& [name, m] : members_) EXPECT_FALSE(m->lease->IsLeader()) << name;

  etcd_.Resume();
  const std::string next = WaitForOneLeader(std::chrono::milliseconds(kTtlMs * 3 + 5000));
  ASSERT_FALSE(next.empty()) << "no leader after etcd resumed";
  EXPECT_GT(members_[next]->lease->CurrentView().term, first_term);
}

TEST_F(LeaderLeaseTest, LeaderReturnsAfterEtcdRestarts) {
  Start("b1");
  Start("b2");
  ASSERT_FALSE(WaitForOneLeader(kFailover).empty());
  etcd_.Restart();
  EXPECT_FALSE(WaitForOneLeader(std::chrono::milliseconds(kTtlMs * 3 + 5000)).empty());
}

}  // namespace
}  // namespace weituo::group
