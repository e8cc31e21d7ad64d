#include "agent_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>

#include "weituo/common/config_table.h"
#include "weituo/common/curve.h"
#include "weituo/common/settings.h"
#include "weituo/common/wire.h"

namespace weituo::agent {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecondMs = 1000;
constexpr int64_t kDayMs = 24 * 3600 * kSecondMs;
// Linux limits a unix socket path to 107 bytes.
constexpr size_t kMaxSocketPath = 107;

// What the file names that is not yet what the agent uses.
struct Names {
  std::string secret_key_file, broker_key_file, control;
};

std::string ExpectCourtId(const std::string& id) {
  return IsValidCourtId(id) ? "" : "a court id (1 to 64 characters of a-z, 0-9 and -)";
}

std::string ExpectNotEmpty(const std::string& text) {
  return text.empty() ? "a string that is not empty" : "";
}

void Register(SettingList& s, AgentConfig& c, Names& n) {
  AgentOptions& a = c.agent;
  s.String("court_id", &a.court_id, "this court's id in the broker's directory", "a court id",
           ExpectCourtId)
      .required = true;
  s.StringOrArray("broker", &a.broker_endpoints,
                  "the broker's endpoint, or a broker group's members in order (the agent talks to "
                  "one at a time and follows the leader)",
                  "tcp://HOST:PORT or ipc://PATH, or an array of them", ExpectZmqConnectEndpoint)
      .required = true;
  s.String("data_dir", &a.data_dir, "the agent's store (relative paths: to this file's folder)")
      .required = true;
  s.String("curve_secret_key_file", &n.secret_key_file,
           "this court's CURVE key pair (weituoctl keygen); required unless dev_plaintext")
      .default_text = "none";
  s.String("broker_public_key_file", &n.broker_key_file,
           "the broker's public key file; required unless dev_plaintext")
      .default_text = "none";
  s.Bool("dev_plaintext", &a.plaintext,
         "development only: no encryption, to a --dev-plaintext broker");
  s.String("control", &n.control,
           "the clerk's control socket; only an ipc:// socket file in a folder only the agent's "
           "user may write",
           "ipc://PATH")
      .default_text = "ipc://<data_dir>/control.sock";
  s.Int("heartbeat_ms", &a.heartbeat_ms, 10, 60 * kSecondMs,
        "send something to the broker this often");
  s.Int("broker_silence_ms", &a.broker_silence_ms, 20, 600 * kSecondMs,
        "reconnect after this long without a word from the broker (longer than heartbeat_ms)");
  s.Int("broker_failover_ms", &a.failover_ms, 100, 600 * kSecondMs,
        "with a broker group: move to the next member after this long without a Welcome, or "
        "without a word since the Welcome (longer than heartbeat_ms)");
  s.Int("resend_ms", &a.resend_ms, 10, 3600 * kSecondMs,
        "resend what the broker has not receipted after this");
  s.Choice("log_level", &c.log_level, LogLevels(), "the least severe level logged");
  s.Int("handler_workers", &c.dispatch.workers, 1, 64, "handler calls at once");
  s.Choice("responder.mode", &c.responder, {"off", "auto"},
           "auto: the demo responder accepts, reports and completes everything");
  s.String("responder.handler", &c.responder_handler, "the handler the demo responder names", "",
           ExpectNotEmpty);
  s.String("api.listen", &c.api.listen,
           "the local HTTP/JSON API's address (required in [api]; loopback unless the court's "
           "network is trusted)",
           "HOST:PORT", ExpectHostPort)
      .default_text = "none (no [api] table: no local API)";
  s.String("api.token_file", &c.api.token_file, "the API's bearer token, made (0600) if missing")
      .default_text = "<data_dir>/api.token";
  s.StringArray("api.allowed_hosts", &c.api.allowed_hosts,
                "Host names the API answers to besides its listen address and the loopback "
                "names on its port: \"name\" (any port) or \"name:port\"")
      .default_text = "none";
  s.String("spool.dir", &c.spool_dir,
           "the spool folder for systems that only read and write files (required in [spool])")
      .default_text = "none (no [spool] table: no spool)";
  s.Bool("spool.incoming", &c.spool_incoming,
         "also write received commissions, and the trail of those sent, to <dir>/incoming");
}

void RegisterHandler(SettingList& s, HandlerConfig& h) {
  s.String("name", &h.name, "the handler named in the accept").default_text =
      "the program or the url";
  s.StringArray("command", &h.command,
                "the program and its arguments, run in the config's folder without a shell; "
                "or url")
      .default_text = "none";
  s.String("url", &h.url, "or an HTTP endpoint the commission is POSTed to",
           "http://HOST[:PORT]/PATH")
      .default_text = "none";
  s.Int("timeout_ms", &h.timeout_ms, 10, kDayMs,
        "a call still running after this is stopped and retried");
  s.Int("retry_ms", &h.retry_ms, 10, kDayMs,
        "the first retry's delay, doubling up to retry_max_ms");
  s.Int("retry_max_ms", &h.retry_max_ms, 10, 7 * kDayMs, "the longest delay between retries");
  s.Bool("log_output", &h.log_output,
         "also log what a failing handler prints (escaped, capped; it may hold a debtor's "
         "personal data, so off by default: `weituo-agent show` has its last lines)");
}

// [handlers.KIND]: a command or an HTTP endpoint per commission kind.
void ReadHandlers(ConfigTable& table, const std::string& folder, AgentConfig* config) {
  std::optional<ConfigTable> handlers = table.Table("handlers");
  if (!handlers) return;
  for (const std::string& kind_name : handlers->Keys()) {
    v1::Kind kind;
    if (!v1::Kind_Parse(kind_name, &kind) || kind == v1::KIND_UNSPECIFIED) {
      handlers->Fail("", "[handlers." + kind_name +
                             "]: not a commission kind (DEBTOR_LOCATE, ASSET_QUERY or "
                             "VEHICLE_SEIZURE)");
      return;
    }
    std::optional<ConfigTable> t = handlers->Table(kind_name);
    if (!t) return;
    HandlerConfig h;
    h.workdir = folder;
    SettingList settings;
    RegisterHandler(settings, h);
    settings.Read(*t);
    if (!table.ok()) return;
    if (!h.command.empty() && h.command.front().empty()) {
      t->Fail("command", "the program (the first element) is empty");
      return;
    }
    if (Status s = ValidateHandlerConfig(h); !s.ok()) {
      t->Fail("", "[handlers." + kind_name + "] " + s.message());
      return;
    }
    if (h.name.empty())
      h.name = h.url.empty() ? fs::path(h.command.front()).filename().string() : h.url;
    config->dispatch.handlers[kind] = std::move(h);
  }
}

// ipc://PATH, not ipc://@abstract: a path, relative to the config's folder.
bool IsSocketFile(const std::string& endpoint) {
  return endpoint.rfind("ipc://", 0) == 0 && endpoint.size() > 6 && endpoint[6] != '@';
}

// The control socket: a file in a folder nobody but this user may write.
void CheckControl(ConfigTable& table, bool run, const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) != 0) {
    table.Fail("control", "expected an ipc:// socket file, got \"" + endpoint +
                              "\": any local user could reach a tcp:// endpoint and act for the "
                              "court");
    return;
  }
  const std::string path = endpoint.substr(6);
  if (path.empty()) {
    table.Fail("control", "expected ipc://PATH, a socket file, got \"ipc://\"");
    return;
  }
  if (path.rfind('@', 0) == 0) {
    table.Fail("control", "\"" + endpoint +
                              "\" is an abstract socket, which has no file permissions: any local "
                              "user could act for the court; give a path such as "
                              "ipc:///var/lib/weituo/kaihua/control.sock");
    return;
  }
  if (path.size() > kMaxSocketPath) {
    table.Fail("control", "the socket path " + path +
                              " is too long for a unix socket (107 bytes); set control = "
                              "\"ipc:///short/path.sock\"");
    return;
  }
  if (!run) return;
  const fs::path folder = fs::path(path).parent_path();
  std::error_code ec;
  if (!fs::exists(folder, ec)) {
    fs::create_directories(folder.parent_path(), ec);
    if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) {
      table.Fail("control", "cannot make the socket's folder " + folder.string() + ": " +
                                std::strerror(errno));
      return;
    }
  }
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    table.Fail("control", "the socket's folder " + folder.string() + " is not a folder");
  } else if (st.st_uid != ::geteuid()) {
    table.Fail("control", "the socket's folder " + folder.string() + " belongs to uid " +
                              std::to_string(st.st_uid) + ", not to this agent's user (uid " +
                              std::to_string(::geteuid()) + ")");
  } else if ((st.st_mode & 022) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    table.Fail("control", "the socket's folder " + folder.string() + " (mode " + mode +
                              ") may be written by group or others, who could replace the "
                              "socket; chmod go-w it or choose another folder");
  }
}

