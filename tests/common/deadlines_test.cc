#include "weituo/common/deadlines.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fifo_watchdog.h"
#include "status_matchers.h"

namespace weituo {

namespace {

// All trails start at T0 = 2026-01-01T00:00:00Z unless a test says otherwise.
constexpr int64_t kT0 = 1767225600000;
constexpr int64_t kHourMs = 60LL * 60 * 1000;

// The wall-clock moment `n` days after T0.
constexpr int64_t Day(int64_t n) { return kT0 + n * kDayMs; }
constexpr int64_t Days(int64_t n) { return n * kDayMs; }
constexpr int64_t Hours(int64_t n) { return n * kHourMs; }

}  // namespace

// Failure messages show stages, actions and times relative to T0.
static void PrintTo(Action action, std::ostream* os) { *os << ActionName(action); }
static void PrintTo(const Crossing& c, std::ostream* os) {
  *os << "{" << StageName(c.stage) << (c.overdue ? " overdue" : " warning") << " round " << c.round
      << " at T0+" << (c.at_ms - kT0) << "ms due ";
  if (c.due_at_ms == 0) {
    *os << "unknown}";
  } else {
    *os << "T0+" << (c.due_at_ms - kT0) << "ms}";
  }
}
static void PrintTo(const StageRule& rule, std::ostream* os) {
  *os << "{warn " << rule.warn_ms << "ms, due " << rule.due_ms << "ms}";
}

namespace v1 {
static void PrintTo(DeadlineStage stage, std::ostream* os) { *os << DeadlineStage_Name(stage); }
}  // namespace v1

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using weituo::v1::Commission;
using weituo::v1::Event;
using weituo::v1::EventType;
using weituo::v1::Kind;
using weituo::v1::STAGE_ACKNOWLEDGE;
using weituo::v1::STAGE_COMPLETE;
using weituo::v1::STAGE_LONG_STOP;
using weituo::v1::STAGE_PROGRESS;
using weituo::v1::STAGE_START;
using weituo::v1::STAGE_SUPPLY_INFO;
using weituo::v1::Urgency;

// ---- Helpers ---------------------------------------------------------------

Commission Locate(const std::string& not_after = "") {
  Commission c;
  c.set_id("01JDEADLINESTEST0000000001");
  c.mutable_debtor_locate()->set_notes("last seen in Hangzhou");
  c.set_not_after(not_after);
  return c;
}

Commission AssetQuery(Urgency urgency = weituo::v1::URGENCY_NORMAL,
                      const std::string& not_after = "") {
  Commission c;
  c.set_id("01JDEADLINESTEST0000000002");
  c.mutable_asset_query()->add_classes(weituo::v1::DEPOSITS);
  c.set_urgency(urgency);
  c.set_not_after(not_after);
  return c;
}

Commission Seizure(Urgency urgency = weituo::v1::URGENCY_NORMAL) {
  Commission c;
  c.set_id("01JDEADLINESTEST0000000003");
  c.mutable_vehicle_seizure()->set_plate("浙A12345");
  c.set_urgency(urgency);
  return c;
}

// A commission's trail, built in time order. Each method appends one event
// with the state the lifecycle would leave; deadline events keep the state.
class Trail {
 public:
  explicit Trail(int64_t submitted_at = kT0) {
    Add(weituo::v1::EV_SUBMITTED, submitted_at, weituo::v1::SUBMITTED);
  }

  Trail& Delivered(int64_t at) {
    return Add(weituo::v1::EV_DELIVERED, at,
               state_ == weituo::v1::SUBMITTED ? weituo::v1::DELIVERED : state_);
  }
  Trail& Accepted(int64_t at) { return Add(weituo::v1::EV_ACCEPTED, at, weituo::v1::ACCEPTED); }
  Trail& Progress(int64_t at) { return Add(weituo::v1::EV_PROGRESS, at, weituo::v1::IN_PROGRESS); }
  Trail& InfoRequested(int64_t at) {
    return Add(weituo::v1::EV_INFO_REQUESTED, at, weituo::v1::NEEDS_INFO);
  }
  Trail& InfoSupplied(int64_t at) {
    return Add(weituo::v1::EV_INFO_SUPPLIED, at, weituo::v1::IN_PROGRESS);
  }
  Trail& Completed(int64_t at) { return Add(weituo::v1::EV_COMPLETED, at, weituo::v1::COMPLETED); }
  // A crossing the broker recorded, at its own point unless `at` is given.
  Trail& Recorded(const Crossing& c, std::optional<int64_t> at = std::nullopt) {
    Add(c.overdue ? weituo::v1::EV_DEADLINE_OVERDUE : weituo::v1::EV_DEADLINE_WARNING,
        at.value_or(c.at_ms), state_);
    weituo::v1::DeadlineNotice* notice = events_.back().mutable_deadline();
    notice->set_stage(c.stage);
    notice->set_overdue(c.overdue);
    notice->set_round(c.round);
    notice->set_due_at_ms(c.due_at_ms);
    return *this;
  }

  Trail& Add(EventType type, int64_t at, State state) {
    Event e;
    e.set_commission_id("01JDEADLINESTEST0000000001");
    e.set_seq(events_.size() + 1);
    e.set_type(type);
    e.set_at_ms(at);
    e.set_state(state);
    events_.push_back(std::move(e));
    state_ = state;
    return *this;
  }

  const std::vector<Event>& events() const { return events_; }
  State state() const { return state_; }

 private:
  std::vector<Event> events_;
  State state_ = weituo::v1::STATE_UNSPECIFIED;
};

DeadlineReview Review(const Commission& commission, const Trail& trail, int64_t now_ms,
                      const DeadlinePolicy& policy = DeadlinePolicy::Defaults()) {
  return ReviewDeadlines(policy, commission, trail.events(), now_ms);
}

Crossing Warning(DeadlineStage stage, int64_t at, int64_t due_at, uint32_t round = 1) {
  return Crossing{stage, false, round, at, due_at};
}
Crossing Overdue(DeadlineStage stage, int64_t at, uint32_t round = 1) {
  return Crossing{stage, true, round, at, at};
}

// The defaults with every stage turned off except `keep`.
DeadlinePolicy Only(std::initializer_list<DeadlineStage> keep) {
  auto kept = [&](DeadlineStage s) { return std::find(keep.begin(), keep.end(), s) != keep.end(); };
  DeadlinePolicy policy = DeadlinePolicy::Defaults();
  for (auto& [kind, k] : policy.kinds) {
    if (!kept(STAGE_ACKNOWLEDGE)) k.acknowledge = {};
    if (!kept(STAGE_START)) k.start = {};
    if (!kept(STAGE_PROGRESS)) k.progress = {};
    if (!kept(STAGE_COMPLETE)) k.complete = k.complete_urgent = {};
    if (!kept(STAGE_LONG_STOP)) k.long_stop = {};
  }
  if (!kept(STAGE_SUPPLY_INFO)) policy.supply_info = {};
  return policy;
}

// Nothing crossed, nothing due, nothing overdue.
void ExpectQuiet(const DeadlineReview& review) {
  EXPECT_THAT(review.crossings, IsEmpty());
  EXPECT_EQ(review.action, std::nullopt);
  EXPECT_THAT(review.overdue_now, IsEmpty());
}

// A final state's review: nothing at all.
void ExpectEmpty(const DeadlineReview& review) {
  ExpectQuiet(review);
  EXPECT_EQ(review.action_at_ms, 0);
  EXPECT_EQ(review.next_check_ms, 0);
}

MATCHER_P2(RuleIs, warn_ms, due_ms,
           "is {warn " + ::testing::PrintToString(warn_ms) + "ms, due " +
               ::testing::PrintToString(due_ms) + "ms}") {
  return arg.warn_ms == warn_ms && arg.due_ms == due_ms;
}

std::vector<Kind> AllKinds() {
  std::vector<Kind> kinds;
  const auto* descriptor = weituo::v1::Kind_descriptor();
  for (int i = 0; i < descriptor->value_count(); ++i) {
    kinds.push_back(static_cast<Kind>(descriptor->value(i)->number()));
  }
  return kinds;
}

// Every number of a policy, so that two policies compare as text.
std::string Describe(const DeadlinePolicy& policy) {
  std::ostringstream out;
  auto rule = [&](const char* name, const StageRule& r) {
    out << " " << name << "=" << r.warn_ms << "/" << r.due_ms;
  };
  for (const auto& [kind, k] : policy.kinds) {
    out << weituo::v1::Kind_Name(kind) << ":";
    rule("acknowledge", k.acknowledge);
    rule("start", k.start);
    rule("progress", k.progress);
    out << " every=" << k.progress_every_ms;
    rule("complete", k.complete);
    rule("complete_urgent", k.complete_urgent);
    rule("long_stop", k.long_stop);
    out << "\n";
  }
  rule("supply_info", policy.supply_info);
  return out.str();
}

StatusOr<DeadlinePolicy> Load(const std::string& toml) {
  return DeadlinePolicy::LoadString(toml, "t.toml");
}

// ---- Durations -------------------------------------------------------------

// The milliseconds of a duration that must parse; -1 (and a failure) if not.
int64_t Parsed(const std::string& text) {
  StatusOr<int64_t> ms = ParseDuration(text);
  EXPECT_THAT(ms, IsOk()) << "'" << text << "'";
  return ms.ok() ? *ms : -1;
}

TEST(DeadlineDurationTest, ParsesEveryUnit) {
  EXPECT_EQ(Parsed("7d"), 7 * kDayMs);
  EXPECT_EQ(Parsed("36h"), 36 * kHourMs);
  EXPECT_EQ(Parsed("90m"), 90 * 60 * 1000);
  EXPECT_EQ(Parsed("30s"), 30 * 1000);
  EXPECT_EQ(Parsed("250ms"), 250);
  EXPECT_EQ(Parsed("1ms"), 1);
  EXPECT_EQ(Parsed("180d"), 180 * kDayMs);
  EXPECT_EQ(Parsed("off"), 0);
}

TEST(DeadlineDurationTest, RefusesMalformedText) {
  for (const char* text :
       {"", "d", "ms", "-1d", " 7d", "+7d", "seven", "OFF", "1234567890123456d"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseDuration(text),
                StatusIs(StatusCode::kInvalidArgument,
                         HasSubstr("'" + std::string(text) + "' is not a duration like 7d")));
  }
  for (const char* text : {"7", "7w", "7D", "7 d", "7d ", "1.5d", "7days", "7dd", "7hm"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseDuration(text),
                StatusIs(StatusCode::kInvalidArgument,
                         HasSubstr("'" + std::string(text) + "' has no unit (d, h, m, s or ms)")));
  }
}

TEST(DeadlineDurationTest, RefusesMoreThanACentury) {
  auto century = ParseDuration("36525d");
  ASSERT_THAT(century, IsOk());
  EXPECT_EQ(*century, 36525 * kDayMs);
  for (const char* text : {"36526d", "1234567890123d", "999999999999999ms"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseDuration(text),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("longer than a hundred years")));
  }
}

