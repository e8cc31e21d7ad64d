#include "handlers.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <signal.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "files.h"
#include "handler_command.h"
#include "handler_output.h"
#include "weituo/common/clock.h"
#include "weituo/common/http_client.h"
#include "weituo/common/ids.h"
#include "weituo/common/json.h"
#include "weituo/common/json_lines.h"
#include "weituo/common/lifecycle.h"
#include "weituo/common/logging.h"
#include "weituo/common/validation.h"

namespace weituo::agent {

namespace pbjson = google::protobuf::util;
using weituo::v1::Commission;
using weituo::v1::HandlerState;
using weituo::v1::HandlerStatus;
using weituo::v1::Update;

namespace {

constexpr size_t kMaxAnswerBytes = 1 << 20;

// A call that ended well: what it answered, if that parses, and what it
// said on the side (`said`: a command may warn on standard error). Why an
// answer does not parse may quote it, so that goes with the output too.
HandlerOutcome Answered(const std::string& text, const std::string& said = "") {
  HandlerOutcome out;
  auto updates = ParseHandlerAnswer(text);
  if (!updates.ok()) {
    out.error = "the answer is not Updates (the handler's output says why)";
    out.output = LastOutputLines(said + "\nanswer: " + updates.status().message());
    return out;
  }
  out.ok = true;
  out.updates = std::move(*updates);
  out.output = LastOutputLines(said);
  return out;
}

// What a command's run gave: its answer if it exited 0, else why not, with
// the end of its standard error for the clerk.
HandlerOutcome FromCommand(const CommandRun& run) {
  if (run.failure.empty() && run.exit_code == 0) return Answered(run.answer, run.errors);
  HandlerOutcome out;
  out.error = !run.failure.empty() ? run.failure
              : run.signal         ? "killed by signal " + std::to_string(run.signal)
                                   : "exit status " + std::to_string(run.exit_code);
  out.output = LastOutputLines(run.errors);
  return out;
}

struct Url {
  std::string host, port, target;
};

StatusOr<Url> ParseUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    return Status::InvalidArgument(
        "url must start with http:// (an endpoint on the court's own network; https is not "
        "supported), got '" +
        url + "'");
  }
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  Url u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
    u.port = "80";
  }
  if (u.host.size() > 2 && u.host.front() == '[' && u.host.back() == ']') {
    u.host = u.host.substr(1, u.host.size() - 2);
  }
  if (u.host.empty() || u.port.empty()) {
    return Status::InvalidArgument("handler url '" + url + "' names no host and port");
  }
  return u;
}

HandlerOutcome PostJson(const HandlerConfig& h, const Commission& c, uint32_t attempt,
                        const std::string& court_id) {
  HandlerOutcome out;
  auto url = ParseUrl(h.url);
  if (!url.ok()) {
    out.error = url.status().message();
    return out;
  }
  HttpCall call;
  call.method = HttpMethod::kPost;
  call.host = url->host;
  call.port = url->port;
  call.target = url->target;
  call.url = h.url;
  call.content_type = "application/json";
  call.headers = {{"User-Agent", "weituo-agent"},
                  {"Weituo-Court", court_id},
                  {"Weituo-Commission-Id", c.id()},
                  {"Weituo-Attempt", std::to_string(attempt)},
                  {"Idempotency-Key", c.id()}};
  call.body = ToJson(c);
  call.timeout = std::chrono::milliseconds(h.timeout_ms);
  call.max_body_bytes = kMaxAnswerBytes;
  auto res = CallHttp(call);
  if (!res.ok()) {
    out.error = res.status().message();
    return out;
  }
  const int code = res->status;
  if (code == 202 || code == 204 || (code / 100 == 2 && res->body.empty())) {
    out.ok = true;
    out.handed_over = true;
    return out;
  }
  if (code / 100 != 2) {
    out.error = "HTTP " + std::to_string(code);
    out.output = LastOutputLines(res->body);
    return out;
  }
  return Answered(res->body);
}

// "<commission id>.handler.<step>", or ".handler.r<round>.<step>" after a
// clerk's retry.
std::string RequestIdOf(const std::string& commission_id, uint32_t round, const std::string& step) {
  return commission_id + ".handler." + (round ? "r" + std::to_string(round) + "." : "") + step;
}

