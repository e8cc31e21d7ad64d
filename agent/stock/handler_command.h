// A command handler's process: started without a shell in a process group
// of its own, its input written to its standard input, its standard output
// read as the answer (up to a limit) and the end of its standard error held
// for the clerk, killed with its whole group once its time is up. Stopping
// the agent ends every such process at once (KillRunningCommands).
//
// Threading: RunHandlerCommand may run on any number of threads at once,
// each call owning its child; KillRunningCommands is safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace weituo::agent {

struct CommandSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::string workdir;            // empty: the agent's
  std::vector<std::string> env;   // "K=V" added to the agent's environment
  std::string input;              // written to standard input, then closed
  int timeout_ms = 30000;         // for its answer and its exit
  size_t max_answer_bytes = 1 << 20;
};

struct CommandRun {
  // Non-empty when the command did not end by itself: why, in the agent's
  // own words ("no answer within 300 ms; killed").
  std::string failure;
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  std::string answer;  // its standard output
  std::string errors;  // the end of its standard error (kOutputHeldBytes)
};

// Runs `spec` to its end (or kills it); blocks for at most its timeout.
CommandRun RunHandlerCommand(const CommandSpec& spec);

// SIGTERM to the process group of every command running now.
void KillRunningCommands();

}  // namespace weituo::agent
