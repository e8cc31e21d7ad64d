#include "weituo/common/socket_events.h"

#include <zmq.h>

#include <cstring>

namespace weituo {

std::optional<SocketEvent> NextSocketEvent(void* monitor_socket) {
  for (;;) {
    // Two frames: 2 bytes of event type and 4 of value, then the endpoint.
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, monitor_socket, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&frame);
      return std::nullopt;
    }
    SocketEvent event;
    bool complete = zmq_msg_size(&frame) >= 6;
    if (complete) {
      const char* data = static_cast<const char*>(zmq_msg_data(&frame));
      std::memcpy(&event.type, data, sizeof event.type);
      std::memcpy(&event.value, data + 2, sizeof event.value);
    }
    bool more = zmq_msg_more(&frame);
    zmq_msg_close(&frame);
    while (more) {
      zmq_msg_init(&frame);
      if (zmq_msg_recv(&frame, monitor_socket, 0) < 0)
        more = false;
      else
        more = zmq_msg_more(&frame);
      zmq_msg_close(&frame);
    }
    if (complete) return event;
  }
}

}  // namespace weituo
