// A network namespace of the test's own, joined to the root namespace by
// one veth pair, to cut a process off from the others and join it again: a
// network partition on this machine only. The namespace has its loopback up
// and one address on its veth end (`inner`); the root end has the other
// address of the same /30 (`outer`). Nothing is routed further: traffic
// goes only between the two ends (and to each side's own loopback).
//
// Made with iproute2's /usr/sbin/ip; needs CAP_NET_ADMIN (root, as
// deploy/test.sh runs the tests). Threading: one thread creates and
// destroys it; Partition/Heal/RunInside from any thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace weituo::testing {

class Netns {
 public:
  static constexpr const char* kIp = "/usr/sbin/ip";
  // Namespaces are named kPrefix + "<pid>-<tag>", veth ends "wp<pid><tag>r"
  // and "...n": a later run deletes those of a process no longer alive.
  static constexpr const char* kPrefix = "weituo-p-";

  // Deletes stale namespaces and veths of dead test processes, then creates
  // the namespace and its veth pair, both ends up. `tag` is one lowercase
  // letter or digit telling apart the namespaces of one test process.
  // Throws std::runtime_error saying what is missing if `ip` is not there
  // or a step fails (no CAP_NET_ADMIN): the test fails, it does not skip.
  explicit Netns(char tag);
  // Deletes the namespace (and so the veth pair).
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const { return name_; }
  // The namespace's address (on its veth end), and the root end's.
  const std::string& inner() const { return inner_; }
  const std::string& outer() const { return outer_; }
  // {kIp, "netns", "exec", name()}: put before a command line to run it
  // inside (`ip netns exec` execs it, so the child's pid is the command's).
  std::vector<std::string> ExecPrefix() const;

  // Takes the root end down: nothing passes either way, silently (each
  // side's own addresses still answer locally). Throws if `ip` fails.
  void Partition();
  // Takes the root end up again.
  void Heal();

  // Runs `fn` on a thread of its own that has joined the namespace, and
  // waits for it: sockets it makes are the namespace's, and so are the
  // threads it starts (a ZeroMQ context's I/O threads, made at its first
  // socket). Throws std::runtime_error if the namespace cannot be joined.
  void RunInside(const std::function<void()>& fn) const;

 private:
  // Runs `ip args...`; throws with its output if it fails.
  static void Ip(const std::vector<std::string>& args);
  static void DeleteStale();

  std::string name_, outer_dev_, inner_dev_, outer_, inner_;
};

}  // namespace weituo::testing