TEST(DeadlineDurationTest, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(0), "off");
  EXPECT_EQ(FormatDuration(7 * kDayMs), "7d");
  EXPECT_EQ(FormatDuration(48 * kHourMs), "2d");
  EXPECT_EQ(FormatDuration(36 * kHourMs), "36h");
  EXPECT_EQ(FormatDuration(90 * 60 * 1000), "90m");
  EXPECT_EQ(FormatDuration(120 * 60 * 1000), "2h");
  EXPECT_EQ(FormatDuration(30 * 1000), "30s");
  EXPECT_EQ(FormatDuration(250), "250ms");
  EXPECT_EQ(FormatDuration(1500), "1500ms");
  EXPECT_EQ(FormatDuration(kDayMs + 1), std::to_string(kDayMs + 1) + "ms");
}

TEST(DeadlineDurationTest, FormatThenParseRoundTrips) {
  for (int64_t ms : {int64_t{1}, int64_t{999}, int64_t{1000}, int64_t{61000}, Hours(25), Days(30),
                     Days(180) + 1, Days(3) + Hours(1)}) {
    SCOPED_TRACE(ms);
    EXPECT_EQ(Parsed(FormatDuration(ms)), ms);
  }
}

// ---- Expiry and names ------------------------------------------------------

TEST(DeadlineExpiryTest, IsTheEndOfTheDayInChinaStandardTime) {
  // 2026-11-27T16:00:00Z is 2026-11-28T00:00:00+08:00 (checked with date(1)
  // and Python's datetime).
  EXPECT_EQ(ExpiryMs("2026-11-27"), 1795795200000);
  EXPECT_EQ(ExpiryMs("2026-01-20"), Day(19) + Hours(16));
  EXPECT_EQ(ExpiryMs("2026-01-01"), kT0 + Hours(16));
  EXPECT_EQ(ExpiryMs("1970-01-01"), 57600000);
  EXPECT_EQ(ExpiryMs("1969-12-31"), -28800000);
  EXPECT_EQ(ExpiryMs("2000-03-01"), 951926400000);
  EXPECT_EQ(ExpiryMs("2024-02-29"), 1709222400000);
  EXPECT_EQ(*ExpiryMs("2024-03-01") - *ExpiryMs("2024-02-28"), Days(2));
  EXPECT_EQ(*ExpiryMs("2027-01-01") - *ExpiryMs("2026-12-31"), Days(1));
}

TEST(DeadlineExpiryTest, EmptyOrInvalidDateHasNone) {
  for (const char* date : {"", "2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-1-20",
                           "26-11-27", "2026/11/27", "2026-11-27T00:00", "tomorrow"}) {
    SCOPED_TRACE(date);
    EXPECT_EQ(ExpiryMs(date), std::nullopt);
  }
}

TEST(DeadlineStageNameTest, NamesEveryStageAsTheConfigDoes) {
  EXPECT_EQ(StageName(weituo::v1::STAGE_UNSPECIFIED), "unspecified");
  EXPECT_EQ(StageName(STAGE_ACKNOWLEDGE), "acknowledge");
  EXPECT_EQ(StageName(STAGE_START), "start");
  EXPECT_EQ(StageName(STAGE_PROGRESS), "progress");
  EXPECT_EQ(StageName(STAGE_COMPLETE), "complete");
  EXPECT_EQ(StageName(STAGE_LONG_STOP), "long_stop");
  EXPECT_EQ(StageName(STAGE_SUPPLY_INFO), "supply_info");
  // A stage added to the schema needs a name here.
  EXPECT_EQ(weituo::v1::DeadlineStage_descriptor()->value_count(), 7);
}

// ---- Policy ----------------------------------------------------------------

TEST(DeadlinePolicyTest, DefaultsAreTheLaw) {
  const DeadlinePolicy policy = DeadlinePolicy::Defaults();
  for (Kind kind : AllKinds()) {
    SCOPED_TRACE(weituo::v1::Kind_Name(kind));
    ASSERT_EQ(policy.kinds.count(kind), 1u);
    const KindDeadlines& k = policy.For(kind);
    EXPECT_THAT(k.acknowledge, RuleIs(Days(5), Days(7)));
    EXPECT_THAT(k.start, RuleIs(Days(12), Days(15)));
    EXPECT_THAT(k.progress, RuleIs(Days(27), Days(30)));
    EXPECT_EQ(k.progress_every_ms, Days(30));
    EXPECT_THAT(k.long_stop, RuleIs(Days(150), Days(180)));
    if (kind == weituo::v1::ASSET_QUERY) {
      EXPECT_THAT(k.complete, RuleIs(Days(5), Days(7)));
      EXPECT_THAT(k.complete_urgent, RuleIs(Days(2), Days(3)));
    } else {
      EXPECT_THAT(k.complete, RuleIs(0, 0));
      EXPECT_THAT(k.complete_urgent, RuleIs(0, 0));
    }
  }
  EXPECT_EQ(policy.kinds.size(), AllKinds().size());
  EXPECT_THAT(policy.supply_info, RuleIs(Days(25), Days(30)));
}

TEST(DeadlinePolicyTest, EmptyTextGivesTheDefaults) {
  StatusOr<DeadlinePolicy> policy = Load("");
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(Describe(*policy), Describe(DeadlinePolicy::Defaults()));
  policy = Load("# nothing changed\n");
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(Describe(*policy), Describe(DeadlinePolicy::Defaults()));
}

TEST(DeadlinePolicyTest, KindTableOverridesOnlyThatKind) {
  StatusOr<DeadlinePolicy> policy = Load(
      "[asset_query]\n"
      "complete = { warn = \"1d\", due = \"2d\" }\n"
      "acknowledge = { warn = \"90m\", due = \"36h\" }\n");
  ASSERT_THAT(policy, IsOk());
  DeadlinePolicy expected = DeadlinePolicy::Defaults();
  expected.kinds[weituo::v1::ASSET_QUERY].complete = {Days(1), Days(2)};
  expected.kinds[weituo::v1::ASSET_QUERY].acknowledge = {90 * 60 * 1000, Hours(36)};
  EXPECT_EQ(Describe(*policy), Describe(expected));
}

TEST(DeadlinePolicyTest, PartialStageKeepsItsOtherPoint) {
  StatusOr<DeadlinePolicy> policy = Load(
      "[debtor_locate]\n"
      "acknowledge = { warn = \"6d\" }\n"
      "start = { due = \"20d\" }\n"
      "long_stop = { warn = \"250ms\", due = \"30s\" }\n");
  ASSERT_THAT(policy, IsOk());
  DeadlinePolicy expected = DeadlinePolicy::Defaults();
  expected.kinds[weituo::v1::DEBTOR_LOCATE].acknowledge = {Days(6), Days(7)};
  expected.kinds[weituo::v1::DEBTOR_LOCATE].start = {Days(12), Days(20)};
  expected.kinds[weituo::v1::DEBTOR_LOCATE].long_stop = {250, 30000};
  EXPECT_EQ(Describe(*policy), Describe(expected));
}

TEST(DeadlinePolicyTest, DefaultTableAppliesToEveryKind) {
  StatusOr<DeadlinePolicy> policy = Load(
      "[default]\n"
      "acknowledge = { warn = \"36h\", due = \"2d\" }\n"
      "long_stop = { due = \"90d\", warn = \"60d\" }\n");
  ASSERT_THAT(policy, IsOk());
  DeadlinePolicy expected = DeadlinePolicy::Defaults();
  for (auto& [kind, k] : expected.kinds) {
    k.acknowledge = {Hours(36), Days(2)};
    k.long_stop = {Days(60), Days(90)};
  }
  // The asset query's own complete rules stay: [default] does not name them.
  EXPECT_EQ(Describe(*policy), Describe(expected));
}

TEST(DeadlinePolicyTest, DefaultCompleteAppliesToEveryKindIncludingAssetQuery) {
  StatusOr<DeadlinePolicy> policy = Load(
      "[default]\n"
      "complete = { warn = \"20d\", due = \"25d\" }\n");
  ASSERT_THAT(policy, IsOk());
  DeadlinePolicy expected = DeadlinePolicy::Defaults();
  for (auto& [kind, k] : expected.kinds) k.complete = {Days(20), Days(25)};
  EXPECT_EQ(Describe(*policy), Describe(expected));
  EXPECT_THAT(policy->For(weituo::v1::ASSET_QUERY).complete_urgent, RuleIs(Days(2), Days(3)));
}

TEST(DeadlinePolicyTest, KindTableOverridesDefaultWhateverTheOrder) {
  // [default] is checked on its own: a due of 10d under the built-in 12-day
  // start warning is refused.
  StatusOr<DeadlinePolicy> policy = Load(
      "[asset_query]\n"
      "start = { warn = \"9d\" }\n"
      "[default]\n"
      "start = { due = \"10d\" }\n");
  EXPECT_THAT(policy, StatusIs(StatusCode::kInvalidArgument,
                               HasSubstr("default.start: warn (12d) must come before due (10d)")));

  policy = Load(
      "[asset_query]\n"
      "acknowledge = { due = \"4d\", warn = \"3d\" }\n"
      "start = { warn = \"9d\" }\n"
      "[default]\n"
      "acknowledge = { warn = \"1d\", due = \"10d\" }\n"
      "start = { warn = \"8d\", due = \"10d\" }\n");
  ASSERT_THAT(policy, IsOk());
  DeadlinePolicy expected = DeadlinePolicy::Defaults();
  for (auto& [kind, k] : expected.kinds) {
    k.acknowledge = {Days(1), Days(10)};
    k.start = {Days(8), Days(10)};
  }
  expected.kinds[weituo::v1::ASSET_QUERY].acknowledge = {Days(3), Days(4)};
  // The kind table changes only the warning; its due comes from [default].
  expected.kinds[weituo::v1::ASSET_QUERY].start = {Days(9), Days(10)};
  EXPECT_EQ(Describe(*policy), Describe(expected));
}

