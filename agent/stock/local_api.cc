#include "local_api.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <string_view>

#include "weituo/common/http_server.h"
#include "weituo/common/json.h"

namespace weituo::agent {

namespace http = boost::beast::http;
namespace pbjson = google::protobuf::util;
using weituo::v1::Commission;
using weituo::v1::ControlReply;
using weituo::v1::Update;

namespace {

void SetJson(HttpResponse& res, http::status status, const google::protobuf::Message& m) {
  res.result(status);
  res.set(http::field::content_type, "application/json");
  res.body() = ToJson(m) + "\n";
}

// {"ok":false,"error":"..."}: ok printed, though false is proto3's default.
void SetError(HttpResponse& res, http::status status, const std::string& message) {
  res.result(status);
  res.set(http::field::content_type, "application/json");
  res.body() = "{\"ok\":false,\"error\":" + JsonQuoted(message) + "}\n";
}

// The body as `out`, or a 400 that names what is wrong.
bool ParseBody(const HttpRequest& req, google::protobuf::Message* out, HttpResponse& res) {
  const std::string& body = req.body();
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    SetError(res, http::status::bad_request,
             "the body is empty: send a " + out->GetDescriptor()->name() + " as JSON");
    return false;
  }
  auto s = pbjson::JsonStringToMessage(body, out);
  if (!s.ok()) {
    SetError(res, http::status::bad_request,
             "the body is not a valid " + out->GetDescriptor()->name() + ": " +
                 std::string(s.message()));
    return false;
  }
  return true;
}

}  // namespace

struct LocalApi::Rep {
  Agent* agent;
  std::string token;
  std::unique_ptr<HttpServer> server;

  void Answer(const HttpRequest& req, HttpResponse& res) {
    Route(req, res);
    const unsigned code = res.result_int();
    if (code >= 400 && code != 401) agent->Count("api_refused_" + std::to_string(code));
  }

  void Route(const HttpRequest& req, HttpResponse& res) {
    const HttpTarget target_parts = SplitTarget(req);
    const std::string_view path = target_parts.path, query = target_parts.query;
    const bool get = req.method() == http::verb::get;
    const bool post = req.method() == http::verb::post;
    if (path == "/healthz") {
      res.result(http::status::ok);
      res.body() = "ok\n";
      return;
    }
    if (!TokenMatches(BearerToken(req), token)) {
      agent->Count("api_refused_unauthorized");
      res.set(http::field::www_authenticate, "Bearer");
      SetError(res, http::status::unauthorized,
               BearerToken(req).empty()
                   ? "this API needs the header Authorization: Bearer <token> (the agent's "
                     "api.token_file)"
                   : "wrong token");
      return;
    }
    auto method_not_allowed = [&](const char* allowed) {
      res.set(http::field::allow, allowed);
      SetError(res, http::status::method_not_allowed,
               std::string(path) + " takes " + allowed + " only");
    };
    const std::string_view kCommissions = "/api/commissions";
    if (path == kCommissions) {
      if (post) return Submit(req, res);
      if (get) return List(false, query, res);
      return method_not_allowed("GET, POST");
    }
    if (path.starts_with("/api/commissions/")) {
      std::string_view rest = path.substr(kCommissions.size() + 1);
      size_t slash = rest.find('/');
      std::string id(rest.substr(0, slash));
      if (id.empty()) return SetError(res, http::status::not_found, "no commission id in the path");
      if (slash == std::string_view::npos) {
        if (!get) return method_not_allowed("GET");
        auto view = agent->Show(id);
        if (!view.ok()) return SetError(res, HttpStatusOf(view.status()), view.status().message());
        return SetJson(res, http::status::ok, *view);
      }
      if (rest.substr(slash + 1) == "updates") {
        if (!post) return method_not_allowed("POST");
        return SendUpdate(id, req, res);
      }
    }
    if (path == "/api/inbox") {
      if (!get) return method_not_allowed("GET");
      return List(true, query, res);
    }
    if (path.starts_with("/api/requests/")) {
      if (!get) return method_not_allowed("GET");
      auto r = agent->Request(std::string(path.substr(14)));
      if (!r.ok()) return SetError(res, HttpStatusOf(r.status()), r.status().message());
      return SetJson(res, http::status::ok, *r);
    }
    if (path == "/api/status") {
      if (!get) return method_not_allowed("GET");
      return SetJson(res, http::status::ok, agent->GetStatus());
    }
    SetError(res, http::status::not_found,
             "no such path " + std::string(path) +
                 " (see /api/commissions, /api/inbox, /api/requests/{id}, /api/status)");
  }

