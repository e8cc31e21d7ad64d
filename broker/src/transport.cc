#include "transport.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "connection_limits.h"
#include "weituo/common/clock.h"
#include "weituo/common/event_loop.h"
#include "weituo/common/logging.h"
#include "weituo/common/socket_events.h"
#include "zap_handler.h"

namespace weituo::broker {

using weituo::v1::ErrorCode;

namespace {

constexpr char kMonitorEndpoint[] = "inproc://weituo.broker.monitor";
// How long after a connection's end what it still had queued is told from
// a new connection's messages: far longer than a queue takes to drain.
constexpr int64_t kLateAfterEndMs = 10000;
constexpr int64_t kDroppedRouteMemoryMs = 10000;
// How long a refusal is given to leave before its connection is dropped.
constexpr int64_t kRefusalFlushMs = 200;

// A peer connection of the ROUTER, learnt from its first message.
struct Connection {
  std::string user_id;  // the court its CURVE key proved; empty in plaintext
  std::string key;      // that key (Z85)
  int fd = -1;          // its socket, to drop it
  std::string peer;     // its IP address
  // Let go (its court has newer connections): nothing it sends is taken;
  // it is dropped a moment later, once the refusal has gone out.
  bool refused = false;
};

}  // namespace

struct Transport::Impl {
  Impl(Transport* t, const BrokerOptions& o, Counters& c, Hooks h)
      : owner(t),
        options(o),
        counters(c),
        hooks(std::move(h)),
        limits({o.max_connections_per_address, o.max_handshakes_per_address,
                o.max_connections_per_court}) {}

  Status SetUpSecurity();
  bool Admit(const std::string& routing_id, const zmq::message_t& frame);
  bool KeyValid(const Connection& connection) const;
  void LetGo(int fd, const std::string& court);
  void HandleMonitorEvents();
  void LimitAccepted(int fd);
  void Forget(const std::string& routing_id, const char* why) {
    hooks.route_ended(routing_id, why);
  }
  void Count(const char* name) { counters.Add(name); }

  Transport* owner;
  const BrokerOptions& options;
  Counters& counters;
  Hooks hooks;
  std::shared_ptr<const CourtDirectory> directory;
  // Two I/O threads: CURVE handshakes and encryption spread over both
  // cores (a storm of thousands of courts reconnecting, scale_bench).
  zmq::context_t context{2};
  std::unique_ptr<zmq::socket_t> socket;
  std::unique_ptr<zmq::socket_t> monitor;
  std::unique_ptr<ZapHandler> zap;
  std::string endpoint;
  int port = -1;  // the ROUTER's TCP port: only its connections are shut down

  std::unordered_map<std::string, Connection> connections;  // by routing id
  std::unordered_map<int, std::string> routing_by_fd;
  // Routes dropped lately -> monotonic time until which what is still queued
  // from them is discarded, not admitted as a new connection.
  std::unordered_map<std::string, int64_t> dropped_until;
  // Connections whose end was reported, by fd: their route, and until when
  // what is still queued from them is discarded (it comes after the end
  // when the monitor's event is read before the ROUTER's queue) rather
  // than taken for a new connection that reuses the fd. A new accept on
  // the fd clears it.
  struct Ended {
    std::string routing_id;
    int64_t until_ms;
  };
  std::unordered_map<int, Ended> ended_by_fd;
  // Who holds how many connections; memory given back after a storm.
  ConnectionLimits limits;
  // Connections let go and when to drop them (their refusal sent first).
  std::vector<std::pair<std::string, int64_t>> closing;
  LogThrottle handshake_log{20};
  LogThrottle limits_log{20};

