// Futex wait queues (kernel/futex): tasks sleeping on a 32-bit word of
// application memory until another task wakes that word.
#pragma once

#include <time.h>

#include <atomic>
#include <list>
#include <map>
#include <optional>

#include <absl/synchronization/mutex.h>

#include "base/result.h"

namespace husk::kernel {

class Task;

class Futexes {
 public:
  // FUTEX_WAIT(_BITSET): sleeps if the word at `addr` still holds `val`
  // (EAGAIN otherwise) until woken (Ok), a signal (ERESTARTSYS) or the
  // absolute CLOCK_MONOTONIC `deadline` (ETIMEDOUT).
  Result<void> Wait(Task& t, uint64_t addr, bool shared, uint32_t val, uint32_t bitset,
                    std::optional<timespec> deadline);
  // FUTEX_WAKE(_BITSET): wakes up to `n` waiters whose bitset meets `bitset`.
  int Wake(Task& t, uint64_t addr, bool shared, int n, uint32_t bitset);
  // FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: wakes `n`, moves up to `n2` more to
  // `addr2`. With `check`, EAGAIN unless the word at `addr` is `val`.
  Result<int> Requeue(Task& t, uint64_t addr, uint64_t addr2, bool shared, int n, int n2,
                      std::optional<uint32_t> check);
  // FUTEX_WAKE_OP.
  Result<int> WakeOp(Task& t, uint64_t addr, uint64_t addr2, bool shared, int n, int n2, uint32_t op);

 private:
  // Private futexes, and shared ones in private memory, are keyed by
  // address space and address; shared ones in a shared mapping by their
  // memory-file offset (mm null).
  struct Key {
    const void* mm;
    uint64_t addr;
    auto operator<=>(const Key&) const = default;
  };
  struct Waiter {
    Task* task;
    uint32_t bitset;
    Key key;
    std::atomic<bool> woken{false};
  };
  Key KeyOf(Task& t, uint64_t addr, bool shared);
  int WakeLocked(const Key& k, int n, uint32_t bitset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<Key, std::list<Waiter*>> queues_ ABSL_GUARDED_BY(mu_);
};

}  // namespace husk::kernel
