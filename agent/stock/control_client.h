// A client of an agent's local control endpoint, used by the court's command
// line (`weituo-agent submit|inbox|accept|...`) and by scripts. One request,
// one reply, with a timeout.
//
// Threading: one ControlClient per thread.
#pragma once

#include <memory>
#include <string>

#include "weituo/common/status.h"
#include "weituo/v1/control.pb.h"

namespace weituo::agent {

class ControlClient {
 public:
  explicit ControlClient(std::string endpoint);
  ~ControlClient();

  // UNAVAILABLE if the agent does not answer within timeout_ms (not
  // running, or busy); PERMISSION_DENIED at once if this account may not
  // open the agent's ipc socket. The reply may itself carry ok=false and an
  // error (PERMISSION_DENIED from an agent that answers another account).
  StatusOr<weituo::v1::ControlReply> Call(const weituo::v1::ControlRequest& request,
                                          int timeout_ms = 5000);

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace weituo::agent