TEST(DeadlinePolicyTest, OffDisablesAStageOrOnePoint) {
  StatusOr<DeadlinePolicy> policy = Load(
      "supply_info = \"off\"\n"
      "[vehicle_seizure]\n"
      "long_stop = \"off\"\n"
      "acknowledge = { warn = \"off\" }\n"
      "start = \"off\"\n"
      "progress = { every = \"off\" }\n"
      "[asset_query]\n"
      "complete_urgent = \"off\"\n");
  ASSERT_THAT(policy, IsOk());
  DeadlinePolicy expected = DeadlinePolicy::Defaults();
  KindDeadlines& seizure = expected.kinds[weituo::v1::VEHICLE_SEIZURE];
  seizure.long_stop = {0, 0};
  seizure.acknowledge = {0, Days(7)};
  seizure.start = {0, 0};
  seizure.progress_every_ms = 0;
  expected.kinds[weituo::v1::ASSET_QUERY].complete_urgent = {0, 0};
  expected.supply_info = {0, 0};
  EXPECT_EQ(Describe(*policy), Describe(expected));
}

// A warning with no overdue point to warn of is a mistake, not a silent
// no-op: e.g. a [default] complete warning would otherwise turn off the
// asset query's 7-day deadline.
TEST(DeadlinePolicyTest, RefusesAWarningWithoutADuePoint) {
  for (const char* text : {"[default]\ncomplete = { warn = \"20d\" }\n",
                           "[vehicle_seizure]\nstart = { warn = \"5d\", due = \"off\" }\n"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(Load(text), StatusIs(StatusCode::kInvalidArgument, HasSubstr("needs a due point")));
  }
}

TEST(DeadlinePolicyTest, ProgressIntervalAndSupplyInfo) {
  StatusOr<DeadlinePolicy> policy = Load(
      "[supply_info]\n"
      "warn = \"10d\"\n"
      "due = \"14d\"\n"
      "[default]\n"
      "progress = { warn = \"10d\", due = \"14d\", every = \"14d\" }\n");
  ASSERT_THAT(policy, IsOk());
  DeadlinePolicy expected = DeadlinePolicy::Defaults();
  for (auto& [kind, k] : expected.kinds) {
    k.progress = {Days(10), Days(14)};
    k.progress_every_ms = Days(14);
  }
  expected.supply_info = {Days(10), Days(14)};
  EXPECT_EQ(Describe(*policy), Describe(expected));
}

TEST(DeadlinePolicyTest, RefusesUnknownTablesNamingThem) {
  EXPECT_THAT(
      Load("[debtor_search]\nstart = { due = \"3d\" }\n"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("t.toml: unknown table [debtor_search]")));
  EXPECT_THAT(Load("[kind_unspecified]\nstart = { due = \"3d\" }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: unknown table [kind_unspecified]")));
  EXPECT_THAT(Load("[supervision]\n"), StatusIs(StatusCode::kInvalidArgument,
                                                HasSubstr("t.toml: unknown table [supervision]")));
}

TEST(DeadlinePolicyTest, RefusesUnknownStagesNamingThem) {
  EXPECT_THAT(Load("[asset_query]\nfinish = { due = \"7d\" }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: unknown key 'asset_query.finish' (asset_query takes "
                                 "acknowledge, start, progress, complete")));
  EXPECT_THAT(Load("[default]\nsupply_info = { due = \"7d\" }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: unknown key 'default.supply_info'")));
}

TEST(DeadlinePolicyTest, RefusesUnknownKeysNamingThem) {
  EXPECT_THAT(Load("[asset_query]\ncomplete = { warn = \"1d\", due = \"2d\", grace = \"1d\" }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: unknown key 'asset_query.complete.grace' "
                                 "(asset_query.complete takes warn, due)")));
  // `every` belongs to progress only.
  EXPECT_THAT(Load("[default]\nacknowledge = { every = \"7d\" }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: unknown key 'default.acknowledge.every'")));
  EXPECT_THAT(
      Load("[supply_info]\nevery = \"7d\"\n"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("t.toml: unknown key 'supply_info.every'")));
}

TEST(DeadlinePolicyTest, RefusesWarningNotBeforeItsDue) {
  EXPECT_THAT(Load("[debtor_locate]\nstart = { warn = \"15d\", due = \"15d\" }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: debtor_locate.start: warn (15d) must come before due "
                                 "(15d)")));
  EXPECT_THAT(
      Load("[debtor_locate]\nstart = { warn = \"16d\", due = \"15d\" }\n"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("warn (16d) must come before due (15d)")));
  // Against the point the table leaves unchanged.
  EXPECT_THAT(Load("[default]\nacknowledge = { warn = \"8d\" }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: default.acknowledge: warn (8d) must come before due "
                                 "(7d)")));
  EXPECT_THAT(Load("[supply_info]\nwarn = \"30d\"\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: supply_info: warn (30d) must come before due (30d)")));
  EXPECT_THAT(Load("[asset_query]\ncomplete_urgent = { warn = \"72h\" }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("asset_query.complete_urgent: warn (3d) must come before due "
                                 "(3d)")));
}

TEST(DeadlinePolicyTest, RefusesMalformedValuesNamingTheKey) {
  EXPECT_THAT(Load("[default]\nacknowledge = { due = \"7 days\" }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: default.acknowledge.due: '7 days' has no unit")));
  EXPECT_THAT(Load("[default]\nacknowledge = { warn = \"soon\" }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: default.acknowledge.warn: 'soon' is not a duration")));
  EXPECT_THAT(Load("[default]\nacknowledge = { due = 7 }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: default.acknowledge.due: expected a duration such as "
                                 "\"7d\", \"36h\", \"90m\" or \"off\", got the integer 7")));
  EXPECT_THAT(Load("[asset_query]\ncomplete = \"7d\"\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: asset_query.complete: expected a table")));
  EXPECT_THAT(Load("default = 3\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: default: expected a table, got the integer 3")));
  EXPECT_THAT(Load("asset_query = 3\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: asset_query: expected a table, got the integer 3")));
}

// A progress interval shorter than the warning's lead (or than an hour)
// would pile up rounds, each with its own warning and overdue events.
TEST(DeadlinePolicyTest, RefusesAProgressIntervalThatWouldPileUpRounds) {
  EXPECT_THAT(
      Load("[default]\nprogress = { every = \"1ms\" }\n"),
      StatusIs(StatusCode::kInvalidArgument,
               HasSubstr("t.toml: default.progress: every (1ms) must be \"off\" or at least "
                         "an hour and at least the warning's lead (3d)")));
  EXPECT_THAT(Load("[asset_query]\nprogress = { warn = \"1h\", due = \"5h\", every = \"2h\" }\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("every (2h) must be")));
  EXPECT_THAT(Load("[asset_query]\nprogress = { warn = \"1h\", due = \"5h\", every = \"4h\" }\n"),
              IsOk());
}

TEST(DeadlinePolicyTest, RefusesValuesOfTheWrongTypeSayingWhatTheyAre) {
  EXPECT_THAT(Load("[default]\nacknowledge = { warn = [\"5d\"] }\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: default.acknowledge.warn: expected a duration such as "
                                 "\"7d\", \"36h\", \"90m\" or \"off\", got an array")));
  EXPECT_THAT(
      Load("supply_info = true\n"),
      StatusIs(StatusCode::kInvalidArgument,
               HasSubstr("t.toml: supply_info: expected a table like { warn = \"5d\", due = "
                         "\"7d\" } or \"off\", got the boolean true")));
}

TEST(DeadlinePolicyTest, LoadFileRefusesWhatIsNotASmallRegularFile) {
  testing::FifoWatchdog fifo(::testing::TempDir() + "deadlines_test_fifo.toml");
  EXPECT_THAT(DeadlinePolicy::LoadFile(fifo.path()),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("cannot read deadlines file " + fifo.path() + ": it is a FIFO")));
  EXPECT_THAT(DeadlinePolicy::LoadFile("/dev/zero"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("it is a character device")));
}

TEST(DeadlinePolicyTest, RefusesTomlSyntaxErrorsWithTheLine) {
  EXPECT_THAT(Load("# deadlines\n\n[asset_query\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("t.toml:3: ")));
}

TEST(DeadlinePolicyTest, LoadFileReadsTheFileAndNamesItInErrors) {
  const std::string path = ::testing::TempDir() + "deadlines_test_policy.toml";
  {
    std::ofstream out(path);
    out << "[asset_query]\ncomplete_urgent = { warn = \"1d\", due = \"36h\" }\n";
  }
  StatusOr<DeadlinePolicy> policy = DeadlinePolicy::LoadFile(path);
  ASSERT_THAT(policy, IsOk());
  DeadlinePolicy expected = DeadlinePolicy::Defaults();
  expected.kinds[weituo::v1::ASSET_QUERY].complete_urgent = {Days(1), Hours(36)};
  EXPECT_EQ(Describe(*policy), Describe(expected));

  {
    std::ofstream out(path);
    out << "[nonsense]\n";
  }
  EXPECT_THAT(
      DeadlinePolicy::LoadFile(path),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr(path + ": unknown table [nonsense]")));
  std::remove(path.c_str());

  const std::string missing = ::testing::TempDir() + "no_such_deadlines.toml";
  EXPECT_THAT(
      DeadlinePolicy::LoadFile(missing),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("cannot read deadlines file " + missing)));
}

// ---- Review: acknowledge ---------------------------------------------------

TEST(DeadlineReviewTest, EmptyTrailHasNothingToReview) {
  DeadlineReview review = ReviewDeadlines(DeadlinePolicy::Defaults(), Locate(), {}, Day(100));
  ExpectEmpty(review);
}

TEST(DeadlineReviewTest, FreshCommissionIsQuietUntilTheAcknowledgeWarning) {
  DeadlineReview review = Review(Locate(), Trail(), kT0);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(5));
}

TEST(DeadlineReviewTest, AcknowledgeWarningAtExactlyItsPoint) {
  DeadlineReview review = Review(Locate(), Trail(), Day(5) - 1);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(5));

  review = Review(Locate(), Trail(), Day(5));
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7))));
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.action, std::nullopt);
  EXPECT_EQ(review.next_check_ms, Day(7));
}

TEST(DeadlineReviewTest, AcknowledgeOverdueAtExactlyItsPointReplacesTheWarning) {
  DeadlineReview review = Review(Locate(), Trail(), Day(7) - 1);
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7))));
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.next_check_ms, Day(7));

  review = Review(Locate(), Trail(), Day(7));
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_ACKNOWLEDGE, Day(7))));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_ACKNOWLEDGE));
  EXPECT_EQ(review.next_check_ms, Day(12));  // the start warning
}

TEST(DeadlineReviewTest, AcknowledgeMetBeforeItsWarning) {
  DeadlineReview review = Review(Locate(), Trail().Accepted(Day(4)), Day(10));
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(12));
}

