#include "metrics.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weituo/v1/commission.pb.h"
#include "weituo/v1/wire.pb.h"

namespace weituo::broker {
namespace {

using weituo::v1::BrokerStatus;
using weituo::v1::CourtState;
using weituo::v1::Histogram;

// Keys of BrokerStatus.counters that have a metric of their own. Every other
// key is exported as weituo_broker_events_total{event="<key>"}.
struct NamedCounter {
  std::string_view key;
  std::string_view name;
  std::string_view help;
};

constexpr NamedCounter kNamedCounters[] = {
    {"submitted", "weituo_commissions_submitted_total",
     "Commissions submitted by origin courts and stored by the broker."},
    {"delivered", "weituo_commissions_delivered_total",
     "Commissions recorded by the target court's agent (delivery receipts)."},
    {"acknowledged", "weituo_deliveries_acknowledged_total",
     "Deliveries (commissions and events) acknowledged by the receiving court's agent."},
    {"sent", "weituo_deliveries_sent_total", "Deliveries sent for the first time."},
    {"redelivered", "weituo_deliveries_redelivered_total",
     "Deliveries sent again because no acknowledgement came in time."},
    {"parked", "weituo_deliveries_parked_total", "Deliveries parked after too many attempts."},
    {"deadline_warnings", "weituo_deadline_warnings_total",
     "Deadline warning points crossed (written to the trail, told to origin, target and "
     "supervisor)."},
    {"deadline_overdue", "weituo_deadline_overdue_total",
     "Deadline overdue points crossed (written to the trail, told to origin, target and "
     "supervisor)."},
    {"escalations", "weituo_escalations_total",
     "Deadline events delivered to the target court's supervisor."},
    {"expired", "weituo_commissions_expired_total",
     "Commissions expired past their not-after date."},
    {"deemed_withdrawn", "weituo_commissions_deemed_withdrawn_total",
     "Commissions deemed withdrawn: material requested and not supplied in time."},
    {"forwarded", "weituo_commissions_forwarded_total",
     "Commissions forwarded to the competent court as a child commission."},
    {"offline_flags", "weituo_courts_flagged_offline_total",
     "Times a court offline past the threshold was flagged to its supervisor."},
};

// Event keys the broker counts today (its Count() calls and the ZAP
// handler's counters), exported as zero before the first occurrence so that
// their series exist from the start. Unknown keys are exported as they come.
constexpr std::string_view kKnownEvents[] = {
    "batch_writes",
    "batches",
    "clock_advances",
    "connections_accepted",
    "connections_closed",
    "connections_dropped",
    "connections_refused_per_address",
    "connections_evicted_per_court",
    "connections_refused_unidentified",
    "connections_silent_dropped",
    "courts_paused",
    "courts_resumed",
    "directory_reloads",
    "directory_reloads_failed",
    "duplicate_submissions",
    "duplicate_updates",
    "handshakes_failed",
    "handshakes_refused",
    "handshakes_succeeded",
    "hellos",
    "memory_trims",
    "messages_after_drop",
    "redriven",
    "replies_dropped",
    "stale_acks",
    "storage_ballast_released",
    "storage_full_entered",
    "store_write_failures",
    "unparked_by_ack",
    "updates",
    "zap_accepted",
    "zap_refused_malformed",
    "zap_refused_unknown_key",
};

// The status server's refusals are counters "http_refused_<code>"; these
// are exported from the start.
constexpr std::string_view kHttpRefusedPrefix = "http_refused_";
constexpr std::string_view kHttpRefusedKnown[] = {"http_refused_400", "http_refused_401",
                                                  "http_refused_403", "http_refused_404",
                                                  "http_refused_421"};

using Label = std::pair<std::string_view, std::string_view>;

// Appends the text exposition format 0.0.4, one family at a time: Family()
// writes the HELP and TYPE lines, then Sample() the family's samples.
class Exposition {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    AppendEscaped(help, /*quote=*/false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void Sample(std::string_view name, std::initializer_list<Label> labels, std::string_view value) {
    out_ += name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [label, label_value] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += label;
        out_ += "=\"";
        AppendEscaped(label_value, /*quote=*/true);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void Sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value) {
    Sample(name, labels, std::to_string(value));
  }
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    Sample(name, labels, FormatDouble(value));
  }

  // A counter or gauge family with a single unlabelled sample.
  void Single(std::string_view name, std::string_view type, std::string_view help,
              std::string_view value) {
    Family(name, type, help);
    Sample(name, {}, value);
  }

  // Prometheus floats: shortest text that reads back the same, or +Inf,
  // -Inf, NaN.
  static std::string FormatDouble(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
    if (ec != std::errc()) return "NaN";  // cannot happen: 32 bytes fit any double
    return std::string(buffer, end);
  }

  std::string Take() { return std::move(out_); }

