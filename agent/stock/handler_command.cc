#include "handler_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "handler_output.h"
#include "weituo/common/clock.h"

extern char** environ;

namespace weituo::agent {

namespace {

// Handler commands running now, by process group, so that stopping the agent
// need not wait for them.
std::mutex g_children_mu;
std::set<pid_t> g_children;

void Track(pid_t pid, bool running) {
  std::lock_guard<std::mutex> lock(g_children_mu);
  if (running) {
    g_children.insert(pid);
  } else {
    g_children.erase(pid);
  }
}

struct Pipes {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  bool Open() {
    return ::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0 &&
           ::pipe2(err, O_CLOEXEC) == 0;
  }
  void CloseAll() {
    for (int* fd : {&in[0], &in[1], &out[0], &out[1], &err[0], &err[1]}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }
};

// Forks and execs `spec` with the pipes as its standard streams; the pid,
// or -1 with errno set.
pid_t Spawn(const CommandSpec& spec, Pipes& pipes) {
  // Everything the child needs is built before fork: after it, in a threaded
  // process, only async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (const auto& e : spec.env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const char* workdir = spec.workdir.empty() ? nullptr : spec.workdir.c_str();

  pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The agent ignores SIGPIPE; an ignored signal would stay ignored across
  // exec, so the handler gets the default back.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  ::setpgid(0, 0);
  ::dup2(pipes.in[0], 0);
  ::dup2(pipes.out[1], 1);
  ::dup2(pipes.err[1], 2);
  if (workdir && ::chdir(workdir) != 0) _exit(126);
  ::execvpe(argv[0], argv.data(), envp.data());
  const char msg[] = "cannot run the handler command\n";
  (void)!::write(2, msg, sizeof msg - 1);
  _exit(127);
}

// Writes the input and reads both outputs until the child closes them, the
// deadline passes (false) or the answer grows too big (false, too_big).
bool Pump(const CommandSpec& spec, int fds[3], int64_t deadline, CommandRun& run, bool& too_big) {
  size_t written = 0;
  if (spec.input.empty()) {
    ::close(fds[0]);
    fds[0] = -1;
  }
  while (fds[1] >= 0 || fds[2] >= 0) {
    int64_t left = deadline - MonotonicMs();
    if (left <= 0) return false;
    pollfd p[3];
    for (int i = 0; i < 3; ++i) p[i] = {fds[i], static_cast<short>(i == 0 ? POLLOUT : POLLIN), 0};
    int n = ::poll(p, 3, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno != EINTR) return true;
    if (fds[0] >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(fds[0], spec.input.data() + written, spec.input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = spec.input.size();  // quit reading
      if (written == spec.input.size()) {
        ::close(fds[0]);
        fds[0] = -1;
      }
    }
    for (int i : {1, 2}) {
      if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t r = ::read(fds[i], buf, sizeof buf);
      if (r > 0) {
        if (i == 1) run.answer.append(buf, static_cast<size_t>(r));
        if (i == 2) HoldOutput(run.errors, std::string_view(buf, static_cast<size_t>(r)));
        if (run.answer.size() > spec.max_answer_bytes) {
          too_big = true;
          return false;
        }
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        ::close(fds[i]);
        fds[i] = -1;
      }
    }
  }
  return true;
}

// Waits for the child's exit until the deadline (a child may close its
// output and go on running); kills its group if it is not done by then or
// `kill` says so. False if it had to be killed for time.
bool Reap(pid_t pid, int64_t deadline, bool kill, int& status) {
  bool in_time = true;
  while (!kill) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) return true;
    if (MonotonicMs() >= deadline) {
      in_time = false;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return in_time;
}

}  // namespace

void KillRunningCommands() {
  std::lock_guard<std::mutex> lock(g_children_mu);
  for (pid_t pgid : g_children) ::kill(-pgid, SIGTERM);
}

CommandRun RunHandlerCommand(const CommandSpec& spec) {
  CommandRun run;
  Pipes pipes;
  if (!pipes.Open()) {
    run.failure = std::string("cannot make pipes: ") + std::strerror(errno);
    pipes.CloseAll();
    return run;
  }
  pid_t pid = Spawn(spec, pipes);
  if (pid < 0) {
    run.failure = std::string("cannot fork: ") + std::strerror(errno);
    pipes.CloseAll();
    return run;
  }
  ::setpgid(pid, pid);
  Track(pid, true);
  int fds[3] = {pipes.in[1], pipes.out[0], pipes.err[0]};
  ::close(pipes.in[0]);
  ::close(pipes.out[1]);
  ::close(pipes.err[1]);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  const int64_t deadline = MonotonicMs() + spec.timeout_ms;
  bool too_big = false;
  bool finished = Pump(spec, fds, deadline, run, too_big);
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
  int status = 0;
  finished = Reap(pid, deadline, !finished, status) && finished;
  Track(pid, false);
  if (too_big) {
    run.failure = "answer over " + std::to_string(spec.max_answer_bytes) + " bytes";
  } else if (!finished) {
    run.failure = "no answer within " + std::to_string(spec.timeout_ms) + " ms; killed";
  } else if (WIFSIGNALED(status)) {
    run.signal = WTERMSIG(status);
  } else {
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  return run;
}

}  // namespace weituo::agent
