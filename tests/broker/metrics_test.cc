#include "metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace weituo::broker {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using weituo::testing::ReadFile;
using weituo::testing::TempDir;
using weituo::testing::WriteFile;
using weituo::v1::BrokerStatus;
using weituo::v1::CourtState;
using weituo::v1::Histogram;

// From the Debian package prometheus (deploy/install-deps.sh installs it).
constexpr char kPromtool[] = "/usr/bin/promtool";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

CourtState Court(const std::string& id, bool online) {
  CourtState court;
  court.set_court_id(id);
  court.set_name(id + " court");
  court.set_online(online);
  return court;
}

// A broker some minutes into its life, with two courts (one of them with an
// id that needs escaping).
BrokerStatus PopulatedStatus() {
  BrokerStatus status;
  status.set_version("0.1.0");
  status.set_endpoint("tcp://*:5570");
  status.set_security("curve");
  status.set_uptime_ms(3723456);
  status.set_store_bytes(1048576);
  status.set_overdue_after_ms(600000);
  status.set_ready(true);
  auto& counters = *status.mutable_counters();
  counters["submitted"] = 5;
  counters["delivered"] = 4;
  counters["acknowledged"] = 9;
  counters["sent"] = 8;
  counters["redelivered"] = 2;
  counters["parked"] = 1;
  counters["hellos"] = 3;
  counters["handshakes_succeeded"] = 3;
  counters["zap_accepted"] = 3;
  counters["some_new_event"] = 7;
  (*status.mutable_refused())["UNKNOWN_COURT"] = 2;

  CourtState kaihua = Court("kaihua", true);
  kaihua.set_pending(3);
  kaihua.set_in_flight(2);
  kaihua.set_parked(1);
  kaihua.set_overdue(1);
  kaihua.set_oldest_pending_ms(90500);
  kaihua.set_refused(2);
  *status.add_courts() = kaihua;
  CourtState odd = Court("odd\"court\\x\ny", false);
  odd.set_paused(true);
  *status.add_courts() = odd;

  auto& states = *status.mutable_commissions_by_state();
  states["SUBMITTED"] = 1;
  states["DELIVERED"] = 3;
  states["COMPLETED"] = 1;

  Histogram* receipt = status.mutable_submit_to_receipt();
  for (double bound : {5.0, 50.0, 500.0}) receipt->add_upper_bounds_ms(bound);
  for (uint64_t count : {1, 2, 0, 1}) receipt->add_counts(count);
  receipt->set_sum_ms(700);
  receipt->set_count(4);
  Histogram* delivered = status.mutable_submit_to_delivered();
  for (double bound : {100.0, 1000.0, 2500.0}) delivered->add_upper_bounds_ms(bound);
  for (uint64_t count : {0, 3, 0, 1}) delivered->add_counts(count);
  delivered->set_sum_ms(64000);
  delivered->set_count(4);
  return status;
}

struct PromtoolResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr: lint findings and parse errors
};

// `promtool check metrics` with `text` on its stdin.
PromtoolResult CheckMetrics(const std::string& text) {
  TempDir dir;
  const std::string input_path = dir.path() + "/metrics.txt";
  const std::string output_path = dir.path() + "/promtool.out";
  WriteFile(input_path, text);
  weituo::testing::Process promtool = weituo::testing::Process::Spawn(
      weituo::testing::ChildSpec{{kPromtool, "check", "metrics"}, {}, input_path, std::nullopt},
      output_path);
  PromtoolResult result;
  result.exit_code = promtool.Wait();
  result.output = ReadFile(output_path);
  return result;
}

