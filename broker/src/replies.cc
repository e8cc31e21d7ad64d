#include "replies.h"

#include <spdlog/spdlog.h>

#include "weituo/common/clock.h"
#include "weituo/common/wire.h"

namespace weituo::broker {

using weituo::v1::Envelope;
using weituo::v1::ErrorCode;

void Replies::Reply(const std::string& routing_id, Envelope& envelope) {
  turn_.AddReply(routing_id, SerializeEnvelope(envelope));
}

void Replies::Refuse(const std::string& routing_id, const std::string& court, ErrorCode code,
                     const std::string& message, const std::string& ref) {
  turn_.AddReply(routing_id, Refusal(court, code, message, ref));
}

std::string Replies::Refusal(const std::string& court, ErrorCode code, const std::string& message,
                             const std::string& ref) {
  by_code_[ErrorCode_Name(code)]++;
  if (!court.empty()) by_court_[court]++;
  uint64_t suppressed = 0;
  if (log_.Allow(MonotonicMs(), &suppressed)) {
    spdlog::warn("msg=refused code={} court={} ref=\"{}\" reason=\"{}\" suppressed={}",
                 ErrorCode_Name(code), court.empty() ? "-" : court,
                 ref.empty() ? "-" : LogValue(ref), LogValue(message), suppressed);
  }
  Envelope env = MakeErrorEnvelope(code, message, ref);
  return SerializeEnvelope(env);
}

uint64_t Replies::Of(const std::string& court) const {
  auto it = by_court_.find(court);
  return it == by_court_.end() ? 0 : it->second;
}

}  // namespace weituo::broker