HandlerStatus MakeStatus(const std::string& name, uint32_t round, HandlerState state,
                         uint32_t attempts, std::string error = "", int64_t next_ms = 0) {
  HandlerStatus s;
  s.set_handler(name);
  s.set_round(round);
  s.set_state(state);
  s.set_attempts(attempts);
  s.set_last_error(std::move(error));
  s.set_next_attempt_at_ms(next_ms);
  s.set_updated_at_ms(NowMs());
  return s;
}

}  // namespace

Status ValidateHandlerConfig(const HandlerConfig& h) {
  if (h.command.empty() == h.url.empty()) {
    return Status::InvalidArgument("needs exactly one of command = [...] or url = \"http://...\"");
  }
  if (!h.url.empty()) WEITUO_RETURN_IF_ERROR(ParseUrl(h.url).status());
  if (h.timeout_ms <= 0 || h.retry_ms <= 0 || h.retry_max_ms < h.retry_ms) {
    return Status::InvalidArgument(
        "timeout_ms and retry_ms must be positive, retry_max_ms at least retry_ms");
  }
  return Status::Ok();
}

StatusOr<std::vector<Update>> ParseHandlerAnswer(const std::string& text) {
  weituo::v1::HandlerAnswer answer;
  if (pbjson::JsonStringToMessage(text, &answer).ok()) {
    return std::vector<Update>(answer.updates().begin(), answer.updates().end());
  }
  auto updates = ParseJsonOneOrPerLine<Update>(text);
  if (!updates.ok()) return Status::InvalidArgument("not Updates: " + updates.status().message());
  return updates;
}

HandlerOutcome CallHandler(const HandlerConfig& handler, const Commission& commission,
                           uint32_t attempt, const std::string& court_id) {
  if (!handler.url.empty()) return PostJson(handler, commission, attempt, court_id);
  CommandSpec spec;
  spec.argv = handler.command;
  spec.workdir = handler.workdir;
  spec.env = {"WEITUO_COURT=" + court_id, "WEITUO_COMMISSION_ID=" + commission.id(),
              "WEITUO_KIND=" + weituo::v1::Kind_Name(KindOf(commission)),
              "WEITUO_ATTEMPT=" + std::to_string(attempt)};
  spec.input = ToJson(commission) + "\n";
  spec.timeout_ms = handler.timeout_ms;
  spec.max_answer_bytes = kMaxAnswerBytes;
  return FromCommand(RunHandlerCommand(spec));
}

Dispatcher::Dispatcher(Agent& agent, Options options)
    : agent_(agent), options_(std::move(options)) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Install() {
  agent_.OnCommission(weituo::v1::KIND_UNSPECIFIED,
                      [this](Agent&, const Commission& c) { OnReceived(c); });
  agent_.OnRetryHandler([this](const std::string& id) { return Retry(id); });
}

Status Dispatcher::Retry(const std::string& id) {
  WEITUO_ASSIGN_OR_RETURN(auto view, agent_.Show(id));
  if (!view.has_handler()) {
    return Status::FailedPrecondition("commission " + id + " has no configured handler (" +
                                      weituo::v1::Kind_Name(KindOf(view.record().commission())) +
                                      " is answered by hand)");
  }
  if (IsFinal(view.record().state())) {
    return Status::FailedPrecondition("commission " + id + " is " +
                                      weituo::v1::State_Name(view.record().state()) +
                                      ": there is nothing left to answer");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_.count(id)) return Status::Ok();  // under way now
    unsettled_.erase(id);
  }
  HandlerStatus status = view.handler();
  status.set_state(weituo::v1::HANDLER_QUEUED);
  status.set_next_attempt_at_ms(0);
  status.set_round(status.round() + 1);
  status.set_updated_at_ms(NowMs());
  WEITUO_RETURN_IF_ERROR(agent_.SetHandlerStatus(id, status));
  spdlog::info("msg=\"handler call requested\" commission={}", id);
  Enqueue(id, 0);
  return Status::Ok();
}

