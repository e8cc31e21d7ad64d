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
