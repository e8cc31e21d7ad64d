#include "control_client.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>
#include <zmq.hpp>

namespace weituo::agent {

struct ControlClient::Rep {
  std::string endpoint;
  zmq::context_t context{1};
};

ControlClient::ControlClient(std::string endpoint) : rep_(std::make_unique<Rep>()) {
  rep_->endpoint = std::move(endpoint);
}

ControlClient::~ControlClient() = default;

StatusOr<weituo::v1::ControlReply> ControlClient::Call(const weituo::v1::ControlRequest& request,
                                                       int timeout_ms) {
  // An ipc endpoint with no socket file has no agent behind it, and one this
  // account may not open answers it never: say so now rather than after
  // the timeout.
  const std::string& ep = rep_->endpoint;
  if (ep.rfind("ipc://", 0) == 0) {
    const std::string path = ep.substr(6);
    std::error_code ec;
    const bool there = std::filesystem::exists(path, ec);
    if (ec == std::errc::permission_denied || (there && ::access(path.c_str(), W_OK) != 0)) {
      return Status::PermissionDenied("this account may not reach the control socket " + path +
                                      ": run the command as the account the agent runs as "
                                      "(runuser -u weituo-<court> -- weituo-agent ...)");
    }
    if (!there) {
      return Status::Unavailable("no agent at " + ep + " (is `weituo-agent run` running?)");
    }
  }
  // A fresh REQ per call: a timed-out REQ cannot be reused.
  zmq::socket_t socket(rep_->context, zmq::socket_type::req);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::rcvtimeo, timeout_ms);
  socket.set(zmq::sockopt::sndtimeo, timeout_ms);
  try {
    socket.connect(rep_->endpoint);
    std::string bytes = request.SerializeAsString();
    if (!socket.send(zmq::buffer(bytes), zmq::send_flags::none)) {
      return Status::Unavailable("agent at " + rep_->endpoint + " does not accept requests");
    }
    zmq::message_t reply;
    if (!socket.recv(reply, zmq::recv_flags::none)) {
      return Status::Unavailable("no answer from the agent at " + rep_->endpoint +
                                 " (is `weituo-agent run` running?)");
    }
    weituo::v1::ControlReply parsed;
    if (!parsed.ParseFromArray(reply.data(), static_cast<int>(reply.size()))) {
      return Status::Internal("the agent's reply is not a ControlReply");
    }
    return parsed;
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("control endpoint " + rep_->endpoint + ": " + e.what());
  }
}

}  // namespace weituo::agent
