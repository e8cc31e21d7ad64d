// weituo-broker: the zone's broker. Reads a TOML config (flags override it),
// opens the store, binds, serves until SIGINT or SIGTERM.
//
// Exit codes: 0 stopped by a signal; 1 could not run (a bind, a store it
// cannot open); 2 usage or config error, found before the store is opened;
// 3 the store is damaged or lost what it acknowledged (systemd does not
// restart on it: an operator restores the store).
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "broker_config.h"
#include "storage_guard.h"
#include "weituo/broker/broker.h"
#include "weituo/broker/status_server.h"
#include "weituo/common/allowed_hosts.h"
#include "weituo/common/curve.h"
#include "weituo/common/directory.h"
#include "weituo/common/http_server.h"
#include "weituo/common/logging.h"
#include "weituo/group/group_config.h"
#include "weituo/group/member.h"

namespace {

enum Exit { kOk = 0, kFailed = 1, kConfig = 2, kDamaged = 3 };

// Atomic: a group's member sets it from its own thread each time it leads.
std::atomic<weituo::broker::Broker*> g_broker{nullptr};
weituo::group::Member* g_member = nullptr;

void OnSignal(int) {
  if (g_member) g_member->Stop();
  if (auto* b = g_broker.load()) b->Stop();
}

void OnHangUp(int) {
  if (auto* b = g_broker.load()) b->ReloadDirectory();
}

bool Refuse(const std::string& message) {
  std::cerr << "weituo-broker: " << message << "\n";
  return false;
}

// What the files named by the config hold, all read before the store opens.
struct Files {
  std::string admin_token;  // empty with --http off
  std::string read_token;   // the operator's, for reads; empty with --http off
  std::map<std::string, std::string> witnesses;
  std::optional<weituo::CourtDirectory> directory;
};

// The broker's secret key into config->options, unless plaintext.
bool ReadKey(weituo::broker::BrokerConfig* config) {
  weituo::broker::BrokerOptions& options = config->options;
  if (options.plaintext) {
    std::cerr << "weituo-broker: WARNING: --dev-plaintext: traffic is NOT encrypted and any "
                 "process that reaches the port can act as any court. Development only.\n";
    return true;
  }
  if (config->secret_key_file.empty()) {
    return Refuse(
        "--curve-secret-key-file is required (make one with weituoctl keygen --broker); "
        "--dev-plaintext runs unencrypted, for development only");
  }
  auto keys = weituo::ReadCertificate(config->secret_key_file);
  if (!keys.ok()) return Refuse(keys.status().message());
  if (keys->secret_key.empty()) {
    return Refuse(config->secret_key_file + " holds no secret-key (give the .key_secret file)");
  }
  options.curve_secret_key = keys->secret_key;
  spdlog::info("msg=\"broker key\" public_key=\"{}\"", keys->public_key);
  return true;
}

// Deadlines, tokens and the directory; false after saying what is wrong.
bool ReadFiles(weituo::broker::BrokerConfig* config, Files* files) {
  weituo::broker::BrokerOptions& options = config->options;
  if (!config->deadlines_file.empty()) {
    auto policy = weituo::DeadlinePolicy::LoadFile(config->deadlines_file);
    if (!policy.ok()) return Refuse(policy.status().message());
    options.deadlines = std::move(policy).value();
  }
  if (config->http != "off") {
    if (config->admin_token_file.empty()) {
      config->admin_token_file = options.data_dir + "/admin.token";
    }
    auto token = weituo::ReadOrMakeToken(config->admin_token_file, "admin token");
    if (!token.ok()) return Refuse(token.status().message());
    files->admin_token = *token;
    if (config->read_token_file.empty()) {
      config->read_token_file = options.data_dir + "/read.token";
    }
    auto read_token = weituo::ReadOrMakeToken(config->read_token_file, "read token");
    if (!read_token.ok()) return Refuse(read_token.status().message());
    files->read_token = *read_token;
  }
  if (!config->witness_tokens_file.empty()) {
    auto read = weituo::broker::ReadWitnessTokens(config->witness_tokens_file, files->admin_token,
                                                  files->read_token);
    if (!read.ok()) return Refuse(read.status().message());
    files->witnesses = std::move(read).value();
    if (files->witnesses.empty()) {
      spdlog::warn("msg=\"no witnesses listed\" file=\"{}\"",
                   weituo::LogValue(config->witness_tokens_file));
    } else {
      spdlog::info("msg=\"witnesses\" count={} reads_need_token=true", files->witnesses.size());
    }
  }
  auto directory = weituo::CourtDirectory::LoadFile(options.directory_path);
  if (!directory.ok()) return Refuse(directory.status().message());
  files->directory = std::move(directory).value();
  return true;
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

// The status server (unless --http off); nullptr after saying why it failed.
std::unique_ptr<weituo::broker::StatusServer> StartHttp(const weituo::broker::BrokerConfig& config,
                                                        weituo::broker::OperatorApi& broker,
                                                        Files& files, bool* failed) {
  *failed = false;
  if (config.http == "off") return nullptr;
  weituo::broker::HttpAccess access{files.admin_token, files.read_token, files.witnesses,
                                    config.open_reads,
                                    weituo::SplitHostList(config.http_allowed_hosts)};
  auto started = weituo::broker::StatusServer::Start(config.http, broker, std::move(access));
  if (!started.ok()) {
    *failed = true;
    Refuse(started.status().ToString());
    return nullptr;
  }
  auto server = std::move(started).value();
  spdlog::info("msg=\"status page\" url=http://{}/ read_token_file={}", server->address(),
               config.read_token_file);
  if (config.open_reads) {
    std::cerr << "weituo-broker: WARNING: --open-reads: anyone who reaches http://"
              << server->address() << "/ reads every commission with debtors' names, ID "
              << "numbers and addresses, without a token. Only on a network where everyone "
                 "may.\n";
    spdlog::warn("msg=\"OPEN READS: the HTTP API's reads need no token\" url=http://{}/",
                 server->address());
  }
  return server;
}

// A member of a broker group, until a signal stops it.
int RunMember(weituo::broker::BrokerConfig& config, Files& files) {
  auto group = weituo::group::GroupConfig::Load(config.group_file);
  if (!group.ok()) {
    Refuse(group.status().message());
    return kConfig;
  }
  const weituo::group::MemberConfig* me = group->Find(config.member);
  if (me == nullptr) {
    Refuse(config.group_file + ": no [[member]] named \"" + config.member + "\"");
    return kConfig;
  }
  if (!config.options.sync) {
    // Only synced commits are numbered and replicated: a member that did
    // not sync would receipt what no other member holds.
    Refuse("sync = false cannot run in a broker group: a member syncs every commit");
    return kConfig;
  }
  weituo::group::MemberOptions options;
  if (group->curve()) {
    if (config.replication_secret_key_file.empty()) {
      Refuse(config.group_file +
             " lists the members' replication keys: give this member's certificate with "
             "--replication-secret-key-file");
      return kConfig;
    }
    auto keys = weituo::ReadCertificate(config.replication_secret_key_file);
    if (!keys.ok()) {
      Refuse(keys.status().message());
      return kConfig;
    }
    if (keys->public_key != me->replication_public_key) {
      Refuse(config.replication_secret_key_file + " is not member " + config.member +
             "'s: its public key is not the replication_public_key " + config.group_file +
             " lists for it");
      return kConfig;
    }
    options.replication_secret_key = keys->secret_key;
  } else {
    spdlog::warn(
        "msg=\"the group's replication is NOT encrypted: the group file lists no "
        "replication_public_key; development only\"");
  }
  options.group = std::move(group).value();
  options.member = config.member;
  options.broker = config.options;
  options.directory = *files.directory;
  options.on_lead = [](weituo::broker::Broker& broker) {
    g_broker.store(&broker);
    return std::function<void()>([] { g_broker.store(nullptr); });
  };
  weituo::group::Member member(std::move(options));
  // One operator API for the member's life: the leader's broker while it
  // leads, its own replica's reads while it follows.
  bool http_failed = false;
  std::unique_ptr<weituo::broker::StatusServer> http =
      StartHttp(config, member.api(), files, &http_failed);
  if (http_failed) return kFailed;
  g_member = &member;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  weituo::Status s = member.Run();
  g_member = nullptr;
  if (http) http->Stop();
  if (!s.ok()) {
    Refuse(s.ToString());
    return s.code() == weituo::StatusCode::kDataLoss ? kDamaged : kFailed;
  }
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "weituo-broker: routes court commissions, stores them durably, tracks every "
      "acknowledgement"};
  // A flag given twice takes its last value, so wrappers can override.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  weituo::broker::BrokerConfig config;
  weituo::broker::BrokerFlags flags(app, &config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; a flag that does not parse is a usage error.
    return app.exit(e) == 0 ? kOk : kConfig;
  }
  if (weituo::Status s = flags.Resolve(); !s.ok()) {
    Refuse(s.message());
    return kConfig;
  }
  weituo::InitLogging("weituo-broker", config.log_level);
  Files files;
  if (!ReadKey(&config) || !ReadFiles(&config, &files)) return kConfig;
  if (config.options.test_clock) {
    spdlog::warn(
        "msg=\"TEST CLOCK: the broker's clock can be moved forward over HTTP; tests "
        "only\"");
  }
  if (!config.group_file.empty()) return RunMember(config, files);
  auto broker = OpenBroker(config.options, *files.directory);
  if (!broker.ok()) {
    Refuse(broker.status().ToString());
    if (broker.status().code() != weituo::StatusCode::kDataLoss) return kFailed;
    Refuse(
        "the broker does not start on a store that is damaged or lost what it acknowledged. "
        "Restore the last backup (docs/operations.md, \"Restore\"), or, knowing that the lost "
        "commissions are gone, start once with --accept-data-loss.");
    return kDamaged;
  }
  g_broker.store(broker->get());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnHangUp);

  bool http_failed = false;
  std::unique_ptr<weituo::broker::StatusServer> server =
      StartHttp(config, **broker, files, &http_failed);
  if (http_failed) return kFailed;
  weituo::Status s = (*broker)->Run();
  if (server) server->Stop();
  if (!s.ok()) {
    Refuse(s.ToString());
    return kFailed;
  }
  return kOk;
}
