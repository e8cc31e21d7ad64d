#include "broker_choice.h"

#include <utility>

#include "weituo/common/settings.h"

namespace weituo::agent {

bool IsConnectableEndpoint(const std::string& endpoint) {
  return ExpectZmqConnectEndpoint(endpoint).empty();
}

std::string_view BrokerChoice::ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kNotLeader:
      return "not_leader";
    case Reason::kNoWelcome:
      return "no_welcome";
    case Reason::kSilent:
      return "silent";
    case Reason::kDisconnected:
      return "disconnected";
  }
  return "";
}

BrokerChoice::BrokerChoice(std::vector<std::string> endpoints, int64_t failover_ms)
    : endpoints_(std::move(endpoints)), failover_ms_(failover_ms), current_(endpoints_.at(0)) {}

size_t BrokerChoice::IndexOf(const std::string& endpoint) const {
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i] == endpoint) return i;
  }
  return endpoints_.size();
}

void BrokerChoice::Connected(int64_t now) {
  welcomed_ = false;
  lost_ = false;
  connected_at_ = now;
  last_heard_ = now;
  not_leader_.reset();
}

void BrokerChoice::Welcomed(int64_t now) {
  welcomed_ = true;
  lost_ = false;
  last_heard_ = now;
  not_leader_.reset();
}

void BrokerChoice::Heard(int64_t now) { last_heard_ = now; }

void BrokerChoice::Lost() { lost_ = true; }

void BrokerChoice::NotLeader(const std::string& leader_endpoint) {
  welcomed_ = false;
  not_leader_ = leader_endpoint == current_ ? "" : leader_endpoint;
}

BrokerChoice::Move BrokerChoice::MoveTo(std::string endpoint, Reason reason, int64_t now) {
  Move move{endpoint, reason, false};
  if (size_t i = IndexOf(endpoint); i < endpoints_.size()) {
    index_ = i;
    unlisted_ = false;
  } else {
    unlisted_ = true;
    move.unlisted_first_time = warned_.insert(endpoint).second;
  }
  current_ = std::move(endpoint);
  last_move_ = now;
  lost_ = false;
  not_leader_.reset();
  return move;
}

std::optional<BrokerChoice::Move> BrokerChoice::Due(int64_t now) {
  // From an unlisted leader, back to the member that named it.
  const std::string& next = endpoints_[unlisted_ ? index_ : (index_ + 1) % endpoints_.size()];
  if (not_leader_) {
    std::string to = not_leader_->empty() ? next : *not_leader_;
    const int64_t wait = to == current_ ? failover_ms_ : kMinMoveMs;
    if (now - last_move_ < wait) return std::nullopt;
    return MoveTo(std::move(to), Reason::kNotLeader, now);
  }
  if (!can_move()) return std::nullopt;
  if (lost_) {
    if (now - last_move_ < kMinMoveMs) return std::nullopt;
    return MoveTo(next, Reason::kDisconnected, now);
  }
  if (!welcomed_ && now - connected_at_ >= failover_ms_) {
    return MoveTo(next, Reason::kNoWelcome, now);
  }
  if (welcomed_ && now - last_heard_ >= failover_ms_) return MoveTo(next, Reason::kSilent, now);
  return std::nullopt;
}

}  // namespace weituo::agent
