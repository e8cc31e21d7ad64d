// Reading what agents report, for assertions: `weituo-agent show|list --json`
// parsed back into the schema's CommissionView.
#pragma once

#include <google/protobuf/util/json_util.h>

#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "weituo/v1/control.pb.h"

namespace weituo::testing {

inline std::vector<weituo::v1::CommissionView> ParseViews(const std::string& out) {
  std::vector<weituo::v1::CommissionView> views;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    weituo::v1::CommissionView v;
    if (google::protobuf::util::JsonStringToMessage(line, &v).ok()) views.push_back(std::move(v));
  }
  return views;
}

inline std::vector<weituo::v1::CommissionView> ListViews(Zone& zone, const std::string& court) {
  return ParseViews(zone.Cli(court, {"list", "--json"}).out);
}

inline weituo::v1::CommissionView ShowView(Zone& zone, const std::string& court,
                                           const std::string& id) {
  auto views = ParseViews(zone.Cli(court, {"show", id, "--json"}).out);
  return views.empty() ? weituo::v1::CommissionView() : views.front();
}

inline int CountEvents(const weituo::v1::CommissionView& v, weituo::v1::EventType type) {
  int n = 0;
  for (const auto& e : v.events()) n += e.type() == type;
  return n;
}

inline weituo::v1::AgentStatus AgentStatusOf(Zone& zone, const std::string& court) {
  weituo::v1::AgentStatus s;
  (void)google::protobuf::util::JsonStringToMessage(zone.Cli(court, {"status", "--json"}).out, &s);
  return s;
}

// The broker's /api/status once it shows every one of `parts` (it publishes
// a snapshot a few times a second), or the last one read after 3 s.
inline std::string StatusShowing(Zone& zone, const std::vector<std::string>& parts) {
  std::string status;
  WaitFor(
      [&] {
        status = zone.HttpGet("/api/status");
        for (const std::string& p : parts) {
          if (status.find(p) == std::string::npos) return false;
        }
        return true;
      },
      std::chrono::seconds(3));
  return status;
}

// The first word of `submit`'s output: the commission id.
inline std::string SubmittedId(const CommandResult& r) { return r.out.substr(0, r.out.find(' ')); }

}  // namespace weituo::testing
