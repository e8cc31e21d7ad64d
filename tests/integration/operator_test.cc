// The operator's view and levers, against a real broker and agents: the
// JSON API page by page, bad HTTP requests, and every weituoctl subcommand.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <google/protobuf/util/json_util.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <sstream>
#include <zmq.hpp>

#include "api.h"
#include "harness.h"
#include "raw_agent.h"
#include "trail.h"
#include "weituo/v1/status.pb.h"

namespace weituo::testing {
namespace {

// GET with the broker's operator read token.
int Get(Zone& zone, const std::string& target, std::string* body = nullptr) {
  return Request(zone, "GET", target, zone.ReadToken(), body);
}

int Post(Zone& zone, const std::string& target, const std::string& token) {
  return Request(zone, "POST", target, token);
}

std::string LocateTo(const std::string& region, int n) {
  return R"({"caseNumber":"（2026）执)" + std::to_string(n) +
         R"(号","debtor":{"name":"某","regionCode":")" + region + R"("},"debtorLocate":{}})";
}

std::string AssetQueryTo(const std::string& target, int n) {
  return R"({"caseNumber":"（2026）赣执)" + std::to_string(n) + R"(号","targetCourt":")" + target +
         R"(","debtor":{"name":"某公司"},"assetQuery":{"classes":["DEPOSITS"]}})";
}

// Walks every page of `query` and returns the ids in order.
std::vector<std::string> AllPages(Zone& zone, const std::string& query, int* pages) {
  std::vector<std::string> ids;
  std::string after;
  *pages = 0;
  do {
    std::string body;
    EXPECT_EQ(
        Get(zone, "/api/commissions?" + query + (after.empty() ? "" : "&after=" + after), &body),
        200)
        << body;
    auto page = Parse<weituo::v1::CommissionPage>(body);
    for (const auto& r : page.commissions()) ids.push_back(r.commission().id());
    after = page.next_after();
    ++*pages;
  } while (!after.empty() && *pages < 20);
  return ids;
}

