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

  // A thread's exit or execve (Linux's exit_robust_list): walks the robust
  // list t registered with set_robust_list(2) in its address space, still
  // there; each futex on it (and the one in list_op_pending) whose owner is
  // t gets FUTEX_OWNER_DIED and one waiter woken. The registration goes.
  // The walk stops at a fault, and after kRobustListLimit entries (a
  // circular list).
  void ExitRobustList(Task& t);
  static constexpr int kRobustListLimit = 2048;  // ROBUST_LIST_LIMIT

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
  // handle_futex_death for the word at `addr`: false if the walk must
  // stop (a fault or misaligned word).
  bool HandleFutexDeath(Task& t, uint64_t addr, bool pi, bool pending);

  absl::Mutex mu_;
  std::map<Key, std::list<Waiter*>> queues_ ABSL_GUARDED_BY(mu_);
};

}  // namespace husk::kernel
