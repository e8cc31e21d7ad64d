// libFuzzer target over the commission lifecycle: the input is a walk, one
// (action, role) step per byte (lifecycle_steps.h), applied from SUBMITTED
// through NextState. Every step, accepted or refused, must keep the promises
// of lifecycle.h that CheckTransition checks.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "invariants.h"
#include "lifecycle_steps.h"
#include "weituo/common/lifecycle.h"

namespace weituo::fuzz {
namespace {

void Walk(const uint8_t* data, size_t size) {
  State state = State::SUBMITTED;
  for (size_t i = 0; i < size; ++i) {
    const auto [action, role] = DecodeStep(data[i]);
    const bool was_final = IsFinal(state);
    if (std::optional<State> next = CheckTransition(state, action, role)) state = *next;
    // A walk that has ended stays ended.
    FUZZ_CHECK(!was_final || IsFinal(state), "step " + std::to_string(i));
  }
}

}  // namespace
}  // namespace weituo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  weituo::fuzz::Walk(data, size);
  return 0;
}