TEST(DeadlineReviewTest, AcknowledgeMetBetweenWarningAndDue) {
  Trail trail;
  trail.Recorded(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7))).Accepted(Day(6));
  ExpectQuiet(Review(Locate(), trail, Day(8)));
  // Also when the broker never recorded the warning: met is met.
  ExpectQuiet(Review(Locate(), Trail().Accepted(Day(6)), Day(8)));
  EXPECT_EQ(Review(Locate(), trail, Day(8)).next_check_ms, Day(12));
}

TEST(DeadlineReviewTest, AcknowledgeMetAfterItsDue) {
  Trail trail;
  trail.Recorded(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7)))
      .Recorded(Overdue(STAGE_ACKNOWLEDGE, Day(7)))
      .Accepted(Day(8));
  ExpectQuiet(Review(Locate(), trail, Day(9)));
  ExpectQuiet(Review(Locate(), Trail().Accepted(Day(8)), Day(9)));
}

TEST(DeadlineReviewTest, AcknowledgeIsNotMetByDelivery) {
  DeadlineReview review = Review(Locate(), Trail().Delivered(kT0 + Hours(1)), Day(5));
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7))));
}

TEST(DeadlineReviewTest, RecordedCrossingsAreNotRepeated) {
  Trail trail;
  trail.Recorded(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7)));
  DeadlineReview review = Review(Locate(), trail, Day(6));
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(7));

  trail.Recorded(Overdue(STAGE_ACKNOWLEDGE, Day(7)));
  review = Review(Locate(), trail, Day(8));
  EXPECT_THAT(review.crossings, IsEmpty());
  // Recorded or not, the stage is still overdue.
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_ACKNOWLEDGE));
  EXPECT_EQ(review.next_check_ms, Day(12));
}

TEST(DeadlineReviewTest, RecordedCrossingMustMatchStageRoundAndLevel) {
  Trail trail;
  trail.Recorded(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7), /*round=*/2), Day(1))
      .Recorded(Warning(STAGE_START, Day(5), Day(7)), Day(1))
      .Recorded(Overdue(STAGE_PROGRESS, Day(5)), Day(1));
  EXPECT_THAT(Review(Locate(), trail, Day(5)).crossings,
              ElementsAre(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7))));

  // A recorded warning does not stand for the overdue crossing.
  Trail warned;
  warned.Recorded(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7)));
  EXPECT_THAT(Review(Locate(), warned, Day(7)).crossings,
              ElementsAre(Overdue(STAGE_ACKNOWLEDGE, Day(7))));
}

// ---- Review: start ---------------------------------------------------------

TEST(DeadlineReviewTest, StartWarningAndOverdueAtExactlyTheirPoints) {
  Trail trail;
  trail.Accepted(Day(1));  // acceptance does not start the work
  DeadlineReview review = Review(Locate(), trail, Day(12) - 1);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(12));

  review = Review(Locate(), trail, Day(12));
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_START, Day(12), Day(15))));
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.next_check_ms, Day(15));

  review = Review(Locate(), trail, Day(15) - 1);
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_START, Day(12), Day(15))));
  EXPECT_EQ(review.next_check_ms, Day(15));

  review = Review(Locate(), trail, Day(15));
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_START, Day(15))));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_START));
  EXPECT_EQ(review.next_check_ms, Day(27));  // the first progress warning
}

TEST(DeadlineReviewTest, StartMetByTheFirstProgressReport) {
  Trail before;
  before.Accepted(Day(1)).Progress(Day(11));
  ExpectQuiet(Review(Locate(), before, Day(16)));

  Trail between;
  between.Accepted(Day(1)).Recorded(Warning(STAGE_START, Day(12), Day(15))).Progress(Day(13));
  ExpectQuiet(Review(Locate(), between, Day(16)));

  Trail after;
  after.Accepted(Day(1)).Recorded(Overdue(STAGE_START, Day(15))).Progress(Day(16));
  ExpectQuiet(Review(Locate(), after, Day(17)));
}

TEST(DeadlineReviewTest, StartMetByARequestForMaterial) {
  Trail trail;
  trail.Accepted(Day(1)).InfoRequested(Day(10)).InfoSupplied(Day(11));
  DeadlineReview review = Review(Locate(), trail, Day(20));
  ExpectQuiet(review);
  // The first progress warning, 27 days of target time: one day later for the pause.
  EXPECT_EQ(review.next_check_ms, Day(28));
}

// ---- Review: complete ------------------------------------------------------

TEST(DeadlineReviewTest, NormalAssetQueryCompleteWarningAndOverdue) {
  const Commission c = AssetQuery();
  Trail trail;
  trail.Accepted(Day(1));
  DeadlineReview review = Review(c, trail, Day(5) - 1);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(5));

  review = Review(c, trail, Day(5));
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_COMPLETE, Day(5), Day(7))));
  EXPECT_EQ(review.next_check_ms, Day(7));

  review = Review(c, trail, Day(7) - 1);
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_COMPLETE, Day(5), Day(7))));
  EXPECT_THAT(review.overdue_now, IsEmpty());

  review = Review(c, trail, Day(7));
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_COMPLETE, Day(7))));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_COMPLETE));
  EXPECT_EQ(review.next_check_ms, Day(12));
}

TEST(DeadlineReviewTest, UrgentAssetQueryUsesTheUrgentCompleteRule) {
  const Commission c = AssetQuery(weituo::v1::URGENCY_URGENT);
  Trail trail;
  trail.Accepted(Day(1));
  DeadlineReview review = Review(c, trail, Day(2) - 1);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(2));

  review = Review(c, trail, Day(2));
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_COMPLETE, Day(2), Day(3))));
  EXPECT_EQ(review.next_check_ms, Day(3));

  review = Review(c, trail, Day(3) - 1);
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_COMPLETE, Day(2), Day(3))));

  review = Review(c, trail, Day(3));
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_COMPLETE, Day(3))));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_COMPLETE));
  EXPECT_EQ(review.next_check_ms, Day(12));

  // The same moment is quiet for a normal one.
  review = Review(AssetQuery(), trail, Day(3));
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(5));
}

TEST(DeadlineReviewTest, UrgentFallsBackToCompleteWhenTheUrgentRuleIsOff) {
  StatusOr<DeadlinePolicy> policy = Load("[asset_query]\ncomplete_urgent = \"off\"\n");
  ASSERT_THAT(policy, IsOk());
  const Commission c = AssetQuery(weituo::v1::URGENCY_URGENT);
  Trail trail;
  trail.Accepted(Day(1));
  ExpectQuiet(Review(c, trail, Day(3), *policy));
  EXPECT_THAT(Review(c, trail, Day(5), *policy).crossings,
              ElementsAre(Warning(STAGE_COMPLETE, Day(5), Day(7))));
  EXPECT_THAT(Review(c, trail, Day(7), *policy).crossings,
              ElementsAre(Overdue(STAGE_COMPLETE, Day(7))));
}

TEST(DeadlineReviewTest, OtherKindsHaveNoCompleteDeadline) {
  const DeadlinePolicy policy = Only({STAGE_COMPLETE});
  Commission unspecified;
  unspecified.set_urgency(weituo::v1::URGENCY_URGENT);
  Commission locate = Locate();
  locate.set_urgency(weituo::v1::URGENCY_URGENT);
  for (const Commission& c :
       {locate, Seizure(), Seizure(weituo::v1::URGENCY_URGENT), unspecified}) {
    SCOPED_TRACE(c.DebugString());
    DeadlineReview review = Review(c, Trail(), Day(100), policy);
    ExpectEmpty(review);
  }
}

TEST(DeadlineReviewTest, CompleteIsMetOnlyByTheEnd) {
  const Commission c = AssetQuery(weituo::v1::URGENCY_URGENT);
  Trail trail;
  trail.Accepted(kT0 + Hours(1)).Progress(Day(1));
  DeadlineReview review = Review(c, trail, Day(4));
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_COMPLETE, Day(3))));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_COMPLETE));

  trail.Completed(Day(2) + Hours(5));
  ExpectEmpty(Review(c, trail, Day(4)));
}

// ---- Review: long stop -----------------------------------------------------

TEST(DeadlineReviewTest, LongStopWarningAndOverdueAtExactlyTheirPoints) {
  const DeadlinePolicy policy = Only({STAGE_LONG_STOP});
  Trail trail;
  trail.Accepted(Day(1)).Progress(Day(2));
  DeadlineReview review = Review(Locate(), trail, Day(150) - 1, policy);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(150));

  review = Review(Locate(), trail, Day(150), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_LONG_STOP, Day(150), Day(180))));
  EXPECT_EQ(review.next_check_ms, Day(180));

  review = Review(Locate(), trail, Day(180) - 1, policy);
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_LONG_STOP, Day(150), Day(180))));
  EXPECT_THAT(review.overdue_now, IsEmpty());

  review = Review(Locate(), trail, Day(180), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_LONG_STOP, Day(180))));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_LONG_STOP));
  EXPECT_EQ(review.next_check_ms, 0);  // nothing further can become due
}

// ---- Review: progress ------------------------------------------------------

TEST(DeadlineReviewTest, ProgressRoundOneAtExactlyItsPoints) {
  const DeadlinePolicy policy = Only({STAGE_PROGRESS});
  Trail trail;
  trail.Accepted(Day(1));
  DeadlineReview review = Review(Locate(), trail, Day(27) - 1, policy);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(27));

  review = Review(Locate(), trail, Day(27), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_PROGRESS, Day(27), Day(30), 1)));
  EXPECT_EQ(review.next_check_ms, Day(30));

  review = Review(Locate(), trail, Day(30) - 1, policy);
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_PROGRESS, Day(27), Day(30), 1)));
  EXPECT_THAT(review.overdue_now, IsEmpty());

  review = Review(Locate(), trail, Day(30), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_PROGRESS, Day(30), 1)));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_PROGRESS));
  EXPECT_EQ(review.next_check_ms, Day(57));  // round 2's warning
}

TEST(DeadlineReviewTest, ProgressRoundsReportedOnTime) {
  const DeadlinePolicy policy = Only({STAGE_PROGRESS});
  Trail trail;
  trail.Accepted(Day(1)).Progress(Day(20)).Progress(Day(50)).Progress(Day(80));
  for (int64_t now : {Day(30), Day(58), Day(60), Day(88), Day(90), Day(95)}) {
    SCOPED_TRACE(now - kT0);
    ExpectQuiet(Review(Locate(), trail, now, policy));
  }
  // Round 4 (due day 120) has no report yet: its warning is next.
  EXPECT_EQ(Review(Locate(), trail, Day(95), policy).next_check_ms, Day(117));
  EXPECT_THAT(Review(Locate(), trail, Day(117), policy).crossings,
              ElementsAre(Warning(STAGE_PROGRESS, Day(117), Day(120), 4)));
}

