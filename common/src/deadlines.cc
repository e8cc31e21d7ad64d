#include "weituo/common/deadlines.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>
#include <tuple>

#include "weituo/common/clock.h"
#include "weituo/common/config_table.h"
#include "weituo/common/validation.h"

namespace weituo {

using weituo::v1::Commission;
using weituo::v1::Event;
using weituo::v1::EventType;
using weituo::v1::Kind;

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

StageRule Rule(int64_t warn_days, int64_t due_days) {
  return StageRule{warn_days * kDayMs, due_days * kDayMs};
}

}  // namespace

DeadlinePolicy DeadlinePolicy::Defaults() {
  DeadlinePolicy policy;
  KindDeadlines base;
  base.acknowledge = Rule(5, 7);
  base.start = Rule(12, 15);
  base.progress = Rule(27, 30);
  base.progress_every_ms = 30 * kDayMs;
  base.long_stop = Rule(150, 180);
  for (Kind kind : {weituo::v1::KIND_UNSPECIFIED, weituo::v1::DEBTOR_LOCATE,
                    weituo::v1::ASSET_QUERY, weituo::v1::VEHICLE_SEIZURE}) {
    policy.kinds[kind] = base;
  }
  policy.kinds[weituo::v1::ASSET_QUERY].complete = Rule(5, 7);
  policy.kinds[weituo::v1::ASSET_QUERY].complete_urgent = Rule(2, 3);
  policy.supply_info = Rule(25, 30);
  return policy;
}

const KindDeadlines& DeadlinePolicy::For(Kind kind) const {
  auto it = kinds.find(kind);
  if (it != kinds.end()) return it->second;
  return kinds.at(weituo::v1::KIND_UNSPECIFIED);
}

StatusOr<int64_t> ParseDuration(const std::string& text) {
  if (text == "off") return int64_t{0};
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  if (digits == 0 || digits > 15) {
    return Status::InvalidArgument("'" + text +
                                   "' is not a duration like 7d, 36h, 90m, 30s, 250ms");
  }
  int64_t n = std::stoll(text.substr(0, digits));
  int64_t scale = 0;
  if (unit == "d") scale = kDayMs;
  if (unit == "h") scale = 60LL * 60 * 1000;
  if (unit == "m") scale = 60LL * 1000;
  if (unit == "s") scale = 1000;
  if (unit == "ms") scale = 1;
  if (scale == 0) {
    return Status::InvalidArgument("'" + text + "' has no unit (d, h, m, s or ms)");
  }
  // A century is plenty; it also keeps every sum of points far from overflow.
  if (n > 36525 * kDayMs / scale) {
    return Status::InvalidArgument("'" + text + "' is longer than a hundred years");
  }
  return n * scale;
}

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "off";
  struct Unit {
    int64_t scale;
    const char* name;
  };
  for (Unit u : {Unit{kDayMs, "d"}, Unit{3600000, "h"}, Unit{60000, "m"}, Unit{1000, "s"}}) {
    if (ms % u.scale == 0) return std::to_string(ms / u.scale) + u.name;
  }
  return std::to_string(ms) + "ms";
}

std::optional<int64_t> ExpiryMs(const std::string& not_after) {
  if (!IsIsoDate(not_after)) return std::nullopt;
  int y = std::stoi(not_after.substr(0, 4));
  unsigned m = static_cast<unsigned>(std::stoi(not_after.substr(5, 2)));
  unsigned d = static_cast<unsigned>(std::stoi(not_after.substr(8, 2)));
  // Days since the epoch (Howard Hinnant's days_from_civil).
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
  // The next day's midnight in UTC+8 is 16:00 UTC of this day.
  return days * kDayMs + 16LL * 3600 * 1000;
}

std::string_view StageName(DeadlineStage stage) {
  switch (stage) {
    case weituo::v1::STAGE_ACKNOWLEDGE:
      return "acknowledge";
    case weituo::v1::STAGE_START:
      return "start";
    case weituo::v1::STAGE_PROGRESS:
      return "progress";
    case weituo::v1::STAGE_COMPLETE:
      return "complete";
    case weituo::v1::STAGE_LONG_STOP:
      return "long_stop";
    case weituo::v1::STAGE_SUPPLY_INFO:
      return "supply_info";
    default:
      return "unspecified";
  }
}

// ---- Loading ---------------------------------------------------------------

