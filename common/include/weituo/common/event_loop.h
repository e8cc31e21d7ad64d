#pragma once

// One thread's event loop: ZeroMQ sockets and plain file descriptors to read,
// timers, and calls posted from other threads, which wake it at once through
// an eventfd. The broker's and the agent's I/O threads both run on it.
//
// The model is fbzmq's ZmqEventLoop (addSocket, scheduleTimeout,
// runInEventLoop, isInEventLoop). One turn is:
//
//   poll (until a source is ready, the next timer is due, or a wake)
//   -> each ready source's callback, in the order they were added
//   -> every call posted since the last turn, in the order posted
//   -> every timer now due, earliest first
//   -> the turn's end (SetTurnEnd), where a user commits and sends.
//
// Threading: the loop belongs to the thread that calls Run. Everything but
// RunInEventLoop, Wake, Stop and IsInEventLoop is for that thread (or for
// any thread before Run starts); a call from elsewhere aborts with a
// message, so a broken threading claim is found by the first test that
// makes it, not by a rare race. Wake and Stop are async-signal-safe.

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "weituo/common/status.h"

namespace weituo {

class EventLoop {
 public:
  using Callback = std::function<void()>;
  using TimerId = uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // `socket` (a ZeroMQ socket's handle) or `fd` is polled for input;
  // `on_ready` runs in each turn in which it is readable. A ZeroMQ socket is
  // edge-triggered underneath: the callback must drain what it wants now
  // and call WaitAtMostMs(0) if it left messages behind.
  void AddSocket(void* socket, Callback on_ready);
  void AddFd(int fd, Callback on_ready);
  // Stops polling it; safe from inside any callback.
  void RemoveSocket(void* socket);
  void RemoveFd(int fd);

  // Runs `fn` once, in the first turn at least `after_ms` from now.
  TimerId ScheduleTimeout(int64_t after_ms, Callback fn);
  // False if it already ran or was cancelled.
  bool CancelTimeout(TimerId id);

  // From any thread: runs `fn` on the loop's thread in its next turn, and
  // wakes it now. A call posted while the loop is not running waits for the
  // next Run, or is destroyed with the loop (a std::promise it holds is
  // then broken, so whoever waits on it learns the loop is gone).
  void RunInEventLoop(Callback fn);
  // From any thread, or a signal handler: the loop's next turn starts now.
  void Wake();
  // This turn's work left something to do: the next poll waits no longer
  // than `ms` (0: not at all).
  void WaitAtMostMs(int64_t ms) { wait_at_most_ms_ = std::min(wait_at_most_ms_, ms); }
  bool IsInEventLoop() const { return std::this_thread::get_id() == thread_.load(); }

  // Runs at the end of every turn.
  void SetTurnEnd(Callback fn);
  // The longest a poll waits with nothing due (a safety net: every wait has
  // a cause, this bounds the cost of one that was missed).
  void SetMaxWaitMs(int64_t ms) { max_wait_ms_ = ms; }

  // Turns until Stop, then can be run again. Internal if polling fails
  // (never for EINTR).
  Status Run();
  // From any thread, or a signal handler. Before Run, Run returns at once.
  void Stop();
  bool stopping() const { return stop_.load(); }

 private:
  struct Source {
    void* socket = nullptr;
    int fd = -1;
    Callback on_ready;
    bool removed = false;  // by a callback of the turn that polled it
  };
  void CheckInLoop(const char* what) const;
  // Turns the loop through once, waiting no longer than `wait_ms`.
  Status Turn(int64_t wait_ms);
  void RunPosted();
  void RunDueTimers();
  int64_t WaitMs() const;

  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> thread_{};
  std::vector<std::shared_ptr<Source>> sources_;
  std::multimap<int64_t, TimerId> timers_;  // due (monotonic ms) -> id
  std::map<TimerId, std::pair<std::multimap<int64_t, TimerId>::iterator, Callback>> timer_fns_;
  TimerId next_timer_ = 1;
  Callback turn_end_;
  int64_t max_wait_ms_ = 1000;
  int64_t wait_at_most_ms_ = kNoLimit;
  static constexpr int64_t kNoLimit = INT64_MAX;

  std::mutex posted_mu_;
  std::vector<Callback> posted_;  // guarded by posted_mu_
};

}  // namespace weituo