TEST(DeadlineReviewTest, ProgressReportAtTheDuePointMeetsThatRoundOnly) {
  const DeadlinePolicy policy = Only({STAGE_PROGRESS});
  Trail at_due;
  at_due.Accepted(Day(1)).Progress(Day(30));
  DeadlineReview review = Review(Locate(), at_due, Day(61), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_PROGRESS, Day(60), 2)));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_PROGRESS));
  EXPECT_EQ(review.next_check_ms, Day(87));

  // One millisecond later it is late for round 1 and counts for round 2.
  Trail late;
  late.Accepted(Day(1)).Progress(Day(30) + 1);
  review = Review(Locate(), late, Day(61), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_PROGRESS, Day(30), 1)));
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.next_check_ms, Day(87));
}

TEST(DeadlineReviewTest, LateProgressReport) {
  const DeadlinePolicy policy = Only({STAGE_PROGRESS});
  Trail trail;
  trail.Accepted(Day(1)).Recorded(Overdue(STAGE_PROGRESS, Day(30), 1)).Progress(Day(35));
  // The late report catches up: round 1 stays missed (and recorded), round 2 is met.
  ExpectQuiet(Review(Locate(), trail, Day(36), policy));
  ExpectQuiet(Review(Locate(), trail, Day(60), policy));
  // Round 3 has no report.
  DeadlineReview review = Review(Locate(), trail, Day(90), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_PROGRESS, Day(90), 3)));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_PROGRESS));
  // Had the broker not recorded round 1, it would still be reported.
  Trail unrecorded;
  unrecorded.Accepted(Day(1)).Progress(Day(35));
  EXPECT_THAT(Review(Locate(), unrecorded, Day(36), policy).crossings,
              ElementsAre(Overdue(STAGE_PROGRESS, Day(30), 1)));
}

TEST(DeadlineReviewTest, MissingProgressReports) {
  const DeadlinePolicy policy = Only({STAGE_PROGRESS});
  Trail trail;
  trail.Accepted(Day(1));
  DeadlineReview review = Review(Locate(), trail, Day(95), policy);
  EXPECT_THAT(review.crossings,
              ElementsAre(Overdue(STAGE_PROGRESS, Day(30), 1), Overdue(STAGE_PROGRESS, Day(60), 2),
                          Overdue(STAGE_PROGRESS, Day(90), 3)));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_PROGRESS));  // once
  EXPECT_EQ(review.next_check_ms, Day(117));

  trail.Recorded(Overdue(STAGE_PROGRESS, Day(30), 1))
      .Recorded(Overdue(STAGE_PROGRESS, Day(60), 2))
      .Recorded(Overdue(STAGE_PROGRESS, Day(90), 3));
  review = Review(Locate(), trail, Day(117), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_PROGRESS, Day(117), Day(120), 4)));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_PROGRESS));
  EXPECT_EQ(review.next_check_ms, Day(120));

  // Only round 2 missing, and the report for round 3 came since.
  Trail gap;
  gap.Accepted(Day(1)).Progress(Day(20)).Progress(Day(80));
  review = Review(Locate(), gap, Day(95), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_PROGRESS, Day(60), 2)));
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.next_check_ms, Day(117));
}

TEST(DeadlineReviewTest, ProgressWithoutIntervalHasOneRound) {
  DeadlinePolicy policy = Only({STAGE_PROGRESS});
  policy.kinds[weituo::v1::DEBTOR_LOCATE].progress_every_ms = 0;
  Trail reported;
  reported.Accepted(Day(1)).Progress(Day(5));
  ExpectEmpty(Review(Locate(), reported, Day(200), policy));

  Trail silent;
  silent.Accepted(Day(1));
  DeadlineReview review = Review(Locate(), silent, Day(200), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_PROGRESS, Day(30), 1)));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_PROGRESS));
  EXPECT_EQ(review.next_check_ms, 0);
}

// next_check_ms includes the points of the progress round after one that is
// already met: with a report on day 10 (meeting round 1), at day 11 the next
// look is day 57, round 2's warning, not the long stop's day 150. (Found by
// this test: the round loop once stopped at the first future round even
// when it was met, and a broker sleeping until next_check_ms would have
// reported rounds 2-5 late, all at once.)
TEST(DeadlineReviewTest, NextCheckIncludesTheRoundAfterAMetProgressRound) {
  Trail trail;
  trail.Accepted(Day(1)).Progress(Day(10));
  EXPECT_EQ(Review(Locate(), trail, Day(11), Only({STAGE_PROGRESS})).next_check_ms, Day(57));
  EXPECT_EQ(Review(Locate(), trail, Day(11)).next_check_ms, Day(57));
  // And what happens if nobody looks before day 150: four rounds at once.
  EXPECT_THAT(
      Review(Locate(), trail, Day(150), Only({STAGE_PROGRESS})).crossings,
      ElementsAre(Overdue(STAGE_PROGRESS, Day(60), 2), Overdue(STAGE_PROGRESS, Day(90), 3),
                  Overdue(STAGE_PROGRESS, Day(120), 4), Overdue(STAGE_PROGRESS, Day(150), 5)));
}

// ---- Review: order, overdue_now, next check --------------------------------

TEST(DeadlineReviewTest, CrossingsAreInTimeOrder) {
  const Commission c = AssetQuery();
  DeadlineReview review = Review(c, Trail(), Day(12));
  EXPECT_THAT(review.crossings,
              ElementsAre(Overdue(STAGE_ACKNOWLEDGE, Day(7)), Overdue(STAGE_COMPLETE, Day(7)),
                          Warning(STAGE_START, Day(12), Day(15))));
  review = Review(c, Trail(), Day(16));
  EXPECT_THAT(review.crossings,
              ElementsAre(Overdue(STAGE_ACKNOWLEDGE, Day(7)), Overdue(STAGE_COMPLETE, Day(7)),
                          Overdue(STAGE_START, Day(15))));
  EXPECT_THAT(review.overdue_now,
              UnorderedElementsAre(STAGE_ACKNOWLEDGE, STAGE_START, STAGE_COMPLETE));
  EXPECT_EQ(review.next_check_ms, Day(27));
}

TEST(DeadlineReviewTest, OverdueNowListsEachUnmetOverdueStageOnce) {
  DeadlineReview review = Review(Locate(), Trail(), Day(181));
  EXPECT_THAT(
      review.crossings,
      ElementsAre(Overdue(STAGE_ACKNOWLEDGE, Day(7)), Overdue(STAGE_START, Day(15)),
                  Overdue(STAGE_PROGRESS, Day(30), 1), Overdue(STAGE_PROGRESS, Day(60), 2),
                  Overdue(STAGE_PROGRESS, Day(90), 3), Overdue(STAGE_PROGRESS, Day(120), 4),
                  Overdue(STAGE_PROGRESS, Day(150), 5), Overdue(STAGE_PROGRESS, Day(180), 6),
                  Overdue(STAGE_LONG_STOP, Day(180))));
  EXPECT_THAT(review.overdue_now, UnorderedElementsAre(STAGE_ACKNOWLEDGE, STAGE_START,
                                                       STAGE_PROGRESS, STAGE_LONG_STOP));
  EXPECT_EQ(review.next_check_ms, Day(207));  // round 7's warning
}

TEST(DeadlineReviewTest, NextCheckIsTheEarliestFuturePoint) {
  const Trail trail;
  const std::vector<std::pair<int64_t, int64_t>> expected = {
      {kT0, Day(5)},        {Day(5), Day(7)},     {Day(7), Day(12)},    {Day(12), Day(15)},
      {Day(15), Day(27)},   {Day(27), Day(30)},   {Day(30), Day(57)},   {Day(100), Day(117)},
      {Day(148), Day(150)}, {Day(150), Day(177)}, {Day(180), Day(207)},
  };
  for (auto [now, next] : expected) {
    SCOPED_TRACE(now - kT0);
    EXPECT_EQ(Review(Locate(), trail, now).next_check_ms, next);
  }
}

// ---- Review: waiting for material (NEEDS_INFO) -----------------------------

TEST(DeadlineReviewTest, PauseShiftsCompleteByExactlyThePausedTime) {
  const Commission c = AssetQuery(weituo::v1::URGENCY_URGENT);
  const int64_t pause = Hours(30) + 7;
  Trail trail;
  trail.Accepted(kT0 + Hours(2)).InfoRequested(Day(1)).InfoSupplied(Day(1) + pause);
  DeadlineReview review = Review(c, trail, Day(2) + pause - 1);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(2) + pause);

  review = Review(c, trail, Day(2) + pause);
  EXPECT_THAT(review.crossings,
              ElementsAre(Warning(STAGE_COMPLETE, Day(2) + pause, Day(3) + pause)));
  EXPECT_EQ(review.next_check_ms, Day(3) + pause);

  review = Review(c, trail, Day(3) + pause - 1);
  EXPECT_THAT(review.crossings,
              ElementsAre(Warning(STAGE_COMPLETE, Day(2) + pause, Day(3) + pause)));
  EXPECT_THAT(review.overdue_now, IsEmpty());

  review = Review(c, trail, Day(3) + pause);
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_COMPLETE, Day(3) + pause)));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_COMPLETE));
  EXPECT_EQ(review.next_check_ms, Day(27) + pause);  // progress round 1's warning, shifted too
}

TEST(DeadlineReviewTest, PausesAddUpForProgressAndLongStop) {
  // Two rounds of material: 2 days (10 -> 12) and 5 days (20 -> 25).
  Trail trail;
  trail.Accepted(Day(1))
      .InfoRequested(Day(10))
      .InfoSupplied(Day(12))
      .InfoRequested(Day(20))
      .InfoSupplied(Day(25));
  DeadlineReview review = Review(Locate(), trail, Day(34) - 1);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(34));
  EXPECT_THAT(Review(Locate(), trail, Day(34)).crossings,
              ElementsAre(Warning(STAGE_PROGRESS, Day(34), Day(37), 1)));
  EXPECT_THAT(Review(Locate(), trail, Day(37) - 1).crossings,
              ElementsAre(Warning(STAGE_PROGRESS, Day(34), Day(37), 1)));
  review = Review(Locate(), trail, Day(37));
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_PROGRESS, Day(37), 1)));
  EXPECT_EQ(review.next_check_ms, Day(64));  // round 2: 57 + 7

  const DeadlinePolicy long_stop = Only({STAGE_LONG_STOP});
  EXPECT_THAT(Review(Locate(), trail, Day(157) - 1, long_stop).crossings, IsEmpty());
  EXPECT_EQ(Review(Locate(), trail, Day(157) - 1, long_stop).next_check_ms, Day(157));
  EXPECT_THAT(Review(Locate(), trail, Day(157), long_stop).crossings,
              ElementsAre(Warning(STAGE_LONG_STOP, Day(157), Day(187))));
  EXPECT_THAT(Review(Locate(), trail, Day(187) - 1, long_stop).crossings,
              ElementsAre(Warning(STAGE_LONG_STOP, Day(157), Day(187))));
  EXPECT_THAT(Review(Locate(), trail, Day(187), long_stop).crossings,
              ElementsAre(Overdue(STAGE_LONG_STOP, Day(187))));
}

