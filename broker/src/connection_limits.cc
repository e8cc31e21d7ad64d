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

bool ShutdownPeer(int fd, const std::string& peer) {
  // The fd belongs to libzmq's I/O thread. shutdown() does not close it, so
  // it cannot be reused under libzmq's feet; libzmq sees the end and tears
  // the connection down. Check it is still that peer's socket on our port.
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) return false;
  const std::string host = PeerAddress(fd);
  if (host.empty() || host != peer) return false;
  ::shutdown(fd, SHUT_RDWR);
  return true;
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
}

bool ConnectionLimits::Spoke(int fd, const std::string& court) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) {
    // Its monitor event is still on the way: Accepted completes the entry.
    if (CourtConnections(court) >= options_.per_court) return false;
    Peer peer;
    peer.handshaking = false;
    peer.court = court;
    by_fd_[fd] = std::move(peer);
    by_court_[court]++;
    return true;
  }
  Peer& peer = it->second;
  peer.quiet_since_ms = 0;
  if (peer.handshaking) {
    peer.handshaking = false;
    Decrement(handshakes_by_address_, peer.address);
  }
  if (peer.court == court) return true;
  if (CourtConnections(court) >= options_.per_court) return false;
  if (!peer.court.empty()) Decrement(by_court_, peer.court);
  peer.court = court;
  by_court_[court]++;
  return true;
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

size_t ConnectionLimits::CourtConnections(const std::string& court) const {
  auto it = by_court_.find(court);
  return it == by_court_.end() ? 0 : it->second;
}

}  // namespace weituo::broker
