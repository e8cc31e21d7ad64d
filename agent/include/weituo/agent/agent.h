// The agent SDK: what a court's system links to exchange commissions through
// the broker. An Agent keeps a durable outbox (submissions and updates are
// resent until the broker receipts them) and a durable inbox (deliveries are
// recorded before they are acknowledged, duplicates dropped by id), in its
// own RocksDB folder.
//
// This header is the whole SDK (CMake target weituo_agent). The stock agent
// `weituo-agent` is one program built on it (agent/stock/, target
// weituo_agent_stock): its configured handlers, spool folder, local HTTP API,
// demo responder and control client are its own, not part of the SDK.
//
// Threading: Start() spawns one I/O thread that owns the ZeroMQ sockets and
// runs the handlers. Every other public method is safe from any thread,
// including from inside a handler; Submit and SendUpdate return once the
// message is durably queued, not when the broker has it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weituo/common/status.h"
#include "weituo/v1/commission.pb.h"
#include "weituo/v1/control.pb.h"

namespace weituo::agent {

struct AgentOptions {
  std::string court_id;
  std::string broker_endpoint;  // e.g. tcp://127.0.0.1:5555
  // A broker group (docs/protocol.md section 19): its members, in order. The
  // agent talks to one member at a time, starting with the first; empty:
  // `broker_endpoint` alone is the list. Given, it wins over
  // `broker_endpoint`. The members share the broker's CURVE key.
  std::vector<std::string> broker_endpoints;
  std::string data_dir;          // the agent's RocksDB folder
  std::string control_endpoint;  // local REP endpoint; empty: none
  // CURVE: this court's secret key and the broker's public key (Z85). The
  // broker accepts the connection only if the directory lists this court's
  // public key; required unless `plaintext`.
  std::string curve_secret_key;
  std::string broker_public_key;
  bool plaintext = false;  // development only: unencrypted, to a --dev-plaintext broker
  int heartbeat_ms = 1000;
  int broker_silence_ms = 3500;  // reconnect after this long without a word
  // With more than one endpoint: move to the next member when the current
  // one has not welcomed the agent this long after its Hello, or has said
  // nothing at all this long since its Welcome (in place of
  // broker_silence_ms). With one endpoint it is not used for silence.
  int failover_ms = 3000;
  int resend_ms = 3000;     // resend what the broker has not receipted
  size_t max_batch = 1024;  // deliveries recorded per sync
  // Open a store that lost acknowledged writes (DATA_LOSS) anyway: an
  // operator's decision (KvOptions::accept_loss).
  bool accept_data_loss = false;
};

class Agent {
 public:
  // Called on the I/O thread once a delivered commission is durably
  // recorded (and acknowledged). A handler that did not return before a
  // crash is called again after restart, so handlers must be idempotent.
  // What a handler writes with SetHandlerStatus before returning goes into
  // the store's log ahead of the mark that it ran, and the log recovers as a
  // prefix: a handler that only hands the commission on (to its own threads)
  // may write that hand-over without a sync.
  using CommissionHandler = std::function<void(Agent&, const weituo::v1::Commission&)>;
  // Called on the I/O thread for each new trail event about a commission of
  // this court, once it is recorded: events delivered by the broker are on
  // disk first; receipts of this court's own requests may not be yet (they
  // are asked for again if lost). Never twice for one event while the
  // machine keeps power, and not again after a crash that fell between
  // recording and calling: the trail (Show) is the record, the callback a
  // notification.
  using EventHandler = std::function<void(Agent&, const weituo::v1::Event&)>;

  // Opens (creating) the store. INTERNAL if it is locked by another agent.
  static StatusOr<std::unique_ptr<Agent>> Open(AgentOptions options);
  ~Agent();  // Stop()s

  // Register before Start(). KIND_UNSPECIFIED handles every kind not
  // otherwise named.
  void OnCommission(weituo::v1::Kind kind, CommissionHandler handler);
  void OnEvent(EventHandler handler);
  // What the control channel's retry_handler (`weituo-agent retry ID`) does:
  // set by whoever runs handlers outside the I/O thread. Called on the I/O
  // thread; must return quickly.
  using RetryHandler = std::function<Status(const std::string& commission_id)>;
  void OnRetryHandler(RetryHandler retry);

  // Connects and starts the I/O thread. UNAVAILABLE if the control endpoint
  // cannot be bound.
  Status Start();
  // Stops the I/O thread; what is queued stays queued for the next Start.
  void Stop();

  // Queues a new commission. Fills id (a new ULID) if empty, origin_court
  // and created_at_ms; refuses with INVALID_ARGUMENT what the broker would
  // refuse for its form. Returns the commission id.
  StatusOr<std::string> Submit(weituo::v1::Commission commission);
  // Queues a lifecycle update. INVALID_ARGUMENT for a malformed update,
  // NOT_FOUND if this court has no such commission. Returns the request id.
  // A non-empty request_id makes the call idempotent.
  StatusOr<std::string> SendUpdate(weituo::v1::Update update, std::string request_id = "");

  // How the court's own handler is getting on with a received commission:
  // kept beside the commission, and shown with it by Show and List. For
  // handlers that run outside the I/O thread. With `sync` the write is on
  // disk before this returns; without, it survives the process being killed
  // but not the machine losing power.
  Status SetHandlerStatus(const std::string& commission_id, const weituo::v1::HandlerStatus& status,
                          bool sync = true);
  // One commission's handler status, if it has one.
  StatusOr<std::optional<weituo::v1::HandlerStatus>> GetHandlerStatus(
      const std::string& commission_id) const;
  // Every recorded handler status, by commission id.
  StatusOr<std::vector<std::pair<std::string, weituo::v1::HandlerStatus>>> HandlerStatuses() const;

  StatusOr<weituo::v1::CommissionView> Show(const std::string& commission_id) const;
  StatusOr<std::vector<weituo::v1::CommissionView>> List(
      const weituo::v1::ListFilter& filter) const;
  StatusOr<weituo::v1::AgentRequest> Request(const std::string& request_id) const;
  weituo::v1::AgentStatus GetStatus() const;
  // Adds to a counter shown in GetStatus().counters (in memory, since start).
  void Count(const std::string& name, uint64_t n = 1);

  const std::string& court_id() const;

 private:
  class Impl;
  explicit Agent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weituo::agent
