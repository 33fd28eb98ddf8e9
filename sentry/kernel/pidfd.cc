#include "sentry/kernel/pidfd.h"

#include <poll.h>

#include <algorithm>
#include <atomic>

#include "sentry/kernel/kernel.h"

namespace husk::kernel {
namespace {

// pidfs's inode numbers and its anonymous device.
std::atomic<uint64_t> next_pidfs_ino{1};
constexpr dev_t kPidfsDev = 0xf;

// ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS), what pidfd_getfd(2)
// asks: the caller's real ids are all of the target's user and group ids,
// its permitted capabilities include the target's, and the target is
// dumpable; CAP_SYS_PTRACE overrides all three. PARTIAL(ptrace): no
// Yama-like scope restricts it further.
Result<void> MayAttachLocked(Task& caller, Task& target) {
  if (&caller.thread_group() == &target.thread_group()) return Ok();
  const vfs::Credentials& me = caller.creds();
  const vfs::Credentials& them = target.creds();
  if (me.HasCapability(CAP_SYS_PTRACE)) return Ok();
  const bool same_ids = me.uid == them.uid && me.uid == them.euid && me.uid == them.suid &&
                        me.gid == them.gid && me.gid == them.egid && me.gid == them.sgid;
  if (!same_ids) return Errno(EPERM);
  if (target.thread_group().dumpable != 1) return Errno(EPERM);  // SUID_DUMP_USER
  if ((them.cap_permitted & ~me.cap_permitted) != 0) return Errno(EPERM);
  return Ok();
}

}  // namespace

PidFd::PidFd(Kernel& kernel, unsigned flags) : FileDescription(vfs::Path{}, O_RDWR), kernel_(kernel) {
  // PIDFD_THREAD (O_EXCL) stays among the status flags, as F_GETFL shows.
  flags_ = O_RDWR | static_cast<int>(flags & (kPidfdNonblock | kPidfdThread));
  clock_gettime(CLOCK_REALTIME, &created_);
}

Result<std::shared_ptr<PidFd>> PidFd::Open(Kernel& k, int pid, unsigned flags) {
  auto fd = std::make_shared<PidFd>(k, flags);
  absl::MutexLock lock(&k.mu_);
  // A process, live or a zombie, is found by its leader's pid.
  if (auto it = k.groups_.find(pid); it != k.groups_.end()) {
    fd->tg_ = it->second;
    return fd;
  }
  auto it = k.tasks_.find(pid);
  if (it == k.tasks_.end()) return Errno(ESRCH);
  if (!(flags & kPidfdThread)) return Errno(ENOENT);
  fd->tg_ = it->second->shared_thread_group();
  fd->thread_ = it->second;
  return fd;
}

void PidFd::BindLocked(std::shared_ptr<ThreadGroup> tg, std::shared_ptr<Task> t) {
  if ((flags() & kPidfdThread) && t->tid() != tg->pid()) thread_ = std::move(t);
  tg_ = std::move(tg);
}

bool PidFd::ThreadGoneLocked() {
  return std::find(tg_->tasks.begin(), tg_->tasks.end(), thread_.get()) == tg_->tasks.end();
}

Task* PidFd::TargetTaskLocked() {
  if (thread_) return ThreadGoneLocked() ? nullptr : thread_.get();
  for (Task* t : tg_->tasks) {
    if (t->tid() == tg_->pid()) return t;
  }
  return tg_->tasks.empty() ? nullptr : tg_->tasks.front();
}

Result<void> PidFd::SendSignal(Task& sender, int sig, const siginfo_t* user_info, unsigned flags) {
  // Where the signal goes: the named thread for a thread pidfd, else the
  // process, unless a flag says otherwise.
  enum class To { kThread, kProcess, kProcessGroup };
  To to = (this->flags() & kPidfdThread) ? To::kThread : To::kProcess;
  if (flags & kPidfdSignalThread) to = To::kThread;
  if (flags & kPidfdSignalThreadGroup) to = To::kProcess;
  if (flags & kPidfdSignalProcessGroup) to = To::kProcessGroup;

  absl::MutexLock lock(&kernel_.mu_);
  siginfo_t info{};
  if (user_info != nullptr) {
    info = *user_info;
    if (info.si_signo != sig) return Errno(EINVAL);
    // As rt_sigqueueinfo(2): kernel codes and tkill's may be forged only
    // towards the calling thread itself.
    const bool self = thread_ ? thread_.get() == &sender
                              : tg_ && tg_.get() == &sender.thread_group() && sender.tid() == tg_->pid();
    if ((!self || to == To::kProcessGroup) && (info.si_code >= 0 || info.si_code == SI_TKILL)) {
      return Errno(EPERM);
    }
  } else {
    info.si_signo = sig;
    info.si_code = SI_USER;  // even towards a thread, as Linux 6.x
    info.si_pid = sender.pid();
    info.si_uid = sender.creds().uid;
  }
  // Not bound yet (its clone is still running), reaped, or a thread that
  // has gone: nothing is there any more.
  if (!tg_ || tg_->reaped || (thread_ && ThreadGoneLocked())) return Errno(ESRCH);

  switch (to) {
    case To::kProcessGroup: {
      // The process group the pid leads, if any.
      const int pgid = thread_ ? thread_->tid() : tg_->pid();
      return kernel_.SendToEachLocked([pgid](ThreadGroup& g) { return g.pgid == pgid; }, info,
                                      &sender);
    }
    case To::kProcess:
      TRY(kernel_.CheckKillLocked(&sender, *tg_, thread_.get(), sig));
      if (sig != 0) kernel_.SendToGroupLocked(*tg_, info);  // a zombie ignores it
      return Ok();
    case To::kThread: {
      Task* t = thread_.get();
      if (t == nullptr) {
        for (Task* m : tg_->tasks) {
          if (m->tid() == tg_->pid()) t = m;
        }
      }
      TRY(kernel_.CheckKillLocked(&sender, *tg_, t, sig));
      // A leader that has exited (its process lives on, or is a zombie)
      // takes the signal and never acts on it, as in Linux.
      if (t != nullptr && sig != 0) kernel_.SendToTaskLocked(*t, info);
      return Ok();
    }
  }
  return Ok();
}

std::shared_ptr<ThreadGroup> PidFd::WaitTarget() {
  absl::MutexLock lock(&kernel_.mu_);
  if (thread_) return nullptr;
  return tg_;
}

Result<std::shared_ptr<vfs::FileDescription>> PidFd::GetFile(Task& caller, int fd) {
  std::shared_ptr<vfs::FdTable> files;
  {
    absl::MutexLock lock(&kernel_.mu_);
    if (!tg_ || tg_->zombie || tg_->exiting) return Errno(ESRCH);
    Task* target = TargetTaskLocked();
    // A thread that is leaving no longer has its files.
    if (target == nullptr || target->exiting) return Errno(ESRCH);
    TRY(MayAttachLocked(caller, *target));
    // Safe under the lock: a task drops its files only after it has been
    // marked exiting, which also happens under it.
    files = target->shared_fds();
  }
  if (!files) return Errno(ESRCH);
  return files->Get(fd);
}

Result<size_t> PidFd::Read(const vfs::IoVecs&) { return Errno(EINVAL); }
Result<size_t> PidFd::Write(const vfs::IoVecs&) { return Errno(EINVAL); }

Result<struct stat> PidFd::Stat() {
  struct stat st{};
  // pidfs (Linux 6.9+): an anonymous inode, with no file type, one per
  // pid, so two pidfds of a process have the same st_ino.
  st.st_mode = S_IRWXU;
  st.st_nlink = 1;
  st.st_dev = kPidfsDev;
  st.st_blksize = 4096;
  st.st_atim = st.st_mtim = st.st_ctim = created_;
  absl::MutexLock lock(&kernel_.mu_);
  if (tg_ && !thread_) {
    if (tg_->pidfs_ino == 0) tg_->pidfs_ino = next_pidfs_ino++;
    st.st_ino = tg_->pidfs_ino;
  } else {
    // PARTIAL(pidfs): a non-leader thread's pidfds each have an inode of
    // their own.
    if (ino_ == 0) ino_ = next_pidfs_ino++;
    st.st_ino = ino_;
  }
  return st;
}

short PidFd::Readiness(short events) {
  short ready = 0;
  {
    absl::MutexLock lock(&kernel_.mu_);
    if (tg_) {
      // pidfd_poll: readable once the process (or the named thread) has
      // exited; hung up too once nothing is left of it.
      if (tg_->reaped || (thread_ && ThreadGoneLocked())) {
        ready = POLLIN | POLLRDNORM | POLLHUP;
      } else if (tg_->zombie) {
        ready = POLLIN | POLLRDNORM;
      }
    }
  }
  return ready & (events | POLLHUP | POLLERR);
}

vfs::WaitQueue* PidFd::ReadinessQueue() {
  absl::MutexLock lock(&kernel_.mu_);
  return tg_ ? &tg_->pidfd_events : nullptr;
}

PidFd* AsPidFd(vfs::FileDescription& file) { return dynamic_cast<PidFd*>(&file); }

}  // namespace husk::kernel
