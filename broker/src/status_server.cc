#include "weituo/broker/status_server.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include <map>
#include <set>
#include <string_view>

#include "dashboard.h"
#include "metrics.h"
#include "weituo/common/clock.h"
#include "weituo/common/deadlines.h"
#include "weituo/common/http_server.h"
#include "weituo/common/ids.h"
#include "weituo/common/logging.h"
#include "weituo/common/small_file.h"
#include "weituo/common/tokens.h"
#include "weituo/common/wire.h"
#include "weituo/v1/status.pb.h"

namespace weituo::broker {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

using Response = http::response<http::string_body>;

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

void SetJson(Response& res, http::status status, const google::protobuf::Message& message) {
  res.result(status);
  res.set(http::field::content_type, "application/json");
  res.body() = ToJson(message);
}

void SetError(Response& res, http::status status, const std::string& message) {
  weituo::v1::ApiReply reply;
  reply.set_ok(false);
  reply.set_message(message);
  SetJson(res, status, reply);
}

std::string PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() + 0 && std::isxdigit(in[i + 1]) &&
               std::isxdigit(in[i + 2])) {
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// "a=1&b=2" -> {a: 1, b: 2}; INVALID_ARGUMENT for a name not in `known`.
StatusOr<std::map<std::string, std::string>> ParseQuery(std::string_view query,
                                                        const std::set<std::string>& known) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name = PercentDecode(pair.substr(0, eq));
    if (!known.count(name)) {
      return Status::InvalidArgument("unknown query parameter '" + LogValue(name) + "'");
    }
    params[name] = eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
  }
  return params;
}

StatusOr<CommissionQuery> ParseCommissionQuery(std::string_view query) {
  auto params = ParseQuery(query, {"state", "court", "kind", "limit", "after", "order"});
  if (!params.ok()) return params.status();
  CommissionQuery q;
  for (const auto& [name, value] : *params) {
    if (name == "state" && !value.empty()) {
      if (!weituo::v1::State_Parse(value, &q.state) || q.state == weituo::v1::STATE_UNSPECIFIED) {
        return Status::InvalidArgument("state '" + LogValue(value) +
                                       "' is not a state (SUBMITTED, DELIVERED, ACCEPTED, ...)");
      }
    } else if (name == "kind" && !value.empty()) {
      if (!weituo::v1::Kind_Parse(value, &q.kind) || q.kind == weituo::v1::KIND_UNSPECIFIED) {
        return Status::InvalidArgument("kind '" + LogValue(value) +
                                       "' is not a kind (DEBTOR_LOCATE, ASSET_QUERY, "
                                       "VEHICLE_SEIZURE)");
      }
    } else if (name == "court" && !value.empty()) {
      if (!IsValidCourtId(value)) {
        return Status::InvalidArgument("court '" + LogValue(value) + "' is not a court id");
      }
      q.court = value;
    } else if (name == "limit") {
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 1 || n > 500) {
        return Status::InvalidArgument("limit must be a number from 1 to 500");
      }
      q.limit = static_cast<size_t>(n);
    } else if (name == "after" && !value.empty()) {
      if (!IsUlid(value)) return Status::InvalidArgument("after must be a commission id");
      q.after = value;
    } else if (name == "order") {
      if (value != "asc" && value != "desc") {
        return Status::InvalidArgument("order must be asc or desc");
      }
      q.newest_first = value == "desc";
    }
  }
  return q;
}

StatusOr<StatsQuery> ParseStatsQuery(std::string_view query, int64_t now_ms) {
  auto params = ParseQuery(query, {"from", "to", "court", "campaign"});
  if (!params.ok()) return params.status();
  StatsQuery q;
  q.to_ms = now_ms + 1;
  q.from_ms = now_ms - 30 * kDayMs;
  for (const auto& [name, value] : *params) {
    if (name == "from" || name == "to") {
      auto ms = ParseStatsTime(value, name == "to");
      if (!ms.ok()) return Status::InvalidArgument(name + ": " + ms.status().message());
      (name == "from" ? q.from_ms : q.to_ms) = *ms;
    } else if (name == "court" && !value.empty()) {
      if (!IsValidCourtId(value)) {
        return Status::InvalidArgument("court '" + LogValue(value) + "' is not a court id");
      }
      q.court = value;
    } else if (name == "campaign") {
      q.campaign = value;
    }
  }
  return q;
}

}  // namespace

