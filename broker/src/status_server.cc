#include "weituo/broker/status_server.h"

#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <array>
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
#include "http_access.h"
#include "metrics.h"
#include "weituo/common/clock.h"
#include "weituo/common/deadlines.h"
#include "weituo/common/http_server.h"
#include "weituo/common/ids.h"
#include "weituo/common/json.h"
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

// The API prints every field, those at their default value too, so a
// reader sees 0 and false rather than nothing.
std::string ApiJson(const google::protobuf::Message& message) {
  return ToJson(message, {.always_print_primitive_fields = true});
}

void SetJson(Response& res, http::status status, const google::protobuf::Message& message) {
  res.result(status);
  res.set(http::field::content_type, "application/json");
  res.body() = ApiJson(message);
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
  WEITUO_ASSIGN_OR_RETURN(auto params,
                          ParseQuery(query, {"state", "court", "kind", "limit", "after", "order"}));
  CommissionQuery q;
  for (const auto& [name, value] : params) {
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
  WEITUO_ASSIGN_OR_RETURN(auto params, ParseQuery(query, {"from", "to", "court", "campaign"}));
  StatsQuery q;
  q.to_ms = now_ms + 1;
  q.from_ms = now_ms - 30 * kDayMs;
  for (const auto& [name, value] : params) {
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

// "limit=N" of /api/parked: 1 to 10000, 500 if absent.
StatusOr<size_t> ParseParkedLimit(std::string_view query) {
  WEITUO_ASSIGN_OR_RETURN(auto params, ParseQuery(query, {"limit"}));
  if (!params.count("limit")) return size_t{500};
  char* end = nullptr;
  long n = std::strtol(params.at("limit").c_str(), &end, 10);
  if (params.at("limit").empty() || *end != '\0' || n < 1 || n > 10000) {
    return Status::InvalidArgument("limit must be a number from 1 to 10000");
  }
  return static_cast<size_t>(n);
}

// "advance_ms=N" of /api/test/clock: positive, at most a century a move,
// so the clock cannot overflow.
StatusOr<int64_t> ParseAdvanceMs(std::string_view query) {
  WEITUO_ASSIGN_OR_RETURN(auto params, ParseQuery(query, {"advance_ms"}));
  const std::string value = params.count("advance_ms") ? params.at("advance_ms") : "";
  char* end = nullptr;
  long long ms = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || ms <= 0 || ms > 36525 * kDayMs) {
    return Status::InvalidArgument(
        "advance_ms must be a positive number of milliseconds, at most 100 years");
  }
  return ms;
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
                                                               const std::string& admin_token,
                                                               const std::string& read_token) {
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
    if (!read_token.empty() && token == read_token) {
      return Status::InvalidArgument(where + "witness '" + name +
                                     "' has the operator's read token; give each witness a token "
                                     "of its own");
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

std::string StatusJson(const weituo::v1::BrokerStatus& status) { return ApiJson(status); }

struct StatusServer::Rep {
  OperatorApi* broker;
  std::unique_ptr<HttpAccessPolicy> policy;
  std::unique_ptr<HttpServer> server;
  // 4xx answers by code - 400, from this server's thread; read by
  // StatusWithRefusals().
  std::array<std::atomic<uint64_t>, 100> refused{};

  void CountRefusal(unsigned code) {
    if (code >= 400 && code < 500) refused[code - 400].fetch_add(1, std::memory_order_relaxed);
  }

  // The broker's status with this server's refusals among its counters.
  weituo::v1::BrokerStatus StatusWithRefusals() const {
    weituo::v1::BrokerStatus status = broker->GetStatus();
    for (unsigned i = 0; i < refused.size(); ++i) {
      if (uint64_t n = refused[i].load(std::memory_order_relaxed); n > 0) {
        (*status.mutable_counters())["http_refused_" + std::to_string(400 + i)] += n;
      }
    }
    return status;
  }

  Response Answer(const http::request<http::string_body>& req) const {
    Response res;
    res.version(req.version());
    res.keep_alive(false);
    std::string_view target(req.target().data(), req.target().size());
    const HttpTarget parts = SplitTarget(req);
    const bool get = req.method() == http::verb::get;
    const HttpCaller caller = policy->Identify(BearerToken(req));
    if (auto refusal = policy->Check(caller, get, parts.path)) {
      if (refusal->status == 401) res.set(http::field::www_authenticate, "Bearer");
      return Fail(res, static_cast<http::status>(refusal->status), refusal->message);
    }
    if (caller.role == HttpRole::kWitness && !HttpAccessPolicy::IsOpenPath(parts.path)) {
      spdlog::info("msg=\"witness read\" witness={} path=\"{}\"", caller.name, LogValue(target));
    }
    if (!ServeOpen(req, parts.path, res) && !ServeRead(req, parts, res) &&
        !ServeAction(req, caller, parts, res)) {
      SetError(res, http::status::not_found, "no such path: " + LogValue(parts.path));
    }
    return Finish(res);
  }

  // Answers `res` with "use <methods>" unless `allowed`.
  static bool Only(Response& res, bool allowed, const char* methods) {
    if (allowed) return true;
    SetError(res, http::status::method_not_allowed, std::string("use ") + methods);
    res.set(http::field::allow, methods);
    return false;
  }

  // /healthz, /readyz, /metrics, /api/cluster and the page; false for any
  // other path.
  bool ServeOpen(const HttpRequest& req, std::string_view path, Response& res) const {
    const bool get = req.method() == http::verb::get;
    if (path == "/healthz") {
      if (Only(res, get, "GET")) res.body() = "ok\n";
    } else if (path == "/readyz") {
      if (Only(res, get, "GET")) {
        const weituo::v1::BrokerStatus status = broker->GetStatus();
        const bool ready = status.ready() && status.degraded().empty();
        res.result(ready ? http::status::ok : http::status::service_unavailable);
        if (!status.ready()) {
          res.body() = "not ready\n";
        } else if (!ready) {
          res.body() = "degraded\n";
          for (const std::string& why : status.degraded()) res.body() += why + "\n";
        } else {
          res.body() = "ready\n";
        }
      }
    } else if (path == "/metrics") {
      if (Only(res, get, "GET")) {
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = RenderPrometheus(StatusWithRefusals());
      }
    } else if (path == "/api/cluster") {
      // A broker group's state holds no commission and no personal data:
      // open, as /healthz is (docs/group.md).
      if (Only(res, get, "GET")) {
        if (auto cluster = broker->Cluster()) {
          res.set(http::field::content_type, "application/json");
          res.body() = ToJson(*cluster, {.always_print_primitive_fields = true});
        } else {
          SetError(res, http::status::not_found, "this broker is not a member of a broker group");
        }
      }
    } else if (path == "/") {
      if (Only(res, get, "GET")) {
        res.set(http::field::content_type, "text/html; charset=utf-8");
        res.body() = std::string(DashboardHtml());
      }
    } else {
      return false;
    }
    return true;
  }

  // The reads of /api/; false for any other path.
  bool ServeRead(const HttpRequest& req, const HttpTarget& parts, Response& res) const {
    const std::string_view path = parts.path, query = parts.query;
    const bool get = req.method() == http::verb::get;
    auto answer = [&](const auto& reply) {
      if (!reply.ok()) return SetError(res, HttpStatusOf(reply.status()), reply.status().message());
      SetJson(res, http::status::ok, *reply);
    };
    auto bad_request = [&](const weituo::Status& s) {
      SetError(res, http::status::bad_request, s.message());
      return true;
    };
    if (path == "/api/status") {
      if (Only(res, get, "GET")) SetJson(res, http::status::ok, StatusWithRefusals());
    } else if (path == "/api/commissions") {
      if (!Only(res, get, "GET")) return true;
      auto q = ParseCommissionQuery(query);
      if (!q.ok()) return bad_request(q.status());
      answer(broker->ListCommissions(*q));
    } else if (path.starts_with("/api/commissions/")) {
      if (Only(res, get, "GET")) answer(broker->Trail(std::string(path.substr(17))));
    } else if (path == "/api/stats") {
      if (!Only(res, get, "GET")) return true;
      auto q = ParseStatsQuery(query, broker->Now());
      if (!q.ok()) return bad_request(q.status());
      answer(broker->Stats(*q));
    } else if (path == "/api/parked") {
      if (!Only(res, get, "GET")) return true;
      auto limit = ParseParkedLimit(query);
      if (!limit.ok()) return bad_request(limit.status());
      answer(broker->Parked(*limit));
    } else {
      return false;
    }
    return true;
  }

  // The actions, admin only; false for any other path.
  bool ServeAction(const HttpRequest& req, const HttpCaller& caller, const HttpTarget& parts,
                   Response& res) const {
    const std::string_view path = parts.path;
    const bool post = req.method() == http::verb::post;
    const Action action = path == "/api/test/clock"     ? Action{"clock", ""}
                          : path == "/api/admin/backup" ? Action{"backup", ""}
                                                        : ParseAction(path);
    if (action.verb.empty()) return false;
    if (!Only(res, post, "POST")) return true;
    if (caller.role != HttpRole::kAdmin) {
      const char* what = action.verb == "clock"    ? "moving the test clock needs"
                         : action.verb == "backup" ? "a backup needs"
                                                   : "operator actions need";
      res.set(http::field::www_authenticate, "Bearer");
      SetError(res, http::status::unauthorized,
               std::string(what) + " the header Authorization: Bearer <admin token>");
      return true;
    }
    auto answer = [&](const StatusOr<weituo::v1::ApiReply>& reply) {
      if (!reply.ok()) return SetError(res, HttpStatusOf(reply.status()), reply.status().message());
      SetJson(res, http::status::ok, *reply);
    };
    if (action.verb == "clock") {
      auto ms = ParseAdvanceMs(parts.query);
      if (!ms.ok()) {
        SetError(res, http::status::bad_request, ms.status().message());
      } else {
        answer(broker->AdvanceClock(*ms));
      }
    } else if (action.verb == "backup") {
      answer(broker->Backup());
    } else {
      // Blocks this server's thread until the loop has applied it (one
      // turn, normally well under 100 ms); actions are rare.
      answer(action.verb == "redrive" ? broker->Redrive(action.arg)
                                      : broker->SetPaused(action.arg, action.verb == "pause"));
    }
    return true;
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

  static Response Finish(Response& res) {
    res.prepare_payload();
    return std::move(res);
  }
  static Response Fail(Response& res, http::status status, const std::string& message) {
    SetError(res, status, message);
    return Finish(res);
  }
};

StatusOr<std::unique_ptr<StatusServer>> StatusServer::Start(const std::string& address,
                                                            OperatorApi& broker,
                                                            HttpAccess access) {
  auto rep = std::make_unique<Rep>();
  rep->broker = &broker;
  HttpServer::Options options;
  options.allowed_hosts = access.allowed_hosts;
  // A prober or Prometheus elsewhere names the broker as it knows it.
  options.any_host_paths = {"/healthz", "/readyz", "/metrics"};
  rep->policy = std::make_unique<HttpAccessPolicy>(std::move(access));
  Rep* raw = rep.get();
  WEITUO_ASSIGN_OR_RETURN(
      rep->server, HttpServer::Start(
                       address,
                       [raw](const HttpRequest& req, HttpResponse& res) {
                         res = raw->Answer(req);
                         raw->CountRefusal(res.result_int());
                       },
                       [raw](HttpResponse& res, http::status status, const std::string& message) {
                         raw->CountRefusal(static_cast<unsigned>(status));
                         SetError(res, status, message);
                       },
                       std::move(options)));
  return std::unique_ptr<StatusServer>(new StatusServer(std::move(rep)));
}

StatusServer::StatusServer(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
StatusServer::~StatusServer() { Stop(); }

void StatusServer::Stop() { rep_->server->Stop(); }

std::string StatusServer::address() const { return rep_->server->address(); }

}  // namespace weituo::broker
