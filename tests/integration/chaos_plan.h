// Commissions among the eight courts for the tests that kill processes
// under load (chaos_test, the broker group's): a plan of who sends what to
// whom, its submission by every court at once, and the check that every
// commission ended COMPLETED exactly once at its origin and its target.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "trail.h"
#include "weituo/common/clock.h"
#include "weituo/common/ids.h"
#include "weituo/common/json.h"

namespace weituo::testing {

inline const std::vector<std::string> kCourts = {"kaihua", "changshan", "chunan",  "dexing",
                                                 "wuyuan", "yushan",    "xiuning", "shexian"};

inline weituo::v1::Commission MakeCommission(const std::string& origin, const std::string& target,
                                             int n) {
  weituo::v1::Commission c;
  c.set_id(NewUlid(NowMs()));
  c.set_case_number("（2026）测" + std::to_string(n) + "号");
  c.set_origin_court(origin);
  c.set_target_court(target);
  c.mutable_debtor()->set_name("债务人" + std::to_string(n));
  switch (n % 3) {
    case 0:
      c.mutable_debtor_locate()->set_notes("chaos");
      break;
    case 1:
      c.mutable_asset_query()->add_classes(weituo::v1::DEPOSITS);
      c.mutable_asset_query()->add_classes(weituo::v1::VEHICLES);
      break;
    default:
      c.mutable_vehicle_seizure()->set_plate("测A" + std::to_string(10000 + n));
  }
  return c;
}

// Which court sent which commission to which, written as one NDJSON file of
// commissions per origin court.
struct Plan {
  std::map<std::string, std::vector<std::string>> sent_by, sent_to;
  std::map<std::string, std::string> files;
  int total = 0;
};

// The run's seed: WEITUO_CHAOS_SEED if set (a replay), else a fresh one;
// printed either way.
inline uint32_t ChaosSeed() {
  const char* given = std::getenv("WEITUO_CHAOS_SEED");
  const bool replay = given != nullptr && *given != '\0';
  const uint32_t seed = replay ? static_cast<uint32_t>(std::stoul(given)) : std::random_device{}();
  std::cout << "chaos seed: " << seed << (replay ? " (from WEITUO_CHAOS_SEED)" : "")
            << "; replay with WEITUO_CHAOS_SEED=" << seed << std::endl;
  return seed;
}

// `wave` names the files of one of several plans made for one zone.
inline Plan MakePlan(Zone& zone, int per_court, int wave = 0) {
  Plan plan;
  int n = wave * per_court * static_cast<int>(kCourts.size());
  for (size_t o = 0; o < kCourts.size(); ++o) {
    std::string lines;
    for (int i = 0; i < per_court; ++i, ++n) {
      // Round robin over the other seven courts.
      const std::string& target = kCourts[(o + 1 + i % (kCourts.size() - 1)) % kCourts.size()];
      weituo::v1::Commission c = MakeCommission(kCourts[o], target, n);
      const std::string json = weituo::ToJson(c);
      EXPECT_EQ(json.rfind("{\"id\":\"" + c.id() + "\"", 0), 0u) << json;
      lines += json + "\n";
      plan.sent_by[kCourts[o]].push_back(c.id());
      plan.sent_to[target].push_back(c.id());
    }
    plan.files[kCourts[o]] =
        zone.dir() + "/" + kCourts[o] + (wave ? "-" + std::to_string(wave) : "") + ".ndjson";
    WriteFile(plan.files[kCourts[o]], lines);
  }
  plan.total = per_court * static_cast<int>(kCourts.size());
  return plan;
}

// Several plans' commissions as one, for ExpectEachCompletedExactlyOnce.
inline Plan MergePlans(const std::vector<Plan>& plans) {
  Plan all;
  for (const Plan& p : plans) {
    for (const auto& [court, ids] : p.sent_by) {
      all.sent_by[court].insert(all.sent_by[court].end(), ids.begin(), ids.end());
    }
    for (const auto& [court, ids] : p.sent_to) {
      all.sent_to[court].insert(all.sent_to[court].end(), ids.begin(), ids.end());
    }
    all.total += p.total;
  }
  return all;
}

// Submits every court's file at once, one command line per court; returns
// each court's exit code. With retry, a court whose command failed (its
// agent was killed under it) submits the whole file again, as a clerk
// would: the same ids make it idempotent.
inline std::map<std::string, int> SubmitAll(Zone& zone, const Plan& plan, bool retry = false) {
  std::vector<std::thread> submitters;
  std::map<std::string, int> codes;
  std::mutex mu;
  for (const std::string& court : kCourts) {
    submitters.emplace_back([&, court] {
      CommandResult r;
      for (int attempt = 0; attempt < (retry ? 20 : 1); ++attempt) {
        r = zone.Cli(court, {"submit", "-f", plan.files.at(court), "--wait", "120"});
        if (r.exit_code == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      std::lock_guard<std::mutex> lock(mu);
      codes[court] = r.exit_code;
    });
  }
  for (auto& t : submitters) t.join();
  return codes;
}

// Waits until every origin sees all its commissions completed, then checks
// that each completed exactly once, with one of each acknowledgement, and
// that each target recorded each of its commissions exactly once.
inline void ExpectEachCompletedExactlyOnce(Zone& zone, const Plan& plan,
                                           std::chrono::seconds wait = std::chrono::seconds(180)) {
  std::map<std::string, std::vector<weituo::v1::CommissionView>> views;
  bool all_done = WaitFor(
      [&] {
        for (const std::string& court : kCourts) {
          views[court] = ListViews(zone, court);
          int done = 0;
          for (const auto& v : views[court]) {
            done += v.record().is_origin() && v.record().state() == weituo::v1::COMPLETED;
          }
          if (done != static_cast<int>(plan.sent_by.at(court).size())) return false;
        }
        return true;
      },
      wait);
  EXPECT_TRUE(all_done) << "not every commission completed; see " << zone.dir();

  int completed_once = 0;
  uint64_t received = 0;
  for (const std::string& court : kCourts) {
    std::set<std::string> mine, theirs;
    for (const auto& v : views[court]) {
      const std::string& id = v.record().commission().id();
      if (v.record().is_origin()) {
        EXPECT_TRUE(mine.insert(id).second) << "listed twice: " << id;
        EXPECT_EQ(CountEvents(v, weituo::v1::EV_SUBMITTED), 1) << id;
        EXPECT_EQ(CountEvents(v, weituo::v1::EV_DELIVERED), 1) << id;
        EXPECT_EQ(CountEvents(v, weituo::v1::EV_ACCEPTED), 1) << id;
        EXPECT_EQ(CountEvents(v, weituo::v1::EV_PROGRESS), 1) << id;
        EXPECT_EQ(CountEvents(v, weituo::v1::EV_COMPLETED), 1) << id;
        for (int i = 0; i < v.events_size(); ++i) {
          EXPECT_EQ(v.events(i).seq(), static_cast<uint64_t>(i + 1)) << id;
        }
        completed_once += v.record().state() == weituo::v1::COMPLETED &&
                          CountEvents(v, weituo::v1::EV_COMPLETED) == 1;
      } else {
        theirs.insert(id);
      }
    }
    const auto& by = plan.sent_by.at(court);
    const auto& to = plan.sent_to.at(court);
    EXPECT_EQ(mine, std::set<std::string>(by.begin(), by.end())) << court;
    EXPECT_EQ(theirs, std::set<std::string>(to.begin(), to.end())) << court;
    received += AgentStatusOf(zone, court).commissions_received();
  }
  EXPECT_EQ(completed_once, plan.total);
  EXPECT_EQ(received, static_cast<uint64_t>(plan.total)) << "a target recorded one twice";
}

}  // namespace weituo::testing
