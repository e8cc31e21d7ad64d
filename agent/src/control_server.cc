#include "control_server.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "peer_credentials.h"

namespace weituo::agent {

namespace {

constexpr char kIpcScheme[] = "ipc://";

bool IsIpc(const std::string& endpoint) { return endpoint.rfind(kIpcScheme, 0) == 0; }

// The account name of `uid`, or the uid as text if it has none.
std::string AccountName(uid_t uid) {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

}  // namespace

StatusOr<std::unique_ptr<ControlServer>> ControlServer::Bind(zmq::context_t& context,
                                                             const std::string& endpoint,
                                                             uid_t owner) {
  auto socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::rep);
  socket->set(zmq::sockopt::linger, 0);
  socket->set(zmq::sockopt::maxmsgsize, int64_t{16} << 20);
  try {
    socket->bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind control endpoint " + endpoint + ": " + e.what());
  }
  // The file's mode is a first fence; the uid check on every request is
  // the one that holds when the mode cannot (a folder made wider later).
  if (IsIpc(endpoint) && ::chmod(endpoint.substr(6).c_str(), 0600) != 0) {
    return Status::Unavailable("cannot keep the control socket " + endpoint.substr(6) +
                               " to its owner (chmod 0600): " + std::strerror(errno));
  }
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(socket), endpoint, owner));
}

ControlServer::ControlServer(std::unique_ptr<zmq::socket_t> socket, std::string endpoint,
                             uid_t owner)
    : socket_(std::move(socket)),
      endpoint_(std::move(endpoint)),
      owner_(owner),
      owner_name_(AccountName(owner)) {}

ControlServer::~ControlServer() { Close(); }

void* ControlServer::handle() { return socket_->handle(); }

void ControlServer::Close() {
  if (socket_) socket_->close();
}

void ControlServer::Drain(const Handler& handler, const std::function<void()>& refused) {
  for (;;) {
    zmq::message_t msg;
    zmq::recv_result_t got;
    try {
      got = socket_->recv(msg, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t&) {
      return;
    }
    if (!got) return;
    weituo::v1::ControlRequest request;
    weituo::v1::ControlReply reply;
    if (Status who = Admit(msg); !who.ok()) {
      refused();
      reply.set_error(who.ToString());
    } else if (!request.ParseFromArray(msg.data(), static_cast<int>(msg.size()))) {
      reply.set_error("INVALID_ARGUMENT: not a weituo.v1.ControlRequest");
    } else {
      reply = handler(request);
    }
    std::string bytes = reply.SerializeAsString();
    try {
      (void)socket_->send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
    }
  }
}

Status ControlServer::Admit(const zmq::message_t& request) {
  // Only a unix socket tells who connected; on any other transport the
  // Peer-Address is a network address and proves nothing.
  std::optional<PeerCredentials> peer;
  if (IsIpc(endpoint_)) peer = PeerCredentialsOf(request);
  if (peer && peer->uid == owner_) return Status::Ok();
  LogFirstRefusal(peer ? std::optional<uid_t>(peer->uid) : std::nullopt, peer ? peer->pid : 0);
  const std::string how =
      "run the command as " + owner_name_ + " (runuser -u " + owner_name_ + " -- weituo-agent ...)";
  if (!peer) {
    return Status::PermissionDenied(
        "this agent cannot tell which account is asking on " + endpoint_ +
        ", so it answers nobody there: use an ipc:// control path (the default, "
        "<data_dir>/control.sock) and " +
        how);
  }
  return Status::PermissionDenied("this agent answers only its own account, " + owner_name_ +
                                  " (uid " + std::to_string(owner_) + "), not uid " +
                                  std::to_string(peer->uid) + ": " + how);
}

void ControlServer::LogFirstRefusal(std::optional<uid_t> uid, pid_t pid) {
  if (logged_.count(uid) || logged_.size() >= kMaxLoggedUids) return;
  logged_.insert(uid);
  if (uid) {
    spdlog::warn(
        "msg=\"control request refused: another account\" uid={} pid={} agent_uid={} "
        "note=\"logged once per uid; every refusal is counted in control_refused_uid\"",
        *uid, pid, owner_);
  } else {
    spdlog::warn(
        "msg=\"control request refused: the caller's account is unknown\" endpoint={} "
        "note=\"logged once; every refusal is counted in control_refused_uid\"",
        endpoint_);
  }
}

}  // namespace weituo::agent
