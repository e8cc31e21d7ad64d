// Small file helpers of the agent's spool and handlers (private).
#pragma once

#include <string>

#include "weituo/common/status.h"

namespace weituo::agent {

// Writes `content` to `path` through a temporary file in the same folder,
// synced, then renamed over `path` and the folder synced: a reader sees the
// old file or the whole new one, and a crash after return keeps it.
Status WriteFileAtomically(const std::string& path, const std::string& content);

// Renames `from` to `to` and syncs `to`'s folder.
Status MoveFileDurably(const std::string& from, const std::string& to);

// The whole file.
StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace weituo::agent
