#include "cluster_view.h"

#include "weituo/common/clock.h"
#include "weituo/common/http_server.h"
#include "weituo/common/json.h"

namespace weituo::group {

namespace http = boost::beast::http;

namespace {

// A label value in Prometheus' text format.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Gauge(std::string& out, const std::string& name, const std::string& help, double value,
           const std::string& labels = "") {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
         (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(value) + "\n";
}

}  // namespace

std::string ClusterMetrics(const ClusterView& v) {
  std::string out;
  const std::string me = "member=\"" + Label(v.member()) + "\"";
  Gauge(out, "weituo_group_info", "this member of the group, with its role (always 1)", 1,
        "group=\"" + Label(v.group()) + "\"," + me + ",role=\"" + Label(v.role()) + "\"");
  Gauge(out, "weituo_group_is_leader", "1 while this member leads the group",
        v.role() == "leader" ? 1 : 0);
  Gauge(out, "weituo_group_term", "the leader's term (the leader key's create revision in etcd)",
        static_cast<double>(v.term()));
  Gauge(out, "weituo_group_last_applied", "this member's last commit",
        static_cast<double>(v.last_applied()));
  Gauge(out, "weituo_group_leader_last", "the leader's last commit, as this member last heard",
        static_cast<double>(v.leader_last()));
  Gauge(out, "weituo_group_lag_seconds",
        "a follower: how old its last commit was when it applied it",
        static_cast<double>(v.lag_ms()) / 1000);
  Gauge(out, "weituo_group_etcd_reachable", "1 if etcd answered this member's last call",
        v.etcd_reachable() ? 1 : 0);
  Gauge(out, "weituo_group_snapshots_installed", "checkpoints this member installed since start",
        static_cast<double>(v.snapshots_installed()));
  out +=
      "# HELP weituo_group_replication_refused_total a leader: replication handshakes and "
      "ReplFollows refused (a key no member has, or another member's name)\n"
      "# TYPE weituo_group_replication_refused_total counter\n"
      "weituo_group_replication_refused_total " +
      std::to_string(v.replication_refused()) + "\n";
  Gauge(out, "weituo_group_in_sync_members", "a leader: members in the in-sync set",
        static_cast<double>(v.in_sync_size()));
  Gauge(out, "weituo_group_last_change_age_seconds",
        "seconds since this member saw the leadership change (-1: never)",
        v.last_change_ago_ms() < 0 ? -1 : static_cast<double>(v.last_change_ago_ms()) / 1000);
  if (v.followers_size() > 0) {
    const struct {
      const char* name;
      const char* help;
      double (*value)(const weituo::v1::ClusterFollower&);
    } series[] = {
        {"weituo_group_follower_acked", "a leader's follower: its last commit acknowledged",
         [](const weituo::v1::ClusterFollower& f) { return static_cast<double>(f.acked()); }},
        {"weituo_group_follower_lag_batches", "a leader's follower: commits not acknowledged",
         [](const weituo::v1::ClusterFollower& f) { return static_cast<double>(f.lag_batches()); }},
        {"weituo_group_follower_lag_seconds",
         "a leader's follower: age of the first commit it has not acknowledged",
         [](const weituo::v1::ClusterFollower& f) {
           return static_cast<double>(f.lag_ms()) / 1000;
         }},
        {"weituo_group_follower_in_sync", "a leader's follower: 1 if in the in-sync set",
         [](const weituo::v1::ClusterFollower& f) { return f.in_sync() ? 1.0 : 0.0; }},
    };
    for (const auto& s : series) {
      out += std::string("# HELP ") + s.name + " " + s.help + "\n# TYPE " + s.name + " gauge\n";
      for (const auto& f : v.followers()) {
        out += std::string(s.name) + "{follower=\"" + Label(f.member()) + "\"} " +
               std::to_string(s.value(f)) + "\n";
      }
    }
  }
  return out;
}

StatusOr<std::unique_ptr<ClusterServer>> ClusterServer::Start(const std::string& address,
                                                              std::function<ClusterView()> view) {
  auto handler = [view = std::move(view)](const HttpRequest& req, HttpResponse& res) {
    const std::string path(SplitTarget(req).path);
    res.set(http::field::content_type, "application/json");
    if (req.method() != http::verb::get) {
      res.result(http::status::method_not_allowed);
      res.body() = "{\"message\":\"GET only\"}";
    } else if (path == "/api/cluster") {
      // The group's state holds no commission and no personal data: open,
      // as /healthz is.
      ClusterView v = view();
      v.set_at_ms(NowMs());
      res.result(http::status::ok);
      res.body() = ToJson(v, {.add_whitespace = false, .always_print_primitive_fields = true});
    } else if (path == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = ClusterMetrics(view());
    } else if (path == "/healthz") {
      res.result(http::status::ok);
      res.body() = "{\"ok\":true}";
    } else {
      res.result(http::status::not_found);
      res.body() =
          "{\"message\":\"a member's cluster address serves /api/cluster, /metrics and /healthz\"}";
    }
    res.prepare_payload();
  };
  auto error_writer = [](HttpResponse& res, http::status status, const std::string& message) {
    res.result(status);
    res.set(http::field::content_type, "application/json");
    res.body() = "{\"message\":" + JsonQuoted(message) + "}";
    res.prepare_payload();
  };
  WEITUO_ASSIGN_OR_RETURN(auto server,
                          HttpServer::Start(address, std::move(handler), std::move(error_writer)));
  std::unique_ptr<ClusterServer> out(new ClusterServer());
  out->server_ = std::move(server);
  return out;
}

ClusterServer::~ClusterServer() { Stop(); }
void ClusterServer::Stop() {
  if (server_) server_->Stop();
}
std::string ClusterServer::address() const { return server_->address(); }

}  // namespace weituo::group
