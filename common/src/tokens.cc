#include "weituo/common/tokens.h"

#include <algorithm>
#include <array>
#include <string>

namespace weituo {

Status CheckToken(std::string_view token, size_t min_chars) {
  if (token.empty()) return Status::InvalidArgument("the token is empty");
  for (size_t i = 0; i < token.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(token[i]);
    if (c <= 0x20 || c >= 0x7f) {
      return Status::InvalidArgument("character " + std::to_string(i + 1) +
                                     " of the token is whitespace, a control character or not "
                                     "ASCII; a token is one word of printable ASCII");
    }
  }
  if (token.size() < min_chars) {
    return Status::InvalidArgument("the token has " + std::to_string(token.size()) +
                                   " characters; it needs at least " + std::to_string(min_chars));
  }
  std::array<size_t, 128> count{};
  for (char c : token) ++count[static_cast<unsigned char>(c)];
  size_t distinct = static_cast<size_t>(
      std::count_if(count.begin(), count.end(), [](size_t n) { return n > 0; }));
  size_t most = *std::max_element(count.begin(), count.end());
  if (distinct < kMinTokenDistinctChars || most * 2 > token.size()) {
    return Status::InvalidArgument(
        "the token repeats too few characters to be secret (" + std::to_string(distinct) +
        " different ones); use a random one, e.g. `openssl rand -hex 32`");
  }
  return Status::Ok();
}

}  // namespace weituo
