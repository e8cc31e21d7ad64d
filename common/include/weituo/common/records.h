// Decoding protobuf records read from a KvStore, shared by the broker's and
// the agent's stores so that a corrupt record is reported the same way.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "weituo/common/status.h"

namespace weituo {

// Passes an error through, maps absence to nullopt, and parses a present
// value as Message; INTERNAL naming `what` if the bytes do not parse.
template <typename Message>
StatusOr<std::optional<Message>> DecodeRecord(StatusOr<std::optional<std::string>> raw,
                                              std::string_view what) {
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<Message>();
  Message m;
  if (!m.ParseFromString(**raw)) {
    return Status::Internal("corrupt " + std::string(what) + " record in the store");
  }
  return std::optional<Message>(std::move(m));
}

}  // namespace weituo
