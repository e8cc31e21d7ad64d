// weituo-broker: the zone's broker. Reads a TOML config (flags override it),
// opens the store, binds, serves until SIGINT or SIGTERM.
#include <spdlog/spdlog.h>
#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "storage_guard.h"
#include "weituo/broker/broker.h"
#include "weituo/broker/status_server.h"
#include "weituo/common/allowed_hosts.h"
#include "weituo/common/curve.h"
#include "weituo/common/directory.h"
#include "weituo/common/http_server.h"
#include "weituo/common/logging.h"

namespace {

weituo::broker::Broker* g_broker = nullptr;

void OnSignal(int) {
  if (g_broker) g_broker->Stop();
}

void OnHangUp(int) {
  if (g_broker) g_broker->ReloadDirectory();
}

std::atomic<bool> g_stop_opening{false};
void OnSignalWhileOpening(int) { g_stop_opening.store(true); }

// Opens the store. A disk too full to open it on is waited for, not exited
// over (a restart loop could only fill it further), and RocksDB is never
// asked to open without room: it aborts at a failed write.
weituo::StatusOr<std::unique_ptr<weituo::broker::Broker>> OpenBroker(
    const weituo::broker::BrokerOptions& options, const weituo::CourtDirectory& directory) {
  std::signal(SIGINT, OnSignalWhileOpening);
  std::signal(SIGTERM, OnSignalWhileOpening);
  for (int attempt = 0;; ++attempt) {
    std::string note;
    auto room = weituo::broker::StorageGuard::RoomToOpen(options.data_dir,
                                                         options.storage_reserve_bytes, &note);
    if (!note.empty()) spdlog::warn("msg=\"storage: {}\"", note);
    if (!room.ok() || *room) {
      auto broker = weituo::broker::Broker::Create(options, directory);
      if (broker.ok() || broker.status().code() != weituo::StatusCode::kResourceExhausted) {
        return broker;
      }
    }
    if (attempt % 12 == 0) {
      spdlog::error("msg=\"no room on the disk to open the store; waiting for space\" dir={}",
                    options.data_dir);
    }
    for (int i = 0; i < 50 && !g_stop_opening.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (g_stop_opening.load()) {
      return weituo::Status::Unavailable("stopped while waiting for room to open the store");
    }
  }
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "weituo-broker: routes court commissions, stores them durably, tracks every "
      "acknowledgement"};
  // A flag given twice takes its last value, so wrappers can override.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  weituo::broker::BrokerOptions options;
  std::string config_path, log_level = "info", http = "127.0.0.1:8080", secret_key_file;
  std::string admin_token_file, deadlines_file, witness_tokens_file;
  std::string read_token_file, http_allowed_hosts;  // who may read over HTTP, and as which Host
  bool open_reads = false;
  std::string& directory_path = options.directory_path;
  app.add_option("--config", config_path, "TOML config file (keys as the long flags, with _)");
  app.add_option("--endpoint", options.endpoint, "ZeroMQ endpoint to bind");
  app.add_option("--data-dir", options.data_dir, "folder of the RocksDB store");
  app.add_option("--backup-dir", options.backup_dir,
                 "where POST /api/admin/backup (weituoctl backup) writes checkpoints "
                 "[default: <data-dir>-backups]");
  app.add_option("--directory", directory_path,
                 "court directory (courts.toml) with each court's curve_keys; reread on SIGHUP");
  app.add_option("--curve-secret-key-file", secret_key_file,
                 "the broker's CURVE certificate with its secret key (weituoctl keygen)");
  app.add_flag("--dev-plaintext", options.plaintext,
               "development only: no encryption, courts identified by what they claim");
  app.add_option("--handshake-ms", options.handshake_ms,
                 "drop a connection that has not completed its handshake by then, or has "
                 "not said Hello in twice that");
  app.add_option("--max-connections-per-address", options.max_connections_per_address,
                 "live connections one IP address may hold");
  app.add_option("--max-handshakes-per-address", options.max_handshakes_per_address,
                 "connections one IP address may hold that are not identified yet (shaking "
                 "hands, or not yet said Hello)");
  app.add_option("--max-connections-per-court", options.max_connections_per_court,
                 "connections that spoke for one court (its key) at once");
  app.add_option("--rate-limit", options.rate_limit,
                 "messages per second one court may send (0: no limit)");
  app.add_option("--rate-burst", options.rate_burst, "messages one court may send in a burst");
  app.add_option("--overdue-after-ms", options.overdue_after_ms,
                 "a delivery pending this long counts as overdue");
  app.add_option("--admin-token-file", admin_token_file,
                 "token operator actions (POST) must present, and that reads too; made (0600) "
                 "if missing "
                 "[default: <data-dir>/admin.token]");
  app.add_option("--http", http,
                 "status HTTP address host:port (port 0 picks one, 'off' disables)");
  app.add_option("--deadlines", deadlines_file,
                 "deadlines per kind and stage (TOML, deploy/zone/deadlines.toml); default: the "
                 "law's");
  app.add_option("--offline-flag-after-ms", options.offline_flag_after_ms,
                 "tell a court's supervisor when it has been offline this long (0: never)");
  app.add_option("--witness-tokens-file", witness_tokens_file,
                 "witnesses' tokens ('name token' lines): they read trails and statistics only");
  app.add_option("--read-token-file", read_token_file,
                 "the operator's token for HTTP reads (commissions, trails, parked, status, "
                 "stats); made (0600) if missing [default: <data-dir>/read.token]");
  app.add_flag("--open-reads", open_reads,
               "HTTP reads need no token: anyone who reaches the port reads debtors' personal "
               "data. Only on a network where everyone may");
  app.add_option("--http-allowed-hosts", http_allowed_hosts,
                 "Host names the HTTP API answers to besides its listen address and localhost "
                 "on its port, comma-separated: name (any port) or name:port");
  app.add_flag("--test-clock", options.test_clock,
               "TESTS ONLY: POST /api/test/clock?advance_ms=N moves the broker's clock forward");
  app.add_option("--heartbeat-ms", options.heartbeat_ms);
  app.add_option("--offline-after-ms", options.offline_after_ms);
  app.add_option("--ack-timeout-ms", options.ack_timeout_ms);
  app.add_option("--max-backoff-ms", options.max_backoff_ms);
  app.add_option("--max-attempts", options.max_attempts);
  app.add_option("--window", options.window, "unacknowledged messages in flight per court");
  app.add_option("--max-frame-bytes", options.max_frame_bytes);
  app.add_option("--sync", options.sync, "fsync the WAL once per batch (true) or never (false)");
  uint64_t storage_reserve_mb = options.storage_reserve_bytes >> 20;
  app.add_option("--storage-reserve-mb", storage_reserve_mb,
                 "free space (MiB) kept on the store's disk: below it new submissions and "
                 "updates are refused with STORAGE_FULL (0: no reserve)");
  app.add_flag("--accept-data-loss", options.accept_data_loss,
               "start on a store that lost acknowledged writes, keeping what is left (the "
               "lost commissions are gone for good; restore a backup instead if there is one)");
  app.add_option("--log-level", log_level);
  CLI11_PARSE(app, argc, argv);

  if (!config_path.empty()) {
    try {
      toml::table t = toml::parse_file(config_path);
      // Flags given on the command line win over the file. Every key is one
      // of them: a misspelt key would otherwise be a setting silently lost.
      std::set<std::string> known;
      auto set = [&](const char* key, auto& field, const char* flag) {
        known.insert(key);
        if (app.count(flag) == 0) field = t[key].value_or(field);
      };
      set("endpoint", options.endpoint, "--endpoint");
      set("data_dir", options.data_dir, "--data-dir");
      set("backup_dir", options.backup_dir, "--backup-dir");
      set("directory", directory_path, "--directory");
      set("curve_secret_key_file", secret_key_file, "--curve-secret-key-file");
      set("dev_plaintext", options.plaintext, "--dev-plaintext");
      set("handshake_ms", options.handshake_ms, "--handshake-ms");
      set("max_connections_per_address", options.max_connections_per_address,
          "--max-connections-per-address");
      set("max_handshakes_per_address", options.max_handshakes_per_address,
          "--max-handshakes-per-address");
      set("max_connections_per_court", options.max_connections_per_court,
          "--max-connections-per-court");
      set("rate_limit", options.rate_limit, "--rate-limit");
      set("rate_burst", options.rate_burst, "--rate-burst");
      set("overdue_after_ms", options.overdue_after_ms, "--overdue-after-ms");
      set("admin_token_file", admin_token_file, "--admin-token-file");
      set("deadlines", deadlines_file, "--deadlines");
      set("offline_flag_after_ms", options.offline_flag_after_ms, "--offline-flag-after-ms");
      set("witness_tokens_file", witness_tokens_file, "--witness-tokens-file");
      set("http", http, "--http");
      set("read_token_file", read_token_file, "--read-token-file");
      set("open_reads", open_reads, "--open-reads");
      set("http_allowed_hosts", http_allowed_hosts, "--http-allowed-hosts");
      set("heartbeat_ms", options.heartbeat_ms, "--heartbeat-ms");
      set("offline_after_ms", options.offline_after_ms, "--offline-after-ms");
      set("ack_timeout_ms", options.ack_timeout_ms, "--ack-timeout-ms");
      set("max_backoff_ms", options.max_backoff_ms, "--max-backoff-ms");
      set("max_attempts", options.max_attempts, "--max-attempts");
      set("window", options.window, "--window");
      set("max_frame_bytes", options.max_frame_bytes, "--max-frame-bytes");
      set("sync", options.sync, "--sync");
      set("storage_reserve_mb", storage_reserve_mb, "--storage-reserve-mb");
      set("log_level", log_level, "--log-level");
      for (const auto& [key, value] : t) {
        if (!known.count(std::string(key.str()))) {
          std::cerr << "weituo-broker: " << config_path << ": unknown key '" << key.str()
                    << "' (keys are the long flags with _, see --help)\n";
          return 2;
        }
      }
    } catch (const toml::parse_error& e) {
      std::cerr << "weituo-broker: " << config_path << ":" << e.source().begin.line << ": "
                << e.description() << "\n";
      return 2;
    }
  }
  options.storage_reserve_bytes = storage_reserve_mb << 20;
  weituo::InitLogging("weituo-broker", log_level);
  if (options.data_dir.empty() || directory_path.empty()) {
    std::cerr << "weituo-broker: --data-dir and --directory are required\n";
    return 2;
  }
  if (options.plaintext) {
    std::cerr << "weituo-broker: WARNING: --dev-plaintext: traffic is NOT encrypted and any "
                 "process that reaches the port can act as any court. Development only.\n";
  } else if (secret_key_file.empty()) {
    std::cerr << "weituo-broker: --curve-secret-key-file is required (make one with weituoctl "
                 "keygen --broker); --dev-plaintext runs unencrypted, for development only\n";
    return 2;
  } else {
    auto keys = weituo::ReadCertificate(secret_key_file);
    if (!keys.ok()) {
      std::cerr << "weituo-broker: " << keys.status().ToString() << "\n";
      return 2;
    }
    if (keys->secret_key.empty()) {
      std::cerr << "weituo-broker: " << secret_key_file
                << " holds no secret-key (give the .key_secret file)\n";
      return 2;
    }
    options.curve_secret_key = keys->secret_key;
    spdlog::info("msg=\"broker key\" public_key=\"{}\"", keys->public_key);
  }
  if (!deadlines_file.empty()) {
    auto policy = weituo::DeadlinePolicy::LoadFile(deadlines_file);
    if (!policy.ok()) {
      std::cerr << "weituo-broker: " << policy.status().ToString() << "\n";
      return 2;
    }
    options.deadlines = std::move(policy).value();
  }
  if (options.test_clock) {
    spdlog::warn(
        "msg=\"TEST CLOCK: the broker's clock can be moved forward over HTTP; tests "
        "only\"");
  }
  std::map<std::string, std::string> witnesses;
  if (!witness_tokens_file.empty()) {
    auto read = weituo::broker::ReadWitnessTokens(witness_tokens_file);
    if (!read.ok()) {
      std::cerr << "weituo-broker: " << read.status().ToString() << "\n";
      return 2;
    }
    witnesses = std::move(read).value();
    if (witnesses.empty()) {
      spdlog::warn("msg=\"no witnesses listed\" file=\"{}\"", witness_tokens_file);
    } else {
      spdlog::info("msg=\"witnesses\" count={}", witnesses.size());
    }
  }
  auto directory = weituo::CourtDirectory::LoadFile(directory_path);
  if (!directory.ok()) {
    std::cerr << "weituo-broker: " << directory.status().ToString() << "\n";
    return 2;
  }
  auto broker = OpenBroker(options, std::move(directory).value());
  if (!broker.ok()) {
    std::cerr << "weituo-broker: " << broker.status().ToString() << "\n";
    if (broker.status().code() == weituo::StatusCode::kDataLoss) {
      std::cerr << "weituo-broker: the broker does not start on a store that is damaged or lost "
                   "what it acknowledged. Restore the last backup (docs/operations.md, "
                   "\"Restore\"), or, knowing that the lost commissions are gone, start once "
                   "with --accept-data-loss.\n";
      // Its own code, which the systemd unit does not restart on: starting
      // again changes nothing but the log.
      return 3;
    }
    return 1;
  }
  g_broker = broker->get();
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnHangUp);

