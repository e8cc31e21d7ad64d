// weituo-agent: the agent a court runs (`run`), and the court's command line
// to its running agent (`submit`, `inbox`, `list`, `show`, `retry`, `accept`,
// `progress`, `complete`, `return`, `withdraw`, `status`).
//
// Exit codes: 0 done; 1 refused (by the agent or the broker); 2 usage or
// config error; 3 the agent did not answer (with `run`: its store is damaged);
// 4 still pending at --wait's end.
#include <google/protobuf/util/json_util.h>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "agent_config.h"
#include "auto_responder.h"
#include "cli_print.h"
#include "control_client.h"
#include "handlers.h"
#include "local_api.h"
#include "spool.h"
#include "weituo/agent/agent.h"
#include "weituo/common/clock.h"
#include "weituo/common/curve.h"
#include "weituo/common/deadlines.h"
#include "weituo/common/http_server.h"
#include "weituo/common/json.h"
#include "weituo/common/json_lines.h"
#include "weituo/common/logging.h"

namespace {

using weituo::Status;
using weituo::ToJson;
using weituo::agent::ControlClient;
using weituo::agent::EventLine;
using weituo::agent::HandlerLine;
using weituo::agent::PrintView;
using weituo::v1::ControlReply;
using weituo::v1::ControlRequest;
namespace pbjson = google::protobuf::util;

// `run` exits 3 (kDamaged) on a store that is damaged or lost what it
// acknowledged; the court's commands use 3 for an agent that did not answer.
enum Exit { kOk = 0, kRefused = 1, kUsage = 2, kNoAgent = 3, kPending = 4, kDamaged = 3 };

using Config = weituo::agent::AgentConfig;

weituo::agent::Agent* g_agent = nullptr;
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

// For `status`: the broker group's members and the agent's moves among
// them; empty for a single broker it never left.
std::string GroupLine(const weituo::v1::AgentStatus& s) {
  if (s.broker_endpoints_size() <= 1 && s.broker_changes() == 0) return "";
  std::string line = "\n  broker group " +
                     fmt::format("{}", fmt::join(s.broker_endpoints(), ", ")) + "; changes " +
                     std::to_string(s.broker_changes());
  if (s.broker_changes() > 0) {
    line += ", last " + s.last_broker_change() + " at " +
            weituo::FormatTimeMs(s.last_broker_change_at_ms());
  }
  return line;
}

int Run(const Config& config) {
  weituo::InitLogging("weituo-agent." + config.agent.court_id, config.log_level);
  std::filesystem::create_directories(config.agent.data_dir);
  auto agent = weituo::agent::Agent::Open(config.agent);
  if (!agent.ok()) {
    std::cerr << "weituo-agent: " << agent.status().ToString() << "\n";
    if (agent.status().code() == weituo::StatusCode::kDataLoss) {
      std::cerr << "weituo-agent: the agent does not start on a store that is damaged or lost "
                   "what it acknowledged. Restore the court's backup of its data_dir, or, knowing "
                   "that what was lost is gone, start once with --accept-data-loss.\n";
      // As the broker's: the unit does not restart on it.
      return kDamaged;
    }
    return kRefused;
  }
  const bool dispatching =
      !config.dispatch.handlers.empty() || !config.dispatch.incoming_dir.empty();
  // LoadAgentConfig refused "auto" with handlers or an incoming spool.
  if (config.responder == "auto")
    weituo::agent::InstallAutoResponder(**agent, config.responder_handler);
  // The court's own systems: handlers, the local API, the spool folder.
  std::unique_ptr<weituo::agent::Dispatcher> dispatcher;
  std::unique_ptr<weituo::agent::Spool> spool;
  std::unique_ptr<weituo::agent::LocalApi> api;
  if (!config.spool_dir.empty()) {
    spool =
        std::make_unique<weituo::agent::Spool>(**agent, config.spool_dir, config.spool_incoming);
    if (Status s = spool->Install(); !s.ok()) {
      std::cerr << "weituo-agent: " << s.ToString() << "\n";
      return kRefused;
    }
    spool->Start();
  }
  if (dispatching) {
    dispatcher = std::make_unique<weituo::agent::Dispatcher>(**agent, config.dispatch);
    dispatcher->Install();
    if (Status s = dispatcher->Start(); !s.ok()) {
      std::cerr << "weituo-agent: " << s.ToString() << "\n";
      return kRefused;
    }
    for (const auto& [kind, h] : config.dispatch.handlers) {
      spdlog::info("msg=\"handler configured\" kind={} handler=\"{}\" via={}",
                   weituo::v1::Kind_Name(kind), h.name, h.url.empty() ? "command" : h.url);
    }
  }
  if (!config.api.listen.empty()) {
    auto started = weituo::agent::LocalApi::Start(**agent, config.api);
    if (!started.ok()) {
      std::cerr << "weituo-agent: " << started.status().ToString() << "\n";
      return started.status().code() == weituo::StatusCode::kUnavailable ? kRefused : kUsage;
    }
    api = std::move(started).value();
  }
  if (config.agent.plaintext) {
    std::cerr << "weituo-agent: WARNING: dev_plaintext: traffic to the broker is NOT encrypted "
                 "and the broker cannot tell this court from an impostor. Development only.\n";
    spdlog::warn("msg=\"PLAINTEXT MODE: development only\"");
  }
  g_agent = agent->get();
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  if (Status s = (*agent)->Start(); !s.ok()) {
    std::cerr << "weituo-agent: " << s.ToString() << "\n";
    return kRefused;
  }
  spdlog::info("msg=\"agent running\" court={} broker={} control={} responder={}",
               config.agent.court_id, fmt::join(config.agent.broker_endpoints, ","),
               config.agent.control_endpoint, config.responder);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (api) api->Stop();
  if (spool) spool->Stop();
  if (dispatcher) dispatcher->Stop();
  (*agent)->Stop();
  spdlog::info("msg=\"agent stopped\"");
  return kOk;
}

// Sends one request; prints the refusal and returns its exit code on error.
int Call(const Config& config, const ControlRequest& request, ControlReply* reply) {
  ControlClient client(config.agent.control_endpoint);
  auto r = client.Call(request);
  if (!r.ok()) {
    std::cerr << "weituo-agent: " << r.status().message() << "\n";
    return kNoAgent;
  }
  *reply = *r;
  if (!reply->ok()) {
    std::cerr << "weituo-agent: " << reply->error() << "\n";
    return kRefused;
  }
  return kOk;
}

// The whole file, or false after saying why.
bool ReadText(const std::string& path, std::string* text) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "weituo-agent: cannot read " << path << "\n";
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  return true;
}