TEST(RenderPrometheusTest, NamedCountersAreNotRepeatedAsEvents) {
  std::vector<std::string> lines = Lines(RenderPrometheus(PopulatedStatus()));
  EXPECT_THAT(lines, Contains("# TYPE weituo_commissions_submitted_total counter"));
  EXPECT_THAT(lines, Contains("weituo_commissions_submitted_total 5"));
  EXPECT_THAT(lines, Contains("weituo_commissions_delivered_total 4"));
  EXPECT_THAT(lines, Contains("weituo_deliveries_acknowledged_total 9"));
  EXPECT_THAT(lines, Contains("weituo_deliveries_sent_total 8"));
  EXPECT_THAT(lines, Contains("weituo_deliveries_redelivered_total 2"));
  EXPECT_THAT(lines, Contains("weituo_deliveries_parked_total 1"));
  EXPECT_THAT(lines, Contains("weituo_broker_events_total{event=\"hellos\"} 3"));
  EXPECT_THAT(lines, Contains("weituo_broker_events_total{event=\"zap_accepted\"} 3"));
  EXPECT_THAT(lines, Contains("weituo_broker_events_total{event=\"some_new_event\"} 7"));
  EXPECT_THAT(lines, Contains("weituo_broker_events_total{event=\"stale_acks\"} 0"));
  for (const char* named :
       {"submitted", "delivered", "acknowledged", "sent", "redelivered", "parked"}) {
    EXPECT_THAT(lines, Not(Contains(StartsWith(std::string("weituo_broker_events_total{event=\"") +
                                               named + "\"}"))));
  }
  EXPECT_THAT(lines, Contains("weituo_refused_total{code=\"UNKNOWN_COURT\"} 2"));
  EXPECT_THAT(lines, Contains("weituo_refused_total{code=\"RATE_LIMITED\"} 0"));
  EXPECT_THAT(lines, Not(Contains(HasSubstr("ERROR_CODE_UNSPECIFIED"))));
}

TEST(RenderPrometheusTest, HttpRefusalsHaveAFamilyByCode) {
  BrokerStatus status = PopulatedStatus();
  (*status.mutable_counters())["http_refused_421"] = 3;
  (*status.mutable_counters())["http_refused_405"] = 1;
  std::vector<std::string> lines = Lines(RenderPrometheus(status));
  EXPECT_THAT(lines, Contains("# TYPE weituo_http_refused_total counter"));
  EXPECT_THAT(lines, Contains("weituo_http_refused_total{code=\"421\"} 3"));
  EXPECT_THAT(lines, Contains("weituo_http_refused_total{code=\"405\"} 1"));
  EXPECT_THAT(lines, Contains("weituo_http_refused_total{code=\"401\"} 0"));
  EXPECT_THAT(lines, Contains("weituo_http_refused_total{code=\"403\"} 0"));
  EXPECT_THAT(lines, Not(Contains(HasSubstr("event=\"http_refused_"))));
}

TEST(RenderPrometheusTest, CourtsAreGaugesWithEscapedLabels) {
  std::vector<std::string> lines = Lines(RenderPrometheus(PopulatedStatus()));
  EXPECT_THAT(lines, Contains("weituo_courts_online 1"));
  EXPECT_THAT(lines, Contains("# TYPE weituo_court_pending gauge"));
  EXPECT_THAT(lines, Contains("weituo_court_online{court=\"kaihua\"} 1"));
  EXPECT_THAT(lines, Contains("weituo_court_pending{court=\"kaihua\"} 3"));
  EXPECT_THAT(lines, Contains("weituo_court_in_flight{court=\"kaihua\"} 2"));
  EXPECT_THAT(lines, Contains("weituo_court_parked{court=\"kaihua\"} 1"));
  EXPECT_THAT(lines, Contains("weituo_court_overdue{court=\"kaihua\"} 1"));
  EXPECT_THAT(lines, Contains("weituo_court_paused{court=\"kaihua\"} 0"));
  EXPECT_THAT(lines, Contains("weituo_court_oldest_pending_seconds{court=\"kaihua\"} 90.5"));
  EXPECT_THAT(lines, Contains("weituo_court_refused_total{court=\"kaihua\"} 2"));
  // Backslash, double quote and newline escaped, on one line.
  EXPECT_THAT(lines, Contains(R"(weituo_court_online{court="odd\"court\\x\ny"} 0)"));
  EXPECT_THAT(lines, Contains(R"(weituo_court_paused{court="odd\"court\\x\ny"} 1)"));
}