 private:
  // HELP text escapes backslash and newline; label values also the double
  // quote.
  void AppendEscaped(std::string_view text, bool quote) {
    for (char c : text) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '\n') {
        out_ += "\\n";
      } else if (c == '"' && quote) {
        out_ += "\\\"";
      } else {
        out_ += c;
      }
    }
  }

  std::string out_;
};

std::string Seconds(int64_t ms) { return Exposition::FormatDouble(static_cast<double>(ms) / 1e3); }
std::string Bool(bool b) { return b ? "1" : "0"; }

uint64_t CounterOr0(const google::protobuf::Map<std::string, uint64_t>& map,
                    const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? 0 : it->second;
}

// Sorted entries of a status map, with every name of `zeros` present.
template <typename Names>
std::map<std::string, uint64_t> WithZeros(const google::protobuf::Map<std::string, uint64_t>& map,
                                          const Names& zeros) {
  std::map<std::string, uint64_t> sorted(map.begin(), map.end());
  for (const auto& name : zeros) sorted.emplace(std::string(name), 0);
  return sorted;
}

// The names of an enum's values, without its zero "unspecified" value.
std::vector<std::string> EnumNames(const google::protobuf::EnumDescriptor* descriptor) {
  std::vector<std::string> names;
  for (int i = 0; i < descriptor->value_count(); ++i) {
    if (descriptor->value(i)->number() != 0) names.push_back(descriptor->value(i)->name());
  }
  return names;
}

// Whether the histogram follows its contract: strictly increasing finite
// bounds and one count per bound plus the one above every bound.
bool WellFormed(const Histogram& h) {
  if (h.counts_size() != h.upper_bounds_ms_size() + 1) return false;
  for (int i = 0; i < h.upper_bounds_ms_size(); ++i) {
    double bound = h.upper_bounds_ms(i);
    if (!std::isfinite(bound)) return false;
    if (i > 0 && !(bound > h.upper_bounds_ms(i - 1))) return false;
  }
  return true;
}

// A latency histogram in seconds: cumulative buckets, _sum and _count. A
// histogram that breaks its contract keeps only its +Inf bucket (= count),
// so the output stays valid.
void RenderHistogram(Exposition& out, std::string_view name, std::string_view help,
                     const Histogram& h) {
  out.Family(name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t total = h.count();
  if (WellFormed(h)) {
    uint64_t cumulative = 0;
    for (int i = 0; i < h.upper_bounds_ms_size(); ++i) {
      cumulative += h.counts(i);
      std::string le = Exposition::FormatDouble(h.upper_bounds_ms(i) / 1e3);
      out.Sample(bucket, {{"le", le}}, cumulative);
    }
    total = cumulative + h.counts(h.upper_bounds_ms_size());
  }
  out.Sample(bucket, {{"le", "+Inf"}}, total);
  out.Sample(std::string(name) + "_sum", {}, h.sum_ms() / 1e3);
  out.Sample(std::string(name) + "_count", {}, total);
}

// One per-court family: a sample for every court.
template <typename Value>
void RenderCourts(Exposition& out, std::string_view name, std::string_view type,
                  std::string_view help, const BrokerStatus& status, Value value) {
  out.Family(name, type, help);
  for (const CourtState& court : status.courts()) {
    out.Sample(name, {{"court", court.court_id()}}, value(court));
  }
}

// The store's health: /readyz says "degraded" when any of these is bad.
void RenderStorage(Exposition& out, const BrokerStatus& status) {
  const weituo::v1::StorageHealth& h = status.storage();
  out.Single("weituo_degraded", "gauge",
             "1 if the broker is degraded: a damaged store, a failed write or a full disk.",
             Bool(status.degraded_size() > 0));
  out.Single("weituo_storage_free_bytes", "gauge",
             "Free space on the store's file system, as last read (once a second).",
             std::to_string(h.free_bytes()));
  out.Single("weituo_storage_reserve_bytes", "gauge",
             "Free space below which new submissions and updates are refused (STORAGE_FULL).",
             std::to_string(h.reserve_bytes()));
  out.Single("weituo_storage_refusing", "gauge",
             "1 while new submissions and updates are refused for lack of space.",
             Bool(h.refusing()));
  out.Single("weituo_store_write_failed", "gauge",
             "1 while a commit that failed is held and retried.", Bool(h.write_failed()));
  out.Single("weituo_store_damage_total", "counter",
             "Corrupt reads met in the store since the broker started (trails, records, "
             "RocksDB blocks).",
             std::to_string(h.damage_count()));
}

}  // namespace

