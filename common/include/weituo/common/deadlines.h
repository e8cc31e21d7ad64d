// Deadlines of a commission as data and as pure rules. A policy gives, per
// kind and stage, a warning point and an overdue point measured from the
// submission; ReviewDeadlines looks at a commission's trail at a time the
// caller passes in and says which points were crossed and not yet recorded,
// which broker action is due (expiry, deemed withdrawal), which stages are
// overdue now, and when to look again. No I/O, no clock: the broker applies
// it, the tests enumerate it. The stages and defaults are in
// docs/supervision.md.
//
// Time spent waiting for the origin's material (NEEDS_INFO) does not count
// against the target: its clock stops at the request and resumes when the
// material is supplied.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "weituo/common/lifecycle.h"
#include "weituo/common/status.h"
#include "weituo/v1/commission.pb.h"

namespace weituo {

using weituo::v1::DeadlineStage;

inline constexpr int64_t kDayMs = 24LL * 60 * 60 * 1000;

// One stage's points, in milliseconds after the stage's clock starts.
struct StageRule {
  int64_t warn_ms = 0;  // 0: no warning point
  int64_t due_ms = 0;   // 0: the stage has no deadline
  bool enabled() const { return due_ms > 0; }
};

struct KindDeadlines {
  StageRule acknowledge;  // from submission to ACCEPTED
  StageRule start;        // from submission to the first progress report or request for material
  // A progress report is due at progress.due_ms while not done, then every
  // progress_every_ms (0: only once); each round's warning comes
  // (due - warn) before its overdue point.
  StageRule progress;
  int64_t progress_every_ms = 0;
  StageRule complete;         // from submission to the end
  StageRule complete_urgent;  // replaces `complete` for urgent commissions, if enabled
  StageRule long_stop;        // from submission to the end; for the superior court
};

struct DeadlinePolicy {
  std::map<weituo::v1::Kind, KindDeadlines> kinds;  // every kind has an entry
  // The origin's time to supply requested material, from the request; at
  // the overdue point the commission is deemed withdrawn.
  StageRule supply_info;

  // The law's defaults (DESIGN.md): acknowledge 7 days (warn at 5), start 15
  // (12), progress report at 30 days and every 30 after (warn 3 days
  // before), asset queries done in 7 days (5), urgent ones in 3 (2), long
  // stop at 180 days (150), material supplied within 30 days (25).
  static DeadlinePolicy Defaults();
  // The defaults overridden by a TOML file (deploy/zone/deadlines.toml
  // shows the form). INVALID_ARGUMENT naming the file, key and problem for
  // an unknown key, a malformed duration, or a warning not before its
  // overdue point.
  static StatusOr<DeadlinePolicy> LoadFile(const std::string& path);
  static StatusOr<DeadlinePolicy> LoadString(const std::string& toml, const std::string& origin);

  const KindDeadlines& For(weituo::v1::Kind kind) const;
};

// "7d", "36h", "90m", "30s", "250ms" -> milliseconds; "off" -> 0.
// INVALID_ARGUMENT otherwise.
StatusOr<int64_t> ParseDuration(const std::string& text);
// "7d", "36h", ... : the largest unit that divides ms exactly.
std::string FormatDuration(int64_t ms);

// The moment a commission with not_after "YYYY-MM-DD" expires: the end of
// that day in China Standard Time (UTC+8). nullopt for an empty or invalid
// date.
std::optional<int64_t> ExpiryMs(const std::string& not_after);

// A warning or overdue point that was crossed.
struct Crossing {
  DeadlineStage stage = weituo::v1::STAGE_UNSPECIFIED;
  bool overdue = false;
  uint32_t round = 1;     // progress report or request for material number; else 1
  int64_t at_ms = 0;      // when the point was crossed
  int64_t due_at_ms = 0;  // the stage's overdue point; 0 if unknown (clock stopped)
  bool operator==(const Crossing&) const = default;
};

struct DeadlineReview {
  // Crossings not yet in the trail, in time order. A warning whose overdue
  // point has also passed is left out: the overdue crossing says more.
  std::vector<Crossing> crossings;
  // A broker action due now (kExpire or kDeemWithdrawn), applied after the
  // crossings; crossings later than it are left out.
  std::optional<Action> action;
  int64_t action_at_ms = 0;
  // Stages whose overdue point passed while they are still not met.
  std::vector<DeadlineStage> overdue_now;
  // When something next becomes due; 0 if nothing ever will (final state).
  int64_t next_check_ms = 0;
};

// Reviews `commission` whose trail is `events` (by seq, starting with
// EV_SUBMITTED) at `now_ms`. Crossings already recorded as
// EV_DEADLINE_WARNING / EV_DEADLINE_OVERDUE events are not repeated.
DeadlineReview ReviewDeadlines(const DeadlinePolicy& policy,
                               const weituo::v1::Commission& commission,
                               const std::vector<weituo::v1::Event>& events, int64_t now_ms);

std::string_view StageName(DeadlineStage stage);

}  // namespace weituo