// On the agent's I/O thread, once the commission is durably recorded. What
// is written here is written before the agent forgets it still owes a call.
void Dispatcher::OnReceived(const Commission& c) {
  if (!options_.incoming_dir.empty()) {
    const std::string path = options_.incoming_dir + "/" + c.id() + ".json";
    if (Status s = WriteFileAtomically(path, ToJson(c) + "\n"); !s.ok()) {
      spdlog::error("msg=\"cannot write the incoming file\" commission={} error=\"{}\"", c.id(),
                    s.ToString());
      agent_.Count("spool_incoming_failed");
    }
  }
  auto it = options_.handlers.find(KindOf(c));
  if (it == options_.handlers.end()) return;
  auto known = agent_.GetHandlerStatus(c.id());
  if (known.ok() && known->has_value()) return;  // already known: the workers have it
  // Not synced, and still durable enough: it goes into the store's log
  // ahead of the write that clears the SDK's pending-handler mark, and the
  // log comes back as a prefix after a crash. So either the mark survives
  // and this callback runs again, or this status survives with it. One
  // fsync fewer per delivered commission on the I/O thread.
  Status s = agent_.SetHandlerStatus(
      c.id(), MakeStatus(it->second.name, 0, weituo::v1::HANDLER_QUEUED, 0), /*sync=*/false);
  if (!s.ok()) {
    spdlog::error("msg=\"cannot record the handler status\" commission={} error=\"{}\"", c.id(),
                  s.ToString());
    return;
  }
  Enqueue(c.id(), 0);
}

void Dispatcher::Enqueue(const std::string& commission_id, int64_t due_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    due_[commission_id] = due_ms;
  }
  cv_.notify_one();
}

Status Dispatcher::Start() {
  // A handler that exits without reading all of its standard input must not
  // kill the agent with SIGPIPE: the write fails with EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  WEITUO_ASSIGN_OR_RETURN(auto statuses, agent_.HandlerStatuses());
  int resumed = 0;
  for (const auto& [id, status] : statuses) {
    auto st = status.state();
    if (st == weituo::v1::HANDLER_DONE) {
      // Answered before the restart: whether the broker took it is known
      // once every request of the answer is settled.
      auto view = agent_.Show(id);
      if (view.ok() && !IsFinal(view->record().state())) {
        std::lock_guard<std::mutex> lock(mu_);
        unsettled_[id] = AnswerRequestIds(id, status.round(), 64);
      }
      continue;
    }
    if (st == weituo::v1::HANDLER_HANDED_OVER || st == weituo::v1::HANDLER_ANSWER_REFUSED) {
      continue;
    }
    Enqueue(id, st == weituo::v1::HANDLER_RETRYING ? status.next_attempt_at_ms() : 0);
    ++resumed;
  }
  if (resumed > 0) spdlog::info("msg=\"handler calls resumed\" count={}", resumed);
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { WorkerMain(); });
  }
  return Status::Ok();
}

void Dispatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  // A call cut short is made again at the next start.
  KillRunningCommands();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void Dispatcher::WorkerMain() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // The earliest due job that no other worker is running.
    std::string next;
    int64_t next_due = 0;
    for (const auto& [id, due] : due_) {
      if (running_.count(id)) continue;
      if (next.empty() || due < next_due) {
        next = id;
        next_due = due;
      }
    }
    int64_t now = NowMs();
    if (!unsettled_.empty() && now - last_check_ms_ >= 200) {
      last_check_ms_ = now;
      lock.unlock();
      CheckAnswers();
      lock.lock();
      continue;
    }
    if (next.empty() || next_due > now) {
      auto wait = next.empty() ? std::chrono::milliseconds(unsettled_.empty() ? 1000 : 200)
                               : std::chrono::milliseconds(std::min<int64_t>(next_due - now, 1000));
      cv_.wait_for(lock, wait);
      continue;
    }
    due_.erase(next);
    running_.insert(next);
    lock.unlock();
    RunOne(next);
    lock.lock();
    running_.erase(next);
  }
}

