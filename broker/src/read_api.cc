#include "weituo/broker/read_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "weituo/common/clock.h"
#include "weituo/common/ids.h"
#include "weituo/common/trail_hash.h"
#include "weituo/common/validation.h"

namespace weituo::broker {

using weituo::v1::CommissionRecord;
using weituo::v1::Event;
using weituo::v1::OutboxItem;

namespace {

constexpr size_t kMaxOverdueCounted = 10000;
constexpr int64_t kOldestEveryMs = 1000;
constexpr int64_t kStuckAfterMs = 5000;

std::string BackupRoot(const BrokerOptions& options) {
  return options.backup_dir.empty() ? options.data_dir + "-backups" : options.backup_dir;
}

}  // namespace

ReadApi::ReadApi(const BrokerStore& store, const BrokerOptions& options)
    : store_(store),
      overdue_after_ms_(options.overdue_after_ms),
      backup_root_(BackupRoot(options)) {}

weituo::v1::BrokerStatus ReadApi::CompleteStatus(weituo::v1::BrokerStatus status,
                                                 int64_t now) const {
  if (status.started_at_ms() > 0) status.set_uptime_ms(now - status.started_at_ms());
  // A loop that stopped turning is not ready, whatever it said last.
  if (now - status.published_at_ms() > kStuckAfterMs) status.set_ready(false);
  // Reading a court's oldest messages steps over the outbox's deleted
  // entries, so it is done at most once a second however often operators
  // poll (or sooner when a court's first message arrives); ages are then
  // counted from that reading's enqueue times.
  std::lock_guard<std::mutex> lock(oldest_mu_);
  bool unread = std::any_of(status.courts().begin(), status.courts().end(), [&](const auto& c) {
    return c.pending() > 0 && !oldest_.count(c.court_id());
  });
  if (unread || now - oldest_read_at_ms_ >= kOldestEveryMs) {
    oldest_read_at_ms_ = now;
    oldest_.clear();
    for (const weituo::v1::CourtState& court : status.courts()) {
      if (court.pending() == 0) continue;
      auto oldest =
          store_.OldestPending(court.court_id(), now - overdue_after_ms_, kMaxOverdueCounted);
      if (oldest.ok()) oldest_[court.court_id()] = *oldest;
    }
  }
  for (weituo::v1::CourtState& court : *status.mutable_courts()) {
    auto it = oldest_.find(court.court_id());
    if (court.pending() == 0 || it == oldest_.end()) continue;
    if (it->second.enqueued_at_ms > 0) {
      court.set_oldest_pending_ms(now - it->second.enqueued_at_ms);
    }
    court.set_overdue(it->second.overdue);
  }
  return status;
}

StatusOr<weituo::v1::CommissionPage> ReadApi::ListCommissions(const CommissionQuery& query) const {
  if (query.limit < 1 || query.limit > 500) {
    return Status::InvalidArgument("limit must be 1 to 500");
  }
  weituo::v1::CommissionPage page;
  Status failed = Status::Ok();
  // A page reads at most this many index entries, so a filter that matches
  // little costs a bounded read; next_after lets the caller go on.
  const size_t budget = std::max<size_t>(query.limit * 20, 2000);
  size_t visited = 0;
  auto last = store_.ScanCommissionIds(
      query.court, query.state, query.after, query.newest_first, budget,
      [&](const std::string& id) {
        ++visited;
        auto record = store_.GetCommission(id);
        if (!record.ok()) {
          failed = record.status();
          return false;
        }
        if (!record->has_value()) return true;
        const CommissionRecord& r = **record;
        if (query.state != weituo::v1::STATE_UNSPECIFIED && r.state() != query.state) return true;
        if (query.kind != weituo::v1::KIND_UNSPECIFIED && KindOf(r.commission()) != query.kind) {
          return true;
        }
        *page.add_commissions() = r;
        return page.commissions_size() < static_cast<int>(query.limit);
      });
  if (!last.ok()) return last.status();
  WEITUO_RETURN_IF_ERROR(failed);
  bool full = page.commissions_size() == static_cast<int>(query.limit);
  if (full || visited >= budget) page.set_next_after(*last);
  return page;
}

StatusOr<weituo::v1::CommissionTrail> ReadApi::Trail(const std::string& commission_id) const {
  if (!IsUlid(commission_id)) return Status::InvalidArgument("a commission id is a ULID");
  // The record, then the events: an event and the record naming it as the
  // last are written in one batch, and events are only ever added, so every
  // event up to the record's last_seq is there when the events are read;
  // events the loop committed since are left for the next read.
  auto record = store_.GetCommission(commission_id);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return Status::NotFound("no commission " + commission_id);
  auto events = store_.Events(commission_id);
  if (!events.ok()) return events.status();
  const uint64_t last_seq = (**record).last_seq();
  const uint64_t newest = events->empty() ? 0 : events->back().seq();
  if (newest > last_seq) {
    // Committed since the record was read, or a record put back older than
    // its trail: a record read now names them all unless it is stale.
    auto again = store_.GetCommission(commission_id);
    if (!again.ok()) return again.status();
    if (!again->has_value() || (**again).last_seq() < newest) {
      return store_.Damaged("the trail fails its check at commission " + commission_id +
                            ": its record names event #" + std::to_string(last_seq) +
                            " as the last but the trail goes on to #" + std::to_string(newest) +
                            " (the record is stale)");
    }
    std::erase_if(*events, [last_seq](const Event& e) { return e.seq() > last_seq; });
  }
  // The same check as weituoctl verify: a trail edited in the store is
  // reported, never served as if whole.
  TrailCheck check = CheckTrail(*events, last_seq, (**record).last_hash());
  if (!check.broken.empty()) {
    return store_.Damaged("the trail fails its check at " + check.Where(commission_id));
  }
  weituo::v1::CommissionTrail trail;
  *trail.mutable_record() = std::move(**record);
  for (Event& e : *events) *trail.add_events() = std::move(e);
  return trail;
}

StatusOr<weituo::v1::ParkedPage> ReadApi::Parked(size_t limit) const {
  auto items = store_.AllParked(limit);
  if (!items.ok()) return items.status();
  weituo::v1::ParkedPage page;
  for (OutboxItem& item : *items) *page.add_items() = std::move(item);
  return page;
}

StatusOr<weituo::v1::SupervisionStats> ReadApi::Stats(const CourtDirectory& directory,
                                                      const StatsQuery& query, int64_t now) const {
  return ComputeStats(store_, directory, query, now);
}

StatusOr<weituo::v1::ApiReply> ReadApi::Backup() const {
  namespace fs = std::filesystem;
  const fs::path root(backup_root_);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec)
    return Status::Internal("cannot create the backup folder " + root.string() + ": " +
                            ec.message());
  // The copy holds debtors' personal data, as the store does.
  fs::permissions(root, fs::perms::owner_all, fs::perm_options::replace, ec);
  // Named by the real time (not a test clock), to the millisecond, in UTC:
  // "2026-11-28 11:06:02.433" becomes "store-20261128T110602.433Z".
  std::string stamp = FormatTimeMs(NowMs());
  std::erase(stamp, '-');
  std::erase(stamp, ':');
  std::replace(stamp.begin(), stamp.end(), ' ', 'T');
  const fs::path dir = root / ("store-" + stamp + "Z");
  if (fs::exists(dir, ec)) return Status::Unavailable(dir.string() + " exists; try again");
  auto started = std::chrono::steady_clock::now();
  WEITUO_RETURN_IF_ERROR(store_.Checkpoint(dir.string()));
  uint64_t bytes = 0, files = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) {
      ++files;
      bytes += entry.file_size(ec);
    }
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  spdlog::info("msg=\"backed up\" to={} files={} bytes={} ms={}", dir.string(), files, bytes,
               took.count());
  weituo::v1::ApiReply reply;
  reply.set_ok(true);
  reply.set_message("backed up to " + dir.string() + " (" + std::to_string(files) + " files, " +
                    std::to_string(bytes) + " bytes, " + std::to_string(took.count()) + " ms)");
  return reply;
}

}  // namespace weituo::broker
