// Helpers for RocksDB key encodings: fixed-width big-endian integers so that
// byte order is numeric order, and '\0'-joined parts (ids never hold '\0').
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weituo {

inline void AppendBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

// Reads 8 bytes; the caller checks the size.
inline uint64_t ReadBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

// "<prefix>\0<be64 n>": ordered by prefix, then by n.
inline std::string PrefixedSeqKey(std::string_view prefix, uint64_t n) {
  std::string key(prefix);
  key.push_back('\0');
  AppendBigEndian64(&key, n);
  return key;
}

// "<prefix>\0" : the start of every PrefixedSeqKey of prefix.
inline std::string PrefixStart(std::string_view prefix) {
  std::string key(prefix);
  key.push_back('\0');
  return key;
}

// "<prefix>\1" : just past every key that starts with "<prefix>\0".
inline std::string PrefixEnd(std::string_view prefix) {
  std::string key(prefix);
  key.push_back('\1');
  return key;
}

}  // namespace weituo
