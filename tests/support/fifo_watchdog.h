// A FIFO for tests of code that must refuse one without opening it to read.
// Code that does open it to read blocks until a writer comes (the bug that
// hung start-up); the watchdog comes as that writer after `after`, so such a
// test fails on its assertions instead of hanging. Header-only, for unit and
// integration tests alike.
//
// Threading: the watchdog runs on its own thread from construction to
// destruction; path() may be used from any thread.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

namespace weituo::testing {

class FifoWatchdog {
 public:
  explicit FifoWatchdog(std::string path,
                        std::chrono::milliseconds after = std::chrono::milliseconds(2000))
      : path_(std::move(path)) {
    std::remove(path_.c_str());
    if (::mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + path_);
    thread_ = std::thread([this, after] {
      const auto start = std::chrono::steady_clock::now();
      while (!stop_.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (std::chrono::steady_clock::now() - start < after) continue;
        // Succeeds only while a reader has the FIFO open: it then reads an
        // empty file and goes on.
        int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
      }
    });
  }
  ~FifoWatchdog() {
    stop_.store(true);
    thread_.join();
    std::remove(path_.c_str());
  }
  FifoWatchdog(const FifoWatchdog&) = delete;
  FifoWatchdog& operator=(const FifoWatchdog&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace weituo::testing
