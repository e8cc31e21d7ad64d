#include "weituo/common/kv_store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <rocksdb/sst_file_manager.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "commit_marker.h"
#include "weituo/common/clock.h"
#include "weituo/common/keys.h"

namespace weituo {
namespace {

// In the default column family of every store that keeps a commit marker:
// be64, the number of the last synced commit (CommitMarker).
constexpr char kCommitKey[] = "weituo/commit";
// Beside it in a group's stores: be64, the term of the leader that wrote the
// commit.
constexpr char kTermKey[] = "weituo/term";

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::DataLoss(std::move(msg));
  if (s.IsNoSpace()) return Status::ResourceExhausted(std::move(msg));
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Status::Unavailable(std::move(msg));
  return Status::Internal(std::move(msg));
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// "000012.log (16460 bytes), 000015.log (0 bytes)": the write-ahead logs a
// recovery replays, named in its errors.
std::string WalFiles(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, uintmax_t>> logs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".log" && entry.is_regular_file(ec)) {
      logs.emplace_back(entry.path().filename().string(), entry.file_size(ec));
    }
  }
  std::sort(logs.begin(), logs.end());
  std::string out;
  for (const auto& [name, size] : logs) {
    out += (out.empty() ? "" : ", ") + (fs::path(dir) / name).string() + " (" +
           std::to_string(size) + " bytes)";
  }
  return out.empty() ? "none" : out;
}

}  // namespace

struct WriteBatch::Rep {
  rocksdb::WriteBatch wb;
  const std::vector<rocksdb::ColumnFamilyHandle*>* handles;
  size_t count = 0;
  Status refused;  // the first write RocksDB did not add; Commit returns it

  rocksdb::ColumnFamilyHandle* Handle(int cf) const { return handles->at(static_cast<size_t>(cf)); }
  void Added(const rocksdb::Status& s, std::string_view what) {
    if (s.ok()) {
      ++count;
    } else if (refused.ok()) {
      refused = Status::InvalidArgument("a batch's " + std::string(what) + " was refused (" +
                                        s.ToString() + "); nothing of the batch was written");
    }
  }
};

