#include "broker_config.h"

#include "weituo/common/config_table.h"
#include "weituo/common/validation.h"

namespace weituo::broker {
namespace {

constexpr int64_t kSecondMs = 1000;
constexpr int64_t kDayMs = 24 * 60 * 60 * kSecondMs;
// The largest commission (kMaxMessageBytes) and room for its envelope.
constexpr int64_t kMinFrameBytes = static_cast<int64_t>(kMaxMessageBytes) + 16 * 1024;

std::string FlagOf(const std::string& key) {
  std::string flag = "--" + key;
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

std::string ExpectHttp(const std::string& value) {
  if (value == "off" || ExpectHostPort(value).empty()) return "";
  return ExpectHostPort(value) + ", or off";
}

// Every setting, in the order --help lists them.
void Register(SettingList& s, BrokerConfig& c) {
  BrokerOptions& o = c.options;
  s.String("endpoint", &o.endpoint, "ZeroMQ endpoint to bind", "tcp://HOST:PORT or ipc://PATH",
           ExpectZmqEndpoint);
  s.String("data_dir", &o.data_dir, "folder of the RocksDB store").required = true;
  s.String("backup_dir", &o.backup_dir,
           "where POST /api/admin/backup (weituoctl backup) writes checkpoints")
      .default_text = "<data-dir>-backups";
  s.String("directory", &o.directory_path,
           "court directory (courts.toml) with each court's curve_keys; reread on SIGHUP")
      .required = true;
  s.String("curve_secret_key_file", &c.secret_key_file,
           "the broker's CURVE certificate with its secret key (weituoctl keygen); required "
           "unless dev_plaintext")
      .default_text = "none";
  s.Bool("dev_plaintext", &o.plaintext,
         "development only: no encryption, courts identified by what they claim")
      .is_switch = true;
  s.Int("handshake_ms", &o.handshake_ms, 100, 60 * kSecondMs,
        "drop a connection that has not completed its handshake by then, or has not said "
        "Hello in twice that");
  s.Int("max_connections_per_address", &o.max_connections_per_address, 1, 1000000,
        "live connections one IP address may hold");
  s.Int("max_handshakes_per_address", &o.max_handshakes_per_address, 1, 1000000,
        "connections one IP address may hold that are not identified yet (shaking hands, or "
        "not yet said Hello)");
  s.Int("max_connections_per_court", &o.max_connections_per_court, 1, 10000,
        "connections that spoke for one court (its key) at once");
  s.Number("rate_limit", &o.rate_limit, 0, 1e6,
           "messages per second one court may send (0: no limit)");
  s.Number("rate_burst", &o.rate_burst, 1, 1e7, "messages one court may send in a burst");
  s.Int("overdue_after_ms", &o.overdue_after_ms, kSecondMs, 3650 * kDayMs,
        "a delivery pending this long counts as overdue");
  s.String("admin_token_file", &c.admin_token_file,
           "token operator actions (POST) must present, and that reads too; made (0600) if "
           "missing")
      .default_text = "<data-dir>/admin.token";
  s.String("read_token_file", &c.read_token_file,
           "the operator's token for HTTP reads (commissions, trails, parked, status, stats); "
           "made (0600) if missing")
      .default_text = "<data-dir>/read.token";
  s.Bool("open_reads", &c.open_reads,
         "HTTP reads need no token: anyone who reaches the port reads debtors' personal data. "
         "Only on a network where everyone may")
      .is_switch = true;
  s.String("http_allowed_hosts", &c.http_allowed_hosts,
           "Host names the HTTP API answers to besides its listen address and localhost on its "
           "port, comma-separated: name (any port) or name:port")
      .default_text = "none";
  s.String("http", &c.http, "status HTTP address host:port (port 0 picks one, 'off' disables)",
           "HOST:PORT or off", ExpectHttp);
  s.String("deadlines", &c.deadlines_file,
           "deadlines per kind and stage (TOML, deploy/zone/deadlines.toml)")
      .default_text = "none: the law's";
  s.Int("offline_flag_after_ms", &o.offline_flag_after_ms, 0, 365 * kDayMs,
        "tell a court's supervisor when it has been offline this long (0: never)");
  s.String("witness_tokens_file", &c.witness_tokens_file,
           "witnesses' tokens ('name token' lines): they read trails and statistics only")
      .default_text = "none: no witnesses";
  s.Int("heartbeat_ms", &o.heartbeat_ms, 10, 60 * kSecondMs,
        "send, and expect, something on every connection this often");
  s.Int("offline_after_ms", &o.offline_after_ms, 20, 600 * kSecondMs,
        "a court silent this long is offline (longer than heartbeat_ms)");
  s.Int("ack_timeout_ms", &o.ack_timeout_ms, 10, 3600 * kSecondMs,
        "resend an unacknowledged message after this, doubling each time");
  s.Int("max_backoff_ms", &o.max_backoff_ms, 10, kDayMs,
        "the longest wait between resends (at least ack_timeout_ms)");
  s.Int("max_attempts", &o.max_attempts, 1, 1000000, "sends of one message before it is parked");
  s.Int("window", &o.window, 1, 65536, "unacknowledged messages in flight per court");
  s.Int("max_frame_bytes", &o.max_frame_bytes, kMinFrameBytes, 64 << 20,
        "the largest frame a court may send (a commission may be 128 KiB)");
  s.Bool("sync", &o.sync, "fsync the WAL once per batch (true) or never (false, benchmarks only)");
  s.Int("storage_reserve_mb", &c.storage_reserve_mb, 0, int64_t{1} << 24,
        "free space (MiB) kept on the store's disk: below it new submissions and updates are "
        "refused with STORAGE_FULL (0: no reserve)");

  s.Choice("log_level", &c.log_level, LogLevels(), "the least severe level logged");
  s.String("group", &c.group_file,
           "a broker group's file (docs/group.md): this broker is one of its members, the "
           "leader or a follower as etcd decides")
      .default_text = "none: a broker of its own";
  s.String("member", &c.member, "with group: which of the group file's members this broker is")
      .default_text = "none";
  s.String("replication_secret_key_file", &c.replication_secret_key_file,
           "with group: this member's CURVE certificate for the replication between members "
           "(weituoctl keygen); its public key is the member's replication_public_key")
      .default_text = "none: plaintext replication, if the group file lists no keys";
}

}  // namespace

BrokerFlags::BrokerFlags(CLI::App& app, BrokerConfig* config) : app_(app), config_(config) {
  app.add_option("--config", config->config_path,
                 "TOML config file: keys as the long flags with _ (data_dir = ...); flags given "
                 "override it")
      ->default_str("none");
  Register(settings_, *config);
  for (const SettingList::Setting& s : settings_.settings()) {
    // Every flag says its default: a value, a placeholder, none or required.
    std::string help = s.help + (s.range.empty() ? "" : "; " + s.range);
    if (s.required) help += "; required (as a flag or in --config)";
    if (s.is_switch) {
      app.add_flag(FlagOf(s.key), switch_[s.key], help + "; default off");
      continue;
    }
    std::string shown = s.default_text;
    if (shown.size() >= 2 && shown.front() == '"') shown = shown.substr(1, shown.size() - 2);
    std::string type = s.type == "integer"   ? "INT"
                       : s.type == "number"  ? "NUMBER"
                       : s.type == "boolean" ? "BOOL"
                                             : "TEXT";
    app.add_option(FlagOf(s.key), text_[s.key], help)->type_name(type)->default_str(shown);
  }
  // A flag only, never a config key: a file would accept every later loss too.
  app.add_flag("--accept-data-loss", config->options.accept_data_loss,
               "start once on a store that lost acknowledged writes, keeping what is left (the "
               "lost commissions are gone for good; restore a backup instead if there is one); "
               "default off");
  app.add_flag("--test-clock", config->options.test_clock,
               "TESTS ONLY: POST /api/test/clock?advance_ms=N moves the broker's clock forward; "
               "default off");
}

Status BrokerFlags::Resolve() {
  if (!config_->config_path.empty()) {
    auto table = ConfigTable::ReadFile(config_->config_path, "config file");
    if (!table.ok()) return Status::InvalidArgument(table.status().message());
    settings_.Read(*table);
    WEITUO_RETURN_IF_ERROR(table->Finish());
  }
  for (const SettingList::Setting& s : settings_.settings()) {
    const std::string flag = FlagOf(s.key);
    if (app_.count(flag) == 0) continue;
    WEITUO_RETURN_IF_ERROR(settings_.SetFromText(s, s.is_switch ? "true" : text_[s.key], flag));
  }
  if (settings_.FirstMissing()) {
    return Status::InvalidArgument(
        "--data-dir and --directory are required (data_dir and directory in a --config file)");
  }
  config_->options.storage_reserve_bytes = static_cast<uint64_t>(config_->storage_reserve_mb) << 20;
  return CheckTogether();
}

Status BrokerFlags::CheckTogether() const {
  const BrokerOptions& o = config_->options;
  if (o.offline_after_ms <= o.heartbeat_ms) {
    return Status::InvalidArgument("offline_after_ms (" + std::to_string(o.offline_after_ms) +
                                   ") must be longer than heartbeat_ms (" +
                                   std::to_string(o.heartbeat_ms) +
                                   "), or every court counts as offline between two heartbeats");
  }
  if (config_->group_file.empty() != config_->member.empty()) {
    return Status::InvalidArgument(
        "group and member go together: the group's file, and which of its members this is");
  }
  if (o.max_backoff_ms < o.ack_timeout_ms) {
    return Status::InvalidArgument("max_backoff_ms (" + std::to_string(o.max_backoff_ms) +
                                   ") must be at least ack_timeout_ms (" +
                                   std::to_string(o.ack_timeout_ms) + ")");
  }
  return Status::Ok();
}

}  // namespace weituo::broker