namespace {

constexpr int64_t kHourMs = 60LL * 60 * 1000;

// A stage's duration key; problems recorded in `t`.
void ReadDuration(ConfigTable& t, const char* key, int64_t* ms) {
  std::string text;
  if (t.Has(key) && t.TypeOf(key) != ConfigTable::Type::kString) {
    t.Expect(key, "a duration such as \"7d\", \"36h\", \"90m\" or \"off\"");
  }
  if (!t.String(key, &text)) return;
  auto parsed = ParseDuration(text);
  if (!parsed.ok()) {
    t.Fail(key, parsed.status().message());
    return;
  }
  *ms = *parsed;
}

// The stage `key` of `t`: "off", or a table { warn, due } (and every, for
// progress) changing the points it names. Problems recorded in `t`.
void ReadRule(ConfigTable& t, const std::string& key, bool allow_every, StageRule* rule,
              int64_t* every) {
  const ConfigTable::Type type = t.TypeOf(key);
  std::string off;
  if (type == ConfigTable::Type::kString && t.String(key, &off) && off == "off") {
    *rule = StageRule{};
    return;
  }
  if (type != ConfigTable::Type::kTable) {
    if (type != ConfigTable::Type::kAbsent) {
      t.Expect(key, "a table like { warn = \"5d\", due = \"7d\" } or \"off\"");
    }
    t.Known(key);
    return;
  }
  std::optional<ConfigTable> stage = t.Table(key);
  StageRule next = *rule;
  int64_t next_every = every ? *every : 0;
  ReadDuration(*stage, "warn", &next.warn_ms);
  ReadDuration(*stage, "due", &next.due_ms);
  if (allow_every) ReadDuration(*stage, "every", &next_every);
  if (!t.ok()) return;
  if (!next.enabled() && next.warn_ms > 0) {
    t.Fail(key,
           "a warning (" + FormatDuration(next.warn_ms) + ") needs a due point; add due = \"...\"");
  } else if (next.enabled() && next.warn_ms >= next.due_ms) {
    t.Fail(key, "warn (" + FormatDuration(next.warn_ms) + ") must come before due (" +
                    FormatDuration(next.due_ms) + ")");
  } else if (next_every > 0 && next.enabled() &&
             next_every < std::max(kHourMs, next.due_ms - next.warn_ms)) {
    // Shorter, and the rounds' warnings and overdue points would pile up.
    t.Fail(key, "every (" + FormatDuration(next_every) +
                    ") must be \"off\" or at least an hour and at least the warning's lead (" +
                    FormatDuration(next.due_ms - next.warn_ms) + ")");
  }
  if (!t.ok()) return;
  if (!next.enabled()) next.warn_ms = 0;
  *rule = next;
  if (every) *every = next_every;
}

void ReadKind(ConfigTable& t, KindDeadlines* k) {
  ReadRule(t, "acknowledge", false, &k->acknowledge, nullptr);
  ReadRule(t, "start", false, &k->start, nullptr);
  ReadRule(t, "progress", true, &k->progress, &k->progress_every_ms);
  ReadRule(t, "complete", false, &k->complete, nullptr);
  ReadRule(t, "complete_urgent", false, &k->complete_urgent, nullptr);
  ReadRule(t, "long_stop", false, &k->long_stop, nullptr);
}

StatusOr<DeadlinePolicy> Load(ConfigTable& table) {
  DeadlinePolicy policy = DeadlinePolicy::Defaults();
  // [default] first, so that per-kind tables override it whatever the order.
  if (std::optional<ConfigTable> d = table.Table("default")) {
    KindDeadlines base = policy.kinds[weituo::v1::KIND_UNSPECIFIED];
    ReadKind(*d, &base);
    if (!table.ok()) return table.Finish();
    for (auto& [kind, k] : policy.kinds) {
      StageRule complete = k.complete, urgent = k.complete_urgent;
      k = base;
      if (!d->Has("complete")) k.complete = complete;
      if (!d->Has("complete_urgent")) k.complete_urgent = urgent;
    }
  }
  for (const std::string& name : table.Keys()) {
    if (name == "default") continue;
    if (name == "supply_info") {
      ReadRule(table, name, false, &policy.supply_info, nullptr);
      continue;
    }
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    Kind kind;
    if (!weituo::v1::Kind_Parse(upper, &kind) || kind == weituo::v1::KIND_UNSPECIFIED) {
      table.Fail("", "unknown table [" + name +
                         "] (default, supply_info, debtor_locate, asset_query, vehicle_seizure)");
      break;
    }
    if (std::optional<ConfigTable> t = table.Table(name)) ReadKind(*t, &policy.kinds[kind]);
  }
  WEITUO_RETURN_IF_ERROR(table.Finish());
  return policy;
}

}  // namespace

StatusOr<DeadlinePolicy> DeadlinePolicy::LoadString(const std::string& text,
                                                    const std::string& origin) {
  WEITUO_ASSIGN_OR_RETURN(auto table, ConfigTable::Parse(text, origin));
  return Load(table);
}

