// Reading TOML for the common module's loaders (directory, deadlines): one
// way to read a file and to word a syntax error. Private to common/.
#pragma once

#include <toml++/toml.h>
#include <fstream>
#include <sstream>
#include <string>

#include "weituo/common/status.h"

namespace weituo {

// The whole file; INVALID_ARGUMENT "cannot read <what> <path>" if it cannot.
inline StatusOr<std::string> ReadTextFile(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read " + what + " " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Parses `text`; INVALID_ARGUMENT "<origin>:<line>: <problem>" if it is not TOML.
inline StatusOr<toml::table> ParseToml(const std::string& text, const std::string& origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ": " << e.description();
    return Status::InvalidArgument(msg.str());
  }
}

}  // namespace weituo
