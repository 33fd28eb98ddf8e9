// Page and alignment helpers.
#pragma once

#include <cstdint>

namespace husk {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kPageMask = kPageSize - 1;

constexpr uint64_t PageDown(uint64_t v) { return v & ~kPageMask; }
// Returns 0 on overflow; callers treat that as EINVAL/ENOMEM per Linux.
constexpr uint64_t PageUp(uint64_t v) {
  return v > UINT64_MAX - kPageMask ? 0 : (v + kPageMask) & ~kPageMask;
}
constexpr bool PageAligned(uint64_t v) { return (v & kPageMask) == 0; }
constexpr uint64_t AlignDown(uint64_t v, uint64_t a) { return v & ~(a - 1); }
constexpr uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

}  // namespace husk