template <typename Message>
bool ReadJsonFile(const std::string& path, Message* out) {
  std::string text;
  if (!ReadText(path, &text)) return false;
  auto s = pbjson::JsonStringToMessage(text, out);
  if (!s.ok()) {
    std::cerr << "weituo-agent: " << path << ": " << s.ToString() << "\n";
    return false;
  }
  return true;
}

// Sends an update and waits up to wait_s for the broker's answer.
int SendUpdate(const Config& config, weituo::v1::Update update, int wait_s, bool json) {
  ControlRequest request;
  *request.mutable_update() = std::move(update);
  ControlReply reply;
  if (int rc = Call(config, request, &reply); rc != kOk) return rc;
  const std::string request_id = reply.request_id();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  for (;;) {
    ControlRequest poll;
    poll.set_request(request_id);
    ControlReply status;
    if (int rc = Call(config, poll, &status); rc != kOk) return rc;
    const auto& r = status.request();
    if (r.state() == weituo::v1::REQUEST_DONE) {
      if (json) {
        std::cout << ToJson(r) << "\n";
      } else {
        std::cout << EventLine(r.event()) << "  -> " << weituo::v1::State_Name(r.event().state())
                  << "\n";
      }
      return kOk;
    }
    if (r.state() == weituo::v1::REQUEST_FAILED) {
      if (json) std::cout << ToJson(r) << "\n";
      std::cerr << "weituo-agent: refused by the broker: "
                << weituo::v1::ErrorCode_Name(r.error().code()) << ": " << r.error().message()
                << "\n";
      return kRefused;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::cerr << "weituo-agent: request " << request_id
                << " is queued; the broker has not answered yet\n";
      return kPending;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Reads one Commission per line (or one JSON document) from `path`.
bool ReadCommissions(const std::string& path, std::vector<weituo::v1::Commission>* out) {
  std::string text;
  if (!ReadText(path, &text)) return false;
  auto commissions = weituo::ParseJsonOneOrPerLine<weituo::v1::Commission>(text);
  if (!commissions.ok()) {
    std::cerr << "weituo-agent: " << path << ": " << commissions.status().message() << "\n";
    return false;
  }
  *out = std::move(*commissions);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weituo-agent: a court's agent for Weituo commissions"};
  app.require_subcommand(1);
  std::string config_path;
  bool json = false;
  int wait_s = 10;
  std::string id, text, file, handler, expected, reason_code;

  auto with_config = [&](CLI::App* sub) {
    sub->add_option("--config,-c", config_path, "the agent's TOML config")->required();
    sub->add_flag("--json", json, "print protobuf JSON for scripts");
    return sub;
  };
  auto* run = with_config(app.add_subcommand("run", "run the agent until SIGINT/SIGTERM"));
  bool accept_data_loss = false;
  run->add_flag("--accept-data-loss", accept_data_loss,
                "start once on a store that lost acknowledged writes, keeping what is left");
  auto* submit = with_config(app.add_subcommand("submit", "queue commissions from a JSON file"));
  submit->add_option("--file,-f", file, "Commission JSON, or one JSON object per line")->required();
  submit->add_option("--wait", wait_s, "seconds to wait for the broker's receipts");
  auto* inbox = with_config(app.add_subcommand("inbox", "received commissions still open"));
  auto* list = with_config(app.add_subcommand("list", "all commissions this court knows"));
  auto* show = with_config(app.add_subcommand("show", "a commission and its trail"));
  show->add_option("id", id)->required();
  auto* status = with_config(app.add_subcommand("status", "the agent's connection and queues"));
  auto* retry =
      with_config(app.add_subcommand("retry", "call a commission's configured handler again now"));
  retry->add_option("id", id)->required();
  auto update_cmd = [&](const char* name, const char* help) {
    auto* sub = with_config(app.add_subcommand(name, help));
    sub->add_option("id", id, "commission id")->required();
    sub->add_option("--wait", wait_s, "seconds to wait for the broker's answer");
    return sub;
  };
  auto* accept = update_cmd("accept", "签收: accept with a named handler");
  accept->add_option("--handler", handler)->required();
  accept->add_option("--expected", expected, "expected date YYYY-MM-DD");
  auto* progress = update_cmd("progress", "report progress");
  progress->add_option("--text", text)->required();
  progress->add_option("--partial-file", file, "a partial Result as JSON");
  auto* complete = update_cmd("complete", "办结: complete with a typed result");
  complete->add_option("--result-file", file, "the Result as JSON")->required();
  auto* ret = update_cmd("return", "退回: return with a coded reason");
  ret->add_option("--reason", reason_code,
                  "NOT_IN_JURISDICTION, MATERIAL_INCOMPLETE, DUPLICATE, "
                  "OUTSIDE_COMMISSION_TYPES or OTHER_REASON")
      ->required();
  ret->add_option("--text", text);
  auto* withdraw = update_cmd("withdraw", "撤回: withdraw a commission this court sent");
  withdraw->add_option("--reason", text);
  auto* ask_info = update_cmd("ask-info", "补正: ask the origin for missing material");
  ask_info->add_option("--text", text)->required();
  auto* supply_info = update_cmd("supply-info", "supply the material the target asked for");
  supply_info->add_option("--text", text);
  std::string to_court;
  auto* forward = update_cmd("forward", "send on to the competent court (a child commission)");
  forward->add_option("--to", to_court, "the competent court's id")->required();
  forward->add_option("--text", text);
  run->footer(weituo::agent::AgentConfigHelp());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; anything else that does not parse is a usage error.
    return app.exit(e) == 0 ? kOk : kUsage;
  }

  Config config;
  if (Status s = weituo::agent::LoadAgentConfig(config_path, run->parsed(), &config); !s.ok()) {
    std::cerr << "weituo-agent: " << s.message() << "\n";
    return kUsage;
  }
  config.agent.accept_data_loss = accept_data_loss;
  if (*run) return Run(config);

  ControlRequest request;
  ControlReply reply;
  if (*submit) {
    std::vector<weituo::v1::Commission> commissions;
    if (!ReadCommissions(file, &commissions)) return kUsage;
    std::vector<std::string> ids;
    for (const auto& c : commissions) {
      *request.mutable_submit() = c;
      if (int rc = Call(config, request, &reply); rc != kOk) return rc;
      ids.push_back(reply.commission_id());
    }
    // Wait for the receipts, then print each commission's id and target.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    int rc = kOk;
    for (const std::string& cid : ids) {
      for (;;) {
        ControlRequest q;
        q.set_show(cid);
        if (int r = Call(config, q, &reply); r != kOk) return r;
        const auto& rec = reply.view().record();
        if (rec.receipted() || rec.has_error() || std::chrono::steady_clock::now() >= deadline) {
          if (json) {
            std::cout << ToJson(reply.view()) << "\n";
          } else if (rec.has_error()) {
            std::cout << cid << " refused " << weituo::v1::ErrorCode_Name(rec.error().code())
                      << ": " << rec.error().message() << "\n";
          } else if (rec.receipted()) {
            std::cout << cid << " receipted -> " << rec.commission().target_court() << "\n";
          } else if (reply.view().has_waiting()) {
            const auto& w = reply.view().waiting();
            std::cout << cid << " queued; the broker refused it for now, "
                      << weituo::v1::ErrorCode_Name(w.code()) << ": " << w.message()
                      << " (resent until it is stored)\n";
          } else {
            std::cout << cid << " queued (no receipt yet)\n";
          }
          if (rec.has_error()) rc = kRefused;
          if (!rec.receipted() && !rec.has_error() && rc == kOk) rc = kPending;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return rc;
  }
  if (*inbox || *list) {
    request.mutable_list()->set_inbox_only(inbox->parsed());
    request.mutable_list()->set_limit(100000);
    if (int rc = Call(config, request, &reply); rc != kOk) return rc;
    for (const auto& v : reply.commissions()) {
      if (json) {
        std::cout << ToJson(v) << "\n";
      } else {
        const auto& c = v.record().commission();
        std::cout << c.id() << "  " << std::left << std::setw(12)
                  << weituo::v1::State_Name(v.record().state()) << " "
                  << (v.record().is_origin() ? "to   " + c.target_court()
                                             : "from " + c.origin_court())
                  << "  " << c.case_number() << "  " << c.debtor().name() << "\n";
        if (v.has_handler()) std::cout << "    " << HandlerLine(v.handler(), "      ", 3) << "\n";
      }
    }
    return kOk;
  }
  if (*show) {
    request.set_show(id);
    if (int rc = Call(config, request, &reply); rc != kOk) return rc;
    if (json) {
      std::cout << ToJson(reply.view()) << "\n";
    } else {
      PrintView(reply.view());
    }
    return kOk;
  }
  if (*retry) {
    request.set_retry_handler(id);
    if (int rc = Call(config, request, &reply); rc != kOk) return rc;
    std::cout << id << " handler call queued\n";
    return kOk;
  }
  if (*status) {
    request.set_status(true);
    if (int rc = Call(config, request, &reply); rc != kOk) return rc;
    const auto& s = reply.status();
    if (json) {
      std::cout << ToJson(s) << "\n";
    } else {
      std::cout << "court " << s.court_id() << "  "
                << (s.connected() ? "connected" : "not connected") << " to " << s.broker_endpoint()
                << " (" << s.security() << ")"
                << (s.connection_error().empty() ? "" : "\n  " + s.connection_error())
                << GroupLine(s) << "\n  outbox pending " << s.outbox_pending()
                << ", commissions received " << s.commissions_received() << ", events received "
                << s.events_received() << "\n";
      if (s.outbox_refused_for_now() > 0) {
        std::cout << "  the broker refuses for now (" << s.outbox_refused_for_now()
                  << " queued, resent): " << weituo::v1::ErrorCode_Name(s.broker_refusing().code())
                  << ": " << s.broker_refusing().message() << "\n";
      }
      if (!s.counters().empty()) {
        std::map<std::string, uint64_t> sorted(s.counters().begin(), s.counters().end());
        std::cout << " ";
        for (const auto& [name, n] : sorted) std::cout << " " << name << " " << n;
        std::cout << "\n";
      }
      for (const auto& n : s.notices()) {
        std::cout << "  notice: court " << n.court() << " " << n.what() << " since "
                  << weituo::FormatTimeMs(n.since_ms()) << "  liaison " << n.liaison().office()
                  << " " << n.liaison().phone() << " " << n.liaison().person() << "\n";
      }
    }
    return kOk;
  }

  weituo::v1::Update update;
  update.set_commission_id(id);
  if (*accept) {
    update.mutable_accept()->set_handler(handler);
    update.mutable_accept()->set_expected_date(expected);
  } else if (*progress) {
    update.mutable_progress()->set_text(text);
    if (!file.empty() && !ReadJsonFile(file, update.mutable_progress()->mutable_partial()))
      return kUsage;
  } else if (*complete) {
    if (!ReadJsonFile(file, update.mutable_complete()->mutable_result())) return kUsage;
  } else if (*ret) {
    weituo::v1::ReturnReason reason;
    if (!weituo::v1::ReturnReason_Parse(reason_code, &reason)) {
      std::cerr << "weituo-agent: unknown --reason " << reason_code << "\n";
      return kUsage;
    }
    update.mutable_return_()->set_reason(reason);
    update.mutable_return_()->set_text(text);
  } else if (*withdraw) {
    update.mutable_withdraw()->set_reason(text);
  } else if (*ask_info) {
    update.mutable_request_info()->set_text(text);
  } else if (*supply_info) {
    update.mutable_supply_info()->set_text(text);
  } else if (*forward) {
    update.mutable_forward()->set_to_court(to_court);
    update.mutable_forward()->set_text(text);
  }
  return SendUpdate(config, std::move(update), wait_s, json);
}
