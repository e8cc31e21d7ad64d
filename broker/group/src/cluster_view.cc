#include "cluster_view.h"

#include "weituo/common/clock.h"
#include "weituo/common/http_server.h"
#include "weituo/common/json.h"

namespace weituo::group {

namespace http = boost::beast::http;

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
    } else if (path == "/healthz") {
      res.result(http::status::ok);
      res.body() = "{\"ok\":true}";
    } else {
      res.result(http::status::not_found);
      res.body() = "{\"message\":\"a member's cluster address serves /api/cluster and /healthz\"}";
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