  std::vector<zmq::message_t> frames;  // of the message Receive returned last
};

Transport::Transport(const BrokerOptions& options, Counters& counters, Hooks hooks)
    : impl_(std::make_unique<Impl>(this, options, counters, std::move(hooks))) {}

Transport::~Transport() = default;

Status Transport::Bind(std::shared_ptr<const CourtDirectory> directory) {
  Impl& t = *impl_;
  const BrokerOptions& options = t.options;
  t.directory = std::move(directory);
  t.socket = std::make_unique<zmq::socket_t>(t.context, zmq::socket_type::router);
  WEITUO_RETURN_IF_ERROR(t.SetUpSecurity());
  try {
    t.socket->set(zmq::sockopt::router_mandatory, 1);
    // No ROUTER_HANDOVER: agents take a fresh random routing id per
    // connection, so a second connection claiming a live route is refused
    // by libzmq instead of stealing that court's deliveries.
    t.socket->set(zmq::sockopt::linger, 0);
    t.socket->set(zmq::sockopt::handshake_ivl, options.handshake_ms);
    // ZMTP heartbeats, answered by the peer's libzmq: a connection whose
    // machine died without closing it ends within seconds instead of
    // holding one of its court's connections for the TCP timeout.
    const int ping_ms = std::max(options.heartbeat_ms, 1000);
    t.socket->set(zmq::sockopt::heartbeat_ivl, ping_ms);
    t.socket->set(zmq::sockopt::heartbeat_timeout,
                  std::max({options.offline_after_ms, 3 * ping_ms, 10000}));
    t.socket->set(zmq::sockopt::sndhwm, 100000);
    t.socket->set(zmq::sockopt::rcvhwm, 100000);
    // Frames a little over the limit get a TOO_LARGE answer; far over it the
    // connection is dropped by libzmq before we ever see the bytes.
    t.socket->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options.max_frame_bytes * 4));
    t.socket->bind(options.endpoint);
    t.endpoint = t.socket->get(zmq::sockopt::last_endpoint);
    t.port = EndpointPort(t.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind " + options.endpoint + ": " + e.what());
  }
  // Connection events: handshake failures and disconnects, for counters
  // and for forgetting a connection's route the moment it ends.
  constexpr int kEvents = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                          ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                          ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  if (zmq_socket_monitor(t.socket->handle(), kMonitorEndpoint, kEvents) != 0) {
    return Status::Unavailable(std::string("cannot monitor the ROUTER: ") +
                               zmq_strerror(zmq_errno()));
  }
  t.monitor = std::make_unique<zmq::socket_t>(t.context, zmq::socket_type::pair);
  t.monitor->set(zmq::sockopt::linger, 0);
  t.monitor->connect(kMonitorEndpoint);
  return Status::Ok();
}

Status Transport::Impl::SetUpSecurity() {
  if (options.plaintext) {
    spdlog::warn(
        "msg=\"PLAINTEXT MODE: development only. Traffic is not encrypted and any process that "
        "reaches the port can claim to be any court.\"");
    return Status::Ok();
  }
  // The handler must be bound in this context before the ROUTER binds, and
  // the domain enforced: a CURVE server that finds no handler accepts any
  // client key.
  zap = std::make_unique<ZapHandler>(context);
  zap->SetKeys(*directory);
  WEITUO_RETURN_IF_ERROR(zap->Start());
  try {
    socket->set(zmq::sockopt::curve_server, 1);
    socket->set(zmq::sockopt::curve_secretkey, options.curve_secret_key);
    socket->set(zmq::sockopt::zap_domain, ZapHandler::kDomain);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument(std::string("cannot set up CURVE: ") + e.what());
  }
  int enforce = 1;  // ZMQ_ZAP_ENFORCE_DOMAIN: in libzmq's draft block, stable since 4.3
  if (zmq_setsockopt(socket->handle(), 93, &enforce, sizeof enforce) != 0) {
    return Status::InvalidArgument(std::string("cannot set up CURVE: ") +
                                   zmq_strerror(zmq_errno()));
  }
  return Status::Ok();
}

void Transport::Register(EventLoop& loop, std::function<void()> on_messages) {
  // The monitor's events first: libzmq queues a connection's accept event
  // before its handshake starts, so a message is read only after the
  // accept of its connection (and a tombstone of the fd's last one is gone).
  loop.AddSocket(impl_->socket->handle(), [this, on_messages = std::move(on_messages)] {
    impl_->HandleMonitorEvents();
    on_messages();
  });
  loop.AddSocket(impl_->monitor->handle(), [this] { impl_->HandleMonitorEvents(); });
}

