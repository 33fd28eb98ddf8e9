// Signal syscalls: dispositions, masks, sending, waiting and returning
// from handlers. Delivery itself is the task's (sentry/kernel/task.cc).
#include <signal.h>

#include <optional>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signal_frame.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

constexpr uint64_t kSigsetSize = 8;
using kernel::kUnblockable;
// UAPI_SA_FLAGS on x86-64: the flags rt_sigaction keeps.
constexpr uint64_t kKnownSaFlags = SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK |
                                   SA_RESTART | SA_NODEFER | SA_RESETHAND | 0x800 /* SA_EXPOSE_TAGBITS */ |
                                   0x04000000 /* SA_RESTORER */;

}  // namespace

Result<uint64_t> RtSigaction(Task& t, const SyscallArgs& a) {
  const int sig = a.i32(0);
  const uint64_t act_addr = a.ptr(1), old_addr = a.ptr(2);
  if (a.size(3) != kSigsetSize) return Errno(EINVAL);
  std::optional<kernel::SigAction> act;
  if (act_addr != 0) act = TRY(CopyInStruct<kernel::SigAction>(t, act_addr));
  if (sig < 1 || sig > kernel::kNumSignals) return Errno(EINVAL);
  if (act && (sig == SIGKILL || sig == SIGSTOP)) return Errno(EINVAL);
  const kernel::SigAction old = t.thread_group().GetSigAction(sig);
  if (act) {
    act->flags &= kKnownSaFlags;
    act->mask &= ~kUnblockable;
    t.kernel().SetSigAction(t.thread_group(), sig, *act);
  }
  if (old_addr != 0) TRY(CopyOutStruct(t, old_addr, old));
  return 0;
}

Result<uint64_t> RtSigpending(Task& t, const SyscallArgs& a) {
  const uint64_t size = a.size(1);
  if (size > kSigsetSize) return Errno(EINVAL);
  uint64_t pending;
  {
    absl::MutexLock lock(&t.kernel().mu());
    pending = (t.pending.mask | t.thread_group().pending.mask) & t.signal_mask();
  }
  TRY(t.mm().CopyOut(a.ptr(0), std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&pending), size)));
  return 0;
}

Result<uint64_t> RtSigprocmask(Task& t, const SyscallArgs& a) {
  const int how = a.i32(0);
  const uint64_t set_addr = a.ptr(1), old_addr = a.ptr(2);
  if (a.size(3) != kSigsetSize) return Errno(EINVAL);
  const uint64_t old = t.signal_mask();
  if (set_addr != 0) {
    uint64_t set = TRY(CopyInStruct<uint64_t>(t, set_addr));
    uint64_t next;
    switch (how) {
      case SIG_BLOCK: next = old | set; break;
      case SIG_UNBLOCK: next = old & ~set; break;
      case SIG_SETMASK: next = set; break;
      default: return Errno(EINVAL);
    }
    t.set_signal_mask(next & ~kUnblockable);
  }
  if (old_addr != 0) TRY(CopyOutStruct(t, old_addr, old));
  return 0;
}

}  // namespace husk::syscalls

