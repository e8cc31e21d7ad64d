#include "storage_guard.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace weituo::broker {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
// What opening the store writes before it can serve: a MANIFEST, an
// OPTIONS file and the first blocks of a new WAL.
constexpr uint64_t kRoomToOpen = 4 * kMiB;

std::string MiB(uint64_t bytes) { return std::to_string((bytes + kMiB / 2) / kMiB) + " MiB"; }

bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

// A file of `bytes` whose blocks are allocated (not sparse), synced.
Status MakeBallast(const std::string& path, uint64_t bytes) {
  const std::string tmp = path + ".new";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot make " + tmp + ": " + std::strerror(errno));
  int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  bool ok = rc == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::ResourceExhausted("cannot make the ballast " + path + ": " +
                                     std::strerror(rc ? rc : errno));
  }
  return Status::Ok();
}

}  // namespace

StorageLimits StorageLimits::For(uint64_t reserve_bytes) {
  StorageLimits l;
  l.reserve = reserve_bytes;
  l.margin = std::min<uint64_t>(reserve_bytes / 8, 64 * kMiB);
  l.ballast = reserve_bytes / 4;
  l.critical = reserve_bytes / 16;
  return l;
}

StatusOr<uint64_t> StorageGuard::StatvfsFreeSpace(const std::string& path) {
  std::filesystem::path p(path);
  while (!p.empty() && !Exists(p.string()) && p.has_parent_path() && p != p.parent_path()) {
    p = p.parent_path();
  }
  struct statvfs st {};
  if (::statvfs(p.c_str(), &st) != 0) {
    return Status::Internal("statvfs " + p.string() + ": " + std::strerror(errno));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

StorageGuard::StorageGuard(std::string dir, uint64_t reserve_bytes, int64_t check_every_ms,
                           FreeSpace free_space)
    : dir_(std::move(dir)),
      limits_(StorageLimits::For(reserve_bytes)),
      check_every_ms_(check_every_ms),
      free_space_(std::move(free_space)),
      ballast_held_(reserve_bytes > 0 && Exists(BallastPath(dir_))) {}

bool StorageGuard::ShouldRefuse(uint64_t free_bytes, const StorageLimits& limits, bool refusing) {
  if (limits.reserve == 0) return false;
  return free_bytes < limits.reserve + (refusing ? limits.margin : 0);
}

bool StorageGuard::WouldRefuse(uint64_t pending_bytes) const {
  if (refusing_) return true;
  if (limits_.reserve == 0 || free_bytes_ == 0) return false;  // not read yet
  const uint64_t counted = free_bytes_ + (ballast_held_ ? limits_.ballast : 0);
  const uint64_t coming = 2 * (written_since_read_ + pending_bytes);
  return counted < limits_.reserve + coming;
}

void StorageGuard::Committed(uint64_t bytes) {
  written_since_read_ += bytes;
  // A sixteenth of the reserve written: read the disk at the next turn.
  if (written_since_read_ > limits_.reserve / 16) next_check_ms_ = 0;
}

std::string StorageGuard::Check(int64_t now_ms) {
  if (limits_.reserve == 0 || now_ms < next_check_ms_) return "";
  next_check_ms_ = now_ms + check_every_ms_;
  auto free = free_space_(dir_);
  // A file system that cannot be asked is not taken for a full one.
  if (!free.ok()) return "";
  free_bytes_ = *free;
  written_since_read_ = 0;
  std::string changed;
  if (ballast_held_ && free_bytes_ < limits_.critical) {
    // Others are filling the disk: the store gets the ballast's room.
    if (::unlink(BallastPath(dir_).c_str()) == 0 || errno == ENOENT) {
      ballast_held_ = false;
      changed = "disk at the edge: gave up the ballast of " + MiB(limits_.ballast);
      auto after = free_space_(dir_);
      if (after.ok()) free_bytes_ = *after;
    }
  } else if (!ballast_held_ && free_bytes_ >= limits_.ballast + limits_.reserve) {
    if (MakeBallast(BallastPath(dir_), limits_.ballast).ok()) {
      ballast_held_ = true;
      changed = "made the ballast of " + MiB(limits_.ballast);
      auto after = free_space_(dir_);
      if (after.ok()) free_bytes_ = *after;
    }
  }
  const uint64_t counted = free_bytes_ + (ballast_held_ ? limits_.ballast : 0);
  const bool refuse = ShouldRefuse(counted, limits_, refusing_);
  if (refuse != refusing_) {
    refusing_ = refuse;
    changed += std::string(changed.empty() ? "" : "; ") +
               (refuse ? "below the reserve: refusing new submissions and updates"
                       : "above the reserve again: accepting submissions and updates");
  }
  return changed;
}

std::string StorageGuard::RefusalMessage() const {
  const uint64_t counted = free_bytes_ + (ballast_held_ ? limits_.ballast : 0);
  return "the broker's store has " + MiB(counted) + " free, below its reserve of " +
         MiB(limits_.reserve) +
         ": new submissions and updates are refused until space is freed; retry later";
}

StatusOr<bool> StorageGuard::RoomToOpen(const std::string& dir, uint64_t reserve_bytes,
                                        std::string* note) {
  WEITUO_ASSIGN_OR_RETURN(uint64_t free, StatvfsFreeSpace(dir));
  const StorageLimits limits = StorageLimits::For(reserve_bytes);
  if (free < std::max(limits.critical, kRoomToOpen) && Exists(BallastPath(dir))) {
    if (::unlink(BallastPath(dir).c_str()) == 0) {
      *note = "disk at the edge: gave up the ballast of " + MiB(limits.ballast);
      WEITUO_ASSIGN_OR_RETURN(free, StatvfsFreeSpace(dir));
    }
  }
  return free >= kRoomToOpen;
}

}  // namespace weituo::broker
