// 1,000 commissions among the eight courts while the broker is killed with
// SIGKILL at random moments five times. Every receipted commission must end
// COMPLETED exactly once: nothing lost, nothing doubled.
#include <google/protobuf/util/json_util.h>
#include <signal.h>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <thread>

#include "harness.h"
#include "trail.h"
#include "weituo/common/clock.h"
#include "weituo/common/ids.h"

namespace weituo::testing {
namespace {

const std::vector<std::string> kCourts = {"kaihua", "changshan", "chunan",  "dexing",
                                          "wuyuan", "yushan",    "xiuning", "shexian"};

weituo::v1::Commission MakeCommission(const std::string& origin, const std::string& target, int n) {
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

TEST(ChaosTest, ThousandCommissionsSurviveFiveBrokerKills) {
  constexpr int kTotal = 1000;
  constexpr int kKills = 5;
  Zone zone;
  zone.StartBroker();
  for (const std::string& court : kCourts) zone.StartAgent(court, true);

  // Each court sends 125 commissions, round robin over the others.
  std::map<std::string, std::vector<std::string>> sent_by, sent_to;
  std::map<std::string, std::string> files;
  int n = 0;
  for (size_t o = 0; o < kCourts.size(); ++o) {
    std::string lines;
    for (int i = 0; i < kTotal / static_cast<int>(kCourts.size()); ++i, ++n) {
      const std::string& target = kCourts[(o + 1 + i % (kCourts.size() - 1)) % kCourts.size()];
      weituo::v1::Commission c = MakeCommission(kCourts[o], target, n);
      std::string json;
      ASSERT_TRUE(google::protobuf::util::MessageToJsonString(c, &json).ok());
      lines += json + "\n";
      sent_by[kCourts[o]].push_back(c.id());
      sent_to[target].push_back(c.id());
    }
    files[kCourts[o]] = zone.dir() + "/" + kCourts[o] + ".ndjson";
    WriteFile(files[kCourts[o]], lines);
  }

  std::mt19937 rng(std::random_device{}());
  std::thread killer([&] {
    std::uniform_int_distribution<int> pause_ms(100, 600);
    for (int k = 0; k < kKills; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
      zone.KillBroker(SIGKILL);
      zone.StartBroker();
    }
  });
  std::vector<std::thread> submitters;
  std::map<std::string, int> submit_codes;
  std::mutex mu;
  for (const std::string& court : kCourts) {
    submitters.emplace_back([&, court] {
      CommandResult r = zone.Cli(court, {"submit", "-f", files[court], "--wait", "120"});
      std::lock_guard<std::mutex> lock(mu);
      submit_codes[court] = r.exit_code;
    });
  }
  for (auto& t : submitters) t.join();
  killer.join();
  for (const auto& [court, code] : submit_codes) EXPECT_EQ(code, 0) << court << " submit";

  // Every origin sees every one of its commissions completed.
  std::map<std::string, std::vector<weituo::v1::CommissionView>> views;
  bool all_done = WaitFor(
      [&] {
        for (const std::string& court : kCourts) {
          views[court] = ListViews(zone, court);
          int done = 0;
          for (const auto& v : views[court]) {
            done += v.record().is_origin() && v.record().state() == weituo::v1::COMPLETED;
          }
          if (done != static_cast<int>(sent_by[court].size())) return false;
        }
        return true;
      },
      std::chrono::seconds(180));
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
    EXPECT_EQ(mine, std::set<std::string>(sent_by[court].begin(), sent_by[court].end())) << court;
    EXPECT_EQ(theirs, std::set<std::string>(sent_to[court].begin(), sent_to[court].end())) << court;
    received += AgentStatusOf(zone, court).commissions_received();
  }
  EXPECT_EQ(completed_once, kTotal);
  EXPECT_EQ(received, static_cast<uint64_t>(kTotal)) << "a target recorded a commission twice";
}

}  // namespace
}  // namespace weituo::testing
