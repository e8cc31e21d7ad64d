// The zone's two stories, end to end through real processes and the court's
// command line: Chun'an asks Kaihua (found by the debtor's region code) to
// locate a debtor; Kaihua asks Shexian to seize a vehicle. Each target
// accepts with a named handler, reports progress and completes with a
// typed result; the origin sees all three levels of acknowledgement.
#include <gtest/gtest.h>

#include "harness.h"
#include "trail.h"

namespace weituo::testing {
namespace {

using weituo::v1::CommissionView;

std::string Story(const std::string& name) { return SourceDir() + "/deploy/stories/" + name; }

void PlayStory(Zone& zone, const std::string& origin, const std::string& commission_file,
               const std::string& expected_target, const std::string& result_file,
               weituo::v1::Result::KindCase result_kind) {
  CommandResult submitted = zone.Cli(origin, {"submit", "-f", Story(commission_file)});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out;
  EXPECT_NE(submitted.out.find("receipted -> " + expected_target), std::string::npos)
      << submitted.out;
  std::string id = SubmittedId(submitted);

  ASSERT_TRUE(WaitFor(
      [&] {
        auto inbox = ParseViews(zone.Cli(expected_target, {"inbox", "--json"}).out);
        return inbox.size() == 1 && inbox[0].record().commission().id() == id;
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(
      zone.Cli(expected_target, {"accept", id, "--handler", "李明", "--expected", "2026-12-10"})
          .exit_code,
      0);
  EXPECT_EQ(zone.Cli(expected_target, {"progress", id, "--text", "officers dispatched"}).exit_code,
            0);
  EXPECT_EQ(
      zone.Cli(expected_target, {"complete", id, "--result-file", Story(result_file)}).exit_code,
      0);

  CommissionView view;
  ASSERT_TRUE(WaitFor(
      [&] {
        view = ShowView(zone, origin, id);
        return view.record().state() == weituo::v1::COMPLETED;
      },
      std::chrono::seconds(10)))
      << "origin state " << weituo::v1::State_Name(view.record().state());
  std::vector<weituo::v1::EventType> types;
  for (const auto& e : view.events()) types.push_back(e.type());
  EXPECT_EQ(types, (std::vector<weituo::v1::EventType>{
                       weituo::v1::EV_SUBMITTED, weituo::v1::EV_DELIVERED, weituo::v1::EV_ACCEPTED,
                       weituo::v1::EV_PROGRESS, weituo::v1::EV_COMPLETED}));
  EXPECT_EQ(view.events(2).update().accept().handler(), "李明");
  EXPECT_EQ(view.events(4).update().complete().result().kind_case(), result_kind);
  EXPECT_EQ(view.record().commission().target_court(), expected_target);
  for (int i = 0; i < view.events_size(); ++i) EXPECT_EQ(view.events(i).seq(), uint64_t(i + 1));
}

TEST(StoriesTest, ChunanAsksKaihuaByRegionCodeAndKaihuaAsksShexian) {
  Zone zone;
  zone.StartBroker();
  for (const char* court : {"chunan", "kaihua", "shexian"}) zone.StartAgent(court, false);

  PlayStory(zone, "chunan", "chunan-locate-kaihua.json", "kaihua", "kaihua-locate-result.json",
            weituo::v1::Result::kLocate);
  PlayStory(zone, "kaihua", "kaihua-seize-shexian.json", "shexian", "shexian-seizure-result.json",
            weituo::v1::Result::kSeizure);

  // The broker counted what happened.
  std::string status = StatusShowing(zone, {"\"submitted\":\"2\"", "\"delivered\":\"2\""});
  EXPECT_NE(status.find("\"submitted\":\"2\""), std::string::npos) << status;
  EXPECT_NE(status.find("\"delivered\":\"2\""), std::string::npos) << status;
}

TEST(StoriesTest, OnlyTheTargetActsAndOnlyTheOriginWithdraws) {
  Zone zone;
  zone.StartBroker();
  for (const char* court : {"chunan", "kaihua"}) zone.StartAgent(court, false);
  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", Story("chunan-locate-kaihua.json")});
  ASSERT_EQ(submitted.exit_code, 0);
  std::string id = SubmittedId(submitted);

  // The origin may not accept its own commission: refused, state unchanged.
  EXPECT_EQ(zone.Cli("chunan", {"accept", id, "--handler", "x"}).exit_code, 1);
  // The target may not withdraw it.
  ASSERT_TRUE(
      WaitFor([&] { return !ListViews(zone, "kaihua").empty(); }, std::chrono::seconds(10)));
  EXPECT_EQ(zone.Cli("kaihua", {"withdraw", id}).exit_code, 1);
  // Completing before accepting is an illegal transition.
  EXPECT_EQ(
      zone.Cli("kaihua", {"complete", id, "--result-file", Story("kaihua-locate-result.json")})
          .exit_code,
      1);
  // A seizure result for a locate commission is refused by the agent's own
  // validation before it is queued.
  EXPECT_EQ(zone.Cli("kaihua", {"accept", id, "--handler", "李明"}).exit_code, 0);
  EXPECT_EQ(
      zone.Cli("kaihua", {"complete", id, "--result-file", Story("shexian-seizure-result.json")})
          .exit_code,
      1);
  // The origin withdraws; the target learns of it.
  EXPECT_EQ(zone.Cli("chunan", {"withdraw", id, "--reason", "debtor paid directly"}).exit_code, 0);
  ASSERT_TRUE(WaitFor(
      [&] { return ShowView(zone, "kaihua", id).record().state() == weituo::v1::WITHDRAWN; },
      std::chrono::seconds(10)));
  auto view = ShowView(zone, "chunan", id);
  EXPECT_EQ(view.record().state(), weituo::v1::WITHDRAWN);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_ACCEPTED), 1);
  EXPECT_EQ(CountEvents(view, weituo::v1::EV_COMPLETED), 0);
  std::string status =
      StatusShowing(zone, {"\"PERMISSION_DENIED\":\"2\"", "\"ILLEGAL_TRANSITION\":\"1\""});
  EXPECT_NE(status.find("\"PERMISSION_DENIED\":\"2\""), std::string::npos) << status;
  EXPECT_NE(status.find("\"ILLEGAL_TRANSITION\":\"1\""), std::string::npos) << status;
}

}  // namespace
}  // namespace weituo::testing
