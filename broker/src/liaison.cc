#include "liaison.h"

#include <spdlog/spdlog.h>

#include "weituo/common/clock.h"
#include "weituo/common/logging.h"

namespace weituo::broker {

Status Liaison::Load(const BrokerStore& store) {
  auto flagged = store.OfflineFlags();
  if (!flagged.ok()) return flagged.status();
  flagged_ = *flagged;
  return Status::Ok();
}

void Liaison::Tell(const CourtEntry& entry, const std::string& what, int64_t since, int64_t now) {
  const std::string supervisor = supervisor_of_(entry.id);
  if (supervisor.empty()) return;
  weituo::v1::Deliver deliver;
  auto* notice = deliver.mutable_notice();
  notice->set_court(entry.id);
  notice->set_what(what);
  notice->set_since_ms(since);
  notice->set_at_ms(now);
  notice->mutable_liaison()->set_office(entry.liaison_office);
  notice->mutable_liaison()->set_phone(entry.liaison_phone);
  notice->mutable_liaison()->set_person(entry.liaison_person);
  notify_(supervisor, std::move(deliver));
}

void Liaison::Check(const CourtDirectory& directory, const PresenceOf& presence,
                    int64_t started_at_ms, int64_t now) {
  if (flag_after_ms_ <= 0) return;
  for (const CourtEntry& entry : directory.entries()) {
    if (entry.is_supervisor || flagged_.count(entry.id)) continue;
    const Presence p = presence(entry.id);
    if (p.online) continue;
    const int64_t since = p.last_seen_ms > 0 ? p.last_seen_ms : started_at_ms;
    if (now - since < flag_after_ms_) continue;
    flagged_[entry.id] = since;
    turn_.batch().PutOfflineFlag(entry.id, since);
    Tell(entry, "offline", since, now);
    counters_.Add("offline_flags");
    spdlog::warn(
        "msg=\"court offline too long\" court={} since=\"{}\" supervisor={} "
        "liaison_office=\"{}\"",
        entry.id, FormatTimeMs(since), entry.superior.empty() ? "-" : entry.superior,
        LogValue(entry.liaison_office));
  }
}

void Liaison::Online(const std::string& court, const CourtEntry* entry, int64_t since,
                     int64_t now) {
  if (!flagged_.erase(court)) return;
  turn_.batch().PutOfflineFlag(court, 0);
  if (entry) Tell(*entry, "online", since, now);
}

std::optional<int64_t> Liaison::FlaggedSince(const std::string& court) const {
  auto it = flagged_.find(court);
  if (it == flagged_.end()) return std::nullopt;
  return it->second;
}

}  // namespace weituo::broker
