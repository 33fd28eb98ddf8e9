// Typed addresses in application memory. The only way to reach application
// memory is MemoryManager::CopyIn/CopyOut on these, which give EFAULT, never
// a sentry crash.
#pragma once

#include <cstdint>
#include <type_traits>

namespace husk::mm {

template <class T>
struct UserPtr {
  static_assert(std::is_trivially_copyable_v<T>, "only ABI structs cross the boundary");
  uint64_t addr = 0;

  bool null() const { return addr == 0; }
  UserPtr<T> operator+(uint64_t n) const { return UserPtr<T>{addr + n * sizeof(T)}; }
};

}  // namespace husk::mm
