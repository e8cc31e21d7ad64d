#include "weituo/group/group_config.h"

#include <set>

#include "weituo/common/config_table.h"
#include "weituo/common/curve.h"
#include "weituo/common/settings.h"
#include "weituo/common/wire.h"

namespace weituo::group {

StatusOr<GroupConfig> GroupConfig::Load(const std::string& path) {
  WEITUO_ASSIGN_OR_RETURN(ConfigTable table, ConfigTable::ReadFile(path, "broker group file"));
  GroupConfig g;
  g.path = path;
  auto refuse = [&](const std::string& where, const std::string& problem) {
    return Status::InvalidArgument(where + ": " + problem);
  };
  if (!table.String("name", &g.name) && table.ok()) return refuse(path, "name is required");
  table.StringArray("etcd", &g.etcd);
  table.Int("lease_ttl_ms", 1000, 60000, &g.lease_ttl_ms);
  table.Int("min_in_sync", 1, 9, &g.min_in_sync);
  table.Int("ack_timeout_ms", 100, 60000, &g.ack_timeout_ms);
  table.Int("ring_mb", 1, 65536, &g.ring_mb);
  std::set<std::string> names;
  for (ConfigTable& m : table.TableArray("member")) {
    MemberConfig member;
    m.String("name", &member.name);
    if (!member.name.empty()) m.SetLabel("member \"" + member.name + "\"");
    m.String("courts", &member.courts);
    m.String("replication", &member.replication);
    m.String("http", &member.http);
    m.String("replication_public_key", &member.replication_public_key);
    if (!m.ok()) break;
    if (!IsValidCourtId(member.name)) {
      return refuse(m.Where(),
                    "name: expected a member name (a-z, 0-9, -), got \"" + member.name + "\"");
    }
    if (!names.insert(member.name).second) {
      return refuse(m.Where(), "name: \"" + member.name + "\" is listed twice");
    }
    for (auto [key, value] :
         {std::pair{"courts", &member.courts}, std::pair{"replication", &member.replication}}) {
      if (std::string bad = ExpectZmqEndpoint(*value); !bad.empty()) {
        return refuse(m.Where(),
                      std::string(key) + ": expected " + bad + ", got \"" + *value + "\"");
      }
    }
    if (!member.replication_public_key.empty() && !IsCurveKey(member.replication_public_key)) {
      return refuse(m.Where(),
                    "replication_public_key: expected a CURVE public key (40 Z85 "
                    "characters, weituoctl keygen), got \"" +
                        member.replication_public_key + "\"");
    }
    g.members.push_back(std::move(member));
  }
  WEITUO_RETURN_IF_ERROR(table.Finish());
  size_t keyed = 0;
  for (const MemberConfig& m : g.members) keyed += !m.replication_public_key.empty();
  if (keyed != 0 && keyed != g.members.size()) {
    return refuse(path,
                  "replication_public_key: give every member's, or none (plaintext "
                  "replication, development only)");
  }
  if (g.name.empty() || !IsValidCourtId(g.name)) {
    return refuse(path, "name: expected a group name (a-z, 0-9, -), got \"" + g.name + "\"");
  }
  if (g.etcd.empty()) return refuse(path, "etcd: expected at least one etcd endpoint");
  for (const std::string& e : g.etcd) {
    if (!e.starts_with("http://")) {
      return refuse(path, "etcd: expected http://HOST:PORT, got \"" + e + "\"");
    }
  }
  if (g.members.empty()) return refuse(path, "member: expected at least one [[member]]");
  if (static_cast<size_t>(g.min_in_sync) > g.members.size()) {
    return refuse(path, "min_in_sync: " + std::to_string(g.min_in_sync) + " is more than the " +
                            std::to_string(g.members.size()) + " members");
  }
  return g;
}

const MemberConfig* GroupConfig::Find(const std::string& name) const {
  for (const MemberConfig& m : members) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

}  // namespace weituo::group
