#include "redirector.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <zmq.hpp>

#include "weituo/common/wire.h"
#include "weituo/v1/wire.pb.h"

namespace weituo::group {

struct Redirector::Sockets {
  zmq::context_t context{1};
  zmq::socket_t router{context, zmq::socket_type::router};
};

Redirector::Redirector(std::string endpoint, std::string curve_secret_key, bool plaintext)
    : endpoint_(std::move(endpoint)),
      curve_secret_key_(std::move(curve_secret_key)),
      plaintext_(plaintext) {}

Redirector::~Redirector() { Stop(); }

Status Redirector::Start() {
  sockets_ = std::make_unique<Sockets>();
  try {
    sockets_->router.set(zmq::sockopt::linger, 0);
    if (!plaintext_) {
      sockets_->router.set(zmq::sockopt::curve_server, 1);
      sockets_->router.set(zmq::sockopt::curve_secretkey, curve_secret_key_);
    }
    sockets_->router.bind(endpoint_);
  } catch (const zmq::error_t& e) {
    sockets_.reset();
    return Status::Unavailable("cannot bind " + endpoint_ + " to redirect courts: " + e.what());
  }
  stop_.store(false);
  thread_ = std::thread([this] { ThreadMain(); });
  return Status::Ok();
}

void Redirector::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  // Closing the socket and ending the context releases the endpoint now.
  sockets_.reset();
}

void Redirector::SetLeader(std::string courts_endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  leader_ = std::move(courts_endpoint);
}

void Redirector::ThreadMain() {
  while (!stop_.load()) {
    zmq::pollitem_t items[] = {{sockets_->router.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    zmq::message_t id, frame;
    if (!sockets_->router.recv(id, zmq::recv_flags::dontwait)) continue;
    while (id.more() && sockets_->router.recv(frame, zmq::recv_flags::dontwait) && frame.more()) {
    }
    weituo::v1::Envelope reply;
    reply.set_protocol(kProtocolVersion);
    auto* error = reply.mutable_error();
    error->set_code(weituo::v1::NOT_LEADER);
    {
      std::lock_guard<std::mutex> lock(mu_);
      error->set_leader_endpoint(leader_);
      error->set_message(leader_.empty()
                             ? "this broker is not the group's leader, and no leader is known yet"
                             : "this broker is not the group's leader; it serves at " + leader_);
    }
    const std::string payload = SerializeEnvelope(reply);
    try {
      sockets_->router.send(id, zmq::send_flags::sndmore);
      sockets_->router.send(zmq::buffer(payload), zmq::send_flags::dontwait);
      redirected_.fetch_add(1);
    } catch (const zmq::error_t&) {
    }
  }
}

}  // namespace weituo::group
