// Events of a ZeroMQ socket monitor (zmq_socket_monitor): connections
// accepted and closed, handshakes that succeeded or failed. Takes the raw
// libzmq handle so no ZeroMQ type crosses into the callers' headers.
// Threading: call from the thread that owns the monitor's PAIR socket.
#pragma once

#include <cstdint>
#include <optional>

namespace weituo {

struct SocketEvent {
  uint16_t type = 0;  // ZMQ_EVENT_*
  int32_t value = 0;  // the event's value: an fd, an errno, a ZAP status code
};

// The next event waiting on the monitor's PAIR socket (a libzmq socket
// handle), or nullopt if none is waiting. Never blocks.
std::optional<SocketEvent> NextSocketEvent(void* monitor_socket);

}  // namespace weituo
