// Commissions among the eight courts while the broker, or the agents, are
// killed with SIGKILL at random moments. Every receipted commission must end
// COMPLETED exactly once: nothing lost, nothing doubled.
//
// The moments (and which agent) come from a seed, printed on every run and
// named in every failure ("chaos seed: N"). To replay a run, give its seed:
//   WEITUO_CHAOS_SEED=N ctest --test-dir build -R ChaosTest
// The same seed makes the same kills at the same pauses; the processes'
// own timing still differs from run to run.
#include <signal.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "chaos_plan.h"
#include "harness.h"
#include "trail.h"
#include "weituo/common/clock.h"
#include "weituo/common/ids.h"
#include "weituo/common/json.h"

namespace weituo::testing {
namespace {

TEST(ChaosTest, ThousandCommissionsSurviveFiveBrokerKills) {
  constexpr int kKills = 5;
  Zone zone;
  zone.StartBroker();
  for (const std::string& court : kCourts) zone.StartAgent(court, true);
  Plan plan = MakePlan(zone, 125);
  ASSERT_EQ(plan.total, 1000);

  const uint32_t seed = ChaosSeed();
  SCOPED_TRACE("chaos seed: " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::thread killer([&] {
    std::uniform_int_distribution<int> pause_ms(100, 600);
    for (int k = 0; k < kKills; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
      zone.KillBroker(SIGKILL);
      zone.StartBroker();
    }
  });
  auto codes = SubmitAll(zone, plan);
  killer.join();
  for (const auto& [court, code] : codes) EXPECT_EQ(code, 0) << court << " submit";
  ExpectEachCompletedExactlyOnce(zone, plan);
}

TEST(ChaosTest, AgentsKilledAtRandomLoseAndDoubleNothing) {
  constexpr int kKills = 8;
  Zone zone;
  zone.StartBroker();
  for (const std::string& court : kCourts) zone.StartAgent(court, true);
  Plan plan = MakePlan(zone, 125);

  // While the courts submit, record, acknowledge and answer, SIGKILL one
  // agent at a time at random and start it again from its store.
  const uint32_t seed = ChaosSeed();
  SCOPED_TRACE("chaos seed: " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::thread killer([&] {
    std::uniform_int_distribution<int> pause_ms(100, 500);
    std::uniform_int_distribution<size_t> pick(0, kCourts.size() - 1);
    for (int k = 0; k < kKills; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
      const std::string& court = kCourts[pick(rng)];
      zone.KillAgent(court, SIGKILL);
      zone.StartAgent(court, true);
    }
  });
  auto codes = SubmitAll(zone, plan, /*retry=*/true);
  killer.join();
  for (const auto& [court, code] : codes) EXPECT_EQ(code, 0) << court << " submit";
  ExpectEachCompletedExactlyOnce(zone, plan);
}

}  // namespace
}  // namespace weituo::testing