  void Submit(const HttpRequest& req, HttpResponse& res) {
    Commission c;
    if (!ParseBody(req, &c, res)) return;
    auto id = agent->Submit(std::move(c));
    if (!id.ok()) return SetError(res, HttpStatusOf(id.status()), id.status().message());
    ControlReply reply;
    reply.set_ok(true);
    reply.set_commission_id(*id);
    SetJson(res, http::status::created, reply);
  }

  void SendUpdate(const std::string& id, const HttpRequest& req, HttpResponse& res) {
    Update u;
    if (!ParseBody(req, &u, res)) return;
    if (!u.commission_id().empty() && u.commission_id() != id) {
      return SetError(
          res, http::status::bad_request,
          "commissionId '" + u.commission_id() + "' in the body is not the path's " + id);
    }
    u.set_commission_id(id);
    auto key = req["Idempotency-Key"];
    auto r = agent->SendUpdate(std::move(u), std::string(key.data(), key.size()));
    if (!r.ok()) return SetError(res, HttpStatusOf(r.status()), r.status().message());
    ControlReply reply;
    reply.set_ok(true);
    reply.set_request_id(*r);
    SetJson(res, http::status::accepted, reply);
  }

  void List(bool inbox, std::string_view query, HttpResponse& res) {
    weituo::v1::ListFilter filter;
    filter.set_inbox_only(inbox);
    filter.set_limit(1000);
    if (query.starts_with("limit=")) {
      uint32_t limit = 0;
      auto text = query.substr(6);
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (ec != std::errc() || end != text.data() + text.size() || limit == 0) {
        return SetError(res, http::status::bad_request,
                        "limit must be a positive number, got '" + std::string(text) + "'");
      }
      filter.set_limit(limit);
    } else if (!query.empty()) {
      return SetError(res, http::status::bad_request,
                      "unknown query '" + std::string(query) + "' (only limit=N)");
    }
    auto views = agent->List(filter);
    if (!views.ok()) return SetError(res, HttpStatusOf(views.status()), views.status().message());
    ControlReply reply;
    reply.set_ok(true);
    for (auto& v : *views) *reply.add_commissions() = std::move(v);
    SetJson(res, http::status::ok, reply);
  }
};

StatusOr<std::unique_ptr<LocalApi>> LocalApi::Start(Agent& agent, const LocalApiOptions& api) {
  auto rep = std::make_unique<Rep>();
  rep->agent = &agent;
  WEITUO_ASSIGN_OR_RETURN(rep->token, ReadOrMakeToken(api.token_file, "API token"));
  Rep* raw = rep.get();
  HttpServer::Options options;
  options.body_bytes = 1 << 20;
  options.allowed_hosts = api.allowed_hosts;
  WEITUO_ASSIGN_OR_RETURN(
      rep->server,
      HttpServer::Start(
          api.listen, [raw](const HttpRequest& req, HttpResponse& res) { raw->Answer(req, res); },
          [raw](HttpResponse& res, http::status status, const std::string& message) {
            raw->agent->Count("api_refused_" + std::to_string(static_cast<unsigned>(status)));
            SetError(res, status, message);
          },
          std::move(options)));
  spdlog::info("msg=\"local API\" url=http://{}/api/ token_file={} allowed_hosts=\"{}\"",
               rep->server->address(), api.token_file, rep->server->allowed_hosts().ToString());
  return std::unique_ptr<LocalApi>(new LocalApi(std::move(rep)));
}

LocalApi::LocalApi(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
LocalApi::~LocalApi() { Stop(); }
void LocalApi::Stop() { rep_->server->Stop(); }
std::string LocalApi::address() const { return rep_->server->address(); }

}  // namespace weituo::agent
