// Damage to the broker's store is never silent (DESIGN.md, contract 9): a
// write-ahead log cut short or with flipped bytes stops the broker at start
// with the file named; `weituoctl verify --data-dir` finds a removed tail,
// a removed commission and a removed middle event, with the documented exit
// codes; the running broker refuses to serve an edited trail and says it is
// degraded; and a full disk is a refusal the origin's clerk sees, which
// ends by itself when space is freed (root only: it mounts a tmpfs).
#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness.h"
#include "raw_agent.h"
#include "trail.h"
#include "weituo/common/keys.h"
#include "weituo/v1/commission.pb.h"
#include "weituo/v1/store.pb.h"

namespace weituo::testing {
namespace {

namespace fs = std::filesystem;

std::string Story(int n) {
  return R"({"caseNumber":"（2026）浙0127执)" + std::to_string(n) +
         R"(号","debtor":{"name":"某","regionCode":"330824"},"debtorLocate":{}})";
}

// Submits `n` commissions from Chun'an to Kaihua (which answers them all)
// and waits until every one is COMPLETED at the origin; their ids.
std::vector<std::string> CompletedStories(Zone& zone, int n) {
  std::string lines;
  for (int i = 0; i < n; ++i) lines += Story(i) + "\n";
  WriteFile(zone.dir() + "/stories.json", lines);
  CommandResult r = zone.Cli("chunan", {"submit", "-f", zone.dir() + "/stories.json"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::vector<std::string> ids;
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) ids.push_back(line.substr(0, line.find(' ')));
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  for (const std::string& id : ids) {
    EXPECT_TRUE(WaitFor(
        [&] { return ShowView(zone, "chunan", id).record().state() == weituo::v1::COMPLETED; },
        std::chrono::seconds(30)))
        << id;
  }
  return ids;
}

// Runs the broker to its exit (at most 20 s, then it is killed and the
// test fails); its exit code, with its output in *out.
int RunBrokerToExit(const std::vector<std::string>& argv, const std::string& log,
                    std::string* out) {
  Process p = Process::Spawn(argv, {}, log);
  bool exited = WaitFor([&] { return !p.running(); }, std::chrono::seconds(20));
  if (!exited) p.Signal(SIGKILL);
  int code = p.Wait();
  *out = ReadFile(log);
  EXPECT_TRUE(exited) << "the broker started on a damaged store:\n" << *out;
  return code;
}

// The newest write-ahead log with something in it.
std::string NewestLog(const std::string& dir) {
  std::string newest;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log" && e.file_size() > 0) {
      newest = std::max(newest, e.path().string());
    }
  }
  return newest;
}

// The broker's store opened with RocksDB itself, as someone with access to
// the disk would: column families by name.
class RawStore {
 public:
  explicit RawStore(const std::string& path) {
    std::vector<std::string> families;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles_, &raw).ok());
    db_.reset(raw);
    for (size_t i = 0; i < families.size(); ++i) by_name_[families[i]] = handles_[i];
  }
  ~RawStore() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  void Delete(const std::string& cf, const std::string& key) {
    EXPECT_TRUE(db_->Delete(rocksdb::WriteOptions(), by_name_.at(cf), key).ok());
  }
  std::string Get(const std::string& cf, const std::string& key) {
    std::string value;
    EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), by_name_.at(cf), key, &value).ok()) << key;
    return value;
  }
  void Put(const std::string& cf, const std::string& key, const std::string& value) {
    EXPECT_TRUE(db_->Put(rocksdb::WriteOptions(), by_name_.at(cf), key, value).ok());
  }
  // The last link of the global chain: its key and the link.
  std::pair<std::string, weituo::v1::ChainLink> LastLink() {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), by_name_.at("chain")));
    it->SeekToLast();
    weituo::v1::ChainLink link;
    EXPECT_TRUE(it->Valid() && link.ParseFromString(it->value().ToString()));
    return {it->key().ToString(), link};
  }
  // Deletes the commission's whole trail: events, their chain links, the
  // record and the body.
  void DeleteCommission(const std::string& id, uint64_t events) {
    for (uint64_t seq = 1; seq <= events; ++seq) Delete("events", PrefixedSeqKey(id, seq));
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), by_name_.at("chain")));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      weituo::v1::ChainLink link;
      EXPECT_TRUE(link.ParseFromString(it->value().ToString()));
      if (link.commission_id() == id) Delete("chain", it->key().ToString());
    }
    Delete("commissions", id);
    Delete("bodies", id);
  }

 private:
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