TEST(DeadlineReviewTest, ProgressWindowsRunOnTheTargetClock) {
  const DeadlinePolicy policy = Only({STAGE_PROGRESS});
  // Five days of pause: round 1 is due on day 35 of real time.
  Trail on_time;
  on_time.Accepted(Day(1)).InfoRequested(Day(10)).InfoSupplied(Day(15)).Progress(Day(35));
  ExpectQuiet(Review(Locate(), on_time, Day(36), policy));
  EXPECT_EQ(Review(Locate(), on_time, Day(36), policy).next_check_ms, Day(62));

  Trail late;
  late.Accepted(Day(1)).InfoRequested(Day(10)).InfoSupplied(Day(15)).Progress(Day(35) + 1);
  DeadlineReview review = Review(Locate(), late, Day(36), policy);
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_PROGRESS, Day(35), 1)));
  EXPECT_THAT(review.overdue_now, IsEmpty());
}

// The lifecycle asks for material only after acceptance; the rule itself is
// pure, so this trail (request before acceptance) checks that acknowledge
// runs on the target clock too.
TEST(DeadlineReviewTest, PauseShiftsAcknowledge) {
  const DeadlinePolicy policy = Only({STAGE_ACKNOWLEDGE});
  const int64_t pause = Day(1) + Hours(5);
  Trail trail;
  trail.InfoRequested(Day(3)).InfoSupplied(Day(3) + pause);
  ExpectQuiet(Review(Locate(), trail, Day(5) + pause - 1, policy));
  EXPECT_THAT(Review(Locate(), trail, Day(5) + pause, policy).crossings,
              ElementsAre(Warning(STAGE_ACKNOWLEDGE, Day(5) + pause, Day(7) + pause)));
  EXPECT_THAT(Review(Locate(), trail, Day(7) + pause - 1, policy).crossings,
              ElementsAre(Warning(STAGE_ACKNOWLEDGE, Day(5) + pause, Day(7) + pause)));
  EXPECT_THAT(Review(Locate(), trail, Day(7) + pause, policy).crossings,
              ElementsAre(Overdue(STAGE_ACKNOWLEDGE, Day(7) + pause)));
}

TEST(DeadlineReviewTest, OpenPauseFreezesTheTargetStages) {
  const Commission c = AssetQuery(weituo::v1::URGENCY_URGENT);
  Trail trail;
  trail.Accepted(kT0 + Hours(1)).InfoRequested(Day(1));
  // One day of target time has run; the complete warning (2 days) never comes
  // while the clock is stopped, and is not a future point either.
  DeadlineReview review = Review(c, trail, Day(20));
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(26));  // the supply_info warning only

  review = Review(c, trail, Day(20), Only({STAGE_COMPLETE, STAGE_PROGRESS, STAGE_LONG_STOP}));
  ExpectEmpty(review);

  // Supplied on day 21: the clock resumes at one day.
  trail.InfoSupplied(Day(21));
  review = Review(c, trail, Day(21));
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(22));
  EXPECT_THAT(Review(c, trail, Day(22)).crossings,
              ElementsAre(Warning(STAGE_COMPLETE, Day(22), Day(23))));
}

TEST(DeadlineReviewTest, WarningBeforeAnOpenPauseHasAnUnknownDue) {
  const Commission c = AssetQuery(weituo::v1::URGENCY_URGENT);
  Trail trail;
  trail.Accepted(kT0 + Hours(1)).InfoRequested(Day(2) + Hours(12));
  DeadlineReview review = Review(c, trail, Day(5));
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_COMPLETE, Day(2), /*due_at=*/0)));
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.action, std::nullopt);
  EXPECT_EQ(review.next_check_ms, Day(27) + Hours(12));
}

TEST(DeadlineReviewTest, OverdueBeforeAPauseStaysOverdue) {
  const Commission c = AssetQuery(weituo::v1::URGENCY_URGENT);
  Trail trail;
  trail.Accepted(kT0 + Hours(1)).Progress(Day(1)).InfoRequested(Day(4));
  DeadlineReview review = Review(c, trail, Day(5));
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_COMPLETE, Day(3))));
  EXPECT_THAT(review.overdue_now, ElementsAre(STAGE_COMPLETE));
  EXPECT_EQ(review.next_check_ms, Day(29));
}

// ---- Review: supply_info and deemed withdrawal -----------------------------

TEST(DeadlineReviewTest, SupplyInfoWarningAtExactlyItsPoint) {
  Trail trail;
  trail.Accepted(Day(1)).InfoRequested(Day(10));
  DeadlineReview review = Review(Locate(), trail, Day(35) - 1);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(35));

  review = Review(Locate(), trail, Day(35));
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_SUPPLY_INFO, Day(35), Day(40), 1)));
  EXPECT_EQ(review.action, std::nullopt);
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.next_check_ms, Day(40));

  review = Review(Locate(), trail, Day(40) - 1);
  EXPECT_THAT(review.crossings, ElementsAre(Warning(STAGE_SUPPLY_INFO, Day(35), Day(40), 1)));
  EXPECT_EQ(review.action, std::nullopt);
  EXPECT_EQ(review.next_check_ms, Day(40));
}

TEST(DeadlineReviewTest, DeemedWithdrawnAtExactlyTheDuePoint) {
  Trail trail;
  trail.Accepted(Day(1)).InfoRequested(Day(10));
  for (int64_t now : {Day(40), Day(60)}) {
    SCOPED_TRACE(now - kT0);
    DeadlineReview review = Review(Locate(), trail, now);
    EXPECT_THAT(review.crossings, IsEmpty());  // no overdue crossing; the warning is passed
    EXPECT_EQ(review.action, Action::kDeemWithdrawn);
    EXPECT_EQ(review.action_at_ms, Day(40));
    EXPECT_THAT(review.overdue_now, IsEmpty());
    EXPECT_EQ(review.next_check_ms, 0);
  }
  // With the warning recorded, the same.
  trail.Recorded(Warning(STAGE_SUPPLY_INFO, Day(35), Day(40), 1));
  EXPECT_EQ(Review(Locate(), trail, Day(40)).action, Action::kDeemWithdrawn);
}

TEST(DeadlineReviewTest, DeemedWithdrawalKeepsEarlierCrossingsAndClearsOverdueNow) {
  const Commission c = AssetQuery(weituo::v1::URGENCY_URGENT);
  Trail trail;
  trail.Accepted(kT0 + Hours(1)).Progress(Day(1)).InfoRequested(Day(4));
  DeadlineReview review = Review(c, trail, Day(34));
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_COMPLETE, Day(3))));
  EXPECT_EQ(review.action, Action::kDeemWithdrawn);
  EXPECT_EQ(review.action_at_ms, Day(34));
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.next_check_ms, 0);
}

TEST(DeadlineReviewTest, SupplyInfoRunsFromTheLatestRequestAndCountsRounds) {
  Trail trail;
  trail.Accepted(Day(1)).InfoRequested(Day(5)).InfoSupplied(Day(6)).InfoRequested(Day(20));
  DeadlineReview review = Review(Locate(), trail, Day(45) - 1);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(45));
  EXPECT_THAT(Review(Locate(), trail, Day(45)).crossings,
              ElementsAre(Warning(STAGE_SUPPLY_INFO, Day(45), Day(50), 2)));
  EXPECT_EQ(Review(Locate(), trail, Day(50) - 1).action, std::nullopt);
  review = Review(Locate(), trail, Day(50));
  EXPECT_EQ(review.action, Action::kDeemWithdrawn);
  EXPECT_EQ(review.action_at_ms, Day(50));

  // A recorded warning of round 1 does not stand for round 2's.
  Trail second;
  second.Accepted(Day(1))
      .InfoRequested(Day(5))
      .Recorded(Warning(STAGE_SUPPLY_INFO, Day(30), Day(35), 1))
      .InfoSupplied(Day(31))
      .InfoRequested(Day(40));
  EXPECT_THAT(Review(Locate(), second, Day(65)).crossings,
              ElementsAre(Warning(STAGE_SUPPLY_INFO, Day(65), Day(70), 2)));
}

TEST(DeadlineReviewTest, RecordedSupplyInfoWarningIsNotRepeated) {
  Trail trail;
  trail.Accepted(Day(1)).InfoRequested(Day(10)).Recorded(
      Warning(STAGE_SUPPLY_INFO, Day(35), Day(40), 1));
  DeadlineReview review = Review(Locate(), trail, Day(36));
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(40));
}

TEST(DeadlineReviewTest, SupplyInfoOffNeverDeemsWithdrawn) {
  DeadlinePolicy policy = DeadlinePolicy::Defaults();
  policy.supply_info = {};
  Trail trail;
  trail.Accepted(Day(1)).InfoRequested(Day(10));
  ExpectEmpty(Review(Locate(), trail, Day(200), policy));
}

// ---- Review: expiry and both actions ---------------------------------------

TEST(DeadlineReviewTest, ExpiresAtExactlyTheEndOfTheNotAfterDay) {
  const Commission c = Locate("2026-01-20");
  const int64_t expiry = Day(19) + Hours(16);
  Trail trail;
  trail.Accepted(Day(1)).Progress(Day(2));
  DeadlineReview review = Review(c, trail, expiry - 1);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, expiry);

  review = Review(c, trail, expiry);
  EXPECT_THAT(review.crossings, IsEmpty());
  EXPECT_EQ(review.action, Action::kExpire);
  EXPECT_EQ(review.action_at_ms, expiry);
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.next_check_ms, 0);
}

TEST(DeadlineReviewTest, ExpiryDropsLaterCrossingsAndKeepsEarlierOnes) {
  const int64_t expiry = Day(19) + Hours(16);
  DeadlineReview review = Review(Locate("2026-01-20"), Trail(), Day(40));
  // Progress round 1 (warning day 27, overdue day 30) comes after the expiry.
  EXPECT_THAT(review.crossings,
              ElementsAre(Overdue(STAGE_ACKNOWLEDGE, Day(7)), Overdue(STAGE_START, Day(15))));
  EXPECT_EQ(review.action, Action::kExpire);
  EXPECT_EQ(review.action_at_ms, expiry);
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.next_check_ms, 0);

  // A crossing at the very moment of expiry is kept.
  Trail at_expiry(expiry - Days(7));
  review = Review(Locate("2026-01-20"), at_expiry, expiry + 1);
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_ACKNOWLEDGE, expiry)));
  EXPECT_EQ(review.action, Action::kExpire);
}

