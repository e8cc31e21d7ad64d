// Reading the small files a program reads at start-up: configs, the court
// directory, deadlines, CURVE key files, token files. A path is refused before
// anything is read unless it names a regular file within a size limit, so a
// FIFO cannot hang start-up and a device such as /dev/zero cannot exhaust it.
// Thread-safe: plain functions over files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "weituo/common/status.h"

namespace weituo {

// Configs, the directory, deadlines, token files: 1 MiB.
inline constexpr size_t kMaxConfigFileBytes = size_t{1} << 20;
// CURVE certificate files (a few hundred bytes as weituoctl keygen writes them): 4 KiB.
inline constexpr size_t kMaxKeyFileBytes = size_t{4} << 10;

struct SmallFile {
  std::string text;
  // The permission bits (st_mode & 07777) of the very file read, for
  // owner-only checks without a second lookup of the path.
  uint32_t mode = 0;
};

// Opens `path` without waiting (a FIFO with no writer does not block), checks
// that it is a regular file of at most `max_bytes`, and reads it whole.
// `what` names the file in errors ("court directory"). NOT_FOUND "cannot read
// <what> <path>: no such file" if it does not exist; INVALID_ARGUMENT "cannot
// read <what> <path>: ..." saying what it is instead ("a FIFO", "a
// directory", "a character device") or how large, or why it cannot be opened.
StatusOr<SmallFile> ReadSmallFile(const std::string& path, const std::string& what,
                                  size_t max_bytes);

}  // namespace weituo