CommandResult VerifyStore(const std::string& dir) {
  return RunCommand({CtlBin(), "verify", "--data-dir", dir});
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Killed while its last commissions were only in the write-ahead log, the
// broker's store is damaged two ways: the newest log cut to half its size,
// and 16 bytes flipped a third of the way in. Neither starts, each naming
// the log and what to do; verify reports both as breaks.
TEST(StorageTest, ADamagedWriteAheadLogStopsTheBrokerNamingIt) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  CompletedStories(zone, 30);
  zone.KillBroker(SIGKILL);
  const std::string store = zone.dir() + "/broker";
  ASSERT_FALSE(NewestLog(store).empty()) << "the commissions are expected in the WAL only";

  for (const std::string damage : {"truncated", "flipped"}) {
    SCOPED_TRACE(damage);
    const std::string copy = zone.dir() + "/" + damage;
    fs::copy(store, copy, fs::copy_options::recursive);
    const std::string log = NewestLog(copy);
    const auto size = fs::file_size(log);
    if (damage == std::string("truncated")) {
      fs::resize_file(log, size / 2);
    } else {
      std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(size / 3));
      f.write("\xde\xad\xbe\xef\xde\xad\xbe\xef\xde\xad\xbe\xef\xde\xad\xbe\xef", 16);
    }
    std::string out;
    EXPECT_EQ(RunBrokerToExit(zone.BrokerArgv({"--data-dir", copy}), copy + ".log", &out), 3);
    EXPECT_TRUE(Contains(out, "DATA_LOSS")) << out;
    EXPECT_TRUE(Contains(out, fs::path(log).filename().string())) << out;
    EXPECT_TRUE(Contains(out, "Restore the last backup")) << out;
    EXPECT_TRUE(
        Contains(out, damage == std::string("truncated") ? "had been acknowledged" : "is damaged"))
        << out;
    EXPECT_EQ(fs::file_size(log), damage == std::string("truncated") ? size / 2 : size)
        << "the damaged log is left as it was found";
    CommandResult verified = VerifyStore(copy);
    EXPECT_EQ(verified.exit_code, 1) << verified.out;
    EXPECT_TRUE(Contains(verified.out, "BROKEN")) << verified.out;
  }

  // The operator who decides to run on without the lost commissions says
  // so once; the broker then starts, and starts again without the flag.
  const std::string accepted = zone.dir() + "/truncated";
  zone.StartBroker({"--data-dir", accepted, "--accept-data-loss"});
  zone.KillBroker(SIGTERM);
  EXPECT_TRUE(Contains(ReadFile(zone.dir() + "/broker.log"), "accepted loss"));
  zone.StartBroker({"--data-dir", accepted});
  EXPECT_TRUE(zone.BrokerRunning());
}

