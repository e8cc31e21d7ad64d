// The agent's control endpoint: a ZeroMQ REP socket on an ipc:// path
// through which the court's clerk (`weituo-agent submit|inbox|accept|...`)
// and case system talk to their running agent, one ControlRequest, one
// ControlReply. Whoever reaches it speaks for the court, so it answers only
// the account the agent runs as (the uid the kernel reported for the
// connection, see peer_credentials.h). A request from any other account,
// root included unless the agent runs as root, is not parsed, let alone
// done: it gets a PERMISSION_DENIED reply it can read, is counted by the
// caller's callback, and is logged once per uid.
//
// Threading: Bind on any thread; after that one thread at a time (the
// agent's I/O thread) polls handle() and calls Drain and Close.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <zmq.hpp>

#include "weituo/common/status.h"
#include "weituo/v1/control.pb.h"

namespace weituo::agent {

class ControlServer {
 public:
  using Handler = std::function<weituo::v1::ControlReply(const weituo::v1::ControlRequest&)>;

  // Binds `endpoint` and keeps an ipc socket file to its owner (mode
  // 0600). Only `owner` (a uid) is answered. UNAVAILABLE if the endpoint
  // cannot be bound or its socket file cannot be made the owner's alone.
  static StatusOr<std::unique_ptr<ControlServer>> Bind(zmq::context_t& context,
                                                       const std::string& endpoint, uid_t owner);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // The libzmq socket, for zmq_poll.
  void* handle();
  // Answers every request waiting, without blocking: the owner's with
  // `handler`, anyone else's with a refusal, calling `refused` once for it.
  void Drain(const Handler& handler, const std::function<void()>& refused);
  void Close();

 private:
  ControlServer(std::unique_ptr<zmq::socket_t> socket, std::string endpoint, uid_t owner);
  // OK if `request` came from the owner; else PERMISSION_DENIED saying who
  // may ask and how.
  Status Admit(const zmq::message_t& request);
  // Logs the first refusal of each uid (nullopt: a caller of unknown
  // account); at most kMaxLoggedUids of them.
  void LogFirstRefusal(std::optional<uid_t> uid, pid_t pid);

  static constexpr size_t kMaxLoggedUids = 1024;
  std::unique_ptr<zmq::socket_t> socket_;
  const std::string endpoint_;
  const uid_t owner_;
  const std::string owner_name_;  // the owner's account name, or its uid
  std::set<std::optional<uid_t>> logged_;
};

}  // namespace weituo::agent
