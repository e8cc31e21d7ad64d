// Connection limits: how much of the broker one peer address and one court
// can hold. An address gets at most so many live connections, and of them
// so many not yet identified (still shaking hands, or silent after); a
// connection that has not spoken some time after it was accepted is let
// go. A court (the key it proved) keeps at most so many connections that
// have spoken: its newest always gets in, and the one heard from least
// recently goes, so connections left half-open by a dead machine can never
// lock the court out. (libzmq's handshake events carry no fd, so
// "identified" means "its first message came".) The bookkeeping is pure:
// the caller feeds it the ROUTER's accept and disconnect events and
// messages, and ends what it is told to.
//
// Threading: owned by the broker's loop thread; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace weituo::broker {

struct ConnectionLimitOptions {
  size_t per_address = 256;            // live connections from one IP address
  size_t handshakes_per_address = 32;  // of them, not identified yet
  size_t per_court = 8;                // connections that spoke for one court
  // Give memory back (malloc_trim) once this many connections have ended,
  // looking at most every trim_every_ms.
  size_t trim_after_ended = 256;
  int64_t trim_every_ms = 10000;
};

class ConnectionLimits {
 public:
  explicit ConnectionLimits(ConnectionLimitOptions options) : options_(options) {}

  enum class Verdict { kAdmit, kTooManyFromAddress, kTooManyHandshakes };
  // A connection accepted on `fd` from `address` at monotonic `now_ms`.
  // Unless kAdmit, the caller ends it; it is counted until Closed(fd).
  Verdict Accepted(int fd, const std::string& address, int64_t now_ms);
  // Its end (ZMQ_EVENT_DISCONNECTED).
  void Closed(int fd);
  // A message came on `fd`: it is identified, and the connection heard
  // from most recently.
  void Heard(int fd);
  // `fd` speaks for `court` from now on (and was just heard). If the court
  // then has more than per_court connections, returns the one of the others
  // heard from least recently, no longer counted for the court, for the
  // caller to end; else -1.
  int Spoke(int fd, const std::string& court);
  // Connections accepted before now_ms - silence_ms that have not spoken
  // since; each is reported once.
  std::vector<int> Silent(int64_t now_ms, int64_t silence_ms);

  // Whether the caller should give the allocator's free memory back to the
  // system now (malloc_trim): true at most every trim_every_ms, and only if
  // trim_after_ended connections ended since it last said so, or a few (8)
  // did and it said so at the check before (the tail of a storm). Counted by
  // connections ended rather than by a fall from a peak of live ones: with
  // the caps holding live connections low, a storm passes thousands through
  // them, and libzmq's buffers of each stay with the allocator.
  bool TrimDue(int64_t now_ms);

  size_t live() const { return by_fd_.size(); }
  size_t ended_since_trim() const { return ended_since_trim_; }
  size_t LiveFrom(const std::string& address) const;
  size_t HandshakesFrom(const std::string& address) const;
  size_t CourtConnections(const std::string& court) const;
  // The address `fd` was accepted from ("" if its accept event has not
  // come, or it is not live).
  std::string AddressOf(int fd) const;

 private:
  struct Peer {
    std::string address;
    bool handshaking = true;     // not identified: nothing heard yet
    int64_t quiet_since_ms = 0;  // accepted, nothing heard yet; 0 once reported or heard
    uint64_t heard = 0;          // when its last message came, in messages heard
    std::string court;           // once it spoke
  };
  static void Decrement(std::map<std::string, size_t>& counts, const std::string& key);

  ConnectionLimitOptions options_;
  std::unordered_map<int, Peer> by_fd_;
  std::map<std::string, size_t> live_by_address_;
  std::map<std::string, size_t> handshakes_by_address_;
  std::map<std::string, size_t> by_court_;
  uint64_t messages_heard_ = 0;
  size_t ended_since_trim_ = 0;
  int64_t next_trim_check_ms_ = 0;
  bool trimmed_last_check_ = false;
};

// The IP address of a TCP peer ("" if `fd` is no connected socket).
std::string PeerAddress(int fd);
// Shuts down `fd` (a socket of libzmq's I/O thread: shutdown, not close, so
// the number cannot be reused under libzmq's feet; libzmq then tears the
// connection down) if it is still a TCP connection from `peer` to
// `local_port`; true if it was. The checks keep a number reused since (by
// a file, or the HTTP server's socket) from being shut down instead.
bool ShutdownPeer(int fd, const std::string& peer, int local_port);
// The port of a bound "tcp://host:port" endpoint; -1 for any other.
int EndpointPort(const std::string& endpoint);

}  // namespace weituo::broker
