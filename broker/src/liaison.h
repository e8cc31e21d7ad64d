#pragma once

// Liaison, above delivery: a court offline longer than the zone allows
// (offline_flag_after_ms) is flagged to its supervising court with its
// liaison office, phone and person, once; when it is heard from again the
// supervisor is told it is back. The flags are stored, so a restart neither
// forgets nor repeats them.
//
// Owns: the courts flagged and since when. Writes through the turn; tells
// supervisors through `notify` (the delivery module's outbox).
//
// Threading: the broker's loop thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "counters.h"
#include "turn.h"
#include "weituo/common/directory.h"

namespace weituo::broker {

class Liaison {
 public:
  using Notify = std::function<void(const std::string& court, weituo::v1::Deliver deliver)>;
  // The supervising court of `court` ("" if none).
  using SupervisorOf = std::function<std::string(const std::string& court)>;
  // Whether `court` is online, and when it was last heard from (wall ms, 0
  // if never).
  struct Presence {
    bool online = false;
    int64_t last_seen_ms = 0;
  };
  using PresenceOf = std::function<Presence(const std::string& court)>;

  Liaison(int64_t flag_after_ms, Turn& turn, Counters& counters, Notify notify,
          SupervisorOf supervisor_of)
      : flag_after_ms_(flag_after_ms),
        turn_(turn),
        counters_(counters),
        notify_(std::move(notify)),
        supervisor_of_(std::move(supervisor_of)) {}

  // At start: the flags the store holds.
  Status Load(const BrokerStore& store);
  // Flags every court of `directory` offline for too long at `now` (wall
  // ms); a court never heard from counts from `started_at_ms`.
  void Check(const CourtDirectory& directory, const PresenceOf& presence, int64_t started_at_ms,
             int64_t now);
  // `court` is online again since `since`: its flag, if any, is cleared
  // and, if the directory still lists it (`entry`), its supervisor told.
  void Online(const std::string& court, const CourtEntry* entry, int64_t since, int64_t now);
  std::optional<int64_t> FlaggedSince(const std::string& court) const;

 private:
  void Tell(const CourtEntry& entry, const std::string& what, int64_t since, int64_t now);

  int64_t flag_after_ms_;
  Turn& turn_;
  Counters& counters_;
  Notify notify_;
  SupervisorOf supervisor_of_;
  std::map<std::string, int64_t> flagged_;  // court -> offline since (wall)
};

}  // namespace weituo::broker
