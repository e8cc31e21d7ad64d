// The commit marker: a small file beside a RocksDB store naming the number
// of the last synced commit that was acknowledged. The store keeps the same
// number inside every synced batch, so an open that recovers a lower number
// than the marker has lost acknowledged writes (a damaged or truncated WAL).
//
// The marker is written after the synced commit it names, without an fsync
// of its own: it can only lag the store (after a power cut), never lead it.
//
// Threading: one CommitMarker is used by one thread at a time (KvStore
// holds its commit mutex around Write).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "weituo/common/status.h"

namespace weituo {

class CommitMarker {
 public:
  // The marker file of the store at `dir`.
  static std::string PathIn(const std::string& dir);

  // The number the file names; nullopt if there is no file. DATA_LOSS if
  // the file is there but does not read as a marker.
  static StatusOr<std::optional<uint64_t>> Read(const std::string& path);

  // Writes `commit` to a new file (or over one), synced; for a new store,
  // an accepted loss and a backup's copy.
  static Status WriteNow(const std::string& path, uint64_t commit);

  // Opens the file for the updates of a running store (it must exist).
  static StatusOr<CommitMarker> OpenForUpdates(const std::string& path);
  CommitMarker(CommitMarker&& other) noexcept;
  CommitMarker& operator=(CommitMarker&& other) noexcept;
  ~CommitMarker();

  // Overwrites the file in place with `commit` (one pwrite, no fsync).
  Status Update(uint64_t commit);

 private:
  explicit CommitMarker(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace weituo