StatusOr<int64_t> ParseStatsTime(const std::string& text, bool end) {
  if (!text.empty() && text.size() <= 15 &&
      std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(c); })) {
    return std::stoll(text);
  }
  auto expiry = ExpiryMs(text);  // the moment after the date's last, UTC+8
  if (!expiry) {
    return Status::InvalidArgument("'" + LogValue(text) +
                                   "' is neither a date YYYY-MM-DD nor milliseconds since 1970");
  }
  return end ? *expiry : *expiry - kDayMs;
}

StatusOr<std::map<std::string, std::string>> ReadWitnessTokens(const std::string& path,
                                                               const std::string& admin_token) {
  auto file = ReadSmallFile(path, "witness tokens file", kMaxConfigFileBytes);
  if (!file.ok()) return Status::InvalidArgument(file.status().message());
  if (file->mode & 077) {
    return Status::PermissionDenied(path + " may be read by group or others; chmod 600 it");
  }
  std::istringstream in(file->text);
  std::map<std::string, std::string> tokens;
  std::map<std::string, std::pair<std::string, int>> holder;  // token -> witness, line
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::string name, token, extra;
    if (!(fields >> name)) continue;
    std::string where = path + ":" + std::to_string(n) + ": ";
    if (!(fields >> token) || (fields >> extra)) {
      return Status::InvalidArgument(where + "expected 'name token'");
    }
    if (Status s = CheckToken(token, 32); !s.ok()) {
      return Status::InvalidArgument(where + "witness '" + name + "': " + s.message());
    }
    if (!tokens.emplace(name, token).second) {
      return Status::InvalidArgument(where + "witness '" + name + "' is listed twice");
    }
    if (!admin_token.empty() && token == admin_token) {
      return Status::InvalidArgument(where + "witness '" + name +
                                     "' has the admin token; give each witness a token of its own");
    }
    auto [other, fresh] = holder.emplace(token, std::make_pair(name, n));
    if (!fresh) {
      return Status::InvalidArgument(where + "witness '" + name + "' has the same token as '" +
                                     other->second.first + "' (line " +
                                     std::to_string(other->second.second) +
                                     "); give each witness a token of its own");
    }
  }
  return tokens;
}

std::string StatusJson(const weituo::v1::BrokerStatus& status) { return ToJson(status); }

struct StatusServer::Rep {
  Broker* broker;
  std::string admin_token;
  std::map<std::string, std::string> witness_tokens;  // name -> token
  std::unique_ptr<HttpServer> server;

