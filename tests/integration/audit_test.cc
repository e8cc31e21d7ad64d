// The trail is tamper-evident: every event is chained by hash to the
// commission's previous event and to the event stored before it, and
// `weituoctl verify` recomputes both chains over the store and names the
// first broken link. The test edits a stored event behind the broker's back.
#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include <signal.h>
#include <filesystem>

#include "harness.h"
#include "trail.h"
#include "weituo/common/keys.h"
#include "weituo/common/trail_hash.h"
#include "weituo/v1/commission.pb.h"
#include "weituo/v1/store.pb.h"

namespace weituo::testing {
namespace {

std::string Story(int n) {
  return R"({"caseNumber":"（2026）浙0127执)" + std::to_string(n) +
         R"(号","debtor":{"name":"某","regionCode":"330824"},"debtorLocate":{}})";
}

// Opens the broker's store (the broker stopped) and lets `edit` change the
// record of type Message stored under `key` in column family `cf`.
template <typename Message>
void EditStored(const std::string& path, const std::string& cf, const std::string& key,
                const std::function<void(Message&)>& edit) {
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* family = nullptr;
  for (size_t i = 0; i < families.size(); ++i) {
    if (families[i] == cf) family = handles[i];
  }
  ASSERT_NE(family, nullptr);
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), family, key, &value).ok());
  Message message;
  ASSERT_TRUE(message.ParseFromString(value));
  edit(message);
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), family, key, message.SerializeAsString()).ok());
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
}

// The event stored under (commission id, seq).
void EditStoredEvent(const std::string& path, const std::string& id, uint64_t seq,
                     const std::function<void(weituo::v1::Event&)>& edit) {
  EditStored<weituo::v1::Event>(path, "events", PrefixedSeqKey(id, seq), edit);
}

CommandResult Verify(Zone& zone) {
  return RunCommand({CtlBin(), "verify", "--data-dir", zone.dir() + "/broker"});
}

TEST(AuditTest, VerifyFindsTheFirstEditedEventExactly) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    WriteFile(zone.dir() + "/c.json", Story(i));
    CommandResult r = zone.Cli("chunan", {"submit", "-f", zone.dir() + "/c.json"});
    ASSERT_EQ(r.exit_code, 0);
    ids.push_back(SubmittedId(r));
  }
  for (const std::string& id : ids) {
    ASSERT_TRUE(WaitFor(
        [&] { return ShowView(zone, "chunan", id).record().state() == weituo::v1::COMPLETED; },
        std::chrono::seconds(20)));
  }
  // The events the agents received carry their hashes, chained.
  auto view = ShowView(zone, "chunan", ids[1]);
  ASSERT_GE(view.events_size(), 5);
  EXPECT_EQ(view.events(0).hash().size(), 32u);
  EXPECT_EQ(view.events(2).prev_hash(), view.events(1).hash());

  // Beside the running broker, and after it stops: all links hold.
  CommandResult live = Verify(zone);
  EXPECT_EQ(live.exit_code, 0) << live.out;
  zone.KillBroker(SIGTERM);
  CommandResult clean = Verify(zone);
  ASSERT_EQ(clean.exit_code, 0) << clean.out;
  EXPECT_NE(clean.out.find("verified: 15 events of 3 commissions, 15 links"), std::string::npos)
      << clean.out;

  // Someone rewrites who accepted the second commission.
  EditStoredEvent(zone.dir() + "/broker", ids[1], 3, [](weituo::v1::Event& e) {
    ASSERT_TRUE(e.update().has_accept());
    e.mutable_update()->mutable_accept()->set_handler("someone else");
  });
  CommandResult broken = Verify(zone);
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.out.find("BROKEN at event " + ids[1] + "#3: its content does not match"),
            std::string::npos)
      << broken.out;

  // Recomputing that event's hash to hide the edit breaks the next link.
  EditStoredEvent(zone.dir() + "/broker", ids[1], 3,
                  [](weituo::v1::Event& e) { e.set_hash(EventHash(e)); });
  broken = Verify(zone);
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.out.find("BROKEN at event " + ids[1] + "#4: prev_hash is not the hash of #3"),
            std::string::npos)
      << broken.out;

  // Rewriting the rest of that commission's chain to match is seen by its
  // record, which names the old last hash.

  std::string prev;
  EditStoredEvent(zone.dir() + "/broker", ids[1], 3,
                  [&](weituo::v1::Event& e) { prev = e.hash(); });
  for (uint64_t seq = 4; seq <= 5; ++seq) {
    EditStoredEvent(zone.dir() + "/broker", ids[1], seq, [&](weituo::v1::Event& e) {
      e.set_prev_hash(prev);
      e.set_hash(EventHash(e));
      prev = e.hash();
    });
  }
  broken = Verify(zone);
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.out.find("BROKEN at commission " + ids[1] + ": its record's last_hash"),
            std::string::npos)
      << broken.out;

  // Rewriting the record too hides it from the commission, not from the
  // global chain.
  EditStored<weituo::v1::CommissionRecord>(
      zone.dir() + "/broker", "commissions", ids[1],
      [&](weituo::v1::CommissionRecord& r) { r.set_last_hash(prev); });
  broken = Verify(zone);
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.out.find("BROKEN at chain link"), std::string::npos) << broken.out;
  EXPECT_NE(broken.out.find(ids[1] + "#3 is missing or not the event chained here"),
            std::string::npos)
      << broken.out;
}