TEST(DeadlineReviewTest, ExpiryIsTheNextCheckWhenItComesFirst) {
  DeadlineReview review = Review(Locate("2026-01-03"), Trail(), kT0);
  ExpectQuiet(review);
  EXPECT_EQ(review.next_check_ms, Day(2) + Hours(16));
}

TEST(DeadlineReviewTest, InvalidNotAfterNeverExpires) {
  DeadlineReview review =
      Review(Locate("2026-02-30"), Trail().Accepted(Day(1)).Progress(Day(2)), Day(400), Only({}));
  ExpectEmpty(review);
}

TEST(DeadlineReviewTest, EarlierActionWinsExpiryFirst) {
  const Commission c = AssetQuery(weituo::v1::URGENCY_URGENT, "2026-01-20");
  Trail trail;
  trail.Accepted(kT0 + Hours(1)).Progress(Day(1)).InfoRequested(Day(4));  // deemed on day 34
  DeadlineReview review = Review(c, trail, Day(40));
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_COMPLETE, Day(3))));
  EXPECT_EQ(review.action, Action::kExpire);
  EXPECT_EQ(review.action_at_ms, Day(19) + Hours(16));
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.next_check_ms, 0);
}

TEST(DeadlineReviewTest, EarlierActionWinsDeemedWithdrawalFirst) {
  const Commission c = AssetQuery(weituo::v1::URGENCY_URGENT, "2026-03-01");
  Trail trail;
  trail.Accepted(kT0 + Hours(1)).Progress(Day(1)).InfoRequested(Day(4));
  DeadlineReview review = Review(c, trail, Day(70));
  EXPECT_THAT(review.crossings, ElementsAre(Overdue(STAGE_COMPLETE, Day(3))));
  EXPECT_EQ(review.action, Action::kDeemWithdrawn);
  EXPECT_EQ(review.action_at_ms, Day(34));
  EXPECT_THAT(review.overdue_now, IsEmpty());
  EXPECT_EQ(review.next_check_ms, 0);

  // Before the expiry, the deemed withdrawal alone.
  review = Review(c, trail, Day(40));
  EXPECT_EQ(review.action, Action::kDeemWithdrawn);
  EXPECT_EQ(review.action_at_ms, Day(34));
}

// ---- Review: final states --------------------------------------------------

TEST(DeadlineReviewTest, FinalStatesHaveNothingToReview) {
  const std::vector<std::pair<EventType, State>> ends = {
      {weituo::v1::EV_COMPLETED, weituo::v1::COMPLETED},
      {weituo::v1::EV_RETURNED, weituo::v1::RETURNED},
      {weituo::v1::EV_WITHDRAWN, weituo::v1::WITHDRAWN},
      {weituo::v1::EV_FORWARDED, weituo::v1::FORWARDED},
      {weituo::v1::EV_EXPIRED, weituo::v1::EXPIRED},
  };
  for (auto [type, state] : ends) {
    SCOPED_TRACE(weituo::v1::EventType_Name(type));
    Trail trail;
    trail.Accepted(Day(1)).Add(type, Day(2), state);
    ExpectEmpty(Review(Locate("2026-01-03"), trail, Day(200)));
    // Waiting for material when the origin withdrew.
    Trail waiting;
    waiting.Accepted(Day(1)).InfoRequested(Day(2)).Add(type, Day(3), state);
    ExpectEmpty(Review(Locate(), waiting, Day(200)));
  }
  // A late delivery receipt after the end keeps the final state.
  Trail late;
  late.Completed(Day(1)).Delivered(Day(2));
  ASSERT_EQ(late.state(), weituo::v1::COMPLETED);
  ExpectEmpty(Review(Locate(), late, Day(200)));
}

// ---- Sweep -----------------------------------------------------------------

struct Step {
  int64_t at;
  EventType type;
  State state;
};

struct Scenario {
  std::string name;
  Commission commission;
  std::vector<Step> script;  // what the courts do, in time order
  DeadlinePolicy policy = DeadlinePolicy::Defaults();
};

struct SweepResult {
  std::vector<Crossing> crossings;  // in the order reported
  std::optional<Action> action;
  int64_t action_at_ms = 0;
  // Crossings (and an action, as a crossing of STAGE_UNSPECIFIED) whose point
  // came before the next_check_ms of the review a broker that sleeps until
  // next_check_ms would last have woken for, with the trail unchanged since:
  // such a broker would report them late.
  std::vector<Crossing> missed_by_next_check;
};

// Steps `now` from the submission to day 200 in 6-hour steps. Before each
// review the trail gets the scripted events due by then; after it, the
// review's crossings are recorded and its action applied, as the broker does.
// Each review must report each (stage, round, level) at most once, never
// ahead of `now`, in time order, a warning never after its overdue point's
// crossing, and nothing earlier than the previous review's next_check_ms if
// the trail has not changed since.
SweepResult Sweep(const Scenario& scenario) {
  SCOPED_TRACE(scenario.name);
  SweepResult result;
  Trail trail;
  size_t next_step = 0;
  std::set<std::tuple<int, uint32_t, bool>> seen;
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  // The previous review's next_check_ms, and the one a sleeping broker holds
  // (updated only when it wakes), while the trail is unchanged; -1 if it
  // changed (the review's own records aside).
  int64_t previous_next = -1;
  int64_t sleeping_until = -1;
  size_t reviewed_size = 0;
  for (int64_t now = kT0; now <= Day(200); now += Hours(6)) {
    SCOPED_TRACE(::testing::Message() << "now T0+" << (now - kT0) / kHourMs << "h");
    const bool ended = IsFinal(trail.state());
    for (; next_step < scenario.script.size() && scenario.script[next_step].at <= now && !ended;
         ++next_step) {
      const Step& step = scenario.script[next_step];
      trail.Add(step.type, step.at, step.state);
    }
    if (trail.events().size() != reviewed_size) previous_next = sleeping_until = -1;
    DeadlineReview review =
        ReviewDeadlines(scenario.policy, scenario.commission, trail.events(), now);
    if (ended) {
      ExpectEmpty(review);
      continue;
    }
    EXPECT_TRUE(review.next_check_ms == 0 || review.next_check_ms > now) << review.next_check_ms;
    int64_t previous_at = std::numeric_limits<int64_t>::min();
    for (const Crossing& c : review.crossings) {
      SCOPED_TRACE(::testing::PrintToString(c));
      EXPECT_LE(c.at_ms, now);
      EXPECT_GE(c.at_ms, previous_at);
      previous_at = c.at_ms;
      EXPECT_TRUE(seen.emplace(c.stage, c.round, c.overdue).second) << "reported twice";
      if (!c.overdue) {
        EXPECT_EQ(seen.count({c.stage, c.round, true}), 0u) << "warning after its overdue";
      }
      if (c.overdue) {
        EXPECT_EQ(c.due_at_ms, c.at_ms);
      }
      if (previous_next >= 0) {
        EXPECT_GE(c.at_ms, previous_next) << "crossed before the previous next_check_ms";
      }
      if (c.at_ms < sleeping_until) result.missed_by_next_check.push_back(c);
      result.crossings.push_back(c);
      trail.Recorded(c, now);
    }
    if (review.action) {
      EXPECT_LE(review.action_at_ms, now);
      if (previous_next >= 0) {
        EXPECT_GE(review.action_at_ms, previous_next) << "due before the previous next_check_ms";
      }
      if (review.action_at_ms < sleeping_until) {
        result.missed_by_next_check.push_back(
            Crossing{weituo::v1::STAGE_UNSPECIFIED, true, 0, review.action_at_ms, 0});
      }
      for (const Crossing& c : review.crossings) EXPECT_LE(c.at_ms, review.action_at_ms);
      EXPECT_THAT(review.overdue_now, IsEmpty());
      EXPECT_EQ(review.next_check_ms, 0);
      result.action = review.action;
      result.action_at_ms = review.action_at_ms;
      if (*review.action == Action::kExpire) {
        trail.Add(weituo::v1::EV_EXPIRED, now, weituo::v1::EXPIRED);
      } else {
        trail.Add(weituo::v1::EV_WITHDRAWN, now, weituo::v1::WITHDRAWN);
      }
    }
    previous_next = review.next_check_ms == 0 ? kNever : review.next_check_ms;
    if (sleeping_until < 0 || now >= sleeping_until) sleeping_until = previous_next;
    reviewed_size = trail.events().size();
  }
  return result;
}

Scenario Untouched() { return {"untouched debtor locate", Locate(), {}}; }

Scenario BusyUrgentAssetQuery() {
  return {"busy urgent asset query",
          AssetQuery(weituo::v1::URGENCY_URGENT, "2026-06-01"),
          {
              {kT0 + Hours(3), weituo::v1::EV_DELIVERED, weituo::v1::DELIVERED},
              {kT0 + Hours(5), weituo::v1::EV_ACCEPTED, weituo::v1::ACCEPTED},
              {Day(1) + Hours(1), weituo::v1::EV_PROGRESS, weituo::v1::IN_PROGRESS},
              {Day(1) + Hours(13), weituo::v1::EV_INFO_REQUESTED, weituo::v1::NEEDS_INFO},
              {Day(2) + Hours(7) + 1, weituo::v1::EV_INFO_SUPPLIED, weituo::v1::IN_PROGRESS},
              {Day(20), weituo::v1::EV_PROGRESS, weituo::v1::IN_PROGRESS},
              {Day(45), weituo::v1::EV_PROGRESS, weituo::v1::IN_PROGRESS},
              {Day(61) + Hours(2), weituo::v1::EV_INFO_REQUESTED, weituo::v1::NEEDS_INFO},
              {Day(80), weituo::v1::EV_INFO_SUPPLIED, weituo::v1::IN_PROGRESS},
              {Day(130), weituo::v1::EV_PROGRESS, weituo::v1::IN_PROGRESS},
          }};
}

Scenario SilentOrigin() {
  return {"seizure whose origin never supplies the material",
          Seizure(),
          {
              {Day(6), weituo::v1::EV_ACCEPTED, weituo::v1::ACCEPTED},
              {Day(8) + Hours(3), weituo::v1::EV_INFO_REQUESTED, weituo::v1::NEEDS_INFO},
          }};
}

