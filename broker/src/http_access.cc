#include "http_access.h"

#include "weituo/common/http_server.h"

namespace weituo::broker {

HttpAccessPolicy::HttpAccessPolicy(HttpAccess access) : access_(std::move(access)) {}

HttpCaller HttpAccessPolicy::Identify(std::string_view bearer) const {
  if (bearer.empty()) return {};
  if (TokenMatches(bearer, access_.admin_token)) return {HttpRole::kAdmin, "admin", true};
  if (!access_.read_token.empty() && TokenMatches(bearer, access_.read_token)) {
    return {HttpRole::kReader, "operator", true};
  }
  for (const auto& [name, expected] : access_.witness_tokens) {
    if (TokenMatches(bearer, expected)) return {HttpRole::kWitness, name, true};
  }
  return {HttpRole::kAnonymous, "", true};
}

bool HttpAccessPolicy::IsOpenPath(std::string_view path) {
  return path == "/" || path == "/healthz" || path == "/readyz" || path == "/metrics";
}

bool HttpAccessPolicy::IsWitnessPath(std::string_view path) {
  return path == "/api/stats" || path == "/api/commissions" ||
         path.starts_with("/api/commissions/");
}

std::optional<HttpRefusal> HttpAccessPolicy::Check(const HttpCaller& caller, bool get,
                                                   std::string_view path) const {
  if (IsOpenPath(path) || caller.role == HttpRole::kAdmin) return std::nullopt;
  if (get && access_.open_reads) return std::nullopt;
  switch (caller.role) {
    case HttpRole::kReader:
      if (get) return std::nullopt;
      return HttpRefusal{403,
                         "the operator's read token only reads: actions need the header "
                         "Authorization: Bearer <admin token>"};
    case HttpRole::kWitness:
      if (get && IsWitnessPath(path)) return std::nullopt;
      return HttpRefusal{403, "witness '" + caller.name + "' may read trails and statistics only"};
    case HttpRole::kAnonymous:
      if (!get) return std::nullopt;  // the action answers 401 or 405 itself
      if (caller.gave_token) {
        return HttpRefusal{401,
                           "the token is not one this broker knows: send the operator's "
                           "read token, the admin token or a witness's token"};
      }
      return HttpRefusal{401,
                         "reads of this broker's API need the header Authorization: "
                         "Bearer <token>: the operator's read token (read.token in the "
                         "broker's data folder, or --read-token-file), the admin token, or "
                         "a witness's token"};
    case HttpRole::kAdmin:
      break;
  }
  return std::nullopt;
}

}  // namespace weituo::broker
