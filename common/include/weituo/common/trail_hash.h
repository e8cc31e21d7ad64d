// The hashes that make a commission's trail tamper-evident: each event is
// chained to the commission's previous event, and every event to the one
// the broker stored before it (a global chain). Pure functions over values.
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "weituo/v1/commission.pb.h"

namespace weituo {

// SHA-256 (32 bytes) over event.prev_hash() and the event serialized
// deterministically with its hash field cleared.
std::string EventHash(const weituo::v1::Event& event);

// SHA-256 over prev and event_hash: one link of the global chain.
std::string LinkHash(std::string_view prev, std::string_view event_hash);

// SHA-256 (32 bytes) of any bytes.
std::string Sha256Of(std::string_view bytes);

// Lower-case hex, for reports.
std::string Hex(std::string_view bytes);

}  // namespace weituo