// The court's and the broker's keys into config->agent, unless plaintext.
Status ReadKeys(const std::string& path, const Names& names,
                const std::function<std::string(const std::string&)>& resolve,
                AgentConfig* config) {
  if (config->agent.plaintext) return Status::Ok();
  if (names.secret_key_file.empty() || names.broker_key_file.empty()) {
    return Status::InvalidArgument(
        path +
        ": curve_secret_key_file and broker_public_key_file are required (make keys with "
        "weituoctl keygen); dev_plaintext = true runs unencrypted, for development only");
  }
  auto mine = ReadCertificate(resolve(names.secret_key_file));
  if (!mine.ok()) return Status::InvalidArgument(mine.status().message());
  auto broker = ReadCertificate(resolve(names.broker_key_file));
  if (!broker.ok()) return Status::InvalidArgument(broker.status().message());
  if (mine->secret_key.empty()) {
    return Status::InvalidArgument(names.secret_key_file +
                                   " holds no secret-key (give the .key_secret file)");
  }
  config->agent.curve_secret_key = mine->secret_key;
  config->agent.broker_public_key = broker->public_key;
  return Status::Ok();
}

// What no single key can say: keys that need each other.
void CheckTogether(ConfigTable& table, const AgentConfig& c) {
  if (table.Has("api") && c.api.listen.empty()) {
    table.Fail("",
               "[api] needs listen = \"127.0.0.1:PORT\" (loopback unless the court's network "
               "is trusted)");
  } else if (table.Has("spool") && c.spool_dir.empty()) {
    table.Fail("", "[spool] needs dir = \"FOLDER\"");
  } else if (c.agent.broker_silence_ms <= c.agent.heartbeat_ms) {
    table.Fail("broker_silence_ms", "must be longer than heartbeat_ms (" +
                                        std::to_string(c.agent.heartbeat_ms) +
                                        "), or the agent reconnects between two heartbeats");
  } else if (c.agent.broker_endpoints.size() > 1 && c.agent.failover_ms <= c.agent.heartbeat_ms) {
    table.Fail("broker_failover_ms", "must be longer than heartbeat_ms (" +
                                         std::to_string(c.agent.heartbeat_ms) +
                                         "), or the agent leaves a member between two heartbeats");
  } else if (c.responder == "auto" &&
             (!c.dispatch.handlers.empty() || !c.dispatch.incoming_dir.empty())) {
    table.Fail("responder.mode",
               "\"auto\" answers every kind itself; it cannot be combined "
               "with [handlers] or an incoming spool");
  }
}

}  // namespace