  Response Answer(const http::request<http::string_body>& req) const {
    Response res;
    res.version(req.version());
    res.keep_alive(false);
    std::string_view target(req.target().data(), req.target().size());
    const HttpTarget target_parts = SplitTarget(req);
    const std::string_view path = target_parts.path, query = target_parts.query;
    bool get = req.method() == http::verb::get;
    bool post = req.method() == http::verb::post;
    // Who asks. With witnesses configured, reads need a token as well.
    const Caller caller = Identify(req);
    const bool open_path = path == "/healthz" || path == "/readyz" || path == "/";
    if (!witness_tokens.empty() && !open_path && caller.role == Role::kAnonymous) {
      return Fail(res, http::status::unauthorized,
                  "this broker has witnesses configured: every request needs the header "
                  "Authorization: Bearer <token> (the admin's, or a witness's for reads)");
    }
    if (caller.role == Role::kWitness) {
      const bool witness_path = path == "/api/stats" || path == "/api/commissions" ||
                                path.starts_with("/api/commissions/");
      if (!open_path && (!witness_path || !get)) {
        return Fail(res, http::status::forbidden,
                    "witness '" + caller.name + "' may read trails and statistics only");
      }
      if (!open_path) {
        spdlog::info("msg=\"witness read\" witness={} path=\"{}\"", caller.name, LogValue(target));
      }
    }
    auto only = [&](bool allowed, const char* methods) {
      if (allowed) return true;
      SetError(res, http::status::method_not_allowed, std::string("use ") + methods);
      res.set(http::field::allow, methods);
      return false;
    };

    if (path == "/healthz") {
      if (only(get, "GET")) res.body() = "ok\n";
    } else if (path == "/readyz") {
      if (only(get, "GET")) {
        bool ready = broker->GetStatus().ready();
        res.result(ready ? http::status::ok : http::status::service_unavailable);
        res.body() = ready ? "ready\n" : "not ready\n";
      }
    } else if (path == "/api/status") {
      if (only(get, "GET")) SetJson(res, http::status::ok, broker->GetStatus());
    } else if (path == "/metrics") {
      if (only(get, "GET")) {
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = RenderPrometheus(broker->GetStatus());
      }
    } else if (path == "/") {
      if (only(get, "GET")) {
        res.set(http::field::content_type, "text/html; charset=utf-8");
        res.body() = std::string(DashboardHtml());
      }
    } else if (path == "/api/commissions") {
      if (!only(get, "GET")) return Finish(res);
      auto q = ParseCommissionQuery(query);
      if (!q.ok()) return Fail(res, http::status::bad_request, q.status().message());
      auto page = broker->ListCommissions(*q);
      if (!page.ok()) return Fail(res, HttpStatusOf(page.status()), page.status().message());
      SetJson(res, http::status::ok, *page);
    } else if (path.starts_with("/api/commissions/")) {
      if (!only(get, "GET")) return Finish(res);
      auto trail = broker->Trail(std::string(path.substr(17)));
      if (!trail.ok()) return Fail(res, HttpStatusOf(trail.status()), trail.status().message());
      SetJson(res, http::status::ok, *trail);
    } else if (path == "/api/stats") {
      if (!only(get, "GET")) return Finish(res);
      auto q = ParseStatsQuery(query, broker->Now());
      if (!q.ok()) return Fail(res, http::status::bad_request, q.status().message());
      auto stats = broker->Stats(*q);
      if (!stats.ok()) return Fail(res, HttpStatusOf(stats.status()), stats.status().message());
      SetJson(res, http::status::ok, *stats);
    } else if (path == "/api/test/clock") {
      if (!only(post, "POST")) return Finish(res);
      if (caller.role != Role::kAdmin) {
        return Fail(res, http::status::unauthorized,
                    "moving the test clock needs the header Authorization: Bearer <admin token>");
      }
      auto params = ParseQuery(query, {"advance_ms"});
      if (!params.ok()) return Fail(res, http::status::bad_request, params.status().message());
      const std::string value = params->count("advance_ms") ? params->at("advance_ms") : "";
      char* end = nullptr;
      long long ms = std::strtoll(value.c_str(), &end, 10);
      // At most a century a move, so the clock cannot overflow.
      if (value.empty() || *end != '\0' || ms <= 0 || ms > 36525 * kDayMs) {
        return Fail(res, http::status::bad_request,
                    "advance_ms must be a positive number of milliseconds, at most 100 years");
      }
      auto reply = broker->AdvanceClock(ms);
      if (!reply.ok()) return Fail(res, HttpStatusOf(reply.status()), reply.status().message());
      SetJson(res, http::status::ok, *reply);
    } else if (path == "/api/admin/backup") {
      if (!only(post, "POST")) return Finish(res);
      if (caller.role != Role::kAdmin) {
        return Fail(res, http::status::unauthorized,
                    "a backup needs the header Authorization: Bearer <admin token>");
      }
      auto reply = broker->Backup();
      if (!reply.ok()) return Fail(res, HttpStatusOf(reply.status()), reply.status().message());
      SetJson(res, http::status::ok, *reply);
    } else if (path == "/api/parked") {
      if (!only(get, "GET")) return Finish(res);
      auto params = ParseQuery(query, {"limit"});
      size_t limit = 500;
      if (params.ok() && params->count("limit")) {
        char* end = nullptr;
        long n = std::strtol(params->at("limit").c_str(), &end, 10);
        if (*end != '\0' || n < 1 || n > 10000) {
          params = Status::InvalidArgument("limit must be a number from 1 to 10000");
        } else {
          limit = static_cast<size_t>(n);
        }
      }
      if (!params.ok()) return Fail(res, http::status::bad_request, params.status().message());
      auto page = broker->Parked(limit);
      if (!page.ok()) return Fail(res, HttpStatusOf(page.status()), page.status().message());
      SetJson(res, http::status::ok, *page);
    } else if (auto action = ParseAction(path); !action.verb.empty()) {
      if (!only(post, "POST")) return Finish(res);
      if (caller.role != Role::kAdmin) {
        SetError(res, http::status::unauthorized,
                 "operator actions need the header Authorization: Bearer <admin token>");
        return Finish(res);
      }
      // Blocks this server's thread until the loop has applied it (one
      // turn, normally well under 100 ms); actions are rare.
      StatusOr<weituo::v1::ApiReply> reply =
          action.verb == "redrive" ? broker->Redrive(action.arg)
                                   : broker->SetPaused(action.arg, action.verb == "pause");
      if (!reply.ok()) return Fail(res, HttpStatusOf(reply.status()), reply.status().message());
      SetJson(res, http::status::ok, *reply);
    } else {
      SetError(res, http::status::not_found, "no such path: " + LogValue(path));
    }
    return Finish(res);
  }

