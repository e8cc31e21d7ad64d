#pragma once

// Delivery: each court's outbox on its way to the court's agent.
//
// Every message for a court (a commission, an event, a notice) is stored in
// its outbox with a delivery id in the turn that made it, and sent only
// after that turn is committed. At most `window` are in flight per court;
// one not acknowledged is resent with exponential backoff, and parked after
// max_attempts (an operator redrives it). An operator can pause a court's
// deliveries; a court that comes back online gets everything pending again
// from its first message, and the agent's inbox drops what it already has.
//
// Owns: per court, what is in flight (with what an ack needs: the
// commission a delivery carries, so an ack does not read the outbox back),
// the attempts made, the outbox scan position, and the counts pending and
// parked; the next delivery id. Writes through the turn; sends through
// `send` (the transport, or a fake in a test), never blocking.
//
// Threading: the broker's loop thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "counters.h"
#include "transport.h"
#include "turn.h"
#include "weituo/broker/broker.h"
#include "weituo/v1/store.pb.h"

namespace weituo::broker {

class Delivery {
 public:
  using Send = std::function<SendResult(const std::string& routing_id, std::string_view bytes)>;
  // A send found the court's connection gone: the loop marks it offline
  // (and calls Disconnected).
  using Gone = std::function<void(const std::string& court)>;

  struct CourtCounts {
    size_t in_flight = 0;
    uint64_t pending = 0;
    uint64_t parked = 0;
    bool paused = false;
  };

  Delivery(const BrokerOptions& options, BrokerStore& store, Turn& turn, Counters& counters,
           uint64_t next_delivery_id, Send send, Gone gone);

  // At start: the counts and pauses the store holds.
  Status Load();

  // Stores `deliver` in `court`'s outbox in this turn, under the next
  // delivery id; sent after the commit.
  void Enqueue(const std::string& court, weituo::v1::Deliver deliver, int64_t now_wall);
  // The delivery id to persist with this turn, if it moved.
  std::optional<uint64_t> TakeNextDeliveryId();

  // The court's agent acknowledged `delivery_id`. Returns the id of the
  // commission it delivered, if it delivered one ("" otherwise); nullopt if
  // the ack was stale (already acknowledged, or never sent).
  std::optional<std::string> Acknowledged(const std::string& court, uint64_t delivery_id);

  // The court's agent is reachable on `routing_id` from now on: everything
  // pending goes again, from its first message.
  void Connected(const std::string& court, const std::string& routing_id);
  void Disconnected(const std::string& court);

  // An operator's pause or resume; false if it already was.
  bool SetPaused(const std::string& court, bool paused);
  // Parked messages under a delivery id or a commission id, queued again.
  StatusOr<uint32_t> Redrive(const std::string& id);

  // Timers: in-flight messages past due are resent after this turn's
  // commit, or parked if out of attempts.
  void Tick(int64_t now_mono, int64_t now_wall);
  // After the commit: resends and sends what is due, of the messages under
  // delivery ids below `below` (a group's leader: those of turns durable on
  // the group; the rest wait in their outbox for a later call). True if a
  // court has room in its window and more waiting (look again soon).
  // Courts in `connecting` are skipped: their Welcome has not been sent.
  bool SendDue(uint64_t below = UINT64_MAX, const std::set<std::string>& connecting = {});
  // The courts Connected since the last call (a group's leader holds their
  // deliveries until the turn that welcomed them is durable and sent).
  std::set<std::string> TakeConnected() { return std::exchange(connected_, {}); }
  // The delivery id the next stored message gets: every message stored so
  // far has an id below it.
  uint64_t next_delivery_id() const { return next_delivery_id_; }

  CourtCounts Counts(const std::string& court) const;
  // The courts with an outbox this broker knows of.
  std::vector<std::string> Courts() const;

 private:
  struct InFlight {
    int64_t due_ms = 0;         // monotonic time of the next resend
    std::string commission_id;  // the commission it delivers, "" for an event or notice
  };
  struct Outbox {
    std::string routing_id;  // empty while the court is not connected
    std::map<uint64_t, InFlight> in_flight;
    // Sends per delivery id; survives reconnects so a message nobody
    // acknowledges is parked eventually. Erased on ack or park.
    std::unordered_map<uint64_t, uint32_t> attempts;
    uint64_t scan_from = 0;        // outbox ids below this are in flight or acked
    bool dirty = false;            // the outbox may hold messages not yet sent
    std::vector<uint64_t> resend;  // due for resend after this turn's commit
    uint64_t pending = 0;          // stored in its outbox
    uint64_t parked = 0;
    bool paused = false;  // an operator holds its deliveries
  };

  // `court` has messages to send or resend: it is looked at after this
  // turn's commit. Only such courts are, so a turn costs nothing per court
  // that is idle, however many are connected.
  void WantsSending(const std::string& court) { sending_.insert(court); }
  void Rescan(const std::string& court, Outbox& outbox);
  void Park(Outbox& outbox, const std::string& court, uint64_t delivery_id,
            const std::string& reason, int64_t now_wall);
  void Pump(const std::string& court, Outbox& outbox, uint64_t below);
  void Resend(const std::string& court, Outbox& outbox);
  int64_t Backoff(uint32_t attempts) const;
  // A send failed for want of a connection: the court goes offline.
  void Lost(const std::string& court);

  const BrokerOptions& options_;
  BrokerStore& store_;
  Turn& turn_;
  Counters& counters_;
  Send send_;
  Gone gone_;
  uint64_t next_delivery_id_;
  bool delivery_id_advanced_ = false;
  std::unordered_map<std::string, Outbox> courts_;
  std::unordered_set<std::string> sending_;  // see WantsSending
  std::set<std::string> connected_;          // see TakeConnected
};

}  // namespace weituo::broker