WriteBatch::WriteBatch(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::Put(int cf, std::string_view key, std::string_view value) {
  rep_->Added(rep_->wb.Put(rep_->Handle(cf), ToSlice(key), ToSlice(value)), "put");
}

void WriteBatch::Delete(int cf, std::string_view key) {
  rep_->Added(rep_->wb.Delete(rep_->Handle(cf), ToSlice(key)), "delete");
}

size_t WriteBatch::Count() const { return rep_->count; }
size_t WriteBatch::ByteSize() const { return rep_->wb.GetDataSize(); }
void WriteBatch::Clear() {
  rep_->wb.Clear();
  rep_->count = 0;
  rep_->refused = Status::Ok();
}

struct KvStore::Rep {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::string path;

  // Synced commits are numbered one at a time, so that the number in the
  // store and the marker's follow the order of the WAL.
  std::mutex commit_mu;
  std::optional<CommitMarker> marker;  // GUARDED_BY(commit_mu)
  uint64_t commit = 0;                 // GUARDED_BY(commit_mu): the last numbered
  uint64_t term = 0;                   // GUARDED_BY(commit_mu): of the last numbered
  uint64_t next_term = 0;              // GUARDED_BY(commit_mu): SetCommitTerm's
  CommitListener listener;             // GUARDED_BY(commit_mu)

  mutable std::mutex damage_mu;
  mutable StoreDamage damage;  // GUARDED_BY(damage_mu)
  std::string recovery_note;

  // DATA_LOSS is counted where it is met, whoever asked.
  Status Noted(Status s) const {
    if (s.code() == StatusCode::kDataLoss) Report(s.message());
    return s;
  }
  void Report(std::string what) const {
    std::lock_guard<std::mutex> lock(damage_mu);
    damage.count++;
    damage.last = std::move(what);
    damage.last_at_ms = NowMs();
  }

  rocksdb::ColumnFamilyHandle* Handle(int cf) const { return handles.at(static_cast<size_t>(cf)); }
  // Scan and ScanReverse: the keys of [start, end) from the first or from
  // the last.
  enum class Order { kForward, kReverse };
  Status Scan(Order order, int cf, std::string_view start, std::string_view end, size_t limit,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;
  // Checks the recovered commit number against the marker (`marked`, read
  // before the open) and, unless read-only, opens the marker for the
  // commits to come.
  Status CheckMarker(const StatusOr<std::optional<uint64_t>>& marked, const KvOptions& options,
                     const std::string& logs);
  // A numbered commit is written (durable if `synced`): the marker, and the
  // listener (commit_mu held).
  void Committed(uint64_t number, uint64_t written_term, std::string_view data, bool synced);

  ~Rep() {
    for (auto* h : handles) {
      if (db && h) db->DestroyColumnFamilyHandle(h);
    }
    if (db) db->Close();
  }
};

KvStore::KvStore(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
KvStore::~KvStore() = default;

namespace {

rocksdb::Options DbOptions(const KvOptions& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  // A bounded WAL keeps recovery after a crash short.
  db_options.max_total_wal_size = 64 << 20;
  db_options.keep_log_file_num = 4;
  // Memory that does not grow with the store: all memtables together are
  // capped, table files are opened on demand (a bounded number at once), and
  // their index and filter blocks live in the block cache, not beside it.
  db_options.db_write_buffer_size = 128 << 20;
  db_options.max_open_files = 512;
  // Recovery for a store that acknowledges only after a synced write
  // (docs/storage.md, "Recovery"): a record torn at the very end of a log
  // is a write that never completed and is dropped; corruption anywhere
  // else fails the open instead of being skipped, and the commit marker
  // catches a log that ends early.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.paranoid_checks = true;
  // Closed logs are recorded in the MANIFEST with their synced size, so a
  // missing or shortened one fails the open.
  db_options.track_and_verify_wals_in_manifest = true;
  // The recovered logs stay as they are until a normal flush: an open that
  // is then refused leaves the evidence in place, and a broker restarted
  // over and over on a full disk writes no new table files.
  db_options.avoid_flush_during_recovery = true;
  // Lets RocksDB recover by itself from a flush or compaction that ran out
  // of space, once space is back.
  db_options.sst_file_manager.reset(rocksdb::NewSstFileManager(rocksdb::Env::Default()));
  return db_options;
}

rocksdb::ColumnFamilyOptions CfOptions(const KvOptions& options) {
  rocksdb::ColumnFamilyOptions cf_options;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  // Most point lookups ask for ids that are not there yet (a new
  // submission, a new event): a bloom filter answers them without I/O.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Every block carries a checksum, checked on every read (RocksDB's
  // default verify_checksums); XXH3 is the strongest RocksDB 7 offers.
  table.checksum = rocksdb::kXXH3;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // A new table file is read back whole before it is used.
  cf_options.paranoid_file_checks = true;
  return cf_options;
}

}  // namespace

StatusOr<std::unique_ptr<KvStore>> KvStore::Open(const std::string& path,
                                                 const std::vector<std::string>& column_families,
                                                 const KvOptions& options) {
  rocksdb::Options db_options = DbOptions(options);
  rocksdb::ColumnFamilyOptions cf_options = CfOptions(options);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const std::string& name : column_families) descriptors.emplace_back(name, cf_options);

  if (options.create_if_missing && !options.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::Internal("cannot create " + path + ": " + ec.message());
    // The store holds debtors' personal data: its folder is the owner's alone.
    std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  const std::string logs = WalFiles(path);
  // Read before the store opens: a reader beside a running owner then
  // recovers at least what the marker names.
  auto marked = CommitMarker::Read(CommitMarker::PathIn(path));
  auto rep = std::make_unique<Rep>();
  rep->path = path;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &rep->handles, &raw)
          : rocksdb::DB::Open(db_options, path, descriptors, &rep->handles, &raw);
  if (!s.ok()) {
    Status failed = FromRocks(s, "open " + path);
    if (failed.code() != StatusCode::kDataLoss) return failed;
    return Status::DataLoss("the store " + path + " is damaged (" + s.ToString() +
                            "); write-ahead logs: " + logs);
  }
  rep->db.reset(raw);
  if (options.commit_marker) {
    WEITUO_RETURN_IF_ERROR(rep->CheckMarker(marked, options, logs));
  }
  return std::unique_ptr<KvStore>(new KvStore(std::move(rep)));
}

Status KvStore::Rep::CheckMarker(const StatusOr<std::optional<uint64_t>>& marked,
                                 const KvOptions& options, const std::string& logs) {
  const std::string marker_path = CommitMarker::PathIn(path);
  std::string value;
  rocksdb::Status got = db->Get(rocksdb::ReadOptions(), handles[0], kCommitKey, &value);
  if (!got.ok() && !got.IsNotFound()) return Noted(FromRocks(got, "read the commit number"));
  const bool numbered = got.ok();
  if (numbered && value.size() != 8) {
    return Status::DataLoss("the store " + path + " holds a damaged commit number");
  }
  commit = numbered ? ReadBigEndian64(value) : 0;
  std::string term_value;
  got = db->Get(rocksdb::ReadOptions(), handles[0], kTermKey, &term_value);
  if (!got.ok() && !got.IsNotFound()) return Noted(FromRocks(got, "read the commit's term"));
  if (got.ok() && term_value.size() != 8) {
    return Status::DataLoss("the store " + path + " holds a damaged term");
  }
  term = got.ok() ? ReadBigEndian64(term_value) : 0;
  std::string loss;
  // A marker that cannot be read (permissions, I/O) says nothing of loss.
  if (!marked.ok() && marked.status().code() != StatusCode::kDataLoss) return marked.status();
  if (!marked.ok()) {
    loss = marked.status().message();
  } else if (!marked->has_value() && numbered) {
    loss = "its commit marker " + marker_path + " is missing";
  } else if (marked->has_value() && **marked > commit) {
    loss = "it recovered commit " + std::to_string(commit) + " but commit " +
           std::to_string(**marked) + " had been acknowledged (" + marker_path +
           "): the newest writes are lost";
  }
  if (!loss.empty() && (!options.accept_loss || options.read_only)) {
    return Status::DataLoss("the store " + path + " has lost acknowledged writes: " + loss +
                            "; write-ahead logs: " + logs);
  }
  if (options.read_only) return Status::Ok();
  if (!loss.empty()) {
    recovery_note = "opened with an accepted loss: " + loss + "; the marker now names commit " +
                    std::to_string(commit);
  } else if (!marked->has_value()) {
    recovery_note = "made the commit marker " + marker_path;
  }
  if (!loss.empty() || !marked->has_value()) {
    WEITUO_RETURN_IF_ERROR(CommitMarker::WriteNow(marker_path, commit));
  }
  WEITUO_ASSIGN_OR_RETURN(marker, CommitMarker::OpenForUpdates(marker_path));
  return Status::Ok();
}

StatusOr<std::optional<std::string>> KvStore::Get(int cf, std::string_view key) const {
  std::string value;
  rocksdb::Status s = rep_->db->Get(rocksdb::ReadOptions(), rep_->Handle(cf), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return rep_->Noted(FromRocks(s, "get"));
  return std::optional<std::string>(std::move(value));
}

WriteBatch KvStore::NewBatch() const {
  auto rep = std::make_unique<WriteBatch::Rep>();
  rep->handles = &rep_->handles;
  return WriteBatch(std::move(rep));
}

Status KvStore::Commit(WriteBatch& batch, bool sync) {
  if (!batch.rep_->refused.ok()) return batch.rep_->refused;
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  if (!sync || !rep_->marker) return FromRocks(rep_->db->Write(wo, &batch.rep_->wb), "write");
  std::lock_guard<std::mutex> lock(rep_->commit_mu);
  const uint64_t number = rep_->commit + 1;
  std::string value;
  AppendBigEndian64(&value, number);
  // Not counted in the batch's Count(): it is the store's, not the caller's.
  // A batch committed again after a failure numbers itself again.
  WEITUO_RETURN_IF_ERROR(
      FromRocks(batch.rep_->wb.Put(rep_->handles[0], kCommitKey, value), "number the commit"));
  const uint64_t term = rep_->next_term != 0 ? rep_->next_term : rep_->term;
  if (rep_->next_term != 0) {
    std::string term_value;
    AppendBigEndian64(&term_value, term);
    WEITUO_RETURN_IF_ERROR(
        FromRocks(batch.rep_->wb.Put(rep_->handles[0], kTermKey, term_value), "record the term"));
  }
  if (!rep_->listener) {
    WEITUO_RETURN_IF_ERROR(FromRocks(rep_->db->Write(wo, &batch.rep_->wb), "write"));
    rep_->Committed(number, term, batch.rep_->wb.Data(), true);
    return Status::Ok();
  }
  // Replicated (a group's leader): the batch goes to the followers as soon
  // as it is written, and this store's sync runs while they apply and sync
  // theirs, so that a commit costs the slower of the two, not their sum.
  // Nothing is acknowledged before the sync returns and the group has it
  // (GroupHooks::WaitDurable); the marker names it only once it is synced.
  wo.sync = false;
  WEITUO_RETURN_IF_ERROR(FromRocks(rep_->db->Write(wo, &batch.rep_->wb), "write"));
  rep_->Committed(number, term, batch.rep_->wb.Data(), false);
  WEITUO_RETURN_IF_ERROR(FromRocks(rep_->db->SyncWAL(), "sync the write-ahead log"));
  (void)rep_->marker->Update(number);
  return Status::Ok();
}

void KvStore::Rep::Committed(uint64_t number, uint64_t written_term, std::string_view data,
                             bool synced) {
  commit = number;
  term = written_term;
  // The commit is durable whatever happens to the marker: one that could not
  // be updated only lags, which makes the next open's check weaker, never
  // wrong. An unsynced one is not named until a synced one follows it.
  if (synced) (void)marker->Update(number);
  if (listener) listener(number, written_term, data);
}

uint64_t KvStore::LastCommit() const {
  std::lock_guard<std::mutex> lock(rep_->commit_mu);
  return rep_->commit;
}

uint64_t KvStore::LastTerm() const {
  std::lock_guard<std::mutex> lock(rep_->commit_mu);
  return rep_->term;
}

void KvStore::SetCommitTerm(uint64_t term) {
  std::lock_guard<std::mutex> lock(rep_->commit_mu);
  rep_->next_term = term;
}

void KvStore::SetCommitListener(CommitListener listener) {
  std::lock_guard<std::mutex> lock(rep_->commit_mu);
  rep_->listener = std::move(listener);
}

namespace {

// Finds the commit number and term a batch records in the default column
// family (the last Put of each key wins, as in the batch's write).
class NumberReader : public rocksdb::WriteBatch::Handler {
 public:
  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    if (cf != 0 || value.size() != 8) return rocksdb::Status::OK();
    if (key == rocksdb::Slice(kCommitKey)) number = ReadBigEndian64(value.ToString());
    if (key == rocksdb::Slice(kTermKey)) term = ReadBigEndian64(value.ToString());
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  void LogData(const rocksdb::Slice&) override {}
  uint64_t number = 0;
  uint64_t term = 0;
};

}  // namespace

StatusOr<std::pair<uint64_t, uint64_t>> KvStore::BatchNumber(std::string_view batch) {
  // A batch's bytes begin with its 12-byte header (sequence, count).
  if (batch.size() < 12) {
    return Status::InvalidArgument("a replicated batch of " + std::to_string(batch.size()) +
                                   " bytes is shorter than a batch's header");
  }
  rocksdb::WriteBatch wb{std::string(batch)};
  NumberReader reader;
  rocksdb::Status s = wb.Iterate(&reader);
  if (!s.ok()) return Status::InvalidArgument("a replicated batch does not parse: " + s.ToString());
  return std::make_pair(reader.number, reader.term);
}

Status KvStore::ApplyReplicated(uint64_t number, uint64_t term, std::string_view batch, bool sync) {
  WEITUO_ASSIGN_OR_RETURN(auto recorded, BatchNumber(batch));
  if (!rep_->marker) return Status::FailedPrecondition("a replica keeps a commit marker");
  std::lock_guard<std::mutex> lock(rep_->commit_mu);
  if (number != rep_->commit + 1 || recorded.first != number) {
    return Status::FailedPrecondition("replicated commit " + std::to_string(number) +
                                      " (recording " + std::to_string(recorded.first) +
                                      ") does not follow commit " + std::to_string(rep_->commit));
  }
  rocksdb::WriteBatch wb{std::string(batch)};
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  WEITUO_RETURN_IF_ERROR(FromRocks(rep_->db->Write(wo, &wb), "write a replicated batch"));
  rep_->Committed(number, term, batch, sync);
  return Status::Ok();
}

Status KvStore::Resume() { return FromRocks(rep_->db->Resume(), "resume"); }

void KvStore::ReportDamage(std::string what) const { rep_->Report(std::move(what)); }

StoreDamage KvStore::damage() const {
  std::lock_guard<std::mutex> lock(rep_->damage_mu);
  return rep_->damage;
}

const std::string& KvStore::recovery_note() const { return rep_->recovery_note; }

Status KvStore::Scan(int cf, std::string_view start, std::string_view end, size_t limit,
                     const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return rep_->Scan(Rep::Order::kForward, cf, start, end, limit, fn);
}

Status KvStore::ScanReverse(
    int cf, std::string_view start, std::string_view end, size_t limit,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return rep_->Scan(Rep::Order::kReverse, cf, start, end, limit, fn);
}

Status KvStore::Rep::Scan(Order order, int cf, std::string_view start, std::string_view end,
                          size_t limit,
                          const std::function<bool(std::string_view, std::string_view)>& fn) const {
  // The range is the iterator's bounds: its first key is a seek to start,
  // its last the iterator's last.
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower = ToSlice(start);
  rocksdb::Slice upper = ToSlice(end);
  ro.iterate_lower_bound = &lower;
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, Handle(cf)));
  const bool forward = order == Order::kForward;
  size_t n = 0;
  for (forward ? it->Seek(lower) : it->SeekToLast(); it->Valid();
       forward ? it->Next() : it->Prev()) {
    if (limit != 0 && n >= limit) break;
    ++n;
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return Noted(FromRocks(it->status(), "scan"));
}

StatusOr<std::optional<std::string>> KvStore::LastKey(int cf, std::string_view start,
                                                      std::string_view end) const {
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower = ToSlice(start);
  ro.iterate_lower_bound = &lower;
  std::unique_ptr<rocksdb::Iterator> it(rep_->db->NewIterator(ro, rep_->Handle(cf)));
  if (end.empty()) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(ToSlice(end));
    if (it->Valid() && it->key() == ToSlice(end)) it->Prev();
  }
  if (!it->status().ok()) return rep_->Noted(FromRocks(it->status(), "seek"));
  if (!it->Valid()) return std::optional<std::string>();
  return std::optional<std::string>(it->key().ToString());
}

Status KvStore::Checkpoint(const std::string& dir) const {
  // Every commit numbered up to now is in the copy (perhaps some later
  // ones too): its marker may lag it, never lead it.
  uint64_t committed = 0;
  {
    std::lock_guard<std::mutex> lock(rep_->commit_mu);
    committed = rep_->commit;
  }
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(rep_->db.get(), &raw);
  if (!s.ok()) return FromRocks(s, "checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  WEITUO_RETURN_IF_ERROR(FromRocks(checkpoint->CreateCheckpoint(dir), "checkpoint to " + dir));
  if (!rep_->marker) return Status::Ok();
  return CommitMarker::WriteNow(CommitMarker::PathIn(dir), committed);
}

uint64_t KvStore::ApproximateSizeBytes() const {
  uint64_t total = 0;
  for (auto* h : rep_->handles) {
    uint64_t v = 0;
    if (rep_->db->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize, &v)) total += v;
  }
  return total;
}

}  // namespace weituo