TEST(RenderPrometheusTest, HistogramsAreCumulativeInSeconds) {
  std::vector<std::string> lines = Lines(RenderPrometheus(PopulatedStatus()));
  EXPECT_THAT(lines, Contains("# TYPE weituo_submit_to_receipt_seconds histogram"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_receipt_seconds_bucket{le=\"0.005\"} 1"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_receipt_seconds_bucket{le=\"0.05\"} 3"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_receipt_seconds_bucket{le=\"0.5\"} 3"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_receipt_seconds_bucket{le=\"+Inf\"} 4"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_receipt_seconds_sum 0.7"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_receipt_seconds_count 4"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_delivered_seconds_bucket{le=\"2.5\"} 3"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_delivered_seconds_bucket{le=\"+Inf\"} 4"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_delivered_seconds_sum 64"));
}

TEST(RenderPrometheusTest, MalformedHistogramKeepsOnlyItsInfBucket) {
  BrokerStatus status;
  Histogram* h = status.mutable_submit_to_receipt();
  h->add_upper_bounds_ms(5);
  h->add_upper_bounds_ms(1);  // not increasing, and one count too few
  h->add_counts(1);
  h->set_count(6);
  std::string text = RenderPrometheus(status);
  std::vector<std::string> lines = Lines(text);
  EXPECT_THAT(lines, Contains("weituo_submit_to_receipt_seconds_bucket{le=\"+Inf\"} 6"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_receipt_seconds_count 6"));
  EXPECT_THAT(text, Not(HasSubstr("weituo_submit_to_receipt_seconds_bucket{le=\"0")));
}

TEST(RenderPrometheusTest, StatesGaugesAndProcess) {
  std::vector<std::string> lines = Lines(RenderPrometheus(PopulatedStatus()));
  EXPECT_THAT(lines, Contains("# TYPE weituo_commissions gauge"));
  EXPECT_THAT(lines, Contains("weituo_commissions{state=\"DELIVERED\"} 3"));
  EXPECT_THAT(lines, Contains("weituo_commissions{state=\"EXPIRED\"} 0"));
  EXPECT_THAT(lines, Contains("weituo_uptime_seconds 3723.456"));
  EXPECT_THAT(lines, Contains("weituo_store_bytes 1048576"));
  EXPECT_THAT(lines, Contains("weituo_overdue_after_seconds 600"));
  EXPECT_THAT(lines, Contains("weituo_ready 1"));
  EXPECT_THAT(lines, Contains("weituo_broker_info{version=\"0.1.0\",security=\"curve\"} 1"));
}

TEST(RenderPrometheusTest, EmptyStatusStillHasEveryCounterFamily) {
  std::vector<std::string> lines = Lines(RenderPrometheus(BrokerStatus()));
  for (const char* counter :
       {"weituo_commissions_submitted_total", "weituo_commissions_delivered_total",
        "weituo_deliveries_acknowledged_total", "weituo_deliveries_sent_total",
        "weituo_deliveries_redelivered_total", "weituo_deliveries_parked_total"}) {
    EXPECT_THAT(lines, Contains(std::string("# TYPE ") + counter + " counter"));
    EXPECT_THAT(lines, Contains(std::string(counter) + " 0"));
  }
  EXPECT_THAT(lines, Contains("weituo_refused_total{code=\"MALFORMED\"} 0"));
  EXPECT_THAT(lines, Contains("weituo_broker_events_total{event=\"handshakes_failed\"} 0"));
  EXPECT_THAT(lines, Contains("# TYPE weituo_court_online gauge"));
  EXPECT_THAT(lines, Contains("weituo_courts_online 0"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_delivered_seconds_bucket{le=\"+Inf\"} 0"));
  EXPECT_THAT(lines, Contains("weituo_submit_to_delivered_seconds_count 0"));
}

TEST(RenderPrometheusTest, PromtoolReportsWhatItFinds) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing: install the Debian package prometheus "
      << "(deploy/install-deps.sh)";
  // A counter without the _total suffix: a lint finding, exit status 3.
  PromtoolResult result =
      CheckMetrics("# HELP weituo_x Bad.\n# TYPE weituo_x counter\nweituo_x 1\n");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("weituo_x"));
}

TEST(RenderPrometheusTest, PromtoolAcceptsTheTextWithoutLintFindings) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing: install the Debian package prometheus "
      << "(deploy/install-deps.sh)";
  for (const BrokerStatus& status : {PopulatedStatus(), BrokerStatus()}) {
    std::string text = RenderPrometheus(status);
    PromtoolResult result = CheckMetrics(text);
    EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- text ---\n" << text;
    EXPECT_EQ(result.output, "") << "--- text ---\n" << text;
  }
}

}  // namespace
}  // namespace weituo::broker
