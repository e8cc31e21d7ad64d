#include "weituo/common/allowed_hosts.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace weituo {
namespace {

struct HostPort {
  std::string name;  // lower case; an IPv6 address in brackets, canonical
  std::optional<int> port;
};

// "1" to "65535".
std::optional<int> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return port;
}

// "[v6]" -> "[canonical v6]"; nullopt if it is not an IPv6 address.
std::optional<std::string> CanonicalV6(std::string_view bracketed) {
  std::string inner(bracketed.substr(1, bracketed.size() - 2));
  in6_addr addr{};
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET6, inner.c_str(), &addr) != 1 ||
      inet_ntop(AF_INET6, &addr, text, sizeof text) == nullptr) {
    return std::nullopt;
  }
  return "[" + std::string(text) + "]";
}

// "name", "name:port", "[v6]" or "[v6]:port"; nullopt if malformed.
std::optional<HostPort> ParseHostPort(std::string_view text) {
  HostPort out;
  std::string_view name = text, port;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    name = text.substr(0, close + 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
    auto v6 = CanonicalV6(name);
    if (!v6) return std::nullopt;
    out.name = *v6;
    if (!rest.empty() && !(out.port = ParsePort(port))) return std::nullopt;
    return out;
  }
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    name = text.substr(0, colon);
    if (!(out.port = ParsePort(text.substr(colon + 1)))) return std::nullopt;
  }
  if (name.empty() || name.size() > 253) return std::nullopt;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '-' && c != '.' && c != '_') return std::nullopt;
    out.name.push_back(static_cast<char>(std::tolower(u)));
  }
  return out;
}

}  // namespace

StatusOr<AllowedHosts> AllowedHosts::Make(std::string_view listen_ip, uint16_t port,
                                          const std::vector<std::string>& extra) {
  AllowedHosts hosts;
  const std::string listen(listen_ip);
  in_addr v4{};
  const bool is_v4 = inet_pton(AF_INET, listen.c_str(), &v4) == 1;
  std::optional<std::string> self = is_v4 ? std::optional(listen) : CanonicalV6("[" + listen + "]");
  if (!self || port == 0) {
    return Status::InvalidArgument("listen address '" + listen + "' is not an IP address");
  }
  for (const std::string& name :
       {*self, std::string("localhost"), std::string("127.0.0.1"), std::string("[::1]")}) {
    bool known = std::any_of(hosts.entries_.begin(), hosts.entries_.end(),
                             [&](const Entry& e) { return e.name == name; });
    if (!known) hosts.entries_.push_back({name, port});
  }
  for (const std::string& text : extra) {
    auto parsed = ParseHostPort(text);
    if (!parsed) {
      return Status::InvalidArgument("allowed host '" + text +
                                     "' is not a host name or address with an optional :port "
                                     "(a.example, a.example:8080, 10.0.0.5:8080, [::1]:8080)");
    }
    hosts.entries_.push_back({parsed->name, parsed->port.value_or(kAnyPort)});
  }
  return hosts;
}

bool AllowedHosts::Allows(std::string_view host) const {
  auto parsed = ParseHostPort(host);
  if (!parsed) return false;
  const int port = parsed->port.value_or(80);
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.name == parsed->name && (e.port == kAnyPort || e.port == port);
  });
}

std::string AllowedHosts::ToString() const {
  std::string out;
  for (const Entry& e : entries_) {
    if (!out.empty()) out += ", ";
    out += e.name;
    if (e.port != kAnyPort) out += ":" + std::to_string(e.port);
  }
  return out;
}

std::vector<std::string> SplitHostList(std::string_view comma_separated) {
  std::vector<std::string> out;
  while (!comma_separated.empty()) {
    size_t comma = comma_separated.find(',');
    std::string_view item = comma_separated.substr(0, comma);
    comma_separated =
        comma == std::string_view::npos ? std::string_view() : comma_separated.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

}  // namespace weituo
