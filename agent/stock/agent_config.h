// The stock agent's config file (weituo-agent -c FILE): every key with its
// type, range, default and help in one SettingList, read with its type and
// range checked, relative paths resolved against the file's folder, and the
// whole checked before the agent starts. The same list prints the keys for
// `weituo-agent run --help`.
//
// Not thread-safe: loaded once, at start-up, by main.
#pragma once

#include <string>

#include "handlers.h"
#include "local_api.h"
#include "weituo/agent/agent.h"
#include "weituo/common/status.h"

namespace weituo::agent {

struct AgentConfig {
  AgentOptions agent;
  std::string log_level = "info";
  std::string responder = "off";  // "auto": the demo responder answers
  std::string responder_handler = "auto-responder";
  Dispatcher::Options dispatch;
  LocalApiOptions api;    // listen empty: no local API
  std::string spool_dir;  // empty: no spool
  bool spool_incoming = true;
};

// Reads `path` into *config. INVALID_ARGUMENT with the message for the
// clerk, naming the file and the key: a value of the wrong type or out of
// range, an unknown key or table, a required key missing, a key file that
// does not load, or a control endpoint that another local user could reach:
// it must be an ipc:// socket file (not an abstract ipc://@name, not tcp://
// or inproc://), and with `run` its folder is made (0700) if missing and
// must be owned by this process's user and not writable by group or others.
Status LoadAgentConfig(const std::string& path, bool run, AgentConfig* config);

// Every key of the file with its type, range and default, for --help.
std::string AgentConfigHelp();

}  // namespace weituo::agent
