#include "connection_limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace weituo::broker {

std::string PeerAddress(int fd) {
  sockaddr_storage remote{};
  socklen_t remote_len = sizeof remote;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_len) != 0) return "";
  char host[INET6_ADDRSTRLEN] = "";
  if (remote.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&remote)->sin_addr, host, sizeof host);
  } else if (remote.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&remote)->sin6_addr, host, sizeof host);
  }
  return host;
}

bool ShutdownPeer(int fd, const std::string& peer, int local_port) {
  if (fd < 0 || peer.empty()) return false;
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) return false;
  int port = -1;
  if (local.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  } else if (local.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
  }
  if (port != local_port || PeerAddress(fd) != peer) return false;
  ::shutdown(fd, SHUT_RDWR);
  return true;
}

int EndpointPort(const std::string& endpoint) {
  if (endpoint.rfind("tcp://", 0) != 0) return -1;
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon + 1 >= endpoint.size()) return -1;
  int port = 0;
  for (size_t i = colon + 1; i < endpoint.size(); ++i) {
    if (endpoint[i] < '0' || endpoint[i] > '9' || port > 65535) return -1;
    port = port * 10 + (endpoint[i] - '0');
  }
  return port <= 65535 ? port : -1;
}

void ConnectionLimits::Decrement(std::map<std::string, size_t>& counts, const std::string& key) {
  auto it = counts.find(key);
  if (it == counts.end()) return;
  if (--it->second == 0) counts.erase(it);
}

ConnectionLimits::Verdict ConnectionLimits::Accepted(int fd, const std::string& address,
                                                     int64_t now_ms) {
  auto known = by_fd_.find(fd);
  // Its first message came before its monitor event (Spoke made it).
  const bool spoke_first = known != by_fd_.end() && known->second.address.empty();
  // Otherwise a number reused before its end was reported: that one is over.
  if (known != by_fd_.end() && !spoke_first) Closed(fd);
  Verdict verdict = Verdict::kAdmit;
  if (LiveFrom(address) >= options_.per_address) {
    verdict = Verdict::kTooManyFromAddress;
  } else if (!spoke_first && HandshakesFrom(address) >= options_.handshakes_per_address) {
    verdict = Verdict::kTooManyHandshakes;
  }
  live_by_address_[address]++;
  if (spoke_first) {
    known->second.address = address;
    return verdict;
  }
  Peer peer;
  peer.address = address;
  peer.quiet_since_ms = now_ms;
  by_fd_[fd] = std::move(peer);
  handshakes_by_address_[address]++;
  return verdict;
}

void ConnectionLimits::Closed(int fd) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  const Peer& peer = it->second;
  Decrement(live_by_address_, peer.address);
  if (peer.handshaking) Decrement(handshakes_by_address_, peer.address);
  if (!peer.court.empty()) Decrement(by_court_, peer.court);
  by_fd_.erase(it);
  ++ended_since_trim_;
}

namespace {
// The tail of a storm worth a trim at the check after one.
constexpr size_t kTailAtLeast = 8;
}  // namespace

bool ConnectionLimits::TrimDue(int64_t now_ms) {
  if (now_ms < next_trim_check_ms_) return false;
  next_trim_check_ms_ = now_ms + options_.trim_every_ms;
  // After a trim, whatever ended since is trimmed too: a storm's tail,
  // fewer than trim_after_ended, would otherwise stay with the allocator.
  // (At least a few: a port that scanners touch now and then is no storm.)
  const bool due = ended_since_trim_ >= options_.trim_after_ended ||
                   (trimmed_last_check_ && ended_since_trim_ >= kTailAtLeast);
  trimmed_last_check_ = due;
  if (due) ended_since_trim_ = 0;
  return due;
}

void ConnectionLimits::Heard(int fd) {
  if (fd < 0) return;  // no socket to count (libzmq gave none)
  auto [it, fresh] = by_fd_.try_emplace(fd);
  Peer& peer = it->second;
  // A fresh entry: its monitor event is still on the way, and Accepted
  // completes it.
  if (!fresh && peer.handshaking) Decrement(handshakes_by_address_, peer.address);
  peer.handshaking = false;
  peer.quiet_since_ms = 0;
  // An order, not a time: two messages in one millisecond are told apart.
  peer.heard = ++messages_heard_;
}

int ConnectionLimits::Spoke(int fd, const std::string& court) {
  if (fd < 0) return -1;
  Heard(fd);
  Peer& peer = by_fd_[fd];
  if (peer.court == court) return -1;
  if (!peer.court.empty()) Decrement(by_court_, peer.court);
  peer.court = court;
  if (++by_court_[court] <= options_.per_court) return -1;
  int oldest = -1;
  uint64_t oldest_heard = 0;
  for (const auto& [other, p] : by_fd_) {
    if (other == fd || p.court != court) continue;
    if (oldest < 0 || p.heard < oldest_heard) {
      oldest = other;
      oldest_heard = p.heard;
    }
  }
  if (oldest < 0) return -1;  // per_court is 0: nothing else to let go
  by_fd_[oldest].court.clear();
  Decrement(by_court_, court);
  return oldest;
}

std::vector<int> ConnectionLimits::Silent(int64_t now_ms, int64_t silence_ms) {
  std::vector<int> silent;
  for (auto& [fd, peer] : by_fd_) {
    if (peer.quiet_since_ms == 0 || now_ms - peer.quiet_since_ms < silence_ms) continue;
    peer.quiet_since_ms = 0;
    silent.push_back(fd);
  }
  return silent;
}

size_t ConnectionLimits::LiveFrom(const std::string& address) const {
  auto it = live_by_address_.find(address);
  return it == live_by_address_.end() ? 0 : it->second;
}

size_t ConnectionLimits::HandshakesFrom(const std::string& address) const {
  auto it = handshakes_by_address_.find(address);
  return it == handshakes_by_address_.end() ? 0 : it->second;
}

std::string ConnectionLimits::AddressOf(int fd) const {
  auto it = by_fd_.find(fd);
  return it == by_fd_.end() ? "" : it->second.address;
}

size_t ConnectionLimits::CourtConnections(const std::string& court) const {
  auto it = by_court_.find(court);
  return it == by_court_.end() ? 0 : it->second;
}

}  // namespace weituo::broker
