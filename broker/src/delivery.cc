#include "delivery.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "weituo/common/clock.h"
#include "weituo/common/ids.h"

namespace weituo::broker {

using weituo::v1::Deliver;
using weituo::v1::OutboxItem;

Delivery::Delivery(const BrokerOptions& options, BrokerStore& store, Turn& turn, Counters& counters,
                   uint64_t next_delivery_id, Send send, Gone gone)
    : options_(options),
      store_(store),
      turn_(turn),
      counters_(counters),
      send_(std::move(send)),
      gone_(std::move(gone)),
      next_delivery_id_(next_delivery_id) {}

Status Delivery::Load() {
  auto pending = store_.CountOutbox();
  if (!pending.ok()) return pending.status();
  for (const auto& [court, n] : *pending) courts_[court].pending = n;
  auto parked = store_.CountParked();
  if (!parked.ok()) return parked.status();
  for (const auto& [court, n] : *parked) courts_[court].parked = n;
  auto paused = store_.PausedCourts();
  if (!paused.ok()) return paused.status();
  for (const std::string& court : *paused) {
    courts_[court].paused = true;
    spdlog::warn("msg=\"court paused\" court={} reason=\"paused before restart\"", court);
  }
  return Status::Ok();
}

void Delivery::Enqueue(const std::string& court, Deliver deliver, int64_t now_wall) {
  deliver.set_delivery_id(next_delivery_id_++);
  delivery_id_advanced_ = true;
  OutboxItem item;
  item.set_court(court);
  *item.mutable_deliver() = std::move(deliver);
  item.set_enqueued_at_ms(now_wall);
  turn_.batch().PutOutbox(item);
  Outbox& outbox = courts_[court];
  outbox.dirty = true;
  outbox.pending++;
  WantsSending(court);
}

std::optional<uint64_t> Delivery::TakeNextDeliveryId() {
  if (!delivery_id_advanced_) return std::nullopt;
  delivery_id_advanced_ = false;
  return next_delivery_id_;
}

std::optional<std::string> Delivery::Acknowledged(const std::string& court, uint64_t delivery_id) {
  if (turn_.Settled(court, delivery_id)) return std::nullopt;
  Outbox& outbox = courts_[court];
  std::string commission_id;
  if (auto flight = outbox.in_flight.find(delivery_id); flight != outbox.in_flight.end()) {
    // Sent from the outbox and neither acknowledged nor parked since (both
    // end its flight): what the ack needs came with it.
    commission_id = flight->second.commission_id;
    turn_.RemoveFromOutbox(court, delivery_id);
    if (outbox.pending > 0) outbox.pending--;
  } else {
    // Only the id of a commission delivered is needed here, not its body.
    auto item = turn_.Outbox(court, delivery_id, /*with_body=*/false);
    if (!item.ok()) {
      spdlog::error("msg=\"outbox read failed\" court={} delivery={} error=\"{}\"", court,
                    delivery_id, item.status().ToString());
      return std::nullopt;
    }
    if (!item->has_value()) {
      // Acknowledged twice, or after we parked it: then it did arrive, so it
      // leaves the parked set and counts as delivered.
      item = store_.GetParked(court, delivery_id);
      if (!item.ok() || !item->has_value()) {
        counters_.Add("stale_acks");
        return std::nullopt;
      }
      turn_.Unpark(court, delivery_id);
      if (outbox.parked > 0) outbox.parked--;
      counters_.Add("unparked_by_ack");
    } else {
      turn_.RemoveFromOutbox(court, delivery_id);
      if (outbox.pending > 0) outbox.pending--;
    }
    const Deliver& deliver = (*item)->deliver();
    if (deliver.has_commission()) commission_id = deliver.commission().id();
  }
  outbox.in_flight.erase(delivery_id);
  outbox.attempts.erase(delivery_id);
  outbox.dirty = true;
  WantsSending(court);
  counters_.Add("acknowledged");
  return commission_id;
}

void Delivery::Connected(const std::string& court, const std::string& routing_id) {
  Outbox& outbox = courts_[court];
  outbox.routing_id = routing_id;
  connected_.insert(court);
  Rescan(court, outbox);
}

void Delivery::Disconnected(const std::string& court) {
  auto it = courts_.find(court);
  if (it == courts_.end()) return;
  Outbox& outbox = it->second;
  outbox.routing_id.clear();
  outbox.in_flight.clear();
  outbox.resend.clear();
  outbox.scan_from = 0;
}

bool Delivery::SetPaused(const std::string& court, bool paused) {
  Outbox& outbox = courts_[court];
  if (outbox.paused == paused) return false;
  outbox.paused = paused;
  turn_.batch().PutPaused(court, paused);
  if (!paused) Rescan(court, outbox);
  return true;
}

StatusOr<uint32_t> Delivery::Redrive(const std::string& id) {
  bool by_delivery = !id.empty() && std::all_of(id.begin(), id.end(), ::isdigit);
  if (!by_delivery && !IsUlid(id)) {
    return Status::InvalidArgument("'" + id + "' is neither a delivery id nor a commission id");
  }
  uint64_t delivery_id = by_delivery ? std::strtoull(id.c_str(), nullptr, 10) : 0;
  auto parked = store_.AllParked(0);
  if (!parked.ok()) return parked.status();
  uint32_t redriven = 0;
  for (OutboxItem& item : *parked) {
    const Deliver& d = item.deliver();
    const std::string& commission_id =
        d.has_commission() ? d.commission().id() : d.event().commission_id();
    if (by_delivery ? d.delivery_id() != delivery_id : commission_id != id) continue;
    const std::string court = item.court();
    turn_.batch().DeleteParked(court, d.delivery_id());
    item.clear_park_reason();
    item.clear_parked_at_ms();
    item.set_attempts(0);
    turn_.batch().PutOutbox(item);
    Outbox& outbox = courts_[court];
    if (outbox.parked > 0) outbox.parked--;
    outbox.pending++;
    outbox.attempts.erase(d.delivery_id());
    Rescan(court, outbox);
    ++redriven;
    counters_.Add("redriven");
    spdlog::warn("msg=redriven court={} delivery={} commission={}", court, d.delivery_id(),
                 commission_id);
  }
  if (redriven == 0) return Status::NotFound("nothing parked under " + id);
  return redriven;
}

void Delivery::Tick(int64_t now, int64_t now_wall) {
  for (auto& [court, outbox] : courts_) {
    if (outbox.routing_id.empty()) continue;
    std::vector<uint64_t> to_park;
    for (auto& [delivery_id, flight] : outbox.in_flight) {
      if (now < flight.due_ms) continue;
      if (outbox.attempts[delivery_id] >= options_.max_attempts) {
        to_park.push_back(delivery_id);
      } else {
        outbox.resend.push_back(delivery_id);
        WantsSending(court);
      }
    }
    for (uint64_t delivery_id : to_park) {
      Park(outbox, court, delivery_id,
           "not acknowledged after " + std::to_string(options_.max_attempts) + " attempts",
           now_wall);
    }
  }
}

bool Delivery::SendDue(uint64_t below, const std::set<std::string>& connecting) {
  bool backlog = false;
  for (auto it = sending_.begin(); it != sending_.end();) {
    if (connecting.count(*it)) {
      backlog = true;
      ++it;
      continue;
    }
    Outbox& outbox = courts_[*it];
    if (!outbox.resend.empty()) Resend(*it, outbox);
    if (outbox.dirty) Pump(*it, outbox, below);
    // Kept while a next turn could send more; otherwise an ack, a Hello,
    // a resume or a new message marks the court again.
    bool more = outbox.dirty && !outbox.routing_id.empty() && !outbox.paused &&
                outbox.in_flight.size() < options_.window;
    backlog = backlog || more;
    it = more || !outbox.resend.empty() ? std::next(it) : sending_.erase(it);
  }
  return backlog;
}

Delivery::CourtCounts Delivery::Counts(const std::string& court) const {
  auto it = courts_.find(court);
  if (it == courts_.end()) return {};
  return {it->second.in_flight.size(), it->second.pending, it->second.parked, it->second.paused};
}

std::vector<std::string> Delivery::Courts() const {
  std::vector<std::string> courts;
  courts.reserve(courts_.size());
  for (const auto& [court, outbox] : courts_) courts.push_back(court);
  return courts;
}

void Delivery::Rescan(const std::string& court, Outbox& outbox) {
  outbox.in_flight.clear();
  outbox.scan_from = 0;
  outbox.dirty = true;
  WantsSending(court);
}

void Delivery::Park(Outbox& outbox, const std::string& court, uint64_t delivery_id,
                    const std::string& reason, int64_t now_wall) {
  outbox.in_flight.erase(delivery_id);
  WantsSending(court);  // room in its window
  uint32_t attempts = outbox.attempts[delivery_id];
  outbox.attempts.erase(delivery_id);
  auto item = turn_.Outbox(court, delivery_id);
  if (!item.ok() || !item->has_value()) return;
  OutboxItem parked = std::move(**item);
  parked.set_attempts(attempts);
  parked.set_park_reason(reason);
  parked.set_parked_at_ms(now_wall);
  turn_.Park(parked);
  if (outbox.pending > 0) outbox.pending--;
  outbox.parked++;
  counters_.Add("parked");
  std::string what = parked.deliver().has_commission()
                         ? "commission " + parked.deliver().commission().id()
                         : "event " + parked.deliver().event().commission_id() + "#" +
                               std::to_string(parked.deliver().event().seq());
  spdlog::warn("msg=parked court={} delivery={} item=\"{}\" reason=\"{}\"", court, delivery_id,
               what, reason);
}

int64_t Delivery::Backoff(uint32_t attempts) const {
  int64_t delay = options_.ack_timeout_ms;
  for (uint32_t i = 1; i < attempts && delay < options_.max_backoff_ms; ++i) delay *= 2;
  return std::min<int64_t>(delay, options_.max_backoff_ms);
}

void Delivery::Lost(const std::string& court) {
  gone_(court);  // the loop marks it offline, which calls Disconnected
  Disconnected(court);
}

void Delivery::Pump(const std::string& court, Outbox& outbox, uint64_t below) {
  if (outbox.routing_id.empty() || outbox.paused) return;
  int64_t now = MonotonicMs();
  while (outbox.in_flight.size() < options_.window) {
    size_t room = options_.window - outbox.in_flight.size();
    auto items = store_.ScanOutbox(court, outbox.scan_from, room, /*with_body=*/false);
    if (!items.ok()) {
      spdlog::error("msg=\"outbox scan failed\" court={} error=\"{}\"", court,
                    items.status().ToString());
      return;
    }
    for (OutboxItem& item : *items) {
      uint64_t delivery_id = item.deliver().delivery_id();
      if (delivery_id >= below) return;  // not durable on the group yet: still dirty
      auto frame = store_.DeliveryFrame(item);
      if (!frame.ok()) {
        spdlog::error("msg=\"delivery unreadable\" court={} delivery={} error=\"{}\"", court,
                      delivery_id, frame.status().ToString());
        return;
      }
      SendResult sent = send_(outbox.routing_id, *frame);
      if (sent == SendResult::kWouldBlock) return;  // still pending; retried next turn
      if (sent == SendResult::kUnreachable) {
        Lost(court);
        return;
      }
      uint32_t attempts = ++outbox.attempts[delivery_id];
      counters_.Add(attempts > 1 ? "redelivered" : "sent");
      InFlight& flight = outbox.in_flight[delivery_id];
      flight.due_ms = now + Backoff(attempts);
      if (item.deliver().has_commission()) flight.commission_id = item.deliver().commission().id();
      outbox.scan_from = delivery_id + 1;
    }
    if (items->size() < room) {
      outbox.dirty = false;
      return;
    }
  }
}

void Delivery::Resend(const std::string& court, Outbox& outbox) {
  if (outbox.paused) {
    outbox.resend.clear();
    return;
  }
  int64_t now = MonotonicMs();
  for (uint64_t delivery_id : outbox.resend) {
    auto flight = outbox.in_flight.find(delivery_id);
    if (flight == outbox.in_flight.end()) continue;  // acknowledged meanwhile
    auto item = store_.GetOutbox(court, delivery_id, /*with_body=*/false);
    if (!item.ok() || !item->has_value()) {
      outbox.in_flight.erase(flight);
      continue;
    }
    auto frame = store_.DeliveryFrame(**item);
    if (!frame.ok()) {
      spdlog::error("msg=\"delivery unreadable\" court={} delivery={} error=\"{}\"", court,
                    delivery_id, frame.status().ToString());
      continue;
    }
    SendResult sent = send_(outbox.routing_id, *frame);
    if (sent == SendResult::kUnreachable) {
      Lost(court);
      return;
    }
    uint32_t attempts = outbox.attempts[delivery_id];
    if (sent == SendResult::kSent) {
      attempts = ++outbox.attempts[delivery_id];
      counters_.Add("redelivered");
    }
    flight->second.due_ms = now + Backoff(attempts);
  }
  outbox.resend.clear();
}

}  // namespace weituo::broker