namespace husk::syscalls {
namespace {

siginfo_t UserSignal(Task& t, int sig, int code) {
  siginfo_t si{};
  si.si_signo = sig;
  si.si_code = code;
  si.si_pid = t.pid();
  si.si_uid = t.creds().uid;
  return si;
}

}  // namespace

// Sends `sig` to the calling thread group (a host EPIPE's SIGPIPE).
Result<uint64_t> SignalSelf(Task& t, int sig) {
  if (sig < 0 || sig > kernel::kNumSignals) return Errno(EINVAL);
  TRY(t.kernel().SignalThread(t.pid(), t.tid(), UserSignal(t, sig, SI_KERNEL)));
  return 0;
}

// The senders below pass themselves to the kernel, which checks their
// permission (kill(2)'s EPERM) and the signal number (EINVAL) once it has
// found a target (ESRCH comes first, as in Linux).
Result<uint64_t> Kill(Task& t, const SyscallArgs& a) {
  const int pid = a.i32(0);
  const int sig = a.i32(1);
  const siginfo_t si = UserSignal(t, sig, SI_USER);
  if (pid > 0) {
    TRY(t.kernel().SignalProcess(pid, si, &t));
  } else if (pid == -1) {
    TRY(t.kernel().SignalAll(t, si));
  } else if (pid == INT32_MIN) {
    return Errno(ESRCH);
  } else {
    TRY(t.kernel().SignalGroup(t, -pid, si));
  }
  return 0;
}

Result<uint64_t> Tkill(Task& t, const SyscallArgs& a) {
  if (a.i32(0) <= 0) return Errno(EINVAL);
  TRY(t.kernel().SignalThread(0, a.i32(0), UserSignal(t, a.i32(1), SI_TKILL), &t));
  return 0;
}

Result<uint64_t> Tgkill(Task& t, const SyscallArgs& a) {
  if (a.i32(0) <= 0 || a.i32(1) <= 0) return Errno(EINVAL);
  TRY(t.kernel().SignalThread(a.i32(0), a.i32(1), UserSignal(t, a.i32(2), SI_TKILL), &t));
  return 0;
}

namespace {

// The siginfo of rt_sigqueueinfo/rt_tgsigqueueinfo, sent to `target` (a
// pid, or a tid for the thread variant): the caller's own si_code, except
// that kernel codes (>= 0) and tkill's cannot be forged towards anyone but
// the calling thread (Linux compares the target with the caller's tid).
Result<siginfo_t> QueuedInfo(siginfo_t info, int sig, int target, int self_tid) {
  if ((info.si_code >= 0 || info.si_code == SI_TKILL) && target != self_tid) return Errno(EPERM);
  info.si_signo = sig;
  return info;
}

}  // namespace

Result<uint64_t> RtSigqueueinfo(Task& t, const SyscallArgs& a) {
  const int pid = a.i32(0);
  const siginfo_t user = TRY(CopyInStruct<siginfo_t>(t, a.ptr(2)));
  const siginfo_t info = TRY(QueuedInfo(user, a.i32(1), pid, t.tid()));
  if (pid <= 0) return Errno(ESRCH);
  TRY(t.kernel().SignalProcess(pid, info, &t));
  return 0;
}

Result<uint64_t> RtTgsigqueueinfo(Task& t, const SyscallArgs& a) {
  const int tgid = a.i32(0), tid = a.i32(1);
  const siginfo_t user = TRY(CopyInStruct<siginfo_t>(t, a.ptr(3)));
  if (tgid <= 0 || tid <= 0) return Errno(EINVAL);
  const siginfo_t info = TRY(QueuedInfo(user, a.i32(2), tid, t.tid()));
  TRY(t.kernel().SignalThread(tgid, tid, info, &t));
  return 0;
}

Result<uint64_t> RtSigreturn(Task& t, const SyscallArgs&) {
  auto r = kernel::SignalReturn(t);
  if (!r) {
    // A frame that cannot be read: the process dies of SIGSEGV.
    t.ExitGroup(kernel::ExitStatus{0, SIGSEGV, true});
    return 0;
  }
  return *r;
}

Result<uint64_t> RtSigsuspend(Task& t, const SyscallArgs& a) {
  if (a.size(1) != kSigsetSize) return Errno(EINVAL);
  uint64_t mask = TRY(CopyInStruct<uint64_t>(t, a.ptr(0)));
  t.set_saved_mask(t.signal_mask());
  t.set_signal_mask(mask);
  vfs::WaitQueue never;
  (void)t.Block({&never}, [] { return false; });
  return Errno(ERESTARTNOHAND);
}

namespace {

// Takes the lowest pending signal in `set`: the thread's own first, then
// the process's.
std::optional<siginfo_t> TakeOneOf(Task& t, uint64_t set) {
  absl::MutexLock lock(&t.kernel().mu());
  return kernel::DequeueSignalLocked(t, set);
}

}  // namespace

Result<uint64_t> RtSigtimedwait(Task& t, const SyscallArgs& a) {
  if (a.size(3) != kSigsetSize) return Errno(EINVAL);
  const uint64_t set = TRY(CopyInStruct<uint64_t>(t, a.ptr(0))) & ~kUnblockable;
  std::optional<timespec> deadline;
  if (a.ptr(2) != 0) {
    const timespec ts = TRY(CopyInStruct<timespec>(t, a.ptr(2)));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return Errno(EINVAL);
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const int64_t ns = now.tv_nsec + ts.tv_nsec;
    deadline = timespec{now.tv_sec + ts.tv_sec + ns / 1000000000, ns % 1000000000};
  }
  std::optional<siginfo_t> info = TakeOneOf(t, set);
  if (!info) {
    // The awaited signals are unblocked while waiting, so that a signal
    // sent to the process picks this thread; any other signal that gets
    // through ends the wait with EINTR (and its handler runs).
    const uint64_t blocked = t.signal_mask();
    t.set_signal_mask(blocked & ~set);
    vfs::WaitQueue never;
    auto r = t.Block({&never}, [&] {
      absl::MutexLock lock(&t.kernel().mu());
      return ((t.pending.mask | t.thread_group().pending.mask) & set) != 0;
    }, deadline);
    t.set_signal_mask(blocked);
    info = TakeOneOf(t, set);
    if (!info) return Errno(!r && r.error() == Errno(ETIMEDOUT) ? EAGAIN : EINTR);
  }
  if (a.ptr(1) != 0) TRY(CopyOutStruct(t, a.ptr(1), *info));
  return static_cast<uint64_t>(info->si_signo);
}

Result<uint64_t> RestartSyscall(Task& t, const SyscallArgs&) {
  kernel::Task::RestartBlock fn = t.take_restart_block();
  if (!fn) return Errno(EINTR);  // nothing to restart (do_no_restart_syscall)
  return fn(t);
}

Result<uint64_t> Pause(Task& t, const SyscallArgs&) {
  vfs::WaitQueue never;
  (void)t.Block({&never}, [] { return false; });
  return Errno(ERESTARTNOHAND);
}

Result<uint64_t> Sigaltstack(Task& t, const SyscallArgs& a) {
  const uint64_t ss_addr = a.ptr(0), old_addr = a.ptr(1);
  stack_t old = t.altstack();
  const bool on = kernel::OnAltStack(t, t.regs().gp.rsp);
  if (old_addr != 0) {
    stack_t out = old;
    out.ss_flags = (old.ss_flags & SS_DISABLE) ? SS_DISABLE : (on ? SS_ONSTACK : 0) | static_cast<int>(old.ss_flags & SS_AUTODISARM);
    if (out.ss_flags & SS_DISABLE) {
      out.ss_sp = nullptr;
      out.ss_size = 0;
    }
    TRY(CopyOutStruct(t, old_addr, out));
  }
  if (ss_addr != 0) {
    stack_t ss = TRY(CopyInStruct<stack_t>(t, ss_addr));
    if (on) return Errno(EPERM);
    const int mode = ss.ss_flags & ~SS_AUTODISARM;
    if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK) return Errno(EINVAL);
    if (mode == SS_DISABLE) {
      t.altstack() = stack_t{nullptr, SS_DISABLE, 0};
    } else {
      if (ss.ss_size < kernel::kMinSigStackSize) return Errno(ENOMEM);
      t.altstack() = stack_t{ss.ss_sp, static_cast<int>(ss.ss_flags & SS_AUTODISARM), ss.ss_size};
    }
  }
  return 0;
}

}  // namespace husk::syscalls
