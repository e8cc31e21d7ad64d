// A thin, typed-free view of a RocksDB database with named column families,
// so that broker and agent share one border where rocksdb::Status becomes
// weituo::Status and no RocksDB type appears in another module's header.
//
// Damage is never silent: RocksDB's corruption becomes DATA_LOSS, is
// counted (damage()), and a store that recovers fewer synced commits than
// its commit marker names does not open (docs/storage.md, "Recovery").
//
// Thread-safety: all methods are safe to call concurrently (RocksDB's own
// guarantee; synced commits are serialised by the store); a WriteBatch is
// owned by one thread until committed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weituo/common/status.h"

namespace weituo {

class KvStore;

// Writes applied atomically by KvStore::Commit, made by KvStore::NewBatch and
// valid while that store lives. Column families are given by their index in
// the list passed to KvStore::Open.
class WriteBatch {
 public:
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  // Put and Delete only add to the batch in memory and do not fail there:
  // a write RocksDB refuses to add (a key or value of 4 GiB or more) makes
  // Commit of this batch INVALID_ARGUMENT, writing none of it, until Clear.
  void Put(int cf, std::string_view key, std::string_view value);
  void Delete(int cf, std::string_view key);
  // Number of Put and Delete operations added since construction or Clear.
  size_t Count() const;
  size_t ByteSize() const;
  void Clear();

 private:
  friend class KvStore;
  struct Rep;
  explicit WriteBatch(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

struct KvOptions {
  bool create_if_missing = true;
  size_t block_cache_bytes = 32 << 20;
  // Reads only, without the lock: safe beside a running owner (it sees what
  // was written up to the moment of opening). Commit fails.
  bool read_only = false;
  // Keep the commit marker (file COMMITTED in the store's folder): every
  // synced Commit numbers itself inside the batch and then in the marker, so
  // an open that recovers a lower number has lost acknowledged writes and
  // fails with DATA_LOSS. A read-only open checks it and writes nothing.
  bool commit_marker = true;
  // Open such a store anyway, moving the marker back to what was recovered:
  // an operator's explicit decision to run on without what was lost.
  bool accept_loss = false;
};

// What a store has noticed of its own damage since it was opened.
struct StoreDamage {
  uint64_t count = 0;  // corrupt reads: RocksDB corruption, records that do not parse
  std::string last;    // the last one, for operators (no personal data)
  int64_t last_at_ms = 0;
};

class KvStore {
 public:
  // Opens (creating if allowed) the database at `path` with these column
  // families, in this order; "default" is always index 0 and must not be
  // listed. DATA_LOSS naming the write-ahead log files if the store is
  // damaged (corruption anywhere but a torn final record of a batch that was
  // never acknowledged) or recovered fewer commits than its marker names;
  // RESOURCE_EXHAUSTED if the disk is full; INTERNAL with RocksDB's message
  // on other failures (e.g. the folder is locked by another process).
  static StatusOr<std::unique_ptr<KvStore>> Open(const std::string& path,
                                                 const std::vector<std::string>& column_families,
                                                 const KvOptions& options = {});
  ~KvStore();

  static constexpr int kDefault = 0;

  WriteBatch NewBatch() const;

  // nullopt if absent.
  StatusOr<std::optional<std::string>> Get(int cf, std::string_view key) const;

  // Applies the batch atomically; with sync the WAL is fsynced before return
  // and the commit is numbered (KvOptions::commit_marker). RESOURCE_EXHAUSTED
  // when the disk is full; INVALID_ARGUMENT, writing nothing, if the batch
  // refused a write (WriteBatch::Put). After a failed write RocksDB refuses
  // writes until Resume() succeeds.
  Status Commit(WriteBatch& batch, bool sync);

  // Clears RocksDB's error state after a failed write (flushing what it
  // holds); OK if there was none. Fails while the cause lasts (no space).
  Status Resume();

  // Records damage met above this border (a value that does not parse).
  void ReportDamage(std::string what) const;
  StoreDamage damage() const;
  // What the open decided that an operator must hear of: the marker was
  // made for an existing store, or a loss was accepted. Empty otherwise.
  const std::string& recovery_note() const;

  // Calls fn(key, value) for keys in [start, end) in order (end empty: no
  // bound) until fn returns false or `limit` keys were visited (0: no limit).
  Status Scan(int cf, std::string_view start, std::string_view end, size_t limit,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;

  // As Scan, from the last key of [start, end) down to the first.
  Status ScanReverse(int cf, std::string_view start, std::string_view end, size_t limit,
                     const std::function<bool(std::string_view, std::string_view)>& fn) const;

  // The last key in [start, end), nullopt if the range is empty.
  StatusOr<std::optional<std::string>> LastKey(int cf, std::string_view start,
                                               std::string_view end) const;

  // A consistent copy of the database as it is at the call, written to `dir`
  // (which must not exist yet; on the same file system, table files are
  // hard links, so it is quick and small). Safe while writes go on. The
  // copy opens as a database of its own, with a commit marker of its own.
  Status Checkpoint(const std::string& dir) const;

  // Approximate bytes on disk (SST + WAL), for status pages.
  uint64_t ApproximateSizeBytes() const;

  // ---- Replication (a broker group, docs/group.md) ----
  // Every numbered commit is one batch; a group's followers apply the
  // leader's batches, as its bytes, in the order of their numbers, so that
  // every member's store holds the same keys and values.

  // The number of the last synced commit (0 on a store that keeps no
  // marker or has none yet) and the term it was written in (0 if none).
  uint64_t LastCommit() const;
  uint64_t LastTerm() const;
  // From now on every numbered commit also records `term` (the leader's
  // term, in the default column family), so that a member that restarts
  // knows which leader wrote its last batch.
  void SetCommitTerm(uint64_t term);
  // Called after each numbered commit is written, on the committing thread,
  // with the commit's number, term and the batch as written (its bytes, the
  // number and term included); the store syncs it after the call, before
  // Commit returns, so that a follower's sync overlaps this one. Commits
  // are serialised: calls come in number order. Set before the first
  // commit; none: nothing is called (and a commit is one synced write).
  using CommitListener =
      std::function<void(uint64_t number, uint64_t term, std::string_view batch)>;
  void SetCommitListener(CommitListener listener);
  // Applies a leader's batch (the bytes a CommitListener was given), synced
  // unless `sync` is false (then the next synced one makes it durable too,
  // and only a synced one moves the marker): a follower syncs the last of
  // the batches it received together. FAILED_PRECONDITION unless `number`
  // is LastCommit() + 1 and the batch's own number is `number`;
  // INVALID_ARGUMENT for bytes that are not a batch. The listener is called
  // as for a commit.
  Status ApplyReplicated(uint64_t number, uint64_t term, std::string_view batch, bool sync = true);
  // The commit number and term a batch records (0 if it records none).
  static StatusOr<std::pair<uint64_t, uint64_t>> BatchNumber(std::string_view batch);

 private:
  struct Rep;
  explicit KvStore(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace weituo
