// Which member of a broker group the agent talks to, and when it moves to
// another (docs/protocol.md section 19). It moves on NOT_LEADER, to the
// leader the member names or else to the next member, and when the member
// it talks to has not welcomed it, or has said nothing at all since its
// Welcome, for failover_ms, and at once (at the NOT_LEADER pace) when the
// connection to it drops or is refused. With a single endpoint it never moves for
// silence: ZeroMQ reconnects by itself, and the agent's broker_silence_ms
// reconnects to the same endpoint as before groups existed. Pure: no sockets
// and no clock; every call is given the time.
//
// Not thread-safe: the agent's I/O thread owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace weituo::agent {

// True if `endpoint` can be connected to: tcp://HOST:PORT (a port number,
// not *) or ipc://PATH. A leader endpoint from a broker is checked with it
// before the agent follows it.
bool IsConnectableEndpoint(const std::string& endpoint);

class BrokerChoice {
 public:
  // The least time between two moves on NOT_LEADER to another endpoint:
  // members that know no leader are tried in turn, not in a hot loop.
  static constexpr int64_t kMinMoveMs = 150;

  enum class Reason { kNotLeader, kNoWelcome, kSilent, kDisconnected };
  // "not_leader", "no_welcome", "silent", "disconnected": as status and
  // logs name it.
  static std::string_view ReasonName(Reason reason);

  struct Move {
    std::string endpoint;  // now current()
    Reason reason;
    // The endpoint is a leader named by a member but not in the list; true
    // only the first time this endpoint is moved to (warn once).
    bool unlisted_first_time = false;
  };

  // `endpoints`: the group's members in order, at least one, no duplicates.
  // The first is current() until the first move.
  BrokerChoice(std::vector<std::string> endpoints, int64_t failover_ms);

  const std::string& current() const { return current_; }
  const std::vector<std::string>& endpoints() const { return endpoints_; }
  // Silence moves happen only where there is somewhere else to go: more
  // than one endpoint, or a leader outside the list.
  bool can_move() const { return endpoints_.size() > 1 || unlisted_; }
  // A new connection to current() said Hello at `now`.
  void Connected(int64_t now);
  // The current connection was welcomed at `now`.
  void Welcomed(int64_t now);
  // Any message from the current member arrived at `now`.
  void Heard(int64_t now);
  // The connection to the current member dropped, or connecting to it was
  // refused (its process is gone): where there is somewhere else to go, a
  // move is due kMinMoveMs after the last, not failover_ms.
  void Lost();
  // The current member answered NOT_LEADER, naming `leader_endpoint` (empty:
  // no leader known; the caller passes empty for one that is not
  // IsConnectableEndpoint). Remembers where to go; Due() says when.
  void NotLeader(const std::string& leader_endpoint);
  // The move to make at `now`, if one is due; then current() is its
  // endpoint and the caller connects to it and calls Connected. A move
  // after NOT_LEADER waits kMinMoveMs since the last move (failover_ms if
  // it would reconnect to the same endpoint, as with a single one).
  std::optional<Move> Due(int64_t now);

 private:
  Move MoveTo(std::string endpoint, Reason reason, int64_t now);
  size_t IndexOf(const std::string& endpoint) const;

  const std::vector<std::string> endpoints_;
  const int64_t failover_ms_;
  std::string current_;
  size_t index_ = 0;       // of current_ in endpoints_; if unlisted_, of the member that named it
  bool unlisted_ = false;  // current_ is a leader named by a member, not in the list
  bool welcomed_ = false;
  bool lost_ = false;  // see Lost
  int64_t connected_at_ = 0;
  int64_t last_heard_ = 0;
  int64_t last_move_ = INT64_MIN / 2;
  std::optional<std::string> not_leader_;  // pending: the leader named, or "" for the next
  std::set<std::string> warned_;           // unlisted endpoints already moved to
};

}  // namespace weituo::agent
