#include "weituo/common/http_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <random>
#include <sstream>
#include <thread>

#include "weituo/common/small_file.h"
#include "weituo/common/tokens.h"

namespace weituo {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Rep {
  Handler handler;
  ErrorWriter error_writer;
  Options options;
  AllowedHosts hosts;  // set once bound, before the first accept
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<bool> stopped{false};

  void Accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (stopped.load()) return;
      if (!ec) std::make_shared<Session>(this, std::move(socket))->Start();
      Accept();
    });
  }

  // One connection, one request, with a deadline.
  struct Session : std::enable_shared_from_this<Session> {
    Session(Rep* rep, tcp::socket socket) : rep(rep), stream(std::move(socket)) {}

    void Start() {
      parser.header_limit(rep->options.header_bytes);
      parser.body_limit(rep->options.body_bytes);
      stream.expires_after(std::chrono::seconds(2));
      http::async_read(
          stream, buffer, parser,
          [self = shared_from_this()](boost::beast::error_code ec, size_t) { self->Answer(ec); });
    }

    void Answer(boost::beast::error_code ec) {
      // Timed out or closed: nobody to answer.
      if (ec == boost::beast::error::timeout || ec == http::error::end_of_stream ||
          ec == asio::error::eof) {
        return;
      }
      response.keep_alive(false);
      if (!ec) {
        const HttpRequest& req = parser.get();
        response.version(req.version());
        if (HostAllowed(req)) rep->handler(req, response);
      } else if (ec == http::error::header_limit) {
        rep->error_writer(
            response, http::status::request_header_fields_too_large,
            "request headers over " + std::to_string(rep->options.header_bytes) + " bytes");
      } else if (ec == http::error::body_limit) {
        rep->error_writer(
            response, http::status::payload_too_large,
            "request body over " + std::to_string(rep->options.body_bytes) + " bytes");
      } else {
        rep->error_writer(response, http::status::bad_request,
                          "malformed HTTP request: " + ec.message());
      }
      response.keep_alive(false);
      response.prepare_payload();
      http::async_write(stream, response,
                        [self = shared_from_this()](boost::beast::error_code, size_t) {
                          boost::beast::error_code ignored;
                          self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                        });
    }

    // Whether `req` names a Host this server answers to; answers it if not.
    bool HostAllowed(const HttpRequest& req) {
      if (req.count(http::field::host) != 1) {
        rep->error_writer(response, http::status::bad_request,
                          "the request needs exactly one Host header");
        return false;
      }
      auto value = req[http::field::host];
      std::string_view host(value.data(), value.size());
      if (rep->hosts.Allows(host)) return true;
      if (req.method() == http::verb::get) {
        const std::string_view path = SplitTarget(req).path;
        for (const std::string& open : rep->options.any_host_paths) {
          if (path == open) return true;
        }
      }
      rep->error_writer(response, http::status::misdirected_request,
                        "Host '" + std::string(host.substr(0, 100)) +
                            "' is not a name this server answers to (a guard against DNS "
                            "rebinding): use its listen address or localhost with its port, or "
                            "add the name to its allowed hosts");
      return false;
    }

    Rep* rep;
    boost::beast::tcp_stream stream;
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    HttpResponse response;
  };
};

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address, Handler handler,
                                                        ErrorWriter error_writer, Options options) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("http address must be host:port, got '" + address + "'");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto rep = std::make_unique<Rep>();
  rep->handler = std::move(handler);
  rep->error_writer = std::move(error_writer);
  rep->options = std::move(options);
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("http host '" + host + "': " + ec.message());
  std::string port_text = address.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return Status::InvalidArgument("http port '" + port_text + "' is not a port number");
  }
  tcp::endpoint ep(ip, static_cast<unsigned short>(port));
  rep->acceptor.open(ep.protocol(), ec);
  if (!ec) rep->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) rep->acceptor.bind(ep, ec);
  if (!ec) rep->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on " + address + ": " + ec.message());
  // The bound port, so that a listen address with port 0 allows the one it got.
  const tcp::endpoint bound = rep->acceptor.local_endpoint(ec);
  if (ec) return Status::Unavailable("cannot listen on " + address + ": " + ec.message());
  WEITUO_ASSIGN_OR_RETURN(rep->hosts, AllowedHosts::Make(bound.address().to_string(), bound.port(),
                                                         rep->options.allowed_hosts));
  Rep* raw = rep.get();
  raw->Accept();
  rep->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(rep)));
}

HttpServer::HttpServer(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (rep_->stopped.exchange(true)) return;
  rep_->io.stop();
  if (rep_->thread.joinable()) rep_->thread.join();
  boost::system::error_code ec;
  rep_->acceptor.close(ec);
}

const AllowedHosts& HttpServer::allowed_hosts() const { return rep_->hosts; }

std::string HttpServer::address() const {
  boost::system::error_code ec;
  auto ep = rep_->acceptor.local_endpoint(ec);
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

HttpTarget SplitTarget(const HttpRequest& req) {
  std::string_view target(req.target().data(), req.target().size());
  size_t question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}

http::status HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return http::status::bad_request;
    case StatusCode::kPermissionDenied:
      return http::status::forbidden;
    case StatusCode::kNotFound:
      return http::status::not_found;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return http::status::conflict;
    case StatusCode::kUnavailable:
      return http::status::service_unavailable;
    default:
      return http::status::internal_server_error;
  }
}

bool TokenMatches(std::string_view given, const std::string& expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  }
  return diff == 0;
}

std::string_view BearerToken(const HttpRequest& req) {
  auto header = req[http::field::authorization];
  std::string_view value(header.data(), header.size());
  if (!value.starts_with("Bearer ")) return {};
  return value.substr(7);
}

StatusOr<std::string> ReadOrMakeToken(const std::string& path, const std::string& what) {
  auto file = ReadSmallFile(path, what + " file", kMaxConfigFileBytes);
  if (file.ok()) {
    std::string token = file->text.substr(0, file->text.find('\n'));
    if (Status s = CheckToken(token); !s.ok()) {
      return Status::InvalidArgument("the " + what + " in " + path + ": " + s.message() +
                                     " (delete the file to get a new one)");
    }
    if ((file->mode & 077) != 0) {
      return Status::PermissionDenied(path + " may be read by others; run chmod 600 " + path);
    }
    return token;
  }
  if (file.status().code() != StatusCode::kNotFound) return file.status();
  std::error_code ec;
  std::random_device random;
  std::ostringstream hex;
  for (int i = 0; i < 8; ++i) hex << std::hex << std::setw(8) << std::setfill('0') << random();
  std::string token = hex.str();
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, (token + "\n").data(), token.size() + 1) < 0 || ::close(fd) != 0) {
    return Status::Internal("cannot write the " + what + " to " + path);
  }
  return token;
}

}  // namespace weituo
