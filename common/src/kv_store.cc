#include "weituo/common/kv_store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <stdexcept>

namespace weituo {
namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Status::Unavailable(std::move(msg));
  return Status::Internal(std::move(msg));
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

struct WriteBatch::Rep {
  rocksdb::WriteBatch wb;
  const std::vector<rocksdb::ColumnFamilyHandle*>* handles;
  size_t count = 0;
};

WriteBatch::WriteBatch(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

// A failure to add to an in-memory batch means a column family index that
// Open never made: a programmer error.
void WriteBatch::Put(int cf, std::string_view key, std::string_view value) {
  rocksdb::Status s =
      rep_->wb.Put(rep_->handles->at(static_cast<size_t>(cf)), ToSlice(key), ToSlice(value));
  if (!s.ok()) throw std::logic_error("WriteBatch::Put: " + s.ToString());
  ++rep_->count;
}

void WriteBatch::Delete(int cf, std::string_view key) {
  rocksdb::Status s = rep_->wb.Delete(rep_->handles->at(static_cast<size_t>(cf)), ToSlice(key));
  if (!s.ok()) throw std::logic_error("WriteBatch::Delete: " + s.ToString());
  ++rep_->count;
}

size_t WriteBatch::Count() const { return rep_->count; }
size_t WriteBatch::ByteSize() const { return rep_->wb.GetDataSize(); }
void WriteBatch::Clear() {
  rep_->wb.Clear();
  rep_->count = 0;
}

struct KvStore::Rep {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  rocksdb::ColumnFamilyHandle* Handle(int cf) const { return handles.at(static_cast<size_t>(cf)); }

  ~Rep() {
    for (auto* h : handles) {
      if (db && h) db->DestroyColumnFamilyHandle(h);
    }
    if (db) db->Close();
  }
};

KvStore::KvStore(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
KvStore::~KvStore() = default;

StatusOr<std::unique_ptr<KvStore>> KvStore::Open(const std::string& path,
                                                 const std::vector<std::string>& column_families,
                                                 const KvOptions& options) {
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

  rocksdb::ColumnFamilyOptions cf_options;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  // Most point lookups ask for ids that are not there yet (a new
  // submission, a new event): a bloom filter answers them without I/O.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

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
  auto rep = std::make_unique<Rep>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &rep->handles, &raw)
          : rocksdb::DB::Open(db_options, path, descriptors, &rep->handles, &raw);
  if (!s.ok()) return FromRocks(s, "open " + path);
  rep->db.reset(raw);
  return std::unique_ptr<KvStore>(new KvStore(std::move(rep)));
}

StatusOr<std::optional<std::string>> KvStore::Get(int cf, std::string_view key) const {
  std::string value;
  rocksdb::Status s = rep_->db->Get(rocksdb::ReadOptions(), rep_->Handle(cf), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "get");
  return std::optional<std::string>(std::move(value));
}

WriteBatch KvStore::NewBatch() const {
  auto rep = std::make_unique<WriteBatch::Rep>();
  rep->handles = &rep_->handles;
  return WriteBatch(std::move(rep));
}

Status KvStore::Commit(WriteBatch& batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(rep_->db->Write(wo, &batch.rep_->wb), "write");
}

Status KvStore::Scan(int cf, std::string_view start, std::string_view end, size_t limit,
                     const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper = ToSlice(end);
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(rep_->db->NewIterator(ro, rep_->Handle(cf)));
  size_t n = 0;
  for (it->Seek(ToSlice(start)); it->Valid(); it->Next()) {
    if (limit != 0 && n >= limit) break;
    ++n;
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scan");
}

Status KvStore::ScanReverse(
    int cf, std::string_view start, std::string_view end, size_t limit,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower = ToSlice(start);
  rocksdb::Slice upper = ToSlice(end);
  ro.iterate_lower_bound = &lower;
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(rep_->db->NewIterator(ro, rep_->Handle(cf)));
  size_t n = 0;
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    if (limit != 0 && n >= limit) break;
    ++n;
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scan");
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
  if (!it->status().ok()) return FromRocks(it->status(), "seek");
  if (!it->Valid()) return std::optional<std::string>();
  return std::optional<std::string>(it->key().ToString());
}

Status KvStore::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(rep_->db.get(), &raw);
  if (!s.ok()) return FromRocks(s, "checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir), "checkpoint to " + dir);
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
