// A spool folder for court systems that can only write files:
//
//   outgoing/  a Commission as JSON in NAME.json is submitted and moved to
//              sent/NAME.<commission id>.json (with the id filled in), or to
//              failed/NAME.json with the reason in failed/NAME.json.reason.
//              Files not ending in .json are left alone, so a writer can
//              write NAME.json.part and rename it; a .json file is taken once
//              its size and time stop changing between two looks.
//   incoming/  each commission this court receives, as <id>.json (written by
//              the Dispatcher when spool.incoming is on).
//
// The id is written into the file before the commission is queued, so a
// crash between the two submits it again under the same id: once in effect.
// Counted in the agent's status as spool_sent and spool_failed.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include "weituo/agent/agent.h"

namespace weituo::agent {

class Spool {
 public:
  Spool(Agent& agent, std::string dir, int poll_ms = 250);
  ~Spool();  // Stop()s
  // Makes the folders and starts watching outgoing/.
  Status Start();
  void Stop();
  // One look at outgoing/ (the watcher calls it; tests may too).
  void Scan();

 private:
  void Take(const std::string& name);
  void Fail(const std::string& name, const std::string& reason);

  Agent& agent_;
  std::string dir_;
  int poll_ms_;
  std::map<std::string, std::pair<uintmax_t, int64_t>> seen_;  // name -> (size, mtime)
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace weituo::agent
