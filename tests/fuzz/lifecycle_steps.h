// The input language of lifecycle_fuzz: each byte is one step, an action and
// the role that takes it. Shared with make_seeds, which writes seed walks.
#pragma once

#include <cstdint>
#include <iterator>
#include <utility>

#include "weituo/common/lifecycle.h"

namespace weituo::fuzz {

inline constexpr int kStepCount = std::size(kAllActions) * std::size(kAllRoles);

// Byte b is action kAllActions[b % 11] taken by role kAllRoles[b / 11 % 3];
// every byte is a valid step.
inline std::pair<Action, Role> DecodeStep(uint8_t byte) {
  const int step = byte % kStepCount;
  return {kAllActions[step % std::size(kAllActions)], kAllRoles[step / std::size(kAllActions)]};
}

// The byte DecodeStep turns into (action, role).
inline uint8_t EncodeStep(Action action, Role role) {
  int a = 0;
  while (kAllActions[a] != action) ++a;
  int r = 0;
  while (kAllRoles[r] != role) ++r;
  return static_cast<uint8_t>(r * std::size(kAllActions) + a);
}

}  // namespace weituo::fuzz
