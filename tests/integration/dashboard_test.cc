// The operator's dashboard in a real browser: Debian's headless Chromium
// loads / from a live broker, runs the page's script against the JSON API
// and dumps the DOM; the test finds the eight courts, a commission submitted
// during the test and its trail there, and keeps a screenshot of the page as
// an artifact (WEITUO_DASHBOARD_PNG). Chromium reaches only loopback: the
// page loads nothing from elsewhere and the browser's own traffic is off.
#include "dashboard.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
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

weituo::v1::CommissionTrail TrailOf(Zone& zone, const std::string& id) {
  weituo::v1::CommissionTrail trail;
  (void)google::protobuf::util::JsonStringToMessage(zone.HttpGet("/api/commissions/" + id), &trail);
  return trail;
}

TEST(DashboardTest, ChromiumShowsTheCourtsANewCommissionAndItsTrail) {
  const std::string chromium = FindChromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium is not on PATH; deploy/install-deps.sh installs it (apt-get install chromium)";

  Zone zone;
  zone.StartBroker();
  zone.StartAgent("chunan", false);
  zone.StartAgent("kaihua", true);
  // The broker serves this library's page at /.
  ASSERT_EQ(zone.HttpGet("/"), std::string(weituo::broker::DashboardHtml()));

  CommandResult submitted =
      zone.Cli("chunan", {"submit", "-f", Story("chunan-locate-kaihua.json")});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out;
  const std::string id = SubmittedId(submitted);
  ASSERT_FALSE(id.empty()) << submitted.out;
  ASSERT_TRUE(WaitFor(
      [&] {
        return zone.HttpGet("/api/commissions?limit=20&order=desc").find("\"" + id + "\"") !=
               std::string::npos;
      },
      std::chrono::seconds(10)))
      << "the API never listed " << id;
  // Kaihua's demo responder accepts and completes it; wait for the whole trail.
  weituo::v1::CommissionTrail trail;
  ASSERT_TRUE(WaitFor(
      [&] {
        trail = TrailOf(zone, id);
        return trail.record().state() == weituo::v1::COMPLETED;
      },
      std::chrono::seconds(10)))
      << trail.DebugString();

  const std::string stderr_log = zone.dir() + "/chromium/stderr.log";
  CommandResult page = RunChromium(
      zone, chromium, "http://127.0.0.1:" + std::to_string(zone.http_port()) + "/", {"--dump-dom"});
  ASSERT_EQ(page.exit_code, 0) << ReadFile(stderr_log);
  const std::string& dom = page.out;
  // Every fetch of the last refresh answered.
  const std::string connection = Section(dom, "id=\"conn\"", "</span>");
  EXPECT_NE(connection.find(">updated "), std::string::npos) << connection;

  const std::string courts = Section(dom, "id=\"courts\"", "</table>");
  ASSERT_FALSE(courts.empty()) << dom;
  for (const std::string& court : kCourts) {
    const std::string row = Row(courts, "data-court=\"" + court + "\"");
    ASSERT_FALSE(row.empty()) << "no row for " << court << " in " << courts;
    const bool running = court == "chunan" || court == "kaihua";
    EXPECT_NE(row.find(running ? ">online<" : ">offline<"), std::string::npos) << row;
  }
  EXPECT_NE(Row(courts, "data-court=\"kaihua\"").find("开化县人民法院"), std::string::npos);

  const std::string commissions = Section(dom, "id=\"commissions\"", "</table>");
  const std::string row = Row(commissions, "data-commission=\"" + id + "\"");
  ASSERT_FALSE(row.empty()) << "no row for " << id << " in " << commissions;
  EXPECT_NE(row.find(kCaseNumber), std::string::npos) << row;
  EXPECT_NE(row.find("chunan → kaihua"), std::string::npos) << row;
  EXPECT_NE(row.find(">COMPLETED<"), std::string::npos) << row;
  // The trail opens only on a click (or a #id in the address).
  EXPECT_EQ(Section(dom, "id=\"trail\"", "</section>").find("data-seq="), std::string::npos);

  // What a click on the row does: the address names the commission, and the
  // page shows its trail, one row per event.
  const std::string url = "http://127.0.0.1:" + std::to_string(zone.http_port()) + "/#" + id;
  CommandResult opened = RunChromium(zone, chromium, url, {"--dump-dom"});
  ASSERT_EQ(opened.exit_code, 0) << ReadFile(stderr_log);
  const std::string trail_html = Section(opened.out, "id=\"trail\"", "</section>");
  ASSERT_NE(trail_html.find(id), std::string::npos) << opened.out;
  EXPECT_NE(trail_html.find(kCaseNumber), std::string::npos) << trail_html;
  ASSERT_GE(trail.events_size(), 4) << trail.DebugString();
  for (const auto& event : trail.events()) {
    const std::string type = weituo::v1::EventType_Name(event.type()).substr(3);  // no "EV_"
    const std::string event_row = Row(
        trail_html, "data-seq=\"" + std::to_string(event.seq()) + "\" data-type=\"" + type + "\"");
    EXPECT_FALSE(event_row.empty())
        << "no row for event " << event.seq() << " " << type << " in " << trail_html;
  }
  for (const char* type : {"SUBMITTED", "DELIVERED", "ACCEPTED", "COMPLETED"}) {
    EXPECT_NE(trail_html.find("data-type=\"" + std::string(type) + "\""), std::string::npos)
        << type << " missing from " << trail_html;
  }
  // Updates are rendered: the acceptance names its handler.
  for (const auto& event : trail.events()) {
    if (!event.update().has_accept()) continue;
    EXPECT_NE(Row(trail_html, "data-type=\"ACCEPTED\"")
                  .find("handler " + event.update().accept().handler()),
              std::string::npos)
        << trail_html;
  }

  // The screenshot: a 1280x900 PNG of the page with the trail open.
  const std::filesystem::path png = WEITUO_DASHBOARD_PNG;
  std::filesystem::create_directories(png.parent_path());
  std::filesystem::remove(png);
  CommandResult shot =
      RunChromium(zone, chromium, url, {"--screenshot=" + png.string(), "--window-size=1280,900"});
  ASSERT_EQ(shot.exit_code, 0) << ReadFile(stderr_log);
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
}

}  // namespace
}  // namespace weituo::testing