// An agent's store is held to the same rule: its write-ahead log cut short
// after a kill, `weituo-agent run` stops with exit code 3 and says why.
TEST(StorageTest, AnAgentWillNotRunOnAStoreThatLostWhatItAcknowledged) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  CompletedStories(zone, 10);
  zone.KillAgent("chunan", SIGKILL);
  const std::string log = NewestLog(zone.dir() + "/chunan-data");
  ASSERT_FALSE(log.empty());
  fs::resize_file(log, fs::file_size(log) / 2);
  Process agent = Process::Spawn({AgentBin(), "run", "-c", zone.ConfigPath("chunan")}, {},
                                 zone.dir() + "/chunan-damaged.log");
  ASSERT_TRUE(WaitFor([&] { return !agent.running(); }, std::chrono::seconds(20)))
      << "the agent started on a damaged store";
  EXPECT_EQ(agent.Wait(), 3);
  const std::string out = ReadFile(zone.dir() + "/chunan-damaged.log");
  EXPECT_TRUE(Contains(out, "DATA_LOSS")) << out;
  EXPECT_TRUE(Contains(out, fs::path(log).filename().string())) << out;
  EXPECT_TRUE(Contains(out, "--accept-data-loss")) << out;
}

// Someone with the disk removes the newest event with its chain link, the
// newest commission entirely, or an event in the middle: verify finds each
// (exit 1) and the broker will not start on a store whose newest links are
// gone. A store it cannot open exits 2.
TEST(StorageTest, VerifyFindsWhatWasRemovedFromTheStore) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  std::vector<std::string> ids = CompletedStories(zone, 3);
  zone.KillBroker(SIGTERM);
  const std::string store = zone.dir() + "/broker";
  CommandResult clean = VerifyStore(store);
  ASSERT_EQ(clean.exit_code, 0) << clean.out;
  ASSERT_TRUE(Contains(clean.out, "verified: 15 events of 3 commissions, 15 links")) << clean.out;

  auto damaged = [&](const std::string& name, const std::function<void(RawStore&)>& edit) {
    const std::string copy = zone.dir() + "/" + name;
    fs::copy(store, copy, fs::copy_options::recursive);
    RawStore raw(copy);
    edit(raw);
    return copy;
  };
  // The newest event and its link.
  const std::string tail = damaged("tail", [&](RawStore& raw) {
    auto [key, link] = raw.LastLink();
    raw.Delete("chain", key);
    raw.Delete("events", PrefixedSeqKey(link.commission_id(), link.seq()));
  });
  CommandResult r = VerifyStore(tail);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(Contains(r.out, "as the last but the trail ends at #4 (events were removed)"))
      << r.out;
  std::string out;
  EXPECT_EQ(RunBrokerToExit(zone.BrokerArgv({"--data-dir", tail}), tail + ".log", &out), 3);
  EXPECT_TRUE(Contains(out, "the newest events were removed")) << out;

  // The newest commission: events, links, record and body.
  const std::string newest = damaged("newest", [&](RawStore& raw) {
    raw.DeleteCommission(raw.LastLink().second.commission_id(), 5);
  });
  r = VerifyStore(newest);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(Contains(r.out, "counted 3 commissions but the store holds 2")) << r.out;
  EXPECT_EQ(RunBrokerToExit(zone.BrokerArgv({"--data-dir", newest}), newest + ".log", &out), 3);
  EXPECT_TRUE(Contains(out, "the newest events were removed")) << out;

  // An event in the middle of the second commission's trail.
  const std::string middle =
      damaged("middle", [&](RawStore& raw) { raw.Delete("events", PrefixedSeqKey(ids[1], 3)); });
  r = VerifyStore(middle);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(Contains(r.out, "event " + ids[1] + "#4: follows #2 (an event is missing)")) << r.out;

  // A table file with flipped bytes (the raw open above flushed the store
  // into tables): RocksDB's block checksum finds it, and that is a break.
  std::string table;
  for (const auto& e : fs::directory_iterator(middle)) {
    if (e.path().extension() == ".sst" && (table.empty() || e.file_size() > fs::file_size(table))) {
      table = e.path().string();
    }
  }
  ASSERT_FALSE(table.empty());
  {
    std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(table) / 4));
    f.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
  }
  r = VerifyStore(middle);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(Contains(r.out, "BROKEN")) << r.out;

  r = VerifyStore(zone.dir() + "/no-such-store");
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

