// The hashes that make a commission's trail tamper-evident: each event is
// chained to the commission's previous event, and every event to the one
// the broker stored before it (a global chain). Pure functions over values.
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weituo/v1/commission.pb.h"

namespace weituo {

// SHA-256 (32 bytes) over event.prev_hash() and the event serialized
// deterministically with its hash field cleared.
std::string EventHash(const weituo::v1::Event& event);

// SHA-256 over prev and event_hash: one link of the global chain.
std::string LinkHash(std::string_view prev, std::string_view event_hash);

// SHA-256 (32 bytes) of any bytes.
std::string Sha256Of(std::string_view bytes);

// One commission's trail checked whole, as the broker stores and serves it
// and as a witness receives it: seqs run 1, 2, 3, ...; every chained event
// follows the hash before it and matches its own content; the last event is
// the record's `last_seq` with its `last_hash`. Events stored before the
// trail was chained (no hash) may only come first.
struct TrailCheck {
  std::string broken;      // empty if the trail holds; else why
  uint64_t broken_at = 0;  // the seq of the event that breaks it; 0: the record does
  uint64_t unchained = 0;  // events from before the trail was chained
  // "event <id>#3: <why>" or "commission <id>: <why>".
  std::string Where(const std::string& commission_id) const;
};
TrailCheck CheckTrail(const std::vector<weituo::v1::Event>& events, uint64_t last_seq,
                      std::string_view last_hash);

// Lower-case hex, for reports.
std::string Hex(std::string_view bytes);

}  // namespace weituo
