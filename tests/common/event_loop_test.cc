#include "weituo/common/event_loop.h"

#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include <gtest/gtest.h>

namespace weituo {
namespace {

// A loop on its own thread, stopped and joined by the destructor.
class RunningLoop {
 public:
  explicit RunningLoop(EventLoop& loop) : loop_(loop) {
    thread_ = std::thread([this] { status_ = loop_.Run(); });
  }
  ~RunningLoop() { (void)Join(); }
  Status Join() {
    if (thread_.joinable()) {
      loop_.Stop();
      thread_.join();
    }
    return status_;
  }

 private:
  EventLoop& loop_;
  std::thread thread_;
  Status status_;
};

TEST(EventLoopTest, APostedCallWakesAnIdleLoopAtOnce) {
  EventLoop loop;
  loop.SetMaxWaitMs(60000);  // without a wake, the call would wait a minute
  RunningLoop running(loop);
  std::promise<bool> ran;
  const auto start = std::chrono::steady_clock::now();
  loop.RunInEventLoop([&] { ran.set_value(loop.IsInEventLoop()); });
  std::future<bool> done = ran.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(done.get());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_FALSE(loop.IsInEventLoop());
}

TEST(EventLoopTest, StopFromAnotherThreadEndsRunAtOnce) {
  EventLoop loop;
  loop.SetMaxWaitMs(60000);
  std::promise<void> started;
  loop.ScheduleTimeout(0, [&] { started.set_value(); });
  RunningLoop running(loop);
  started.get_future().wait();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(running.Join().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(EventLoopTest, TimersRunInDueOrderAndCancelledOnesNever) {
  EventLoop loop;
  std::vector<std::string> ran;
  loop.ScheduleTimeout(30, [&] { ran.push_back("30"); });
  loop.ScheduleTimeout(10, [&] { ran.push_back("10"); });
  EventLoop::TimerId cancelled = loop.ScheduleTimeout(20, [&] { ran.push_back("20"); });
  loop.ScheduleTimeout(10, [&] { ran.push_back("10 again"); });
  loop.ScheduleTimeout(40, [&] { loop.Stop(); });
  EXPECT_TRUE(loop.CancelTimeout(cancelled));
  EXPECT_FALSE(loop.CancelTimeout(cancelled));
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(ran, (std::vector<std::string>{"10", "10 again", "30"}));
}

TEST(EventLoopTest, ATimerThatReschedulesItselfRunsOncePerTurn) {
  EventLoop loop;
  int turns = 0;
  int runs = 0;
  std::function<void()> again = [&] {
    ++runs;
    loop.ScheduleTimeout(0, again);
  };
  loop.ScheduleTimeout(0, again);
  loop.SetTurnEnd([&] {
    if (++turns == 5) loop.Stop();
  });
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_LE(runs, turns);
  EXPECT_GE(runs, 4);
}

TEST(EventLoopTest, ATurnReadsSocketsThenPostedCallsThenTimersThenEnds) {
  zmq::context_t context;
  zmq::socket_t in(context, zmq::socket_type::pair);
  zmq::socket_t out(context, zmq::socket_type::pair);
  in.bind("inproc://event-loop-order");
  out.connect("inproc://event-loop-order");
  EventLoop loop;
  std::vector<std::string> order;
  loop.AddSocket(in.handle(), [&] {
    zmq::message_t message;
    while (in.recv(message, zmq::recv_flags::dontwait)) order.push_back(message.to_string());
  });
  loop.SetTurnEnd([&] {
    if (!order.empty()) {
      order.push_back("end");
      loop.Stop();
    }
  });
  // All three are ready before the loop's first poll.
  out.send(zmq::str_buffer("socket"), zmq::send_flags::none);
  loop.ScheduleTimeout(0, [&] { order.push_back("timer"); });
  loop.RunInEventLoop([&] { order.push_back("posted"); });
  // The socket's readiness reaches the poll through ZeroMQ's own mailbox:
  // wait until it is visible so that the first turn sees all three.
  zmq::pollitem_t item{in.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, std::chrono::seconds(10)), 1);
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(order, (std::vector<std::string>{"socket", "posted", "timer", "end"}));
}

TEST(EventLoopTest, ASourceRemovedByACallbackIsNotCalledAgain) {
  zmq::context_t context;
  zmq::socket_t in(context, zmq::socket_type::pair);
  zmq::socket_t out(context, zmq::socket_type::pair);
  in.bind("inproc://event-loop-remove");
  out.connect("inproc://event-loop-remove");
  EventLoop loop;
  int calls = 0;
  loop.AddSocket(in.handle(), [&] {
    ++calls;
    loop.RemoveSocket(in.handle());  // leaves its message unread
    // A message sent now would make the socket readable again next turn.
    out.send(zmq::str_buffer("second"), zmq::send_flags::none);
    loop.ScheduleTimeout(50, [&] { loop.Stop(); });
  });
  out.send(zmq::str_buffer("first"), zmq::send_flags::none);
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopTest, AFileDescriptorIsPolledToo) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EventLoop loop;
  std::string got;
  loop.AddFd(fds[0], [&] {
    char c;
    if (::read(fds[0], &c, 1) == 1) got += c;
    loop.Stop();
  });
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(got, "x");
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(EventLoopTest, ACallPostedWhileStoppedRunsInTheNextRun) {
  EventLoop loop;
  loop.Stop();  // before Run: it returns at once
  ASSERT_TRUE(loop.Run().ok());
  bool ran = false;
  loop.RunInEventLoop([&] {
    ran = true;
    loop.Stop();
  });
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_TRUE(ran);
}

TEST(EventLoopTest, ACallNeverRunIsDestroyedWithTheLoopAndItsPromiseBroken) {
  std::future<int> answer;
  {
    EventLoop loop;
    std::promise<int> promise;
    answer = promise.get_future();
    loop.RunInEventLoop(
        [p = std::make_shared<std::promise<int>>(std::move(promise))] { p->set_value(1); });
  }
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_THROW(answer.get(), std::future_error);
}

TEST(EventLoopTest, RunTwiceAtOnceIsRefused) {
  EventLoop loop;
  std::promise<Status> second;
  loop.ScheduleTimeout(0, [&] {
    second.set_value(loop.Run());
    loop.Stop();
  });
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(second.get_future().get().code(), StatusCode::kFailedPrecondition);
}

TEST(EventLoopDeathTest, SchedulingFromAnotherThreadWhileRunningAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        EventLoop loop;
        std::promise<void> started;
        loop.ScheduleTimeout(0, [&] { started.set_value(); });
        std::thread runner([&] { (void)loop.Run(); });
        started.get_future().wait();
        loop.ScheduleTimeout(10, [] {});
        runner.join();
      },
      "off the loop's thread");
}

}  // namespace
}  // namespace weituo