// The running broker checks a trail when it serves it: one edited behind
// its back is answered with an error, counted, logged, and /readyz says
// the broker is degraded.
TEST(StorageTest, TheRunningBrokerWillNotServeAnEditedTrail) {
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  std::vector<std::string> ids = CompletedStories(zone, 2);
  EXPECT_FALSE(zone.HttpGet("/api/commissions/" + ids[0]).empty());
  zone.KillBroker(SIGTERM);
  {
    RawStore raw(zone.dir() + "/broker");
    weituo::v1::Event event;
    ASSERT_TRUE(event.ParseFromString(raw.Get("events", PrefixedSeqKey(ids[0], 3))));
    event.mutable_update()->mutable_accept()->set_handler("someone else");
    raw.Put("events", PrefixedSeqKey(ids[0], 3), event.SerializeAsString());
  }
  zone.StartBroker();
  EXPECT_EQ(HttpGet(zone.http_port(), "/readyz"), "ready\n");
  std::string answer =
      HttpGetAnswer(zone.http_port(), "/api/commissions/" + ids[0], zone.ReadToken());
  EXPECT_TRUE(Contains(answer, "500")) << answer;
  EXPECT_TRUE(Contains(answer, "fails its check at event " + ids[0] + "#3")) << answer;
  EXPECT_FALSE(Contains(answer, "someone else")) << answer;
  EXPECT_FALSE(zone.HttpGet("/api/commissions/" + ids[1]).empty()) << "the other trail is whole";
  std::string ready;
  EXPECT_TRUE(WaitFor(
      [&] {
        ready = HttpGetAnswer(zone.http_port(), "/readyz");
        return Contains(ready, "503") && Contains(ready, "store damaged");
      },
      std::chrono::seconds(5)))
      << ready;
  EXPECT_TRUE(Contains(zone.HttpGet("/metrics"), "weituo_store_damage_total 1")) << "counted";
  EXPECT_TRUE(Contains(ReadFile(zone.dir() + "/broker.log"), "store damaged"));
}

TEST(StorageTest, ARecordPutBackOlderThanItsTrailIsNotServed) {
  // A record restored from an older copy, consistent with the first events
  // of its trail: serving only those would show an old state as whole.
  Zone zone;
  zone.StartBroker();
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  std::vector<std::string> ids = CompletedStories(zone, 1);
  zone.KillBroker(SIGTERM);
  {
    RawStore raw(zone.dir() + "/broker");
    weituo::v1::CommissionRecord record;
    ASSERT_TRUE(record.ParseFromString(raw.Get("commissions", ids[0])));
    ASSERT_GT(record.last_seq(), 2u);
    weituo::v1::Event before;
    ASSERT_TRUE(
        before.ParseFromString(raw.Get("events", PrefixedSeqKey(ids[0], record.last_seq() - 1))));
    record.set_last_seq(record.last_seq() - 1);
    record.set_last_hash(before.hash());
    record.set_state(before.state());
    raw.Put("commissions", ids[0], record.SerializeAsString());
  }
  zone.StartBroker();
  std::string answer =
      HttpGetAnswer(zone.http_port(), "/api/commissions/" + ids[0], zone.ReadToken());
  EXPECT_TRUE(Contains(answer, "500")) << answer;
  EXPECT_TRUE(Contains(answer, "(the record is stale)")) << answer;
  std::string metrics;
  EXPECT_TRUE(WaitFor(
      [&] {
        metrics = zone.HttpGet("/metrics");
        return Contains(metrics, "weituo_store_damage_total 1");
      },
      std::chrono::seconds(5)))
      << "counted";
}

