#include "commit_marker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace weituo {
namespace {

// One line of fixed length, so an update overwrites it whole:
//   "weituo-commit v1 <20 digits> <8 hex digits of FNV-1a over the digits>\n"
constexpr char kPrefix[] = "weituo-commit v1 ";
constexpr size_t kLineSize = sizeof(kPrefix) - 1 + 20 + 1 + 8 + 1;

uint32_t Fnv1a(const char* data, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 16777619u;
  }
  return h;
}

std::string Line(uint64_t commit) {
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020" PRIu64, commit);
  char line[kLineSize + 1];
  std::snprintf(line, sizeof line, "%s%s %08" PRIx32 "\n", kPrefix, digits, Fnv1a(digits, 20));
  return std::string(line, kLineSize);
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::Internal(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

std::string CommitMarker::PathIn(const std::string& dir) { return dir + "/COMMITTED"; }

StatusOr<std::optional<uint64_t>> CommitMarker::Read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<uint64_t>();
    return Errno("cannot open the commit marker", path);
  }
  struct stat st {};
  char buf[kLineSize + 1] = {};
  ssize_t n = -1;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) n = ::pread(fd, buf, sizeof buf, 0);
  const int read_errno = errno;
  ::close(fd);
  if (n < 0 && S_ISREG(st.st_mode)) {
    errno = read_errno;
    return Errno("cannot read the commit marker", path);
  }
  const std::string bad = "the commit marker " + path + " is damaged";
  if (n != static_cast<ssize_t>(kLineSize) || std::memcmp(buf, kPrefix, sizeof(kPrefix) - 1) != 0) {
    return Status::DataLoss(bad);
  }
  const char* digits = buf + sizeof(kPrefix) - 1;
  char check[9] = {};
  std::memcpy(check, digits + 21, 8);
  uint64_t commit = 0;
  for (int i = 0; i < 20; ++i) {
    if (digits[i] < '0' || digits[i] > '9') return Status::DataLoss(bad);
    commit = commit * 10 + static_cast<uint64_t>(digits[i] - '0');
  }
  char expected[9];
  std::snprintf(expected, sizeof expected, "%08" PRIx32, Fnv1a(digits, 20));
  if (std::memcmp(check, expected, 8) != 0) return Status::DataLoss(bad);
  return std::optional<uint64_t>(commit);
}

Status CommitMarker::WriteNow(const std::string& path, uint64_t commit) {
  const std::string tmp = path + ".new";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot write the commit marker", tmp);
  const std::string line = Line(commit);
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("cannot write the commit marker", path);
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename is durable only once its folder is synced: else a power cut
  // could leave a numbered store without its marker.
  const std::string dir = path.substr(0, path.find_last_of('/') + 1);
  int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("cannot sync the folder of", path);
  const bool synced = ::fsync(dir_fd) == 0;
  ::close(dir_fd);
  if (!synced) return Errno("cannot sync the folder of", path);
  return Status::Ok();
}

StatusOr<CommitMarker> CommitMarker::OpenForUpdates(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Errno("cannot open the commit marker", path);
  return CommitMarker(fd, path);
}

CommitMarker::CommitMarker(CommitMarker&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

CommitMarker& CommitMarker::operator=(CommitMarker&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

CommitMarker::~CommitMarker() {
  if (fd_ >= 0) ::close(fd_);
}

Status CommitMarker::Update(uint64_t commit) {
  const std::string line = Line(commit);
  if (::pwrite(fd_, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    return Errno("cannot update the commit marker", path_);
  }
  return Status::Ok();
}

}  // namespace weituo
