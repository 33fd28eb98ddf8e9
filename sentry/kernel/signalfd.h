// signalfd(2) (fs/signalfd.c): a file that accepts the pending signals of
// a mask as struct signalfd_siginfo records instead of their delivery.
// Whose signals is decided by who asks, as Linux's use of `current`: a
// read dequeues the reading thread's own and its process's, and poll
// reports them for the polling thread, whichever process opened the file.
#pragma once

#include <signal.h>
#include <sys/signalfd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <absl/synchronization/mutex.h>

#include "vfs/file.h"
#include "vfs/wait.h"

namespace husk::kernel {

class Kernel;
class ThreadGroup;

static_assert(sizeof(signalfd_siginfo) == 128, "struct signalfd_siginfo is 128 bytes");

// It forwards the notifications of every process it was polled from
// (ThreadGroup::signalfd_events) to a queue of its own, so that a poller's
// queue lives exactly as long as the file.
class SignalFd final : public vfs::FileDescription, private vfs::Wakeable {
 public:
  // `mask`: a sigset (bit sig-1); SIGKILL and SIGSTOP are dropped.
  // `flags`: O_NONBLOCK.
  SignalFd(Kernel& kernel, uint64_t mask, int flags);
  ~SignalFd() override;

  // signalfd(2) on an existing signalfd: its new mask.
  void SetMask(uint64_t mask);
  uint64_t mask() const { return mask_.load(); }

  // vfs::FileDescription. read(2) fills as many records as fit (EINVAL
  // for a buffer shorter than one), waiting only for the first.
  Result<size_t> Read(const vfs::IoVecs& dst) override;
  Result<size_t> Write(const vfs::IoVecs& src) override;
  Result<struct stat> Stat() override;
  std::string AnonName() const override { return "anon_inode:[signalfd]"; }
  Result<uint64_t> Seek(int64_t offset, int whence) override;
  short Readiness(short events) override;
  // The file's queue, notified whenever a signal is queued for the
  // process of a thread that has asked for it (the calling one).
  vfs::WaitQueue* ReadinessQueue() override;
  bool Mappable() const override { return false; }

 private:
  // vfs::Wakeable: a signal was queued in a watched process.
  void Wake() override { queue_.NotifyAll(); }

  Kernel& kernel_;
  std::atomic<uint64_t> mask_;
  vfs::WaitQueue queue_;
  // The processes whose signalfd_events this file is on.
  absl::Mutex mu_;
  std::vector<std::shared_ptr<ThreadGroup>> watched_ ABSL_GUARDED_BY(mu_);
};

// The signalfd `file` is, or null.
SignalFd* AsSignalFd(vfs::FileDescription& file);

// The record signalfd(2) gives for `info` (signalfd_copyinfo): the fields
// siginfo_t's layout for the signal and its code holds.
signalfd_siginfo SignalfdRecord(const siginfo_t& info);

}  // namespace husk::kernel