StatusOr<DeadlinePolicy> DeadlinePolicy::LoadFile(const std::string& path) {
  auto table = ConfigTable::ReadFile(path, "deadlines file");
  if (!table.ok()) return Status::InvalidArgument(table.status().message());
  return Load(*table);
}

// ---- Review ----------------------------------------------------------------

namespace {

// The target's clock: real time since submission minus the time spent
// waiting for the origin's material.
class TargetClock {
 public:
  TargetClock(int64_t submitted_ms, std::vector<std::pair<int64_t, int64_t>> pauses,
              int64_t open_pause_ms)
      : submitted_ms_(submitted_ms), pauses_(std::move(pauses)), open_pause_ms_(open_pause_ms) {}

  // Target time at real time t.
  int64_t At(int64_t t) const {
    int64_t paused = 0;
    for (auto [from, to] : pauses_) {
      if (t > from) paused += std::min(t, to) - from;
    }
    if (open_pause_ms_ != kNever && t > open_pause_ms_) paused += t - open_pause_ms_;
    return t - submitted_ms_ - paused;
  }
  // The real time at which the target clock reads `target`; kNever if the
  // clock is stopped before it gets there.
  int64_t RealAt(int64_t target) const {
    int64_t t = submitted_ms_ + target;
    for (auto [from, to] : pauses_) {
      if (t > from) t += to - from;
    }
    if (open_pause_ms_ != kNever && t > open_pause_ms_) return kNever;
    return t;
  }

 private:
  int64_t submitted_ms_;
  std::vector<std::pair<int64_t, int64_t>> pauses_;
  int64_t open_pause_ms_;
};

bool IsEndEvent(EventType type) {
  return type == weituo::v1::EV_COMPLETED || type == weituo::v1::EV_RETURNED ||
         type == weituo::v1::EV_WITHDRAWN || type == weituo::v1::EV_FORWARDED ||
         type == weituo::v1::EV_EXPIRED;
}

}  // namespace

