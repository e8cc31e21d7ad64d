// The storage guard keeps the broker's store away from a full disk, which
// RocksDB does not survive (Debian's build aborts at the first failed WAL
// write). Below a reserve of free space the broker refuses new submissions
// and updates (STORAGE_FULL, retryable) while acknowledgements, deadline
// reviews and reads go on inside the reserve. A ballast file, part of the
// reserve, is given up when other writers push the disk to the edge, so
// that the store keeps room to write while operators free space; it is
// made again once there is room.
//
// Threading: owned by the broker's loop thread; not thread-safe. RoomToOpen
// is a free function for the start-up, before the loop exists.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "weituo/common/status.h"

namespace weituo::broker {

// The sizes the guard works with, all derived from the reserve
// (docs/storage.md, "A full disk").
struct StorageLimits {
  uint64_t reserve = 0;   // below this (ballast counted as free), refuse new work
  uint64_t margin = 0;    // refusing stops above reserve + margin
  uint64_t ballast = 0;   // the ballast file's size: a quarter of the reserve
  uint64_t critical = 0;  // real free space below which the ballast is given up
  static StorageLimits For(uint64_t reserve_bytes);
};

class StorageGuard {
 public:
  // Free bytes on the file system holding `path` or its nearest existing
  // parent (statvfs, the space an unprivileged writer may use).
  using FreeSpace = std::function<StatusOr<uint64_t>(const std::string& path)>;
  static StatusOr<uint64_t> StatvfsFreeSpace(const std::string& path);

  // `dir` is the store's folder (the ballast lives in it); reserve_bytes 0:
  // no reserve, no ballast, never refuses.
  StorageGuard(std::string dir, uint64_t reserve_bytes, int64_t check_every_ms = 1000,
               FreeSpace free_space = StatvfsFreeSpace);

  // The pure rule of refusing, ballast counted as free: below the reserve;
  // once refusing, until above the reserve plus the margin.
  static bool ShouldRefuse(uint64_t free_bytes, const StorageLimits& limits, bool refusing);

  // Reads the free space if the last reading is older than check_every_ms
  // (monotonic `now_ms`), gives up or makes the ballast as needed. Returns
  // what changed, for the log: empty if nothing did.
  std::string Check(int64_t now_ms);

  bool refusing() const { return refusing_; }
  // Whether new work of `pending_bytes` (the turn's batch so far) would take
  // the store below the reserve, counting what was committed since the last
  // reading twice (its WAL, then its flush into tables): a burst within one
  // second is refused before the next reading. Refusing() included.
  bool WouldRefuse(uint64_t pending_bytes) const;
  // `bytes` were committed; many of them bring the next reading forward.
  void Committed(uint64_t bytes);
  uint64_t free_bytes() const { return free_bytes_; }  // real, without the ballast
  uint64_t reserve_bytes() const { return limits_.reserve; }
  bool ballast_held() const { return ballast_held_; }
  // The refusal a submitter reads: how much is free and what the reserve is.
  std::string RefusalMessage() const;

  // Before the store is opened: gives up the ballast if the disk is at the
  // edge, and says whether there is room to open (a few MiB: a new MANIFEST,
  // OPTIONS file and WAL). An error only if the file system cannot be read.
  static StatusOr<bool> RoomToOpen(const std::string& dir, uint64_t reserve_bytes,
                                   std::string* note);
  static std::string BallastPath(const std::string& dir) { return dir + "/BALLAST"; }

 private:
  std::string dir_;
  StorageLimits limits_;
  int64_t check_every_ms_;
  FreeSpace free_space_;
  int64_t next_check_ms_ = 0;
  uint64_t free_bytes_ = 0;
  bool refusing_ = false;
  bool ballast_held_ = false;
  uint64_t written_since_read_ = 0;
};

}  // namespace weituo::broker
