#include "weituo/common/socket_events.h"

#include <chrono>
#include <thread>
#include <zmq.hpp>

#include <gtest/gtest.h>

namespace weituo {
namespace {

TEST(SocketEventsTest, ReportsAConnectionAndThenNothing) {
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:*");
  ASSERT_EQ(zmq_socket_monitor(router.handle(), "inproc://events-test", ZMQ_EVENT_ACCEPTED), 0);
  zmq::socket_t monitor(ctx, zmq::socket_type::pair);
  monitor.set(zmq::sockopt::linger, 0);
  monitor.connect("inproc://events-test");
  EXPECT_FALSE(NextSocketEvent(monitor.handle()).has_value());

  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(router.get(zmq::sockopt::last_endpoint));
  std::optional<SocketEvent> event;
  for (int i = 0; i < 200 && !event; ++i) {
    event = NextSocketEvent(monitor.handle());
    if (!event) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->type, ZMQ_EVENT_ACCEPTED);
  EXPECT_GT(event->value, 2);  // the accepted socket's fd
  EXPECT_FALSE(NextSocketEvent(monitor.handle()).has_value());
  zmq_socket_monitor(router.handle(), nullptr, 0);
}

}  // namespace
}  // namespace weituo
