// weituo-broker's settings: every flag, its key in the --config file (the
// flag's name with _), its type, range, default and help in one SettingList.
// The file is read first, the flags given override it, and every value is
// checked whatever its source, so a value of the wrong type or one that
// makes a useless broker (window = 0, max_frame_bytes = 0) never starts.
//
// Not thread-safe: made and resolved once, at start-up, by main.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

#include "weituo/broker/broker.h"
#include "weituo/common/settings.h"
#include "weituo/common/status.h"

namespace weituo::broker {

struct BrokerConfig {
  BrokerOptions options;
  std::string config_path;
  std::string log_level = "info";
  std::string http = "127.0.0.1:8080";
  std::string secret_key_file;
  std::string admin_token_file;  // empty: <data_dir>/admin.token
  std::string deadlines_file;
  std::string witness_tokens_file;
  std::string read_token_file;     // empty: <data_dir>/read.token
  bool open_reads = false;         // HTTP reads need no token
  std::string http_allowed_hosts;  // comma-separated Host names besides the listen address
  int64_t storage_reserve_mb = int64_t{256};
  // A member of a broker group (docs/group.md): the group's file and which
  // of its members this broker is. Empty: a broker of its own.
  std::string group_file;
  std::string member;
  // The member's own CURVE certificate for the replication (its secret
  // key); its public key is the group file's replication_public_key.
  std::string replication_secret_key_file;
};

class BrokerFlags {
 public:
  // Registers every setting of `*config` on `app` as a flag that shows its
  // type, range and default in --help. Both must outlive this object.
  BrokerFlags(CLI::App& app, BrokerConfig* config);

  // After `app` has parsed: reads the --config file, applies the flags given
  // on top, and checks the result. INVALID_ARGUMENT with the message for the
  // operator: "FILE: KEY: expected ..., got ...", "--FLAG: expected ...,
  // got ...", an unknown key, a missing required setting, or two settings
  // that do not fit together.
  Status Resolve();

 private:
  Status CheckTogether() const;

  CLI::App& app_;
  BrokerConfig* config_;
  SettingList settings_;
  std::map<std::string, std::string> text_;  // key -> the flag's text
  std::map<std::string, bool> switch_;       // key -> a switch flag was given
};

}  // namespace weituo::broker
