// pidfds (pidfd_open(2), clone(2)'s CLONE_PIDFD): a file that names one
// process, or with PIDFD_THREAD one thread, for as long as it is open,
// whatever becomes of the pid number. It polls readable once the process
// (the thread) has exited, and readable and hung up once it is reaped;
// pidfd_send_signal(2), waitid(2)'s P_PIDFD and pidfd_getfd(2) act on it.
#pragma once

#include <fcntl.h>
#include <signal.h>

#include <memory>

#include "base/result.h"
#include "vfs/file.h"

namespace husk::kernel {

class Kernel;
class Task;
class ThreadGroup;

// pidfd_open(2)'s flags (linux/pidfd.h): they are the file's status flags.
inline constexpr unsigned kPidfdNonblock = O_NONBLOCK;  // PIDFD_NONBLOCK
inline constexpr unsigned kPidfdThread = O_EXCL;        // PIDFD_THREAD
// pidfd_send_signal(2)'s flags: at most one.
inline constexpr unsigned kPidfdSignalThread = 1;        // PIDFD_SIGNAL_THREAD
inline constexpr unsigned kPidfdSignalThreadGroup = 2;   // PIDFD_SIGNAL_THREAD_GROUP
inline constexpr unsigned kPidfdSignalProcessGroup = 4;  // PIDFD_SIGNAL_PROCESS_GROUP

class PidFd final : public vfs::FileDescription {
 public:
  // A pidfd that names nothing yet: clone(2) installs it (and writes its
  // number out) before the child exists, then binds it to the child.
  // `flags`: kPidfdNonblock, kPidfdThread.
  PidFd(Kernel& kernel, unsigned flags);

  // pidfd_open(2) of `pid` (validated by the caller: > 0, known flags): a
  // process, or with kPidfdThread any thread. ESRCH if there is no such
  // pid; ENOENT for a thread that is not its process's leader without
  // kPidfdThread, as Linux 6.x.
  static Result<std::shared_ptr<PidFd>> Open(Kernel& kernel, int pid, unsigned flags);

  // clone(2): names the new process `tg`, or its new thread `t` for a
  // thread pidfd. Kernel lock held.
  void BindLocked(std::shared_ptr<ThreadGroup> tg, std::shared_ptr<Task> t);

  // pidfd_send_signal(2) of `sig` from `sender`, with the caller's siginfo
  // (null: a kill(2)-like one) and flags (validated by the caller).
  Result<void> SendSignal(Task& sender, int sig, const siginfo_t* user_info, unsigned flags);

  // waitid(P_PIDFD): the process to wait for; null if the pidfd names a
  // thread that is not a leader (no child has its pid).
  std::shared_ptr<ThreadGroup> WaitTarget();

  // pidfd_getfd(2): a duplicate of the target's file `fd`, if `caller` may
  // attach to it (PTRACE_MODE_ATTACH_REALCREDS): ESRCH once it has
  // exited, EPERM if not permitted, EBADF if `fd` is not open there.
  Result<std::shared_ptr<vfs::FileDescription>> GetFile(Task& caller, int fd);

  // vfs::FileDescription. A pidfd cannot be read or written (EINVAL).
  Result<size_t> Read(const vfs::IoVecs& dst) override;
  Result<size_t> Write(const vfs::IoVecs& src) override;
  Result<struct stat> Stat() override;
  std::string AnonName() const override { return "anon_inode:[pidfd]"; }
  short Readiness(short events) override;
  vfs::WaitQueue* ReadinessQueue() override;
  bool Mappable() const override { return false; }

 private:
  // The thread signals go to by default and what pidfd_getfd reads: the
  // named thread, or the process's leader (another thread once the leader
  // has gone). Null once none is left. Kernel lock held.
  Task* TargetTaskLocked();
  // Whether the named thread (a non-leader one) has exited. Kernel lock held.
  bool ThreadGoneLocked();

  Kernel& kernel_;
  // Guarded by the kernel lock. `thread_` is set for a thread pidfd of a
  // thread other than the leader; a leader's thread pidfd behaves as its
  // process's (Linux delays a leader's exit until the whole group's).
  std::shared_ptr<ThreadGroup> tg_;
  std::shared_ptr<Task> thread_;
  uint64_t ino_ = 0;
  timespec created_{};
};

// The pidfd `file` is, or null.
PidFd* AsPidFd(vfs::FileDescription& file);

}  // namespace husk::kernel
