#pragma once

// Replies: what the loop answers a connection in this turn, and refusals
// counted and logged in one place.
//
// A reply is queued in the turn and sent only after its commit. A refusal
// is an Error envelope; each is counted by its code and by the court it
// refuses, and logged (at most 50 lines a second, the rest counted).
//
// Owns: the counts of refusals by code and by court, the log's throttle.
// Does not own the turn.
//
// Threading: the broker's loop thread only.

#include <cstdint>
#include <map>
#include <string>

#include "turn.h"
#include "weituo/common/logging.h"
#include "weituo/v1/wire.pb.h"

namespace weituo::broker {

class Replies {
 public:
  explicit Replies(Turn& turn) : turn_(turn) {}

  // Queues `envelope` for `routing_id`, sent after the turn's commit.
  void Reply(const std::string& routing_id, weituo::v1::Envelope& envelope);
  // Queues the refusal of `court` ("" if unknown) with `code`; `ref` names
  // what it refuses (a commission or request id, "" if nothing).
  void Refuse(const std::string& routing_id, const std::string& court, weituo::v1::ErrorCode code,
              const std::string& message, const std::string& ref);
  // Counts and logs a refusal; returns the Error envelope's bytes (for one
  // sent outside the turn, by the transport).
  std::string Refusal(const std::string& court, weituo::v1::ErrorCode code,
                      const std::string& message, const std::string& ref);

  // Refusals by ErrorCode name.
  const std::map<std::string, uint64_t>& by_code() const { return by_code_; }
  // Refusals of `court`.
  uint64_t Of(const std::string& court) const;

 private:
  Turn& turn_;
  std::map<std::string, uint64_t> by_code_;
  std::map<std::string, uint64_t> by_court_;
  LogThrottle log_{50};
};

}  // namespace weituo::broker