void Transport::Close(EventLoop& loop) {
  Impl& t = *impl_;
  if (!t.socket) return;
  loop.RemoveSocket(t.socket->handle());
  loop.RemoveSocket(t.monitor->handle());
  zmq_socket_monitor(t.socket->handle(), nullptr, 0);
  t.monitor->close();
  t.socket->close();
}

const std::string& Transport::endpoint() const { return impl_->endpoint; }
size_t Transport::connections_live() const { return impl_->limits.live(); }

void Transport::AddZapCounts(google::protobuf::Map<std::string, uint64_t>& counters) const {
  if (!impl_->zap) return;
  ZapHandler::Counts zap = impl_->zap->counts();
  counters["zap_accepted"] = zap.accepted;
  counters["zap_refused_unknown_key"] = zap.unknown_key;
  counters["zap_refused_malformed"] = zap.malformed;
}

StatusOr<bool> Transport::Receive(Inbound* inbound) {
  Impl& t = *impl_;
  for (;;) {
    zmq::message_t routing;
    t.frames.clear();
    const int got = zmq_msg_recv(routing.handle(), t.socket->handle(), ZMQ_DONTWAIT);
    if (got < 0) {
      if (zmq_errno() == EAGAIN || zmq_errno() == EINTR) return false;
      return Status::Internal(std::string("recv: ") + zmq_strerror(zmq_errno()));
    }
    bool more = routing.more();
    while (more) {
      zmq::message_t part;
      if (zmq_msg_recv(part.handle(), t.socket->handle(), 0) < 0) break;
      more = part.more();
      t.frames.push_back(std::move(part));
    }
    std::string routing_id = routing.to_string();
    if (auto it = t.dropped_until.find(routing_id);
        it != t.dropped_until.end() && MonotonicMs() < it->second) {
      t.Count("messages_after_drop");
      continue;
    }
    if (t.frames.empty() || !t.Admit(routing_id, t.frames.back())) continue;
    inbound->user_id = t.connections[routing_id].user_id;
    inbound->routing_id = std::move(routing_id);
    inbound->frames = t.frames.size();
    inbound->payload =
        std::string_view(static_cast<const char*>(t.frames[0].data()), t.frames[0].size());
    return true;
  }
}