  std::unique_ptr<weituo::broker::StatusServer> server;
  if (http != "off") {
    if (admin_token_file.empty()) admin_token_file = options.data_dir + "/admin.token";
    auto token = weituo::ReadOrMakeToken(admin_token_file, "admin token");
    if (!token.ok()) {
      std::cerr << "weituo-broker: " << token.status().ToString() << "\n";
      return 1;
    }
    if (read_token_file.empty()) read_token_file = options.data_dir + "/read.token";
    auto read_token = weituo::ReadOrMakeToken(read_token_file, "read token");
    if (!read_token.ok()) {
      std::cerr << "weituo-broker: " << read_token.status().ToString() << "\n";
      return 1;
    }
    weituo::broker::HttpAccess access{*token, *read_token, witnesses, open_reads,
                                      weituo::SplitHostList(http_allowed_hosts)};
    auto started = weituo::broker::StatusServer::Start(http, **broker, std::move(access));
    if (!started.ok()) {
      std::cerr << "weituo-broker: " << started.status().ToString() << "\n";
      return 1;
    }
    server = std::move(started).value();
    spdlog::info("msg=\"status page\" url=http://{}/ read_token_file={}", server->address(),
                 read_token_file);
    if (open_reads) {
      std::cerr << "weituo-broker: WARNING: --open-reads: anyone who reaches http://"
                << server->address() << "/ reads every commission with debtors' names, ID "
                << "numbers and addresses, without a token. Only on a network where everyone "
                   "may.\n";
      spdlog::warn("msg=\"OPEN READS: the HTTP API's reads need no token\" url=http://{}/",
                   server->address());
    }
  }
  weituo::Status s = (*broker)->Run();
  if (server) server->Stop();
  if (!s.ok()) {
    std::cerr << "weituo-broker: " << s.ToString() << "\n";
    return 1;
  }
  return 0;
}
