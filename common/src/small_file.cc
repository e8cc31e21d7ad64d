#include "weituo/common/small_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace weituo {
namespace {

const char* KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string Size(size_t bytes) {
  if (bytes % 1024 == 0 && bytes >= 1024) {
    if (bytes % (1024 * 1024) == 0) return std::to_string(bytes >> 20) + " MiB";
    return std::to_string(bytes >> 10) + " KiB";
  }
  return std::to_string(bytes) + " bytes";
}

// Closes the descriptor on every way out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

StatusOr<SmallFile> ReadSmallFile(const std::string& path, const std::string& what,
                                  size_t max_bytes) {
  const std::string name = "cannot read " + what + " " + path + ": ";
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
  if (file.fd < 0) {
    if (errno == ENOENT) return Status::NotFound(name + "no such file");
    return Status::InvalidArgument(name + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) return Status::InvalidArgument(name + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(name + "it is " + KindOf(st.st_mode) + ", not a regular file");
  }
  auto too_large = [&] {
    return Status::InvalidArgument(name + "it is larger than " + Size(max_bytes) +
                                   ", which is more than a " + what + " can need");
  };
  if (static_cast<uint64_t>(st.st_size) > max_bytes) return too_large();
  SmallFile out;
  out.mode = static_cast<uint32_t>(st.st_mode & 07777);
  // Read one byte past the limit: a file that grew since fstat is caught too.
  out.text.resize(max_bytes + 1);
  size_t got = 0;
  while (got < out.text.size()) {
    ssize_t n = ::read(file.fd, out.text.data() + got, out.text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::InvalidArgument(name + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > max_bytes) return too_large();
  out.text.resize(got);
  return out;
}

}  // namespace weituo