TEST(OperatorTest, TheApiPagesFiltersAndShowsTrails) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  zone.StartAgent("dexing", false);
  std::string lines;
  for (int i = 0; i < 25; ++i) lines += LocateTo("330824", i) + "\n";
  WriteFile(zone.dir() + "/locate.ndjson", lines);
  ASSERT_EQ(zone.Cli("chunan", {"submit", "-f", zone.dir() + "/locate.ndjson"}).exit_code, 0);
  lines.clear();
  for (int i = 0; i < 3; ++i) lines += AssetQueryTo("wuyuan", i) + "\n";  // nobody answers
  WriteFile(zone.dir() + "/assets.ndjson", lines);
  ASSERT_EQ(zone.Cli("dexing", {"submit", "-f", zone.dir() + "/assets.ndjson"}).exit_code, 0);
  ASSERT_TRUE(
      WaitFor([&] { return CounterOf(zone, "submitted") == 28; }, std::chrono::seconds(20)));

  int pages = 0;
  std::vector<std::string> newest = AllPages(zone, "limit=10", &pages);
  EXPECT_EQ(newest.size(), 28u);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(std::set<std::string>(newest.begin(), newest.end()).size(), 28u);
  EXPECT_TRUE(std::is_sorted(newest.rbegin(), newest.rend()));
  std::vector<std::string> oldest = AllPages(zone, "limit=7&order=asc", &pages);
  EXPECT_EQ(oldest, std::vector<std::string>(newest.rbegin(), newest.rend()));
  EXPECT_EQ(pages, 5);  // four full pages; a full page always offers a next one

  EXPECT_EQ(AllPages(zone, "court=dexing", &pages).size(), 3u);
  EXPECT_EQ(AllPages(zone, "court=kaihua&limit=5", &pages).size(), 25u);
  EXPECT_EQ(AllPages(zone, "kind=ASSET_QUERY", &pages).size(), 3u);
  std::vector<std::string> waiting = AllPages(zone, "court=wuyuan&state=SUBMITTED", &pages);
  EXPECT_EQ(waiting.size(), 3u);
  // Kaihua's responder completes them all; Wuyuan has no agent.
  ASSERT_TRUE(WaitFor([&] { return AllPages(zone, "state=COMPLETED", &pages).size() == 25; },
                      std::chrono::seconds(30)));
  std::string body;
  ASSERT_EQ(Get(zone, "/api/commissions?state=SUBMITTED", &body), 200);
  auto submitted_page = Parse<weituo::v1::CommissionPage>(body);
  EXPECT_EQ(submitted_page.commissions_size(), 3);
  for (const auto& r : submitted_page.commissions()) EXPECT_EQ(r.state(), weituo::v1::SUBMITTED);

  ASSERT_EQ(Get(zone, "/api/commissions/" + oldest[0], &body), 200);
  auto trail = Parse<weituo::v1::CommissionTrail>(body);
  EXPECT_EQ(trail.record().commission().origin_court(), "chunan");
  ASSERT_GE(trail.events_size(), 5);
  EXPECT_EQ(trail.events(0).type(), weituo::v1::EV_SUBMITTED);
  EXPECT_EQ(trail.events(1).type(), weituo::v1::EV_DELIVERED);
  EXPECT_EQ(trail.events(trail.events_size() - 1).type(), weituo::v1::EV_COMPLETED);

  // Published after the store was seen holding all 25: it counts them.
  auto status = NextBrokerStatus(zone);
  EXPECT_EQ(status.commissions_by_state().at("COMPLETED"), 25u);
  EXPECT_EQ(status.commissions_by_state().at("SUBMITTED"), 3u);
  ASSERT_NE(CourtOf(status, "wuyuan"), nullptr);
  EXPECT_EQ(CourtOf(status, "wuyuan")->pending(), 3u);
  EXPECT_GT(CourtOf(status, "wuyuan")->oldest_pending_ms(), 0);
  EXPECT_FALSE(CourtOf(status, "wuyuan")->online());
  EXPECT_TRUE(CourtOf(status, "kaihua")->online());
  EXPECT_EQ(status.submit_to_receipt().count(), 28u);
  EXPECT_GE(status.submit_to_delivered().count(), 25u);

  // The counts survive a restart without a scan.
  zone.KillBroker(SIGTERM);
  zone.StartBroker();
  status = Parse<weituo::v1::BrokerStatus>(zone.HttpGet("/api/status"));
  EXPECT_EQ(status.commissions_by_state().at("COMPLETED"), 25u);
  EXPECT_EQ(CourtOf(status, "wuyuan")->pending(), 3u);

  std::string metrics = zone.HttpGet("/metrics");
  EXPECT_NE(metrics.find("weituo_court_pending{court=\"wuyuan\"} 3"), std::string::npos);
  EXPECT_NE(metrics.find("weituo_commissions{state=\"COMPLETED\"} 25"), std::string::npos);
  // promtool, as Prometheus would read it.
  WriteFile(zone.dir() + "/metrics.txt", metrics);
  CommandResult promtool =
      RunCommand({"/bin/sh", "-c", "promtool check metrics < " + zone.dir() + "/metrics.txt 2>&1"});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out;
  EXPECT_EQ(promtool.out, "") << promtool.out;
}

TEST(OperatorTest, BadRequestsGetClearAnswersAndTheBrokerKeepsServing) {
  Zone zone;
  zone.StartBroker();
  std::string body;
  EXPECT_EQ(Get(zone, "/nowhere", &body), 404);
  EXPECT_NE(body.find("no such path"), std::string::npos) << body;
  EXPECT_EQ(Get(zone, "/api/commissions?state=LOST", &body), 400);
  EXPECT_NE(body.find("state 'LOST'"), std::string::npos) << body;
  EXPECT_EQ(Get(zone, "/api/commissions?limit=0"), 400);
  EXPECT_EQ(Get(zone, "/api/commissions?limit=abc"), 400);
  EXPECT_EQ(Get(zone, "/api/commissions?kind=SPYING"), 400);
  EXPECT_EQ(Get(zone, "/api/commissions?court=Not%20A%20Court"), 400);
  EXPECT_EQ(Get(zone, "/api/commissions?after=xyz"), 400);
  EXPECT_EQ(Get(zone, "/api/commissions?order=sideways"), 400);
  EXPECT_EQ(Get(zone, "/api/commissions?colour=red", &body), 400);
  EXPECT_NE(body.find("unknown query parameter 'colour'"), std::string::npos) << body;
  EXPECT_EQ(Get(zone, "/api/commissions/not-an-id"), 400);
  EXPECT_EQ(Get(zone, "/api/commissions/01M8FF3833C5BRKS0Y323C7XQS"), 404);
  EXPECT_EQ(Get(zone, "/api/parked?limit=-1"), 400);
  EXPECT_EQ(Post(zone, "/api/status", ""), 405);
  EXPECT_EQ(Get(zone, "/api/courts/kaihua/pause"), 405);
  EXPECT_EQ(Post(zone, "/api/courts/kaihua/pause", ""), 401);
  EXPECT_EQ(Post(zone, "/api/courts/kaihua/pause", "not-the-token"), 401);
  std::string token = AdminToken(zone);
  EXPECT_EQ(Post(zone, "/api/courts/atlantis/pause", token), 404);
  EXPECT_EQ(Post(zone, "/api/parked/12345/redrive", token), 404);
  EXPECT_EQ(RawHttp(zone.http_port(),
                    "GET / HTTP/1.1\r\nX-Big: " + std::string(16 * 1024, 'x') + "\r\n\r\n"),
            431);
  EXPECT_EQ(RawHttp(zone.http_port(), "BLAH\r\n\r\n"), 400);
  // None of it reached the loop: it still receipts a submission.
  zone.StartAgent("chunan", false);
  WriteFile(zone.dir() + "/c.json", LocateTo("330824", 1));
  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", zone.dir() + "/c.json", "--wait", "10"});
  EXPECT_EQ(submitted.exit_code, 0) << submitted.out;
  EXPECT_EQ(Get(zone, "/readyz"), 200);
}