void Dispatcher::RunOne(const std::string& id) {
  auto view = agent_.Show(id);
  if (!view.ok()) {
    spdlog::error("msg=\"handler job without a commission\" commission={} error=\"{}\"", id,
                  view.status().ToString());
    return;
  }
  const Commission& c = view->record().commission();
  auto it = options_.handlers.find(KindOf(c));
  HandlerStatus status = view->handler();
  if (it == options_.handlers.end()) {
    // The config lost this kind's handler since: the clerk answers.
    (void)agent_.SetHandlerStatus(
        id, MakeStatus(status.handler(), status.round(), weituo::v1::HANDLER_RETRYING,
                       status.attempts(),
                       "no handler is configured for " + weituo::v1::Kind_Name(KindOf(c)) +
                           " any more; answer with weituo-agent",
                       0));
    return;
  }
  const HandlerConfig& h = it->second;
  const auto state = view->record().state();
  if (IsFinal(state)) {
    // Withdrawn or expired while it waited: there is nothing left to answer.
    (void)agent_.SetHandlerStatus(
        id, MakeStatus(h.name, status.round(), weituo::v1::HANDLER_DONE, status.attempts(),
                       "not called: the commission is " + weituo::v1::State_Name(state)));
    return;
  }
  const uint32_t attempt = status.attempts() + 1;
  // Not synced: after a power cut the call is made again either way, only
  // its count may be one short.
  HandlerStatus running =
      MakeStatus(h.name, status.round(), weituo::v1::HANDLER_RUNNING, attempt, status.last_error());
  *running.mutable_last_output() = status.last_output();
  if (Status s = agent_.SetHandlerStatus(id, running, /*sync=*/false); !s.ok()) {
    spdlog::error("msg=\"cannot record the handler status\" commission={} error=\"{}\"", id,
                  s.ToString());
    Enqueue(id, NowMs() + h.retry_ms);
    return;
  }
  const int64_t started = MonotonicMs();
  agent_.Count("handler_calls");
  Settle(c, h, status.round(), attempt, CallHandler(h, c, attempt, agent_.court_id()), started);
}

void Dispatcher::Settle(const Commission& c, const HandlerConfig& h, uint32_t round,
                        uint32_t attempt, const HandlerOutcome& outcome, int64_t started) {
  const std::string& id = c.id();
  std::string error = outcome.error;
  const bool ok = outcome.ok && SendAnswer(c, h, round, outcome.updates, &error);
  const int64_t took = MonotonicMs() - started;
  // What the handler said is its own text: logged only if asked, escaped.
  const std::string said = h.log_output && !outcome.output.empty()
                               ? " output=\"" + OutputLogValue(outcome.output) + "\""
                               : "";
  if (ok) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      unsettled_[id] = AnswerRequestIds(id, round, outcome.updates.size());
    }
    auto done = outcome.handed_over ? weituo::v1::HANDLER_HANDED_OVER : weituo::v1::HANDLER_DONE;
    HandlerStatus status = MakeStatus(h.name, round, done, attempt);
    for (const std::string& line : outcome.output) status.add_last_output(line);
    // Not synced: the answer's updates are (SendUpdate syncs them); if this
    // is lost, the call is made again and its answer is dropped as sent.
    (void)agent_.SetHandlerStatus(id, status, /*sync=*/false);
    spdlog::info(
        "msg=\"handler answered\" commission={} handler=\"{}\" attempt={} updates={} "
        "handed_over={} ms={}{}",
        id, LogValue(h.name), attempt, outcome.updates.size(), outcome.handed_over, took, said);
    return;
  }
  agent_.Count("handler_failures");
  // Backoff doubles from retry_ms, capped.
  int64_t delay = h.retry_ms;
  for (uint32_t i = 1; i < attempt && delay < h.retry_max_ms; ++i) delay *= 2;
  delay = std::min<int64_t>(delay, h.retry_max_ms);
  const int64_t next = NowMs() + delay;
  HandlerStatus status =
      MakeStatus(h.name, round, weituo::v1::HANDLER_RETRYING, attempt, error, next);
  for (const std::string& line : outcome.output) status.add_last_output(line);
  (void)agent_.SetHandlerStatus(id, status);
  spdlog::warn(
      "msg=\"handler failed\" commission={} handler=\"{}\" attempt={} error=\"{}\" "
      "retry_in_ms={}{}",
      id, LogValue(h.name), attempt, LogValue(error), delay, said);
  Enqueue(id, next);
}

