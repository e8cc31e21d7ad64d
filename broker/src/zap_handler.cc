#include "zap_handler.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <vector>

#include "weituo/common/clock.h"
#include "weituo/common/logging.h"

namespace weituo::broker {
namespace {

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
constexpr int kPollMs = 100;

// ZAP metadata is ZMTP's property list: a one-byte name length, the name,
// a four-byte big-endian value length, the value.
std::string Property(const std::string& name, const std::string& value) {
  std::string out;
  out.push_back(static_cast<char>(name.size()));
  out += name;
  uint32_t n = static_cast<uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  out += value;
  return out;
}

}  // namespace

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

Status ZapHandler::Start() {
  socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::rep);
  socket_->set(zmq::sockopt::linger, 0);
  try {
    socket_->bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(std::string("cannot bind the ZAP handler: ") + e.what());
  }
  thread_ = std::thread([this] { ThreadMain(); });
  return Status::Ok();
}

void ZapHandler::SetKeys(const CourtDirectory& directory) {
  auto keys = std::make_shared<std::map<std::string, std::string>>();
  for (const CourtEntry& entry : directory.entries()) {
    for (const std::string& key : entry.curve_keys) (*keys)[key] = entry.id;
  }
  std::lock_guard<std::mutex> lock(mu_);
  court_by_key_ = std::move(keys);
}

ZapHandler::Counts ZapHandler::counts() const {
  return {accepted_.load(), unknown_key_.load(), malformed_.load()};
}

void ZapHandler::ThreadMain() {
  std::vector<zmq::message_t> request;
  while (!stop_) {
    zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 1, std::chrono::milliseconds(kPollMs));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      request.clear();
      bool more = true;
      while (more) {
        zmq::message_t part;
        (void)socket_->recv(part, zmq::recv_flags::none);
        more = part.more();
        request.push_back(std::move(part));
      }
      Answer(request);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      if (e.num() == ETERM) break;
      spdlog::error("msg=\"ZAP handler failed\" error=\"{}\"", e.what());
      break;
    }
  }
  socket_->close();
}

void ZapHandler::Answer(std::vector<zmq::message_t>& request) {
  // Request frames: version, request id, domain, address, routing id,
  // mechanism, then the mechanism's credentials (CURVE: the client's
  // 32-byte long-term public key).
  static LogThrottle throttle(20);
  std::string status = "400", reason, user, metadata, key = "-";
  std::string peer = request.size() > 3 ? request[3].to_string() : "";
  if (request.size() != 7 || request[0].to_string_view() != "1.0" ||
      request[2].to_string_view() != kDomain || request[5].to_string_view() != "CURVE" ||
      request[6].size() != 32) {
    ++malformed_;
    reason = "only CURVE handshakes in domain weituo are accepted";
  } else {
    char z85[41];
    zmq_z85_encode(z85, static_cast<const uint8_t*>(request[6].data()), 32);
    key = z85;
    std::shared_ptr<const std::map<std::string, std::string>> keys;
    {
      std::lock_guard<std::mutex> lock(mu_);
      keys = court_by_key_;
    }
    if (auto it = keys->find(key); it != keys->end()) {
      status = "200";
      user = it->second;
      metadata = Property(kKeyProperty, key);
    } else {
      reason = "key not in the court directory";
    }
  }
  if (status == "200") {
    ++accepted_;
    spdlog::debug("msg=\"handshake accepted\" court={} peer={}", user, LogValue(peer));
  } else {
    if (!reason.starts_with("only")) ++unknown_key_;
    uint64_t suppressed = 0;
    if (throttle.Allow(MonotonicMs(), &suppressed)) {
      spdlog::warn("msg=\"handshake refused\" reason=\"{}\" key=\"{}\" peer={} suppressed={}",
                   reason, key, LogValue(peer), suppressed);
    }
  }
  std::string request_id = request.size() > 1 ? request[1].to_string() : "";
  socket_->send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
  socket_->send(zmq::buffer(request_id), zmq::send_flags::sndmore);
  socket_->send(zmq::buffer(status), zmq::send_flags::sndmore);
  socket_->send(zmq::buffer(status == "200" ? std::string("OK") : reason),
                zmq::send_flags::sndmore);
  socket_->send(zmq::buffer(user), zmq::send_flags::sndmore);
  socket_->send(zmq::buffer(metadata), zmq::send_flags::none);
}

}  // namespace weituo::broker
