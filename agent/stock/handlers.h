// Handlers a court configures instead of writing code: for each commission
// kind, a command (the commission as JSON on standard input, its answer on
// standard output) or an HTTP endpoint on the court's own network (the
// commission POSTed as JSON, the answer in the response body). The answer is
// zero or more Updates in protobuf's JSON mapping: one object, one per line,
// or {"updates": [...]}. An HTTP handler may also answer 202 or 204 and send
// its updates later through the agent's local API.
//
// The Dispatcher records each received commission's HandlerStatus in the
// agent's store before the agent marks the commission's handler as run (see
// Agent::CommissionHandler), then calls the handler on worker
// threads of its own, so a slow handler never holds up heartbeats or
// deliveries. A failed or timed-out call is retried with exponential backoff
// for as long as the commission stays open; the error is kept in the status,
// where `weituo-agent inbox` shows it, with the last lines of what the
// handler said besides its answer (its standard error, an HTTP error body),
// escaped and capped. Those lines are the handler's text and may name a
// debtor: they stay out of the agent's log unless the handler's log_output
// asks for them (escaped and capped there too). A call under way when the agent stops
// or is killed is made again after restart, so handlers must be idempotent;
// the updates of an answer carry request ids derived from the commission id,
// so an answer sent twice takes effect once. An answer the broker refuses
// (say, a forward to a court it does not know) is not retried, since the
// same answer would be refused again: the status becomes ANSWER_REFUSED with
// the broker's reason, for a clerk. Start() makes the process
// ignore SIGPIPE (a handler that exits without reading its input must not
// kill the agent); handlers get the default disposition back.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "weituo/agent/agent.h"

namespace weituo::agent {

struct HandlerConfig {
  std::string name;                  // shown in the accept and the inbox
  std::vector<std::string> command;  // argv; run in `workdir`, without a shell
  std::string url;                   // or http://host:port/path
  std::string workdir;
  int timeout_ms = 30000;
  int retry_ms = 1000;  // the first retry's delay; doubling up to retry_max_ms
  int retry_max_ms = 300000;
  // Also write the handler's output (escaped, capped) to the agent's log.
  bool log_output = false;
};

// What one call of a handler gave.
struct HandlerOutcome {
  bool ok = false;
  bool handed_over = false;  // HTTP 202/204: the court's system answers later
  std::vector<weituo::v1::Update> updates;
  // When !ok: why, in the agent's own words, never quoting the handler:
  // for the inbox and the log.
  std::string error;
  // The last lines the handler said besides its answer, and why its answer
  // did not parse: escaped and capped (handler_output.h), for the clerk.
  std::vector<std::string> output;
};

// INVALID_ARGUMENT saying what makes `handler` unusable: not exactly one of
// command and url, a url that is not http://host[:port]/path, a timeout or
// retry delay that is not positive.
Status ValidateHandlerConfig(const HandlerConfig& handler);

// Calls `handler` once for `commission` (attempt numbered from 1).
HandlerOutcome CallHandler(const HandlerConfig& handler, const weituo::v1::Commission& commission,
                           uint32_t attempt, const std::string& court_id);

// Parses a handler's answer. INVALID_ARGUMENT naming the line or field.
StatusOr<std::vector<weituo::v1::Update>> ParseHandlerAnswer(const std::string& text);

class Dispatcher {
 public:
  struct Options {
    std::map<weituo::v1::Kind, HandlerConfig> handlers;
    std::string incoming_dir;  // non-empty: each received commission also lands here as a file
    int workers = 2;
  };

  Dispatcher(Agent& agent, Options options);
  ~Dispatcher();  // Stop()s

  // Registers with the agent; call before agent.Start().
  void Install();
  // Resumes what was queued or under way, then starts the workers.
  Status Start();
  void Stop();

 private:
  struct Job {
    std::string commission_id;
    int64_t due_ms = 0;
  };
  void OnReceived(const weituo::v1::Commission& c);
  // `weituo-agent retry ID`: call again now, whatever the backoff says.
  Status Retry(const std::string& commission_id);
  // Looks at what the broker made of the answers sent; marks refused ones.
  void CheckAnswers();
  void Enqueue(const std::string& commission_id, int64_t due_ms);
  void WorkerMain();
  void RunOne(const std::string& commission_id);
  // Sends what a call answered (started at monotonic `started_ms`), or
  // schedules the next call; records either in the handler status.
  void Settle(const weituo::v1::Commission& c, const HandlerConfig& handler, uint32_t round,
              uint32_t attempt, const HandlerOutcome& outcome, int64_t started_ms);
  bool SendAnswer(const weituo::v1::Commission& c, const HandlerConfig& handler, uint32_t round,
                  const std::vector<weituo::v1::Update>& updates, std::string* error);
  // The request ids an answer of `updates_sent` updates used.
  static std::vector<std::string> AnswerRequestIds(const std::string& commission_id, uint32_t round,
                                                   size_t updates_sent);

  Agent& agent_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int64_t> due_;  // commission id -> when (wall ms)
  std::set<std::string> running_;
  // Commission id -> request ids of its answer the broker has not settled.
  std::map<std::string, std::vector<std::string>> unsettled_;
  int64_t last_check_ms_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace weituo::agent