TEST(OperatorTest, WeituoctlShowsTheZoneAndPausesAndResumesACourt) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);

  CommandResult courts = zone.Ctl({"courts"});
  ASSERT_EQ(courts.exit_code, 0);
  for (const char* c :
       {"kaihua", "changshan", "chunan", "dexing", "wuyuan", "yushan", "xiuning", "shexian"}) {
    EXPECT_NE(courts.out.find(c), std::string::npos) << c << " in\n" << courts.out;
  }
  EXPECT_EQ(zone.Ctl({"--json", "status"}).exit_code, 0);
  CommandResult courts_json = zone.Ctl({"courts", "--json"});  // options after, too
  ASSERT_EQ(courts_json.exit_code, 0);
  EXPECT_EQ(courts_json.out.front(), '[');
  EXPECT_NE(zone.Ctl({"status"}).out.find("(curve)"), std::string::npos);

  CommandResult paused = zone.Ctl({"pause", "kaihua"});
  ASSERT_EQ(paused.exit_code, 0) << paused.out;
  EXPECT_NE(paused.out.find("paused"), std::string::npos);
  WriteFile(zone.dir() + "/c.json", LocateTo("330824", 7));
  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", zone.dir() + "/c.json", "--wait", "10"});
  ASSERT_EQ(submitted.exit_code, 0);
  std::string id = SubmittedId(submitted);
  // Stored (the receipt came), and the broker has heard from Kaihua since:
  // it had Kaihua connected with the commission waiting, and sent nothing.
  auto held = StatusAfterHearingFrom(zone, "kaihua");
  EXPECT_EQ(CounterOf(held, "sent"), 0u);
  EXPECT_EQ(CountEvents(ShowView(zone, "chunan", id), weituo::v1::EV_DELIVERED), 0);
  EXPECT_NE(zone.Ctl({"courts"}).out.find("PAUSED"), std::string::npos);
  // Kept across a restart of the broker: Kaihua is heard from again (its
  // Hello is where the broker sends what is pending), and nothing is sent.
  zone.KillBroker(SIGTERM);
  zone.StartBroker();
  held = StatusAfterHearingFrom(zone, "kaihua");
  EXPECT_EQ(CounterOf(held, "sent"), 0u);
  EXPECT_EQ(CountEvents(ShowView(zone, "chunan", id), weituo::v1::EV_DELIVERED), 0);
  auto status = Parse<weituo::v1::BrokerStatus>(zone.HttpGet("/api/status"));
  EXPECT_TRUE(CourtOf(status, "kaihua")->paused());
  EXPECT_EQ(CourtOf(status, "kaihua")->pending(), 1u);

  ASSERT_EQ(zone.Ctl({"resume", "kaihua"}).exit_code, 0);
  EXPECT_TRUE(WaitFor(
      [&] { return ShowView(zone, "chunan", id).record().state() == weituo::v1::COMPLETED; },
      std::chrono::seconds(15)));

  CommandResult list = zone.Ctl({"list", "--court", "chunan"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("COMPLETED"), std::string::npos) << list.out;
  CommandResult shown = zone.Ctl({"show", id});
  ASSERT_EQ(shown.exit_code, 0);
  for (const char* e : {"SUBMITTED", "DELIVERED", "ACCEPTED", "COMPLETED"}) {
    EXPECT_NE(shown.out.find(e), std::string::npos) << e << " in\n" << shown.out;
  }
  auto page = Parse<weituo::v1::CommissionPage>(zone.Ctl({"--json", "list"}).out);
  EXPECT_EQ(page.commissions_size(), 1);

  // Exit codes a script can test.
  EXPECT_EQ(zone.Ctl({"show", "01M8FF3833C5BRKS0Y323C7XQS"}).exit_code, 1);
  EXPECT_EQ(zone.Ctl({"pause", "atlantis"}).exit_code, 1);
  EXPECT_EQ(zone.Ctl({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(
      RunCommand({CtlBin(), "--url", "http://127.0.0.1:" + std::to_string(FreePort()), "status"})
          .exit_code,
      3);
  EXPECT_EQ(RunCommand({CtlBin(), "--url", "http://127.0.0.1:" + std::to_string(zone.http_port()),
                        "pause", "kaihua"})
                .exit_code,
            2);  // no token
}

TEST(OperatorTest, AParkedMessageIsListedAndRedriven) {
  Zone zone;
  zone.StartBroker({"--max-attempts", "2", "--ack-timeout-ms", "200", "--max-backoff-ms", "400"});
  zone.StartAgent("chunan", false);
  zmq::context_t ctx;
  RawAgent kaihua(ctx, zone, "kaihua");  // receives, never acknowledges
  ASSERT_TRUE(kaihua.Hello("kaihua").has_welcome());
  WriteFile(zone.dir() + "/c.json", LocateTo("330824", 9));
  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", zone.dir() + "/c.json", "--wait", "10"});
  ASSERT_EQ(submitted.exit_code, 0);
  std::string id = SubmittedId(submitted);
  // The raw court sends no heartbeats of its own: it sends one each time it
  // looks, or a slow run (under TSan: the agent's start and the submission
  // take seconds) outlasts the broker's offline timeout, the court is
  // offline and nothing is sent to it, so nothing is parked.
  Envelope heartbeat;
  heartbeat.mutable_heartbeat();
  ASSERT_TRUE(WaitFor(
      [&] {
        kaihua.Send(heartbeat);
        return CounterOf(zone, "parked") == 1;
      },
      std::chrono::seconds(10)));

  CommandResult parked = zone.Ctl({"parked"});
  ASSERT_EQ(parked.exit_code, 0);
  EXPECT_NE(parked.out.find("commission " + id), std::string::npos) << parked.out;
  EXPECT_NE(parked.out.find("not acknowledged after 2 attempts"), std::string::npos);
  auto page = Parse<weituo::v1::ParkedPage>(zone.Ctl({"--json", "parked"}).out);
  ASSERT_EQ(page.items_size(), 1);
  EXPECT_EQ(
      CourtOf(Parse<weituo::v1::BrokerStatus>(zone.HttpGet("/api/status")), "kaihua")->parked(),
      1u);

  // Drain what was sent before it was parked, then redrive by commission id.
  kaihua.set_receive_timeout_ms(300);
  while (kaihua.Receive().has_deliver()) {
  }
  // Silent while it drained, the court is offline again: a word from it
  // brings it back, and it keeps sending them while it waits for the
  // redrive, for the same reason as above.
  kaihua.Send(heartbeat);
  CommandResult redriven = zone.Ctl({"redrive", id});
  ASSERT_EQ(redriven.exit_code, 0) << redriven.out;
  EXPECT_NE(redriven.out.find("1 parked message(s) queued again"), std::string::npos);
  kaihua.set_receive_timeout_ms(250);
  Envelope again;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       again.body_case() == Envelope::BODY_NOT_SET &&
       std::chrono::steady_clock::now() < deadline;) {
    kaihua.Send(heartbeat);
    again = kaihua.Receive();
  }
  ASSERT_TRUE(again.has_deliver()) << again.DebugString();
  EXPECT_EQ(again.deliver().commission().id(), id);
  Envelope ack;
  ack.mutable_ack()->add_delivery_ids(again.deliver().delivery_id());
  kaihua.Send(ack);
  EXPECT_TRUE(WaitFor(
      [&] { return CountEvents(ShowView(zone, "chunan", id), weituo::v1::EV_DELIVERED) == 1; },
      std::chrono::seconds(10)));
  EXPECT_EQ(Parse<weituo::v1::ParkedPage>(zone.Ctl({"--json", "parked"}).out).items_size(), 0);
  EXPECT_NE(ReadFile(zone.dir() + "/broker.log").find("msg=redriven court=kaihua"),
            std::string::npos);
  EXPECT_EQ(zone.Ctl({"redrive", id}).exit_code, 1);  // nothing parked any more
}

}  // namespace
}  // namespace weituo::testing
