// Decoding protobuf records read from a KvStore, shared by the broker's and
// the agent's stores so that a corrupt record is reported the same way
// (DATA_LOSS, counted in the store's damage()), never skipped or taken for
// an absent one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weituo/common/kv_store.h"
#include "weituo/common/status.h"

namespace weituo {

// Reads `key`: passes an error through, maps absence to nullopt, and
// parses a present value as Message; DATA_LOSS naming `what` if the bytes do
// not parse.
template <typename Message>
StatusOr<std::optional<Message>> DecodeRecord(const KvStore& kv, int cf, std::string_view key,
                                              std::string_view what) {
  WEITUO_ASSIGN_OR_RETURN(const std::optional<std::string> raw, kv.Get(cf, key));
  if (!raw.has_value()) return std::optional<Message>();
  Message m;
  if (!m.ParseFromString(*raw)) {
    Status s = Status::DataLoss("corrupt " + std::string(what) + " record in the store");
    kv.ReportDamage(s.message());
    return s;
  }
  return std::optional<Message>(std::move(m));
}

// Calls sink(key, record) for the records of [start, end) in key order, at
// most `limit` (0: all). DATA_LOSS naming `what` at the first record that
// does not parse.
template <typename Message, typename Sink>
Status ScanRecordsInto(const KvStore& kv, int cf, std::string_view start, std::string_view end,
                       size_t limit, std::string_view what, Sink sink) {
  bool corrupt = false;
  Status s = kv.Scan(cf, start, end, limit, [&](std::string_view key, std::string_view value) {
    Message m;
    if (!m.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      corrupt = true;
      return false;
    }
    sink(key, std::move(m));
    return true;
  });
  if (!s.ok()) return s;
  if (corrupt) {
    Status damaged = Status::DataLoss("corrupt " + std::string(what) + " record in the store");
    kv.ReportDamage(damaged.message());
    return damaged;
  }
  return Status::Ok();
}

// The records of [start, end) in key order, at most `limit` (0: all).
// DATA_LOSS naming `what` at the first record that does not parse.
template <typename Message>
StatusOr<std::vector<Message>> ScanRecords(const KvStore& kv, int cf, std::string_view start,
                                           std::string_view end, size_t limit,
                                           std::string_view what) {
  std::vector<Message> records;
  WEITUO_RETURN_IF_ERROR(ScanRecordsInto<Message>(
      kv, cf, start, end, limit, what,
      [&](std::string_view, Message&& m) { records.push_back(std::move(m)); }));
  return records;
}

}  // namespace weituo
