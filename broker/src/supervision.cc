// Supervision statistics: one pass over the commissions submitted in a time
// range, through the index by submission time, counting what each court
// sent and what became of what it received.
#include <algorithm>
#include <cmath>
#include <map>

#include "weituo/broker/broker.h"
#include "weituo/common/lifecycle.h"
#include "weituo/common/validation.h"

namespace weituo::broker {

using weituo::v1::CampaignStats;
using weituo::v1::CommissionRecord;
using weituo::v1::CourtStats;

namespace {

// Commissions read for one answer at most; a zone's month is a few
// thousand, a year of every court in China a few million.
constexpr size_t kMaxRead = 2'000'000;

struct Tally {
  CourtStats stats;
  std::vector<double> days_to_complete;
};

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

void CountReceived(const CommissionRecord& r, Tally& t) {
  CourtStats& s = t.stats;
  const std::string kind = weituo::v1::Kind_Name(KindOf(r.commission()));
  s.set_received(s.received() + 1);
  (*s.mutable_received_by_kind())[kind]++;
  if (r.accepted_at_ms() > 0) {
    s.set_acknowledged(s.acknowledged() + 1);
    if (!r.acknowledged_late()) s.set_acknowledged_on_time(s.acknowledged_on_time() + 1);
  }
  switch (r.state()) {
    case weituo::v1::COMPLETED:
      s.set_completed(s.completed() + 1);
      // Stores from before the statistics kept closed_at_ms: the last update.
      t.days_to_complete.push_back(
          static_cast<double>((r.closed_at_ms() > 0 ? r.closed_at_ms() : r.updated_at_ms()) -
                              r.submitted_at_ms()) /
          static_cast<double>(kDayMs));
      break;
    case weituo::v1::RETURNED:
      s.set_returned(s.returned() + 1);
      (*s.mutable_returned_by_reason())[weituo::v1::ReturnReason_Name(r.return_reason())]++;
      break;
    case weituo::v1::WITHDRAWN:
      s.set_withdrawn(s.withdrawn() + 1);
      if (r.deemed_withdrawn()) s.set_deemed_withdrawn(s.deemed_withdrawn() + 1);
      break;
    case weituo::v1::FORWARDED:
      s.set_forwarded(s.forwarded() + 1);
      break;
    case weituo::v1::EXPIRED:
      s.set_expired(s.expired() + 1);
      break;
    default:
      s.set_open(s.open() + 1);
      if (r.overdue_now_size() > 0) {
        s.set_overdue_now(s.overdue_now() + 1);
        for (int stage : r.overdue_now()) {
          (*s.mutable_overdue_by_stage())[weituo::v1::DeadlineStage_Name(
              static_cast<weituo::v1::DeadlineStage>(stage))]++;
        }
      }
      break;
  }
}

void CountCampaign(const CommissionRecord& r, CampaignStats& c) {
  // A forwarded commission goes on as its child: one case, counted once.
  if (r.state() == weituo::v1::FORWARDED) return;
  c.set_commissions(c.commissions() + 1);
  if (r.state() != weituo::v1::COMPLETED) return;
  c.set_completed(c.completed() + 1);
  if (!r.result().has_locate()) return;
  const weituo::v1::LocateResult& locate = r.result().locate();
  if (!locate.found_at_place().empty()) c.set_debtors_located(c.debtors_located() + 1);
  bool summoned = false, detained_or_fined = false, closed = false;
  for (int m : locate.measures()) {
    summoned |= m == weituo::v1::SUMMONED;
    detained_or_fined |= m == weituo::v1::DETAINED || m == weituo::v1::FINED;
    closed |= m == weituo::v1::PAID || m == weituo::v1::SETTLED;
  }
  if (summoned) c.set_summoned(c.summoned() + 1);
  if (detained_or_fined) c.set_detained_or_fined(c.detained_or_fined() + 1);
  if (closed) c.set_closed_or_settled(c.closed_or_settled() + 1);
  c.set_amount_recovered_fen(c.amount_recovered_fen() + locate.amount_paid_fen());
}

void Finish(Tally& t) {
  std::sort(t.days_to_complete.begin(), t.days_to_complete.end());
  t.stats.set_median_days_to_complete(Percentile(t.days_to_complete, 0.5));
  t.stats.set_p90_days_to_complete(Percentile(t.days_to_complete, 0.9));
}

}  // namespace

StatusOr<weituo::v1::SupervisionStats> ComputeStats(const BrokerStore& store,
                                                    const CourtDirectory& directory,
                                                    const StatsQuery& query, int64_t now_ms) {
  if (query.to_ms <= query.from_ms) {
    return Status::InvalidArgument("the range is empty: 'to' must come after 'from'");
  }
  if (!query.court.empty() && !directory.Find(query.court)) {
    return Status::InvalidArgument("no court '" + query.court + "' in the directory");
  }
  std::map<std::string, Tally> courts;
  for (const CourtEntry& e : directory.entries()) {
    Tally& t = courts[e.id];
    t.stats.set_court_id(e.id);
    t.stats.set_name(e.name);
    t.stats.set_supervisor(e.is_supervisor);
  }
  Tally zone;
  zone.stats.set_court_id("zone");
  std::map<std::string, CampaignStats> campaigns;
  uint64_t read = 0;
  bool truncated = false;
  Status scanned =
      store.ScanSubmitted(query.from_ms, query.to_ms, 0, [&](const CommissionRecord& r) {
        if (++read > kMaxRead) {
          truncated = true;
          return false;
        }
        const auto& c = r.commission();
        const std::string kind = weituo::v1::Kind_Name(KindOf(c));
        // The origin sent the commission, not the child a target made of it
        // by forwarding; the child is still received by its target.
        if (c.parent_id().empty()) {
          Tally& origin = courts[c.origin_court()];
          origin.stats.set_sent(origin.stats.sent() + 1);
          (*origin.stats.mutable_sent_by_kind())[kind]++;
          zone.stats.set_sent(zone.stats.sent() + 1);
          (*zone.stats.mutable_sent_by_kind())[kind]++;
        }
        CountReceived(r, courts[c.target_court()]);
        CountReceived(r, zone);
        if (!c.campaign().empty() && (query.campaign.empty() || c.campaign() == query.campaign)) {
          CampaignStats& campaign = campaigns[c.campaign()];
          campaign.set_campaign(c.campaign());
          CountCampaign(r, campaign);
        }
        return true;
      });
  WEITUO_RETURN_IF_ERROR(scanned);

  weituo::v1::SupervisionStats out;
  out.set_from_ms(query.from_ms);
  out.set_to_ms(query.to_ms);
  out.set_court(query.court);
  out.set_commissions(std::min<uint64_t>(read, kMaxRead));
  out.set_truncated(truncated);
  out.set_computed_at_ms(now_ms);
  // Directory order; a court no longer in the directory comes after.
  std::vector<std::string> order;
  for (const CourtEntry& e : directory.entries()) order.push_back(e.id);
  for (const auto& [id, t] : courts) {
    if (!directory.Find(id)) order.push_back(id);
  }
  for (const std::string& id : order) {
    if (!query.court.empty() && id != query.court) continue;
    Tally& t = courts[id];
    Finish(t);
    *out.add_courts() = std::move(t.stats);
  }
  Finish(zone);
  *out.mutable_zone() = std::move(zone.stats);
  for (auto& [tag, c] : campaigns) *out.add_campaigns() = std::move(c);
  return out;
}

}  // namespace weituo::broker