DeadlineReview ReviewDeadlines(const DeadlinePolicy& policy, const Commission& commission,
                               const std::vector<Event>& events, int64_t now_ms) {
  DeadlineReview review;
  if (events.empty()) return review;
  const int64_t submitted_ms = events.front().at_ms();
  if (IsFinal(events.back().state())) return review;

  // What the trail says so far.
  std::vector<std::pair<int64_t, int64_t>> pauses;
  int64_t open_pause = kNever;
  uint32_t info_rounds = 0;
  int64_t accepted_at = kNever, started_at = kNever;
  std::vector<int64_t> progress_at;  // real times of progress reports
  std::set<std::tuple<int, uint32_t, bool>> recorded;
  for (const Event& e : events) {
    switch (e.type()) {
      case weituo::v1::EV_INFO_REQUESTED:
        if (open_pause == kNever) open_pause = e.at_ms();
        info_rounds++;
        started_at = std::min(started_at, e.at_ms());
        break;
      case weituo::v1::EV_INFO_SUPPLIED:
        if (open_pause != kNever) pauses.emplace_back(open_pause, e.at_ms());
        open_pause = kNever;
        break;
      case weituo::v1::EV_ACCEPTED:
        accepted_at = std::min(accepted_at, e.at_ms());
        break;
      case weituo::v1::EV_PROGRESS:
        progress_at.push_back(e.at_ms());
        started_at = std::min(started_at, e.at_ms());
        break;
      case weituo::v1::EV_DEADLINE_WARNING:
      case weituo::v1::EV_DEADLINE_OVERDUE:
        recorded.emplace(e.deadline().stage(), e.deadline().round(),
                         e.type() == weituo::v1::EV_DEADLINE_OVERDUE);
        break;
      default:
        if (IsEndEvent(e.type())) return review;
        break;
    }
  }
  const bool waiting_for_info = events.back().state() == weituo::v1::NEEDS_INFO;
  if (!waiting_for_info) open_pause = kNever;
  TargetClock clock(submitted_ms, pauses, open_pause);

  std::vector<Crossing> passed;
  int64_t next = kNever;
  auto consider = [&](int64_t at) {
    if (at > now_ms) next = std::min(next, at);
  };
  // A stage met at `met_at` (kNever if not yet) with points on the target
  // clock at warn/due (relative to `origin_target`).
  auto stage = [&](DeadlineStage s, const StageRule& rule, int64_t met_at, uint32_t round,
                   int64_t origin_target) {
    if (!rule.enabled()) return;
    const int64_t due_real = clock.RealAt(origin_target + rule.due_ms);
    const int64_t warn_real =
        rule.warn_ms > 0 ? clock.RealAt(origin_target + rule.warn_ms) : kNever;
    const bool met = met_at <= now_ms;
    if (met) return;
    if (due_real <= now_ms) {
      review.overdue_now.push_back(s);
      if (!recorded.count({s, round, true})) {
        passed.push_back(Crossing{s, true, round, due_real, due_real});
      }
      return;
    }
    consider(due_real);
    if (warn_real <= now_ms) {
      if (!recorded.count({s, round, false})) {
        passed.push_back(Crossing{s, false, round, warn_real, due_real == kNever ? 0 : due_real});
      }
    } else if (warn_real != kNever) {
      consider(warn_real);
    }
  };

  const KindDeadlines& k = policy.For(KindOf(commission));
  stage(weituo::v1::STAGE_ACKNOWLEDGE, k.acknowledge, accepted_at, 1, 0);
  stage(weituo::v1::STAGE_START, k.start, started_at, 1, 0);
  const StageRule& complete =
      commission.urgency() == weituo::v1::URGENCY_URGENT && k.complete_urgent.enabled()
          ? k.complete_urgent
          : k.complete;
  stage(weituo::v1::STAGE_COMPLETE, complete, kNever, 1, 0);
  stage(weituo::v1::STAGE_LONG_STOP, k.long_stop, kNever, 1, 0);

  // Progress reports: round r is due at due + (r-1)*every on the target
  // clock and met by a report in the interval before it.
  if (k.progress.enabled()) {
    const int64_t every = k.progress_every_ms;
    const int64_t now_target = clock.At(now_ms);
    for (uint32_t round = 1;; ++round) {
      const int64_t due_target = k.progress.due_ms + static_cast<int64_t>(round - 1) * every;
      const int64_t window_start = every > 0 ? due_target - every : 0;
      int64_t met_at = kNever;
      for (int64_t at : progress_at) {
        const int64_t t = clock.At(at);
        if (t > window_start && t <= due_target) met_at = std::min(met_at, at);
      }
      const int64_t offset = due_target - k.progress.due_ms;
      // Overdue now only if no report came after the window either.
      bool later_report = false;
      for (int64_t at : progress_at) later_report |= clock.At(at) > due_target;
      size_t overdue_before = review.overdue_now.size();
      stage(weituo::v1::STAGE_PROGRESS, k.progress, met_at, round, offset);
      if (review.overdue_now.size() > overdue_before && later_report) {
        review.overdue_now.pop_back();
      }
      // Watch the first round still to come that no report has met yet.
      if (every <= 0 || (due_target > now_target && met_at == kNever)) break;
      if (round > 10000) break;  // a guard; 10000 rounds is centuries
    }
    // Only the latest round counts for "overdue now".
    auto first =
        std::find(review.overdue_now.begin(), review.overdue_now.end(), weituo::v1::STAGE_PROGRESS);
    if (first != review.overdue_now.end()) {
      review.overdue_now.erase(
          std::remove(first + 1, review.overdue_now.end(), weituo::v1::STAGE_PROGRESS),
          review.overdue_now.end());
    }
  }

  // Broker actions: the origin's silence while material is requested, and
  // the not-after date.
  int64_t action_at = kNever;
  if (waiting_for_info && open_pause != kNever && policy.supply_info.enabled()) {
    const int64_t asked = open_pause;
    const int64_t due = asked + policy.supply_info.due_ms;
    if (due <= now_ms) {
      action_at = due;
      review.action = Action::kDeemWithdrawn;
    } else {
      consider(due);
      if (policy.supply_info.warn_ms > 0) {
        const int64_t warn = asked + policy.supply_info.warn_ms;
        if (warn <= now_ms) {
          if (!recorded.count({weituo::v1::STAGE_SUPPLY_INFO, info_rounds, false})) {
            passed.push_back(
                Crossing{weituo::v1::STAGE_SUPPLY_INFO, false, info_rounds, warn, due});
          }
        } else {
          consider(warn);
        }
      }
    }
  }
  if (auto expiry = ExpiryMs(commission.not_after())) {
    if (*expiry <= now_ms) {
      if (*expiry < action_at) {
        action_at = *expiry;
        review.action = Action::kExpire;
      }
    } else {
      consider(*expiry);
    }
  }

  std::stable_sort(passed.begin(), passed.end(), [](const Crossing& a, const Crossing& b) {
    return std::tie(a.at_ms, a.stage, a.round) < std::tie(b.at_ms, b.stage, b.round);
  });
  for (const Crossing& c : passed) {
    if (review.action && c.at_ms > action_at) continue;
    review.crossings.push_back(c);
  }
  if (review.action) {
    review.action_at_ms = action_at;
    review.overdue_now.clear();
    review.next_check_ms = 0;
    return review;
  }
  review.next_check_ms = next == kNever ? 0 : next;
  return review;
}

}  // namespace weituo
