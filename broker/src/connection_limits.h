// Connection limits: how much of the broker one peer address and one court
// can hold. An address gets at most so many live connections, and of them
// so many not yet identified (still shaking hands, or silent after); a
// court (the key it proved) at most so many connections that have spoken;
// a connection that has not spoken some time after it was accepted is let
// go. (libzmq's handshake events carry no fd, so "identified" means "its
// first message came".) The bookkeeping is pure: the caller feeds it the
// ROUTER's accept and disconnect events and first messages, and drops what
// it is told to.
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
  // A message came on `fd` for `court`: false if the court already has
  // per_court connections that spoke (this one is then not counted).
  bool Spoke(int fd, const std::string& court);
  // Connections accepted before now_ms - silence_ms that have not spoken
  // since; each is reported once.
  std::vector<int> Silent(int64_t now_ms, int64_t silence_ms);

  size_t live() const { return by_fd_.size(); }
  size_t LiveFrom(const std::string& address) const;
  size_t HandshakesFrom(const std::string& address) const;
  size_t CourtConnections(const std::string& court) const;

 private:
  struct Peer {
    std::string address;
    bool handshaking = true;     // not identified: nothing heard yet
    int64_t quiet_since_ms = 0;  // accepted, nothing heard yet; 0 once reported or heard
    std::string court;           // once it spoke
  };
  static void Decrement(std::map<std::string, size_t>& counts, const std::string& key);

  ConnectionLimitOptions options_;
  std::unordered_map<int, Peer> by_fd_;
  std::map<std::string, size_t> live_by_address_;
  std::map<std::string, size_t> handshakes_by_address_;
  std::map<std::string, size_t> by_court_;
};

// The IP address of a TCP peer ("" if `fd` is no connected socket).
std::string PeerAddress(int fd);
// Shuts down `fd` (a socket of libzmq's I/O thread: shutdown, not close, so
// the number cannot be reused under libzmq's feet; libzmq then tears the
// connection down) if it is still a connection from `peer`; true if it was.
bool ShutdownPeer(int fd, const std::string& peer);

}  // namespace weituo::broker
