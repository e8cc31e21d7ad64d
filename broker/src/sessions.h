#pragma once

// Sessions: which court each connection speaks for, and whether each court
// is online.
//
// A connection speaks for a court once it said Hello for it, and for that
// court only; with CURVE only for the court its key proved. A court is
// online from its Hello, or from any later message after it was given up;
// it goes offline when its route ends, a heartbeat finds its connection
// gone, or it is silent for offline_after_ms. Every message but a heartbeat
// spends a token of its court's rate limit (a bucket of rate_burst tokens
// refilled at rate_limit a second).
//
// Owns: the courts' sessions (route, presence, last seen, rate limit) and
// the table from route to court. Tells the loop through Hooks (delivery's
// Connected and Disconnected, liaison's Online, the transport's HelloFrom,
// heartbeat sends) and answers through Replies. Reads no clock: times are
// passed in (monotonic for timers, the broker's wall clock for what is
// shown and sent).
//
// Threading: the broker's loop thread only.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "counters.h"
#include "replies.h"
#include "transport.h"
#include "weituo/broker/broker.h"
#include "weituo/common/directory.h"

namespace weituo::broker {

// What the loop knows of one court. Only courts that connected or spent
// tokens get an entry, so memory follows activity.
struct CourtSession {
  std::string routing_id;  // empty until the court says Hello
  bool online = false;
  int64_t last_seen_mono = 0;
  int64_t last_seen_wall = 0;
  int64_t last_heartbeat_sent = 0;
  // Token bucket of the rate limit; tokens < 0 until first used.
  double tokens = -1;
  int64_t tokens_at_mono = 0;
};

class Sessions {
 public:
  struct Hooks {
    // `court` is reachable on `routing_id` from now on (delivery).
    std::function<void(const std::string& court, const std::string& routing_id)> connected;
    // `court` is not reachable any more (delivery).
    std::function<void(const std::string& court)> disconnected;
    // `court` is online again since `since_wall` (liaison).
    std::function<void(const std::string& court, int64_t since_wall)> online;
    // A Hello bound `routing_id` to `court` (the transport's HelloFrom).
    std::function<void(const std::string& routing_id, const std::string& court)> bound;
    // Sends a heartbeat; never blocks.
    std::function<SendResult(const std::string& routing_id, std::string_view bytes)> send;
  };

  // `version`: the broker's, told in each Welcome.
  Sessions(const BrokerOptions& options, std::string version, Counters& counters, Replies& replies,
           Hooks hooks)
      : options_(options),
        version_(std::move(version)),
        counters_(counters),
        replies_(replies),
        hooks_(std::move(hooks)) {}

  // The court bound to this connection by Hello, or nullptr.
  const std::string* CourtOf(const std::string& routing_id) const;
  // The court a message from `routing_id` speaks for, as CourtOf; with
  // CURVE, a route bound to a court other than `user` (the court its key
  // proved) was taken by another connection: it is unbound, and nullptr.
  const std::string* Bound(const std::string& routing_id, const std::string& user);
  // The route no longer names the connection its court said Hello on: the
  // court goes offline if that was its connection.
  void Unbind(const std::string& routing_id, const char* why);

  // One token of `court`'s rate limit at `now_mono`; false if it has none
  // left (always true without a limit).
  bool TakeToken(const std::string& court, int64_t now_mono);

  // A Hello on `routing_id` (`user`: the court its key proved, "" in
  // plaintext). Binds the connection to the court and answers Welcome, or
  // refuses: PERMISSION_DENIED for a court other than the key's or than
  // the one the connection already speaks for, UNKNOWN_COURT for a court
  // not in `directory`.
  void Hello(const std::string& routing_id, const std::string& user, const weituo::v1::Hello& hello,
             const CourtDirectory& directory, int64_t now_mono, int64_t now_wall);
  // A message from `court`'s bound connection: last seen now, and online
  // again if it was given up.
  void HeardFrom(const std::string& court, int64_t now_mono, int64_t now_wall);
  void MarkOffline(const std::string& court, const char* why);

  // Timers: courts silent for offline_after_ms go offline; the others get
  // a heartbeat every heartbeat_ms.
  void Tick(int64_t now_mono, int64_t now_wall);

  // The court's session, or nullptr if it has none.
  const CourtSession* Find(const std::string& court) const;

 private:
  const BrokerOptions& options_;
  const std::string version_;
  Counters& counters_;
  Replies& replies_;
  Hooks hooks_;
  std::unordered_map<std::string, CourtSession> courts_;
  std::unordered_map<std::string, std::string> court_by_routing_id_;
};

}  // namespace weituo::broker
