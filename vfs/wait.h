// Blocking in the sentry: wait queues that files, futexes and the process
// tree notify, and the Waiter (a task) that sleeps on them until it is
// woken, a signal arrives or a deadline passes.
#pragma once

#include <time.h>

#include <optional>
#include <set>
#include <span>

#include <absl/functional/function_ref.h>
#include <absl/synchronization/mutex.h>

#include "base/result.h"

namespace husk::vfs {

class WaitQueue;

// A host fd whose readiness a waiter watches besides its queues (files
// that are the host's: the caller's terminal and stdio). The waiter wakes
// when the host's poll(2) would report `events` (or an error or hang-up)
// on it.
struct HostWatch {
  int fd;
  short events;
};

// What a queue notifies: a waiting task, or an epoll entry watching a file.
class Wakeable {
 public:
  virtual ~Wakeable() = default;
  // Called by a queue it is on (with the queue's lock held); may be called
  // at any time.
  virtual void Wake() = 0;
};

// What blocks: the sentry's task (kernel::Task implements it).
class Waiter : public Wakeable {
 public:
  // Sleeps until `ready()` is true (Ok), a signal is pending (ERESTARTSYS:
  // the syscall restarts or fails with EINTR, as the handler says) or
  // `deadline` (CLOCK_MONOTONIC) passes (ETIMEDOUT). `ready` is called
  // with no lock held, after the waiter is on every queue in `queues`; it
  // is called again whenever a queue is notified or a host fd in `host`
  // becomes ready.
  virtual Result<void> Block(std::initializer_list<WaitQueue*> queues,
                             absl::FunctionRef<bool()> ready,
                             std::optional<timespec> deadline = std::nullopt,
                             std::span<const HostWatch> host = {}) = 0;
};

// The waiter of the calling host thread (its task), or null.
Waiter* CurrentWaiter();
void SetCurrentWaiter(Waiter* w);

// Blocks the calling task on `q` until `ready()`; EAGAIN if no task runs
// on this thread.
Result<void> BlockOn(WaitQueue& q, absl::FunctionRef<bool()> ready);

// Waits until host fd `fd` polls ready for `events` (or with an error or
// hang-up), interruptibly: ERESTARTSYS when a signal is pending. With no
// task on this thread it returns at once (the read or write then blocks).
Result<void> WaitHostFd(int fd, short events);
// Whether host fd `fd` polls ready for `events` now; the events that hold
// (with POLLERR, POLLHUP and POLLNVAL as poll(2) adds them).
short PollHostFd(int fd, short events);

class WaitQueue {
 public:
  void Add(Wakeable* w) {
    absl::MutexLock lock(&mu_);
    waiters_.insert(w);
  }
  void Remove(Wakeable* w) {
    absl::MutexLock lock(&mu_);
    waiters_.erase(w);
  }
  void NotifyAll() {
    absl::MutexLock lock(&mu_);
    for (Wakeable* w : waiters_) w->Wake();
  }

 private:
  absl::Mutex mu_;
  std::set<Wakeable*> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace husk::vfs
