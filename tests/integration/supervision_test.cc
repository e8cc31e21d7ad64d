// Deadlines, escalation and the rest of the lifecycle, with a clock the test
// moves (the broker's --test-clock): warnings and overdue points reach the
// origin, the target and the target's supervisor; 补正 stops the target's
// clock and is deemed withdrawn when unanswered; a forward makes a child
// commission; the not-after date expires a commission; a court offline too
// long is flagged to its supervisor with its liaison; a witness reads and
// does nothing else.
#include <gtest/gtest.h>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <signal.h>
#include <sys/stat.h>

#include <random>
#include <zmq.hpp>

#include "api.h"
#include "harness.h"
#include "raw_agent.h"
#include "trail.h"
#include "weituo/common/deadlines.h"
#include "weituo/common/validation.h"
#include "weituo/v1/status.pb.h"

namespace weituo::testing {
namespace {

using weituo::v1::CommissionTrail;
using weituo::v1::EventType;

constexpr int64_t kHourMs = 3600 * 1000;

// Moves the broker's clock; returns once every deadline then due is applied.
CommissionTrail TrailOf(Zone& zone, const std::string& id) {
  return Parse<CommissionTrail>(zone.HttpGet("/api/commissions/" + id));
}

// The deadline events of a trail as "STAGE/overdue|warning#round".
std::vector<std::string> Crossings(const CommissionTrail& trail) {
  std::vector<std::string> out;
  for (const auto& e : trail.events()) {
    if (!e.has_deadline()) continue;
    out.push_back(std::string(StageName(e.deadline().stage())) +
                  (e.deadline().overdue() ? "/overdue" : "/warning") +
                  (e.deadline().round() > 1 ? "#" + std::to_string(e.deadline().round()) : ""));
  }
  return out;
}

std::string Submit(Zone& zone, const std::string& origin, const std::string& json) {
  static int n = 0;
  std::string file = zone.dir() + "/commission-" + std::to_string(++n) + ".json";
  WriteFile(file, json);
  CommandResult r = zone.Cli(origin, {"submit", "-f", file, "--wait", "10"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return SubmittedId(r);
}

// A debtor-locate commission for Chun'an (region 330127), optionally with
// a not-after date.
std::string LocateInChunan(const std::string& not_after = "") {
  return R"({"caseNumber":"（2026）浙0824执77号","debtor":{"name":"王某","regionCode":"330127"},)"
         R"("originContact":"0570-5550001","campaign":"365-2026",)" +
         (not_after.empty() ? std::string() : R"("notAfter":")" + not_after + R"(",)") +
         R"("debtorLocate":{"notes":"last seen at the market"}})";
}

bool WaitForState(Zone& zone, const std::string& court, const std::string& id,
                  weituo::v1::State state) {
  return WaitFor([&] { return ShowView(zone, court, id).record().state() == state; },
                 std::chrono::seconds(10));
}

TEST(SupervisionTest, DeadlinesWarnThenEscalateToTheTargetsSupervisor) {
  Zone zone;
  zone.StartBroker({"--test-clock"});
  zone.StartAgent("kaihua", false);
  zone.StartAgent("chunan", false);
  zone.StartAgent("hangzhou-intermediate", false);  // Chun'an's superior court

  std::string id = Submit(zone, "kaihua", LocateInChunan());
  ASSERT_TRUE(WaitForState(zone, "kaihua", id, weituo::v1::DELIVERED));
  Advance(zone, 4 * kDayMs);
  EXPECT_TRUE(Crossings(TrailOf(zone, id)).empty()) << "nothing is due in 4 days";

  Advance(zone, kDayMs + kHourMs);  // day 5: the acknowledgement's warning point
  CommissionTrail trail = TrailOf(zone, id);
  EXPECT_EQ(Crossings(trail), std::vector<std::string>{"acknowledge/warning"});
  const auto& warning = trail.events(trail.events_size() - 1);
  EXPECT_EQ(warning.type(), weituo::v1::EV_DEADLINE_WARNING);
  EXPECT_EQ(warning.state(), weituo::v1::DELIVERED) << "a deadline event changes no state";
  EXPECT_EQ(warning.deadline().supervisor(), "hangzhou-intermediate");
  EXPECT_EQ(warning.deadline().due_at_ms(), trail.record().submitted_at_ms() + 7 * kDayMs);
  EXPECT_EQ(warning.actor_court(), "") << "the broker's own event";

  Advance(zone, 2 * kDayMs);  // day 7: overdue
  trail = TrailOf(zone, id);
  EXPECT_EQ(Crossings(trail),
            (std::vector<std::string>{"acknowledge/warning", "acknowledge/overdue"}));
  ASSERT_EQ(trail.record().overdue_now_size(), 1);
  EXPECT_EQ(trail.record().overdue_now(0), weituo::v1::STAGE_ACKNOWLEDGE);

  // Each of the three parties holds both events: the origin and the target
  // in their trails, the supervisor with the commission's summary.
  for (const char* court : {"kaihua", "chunan", "hangzhou-intermediate"}) {
    ASSERT_TRUE(WaitFor(
        [&] {
          auto v = ShowView(zone, court, id);
          return CountEvents(v, weituo::v1::EV_DEADLINE_WARNING) == 1 &&
                 CountEvents(v, weituo::v1::EV_DEADLINE_OVERDUE) == 1;
        },
        std::chrono::seconds(10)))
        << court;
  }
  auto supervised = ShowView(zone, "hangzhou-intermediate", id);
  EXPECT_EQ(supervised.record().commission().case_number(), "（2026）浙0824执77号");
  const auto& escalation = supervised.events(supervised.events_size() - 1);
  EXPECT_EQ(escalation.summary().kind(), weituo::v1::DEBTOR_LOCATE);
  EXPECT_EQ(escalation.summary().debtor_name(), "王某");
  EXPECT_EQ(escalation.summary().origin_contact(), "0570-5550001");
  EXPECT_EQ(escalation.origin_court(), "kaihua");
  EXPECT_EQ(escalation.target_court(), "chunan");
  // The counters, as the next published snapshot shows them.
  EXPECT_TRUE(
      WaitFor([&] { return CounterOf(zone, "escalations") == 2; }, std::chrono::seconds(3)));
  EXPECT_EQ(CounterOf(zone, "deadline_overdue"), 1u);
  EXPECT_EQ(CounterOf(zone, "deadline_warnings"), 1u);

  // Late, but acknowledged: the stage is met, the record remembers it was late.
  ASSERT_EQ(zone.Cli("chunan", {"accept", id, "--handler", "李明", "--wait", "10"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return TrailOf(zone, id).record().overdue_now_size() == 0; },
                      std::chrono::seconds(5)));
  EXPECT_TRUE(TrailOf(zone, id).record().acknowledged_late());
  // The next stage: work started within 15 days (warning at 12).
  Advance(zone, 5 * kDayMs + kHourMs);  // day 12
  EXPECT_EQ(Crossings(TrailOf(zone, id)).back(), "start/warning");
  ASSERT_EQ(
      zone.Cli("chunan", {"progress", id, "--text", "officers sent", "--wait", "10"}).exit_code, 0);
  Advance(zone, 4 * kDayMs);  // day 16: started in time, no overdue for it
  EXPECT_EQ(Crossings(TrailOf(zone, id)).back(), "start/warning");
  // The chain still holds over every event, deadline events included.
  // The supervisor that was told it was late is told of its end.
  ASSERT_EQ(zone.Cli("chunan",
                     {"complete", id, "--result-file",
                      SourceDir() + "/deploy/stories/kaihua-locate-result.json", "--wait", "10"})
                .exit_code,
            0);
  EXPECT_TRUE(WaitForState(zone, "hangzhou-intermediate", id, weituo::v1::COMPLETED));
  CommandResult verify = zone.Ctl({"verify", id});  // over the API, with the admin token
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST(SupervisionTest, DeadlinesAndTheirReviewsSurviveAKilledBroker) {
  Zone zone;
  zone.StartBroker({"--test-clock"});
  zone.StartAgent("kaihua", false);
  zone.StartAgent("chunan", false);
  std::string late = Submit(zone, "kaihua", LocateInChunan());
  std::string accepted = Submit(zone, "kaihua", LocateInChunan());
  ASSERT_TRUE(WaitForState(zone, "chunan", accepted, weituo::v1::DELIVERED));
  Advance(zone, 7 * kDayMs + kHourMs);
  ASSERT_EQ(TrailOf(zone, accepted).record().overdue_now_size(), 1);
  // Accepted, and the broker killed at once: the review the acceptance
  // asked for is in the store, not only in the dead process's memory.
  ASSERT_EQ(zone.Cli("chunan", {"accept", accepted, "--handler", "李明", "--wait", "10"}).exit_code,
            0);
  zone.KillBroker(SIGKILL);
  // A new process's test clock starts at real time again: bring it back to
  // where the old one was. Without the stored review the acceptance would
  // wait for the next deadline point (day 12) to clear "overdue".
  zone.StartBroker({"--test-clock"});
  Advance(zone, 7 * kDayMs + 2 * kHourMs);
  EXPECT_TRUE(WaitFor([&] { return TrailOf(zone, accepted).record().overdue_now_size() == 0; },
                      std::chrono::seconds(5)));
  // The other one's next point (start, at 12 days) still comes. Its
  // acknowledgement's warning was passed by its overdue point in one move.
  Advance(zone, 5 * kDayMs);
  EXPECT_EQ(Crossings(TrailOf(zone, late)),
            (std::vector<std::string>{"acknowledge/overdue", "start/warning"}));
}

TEST(SupervisionTest, NeedsInfoStopsTheTargetsClockAndIsDeemedWithdrawnUnanswered) {
  Zone zone;
  zone.StartBroker({"--test-clock"});
  zone.StartAgent("kaihua", false);
  zone.StartAgent("chunan", false);

  std::string id = Submit(zone, "kaihua", LocateInChunan());
  ASSERT_TRUE(WaitForState(zone, "chunan", id, weituo::v1::DELIVERED));
  ASSERT_EQ(zone.Cli("chunan", {"accept", id, "--handler", "李明", "--wait", "10"}).exit_code, 0);
  ASSERT_EQ(
      zone.Cli("chunan", {"ask-info", id, "--text", "the ruling's second page", "--wait", "10"})
          .exit_code,
      0);
  ASSERT_TRUE(WaitForState(zone, "kaihua", id, weituo::v1::NEEDS_INFO));

  // 20 days waiting for the origin: the target's clock stands still.
  Advance(zone, 20 * kDayMs);
  EXPECT_TRUE(Crossings(TrailOf(zone, id)).empty());
  ASSERT_EQ(zone.Cli("kaihua", {"supply-info", id, "--text", "sent by courier", "--wait", "10"})
                .exit_code,
            0);
  ASSERT_TRUE(WaitForState(zone, "chunan", id, weituo::v1::IN_PROGRESS));
  // 31 days since submission, 11 on the target's clock: no progress report due.
  Advance(zone, 11 * kDayMs);
  EXPECT_TRUE(Crossings(TrailOf(zone, id)).empty());
  // 28 on the target's clock: the report's warning (27 days).
  Advance(zone, 17 * kDayMs);
  EXPECT_EQ(Crossings(TrailOf(zone, id)), std::vector<std::string>{"progress/warning"});

  // Asked again and not answered: the origin is warned at 25 days, and at
  // 30 the commission is deemed withdrawn, for both courts to see.
  ASSERT_EQ(zone.Cli("chunan", {"ask-info", id, "--text", "the debtor's id card", "--wait", "10"})
                .exit_code,
            0);
  Advance(zone, 25 * kDayMs + kHourMs);
  CommissionTrail asked = TrailOf(zone, id);
  EXPECT_EQ(Crossings(asked).back(), "supply_info/warning#2");
  // The origin is the late one: its own superior hears of it.
  EXPECT_EQ(asked.events(asked.events_size() - 1).deadline().supervisor(), "quzhou-intermediate");
  ASSERT_TRUE(WaitFor(
      [&] {
        auto v = ShowView(zone, "kaihua", id);
        return !v.events().empty() &&
               v.events(v.events_size() - 1).deadline().stage() == weituo::v1::STAGE_SUPPLY_INFO;
      },
      std::chrono::seconds(10)))
      << "the origin is told to supply the material";
  Advance(zone, 5 * kDayMs);
  CommissionTrail trail = TrailOf(zone, id);
  EXPECT_EQ(trail.record().state(), weituo::v1::WITHDRAWN);
  EXPECT_TRUE(trail.record().deemed_withdrawn());
  const auto& last = trail.events(trail.events_size() - 1);
  EXPECT_EQ(last.type(), weituo::v1::EV_WITHDRAWN);
  EXPECT_EQ(last.actor_court(), "");
  EXPECT_TRUE(WaitForState(zone, "kaihua", id, weituo::v1::WITHDRAWN));
  EXPECT_TRUE(WaitForState(zone, "chunan", id, weituo::v1::WITHDRAWN));
  // Final: nothing more is ever due.
  Advance(zone, 200 * kDayMs);
  EXPECT_EQ(TrailOf(zone, id).events_size(), trail.events_size());
  EXPECT_EQ(TrailOf(zone, id).record().next_check_ms(), 0);
}

TEST(SupervisionTest, ForwardMakesAChildCommissionTheOriginSeesBesideItsParent) {
  Zone zone;
  zone.StartBroker();
  for (const char* court : {"kaihua", "chunan", "shexian"}) zone.StartAgent(court, false);

  std::string id = Submit(zone, "kaihua", LocateInChunan());
  ASSERT_TRUE(WaitForState(zone, "chunan", id, weituo::v1::DELIVERED));
  // Refused forwards change nothing.
  EXPECT_EQ(zone.Cli("chunan", {"forward", id, "--to", "kaihua", "--wait", "10"}).exit_code, 1)
      << "to the origin is a return, not a forward";
  EXPECT_EQ(zone.Cli("chunan", {"forward", id, "--to", "huangshan-intermediate", "--wait", "10"})
                .exit_code,
            1);
  EXPECT_EQ(zone.Cli("kaihua", {"forward", id, "--to", "shexian", "--wait", "10"}).exit_code, 1)
      << "only the target forwards";
  EXPECT_EQ(TrailOf(zone, id).record().state(), weituo::v1::DELIVERED);

  ASSERT_EQ(zone.Cli("chunan", {"forward", id, "--to", "shexian", "--text",
                                "the debtor moved to Shexian", "--wait", "10"})
                .exit_code,
            0);
  CommissionTrail parent = TrailOf(zone, id);
  EXPECT_EQ(parent.record().state(), weituo::v1::FORWARDED);
  const auto& forwarded = parent.events(parent.events_size() - 1);
  ASSERT_EQ(forwarded.type(), weituo::v1::EV_FORWARDED);
  const std::string child_id = forwarded.child_commission_id();
  ASSERT_FALSE(child_id.empty());

  CommissionTrail child = TrailOf(zone, child_id);
  EXPECT_EQ(child.record().commission().parent_id(), id);
  EXPECT_EQ(child.record().commission().forwarded_by(), "chunan");
  EXPECT_EQ(child.record().commission().origin_court(), "kaihua");
  EXPECT_EQ(child.record().commission().target_court(), "shexian");
  EXPECT_EQ(child.record().commission().case_number(), parent.record().commission().case_number());
  EXPECT_EQ(child.events(0).actor_court(), "chunan");

  // The competent court receives the child and acts on it; the origin sees
  // both, the parent FORWARDED and the child to its end.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto inbox = ParseViews(zone.Cli("shexian", {"inbox", "--json"}).out);
        return inbox.size() == 1 && inbox[0].record().commission().parent_id() == id;
      },
      std::chrono::seconds(10)));
  ASSERT_EQ(
      zone.Cli("shexian", {"accept", child_id, "--handler", "汪平", "--wait", "10"}).exit_code, 0);
  ASSERT_EQ(zone.Cli("shexian",
                     {"complete", child_id, "--result-file",
                      SourceDir() + "/deploy/stories/kaihua-locate-result.json", "--wait", "10"})
                .exit_code,
            0);
  EXPECT_TRUE(WaitForState(zone, "kaihua", id, weituo::v1::FORWARDED));
  EXPECT_TRUE(WaitForState(zone, "kaihua", child_id, weituo::v1::COMPLETED));
  EXPECT_TRUE(ShowView(zone, "kaihua", child_id).record().is_origin());
  EXPECT_EQ(TrailOf(zone, child_id).record().state(), weituo::v1::COMPLETED);
  // In the statistics: one commission sent, received twice (forwarded by
  // Chun'an, completed by Shexian), one case of the campaign.
  auto stats = Parse<weituo::v1::SupervisionStats>(zone.HttpGet("/api/stats"));
  EXPECT_EQ(stats.zone().sent(), 1u);
  EXPECT_EQ(stats.zone().received(), 2u);
  EXPECT_EQ(stats.zone().forwarded(), 1u);
  EXPECT_EQ(stats.zone().completed(), 1u);
  ASSERT_EQ(stats.campaigns_size(), 1);
  EXPECT_EQ(stats.campaigns(0).commissions(), 1u);
  EXPECT_EQ(stats.campaigns(0).amount_recovered_fen(), 2000000);
}

// YYYY-MM-DD of `ms` in China Standard Time.
std::string ChinaDate(int64_t ms) {
  time_t t = static_cast<time_t>((ms + 8 * kHourMs) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[16];
  std::strftime(out, sizeof out, "%Y-%m-%d", &tm);
  return out;
}

TEST(SupervisionTest, ACommissionExpiresAfterItsNotAfterDate) {
  Zone zone;
  zone.StartBroker({"--test-clock"});
  zone.StartAgent("kaihua", false);
  zone.StartAgent("chunan", false);
  std::string id = Submit(zone, "kaihua", LocateInChunan(ChinaDate(NowMs() + 2 * kDayMs)));
  ASSERT_TRUE(WaitForState(zone, "chunan", id, weituo::v1::DELIVERED));
  ASSERT_EQ(zone.Cli("chunan", {"accept", id, "--handler", "李明", "--wait", "10"}).exit_code, 0);
  Advance(zone, kDayMs);
  EXPECT_EQ(TrailOf(zone, id).record().state(), weituo::v1::ACCEPTED);
  Advance(zone, 2 * kDayMs);  // past the end of the not-after day in UTC+8
  CommissionTrail trail = TrailOf(zone, id);
  EXPECT_EQ(trail.record().state(), weituo::v1::EXPIRED);
  EXPECT_EQ(trail.events(trail.events_size() - 1).type(), weituo::v1::EV_EXPIRED);
  EXPECT_TRUE(WaitForState(zone, "kaihua", id, weituo::v1::EXPIRED));
  EXPECT_TRUE(WaitForState(zone, "chunan", id, weituo::v1::EXPIRED));
  // An expired commission takes no more updates.
  EXPECT_EQ(zone.Cli("chunan", {"progress", id, "--text", "late", "--wait", "10"}).exit_code, 1);
}

TEST(SupervisionTest, ACourtOfflineTooLongIsFlaggedToItsSupervisorWithItsLiaison) {
  Zone zone;
  zone.StartBroker({"--test-clock", "--offline-flag-after-ms", std::to_string(6 * kHourMs)});
  zone.StartAgent("quzhou-intermediate", false);  // Kaihua's and Changshan's superior
  zone.StartAgent("changshan", false);
  Advance(zone, 7 * kHourMs);

  // Kaihua never came: flagged, with its liaison. Changshan is online.
  weituo::v1::AgentStatus supervisor;
  ASSERT_TRUE(WaitFor(
      [&] {
        supervisor = AgentStatusOf(zone, "quzhou-intermediate");
        return supervisor.notices_size() >= 1;
      },
      std::chrono::seconds(10)));
  ASSERT_EQ(supervisor.notices_size(), 1) << "only Kaihua; Changshan is online";
  EXPECT_EQ(supervisor.notices(0).court(), "kaihua");
  EXPECT_EQ(supervisor.notices(0).what(), "offline");
  EXPECT_EQ(supervisor.notices(0).liaison().phone(), "0570-5550001");
  EXPECT_FALSE(supervisor.notices(0).liaison().office().empty());
  // Both logs say so; neither gives the liaison's phone or name.
  const std::string logs =
      ReadFile(zone.dir() + "/broker.log") + ReadFile(zone.dir() + "/quzhou-intermediate.log");
  EXPECT_NE(logs.find("msg=\"court offline too long\" court=kaihua"), std::string::npos) << logs;
  EXPECT_NE(logs.find("msg=\"court notice\" court=\"kaihua\""), std::string::npos) << logs;
  EXPECT_EQ(logs.find("0570-5550001"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("联络员 1"), std::string::npos) << logs;
  // The published snapshot follows within a few hundred milliseconds.
  weituo::v1::BrokerStatus status;
  auto kaihua_flagged = [&] {
    status = Parse<weituo::v1::BrokerStatus>(zone.HttpGet("/api/status"));
    for (const auto& c : status.courts()) {
      if (c.court_id() == "kaihua") return c.offline_flagged_since_ms() > 0;
    }
    return false;
  };
  EXPECT_TRUE(WaitFor(kaihua_flagged, std::chrono::seconds(3)));
  for (const auto& c : status.courts()) {
    if (c.court_id() == "kaihua") {
      EXPECT_EQ(c.liaison().phone(), "0570-5550001");
      EXPECT_EQ(c.superior(), "quzhou-intermediate");
    }
    if (c.court_id() == "changshan") {
      EXPECT_EQ(c.offline_flagged_since_ms(), 0);
    }
  }
  // Flagged once per spell, however long it lasts.
  // Advance answers after the tick that saw the new time; one more tick runs
  // on it before the count is read.
  Advance(zone, 7 * kHourMs);
  (void)StatusAfterATick(zone);
  EXPECT_EQ(CounterOf(zone, "offline_flags"), 7u) << "the seven courts without an agent, once each";

  // Kaihua comes back: the flag is cleared and its supervisor told.
  zone.StartAgent("kaihua", false);
  ASSERT_TRUE(WaitFor(
      [&] {
        supervisor = AgentStatusOf(zone, "quzhou-intermediate");
        return supervisor.notices_size() == 2 && supervisor.notices(0).what() == "online";
      },
      std::chrono::seconds(10)));
  EXPECT_TRUE(WaitFor(
      [&] {
        auto s = Parse<weituo::v1::BrokerStatus>(zone.HttpGet("/api/status"));
        for (const auto& c : s.courts()) {
          if (c.court_id() == "kaihua") return c.offline_flagged_since_ms() == 0;
        }
        return false;
      },
      std::chrono::seconds(5)));
}

TEST(SupervisionTest, AWitnessReadsTrailsAndStatisticsAndNothingElse) {
  Zone zone;
  const std::string witness_token = "deputy-wang-3f6b2c9d41e8a07c5d2e9b14f6a3c8e0";
  std::string tokens = zone.dir() + "/witnesses";
  WriteFile(tokens, "# invited deputies\ndeputy-wang " + witness_token + "\n");
  ::chmod(tokens.c_str(), 0644);
  // Others may read it: refused at start.
  CommandResult refused =
      RunCommand({BrokerBin(), "--data-dir", zone.dir() + "/b2", "--directory",
                  zone.DirectoryPath(), "--dev-plaintext", "--witness-tokens-file", tokens});
  EXPECT_EQ(refused.exit_code, 2);
  ::chmod(tokens.c_str(), 0600);

  zone.StartBroker({"--witness-tokens-file", tokens});
  zone.StartAgent("kaihua", true);
  zone.StartAgent("chunan", true);
  std::string id = Submit(zone, "kaihua", LocateInChunan());
  ASSERT_TRUE(WaitForState(zone, "kaihua", id, weituo::v1::COMPLETED));

  std::string body;
  // Without a token nothing but health, metrics and the page itself.
  EXPECT_EQ(Request(zone, "GET", "/api/commissions/" + id, "", &body), 401) << body;
  EXPECT_EQ(Request(zone, "GET", "/api/status", ""), 401);
  EXPECT_EQ(Request(zone, "GET", "/healthz", ""), 200);
  EXPECT_EQ(Request(zone, "GET", "/metrics", ""), 200);
  // The witness reads trails and statistics.
  EXPECT_EQ(Request(zone, "GET", "/api/commissions/" + id, witness_token, &body), 200);
  EXPECT_NE(body.find("EV_COMPLETED"), std::string::npos);
  EXPECT_EQ(Request(zone, "GET", "/api/commissions?court=kaihua", witness_token), 200);
  EXPECT_EQ(Request(zone, "GET", "/api/stats", witness_token, &body), 200);
  EXPECT_NE(body.find("\"completed\":\"1\""), std::string::npos) << body;
  // ... and nothing else.
  EXPECT_EQ(Request(zone, "GET", "/api/status", witness_token, &body), 403);
  EXPECT_NE(body.find("witness 'deputy-wang' may read trails and statistics only"),
            std::string::npos)
      << body;
  EXPECT_EQ(Request(zone, "GET", "/api/parked", witness_token), 403);
  EXPECT_EQ(Request(zone, "POST", "/api/courts/kaihua/pause", witness_token), 403);
  EXPECT_EQ(Request(zone, "POST", "/api/parked/1/redrive", witness_token), 403);
  // The admin still does everything.
  EXPECT_EQ(Request(zone, "GET", "/api/status", AdminToken(zone)), 200);
  EXPECT_EQ(Request(zone, "POST", "/api/courts/kaihua/pause", AdminToken(zone)), 200);
  // The witness's own check of a trail, with its token.
  std::string token_file = zone.dir() + "/witness.token";
  WriteFile(token_file, witness_token + "\n");
  CommandResult verified =
      RunCommand({CtlBin(), "--url", "http://127.0.0.1:" + std::to_string(zone.http_port()),
                  "--token-file", token_file, "verify", id});
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  EXPECT_NE(verified.out.find("verified: "), std::string::npos) << verified.out;
  // The test clock is not there without --test-clock.
  EXPECT_EQ(
      Request(zone, "POST", "/api/test/clock?advance_ms=9223372036854775807", AdminToken(zone)),
      400);
  EXPECT_EQ(Request(zone, "POST", "/api/test/clock?advance_ms=1000", AdminToken(zone)), 409);
}

// ---- Statistics of a generated month ------------------------------------------

// A court's connection that acknowledges what it is delivered, so that the
// broker resends nothing while the test drives it.
class Court {
 public:
  Court(zmq::context_t& ctx, Zone& zone, const std::string& id) : agent_(ctx, zone, id) {
    EXPECT_TRUE(agent_.Hello(id).has_welcome()) << id;
  }
  Envelope Call(const Envelope& request) {
    agent_.Send(request);
    for (;;) {
      Envelope reply = agent_.Receive();
      if (!reply.has_deliver()) return reply;
      Ack(reply.deliver().delivery_id());
    }
  }
  // Acknowledges what was delivered meanwhile and says it is alive.
  void Drain() {
    agent_.set_receive_timeout_ms(0);
    for (Envelope e = agent_.Receive(); e.body_case() != Envelope::BODY_NOT_SET;
         e = agent_.Receive()) {
      if (e.has_deliver()) Ack(e.deliver().delivery_id());
    }
    agent_.set_receive_timeout_ms(5000);
    Envelope beat;
    beat.mutable_heartbeat()->set_at_ms(NowMs());
    agent_.Send(beat);
  }

 private:
  void Ack(uint64_t delivery_id) {
    Envelope ack;
    ack.mutable_ack()->add_delivery_ids(delivery_id);
    agent_.Send(ack);
  }
  RawAgent agent_;
};

enum class Fate { kOpen, kOpenStarted, kComplete, kReturn, kWithdraw };

struct Planned {
  weituo::v1::Commission c;
  int day = 0;
  Fate fate = Fate::kOpen;
  int accept_after = -1;  // days; -1: never
  int end_after = -1;     // complete, return or withdraw after this many days
  weituo::v1::ReturnReason reason = weituo::v1::OTHER_REASON;
  weituo::v1::Result result;
  // What happened by the end of the month.
  bool accepted = false, started = false, ended = false;
};

// The same rules the broker applies, counted here from what the test did.
struct Expected {
  uint64_t sent = 0, received = 0, acknowledged = 0, on_time = 0, completed = 0, returned = 0,
           withdrawn = 0, open = 0, overdue = 0;
  std::map<std::string, uint64_t> sent_by_kind, received_by_kind, returned_by_reason;
  std::vector<double> days_to_complete;
};

double NearestRank(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

void ExpectCourt(const weituo::v1::CourtStats& got, Expected want, const std::string& who) {
  SCOPED_TRACE(who);
  EXPECT_EQ(got.sent(), want.sent);
  EXPECT_EQ(got.received(), want.received);
  EXPECT_EQ(got.acknowledged(), want.acknowledged);
  EXPECT_EQ(got.acknowledged_on_time(), want.on_time);
  EXPECT_EQ(got.completed(), want.completed);
  EXPECT_EQ(got.returned(), want.returned);
  EXPECT_EQ(got.withdrawn(), want.withdrawn);
  EXPECT_EQ(got.open(), want.open);
  EXPECT_EQ(got.overdue_now(), want.overdue);
  using Counts = std::map<std::string, uint64_t>;
  EXPECT_EQ(Counts(got.sent_by_kind().begin(), got.sent_by_kind().end()), want.sent_by_kind);
  EXPECT_EQ(Counts(got.received_by_kind().begin(), got.received_by_kind().end()),
            want.received_by_kind);
  EXPECT_EQ(Counts(got.returned_by_reason().begin(), got.returned_by_reason().end()),
            want.returned_by_reason);
  EXPECT_NEAR(got.median_days_to_complete(), NearestRank(want.days_to_complete, 0.5), 0.01);
  EXPECT_NEAR(got.p90_days_to_complete(), NearestRank(want.days_to_complete, 0.9), 0.01);
}

TEST(SupervisionTest, StatisticsOfAGeneratedMonthMatchAnIndependentCount) {
  Zone zone;
  zone.StartBroker({"--test-clock"});
  const std::vector<std::string> ids = {"kaihua", "changshan", "chunan",  "dexing",
                                        "wuyuan", "yushan",    "xiuning", "shexian"};
  zmq::context_t ctx;
  std::map<std::string, std::unique_ptr<Court>> courts;
  for (const std::string& id : ids) courts[id] = std::make_unique<Court>(ctx, zone, id);

  std::mt19937 rng(20261127);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  constexpr int kDays = 30, kPerDay = 8;
  std::vector<Planned> plan;
  std::vector<int64_t> day_starts;  // the broker's clock when each day began
  int requests = 0;
  auto update = [&](const std::string& court, weituo::v1::Update u) {
    Envelope reply = courts[court]->Call(UpdateOf("r" + std::to_string(++requests), std::move(u)));
    EXPECT_TRUE(reply.has_update_receipt()) << reply.DebugString();
  };

  for (int day = 0; day < kDays; ++day) {
    if (day > 0) Advance(zone, kDayMs);
    day_starts.push_back(NowMs() + day * kDayMs);
    for (int n = 0; n < kPerDay; ++n) {
      Planned p;
      p.day = day;
      const std::string origin = ids[pick(8)];
      std::string target = ids[pick(8)];
      while (target == origin) target = ids[pick(8)];
      p.c = Valid(origin);
      p.c.set_id(NewUlid(NowMs() + day * kDayMs));
      p.c.set_target_court(target);
      p.c.set_case_number("（2026）执" + std::to_string(plan.size() + 1) + "号");
      const int kind = pick(3);
      if (kind == 1) p.c.mutable_asset_query()->add_classes(weituo::v1::DEPOSITS);
      if (kind == 2) p.c.mutable_vehicle_seizure()->set_plate("浙H" + std::to_string(10000 + n));
      if (kind == 0 && pick(2) == 0) p.c.set_campaign("365-2026");
      p.fate = static_cast<Fate>(pick(5));
      const int accept_delays[] = {0, 1, 2, 3, 4, 5, 8, 9, 10};
      if (p.fate != Fate::kWithdraw) p.accept_after = accept_delays[pick(9)];
      if (p.fate == Fate::kOpen && pick(2) == 0) p.accept_after = -1;
      if (p.fate == Fate::kComplete || p.fate == Fate::kReturn) {
        p.end_after = p.accept_after + pick(6);
      }
      if (p.fate == Fate::kWithdraw) p.end_after = pick(7);
      p.reason = static_cast<weituo::v1::ReturnReason>(1 + pick(5));
      if (kind == 0) {
        auto* locate = p.result.mutable_locate();
        if (pick(10) < 7) locate->set_found_at_place("菜市场");
        for (auto m : {weituo::v1::SUMMONED, weituo::v1::DETAINED, weituo::v1::FINED,
                       weituo::v1::PAID, weituo::v1::SETTLED}) {
          if (pick(3) == 0) locate->add_measures(m);
        }
        locate->set_amount_paid_fen(pick(5000000));
      } else if (kind == 1) {
        auto* found = p.result.mutable_assets()->add_assets();
        found->set_asset_class(weituo::v1::DEPOSITS);
        found->set_description("savings account");
      } else {
        p.result.mutable_seizure()->set_held_at("impound lot");
      }
      Envelope receipt = courts[origin]->Call(SubmitOf(p.c));
      ASSERT_TRUE(receipt.has_submit_receipt()) << receipt.DebugString();
      plan.push_back(std::move(p));
    }
    // What was planned for today (new ones too), in plan order.
    for (Planned& p : plan) {
      const std::string& id = p.c.id();
      const int age = day - p.day;
      if (p.accept_after == age && !p.ended) {
        weituo::v1::Update u;
        u.set_commission_id(id);
        u.mutable_accept()->set_handler("承办人");
        update(p.c.target_court(), u);
        p.accepted = true;
        if (p.fate == Fate::kOpenStarted) {
          weituo::v1::Update progress;
          progress.set_commission_id(id);
          progress.mutable_progress()->set_text("under way");
          update(p.c.target_court(), progress);
          p.started = true;
        }
      }
      if (p.end_after == age && !p.ended) {
        weituo::v1::Update u;
        u.set_commission_id(id);
        if (p.fate == Fate::kComplete) {
          *u.mutable_complete()->mutable_result() = p.result;
          update(p.c.target_court(), u);
        } else if (p.fate == Fate::kReturn) {
          u.mutable_return_()->set_reason(p.reason);
          u.mutable_return_()->set_text("see the reason");
          update(p.c.target_court(), u);
        } else {
          u.mutable_withdraw()->set_reason("paid at home");
          update(p.c.origin_court(), u);
        }
        p.ended = true;
      }
    }
    for (auto& [id, court] : courts) court->Drain();
  }
  const int last_day = kDays - 1;
  // Reviews of the last updates run at the broker's next tick.
  (void)StatusAfterATick(zone);

  // The count, from the plan alone.
  std::map<std::string, Expected> want;
  Expected zone_want;
  std::map<std::string, weituo::v1::CampaignStats> campaigns;
  auto count = [&](const Planned& p, Expected& origin, Expected& target) {
    const std::string kind = weituo::v1::Kind_Name(KindOf(p.c));
    origin.sent++;
    origin.sent_by_kind[kind]++;
    target.received++;
    target.received_by_kind[kind]++;
    if (p.accepted) {
      target.acknowledged++;
      if (p.accept_after <= 5) target.on_time++;
    }
    if (p.ended && p.fate == Fate::kComplete) {
      target.completed++;
      target.days_to_complete.push_back(p.end_after);
    } else if (p.ended && p.fate == Fate::kReturn) {
      target.returned++;
      target.returned_by_reason[weituo::v1::ReturnReason_Name(p.reason)]++;
    } else if (p.ended) {
      target.withdrawn++;
    } else {
      target.open++;
      const int age = last_day - p.day;
      const bool asset = p.c.has_asset_query();
      if ((!p.accepted && age >= 7) || (p.accepted && !p.started && age >= 15) ||
          (asset && age >= 7)) {
        target.overdue++;
      }
    }
  };
  for (const Planned& p : plan) {
    count(p, want[p.c.origin_court()], want[p.c.target_court()]);
    count(p, zone_want, zone_want);
    if (p.c.campaign().empty()) continue;
    auto& c = campaigns[p.c.campaign()];
    c.set_campaign(p.c.campaign());
    c.set_commissions(c.commissions() + 1);
    if (!p.ended || p.fate != Fate::kComplete) continue;
    c.set_completed(c.completed() + 1);
    const auto& locate = p.result.locate();
    std::set<int> m(locate.measures().begin(), locate.measures().end());
    if (!locate.found_at_place().empty()) c.set_debtors_located(c.debtors_located() + 1);
    if (m.count(weituo::v1::SUMMONED)) c.set_summoned(c.summoned() + 1);
    if (m.count(weituo::v1::DETAINED) || m.count(weituo::v1::FINED)) {
      c.set_detained_or_fined(c.detained_or_fined() + 1);
    }
    if (m.count(weituo::v1::PAID) || m.count(weituo::v1::SETTLED)) {
      c.set_closed_or_settled(c.closed_or_settled() + 1);
    }
    c.set_amount_recovered_fen(c.amount_recovered_fen() + locate.amount_paid_fen());
  }

  std::string body;
  const std::string month = "/api/stats?from=" + std::to_string(day_starts[0]) +
                            "&to=" + std::to_string(NowMs() + kDays * kDayMs);
  ASSERT_EQ(Request(zone, "GET", month, zone.ReadToken(), &body), 200) << body;
  auto stats = Parse<weituo::v1::SupervisionStats>(body);
  EXPECT_EQ(stats.commissions(), plan.size());
  ASSERT_EQ(stats.courts_size(), 12) << "eight courts and four supervisors";
  for (const auto& c : stats.courts()) {
    if (c.supervisor()) {
      EXPECT_EQ(c.received() + c.sent(), 0u) << c.court_id();
      continue;
    }
    ExpectCourt(c, want[c.court_id()], c.court_id());
  }
  // The zone: each commission once; its "sent" is every commission.
  zone_want.sent = plan.size();
  ExpectCourt(stats.zone(), zone_want, "zone");
  EXPECT_GT(zone_want.overdue, 0u) << "the generated month has overdue commissions";
  EXPECT_GT(zone_want.on_time, 0u);
  EXPECT_LT(zone_want.on_time, zone_want.acknowledged) << "and late acknowledgements";
  ASSERT_EQ(stats.campaigns_size(), 1);
  EXPECT_EQ(stats.campaigns(0).campaign(), "365-2026");
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(stats.campaigns(0), campaigns["365-2026"]))
      << stats.campaigns(0).DebugString() << " want " << campaigns["365-2026"].DebugString();

  // A range counts only what was submitted in it: days 10 to 19.
  ASSERT_EQ(Request(zone, "GET",
                    "/api/stats?court=dexing&from=" + std::to_string(day_starts[10]) +
                        "&to=" + std::to_string(day_starts[20]),
                    zone.ReadToken(), &body),
            200)
      << body;
  stats = Parse<weituo::v1::SupervisionStats>(body);
  Expected dexing;
  uint64_t in_range = 0;
  for (const Planned& p : plan) {
    if (p.day < 10 || p.day >= 20) continue;
    ++in_range;
    Expected other;
    if (p.c.origin_court() == "dexing") count(p, dexing, other);
    if (p.c.target_court() == "dexing") count(p, other, dexing);
  }
  EXPECT_EQ(stats.commissions(), in_range);
  ASSERT_EQ(stats.courts_size(), 1);
  ExpectCourt(stats.courts(0), dexing, "dexing, days 10-19");

  // The operator's command prints the same.
  CommandResult printed = zone.Ctl({"stats", "--from", std::to_string(day_starts[0])});
  EXPECT_EQ(printed.exit_code, 0);
  EXPECT_NE(printed.out.find("campaign 365-2026: " +
                             std::to_string(campaigns["365-2026"].commissions()) + " commissions"),
            std::string::npos)
      << printed.out;
  EXPECT_EQ(zone.Ctl({"stats", "--court", "nowhere"}).exit_code, 1);
  EXPECT_EQ(zone.Ctl({"stats", "--from", "2026-13-40"}).exit_code, 1);
}

}  // namespace
}  // namespace weituo::testing
