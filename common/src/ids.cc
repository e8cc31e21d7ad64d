#include "weituo/common/ids.h"

#include <array>
#include <mutex>
#include <random>

namespace weituo {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int DecodeChar(char c) {
  for (int i = 0; i < 32; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

}  // namespace

std::string NewUlid(int64_t now_ms) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t r1, r2;
  {
    std::lock_guard<std::mutex> lock(mu);
    r1 = rng();
    r2 = rng();
  }
  std::string out(26, '0');
  uint64_t t = static_cast<uint64_t>(now_ms) & ((uint64_t{1} << 48) - 1);
  for (int i = 9; i >= 0; --i) {
    out[i] = kAlphabet[t & 31];
    t >>= 5;
  }
  // 80 random bits: 16 characters of 5 bits.
  for (int i = 0; i < 16; ++i) {
    uint64_t& src = i < 8 ? r1 : r2;
    out[10 + i] = kAlphabet[src & 31];
    src >>= 5;
  }
  return out;
}

bool IsUlid(std::string_view id) {
  if (id.size() != 26) return false;
  if (DecodeChar(id[0]) > 7) return false;  // 48-bit timestamp fits in 10 chars
  for (char c : id) {
    if (DecodeChar(c) < 0) return false;
  }
  return true;
}

int64_t UlidTimeMs(std::string_view id) {
  if (!IsUlid(id)) return 0;
  uint64_t t = 0;
  for (int i = 0; i < 10; ++i) t = (t << 5) | static_cast<uint64_t>(DecodeChar(id[i]));
  return static_cast<int64_t>(t);
}

}  // namespace weituo
