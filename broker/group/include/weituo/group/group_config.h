// A broker group's file (weituo-broker --group FILE; docs/group.md): the
// members, where each serves the courts and its followers, their
// replication keys, and etcd. Every member reads the same file.
//
//   name = "zone-demo"                      # the group's keys in etcd: /weituo/NAME/
//   etcd = ["http://127.0.0.1:2379"]
//   lease_ttl_ms = 3000
//   min_in_sync = 2
//   ack_timeout_ms = 1500
//   [[member]]
//   name = "b1"
//   courts = "tcp://127.0.0.1:5555"         # as in the agents' broker lists
//   replication = "tcp://127.0.0.1:5655"
//   http = "127.0.0.1:8080"                 # its status server, for /api/cluster
//   replication_public_key = "..."          # Z85; omit all of them: plaintext replication
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weituo/common/status.h"

namespace weituo::group {

struct MemberConfig {
  std::string name;
  std::string courts;
  std::string replication;
  std::string http;
  std::string replication_public_key;
};

struct GroupConfig {
  std::string path;
  std::string name;
  std::vector<std::string> etcd;
  int64_t lease_ttl_ms = 3000;
  int64_t min_in_sync = 2;
  int64_t ack_timeout_ms = 1500;
  int64_t ring_mb = 256;
  std::vector<MemberConfig> members;

  // INVALID_ARGUMENT naming the file and the key.
  static StatusOr<GroupConfig> Load(const std::string& path);
  const MemberConfig* Find(const std::string& name) const;
  // Every member lists its replication key (CURVE between members).
  bool curve() const { return !members.empty() && !members[0].replication_public_key.empty(); }
  // The etcd prefix of this group's keys: "/weituo/NAME/".
  std::string Prefix() const { return "/weituo/" + name + "/"; }
};

}  // namespace weituo::group