std::string RenderPrometheus(const BrokerStatus& status) {
  Exposition out;

  // Counters.
  for (const NamedCounter& counter : kNamedCounters) {
    out.Single(counter.name, "counter", counter.help,
               std::to_string(CounterOr0(status.counters(), std::string(counter.key))));
  }
  auto is_named = [](const std::string& key) {
    return std::any_of(std::begin(kNamedCounters), std::end(kNamedCounters),
                       [&](const NamedCounter& c) { return c.key == key; });
  };
  out.Family("weituo_broker_events_total", "counter",
             "Broker events by kind: connections, handshakes, hellos, updates, store batches, "
             "ZAP decisions and the like.");
  for (const auto& [event, n] : WithZeros(status.counters(), kKnownEvents)) {
    if (!is_named(event) && !event.starts_with(kHttpRefusedPrefix)) {
      out.Sample("weituo_broker_events_total", {{"event", event}}, n);
    }
  }
  out.Family("weituo_http_refused_total", "counter",
             "HTTP requests answered 4xx, by status code: 401 no or unknown token, 403 a token "
             "that may not do this, 421 a Host the server does not answer to (DNS rebinding).");
  for (const auto& [key, n] : WithZeros(status.counters(), kHttpRefusedKnown)) {
    if (!key.starts_with(kHttpRefusedPrefix)) continue;
    out.Sample("weituo_http_refused_total", {{"code", key.substr(kHttpRefusedPrefix.size())}}, n);
  }
  out.Family("weituo_refused_total", "counter", "Messages refused, by error code.");
  for (const auto& [code, n] :
       WithZeros(status.refused(), EnumNames(weituo::v1::ErrorCode_descriptor()))) {
    out.Sample("weituo_refused_total", {{"code", code}}, n);
  }

  // Courts.
  uint64_t online = 0;
  for (const CourtState& court : status.courts()) online += court.online() ? 1 : 0;
  out.Single("weituo_courts_online", "gauge", "Courts whose agent is connected.",
             std::to_string(online));
  RenderCourts(out, "weituo_court_online", "gauge", "1 if the court's agent is connected.", status,
               [](const CourtState& c) { return Bool(c.online()); });
  RenderCourts(out, "weituo_court_paused", "gauge",
               "1 if an operator holds the court's deliveries.", status,
               [](const CourtState& c) { return Bool(c.paused()); });
  RenderCourts(out, "weituo_court_pending", "gauge",
               "Deliveries stored for the court, not yet acknowledged.", status,
               [](const CourtState& c) { return c.pending(); });
  RenderCourts(out, "weituo_court_in_flight", "gauge",
               "Deliveries sent to the court, not yet acknowledged.", status,
               [](const CourtState& c) { return c.in_flight(); });
  RenderCourts(out, "weituo_court_parked", "gauge",
               "Deliveries for the court parked after too many attempts.", status,
               [](const CourtState& c) { return c.parked(); });
  RenderCourts(out, "weituo_court_overdue", "gauge",
               "Pending deliveries for the court older than the overdue age.", status,
               [](const CourtState& c) { return c.overdue(); });
  RenderCourts(out, "weituo_court_oldest_pending_seconds", "gauge",
               "Age of the court's oldest pending delivery; 0 if none.", status,
               [](const CourtState& c) { return Seconds(c.oldest_pending_ms()); });
  RenderCourts(out, "weituo_court_flagged_offline", "gauge",
               "1 if the court was told to its supervisor as offline too long.", status,
               [](const CourtState& c) { return Bool(c.offline_flagged_since_ms() > 0); });
  RenderCourts(out, "weituo_court_refused_total", "counter",
               "Messages from the court refused since the broker started.", status,
               [](const CourtState& c) { return c.refused(); });

  // Commissions and latencies.
  out.Family("weituo_commissions", "gauge", "Commissions the broker has stored, by state.");
  for (const auto& [state, n] :
       WithZeros(status.commissions_by_state(), EnumNames(weituo::v1::State_descriptor()))) {
    out.Sample("weituo_commissions", {{"state", state}}, n);
  }
  RenderHistogram(out, "weituo_submit_to_receipt_seconds",
                  "From reading a submission to sending its receipt to the origin court.",
                  status.submit_to_receipt());
  RenderHistogram(out, "weituo_submit_to_delivered_seconds",
                  "From storing a commission to the target court's agent acknowledging it.",
                  status.submit_to_delivered());

  // The process.
  out.Single("weituo_uptime_seconds", "gauge", "Time since the broker started.",
             Seconds(status.uptime_ms()));
  out.Single("weituo_store_bytes", "gauge", "Approximate size of the broker's store on disk.",
             std::to_string(status.store_bytes()));
  out.Single("weituo_overdue_after_seconds", "gauge",
             "Age after which a pending delivery counts as overdue.",
             Seconds(status.overdue_after_ms()));
  out.Single("weituo_ready", "gauge", "1 if the broker is ready to serve courts.",
             Bool(status.ready()));
  RenderStorage(out, status);
  out.Single("weituo_connections_live", "gauge",
             "TCP connections to the broker's ZeroMQ endpoint now, handshaking or not.",
             std::to_string(status.connections_live()));
  out.Family("weituo_broker_info", "gauge", "The broker's version and transport security; 1.");
  out.Sample("weituo_broker_info", {{"version", status.version()}, {"security", status.security()}},
             uint64_t{1});
  return out.Take();
}

}  // namespace weituo::broker
