// A spool folder for court systems that can only read and write files:
//
//   outgoing/  NAME.json holding a Commission as JSON is submitted and moved
//              to sent/NAME.<commission id>.json (the id filled in). One
//              holding an Update (commissionId and one action: accept,
//              complete...) is sent as that update and moved to
//              sent/NAME.<request id>.json. What the agent refuses goes to
//              failed/NAME.json, the reason in failed/NAME.json.reason; so
//              does a submission the broker refuses later (an unknown court).
//              Files not ending in .json are left alone, so a writer can
//              write NAME.json.part and rename it; a .json file is taken once
//              its size and time stop changing between two looks; one over
//              1 MiB is refused unread.
//   incoming/  <id>.json: each commission this court receives (written by the
//              Dispatcher); <id>.<seq>.<EV_TYPE>.json: each trail event about
//              a commission this court sent (its receipt, accept, result...).
//
// A commission's id is written into its file before it is queued, and an
// update's request id is made from the file's content, so a crash between
// queueing and moving sends it again with the same id: once in effect.
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
  Spool(Agent& agent, std::string dir, bool incoming_events, int poll_ms = 250);
  ~Spool();  // Stop()s
  // Makes the folders and registers for events; call before agent.Start().
  Status Install();
  // Starts watching outgoing/.
  void Start();
  void Stop();

 private:
  void Scan();
  void Take(const std::string& name, uintmax_t size);
  void CheckReceipts();
  void Fail(const std::string& from, const std::string& name, const std::string& reason);
  void OnEvent(const weituo::v1::Event& e);

  Agent& agent_;
  std::string dir_;
  bool incoming_events_;
  int poll_ms_;
  std::map<std::string, std::pair<uintmax_t, int64_t>> seen_;  // name -> (size, mtime)
  std::map<std::string, std::string> unreceipted_;             // commission id -> its file in sent/
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace weituo::agent
