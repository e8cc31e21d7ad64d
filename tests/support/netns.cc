#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness.h"

namespace weituo::testing {

namespace {

// The pid in a name made by this class ("<prefix><pid>-<tag>" or
// "wp<pid><tag>r"), or -1.
long PidIn(const std::string& s, size_t from) {
  size_t end = from;
  while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
  if (end == from || end - from > 9) return -1;
  return std::stol(s.substr(from, end - from));
}

bool Alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH; }

// 10.213.0.0/16 cut in /30s: the block for this pid, or the next one no
// address of this machine is in.
void PickAddresses(std::string& outer, std::string& inner) {
  const std::string in_use = RunCommand({Netns::kIp, "-o", "-4", "addr", "show"}).out;
  const unsigned first = static_cast<unsigned>(::getpid()) % 16384;
  for (unsigned k = 0; k < 16384; ++k) {
    const unsigned block = (first + k) % 16384;
    const std::string base = "10.213." + std::to_string(block / 64) + ".";
    outer = base + std::to_string((block % 64) * 4 + 1);
    inner = base + std::to_string((block % 64) * 4 + 2);
    if (in_use.find("inet " + outer + "/") == std::string::npos &&
        in_use.find("inet " + inner + "/") == std::string::npos) {
      return;
    }
  }
  throw std::runtime_error("no free /30 in 10.213.0.0/16 for a test network namespace");
}

}  // namespace

void Netns::Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kIp};
  argv.insert(argv.end(), args.begin(), args.end());
  const int code = RunCommand(argv).exit_code;
  if (code != 0) {
    std::string line;
    for (const std::string& a : argv) line += (line.empty() ? "" : " ") + a;
    throw std::runtime_error("`" + line + "` failed (exit " + std::to_string(code) +
                             "; its error is above). The partition test makes network "
                             "namespaces and veth pairs: it must run as root, with "
                             "CAP_NET_ADMIN (deploy/test.sh runs the tests as root)");
  }
}

void Netns::DeleteStale() {
  std::istringstream names(RunCommand({kIp, "netns", "list"}).out);
  const std::string prefix = kPrefix;
  for (std::string line; std::getline(names, line);) {
    const std::string name = line.substr(0, line.find(' '));
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = PidIn(name, prefix.size());
    if (pid > 0 && !Alive(pid)) (void)RunCommand({kIp, "netns", "delete", name});
  }
  // A root end whose namespace went first (a crash between the two steps).
  std::istringstream links(RunCommand({kIp, "-o", "link", "show"}).out);
  for (std::string line; std::getline(links, line);) {
    const size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    std::string dev = line.substr(colon + 2);
    dev = dev.substr(0, dev.find_first_of("@:"));
    if (dev.rfind("wp", 0) != 0 || dev.size() < 5 || dev.back() != 'r') continue;
    const long pid = PidIn(dev, 2);
    if (pid > 0 && !Alive(pid)) (void)RunCommand({kIp, "link", "delete", dev});
  }
}

Netns::Netns(char tag) {
  if (::access(kIp, X_OK) != 0) {
    throw std::runtime_error(std::string("no executable ") + kIp +
                             ": the partition test needs iproute2 (deploy/install-deps.sh "
                             "installs it) and root with CAP_NET_ADMIN");
  }
  const std::string pid = std::to_string(::getpid());
  name_ = kPrefix + pid + "-" + tag;
  outer_dev_ = "wp" + pid + tag + "r";
  inner_dev_ = "wp" + pid + tag + "n";
  DeleteStale();
  PickAddresses(outer_, inner_);
  Ip({"netns", "add", name_});
  try {
    Ip({"link", "add", outer_dev_, "type", "veth", "peer", "name", inner_dev_});
    Ip({"link", "set", inner_dev_, "netns", name_});
    Ip({"addr", "add", outer_ + "/30", "dev", outer_dev_});
    Ip({"link", "set", outer_dev_, "up"});
    Ip({"-n", name_, "link", "set", "lo", "up"});
    Ip({"-n", name_, "addr", "add", inner_ + "/30", "dev", inner_dev_});
    Ip({"-n", name_, "link", "set", inner_dev_, "up"});
  } catch (...) {
    (void)RunCommand({kIp, "link", "delete", outer_dev_});
    (void)RunCommand({kIp, "netns", "delete", name_});
    throw;
  }
}

Netns::~Netns() {
  // The veth pair goes with the namespace once nothing is left in it; the
  // root end is deleted now in case something still is.
  (void)RunCommand({kIp, "link", "delete", outer_dev_});
  (void)RunCommand({kIp, "netns", "delete", name_});
}

std::vector<std::string> Netns::ExecPrefix() const { return {kIp, "netns", "exec", name_}; }

void Netns::Partition() { Ip({"link", "set", outer_dev_, "down"}); }

void Netns::Heal() { Ip({"link", "set", outer_dev_, "up"}); }

void Netns::RunInside(const std::function<void()>& fn) const {
  std::exception_ptr failed;
  std::thread inside([&] {
    try {
      const std::string path = "/run/netns/" + name_;
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
        const std::string why = std::strerror(errno);
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("cannot join the network namespace " + path + ": " + why);
      }
      ::close(fd);
      fn();
    } catch (...) {
      failed = std::current_exception();
    }
  });
  inside.join();
  if (failed) std::rethrow_exception(failed);
}

}  // namespace weituo::testing
