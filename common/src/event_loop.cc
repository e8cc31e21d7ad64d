#include "weituo/common/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

#include "weituo/common/clock.h"

namespace weituo {

EventLoop::EventLoop() : wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wake_fd_ < 0) {
    std::fprintf(stderr, "EventLoop: eventfd failed: %s\n", std::strerror(errno));
    std::abort();
  }
}

EventLoop::~EventLoop() { ::close(wake_fd_); }

void EventLoop::CheckInLoop(const char* what) const {
  const std::thread::id owner = thread_.load();
  if (owner == std::thread::id() || owner == std::this_thread::get_id()) return;
  std::fprintf(stderr, "EventLoop::%s called off the loop's thread\n", what);
  std::abort();
}

void EventLoop::AddSocket(void* socket, Callback on_ready) {
  CheckInLoop("AddSocket");
  sources_.push_back(std::make_shared<Source>(Source{socket, -1, std::move(on_ready)}));
}

void EventLoop::AddFd(int fd, Callback on_ready) {
  CheckInLoop("AddFd");
  sources_.push_back(std::make_shared<Source>(Source{nullptr, fd, std::move(on_ready)}));
}

void EventLoop::RemoveSocket(void* socket) {
  CheckInLoop("RemoveSocket");
  std::erase_if(sources_, [&](const std::shared_ptr<Source>& s) {
    if (s->socket != socket) return false;
    s->removed = true;
    return true;
  });
}

void EventLoop::RemoveFd(int fd) {
  CheckInLoop("RemoveFd");
  std::erase_if(sources_, [&](const std::shared_ptr<Source>& s) {
    if (s->socket != nullptr || s->fd != fd) return false;
    s->removed = true;
    return true;
  });
}

EventLoop::TimerId EventLoop::ScheduleTimeout(int64_t after_ms, Callback fn) {
  CheckInLoop("ScheduleTimeout");
  const TimerId id = next_timer_++;
  auto at = timers_.emplace(MonotonicMs() + std::max<int64_t>(after_ms, 0), id);
  timer_fns_.emplace(id, std::make_pair(at, std::move(fn)));
  return id;
}

bool EventLoop::CancelTimeout(TimerId id) {
  CheckInLoop("CancelTimeout");
  auto it = timer_fns_.find(id);
  if (it == timer_fns_.end()) return false;
  timers_.erase(it->second.first);
  timer_fns_.erase(it);
  return true;
}

void EventLoop::RunInEventLoop(Callback fn) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(std::move(fn));
  }
  Wake();
}

void EventLoop::Wake() {
  const uint64_t one = 1;
  // Fails only when the counter is saturated: the loop is woken anyway.
  (void)!::write(wake_fd_, &one, sizeof one);
}

void EventLoop::SetTurnEnd(Callback fn) {
  CheckInLoop("SetTurnEnd");
  turn_end_ = std::move(fn);
}

void EventLoop::Stop() {
  stop_.store(true);
  Wake();
}

int64_t EventLoop::WaitMs() const {
  int64_t wait = std::min(max_wait_ms_, wait_at_most_ms_);
  if (!timers_.empty()) {
    wait = std::clamp<int64_t>(timers_.begin()->first - MonotonicMs(), 0, wait);
  }
  return wait;
}

Status EventLoop::Run() {
  const std::thread::id none;
  std::thread::id expected = none;
  if (!thread_.compare_exchange_strong(expected, std::this_thread::get_id())) {
    return Status::FailedPrecondition("the event loop is already running");
  }
  Status status = Status::Ok();
  while (!stop_.load()) {
    status = Turn(WaitMs());
    if (!status.ok()) break;
  }
  // Stopped: the next Run starts afresh. Calls posted meanwhile wait for
  // it, or are destroyed with the loop.
  stop_.store(false);
  thread_.store(none);
  return status;
}

Status EventLoop::Turn(int64_t wait_ms) {
  wait_at_most_ms_ = kNoLimit;
  std::vector<std::shared_ptr<Source>> polled = sources_;
  std::vector<zmq_pollitem_t> items;
  items.reserve(polled.size() + 1);
  items.push_back({nullptr, wake_fd_, ZMQ_POLLIN, 0});
  for (const auto& source : polled) {
    items.push_back({source->socket, source->fd, ZMQ_POLLIN, 0});
  }
  if (zmq_poll(items.data(), static_cast<int>(items.size()), static_cast<long>(wait_ms)) < 0) {
    if (zmq_errno() == EINTR) return Status::Ok();
    return Status::Internal(std::string("poll: ") + zmq_strerror(zmq_errno()));
  }
  if (items[0].revents & ZMQ_POLLIN) {
    uint64_t count = 0;
    (void)!::read(wake_fd_, &count, sizeof count);
  }
  for (size_t i = 0; i < polled.size(); ++i) {
    if ((items[i + 1].revents & ZMQ_POLLIN) && !polled[i]->removed) polled[i]->on_ready();
  }
  RunPosted();
  RunDueTimers();
  if (turn_end_) turn_end_();
  return Status::Ok();
}

void EventLoop::RunPosted() {
  std::vector<Callback> calls;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    calls.swap(posted_);
  }
  for (Callback& call : calls) call();
}

void EventLoop::RunDueTimers() {
  const int64_t now = MonotonicMs();
  // Only timers due when the turn began: one that schedules itself again
  // with no delay runs in the next turn, not in a loop here.
  std::vector<TimerId> due;
  for (auto it = timers_.begin(); it != timers_.end() && it->first <= now; ++it) {
    due.push_back(it->second);
  }
  for (TimerId id : due) {
    auto it = timer_fns_.find(id);
    if (it == timer_fns_.end()) continue;  // cancelled by an earlier one
    Callback fn = std::move(it->second.second);
    timers_.erase(it->second.first);
    timer_fns_.erase(it);
    fn();
  }
}

}  // namespace weituo
