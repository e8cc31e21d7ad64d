#include "weituo/common/trail_hash.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <sodium.h>

#include <optional>

namespace weituo {
namespace {

std::string Sha256(std::string_view a, std::string_view b) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(a.data()), a.size());
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(b.data()), b.size());
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

std::string EventHash(const weituo::v1::Event& event) {
  // The broker hashes each new event before setting its hash: no copy then.
  // Verifying a stored event needs one without its hash.
  std::optional<weituo::v1::Event> without_hash;
  if (!event.hash().empty()) {
    without_hash = event;
    without_hash->clear_hash();
  }
  const weituo::v1::Event& body = without_hash ? *without_hash : event;
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    body.SerializeToCodedStream(&coded);
  }
  return Sha256(event.prev_hash(), bytes);
}

std::string LinkHash(std::string_view prev, std::string_view event_hash) {
  return Sha256(prev, event_hash);
}

std::string Sha256Of(std::string_view bytes) { return Sha256(bytes, {}); }

TrailCheck CheckTrail(const std::vector<weituo::v1::Event>& events, uint64_t last_seq,
                      std::string_view last_hash) {
  TrailCheck check;
  auto fail = [&](uint64_t seq, std::string why) {
    check.broken_at = seq;
    check.broken = std::move(why);
    return check;
  };
  std::string prev;
  bool chained = !events.empty() && !events.front().hash().empty();
  uint64_t expected = 1;
  for (const weituo::v1::Event& e : events) {
    if (e.seq() != expected) {
      return fail(e.seq(), "follows #" + std::to_string(expected - 1) + " (an event is missing)");
    }
    ++expected;
    // A commission begun before the trail was chained has its first
    // chained event start from an empty prev_hash.
    if (!chained && !e.hash().empty() && e.prev_hash().empty()) chained = true;
    if (!chained) {
      if (!e.hash().empty()) return fail(e.seq(), "chained after unchained events");
      check.unchained++;
      continue;
    }
    if (e.prev_hash() != prev) {
      return fail(e.seq(), "prev_hash is not the hash of #" + std::to_string(e.seq() - 1));
    }
    if (EventHash(e) != e.hash()) {
      return fail(e.seq(), "its content does not match its hash (edited)");
    }
    prev = e.hash();
  }
  const uint64_t last = expected - 1;
  if (last != last_seq) {
    return fail(0, "its record names event #" + std::to_string(last_seq) +
                       " as the last but the trail ends at #" + std::to_string(last) +
                       (last < last_seq ? " (events were removed)" : " (the record is stale)"));
  }
  if (prev != last_hash) {
    return fail(0, "its record's last_hash is not the hash of #" + std::to_string(last) +
                       " (the trail was cut short or rewritten)");
  }
  return check;
}

std::string TrailCheck::Where(const std::string& commission_id) const {
  if (broken_at == 0) return "commission " + commission_id + ": " + broken;
  return "event " + commission_id + "#" + std::to_string(broken_at) + ": " + broken;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace weituo
