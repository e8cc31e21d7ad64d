#include "weituo/common/http_client.h"

#include <strings.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace weituo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

std::string HttpAnswer::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (field.size() == name.size() && ::strncasecmp(field.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return "";
}

std::string HttpAnswer::Text() const {
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  for (const auto& [field, value] : headers) text += field + ": " + value + "\r\n";
  return text + "\r\n" + body;
}

StatusOr<HttpAnswer> CallHttp(const HttpCall& call) {
  const std::string url =
      call.url.empty() ? "http://" + call.host + ":" + call.port + call.target : call.url;
  const std::string no_answer = "no answer within " + std::to_string(call.timeout.count()) + " ms";
  asio::io_context io;
  beast::tcp_stream stream(io);
  asio::ip::tcp::resolver resolver(io);
  http::request<http::string_body> req{
      call.method == HttpMethod::kPost ? http::verb::post : http::verb::get, call.target, 11};
  req.set(http::field::host, call.host + ":" + call.port);
  if (!call.content_type.empty()) req.set(http::field::content_type, call.content_type);
  if (!call.bearer_token.empty()) {
    req.set(http::field::authorization, "Bearer " + call.bearer_token);
  }
  for (const auto& [field, value] : call.headers) req.set(field, value);
  req.body() = call.body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(call.max_body_bytes);
  beast::error_code failure;
  const char* step = "connect";
  stream.expires_after(call.timeout);
  resolver.async_resolve(call.host, call.port, [&](auto ec, auto results) {
    if (ec) {
      failure = ec;
      step = "resolve";
      return;
    }
    stream.async_connect(results, [&](auto ec, auto) {
      if (ec) {
        failure = ec;
        return;
      }
      step = "send";
      http::async_write(stream, req, [&](auto ec, size_t) {
        if (ec) {
          failure = ec;
          return;
        }
        // The header first, then the body: Beast (1.74) checks a
        // Content-Length against the body limit while it parses the header
        // and skips the check when a read parses header and body at once.
        step = "read the answer";
        http::async_read_header(stream, buffer, parser, [&](auto ec, size_t) {
          if (ec) {
            failure = ec;
            return;
          }
          http::async_read(stream, buffer, parser, [&](auto ec, size_t) { failure = ec; });
        });
      });
    });
  });
  // The resolver is not covered by the stream's timer.
  io.run_for(call.timeout + std::chrono::milliseconds(100));
  if (!io.stopped()) return Status::Unavailable(no_answer);
  if (failure == beast::error::timeout) return Status::Unavailable(no_answer);
  if (failure) {
    return Status::Unavailable(std::string("cannot ") + step + " " + url + ": " +
                               failure.message());
  }
  http::response<http::string_body> res = parser.release();
  HttpAnswer answer;
  answer.status = static_cast<int>(res.result_int());
  answer.reason = std::string(res.reason());
  for (const auto& field : res) {
    answer.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  answer.body = std::move(res.body());
  return answer;
}

}  // namespace weituo
