// Blocking in the sentry: wait queues that files, futexes and the process
// tree notify, and the Waiter (a task) that sleeps on them until it is
// woken, a signal arrives or a deadline passes.
#pragma once

#include <time.h>

#include <optional>
#include <set>

#include <absl/functional/function_ref.h>
#include <absl/synchronization/mutex.h>

#include "base/result.h"

namespace husk::vfs {

class WaitQueue;

// What blocks: the sentry's task (kernel::Task implements it).
class Waiter {
 public:
  virtual ~Waiter() = default;
  // Called by a queue the waiter is on; may be called at any time.
  virtual void Wake() = 0;
  // Sleeps until `ready()` is true (Ok), a signal is pending (ERESTARTSYS:
  // the syscall restarts or fails with EINTR, as the handler says) or
  // `deadline` (CLOCK_MONOTONIC) passes (ETIMEDOUT). `ready` is called
  // with no lock held, after the waiter is on every queue in `queues`.
  virtual Result<void> Block(std::initializer_list<WaitQueue*> queues,
                             absl::FunctionRef<bool()> ready,
                             std::optional<timespec> deadline = std::nullopt) = 0;
};

// The waiter of the calling host thread (its task), or null.
Waiter* CurrentWaiter();
void SetCurrentWaiter(Waiter* w);

// Blocks the calling task on `q` until `ready()`; EAGAIN if no task runs
// on this thread.
Result<void> BlockOn(WaitQueue& q, absl::FunctionRef<bool()> ready);

class WaitQueue {
 public:
  void Add(Waiter* w) {
    absl::MutexLock lock(&mu_);
    waiters_.insert(w);
  }
  void Remove(Waiter* w) {
    absl::MutexLock lock(&mu_);
    waiters_.erase(w);
  }
  void NotifyAll() {
    absl::MutexLock lock(&mu_);
    for (Waiter* w : waiters_) w->Wake();
  }

 private:
  absl::Mutex mu_;
  std::set<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace husk::vfs
