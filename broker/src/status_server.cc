#include "weituo/broker/status_server.h"

#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "weituo/common/clock.h"
#include "weituo/v1/status.pb.h"

namespace weituo::broker {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr char kPage[] = R"(<!doctype html>
<html><head><meta charset="utf-8"><title>Weituo broker</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;text-align:left}
.on{color:#080}.off{color:#a00}</style></head>
<body><h1>Weituo 委托 broker</h1><p id="meta"></p>
<table><thead><tr><th>court</th><th>online</th><th>in flight</th><th>refused</th><th>last seen</th></tr></thead>
<tbody id="courts"></tbody></table><h2>counters</h2><pre id="counters"></pre>
<script>
async function refresh(){
  const s = await (await fetch('/api/status')).json();
  document.getElementById('meta').textContent = s.endpoint + ' (' + s.security + ') up ' + Math.round((s.uptimeMs||0)/1000) + ' s';
  document.getElementById('courts').innerHTML = (s.courts||[]).map(c =>
    '<tr><td>'+c.courtId+' '+(c.name||'')+'</td><td class="'+(c.online?'on':'off')+'">'+(c.online?'online':'offline')+
    '</td><td>'+(c.inFlight||0)+'</td><td>'+(c.refused||0)+'</td><td>'+(c.lastSeenMs?new Date(Number(c.lastSeenMs)).toISOString():'-')+'</td></tr>').join('');
  document.getElementById('counters').textContent = JSON.stringify({counters:s.counters, refused:s.refused}, null, 1);
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
)";

}  // namespace

std::string StatusJson(const BrokerSnapshot& snapshot) {
  weituo::v1::BrokerStatus status;
  status.set_version("0.1.0");
  status.set_endpoint(snapshot.endpoint);
  status.set_started_at_ms(snapshot.started_at_ms);
  status.set_uptime_ms(snapshot.started_at_ms ? NowMs() - snapshot.started_at_ms : 0);
  status.set_store_bytes(snapshot.store_bytes);
  status.set_security(snapshot.encrypted ? "curve" : "plaintext");
  for (const auto& [k, v] : snapshot.counters) (*status.mutable_counters())[k] = v;
  for (const auto& [k, v] : snapshot.refused) (*status.mutable_refused())[k] = v;
  for (const CourtStatus& c : snapshot.courts) {
    auto* out = status.add_courts();
    out->set_court_id(c.court_id);
    out->set_name(c.name);
    out->set_online(c.online);
    out->set_last_seen_ms(c.last_seen_ms);
    out->set_in_flight(c.in_flight);
    out->set_keys(static_cast<uint32_t>(c.keys));
    out->set_refused(c.refused);
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(status, &json, options);
  return json;
}

struct StatusServer::Rep {
  const Broker* broker;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<bool> stopped{false};

  // The answer to one request, from the broker's published snapshot.
  http::response<http::string_body> Answer(const http::request<http::string_body>& req) const {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(false);
    std::string target(req.target());
    BrokerSnapshot snap = broker->Snapshot();
    if (req.method() != http::verb::get) {
      res.result(http::status::method_not_allowed);
      res.body() = "only GET\n";
    } else if (target == "/healthz") {
      res.body() = "ok\n";
    } else if (target == "/readyz") {
      res.result(snap.ready ? http::status::ok : http::status::service_unavailable);
      res.body() = snap.ready ? "ready\n" : "not ready\n";
    } else if (target == "/api/status") {
      res.set(http::field::content_type, "application/json");
      res.body() = StatusJson(snap);
    } else if (target == "/") {
      res.set(http::field::content_type, "text/html; charset=utf-8");
      res.body() = kPage;
    } else {
      res.result(http::status::not_found);
      res.body() = "not found\n";
    }
    res.prepare_payload();
    return res;
  }

  void Accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (stopped.load()) return;
      if (!ec) std::make_shared<Session>(this, std::move(socket))->Start();
      Accept();
    });
  }

  // One connection, one request, with a deadline: a client that connects
  // and says nothing is dropped without holding anyone else up.
  struct Session : std::enable_shared_from_this<Session> {
    Session(Rep* rep, tcp::socket socket) : rep(rep), stream(std::move(socket)) {}

    void Start() {
      parser.body_limit(64 * 1024);
      stream.expires_after(std::chrono::seconds(2));
      http::async_read(stream, buffer, parser,
                       [self = shared_from_this()](boost::beast::error_code ec, size_t) {
                         if (ec) return;  // timed out, closed, or malformed
                         self->Respond();
                       });
    }

    void Respond() {
      response = rep->Answer(parser.get());
      http::async_write(stream, response,
                        [self = shared_from_this()](boost::beast::error_code, size_t) {
                          boost::beast::error_code ignored;
                          self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                        });
    }

    Rep* rep;
    boost::beast::tcp_stream stream;
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    http::response<http::string_body> response;
  };
};

StatusOr<std::unique_ptr<StatusServer>> StatusServer::Start(const std::string& address,
                                                            const Broker& broker) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("http address must be host:port, got '" + address + "'");
  }
  auto rep = std::make_unique<Rep>();
  rep->broker = &broker;
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address.substr(0, colon), ec);
  if (ec)
    return Status::InvalidArgument("http host '" + address.substr(0, colon) + "': " + ec.message());
  int port = std::atoi(address.substr(colon + 1).c_str());
  tcp::endpoint ep(ip, static_cast<unsigned short>(port));
  rep->acceptor.open(ep.protocol(), ec);
  if (!ec) rep->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) rep->acceptor.bind(ep, ec);
  if (!ec) rep->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on " + address + ": " + ec.message());
  Rep* raw = rep.get();
  raw->Accept();
  rep->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<StatusServer>(new StatusServer(std::move(rep)));
}

StatusServer::StatusServer(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
StatusServer::~StatusServer() { Stop(); }

void StatusServer::Stop() {
  if (rep_->stopped.exchange(true)) return;
  rep_->io.stop();
  if (rep_->thread.joinable()) rep_->thread.join();
  boost::system::error_code ec;
  rep_->acceptor.close(ec);
}

std::string StatusServer::address() const {
  boost::system::error_code ec;
  auto ep = rep_->acceptor.local_endpoint(ec);
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace weituo::broker
