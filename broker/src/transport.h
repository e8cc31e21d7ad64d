#pragma once

// The broker's transport: the ROUTER the courts' agents connect to, and the
// only broker code that touches ZeroMQ (with the ZAP handler it starts).
//
// Owns: the ZeroMQ context, the ROUTER, its monitor, the ZAP handler, the
// table of connections (which key each proved, its fd and address) and the
// connection limits (per address, per court; connections silent since their
// handshake; memory given back after a storm).
//
// Hands the loop: messages from admitted connections (Receive), and routes
// that ended (Hooks::route_ended: disconnected, dropped, or passed to a new
// connection), so the court bound to one can be unbound. Takes: sends that
// never block (Send), and the court a plaintext Hello named (HelloFrom).
// What it refuses on its own (a revoked key, a court's oldest connection let
// go) it answers with the loop's refusal bytes (Hooks::refusal), so every
// refusal is counted and logged in one place.
//
// Threading: the broker's loop thread only, except counts of the ZAP
// handler, which it reads on that thread too.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "counters.h"
#include "weituo/broker/broker.h"
#include "weituo/common/directory.h"
#include "weituo/common/status.h"
#include "weituo/v1/wire.pb.h"

namespace weituo {
class EventLoop;
}

namespace weituo::broker {

enum class SendResult { kSent, kWouldBlock, kUnreachable };

// One message of an admitted connection. `payload` stays valid until the
// next Receive.
struct Inbound {
  std::string routing_id;
  std::string user_id;       // the court its CURVE key proved; empty in plaintext
  size_t frames = 0;         // after the routing id
  std::string_view payload;  // the first of them ("" if none)
};

class Transport {
 public:
  struct Hooks {
    // The bytes of the Error envelope that refuses `court` with `code`.
    std::function<std::string(const std::string& court, weituo::v1::ErrorCode code,
                              const std::string& message)>
        refusal;
    // `routing_id` no longer names the connection it named.
    std::function<void(const std::string& routing_id, const char* why)> route_ended;
  };

  Transport(const BrokerOptions& options, Counters& counters, Hooks hooks);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds the ROUTER (and, with CURVE, starts the ZAP handler with the
  // directory's keys). Unavailable if the endpoint cannot be bound.
  Status Bind(std::shared_ptr<const CourtDirectory> directory);
  // Polls the ROUTER and its monitor in `loop`: `on_messages` runs when
  // messages wait (it calls Receive), the monitor's events are handled
  // here.
  void Register(EventLoop& loop, std::function<void()> on_messages);
  void Close(EventLoop& loop);

  // The next message of an admitted connection, or false when none waits.
  // Messages of connections dropped lately, or refused, or still queued
  // when their connection's end was reported, are consumed and counted
  // here. Internal if the socket fails.
  StatusOr<bool> Receive(Inbound* inbound);
  // Never blocks: a full queue is kWouldBlock, a route gone kUnreachable.
  SendResult Send(const std::string& routing_id, std::string_view bytes);
  // A message waits on the ROUTER now (ZMQ_EVENTS; never blocks).
  bool Readable() const;

  // A plaintext Hello named `court` for this route: the court's connection
  // cap applies from now on. (With CURVE the key names it at admission.)
  void HelloFrom(const std::string& routing_id, const std::string& court);
  // Closes the connection under libzmq (its peer must handshake again) and
  // forgets its route. `throttled`: the log line is one of a storm's.
  void Drop(const std::string& routing_id, const char* why, bool throttled = false);
  // A new directory: the ZAP handler takes its keys and connections whose
  // key it no longer lists are dropped. Returns how many.
  size_t SetDirectory(std::shared_ptr<const CourtDirectory> directory);
  // Timers: connections let go are dropped once their refusal had time to
  // leave, silent ones are ended, memory is given back after a storm.
  void Tick(int64_t now_ms);

  const std::string& endpoint() const;
  size_t connections_live() const;
  // The ZAP handler's counters (none in plaintext), for the snapshot.
  void AddZapCounts(google::protobuf::Map<std::string, uint64_t>& counters) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace weituo::broker