Status LoadAgentConfig(const std::string& path, bool run, AgentConfig* config) {
  auto table = ConfigTable::ReadFile(path, "config file");
  if (!table.ok()) return Status::InvalidArgument(table.status().message());
  // Relative paths in the file are relative to the file.
  auto resolve = [&](const std::string& p) {
    return fs::absolute(fs::path(path).parent_path() / p).lexically_normal().string();
  };
  Names names;
  SettingList settings;
  Register(settings, *config, names);
  settings.Read(*table);
  ReadHandlers(*table, resolve("."), config);
  WEITUO_RETURN_IF_ERROR(table->Finish());
  if (const SettingList::Setting* missing = settings.FirstMissing()) {
    return Status::InvalidArgument(path + ": " + missing->key +
                                   " is required (weituo-agent run --help lists the keys)");
  }
  AgentOptions& a = config->agent;
  a.broker_endpoint = a.broker_endpoints.front();
  a.data_dir = resolve(a.data_dir);
  if (!config->spool_dir.empty()) {
    config->spool_dir = resolve(config->spool_dir);
    if (config->spool_incoming) config->dispatch.incoming_dir = config->spool_dir + "/incoming";
  }
  if (!config->api.listen.empty()) {
    config->api.token_file = config->api.token_file.empty() ? a.data_dir + "/api.token"
                                                            : resolve(config->api.token_file);
  }
  a.control_endpoint = names.control.empty()         ? "ipc://" + a.data_dir + "/control.sock"
                       : IsSocketFile(names.control) ? "ipc://" + resolve(names.control.substr(6))
                                                     : names.control;
  CheckTogether(*table, *config);
  if (table->ok()) CheckControl(*table, run, a.control_endpoint);
  WEITUO_RETURN_IF_ERROR(table->Finish());
  return ReadKeys(path, names, resolve, config);
}

std::string AgentConfigHelp() {
  AgentConfig config;
  Names names;
  SettingList settings;
  Register(settings, config, names);
  HandlerConfig handler;
  SettingList handler_settings;
  RegisterHandler(handler_settings, handler);
  return "Config keys (TOML, -c FILE; relative paths are relative to the file's folder; any "
         "other key is refused):\n" +
         settings.Describe() +
         "\nOne table [handlers.KIND] per kind answered by the court's own systems (KIND: "
         "DEBTOR_LOCATE, ASSET_QUERY or VEHICLE_SEIZURE), with exactly one of command and url:\n" +
         handler_settings.Describe("handlers.KIND.");
}

}  // namespace weituo::agent