TEST(StorageTest, ABusyCommissionsTrailIsServedWholeWhileItGrows) {
  // The broker checks every trail it serves; one read while the loop
  // commits the commission's next events must not be taken for damage.
  Zone zone;
  zone.StartBroker();
  zmq::context_t ctx;
  RawAgent chunan(ctx, zone, "chunan");
  ASSERT_TRUE(chunan.Hello("chunan").has_welcome());
  weituo::v1::Commission c = Valid("chunan");
  chunan.Send(SubmitOf(c));
  ASSERT_TRUE(chunan.Receive().has_submit_receipt());
  RawAgent kaihua(ctx, zone, "kaihua");
  kaihua.skip_deliveries();
  ASSERT_TRUE(kaihua.Hello("kaihua").has_welcome());
  weituo::v1::Update accept;
  accept.set_commission_id(c.id());
  accept.mutable_accept()->set_handler("clerk");
  kaihua.Send(UpdateOf("accept", accept));
  ASSERT_TRUE(kaihua.Receive().has_update_receipt());

  constexpr int kProgress = 1000;
  std::atomic<bool> done{false};
  std::thread target([&] {
    for (int i = 0; i < kProgress; ++i) {
      weituo::v1::Update progress;
      progress.set_commission_id(c.id());
      progress.mutable_progress()->set_text("step " + std::to_string(i));
      kaihua.Send(UpdateOf("p" + std::to_string(i), progress));
    }
    for (int i = 0; i < kProgress; ++i) {
      if (!kaihua.Receive().has_update_receipt()) break;
    }
    done = true;
  });
  int reads = 0, refused = 0;
  while (!done) {
    std::string answer =
        HttpGetAnswer(zone.http_port(), "/api/commissions/" + c.id(), zone.ReadToken());
    ++reads;
    if (!Contains(answer, "200 OK")) {
      ++refused;
      ADD_FAILURE() << answer.substr(0, 400);
    }
  }
  target.join();
  EXPECT_EQ(refused, 0) << "of " << reads << " reads";
  EXPECT_GT(reads, 0);
  const std::string trail = zone.HttpGet("/api/commissions/" + c.id());
  EXPECT_TRUE(Contains(trail, "step " + std::to_string(kProgress - 1))) << "all were applied";
  EXPECT_TRUE(Contains(zone.HttpGet("/metrics"), "weituo_store_damage_total 0"));
  EXPECT_EQ(HttpGet(zone.http_port(), "/readyz"), "ready\n");
}

