#include "peer_credentials.h"

#include <charconv>
#include <cstdint>
#include <vector>

namespace weituo::agent {

namespace {

// A non-empty run of decimal digits that fits in 32 bits.
std::optional<uint32_t> Decimal(std::string_view text) {
  uint32_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<PeerCredentials> ParsePeerAddress(std::string_view peer_address) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    size_t colon = peer_address.find(':', start);
    fields.push_back(peer_address.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (fields.size() != 4 || fields[0].empty()) return std::nullopt;
  auto uid = Decimal(fields[1]), gid = Decimal(fields[2]), pid = Decimal(fields[3]);
  if (!uid || !gid || !pid) return std::nullopt;
  return PeerCredentials{static_cast<uid_t>(*uid), static_cast<gid_t>(*gid),
                         static_cast<pid_t>(*pid)};
}

std::optional<PeerCredentials> PeerCredentialsOf(const zmq::message_t& message) {
  const char* peer = zmq_msg_gets(message.handle(), "Peer-Address");
  if (peer == nullptr) return std::nullopt;
  return ParsePeerAddress(peer);
}

}  // namespace weituo::agent
