#include "weituo/common/keys.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace weituo {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Orders as RocksDB's default BytewiseComparator does: unsigned bytes, then
// length.
bool BytewiseLess(std::string_view a, std::string_view b) {
  int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  return c != 0 ? c < 0 : a.size() < b.size();
}

const std::vector<uint64_t>& AscendingNumbers() {
  static const std::vector<uint64_t> kNumbers = {0,
                                                 1,
                                                 127,
                                                 128,
                                                 255,
                                                 256,
                                                 257,
                                                 65535,
                                                 65536,
                                                 (uint64_t{1} << 31),
                                                 0xFFFFFFFFu,
                                                 uint64_t{1} << 32,
                                                 (uint64_t{1} << 32) + 1,
                                                 uint64_t{1} << 48,
                                                 (uint64_t{1} << 63) - 1,
                                                 uint64_t{1} << 63,
                                                 kMax - 1,
                                                 kMax};
  return kNumbers;
}

TEST(KeysTest, AppendBigEndian64WritesEightBytesMostSignificantFirst) {
  std::string out = "k";
  AppendBigEndian64(&out, 0x0102030405060708u);
  EXPECT_EQ(out, std::string("k\x01\x02\x03\x04\x05\x06\x07\x08", 9));

  std::string zero;
  AppendBigEndian64(&zero, 0);
  EXPECT_EQ(zero, std::string(8, '\0'));

  std::string max;
  AppendBigEndian64(&max, kMax);
  EXPECT_EQ(max, std::string(8, '\xff'));
}

TEST(KeysTest, BigEndianRoundTrips) {
  for (uint64_t n : AscendingNumbers()) {
    std::string encoded;
    AppendBigEndian64(&encoded, n);
    ASSERT_EQ(encoded.size(), 8u);
    EXPECT_EQ(ReadBigEndian64(encoded), n);
  }
}

TEST(KeysTest, ReadBigEndian64ReadsTheFirstEightBytes) {
  std::string encoded;
  AppendBigEndian64(&encoded, 256);
  encoded += "trailing";
  EXPECT_EQ(ReadBigEndian64(encoded), 256u);
}

TEST(KeysTest, PrefixedSeqKeyLayout) {
  EXPECT_EQ(PrefixedSeqKey("01J", 256), std::string("01J\0\0\0\0\0\0\0\x01\x00", 12));
  EXPECT_EQ(PrefixStart("01J"), std::string("01J\0", 4));
  EXPECT_EQ(ReadBigEndian64(std::string_view(PrefixedSeqKey("01J", 4242)).substr(4)), 4242u);
}

TEST(KeysTest, ByteOrderOfPrefixedSeqKeyIsNumericOrder) {
  const std::vector<uint64_t>& numbers = AscendingNumbers();
  for (size_t i = 0; i < numbers.size(); ++i) {
    for (size_t j = 0; j < numbers.size(); ++j) {
      std::string a = PrefixedSeqKey("commission", numbers[i]);
      std::string b = PrefixedSeqKey("commission", numbers[j]);
      EXPECT_EQ(BytewiseLess(a, b), numbers[i] < numbers[j]) << numbers[i] << " vs " << numbers[j];
    }
  }
}

TEST(KeysTest, SpecificNeighboursOrderNumerically) {
  EXPECT_TRUE(BytewiseLess(PrefixedSeqKey("p", 255), PrefixedSeqKey("p", 256)));
  EXPECT_TRUE(
      BytewiseLess(PrefixedSeqKey("p", 0xFFFFFFFFu), PrefixedSeqKey("p", uint64_t{1} << 32)));
  EXPECT_TRUE(BytewiseLess(PrefixedSeqKey("p", 9), PrefixedSeqKey("p", 10)));
  // A signed char comparison would put 128 (0x80) before 127 (0x7f).
  EXPECT_TRUE(BytewiseLess(PrefixedSeqKey("p", 127), PrefixedSeqKey("p", 128)));
}

TEST(KeysTest, KeysGroupByPrefixFirst) {
  // Every key of "a" sorts before every key of "ab": the '\0' separator is
  // below any byte of an id.
  EXPECT_TRUE(BytewiseLess(PrefixedSeqKey("a", kMax), PrefixedSeqKey("ab", 0)));
  EXPECT_TRUE(BytewiseLess(PrefixedSeqKey("a", kMax), PrefixedSeqKey("b", 0)));

  std::string start = PrefixStart("a");
  EXPECT_EQ(PrefixedSeqKey("a", 0).rfind(start, 0), 0u);
  EXPECT_EQ(PrefixedSeqKey("a", kMax).rfind(start, 0), 0u);
  EXPECT_NE(PrefixedSeqKey("ab", 0).rfind(start, 0), 0u);
  EXPECT_FALSE(BytewiseLess(PrefixedSeqKey("a", 0), start));

  // [PrefixStart, PrefixEnd) holds every key of "a" and none of "ab".
  std::string end = PrefixEnd("a");
  EXPECT_TRUE(BytewiseLess(PrefixedSeqKey("a", kMax), end));
  EXPECT_FALSE(BytewiseLess(PrefixedSeqKey("ab", 0), end));
}

}  // namespace
}  // namespace weituo
