// Who may read and act over the broker's HTTP API: the caller a bearer token
// names (admin, operator reader, witness, or anonymous) and whether that
// caller may send a request to a path. Reads carry debtors' personal data, so
// every path but /, /healthz, /readyz and /metrics needs a token unless the
// operator opened reads. Pure: no I/O.
//
// Threading: immutable after construction; safe to share between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "weituo/broker/status_server.h"

namespace weituo::broker {

enum class HttpRole { kAnonymous, kReader, kWitness, kAdmin };

struct HttpCaller {
  HttpRole role = HttpRole::kAnonymous;
  std::string name;         // "admin", "operator", a witness's name; empty if anonymous
  bool gave_token = false;  // a token was sent, matching or not
};

// Why a request may not go on: 401 (no token, or none that matches) or 403
// (a token that may not do this).
struct HttpRefusal {
  unsigned status;
  std::string message;
};

class HttpAccessPolicy {
 public:
  explicit HttpAccessPolicy(HttpAccess access);

  // The caller `bearer` names; a token that matches nobody is anonymous
  // (compared in constant time).
  HttpCaller Identify(std::string_view bearer) const;

  // nullopt if `caller` may send a GET (`get`) or another method to `path`;
  // otherwise the refusal. Actions that need the admin token are checked
  // where they are served, so an anonymous POST passes here.
  std::optional<HttpRefusal> Check(const HttpCaller& caller, bool get, std::string_view path) const;

  // Paths anyone may read: the page, /healthz, /readyz, /metrics.
  static bool IsOpenPath(std::string_view path);
  // Paths a witness may read: trails and statistics.
  static bool IsWitnessPath(std::string_view path);

  bool open_reads() const { return access_.open_reads; }

 private:
  HttpAccess access_;
};

}  // namespace weituo::broker