bool Transport::Readable() const {
  if (!impl_->socket) return false;
  return (impl_->socket->get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
}

SendResult Transport::Send(const std::string& routing_id, std::string_view bytes) {
  zmq::socket_t& socket = *impl_->socket;
  if (zmq_send(socket.handle(), routing_id.data(), routing_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) <
      0) {
    if (zmq_errno() == EAGAIN) return SendResult::kWouldBlock;
    if (zmq_errno() != EHOSTUNREACH) {
      spdlog::error("msg=\"send failed\" error=\"{}\"", zmq_strerror(zmq_errno()));
    }
    return SendResult::kUnreachable;
  }
  if (zmq_send(socket.handle(), bytes.data(), bytes.size(), ZMQ_DONTWAIT) < 0) {
    spdlog::error("msg=\"send failed\" error=\"{}\"", zmq_strerror(zmq_errno()));
    return SendResult::kUnreachable;
  }
  return SendResult::kSent;
}

void Transport::Impl::HandleMonitorEvents() {
  while (std::optional<SocketEvent> event = NextSocketEvent(monitor->handle())) {
    const auto [type, value] = *event;
    switch (type) {
      case ZMQ_EVENT_ACCEPTED:
        Count("connections_accepted");
        ended_by_fd.erase(value);
        LimitAccepted(value);
        break;
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        Count("handshakes_succeeded");
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        // The ZAP handler logged which key and why.
        Count("handshakes_refused");
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: {
        // A plaintext client meeting the CURVE server, garbage, a wrong
        // server key, or a client that never finished in time.
        Count("handshakes_failed");
        uint64_t suppressed = 0;
        if (handshake_log.Allow(MonotonicMs(), &suppressed)) {
          spdlog::warn("msg=\"handshake failed\" reason=\"{}\" value={} suppressed={}",
                       type == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error"
                                                                   : "timed out or closed",
                       value, suppressed);
        }
        break;
      }
      case ZMQ_EVENT_DISCONNECTED:
        Count("connections_closed");
        limits.Closed(value);
        // A new connection may already hold this fd if its first message
        // came before this event; it is then admitted again on its next one.
        if (auto it = routing_by_fd.find(value); it != routing_by_fd.end()) {
          std::string routing_id = std::move(it->second);
          routing_by_fd.erase(it);
          ended_by_fd[value] = {routing_id, MonotonicMs() + kLateAfterEndMs};
          connections.erase(routing_id);
          Forget(routing_id, "disconnected");
        }
        break;
    }
  }
}

void Transport::Impl::LimitAccepted(int fd) {
  const std::string address = PeerAddress(fd);
  const ConnectionLimits::Verdict verdict = limits.Accepted(fd, address, MonotonicMs());
  if (verdict == ConnectionLimits::Verdict::kAdmit) return;
  const bool handshakes = verdict == ConnectionLimits::Verdict::kTooManyHandshakes;
  Count(handshakes ? "connections_refused_unidentified" : "connections_refused_per_address");
  (void)ShutdownPeer(fd, address, port);
  uint64_t suppressed = 0;
  if (limits_log.Allow(MonotonicMs(), &suppressed)) {
    spdlog::warn("msg=\"connection refused\" peer={} reason=\"{}\" suppressed={}",
                 LogValue(address),
                 handshakes ? "too many connections not yet identified from this address"
                            : "too many connections from this address",
                 suppressed);
  }
}

void Transport::Tick(int64_t now) {
  Impl& t = *impl_;
  std::erase_if(t.dropped_until, [now](const auto& kv) { return kv.second <= now; });
  std::erase_if(t.ended_by_fd, [now](const auto& kv) { return kv.second.until_ms <= now; });
  std::erase_if(t.closing, [&](const auto& entry) {
    if (entry.second > now) return false;
    Drop(entry.first, "the court has newer connections", /*throttled=*/true);
    return true;
  });
  // libzmq ends a handshake not done in handshake_ms; a connection that
  // has not said Hello in twice that is no court's.
  for (int fd : t.limits.Silent(now, 2 * int64_t{t.options.handshake_ms})) {
    auto routed = t.routing_by_fd.find(fd);
    if (routed != t.routing_by_fd.end()) continue;  // it did speak
    if (ShutdownPeer(fd, t.limits.AddressOf(fd), t.port)) t.Count("connections_silent_dropped");
  }
  // libzmq's buffers of thousands of ended connections stay with the
  // allocator unless given back: the broker's memory returns after a storm,
  // also when the caps kept few of them live at once.
  if (t.limits.TrimDue(now)) {
    ::malloc_trim(0);
    t.Count("memory_trims");
  }
}

bool Transport::Impl::Admit(const std::string& routing_id, const zmq::message_t& frame) {
  // The court and key are read from every message, not remembered per
  // route: a route can pass to a new connection before the old one's end is
  // reported, and must not carry the old connection's identity over.
  const char* user = zmq_msg_gets(frame.handle(), "User-Id");
  const char* key = zmq_msg_gets(frame.handle(), ZapHandler::kKeyProperty);
  int fd = zmq_msg_get(frame.handle(), ZMQ_SRCFD);
  if (auto ended = ended_by_fd.find(fd);
      ended != ended_by_fd.end() && ended->second.routing_id == routing_id) {
    // Queued before the connection's end: its peer is gone and resends
    // what was not answered over its next connection. Admitted, it would
    // count the closed fd again and could take the route from that one.
    Count("messages_after_disconnect");
    return false;
  }
  auto it = connections.find(routing_id);
  if (it != connections.end() && (it->second.user_id != (user ? user : "") ||
                                  it->second.key != (key ? key : "") || it->second.fd != fd)) {
    routing_by_fd.erase(it->second.fd);
    connections.erase(it);
    Forget(routing_id, "route taken by another connection");
    it = connections.end();
  }
  if (it == connections.end()) {
    Connection c;
    const char* peer = zmq_msg_gets(frame.handle(), "Peer-Address");
    c.user_id = user ? user : "";
    c.key = key ? key : "";
    c.peer = peer ? peer : "";
    c.fd = fd;
    if (auto old = routing_by_fd.find(c.fd); old != routing_by_fd.end()) {
      // That fd's last connection ended; its event is still on the way.
      connections.erase(old->second);
      Forget(old->second, "disconnected");
    }
    if (c.fd >= 0) routing_by_fd[c.fd] = routing_id;
    it = connections.emplace(routing_id, std::move(c)).first;
    // With CURVE the key names the court from the first message on; in
    // plaintext the Hello does (HelloFrom).
    if (!it->second.user_id.empty()) {
      const std::string court = it->second.user_id;
      if (int gone = limits.Spoke(fd, court); gone >= 0) LetGo(gone, court);
    }
  }
  if (it->second.refused) {
    Count("messages_after_drop");
    return false;
  }
  limits.Heard(fd);
  if (options.plaintext || KeyValid(it->second)) return true;
  // Sent now, not after the turn's commit: it states no stored fact.
  const std::string court = it->second.user_id;
  (void)owner->Send(
      routing_id,
      hooks.refusal(court, ErrorCode::PERMISSION_DENIED,
                    "this connection's key is no longer valid for court '" + court + "'"));
  owner->Drop(routing_id, "key revoked");
  return false;
}

bool Transport::Impl::KeyValid(const Connection& connection) const {
  const CourtEntry* entry = directory->FindByKey(connection.key);
  return entry && entry->id == connection.user_id;
}

void Transport::Impl::LetGo(int fd, const std::string& court) {
  Count("connections_evicted_per_court");
  auto routed = routing_by_fd.find(fd);
  if (routed == routing_by_fd.end()) {
    (void)ShutdownPeer(fd, limits.AddressOf(fd), port);
    return;
  }
  const std::string routing_id = routed->second;
  Connection& c = connections[routing_id];
  if (c.refused) return;
  c.refused = true;
  (void)owner->Send(routing_id,
                    hooks.refusal(court, ErrorCode::RATE_LIMITED,
                                  "court '" + court + "' has " +
                                      std::to_string(options.max_connections_per_court) +
                                      " newer connections; this one, heard from least "
                                      "recently, is closed"));
  closing.emplace_back(routing_id, MonotonicMs() + kRefusalFlushMs);
}

void Transport::HelloFrom(const std::string& routing_id, const std::string& court) {
  Impl& t = *impl_;
  if (!t.options.plaintext) return;
  auto it = t.connections.find(routing_id);
  if (it == t.connections.end()) return;
  const int fd = it->second.fd;
  if (int gone = t.limits.Spoke(fd, court); gone >= 0 && gone != fd) t.LetGo(gone, court);
}

void Transport::Drop(const std::string& routing_id, const char* why, bool throttled) {
  Impl& t = *impl_;
  auto it = t.connections.find(routing_id);
  if (it == t.connections.end()) return;
  Connection c = std::move(it->second);
  t.connections.erase(it);
  t.Forget(routing_id, why);
  // Messages of this connection may still be queued after libzmq closed its
  // fd, which a new connection may then reuse: they must not be admitted
  // (and their fd shut down) as if they were that new connection's.
  t.dropped_until[routing_id] = MonotonicMs() + kDroppedRouteMemoryMs;
  if (c.fd < 0) return;
  t.routing_by_fd.erase(c.fd);
  if (!ShutdownPeer(c.fd, c.peer, t.port)) return;
  t.Count("connections_dropped");
  uint64_t suppressed = 0;
  if (throttled && !t.limits_log.Allow(MonotonicMs(), &suppressed)) return;
  spdlog::warn("msg=\"connection dropped\" court={} peer={} reason=\"{}\"{}",
               c.user_id.empty() ? "-" : c.user_id, LogValue(c.peer), why,
               throttled ? " suppressed=" + std::to_string(suppressed) : std::string());
}

size_t Transport::SetDirectory(std::shared_ptr<const CourtDirectory> directory) {
  Impl& t = *impl_;
  t.directory = std::move(directory);
  if (t.zap) t.zap->SetKeys(*t.directory);
  if (t.options.plaintext) return 0;
  std::vector<std::string> revoked;
  for (const auto& [routing_id, connection] : t.connections) {
    if (!t.KeyValid(connection)) revoked.push_back(routing_id);
  }
  for (const std::string& routing_id : revoked) Drop(routing_id, "key revoked");
  return revoked.size();
}

}  // namespace weituo::broker
