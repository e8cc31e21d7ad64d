// The Host header values an HTTP server answers to, a guard against DNS
// rebinding: a page of another site whose name was re-pointed at this
// machine still sends that site's name as Host, so only names the server was
// configured for get an answer. By default those are the listen address
// itself and the loopback names (localhost, 127.0.0.1, [::1]) on the bound
// port; the operator adds names ("name" for any port, "name:port").
//
// Threading: a value, immutable once made; safe to share between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weituo/common/status.h"

namespace weituo {

class AllowedHosts {
 public:
  // `listen_ip` is the bound address as text ("127.0.0.1", "::1",
  // "0.0.0.0"), `port` the port actually bound; `extra` the operator's
  // entries, "name", "name:port", "1.2.3.4:port" or "[v6]:port".
  // INVALID_ARGUMENT naming the first malformed entry.
  static StatusOr<AllowedHosts> Make(std::string_view listen_ip, uint16_t port,
                                     const std::vector<std::string>& extra);

  // Whether `host`, a Host header's value, is one of them. Names compare
  // without regard to case; a Host without a port means port 80.
  bool Allows(std::string_view host) const;

  // "127.0.0.1:8080, localhost:8080, [::1]:8080, a.example", for messages.
  std::string ToString() const;

 private:
  struct Entry {
    std::string name;  // lower case; an IPv6 address in brackets, canonical
    int port;          // kAnyPort for an operator's name without a port
  };
  static constexpr int kAnyPort = -1;
  std::vector<Entry> entries_;
};

// "a.example:8080, b.example" -> {"a.example:8080", "b.example"}: split at
// commas, spaces trimmed, empty items dropped.
std::vector<std::string> SplitHostList(std::string_view comma_separated);

}  // namespace weituo