  // /api/courts/{court}/pause|resume, /api/parked/{id}/redrive
  struct Action {
    std::string verb, arg;
  };
  static Action ParseAction(std::string_view path) {
    auto split = [&](std::string_view prefix, std::initializer_list<const char*> verbs) -> Action {
      if (!path.starts_with(prefix)) return {};
      std::string_view rest = path.substr(prefix.size());
      size_t slash = rest.find('/');
      if (slash == std::string_view::npos || slash == 0) return {};
      std::string_view verb = rest.substr(slash + 1);
      for (const char* v : verbs) {
        if (verb == v) return {std::string(verb), std::string(rest.substr(0, slash))};
      }
      return {};
    };
    Action a = split("/api/courts/", {"pause", "resume"});
    return a.verb.empty() ? split("/api/parked/", {"redrive"}) : a;
  }

  enum class Role { kAnonymous, kAdmin, kWitness };
  struct Caller {
    Role role = Role::kAnonymous;
    std::string name;
  };
  // A token that matches no one is the same as none.
  Caller Identify(const http::request<http::string_body>& req) const {
    std::string_view token = BearerToken(req);
    if (token.empty()) return {};
    if (TokenMatches(token, admin_token)) return {Role::kAdmin, "admin"};
    for (const auto& [name, expected] : witness_tokens) {
      if (TokenMatches(token, expected)) return {Role::kWitness, name};
    }
    return {};
  }

  static Response Finish(Response& res) {
    res.prepare_payload();
    return std::move(res);
  }
  static Response Fail(Response& res, http::status status, const std::string& message) {
    SetError(res, status, message);
    return Finish(res);
  }
};

StatusOr<std::unique_ptr<StatusServer>> StatusServer::Start(
    const std::string& address, Broker& broker, std::string admin_token,
    std::map<std::string, std::string> witness_tokens) {
  auto rep = std::make_unique<Rep>();
  rep->broker = &broker;
  rep->admin_token = std::move(admin_token);
  rep->witness_tokens = std::move(witness_tokens);
  Rep* raw = rep.get();
  auto server = HttpServer::Start(
      address, [raw](const HttpRequest& req, HttpResponse& res) { res = raw->Answer(req); },
      [](HttpResponse& res, http::status status, const std::string& message) {
        SetError(res, status, message);
      });
  if (!server.ok()) return server.status();
  rep->server = std::move(server).value();
  return std::unique_ptr<StatusServer>(new StatusServer(std::move(rep)));
}

StatusServer::StatusServer(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
StatusServer::~StatusServer() { Stop(); }

void StatusServer::Stop() { rep_->server->Stop(); }

std::string StatusServer::address() const { return rep_->server->address(); }

}  // namespace weituo::broker