// Points that fall between the 6-hour steps, some warnings and overdue
// points within the same step.
Scenario OddDurations() {
  StatusOr<DeadlinePolicy> policy = Load(
      "[default]\n"
      "acknowledge = { warn = \"31h\", due = \"2d\" }\n"
      "start = { warn = \"100h\", due = \"101h\" }\n"
      "progress = { warn = \"100h\", due = \"5d\", every = \"7d\" }\n"
      "long_stop = { warn = \"1000m\", due = \"60d\" }\n"
      "[supply_info]\n"
      "warn = \"3d\"\n"
      "due = \"9d\"\n");
  EXPECT_THAT(policy, IsOk());
  return {"debtor locate with odd durations",
          Locate("2026-12-31"),
          {
              {Day(3) + 17, weituo::v1::EV_ACCEPTED, weituo::v1::ACCEPTED},
              {Day(9) + Hours(1), weituo::v1::EV_PROGRESS, weituo::v1::IN_PROGRESS},
              {Day(10) + Hours(2), weituo::v1::EV_INFO_REQUESTED, weituo::v1::NEEDS_INFO},
              {Day(14) + Hours(20), weituo::v1::EV_INFO_SUPPLIED, weituo::v1::IN_PROGRESS},
              {Day(33), weituo::v1::EV_PROGRESS, weituo::v1::IN_PROGRESS},
              {Day(70) + 5, weituo::v1::EV_INFO_REQUESTED, weituo::v1::NEEDS_INFO},
          },
          policy.ok() ? *policy : DeadlinePolicy::Defaults()};
}

Scenario EarlyExpiry() {
  return {"asset query that expires early",
          AssetQuery(weituo::v1::URGENCY_NORMAL, "2026-02-15"),
          {
              {Day(8), weituo::v1::EV_ACCEPTED, weituo::v1::ACCEPTED},
              {Day(9), weituo::v1::EV_PROGRESS, weituo::v1::IN_PROGRESS},
          }};
}

Scenario MonthlyReports() {
  return {"debtor locate reporting early every month",
          Locate(),
          {
              {Day(1), weituo::v1::EV_ACCEPTED, weituo::v1::ACCEPTED},
              {Day(10), weituo::v1::EV_PROGRESS, weituo::v1::IN_PROGRESS},
              {Day(40), weituo::v1::EV_PROGRESS, weituo::v1::IN_PROGRESS},
              {Day(100), weituo::v1::EV_PROGRESS, weituo::v1::IN_PROGRESS},
          }};
}

TEST(DeadlineSweepTest, UntouchedCommissionCrossesEveryPointOnceInOrder) {
  SweepResult result = Sweep(Untouched());
  EXPECT_THAT(
      result.crossings,
      ElementsAre(
          Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7)), Overdue(STAGE_ACKNOWLEDGE, Day(7)),
          Warning(STAGE_START, Day(12), Day(15)), Overdue(STAGE_START, Day(15)),
          Warning(STAGE_PROGRESS, Day(27), Day(30), 1), Overdue(STAGE_PROGRESS, Day(30), 1),
          Warning(STAGE_PROGRESS, Day(57), Day(60), 2), Overdue(STAGE_PROGRESS, Day(60), 2),
          Warning(STAGE_PROGRESS, Day(87), Day(90), 3), Overdue(STAGE_PROGRESS, Day(90), 3),
          Warning(STAGE_PROGRESS, Day(117), Day(120), 4), Overdue(STAGE_PROGRESS, Day(120), 4),
          Warning(STAGE_PROGRESS, Day(147), Day(150), 5), Overdue(STAGE_PROGRESS, Day(150), 5),
          Warning(STAGE_LONG_STOP, Day(150), Day(180)),
          Warning(STAGE_PROGRESS, Day(177), Day(180), 6), Overdue(STAGE_PROGRESS, Day(180), 6),
          Overdue(STAGE_LONG_STOP, Day(180))));
  EXPECT_EQ(result.action, std::nullopt);
}

TEST(DeadlineSweepTest, BusyUrgentAssetQueryWithPausesUntilItExpires) {
  SweepResult result = Sweep(BusyUrgentAssetQuery());
  // Paused 18h+1ms (day 1) and 18d22h (days 61-80). Complete (urgent: 2d/3d)
  // is never met; progress rounds 1, 2 and 4 have reports (target days 1.0
  // and 19.25, 44.25, 110.3), round 3 (target 60-90] has none. Round 5 and
  // the long stop come after the expiry on 2026-06-01 (day 151 + 16h).
  const int64_t pause = Hours(18) + 1 + Days(18) + Hours(22);
  EXPECT_THAT(result.crossings,
              ElementsAre(Warning(STAGE_COMPLETE, Day(2) + Hours(18) + 1, Day(3) + Hours(18) + 1),
                          Overdue(STAGE_COMPLETE, Day(3) + Hours(18) + 1),
                          Warning(STAGE_PROGRESS, Day(87) + pause, Day(90) + pause, 3),
                          Overdue(STAGE_PROGRESS, Day(90) + pause, 3)));
  EXPECT_EQ(result.action, Action::kExpire);
  EXPECT_EQ(result.action_at_ms, *ExpiryMs("2026-06-01"));
  EXPECT_EQ(result.action_at_ms, Day(151) + Hours(16));
}

TEST(DeadlineSweepTest, SilentOriginIsDeemedToHaveWithdrawn) {
  SweepResult result = Sweep(SilentOrigin());
  EXPECT_THAT(result.crossings,
              ElementsAre(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7)),
                          Warning(STAGE_SUPPLY_INFO, Day(33) + Hours(3), Day(38) + Hours(3), 1)));
  EXPECT_EQ(result.action, Action::kDeemWithdrawn);
  EXPECT_EQ(result.action_at_ms, Day(38) + Hours(3));
}

TEST(DeadlineSweepTest, OddDurationsBetweenSteps) {
  SweepResult result = Sweep(OddDurations());
  // Progress rounds are due at target 5d + 7d*(r-1), warned 20h before; the
  // pause of 4d18h (days 10-14) moves round 3 on. Round 2 is met by the
  // report on day 9, round 5 by the one on day 33 (target 28.25d); round 10
  // is frozen by the open request on day 70.
  const int64_t pause = Days(4) + Hours(18);
  auto round_due = [&](int r) { return kT0 + Days(5 + 7 * (r - 1)) + (r >= 3 ? pause : 0); };
  EXPECT_THAT(
      result.crossings,
      ElementsAre(
          // Its due as known then: the pause came later.
          Warning(STAGE_LONG_STOP, kT0 + 1000 * 60 * 1000, Day(60)),
          Warning(STAGE_ACKNOWLEDGE, kT0 + Hours(31), Day(2)), Overdue(STAGE_ACKNOWLEDGE, Day(2)),
          // Both reviewed at 102h: start's warning (100h) is passed over.
          Warning(STAGE_PROGRESS, kT0 + Hours(100), round_due(1), 1),
          Overdue(STAGE_START, kT0 + Hours(101)), Overdue(STAGE_PROGRESS, round_due(1), 1),
          Warning(STAGE_SUPPLY_INFO, Day(13) + Hours(2), Day(19) + Hours(2), 1),
          Warning(STAGE_PROGRESS, round_due(3) - Hours(20), round_due(3), 3),
          Overdue(STAGE_PROGRESS, round_due(3), 3),
          Warning(STAGE_PROGRESS, round_due(4) - Hours(20), round_due(4), 4),
          Overdue(STAGE_PROGRESS, round_due(4), 4),
          Warning(STAGE_PROGRESS, round_due(6) - Hours(20), round_due(6), 6),
          Overdue(STAGE_PROGRESS, round_due(6), 6),
          Warning(STAGE_PROGRESS, round_due(7) - Hours(20), round_due(7), 7),
          Overdue(STAGE_PROGRESS, round_due(7), 7),
          Warning(STAGE_PROGRESS, round_due(8) - Hours(20), round_due(8), 8),
          Overdue(STAGE_PROGRESS, round_due(8), 8), Overdue(STAGE_LONG_STOP, Day(60) + pause),
          Warning(STAGE_PROGRESS, round_due(9) - Hours(20), round_due(9), 9),
          Overdue(STAGE_PROGRESS, round_due(9), 9),
          Warning(STAGE_SUPPLY_INFO, Day(73) + 5, Day(79) + 5, 2)));
  EXPECT_EQ(result.action, Action::kDeemWithdrawn);
  EXPECT_EQ(result.action_at_ms, Day(79) + 5);
}

TEST(DeadlineSweepTest, AssetQueryThatExpiresEarly) {
  SweepResult result = Sweep(EarlyExpiry());
  EXPECT_THAT(result.crossings,
              ElementsAre(Warning(STAGE_ACKNOWLEDGE, Day(5), Day(7)),
                          Warning(STAGE_COMPLETE, Day(5), Day(7)),
                          Overdue(STAGE_ACKNOWLEDGE, Day(7)), Overdue(STAGE_COMPLETE, Day(7))));
  EXPECT_EQ(result.action, Action::kExpire);
  EXPECT_EQ(result.action_at_ms, Day(45) + Hours(16));
}

TEST(DeadlineSweepTest, MonthlyReportsEarlyInEachWindow) {
  SweepResult result = Sweep(MonthlyReports());
  // Reports on days 10 and 40 meet rounds 1 and 2; none in (60, 90]; the one
  // on day 100 meets round 4; none in (120, 150] or (150, 180].
  EXPECT_THAT(
      result.crossings,
      ElementsAre(Warning(STAGE_PROGRESS, Day(87), Day(90), 3), Overdue(STAGE_PROGRESS, Day(90), 3),
                  Warning(STAGE_PROGRESS, Day(147), Day(150), 5),
                  Overdue(STAGE_PROGRESS, Day(150), 5),
                  Warning(STAGE_LONG_STOP, Day(150), Day(180)),
                  Warning(STAGE_PROGRESS, Day(177), Day(180), 6),
                  Overdue(STAGE_PROGRESS, Day(180), 6), Overdue(STAGE_LONG_STOP, Day(180))));
  EXPECT_EQ(result.action, std::nullopt);
}

// The broker's side of NextCheckIncludesTheRoundAfterAMetProgressRound: a
// broker that reviews a commission only when its trail changes or when
// next_check_ms comes still sees every crossing at its point.
TEST(DeadlineSweepTest, ABrokerSleepingUntilNextCheckMissesNothing) {
  for (const Scenario& scenario : {Untouched(), BusyUrgentAssetQuery(), SilentOrigin(),
                                   OddDurations(), EarlyExpiry(), MonthlyReports()}) {
    SCOPED_TRACE(scenario.name);
    EXPECT_THAT(Sweep(scenario).missed_by_next_check, IsEmpty());
  }
}

}  // namespace
}  // namespace weituo