// Queues the answer's updates. Request ids come from the commission id and
// the update's place in the answer, so an answer given again after a crash,
// even a different one, takes effect once: the first is kept.
bool Dispatcher::SendAnswer(const Commission& c, const HandlerConfig& h, uint32_t round,
                            const std::vector<Update>& updates, std::string* error) {
  bool has_accept = false;
  for (const Update& u : updates) {
    if (!u.commission_id().empty() && u.commission_id() != c.id()) {
      // Its id is quoted only if it is one: the answer is the handler's text.
      *error = "the answer is about " +
               (IsUlid(u.commission_id()) ? "commission " + u.commission_id()
                                          : std::string("an id that is not a commission id")) +
               ", not " + c.id();
      return false;
    }
    if (u.action_case() == Update::ACTION_NOT_SET) {
      *error = "an update in the answer has no action (accept, progress, complete, return...)";
      return false;
    }
    has_accept |= u.has_accept();
  }
  auto view = agent_.Show(c.id());
  bool delivered_only = view.ok() && view->record().state() == weituo::v1::DELIVERED;
  // 签收 comes first: an answer that goes straight to a result is accepted
  // in the handler's name.
  auto send = [&](Update u, const std::string& step) {
    u.set_commission_id(c.id());
    auto r = agent_.SendUpdate(std::move(u), RequestIdOf(c.id(), round, step));
    if (!r.ok() && r.status().code() != StatusCode::kAlreadyExists) {
      *error = "update " + step + " of the answer refused: " + r.status().message();
      return false;
    }
    return true;
  };
  if (!has_accept && delivered_only && !updates.empty() && !updates.front().has_return_()) {
    Update accept;
    accept.mutable_accept()->set_handler(h.name);
    if (!send(std::move(accept), "accept")) return false;
  }
  for (size_t i = 0; i < updates.size(); ++i) {
    if (!send(updates[i], std::to_string(i + 1))) return false;
  }
  return true;
}

std::vector<std::string> Dispatcher::AnswerRequestIds(const std::string& commission_id,
                                                      uint32_t round, size_t updates_sent) {
  std::vector<std::string> ids = {RequestIdOf(commission_id, round, "accept")};
  for (size_t i = 1; i <= updates_sent; ++i) {
    ids.push_back(RequestIdOf(commission_id, round, std::to_string(i)));
  }
  return ids;
}

void Dispatcher::CheckAnswers() {
  std::map<std::string, std::vector<std::string>> unsettled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    unsettled = unsettled_;
  }
  for (const auto& [id, requests] : unsettled) {
    bool pending = false;
    std::string refused;
    for (const std::string& rid : requests) {
      auto r = agent_.Request(rid);
      if (!r.ok()) continue;  // not part of this answer (or not yet queued)
      if (r->state() == weituo::v1::REQUEST_PENDING) pending = true;
      if (r->state() == weituo::v1::REQUEST_FAILED && refused.empty()) {
        refused = "the broker refused the answer's update " + rid.substr(rid.rfind('.') + 1) +
                  ": " + weituo::v1::ErrorCode_Name(r->error().code()) + ": " +
                  r->error().message();
      }
    }
    if (!refused.empty()) {
      auto known = agent_.GetHandlerStatus(id);
      HandlerStatus status = known.ok() && known->has_value() ? **known : HandlerStatus();
      status.set_state(weituo::v1::HANDLER_ANSWER_REFUSED);
      status.set_last_error(refused);
      status.set_updated_at_ms(NowMs());
      (void)agent_.SetHandlerStatus(id, status);
      agent_.Count("handler_answers_refused");
      spdlog::warn("msg=\"handler answer refused\" commission={} error=\"{}\"", id,
                   LogValue(refused));
    }
    if (!refused.empty() || !pending) {
      std::lock_guard<std::mutex> lock(mu_);
      unsettled_.erase(id);
    }
  }
}

}  // namespace weituo::agent
