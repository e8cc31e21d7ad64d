// Reading what people and scripts write: one JSON document of a message, or
// one per line (JSON Lines), in protobuf's JSON mapping.
#pragma once

#include <google/protobuf/util/json_util.h>

#include <sstream>
#include <string>
#include <vector>

#include "weituo/common/status.h"

namespace weituo {

// The messages in `text`: none if it is blank, one if it is one document
// (over any number of lines), else one per non-blank line. INVALID_ARGUMENT
// naming the line ("line 3: ...") and what is wrong there.
template <typename Message>
StatusOr<std::vector<Message>> ParseJsonOneOrPerLine(const std::string& text) {
  namespace pbjson = google::protobuf::util;
  std::vector<Message> out;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return out;
  Message one;
  auto whole = pbjson::JsonStringToMessage(text, &one);
  if (whole.ok()) {
    out.push_back(std::move(one));
    return out;
  }
  std::istringstream lines(text);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Message m;
    auto s = pbjson::JsonStringToMessage(line, &m);
    if (!s.ok()) {
      // A document over several lines: the whole text's error says more.
      if (out.empty() && line.find('}') == std::string::npos) {
        return Status::InvalidArgument(std::string(whole.message()));
      }
      return Status::InvalidArgument("line " + std::to_string(n) + ": " + std::string(s.message()));
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace weituo
