// The operator's dashboard in a real browser: Debian's headless Chromium
// loads / from a live broker, runs the page's script against the JSON API
// and dumps the DOM. The test drives a small story with the broker's test
// clock: one commission of a campaign acknowledged late and completed with
// a payment, one left overdue. It finds there the eight courts with their
// superiors, liaisons and offline flags, both commissions (the overdue one
// marked), the supervision panel's counts and the campaign's outcome, and
// the completed commission's trail with its deadline event, and keeps a
// screenshot of the page as an artifact (WEITUO_DASHBOARD_PNG). The page
// gets the operator's read token in its address (#token=...); without one
// it asks for a token and shows no data; restarted with witnesses, a
// witness's token shows the trails and statistics only. Chromium reaches
// only loopback: the page loads nothing from elsewhere and the browser's own
// traffic is off.
#include "dashboard.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "trail.h"
#include "weituo/v1/status.pb.h"

namespace weituo::testing {
namespace {

constexpr char kCaseNumber[] = "（2026）浙0127执1234号";
constexpr int64_t kDayMs = 24 * 3600 * 1000;
// Kaihua asks Chun'an, which never answers: overdue after 7 days.
constexpr char kOverdueCommission[] =
    R"({"caseNumber":"（2026）浙0824执77号","debtor":{"name":"王某","regionCode":"330127"},)"
    R"("originContact":"0570-5550001","campaign":"365-2026",)"
    R"("debtorLocate":{"notes":"last seen at the market"}})";
const std::vector<std::string> kCourts = {"kaihua", "changshan", "chunan",  "dexing",
                                          "wuyuan", "yushan",    "xiuning", "shexian"};

std::string Story(const std::string& name) { return SourceDir() + "/deploy/stories/" + name; }

// The chromium executable on PATH; empty if there is none.
std::string FindChromium() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = dir + "/chromium";
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Runs headless Chromium on `url` with `mode` flags (--dump-dom or
// --screenshot=...). Its profile, home and stderr stay in the zone's folder;
// `timeout` ends a browser that hangs.
CommandResult RunChromium(const Zone& zone, const std::string& chromium, const std::string& url,
                          const std::vector<std::string>& mode) {
  const std::string home = zone.dir() + "/chromium";
  std::filesystem::create_directories(home);
  // sh keeps the browser's home and stderr in the zone's folder.
  std::vector<std::string> argv = {
      "/bin/sh",
      "-c",
      R"(home=$1; shift; export HOME="$home" XDG_CONFIG_HOME="$home" XDG_CACHE_HOME="$home";)"
      R"( exec timeout 60 "$@" 2>>"$home/stderr.log")",
      "sh",
      home,
      chromium,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-sync",
      "--disable-component-update",
      "--disable-extensions",
      // Nothing but 127.0.0.1 resolves: whatever else the browser would fetch fails.
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
      "--user-data-dir=" + home + "/profile",
      "--run-all-compositor-stages-before-draw",
      "--virtual-time-budget=5000",
  };
  argv.insert(argv.end(), mode.begin(), mode.end());
  argv.push_back(url);
  return RunCommand(argv);
}

// The element of `html` that starts at its attribute `marker` (e.g.
// `id="trail"`) up to the first `end` after it; empty if there is none.
std::string Section(const std::string& html, const std::string& marker, const std::string& end) {
  size_t from = html.find(marker);
  if (from == std::string::npos) return "";
  from = html.rfind('<', from);
  size_t to = html.find(end, from);
  return to == std::string::npos ? "" : html.substr(from, to + end.size() - from);
}

std::string Row(const std::string& html, const std::string& attribute) {
  return Section(html, attribute, "</tr>");
}

// The text of the cell with data-field="`field`" in `row` (counts and amounts are plain text).
std::string Field(const std::string& row, const std::string& field) {
  size_t at = row.find("data-field=\"" + field + "\"");
  if (at == std::string::npos) return "<no " + field + ">";
  at = row.find('>', at) + 1;
  return row.substr(at, row.find('<', at) - at);
}

// Moves the broker's clock (--test-clock); returns once every deadline then due is applied.
void Advance(Zone& zone, int64_t ms) {
  const std::string answer = HttpExchange(
      zone.http_port(), "POST /api/test/clock?advance_ms=" + std::to_string(ms) + " HTTP/1.1\r\n" +
                            HostHeader(zone.http_port()) + "Authorization: Bearer " +
                            zone.AdminToken() + "\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
}

weituo::v1::CommissionTrail TrailOf(Zone& zone, const std::string& id) {
  weituo::v1::CommissionTrail trail;
  (void)google::protobuf::util::JsonStringToMessage(zone.HttpGet("/api/commissions/" + id), &trail);
  return trail;
}

TEST(DashboardTest, ChromiumShowsCourtsCommissionsSupervisionAndATrail) {
  const std::string chromium = FindChromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium is not on PATH; deploy/install-deps.sh installs it (apt-get install chromium)";

  Zone zone;
  zone.StartBroker({"--test-clock"});
  zone.StartAgent("chunan", false);
  zone.StartAgent("kaihua", false);
  // The broker serves this library's page at /.
  ASSERT_EQ(zone.HttpGet("/"), std::string(weituo::broker::DashboardHtml()));

  // Chun'an asks Kaihua to locate a debtor (campaign 365-2026); Kaihua asks
  // Chun'an for another, which Chun'an never acknowledges.
  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", Story("chunan-locate-kaihua.json"), "--wait", "10"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out;
  const std::string id = SubmittedId(submitted);
  ASSERT_FALSE(id.empty()) << submitted.out;
  WriteFile(zone.dir() + "/overdue.json", kOverdueCommission);
  submitted = zone.Cli("kaihua", {"submit", "-f", zone.dir() + "/overdue.json", "--wait", "10"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out;
  const std::string overdue_id = SubmittedId(submitted);
  ASSERT_FALSE(overdue_id.empty()) << submitted.out;
  ASSERT_TRUE(WaitFor(
      [&] {
        return TrailOf(zone, id).record().state() == weituo::v1::DELIVERED &&
               TrailOf(zone, overdue_id).record().state() == weituo::v1::DELIVERED;
      },
      std::chrono::seconds(10)))
      << "both commissions delivered";

  // Eight days later both acknowledgements are overdue and escalated, and
  // the courts without an agent are flagged offline to their supervisors.
  ASSERT_NO_FATAL_FAILURE(Advance(zone, 8 * kDayMs));
  // Kaihua acknowledges late, then completes as in the zone's story: the
  // debtor was found, summoned, paid 20,000 yuan and settled.
  CommandResult accepted = zone.Cli("kaihua", {"accept", id, "--handler", "汪平", "--wait", "10"});
  ASSERT_EQ(accepted.exit_code, 0) << accepted.out;
  CommandResult completed = zone.Cli(
      "kaihua",
      {"complete", id, "--result-file", Story("kaihua-locate-result.json"), "--wait", "10"});
  ASSERT_EQ(completed.exit_code, 0) << completed.out;
  weituo::v1::CommissionTrail trail;
  ASSERT_TRUE(WaitFor(
      [&] {
        trail = TrailOf(zone, id);
        return trail.record().state() == weituo::v1::COMPLETED;
      },
      std::chrono::seconds(10)))
      << trail.DebugString();
  ASSERT_EQ(TrailOf(zone, overdue_id).record().overdue_now_size(), 1);
  ASSERT_TRUE(WaitFor(
      [&] {
        weituo::v1::BrokerStatus status;
        (void)google::protobuf::util::JsonStringToMessage(zone.HttpGet("/api/status"), &status);
        for (const auto& c : status.courts()) {
          if (c.court_id() == "dexing") return c.offline_flagged_since_ms() > 0;
        }
        return false;
      },
      std::chrono::seconds(5)))
      << "Dexing, never online, flagged to its supervisor";

  const std::string stderr_log = zone.dir() + "/chromium/stderr.log";
  const std::string base = "http://127.0.0.1:" + std::to_string(zone.http_port()) + "/";
  const std::string with_token = base + "#token=" + zone.ReadToken();
  CommandResult page = RunChromium(zone, chromium, with_token, {"--dump-dom"});
  ASSERT_EQ(page.exit_code, 0) << ReadFile(stderr_log);
  const std::string& dom = page.out;
  // Every fetch of the last refresh answered with the token of the address.
  const std::string connection = Section(dom, "id=\"conn\"", "</span>");
  EXPECT_NE(connection.find(">updated "), std::string::npos) << connection;
  const std::string token_box = Section(dom, "id=\"auth\"", "</div>");
  EXPECT_EQ(token_box.substr(0, token_box.find('>')), "<div id=\"auth\" class=\"ok\"") << token_box;
  EXPECT_NE(token_box.find("A token is in use for this tab."), std::string::npos) << token_box;

  // Courts: connection, superior, liaison (phone shown, office and person
  // on hover) and the offline flag.
  const std::string courts = Section(dom, "id=\"courts\"", "</table>");
  ASSERT_FALSE(courts.empty()) << dom;
  for (const std::string& court : kCourts) {
    const std::string row = Row(courts, "data-court=\"" + court + "\"");
    ASSERT_FALSE(row.empty()) << "no row for " << court << " in " << courts;
    const bool running = court == "chunan" || court == "kaihua";
    EXPECT_NE(row.find(running ? ">online<" : ">offline<"), std::string::npos) << row;
    EXPECT_EQ(row.find("data-flagged-since=") != std::string::npos, !running)
        << "flagged to its supervisor as offline: " << row;
  }
  const std::string kaihua = Row(courts, "data-court=\"kaihua\"");
  EXPECT_NE(kaihua.find("开化县人民法院"), std::string::npos) << kaihua;
  EXPECT_NE(kaihua.find(">quzhou-intermediate<"), std::string::npos) << kaihua;
  EXPECT_NE(kaihua.find(">0570-5550001<"), std::string::npos) << kaihua;
  EXPECT_NE(kaihua.find("title=\"执行局综合科 (enforcement bureau, general office) · 联络员 1\""),
            std::string::npos)
      << kaihua;
  EXPECT_NE(Row(courts, "data-court=\"dexing\"").find(">0793-5550004<"), std::string::npos);

  // Commissions: the completed one, and the overdue one marked.
  const std::string commissions = Section(dom, "id=\"commissions\"", "</table>");
  const std::string row = Row(commissions, "data-commission=\"" + id + "\"");
  ASSERT_FALSE(row.empty()) << "no row for " << id << " in " << commissions;
  EXPECT_NE(row.find(kCaseNumber), std::string::npos) << row;
  EXPECT_NE(row.find("chunan → kaihua"), std::string::npos) << row;
  EXPECT_NE(row.find(">COMPLETED<"), std::string::npos) << row;
  EXPECT_EQ(row.find("data-overdue="), std::string::npos) << row;
  const std::string overdue_row = Row(commissions, "data-commission=\"" + overdue_id + "\"");
  EXPECT_NE(overdue_row.find("data-overdue=\"acknowledge 签收\""), std::string::npos)
      << overdue_row;
  EXPECT_NE(overdue_row.find(">overdue<"), std::string::npos) << overdue_row;
  // The trail opens only on a click (or a #id in the address).
  EXPECT_EQ(Section(dom, "id=\"trail\"", "</section>").find("data-seq="), std::string::npos);

  // Supervision over the last 30 days: what the test did, court by court
  // and for the zone (its row last), and the campaign's outcome.
  const std::string stats = Section(dom, "id=\"stats\"", "</table>");
  ASSERT_FALSE(stats.empty()) << dom;
  const std::string zone_row = Row(stats, "data-stats-court=\"zone\"");
  ASSERT_FALSE(zone_row.empty()) << stats;
  EXPECT_EQ(stats.find("</tr>", stats.find("data-stats-court=\"zone\"")) + 5,
            stats.find("</tbody>"))
      << "the zone's row comes last: " << stats;
  const std::vector<std::pair<std::string, std::string>> zone_counts = {
      {"sent", "2"},      {"received", "2"}, {"acknowledged", "1"}, {"acknowledgedOnTime", "0"},
      {"completed", "1"}, {"returned", "0"}, {"withdrawn", "0"},    {"forwarded", "0"},
      {"expired", "0"},   {"open", "1"},     {"overdueNow", "1"}};
  for (const auto& [field, want] : zone_counts) {
    EXPECT_EQ(Field(zone_row, field), want) << field << " in " << zone_row;
  }
  // Eight days from submission to completion.
  EXPECT_NE(zone_row.find("data-field=\"medianDays\"><span title=\"8 d 0 h\">8.0</span>"),
            std::string::npos)
      << zone_row;
  const std::string kaihua_stats = Row(stats, "data-stats-court=\"kaihua\"");
  EXPECT_EQ(Field(kaihua_stats, "sent"), "1") << kaihua_stats;
  EXPECT_EQ(Field(kaihua_stats, "received"), "1") << kaihua_stats;
  EXPECT_EQ(Field(kaihua_stats, "completed"), "1") << kaihua_stats;
  EXPECT_EQ(Field(kaihua_stats, "overdueNow"), "0") << kaihua_stats;
  const std::string chunan_stats = Row(stats, "data-stats-court=\"chunan\"");
  EXPECT_EQ(Field(chunan_stats, "received"), "1") << chunan_stats;
  EXPECT_EQ(Field(chunan_stats, "open"), "1") << chunan_stats;
  EXPECT_EQ(Field(chunan_stats, "overdueNow"), "1") << chunan_stats;
  const std::string by_stage = Section(dom, "id=\"s-overdue\"", "</div>");
  EXPECT_NE(by_stage.find("data-stage=\"STAGE_ACKNOWLEDGE\">acknowledge 签收 <b>1</b>"),
            std::string::npos)
      << by_stage;
  const std::string campaign =
      Row(Section(dom, "id=\"campaigns\"", "</table>"), "data-campaign=\"365-2026\"");
  ASSERT_FALSE(campaign.empty()) << dom;
  const std::vector<std::pair<std::string, std::string>> outcome = {
      {"commissions", "2"},
      {"completed", "1"},
      {"debtorsLocated", "1"},
      {"summoned", "1"},
      {"detainedOrFined", "0"},
      {"closedOrSettled", "1"},
      {"amountRecovered", "20,000.00 元"}};
  for (const auto& [field, want] : outcome) {
    EXPECT_EQ(Field(campaign, field), want) << field << " in " << campaign;
  }

  // What a click on the row does: the address names the commission, and the
  // page shows its trail, one row per event. The same run keeps the
  // screenshot: a 1280x900 PNG of the page with the trail open.
  const std::filesystem::path png = WEITUO_DASHBOARD_PNG;
  std::filesystem::create_directories(png.parent_path());
  std::filesystem::remove(png);
  CommandResult opened =
      RunChromium(zone, chromium, with_token + "&" + id,
                  {"--dump-dom", "--screenshot=" + png.string(), "--window-size=1280,900"});
  ASSERT_EQ(opened.exit_code, 0) << ReadFile(stderr_log);
  const std::string trail_html = Section(opened.out, "id=\"trail\"", "</section>");
  ASSERT_NE(trail_html.find(id), std::string::npos) << opened.out;
  EXPECT_NE(trail_html.find(kCaseNumber), std::string::npos) << trail_html;
  ASSERT_GE(trail.events_size(), 5) << trail.DebugString();
  for (const auto& event : trail.events()) {
    const std::string type = weituo::v1::EventType_Name(event.type()).substr(3);  // no "EV_"
    const std::string event_row = Row(
        trail_html, "data-seq=\"" + std::to_string(event.seq()) + "\" data-type=\"" + type + "\"");
    EXPECT_FALSE(event_row.empty())
        << "no row for event " << event.seq() << " " << type << " in " << trail_html;
  }
  for (const char* type : {"SUBMITTED", "DELIVERED", "DEADLINE_OVERDUE", "ACCEPTED", "COMPLETED"}) {
    EXPECT_NE(trail_html.find("data-type=\"" + std::string(type) + "\""), std::string::npos)
        << type << " missing from " << trail_html;
  }
  // Updates are rendered: the acceptance names its handler, the result its
  // payment; the deadline event its stage, due date and supervisor.
  EXPECT_NE(Row(trail_html, "data-type=\"ACCEPTED\"").find("handler 汪平"), std::string::npos)
      << trail_html;
  EXPECT_NE(Row(trail_html, "data-type=\"COMPLETED\"").find("paid 20,000.00 元"), std::string::npos)
      << trail_html;
  const std::string deadline = Row(trail_html, "data-type=\"DEADLINE_OVERDUE\"");
  EXPECT_NE(deadline.find("acknowledge 签收 · overdue · due 20"), std::string::npos) << deadline;
  EXPECT_NE(deadline.find("escalated to quzhou-intermediate 衢州市中级人民法院"), std::string::npos)
      << deadline;

  ASSERT_TRUE(std::filesystem::exists(png)) << ReadFile(stderr_log);
  EXPECT_GT(std::filesystem::file_size(png), 20u * 1024) << png;
  const std::string bytes = ReadFile(png.string());
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
           (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);  // IHDR width
  EXPECT_EQ(be32(20), 900u);   // IHDR height

  // Without a token the page is still served but its API is not: the page
  // asks for a token and shows no data, rather than breaking.
  CommandResult locked = RunChromium(zone, chromium, base, {"--dump-dom"});
  ASSERT_EQ(locked.exit_code, 0) << ReadFile(stderr_log);
  const std::string auth = Section(locked.out, "id=\"auth\"", "</div>");
  EXPECT_EQ(auth.substr(0, auth.find('>')), "<div id=\"auth\" class=\"need\"") << "shown: " << auth;
  EXPECT_NE(auth.find("asks for a token"), std::string::npos) << auth;
  EXPECT_NE(auth.find("id=\"auth-token\""), std::string::npos) << auth;
  EXPECT_NE(Section(locked.out, "id=\"conn\"", "</span>").find(">token needed<"),
            std::string::npos);
  EXPECT_NE(Section(locked.out, "id=\"courts\"", "</table>").find("needs a token"),
            std::string::npos);
  EXPECT_NE(Section(locked.out, "id=\"stats\"", "</table>").find("needs a token"),
            std::string::npos);
  EXPECT_EQ(locked.out.find(kCaseNumber), std::string::npos) << "no data without a token";

  // With witnesses configured a witness's token opens the commissions and
  // the statistics, and the page says that courts and status are not its.
  zone.KillBroker(SIGTERM);
  const std::string witnesses = zone.dir() + "/witnesses";
  const std::string witness_token = "3f6b2c9d41e8a07c5d2e9b14f6a3c8e0deputywang";
  WriteFile(witnesses, "deputy-wang " + witness_token + "\n");
  ::chmod(witnesses.c_str(), 0600);
  zone.StartBroker({"--witness-tokens-file", witnesses});
  CommandResult witness =
      RunChromium(zone, chromium, base + "#token=" + witness_token, {"--dump-dom"});
  ASSERT_EQ(witness.exit_code, 0) << ReadFile(stderr_log);
  const std::string witness_box = Section(witness.out, "id=\"auth\"", "</div>");
  EXPECT_EQ(witness_box.substr(0, witness_box.find('>')), "<div id=\"auth\" class=\"witness\"")
      << witness_box;
  EXPECT_NE(Section(witness.out, "id=\"commissions\"", "</table>").find(kCaseNumber),
            std::string::npos)
      << witness.out;
  EXPECT_NE(Section(witness.out, "id=\"courts\"", "</table>").find("not available to a witness"),
            std::string::npos);
}

}  // namespace
}  // namespace weituo::testing