// An operator backs the store up while the broker runs and agents work, then
// restores it: the copy opens as the store, holds everything up to the
// backup and nothing after, and its trail verifies.
TEST(AuditTest, BackupWhileRunningRestoresToThatMoment) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  auto submit = [&](int n) {
    WriteFile(zone.dir() + "/c.json", Story(n));
    CommandResult r = zone.Cli("chunan", {"submit", "-f", zone.dir() + "/c.json"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    std::string id = SubmittedId(r);
    EXPECT_TRUE(WaitFor(
        [&] { return ShowView(zone, "chunan", id).record().state() == weituo::v1::COMPLETED; },
        std::chrono::seconds(20)));
    return id;
  };
  std::string before = submit(1);

  // Without the token it is refused, and nothing is written.
  CommandResult refused =
      RunCommand({CtlBin(), "--url", "http://127.0.0.1:" + std::to_string(zone.http_port()),
                  "--token-file", zone.dir() + "/c.json", "backup"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(zone.dir() + "/broker-backups"));

  CommandResult backup = zone.Ctl({"backup"});
  ASSERT_EQ(backup.exit_code, 0) << backup.out;
  const std::string prefix = "backed up to ";
  ASSERT_EQ(backup.out.rfind(prefix, 0), 0u) << backup.out;
  std::string copy = backup.out.substr(prefix.size(), backup.out.find(" (") - prefix.size());
  EXPECT_EQ(copy.rfind(zone.dir() + "/broker-backups/store-", 0), 0u) << copy;
  std::string after = submit(2);

  // Restore: the broker stopped, a copy of the backup becomes its store.
  zone.KillBroker(SIGTERM);
  std::filesystem::copy(copy, zone.dir() + "/restored", std::filesystem::copy_options::recursive);
  CommandResult verified = RunCommand({CtlBin(), "verify", "--data-dir", zone.dir() + "/restored"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  EXPECT_NE(verified.out.find("of 1 commissions"), std::string::npos) << verified.out;
  // The tokens are files beside the store, not in it: the operator keeps hers.
  zone.StartBroker({"--data-dir", zone.dir() + "/restored", "--read-token-file",
                    zone.dir() + "/broker/read.token"});
  EXPECT_NE(zone.HttpGet("/api/commissions/" + before).find("COMPLETED"), std::string::npos);
  EXPECT_EQ(zone.HttpGet("/api/commissions/" + after).find("COMPLETED"), std::string::npos);
}

}  // namespace
}  // namespace weituo::testing