// A tmpfs of its own, unmounted (lazily) at the end.
class SmallDisk {
 public:
  SmallDisk(const std::string& path, int mib) : path_(path) {
    fs::create_directories(path);
    const std::string options = "size=" + std::to_string(mib) + "m,mode=0700";
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  uint64_t FreeBytes() const {
    struct statvfs st {};
    ::statvfs(path_.c_str(), &st);
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  }
  // Fills it with a file (or as much of one as fits) until `leave` bytes
  // are free.
  void FillLeaving(const std::string& file, uint64_t leave) {
    std::ofstream out(file, std::ios::binary | std::ios::app);
    const std::string chunk(64 << 10, 'z');
    while (FreeBytes() > leave + chunk.size() && out.write(chunk.data(), chunk.size())) {
      out.flush();
    }
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

// The broker's store on a 48 MiB disk with a 16 MiB reserve (a ballast of
// 4 MiB within it). Filled below the reserve, the broker refuses new
// submissions with STORAGE_FULL, which the clerk sees, and resumes by itself
// when space is freed; filled to the last byte by someone else, it gives up
// its ballast and keeps running; started on a disk with no room at all, it
// waits instead of exiting. Every receipted commission is there afterwards.
TEST(StorageTest, AFullDiskIsARefusalThatEndsWhenSpaceIsFreed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs for the store";
  Zone zone;
  SmallDisk disk(zone.dir() + "/broker", 48);
  ASSERT_TRUE(disk.mounted()) << "mount tmpfs: " << std::strerror(errno);
  const std::string filler = zone.dir() + "/broker/filler";
  zone.StartBroker({"--storage-reserve-mb", "16"});
  zone.StartAgent("kaihua", /*auto_responder=*/true);
  zone.StartAgent("chunan", false);
  std::vector<std::string> ids = CompletedStories(zone, 3);
  ASSERT_TRUE(
      WaitFor([&] { return fs::exists(zone.dir() + "/broker/BALLAST"); }, std::chrono::seconds(5)));

  // Below the reserve: the broker refuses, the clerk sees why.
  disk.FillLeaving(filler, 10 << 20);
  std::string status = StatusShowing(zone, {"\"refusing\":true"});
  ASSERT_TRUE(Contains(status, "\"refusing\":true")) << status;
  WriteFile(zone.dir() + "/late.json", Story(100));
  CommandResult late =
      zone.Cli("chunan", {"submit", "--wait", "3", "-f", zone.dir() + "/late.json"});
  EXPECT_EQ(late.exit_code, 4) << late.out;
  EXPECT_TRUE(Contains(late.out, "STORAGE_FULL")) << late.out;
  const std::string late_id = SubmittedId(late);
  EXPECT_TRUE(Contains(zone.Cli("chunan", {"status"}).out, "the broker refuses for now"));
  EXPECT_GE(AgentStatusOf(zone, "chunan").counters().at("broker_refused_for_now"), 1u);
  EXPECT_TRUE(Contains(zone.Cli("chunan", {"show", late_id}).out, "STORAGE_FULL"));
  EXPECT_TRUE(Contains(zone.HttpGet("/metrics"), "weituo_storage_refusing 1"));

  // Someone else takes the rest: the ballast is given up, the broker runs.
  disk.FillLeaving(filler, 0);
  ASSERT_TRUE(WaitFor([&] { return !fs::exists(zone.dir() + "/broker/BALLAST"); },
                      std::chrono::seconds(5)));
  EXPECT_TRUE(zone.BrokerRunning());
  EXPECT_TRUE(Contains(zone.Cli("chunan", {"status"}).out, "connected"));

  // Space freed: the queued commission is stored and answered, no restart.
  fs::remove(filler);
  EXPECT_TRUE(WaitFor(
      [&] { return ShowView(zone, "chunan", late_id).record().state() == weituo::v1::COMPLETED; },
      std::chrono::seconds(30)));
  EXPECT_TRUE(Contains(zone.HttpGet("/metrics"), "weituo_storage_refusing 0"));

  // A disk with no room at all when the broker starts: it waits, writing
  // nothing, and opens the store once there is room.
  zone.KillBroker(SIGTERM);
  fs::remove(zone.dir() + "/broker/BALLAST");
  disk.FillLeaving(filler, 0);
  std::vector<std::string> before;
  for (const auto& e : fs::directory_iterator(zone.dir() + "/broker")) {
    before.push_back(e.path().filename().string());
  }
  Process waiting = Process::Spawn(zone.BrokerArgv({"--storage-reserve-mb", "16"}), {},
                                   zone.dir() + "/waiting.log");
  ASSERT_TRUE(WaitFor([&] { return Contains(ReadFile(zone.dir() + "/waiting.log"), "waiting"); },
                      std::chrono::seconds(10)));
  EXPECT_TRUE(waiting.running());
  std::vector<std::string> after;
  for (const auto& e : fs::directory_iterator(zone.dir() + "/broker")) {
    after.push_back(e.path().filename().string());
  }
  EXPECT_EQ(after, before) << "nothing written while waiting";
  fs::remove(filler);
  EXPECT_TRUE(WaitFor([&] { return !HttpGet(zone.http_port(), "/healthz").empty(); },
                      std::chrono::seconds(20)));
  for (const std::string& id : ids) {
    EXPECT_TRUE(Contains(zone.HttpGet("/api/commissions/" + id), "COMPLETED")) << id;
  }
  EXPECT_TRUE(Contains(zone.HttpGet("/api/commissions/" + late_id), "COMPLETED"));
  waiting.Signal(SIGTERM);
  EXPECT_EQ(waiting.Wait(), 0);
}

}  // namespace
}  // namespace weituo::testing
