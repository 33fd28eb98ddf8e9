// Signal disposition and mask syscalls. PARTIAL(signals): both are recorded;
// delivery, frames and sigreturn come with the signals work.
#include <signal.h>

#include <optional>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

constexpr uint64_t kSigsetSize = 8;
constexpr uint64_t Bit(int sig) { return 1ULL << (sig - 1); }
constexpr uint64_t kUnblockable = Bit(SIGKILL) | Bit(SIGSTOP);
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
    t.thread_group().SetSigAction(sig, *act);
  }
  if (old_addr != 0) TRY(CopyOutStruct(t, old_addr, old));
  return 0;
}

Result<uint64_t> RtSigpending(Task& t, const SyscallArgs& a) {
  const uint64_t size = a.size(1);
  if (size > kSigsetSize) return Errno(EINVAL);
  // PARTIAL(signals): nothing is ever left pending yet.
  const uint64_t pending = 0;
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

// Signals whose default action is to do nothing (signal(7)).
bool DefaultIgnores(int sig) {
  return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH;
}

// Signals whose default action dumps core.
bool DefaultCores(int sig) {
  switch (sig) {
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
    case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
      return true;
  }
  return false;
}

}  // namespace

// Sends `sig` to the calling thread group.
// PARTIAL(signals): only the default and ignore dispositions act; a caught
// signal needs delivery (signal frames), which comes with the signals work.
Result<uint64_t> SignalSelf(Task& t, int sig) {
  if (sig < 0 || sig > kernel::kNumSignals) return Errno(EINVAL);
  if (sig == 0) return 0;
  const kernel::SigAction act = t.thread_group().GetSigAction(sig);
  const bool blocked = (t.signal_mask() & Bit(sig)) != 0 && sig != SIGKILL && sig != SIGSTOP;
  if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
    return Errno(ENOSYS);  // PARTIAL(job control)
  }
  if (act.handler == reinterpret_cast<uint64_t>(SIG_IGN) && sig != SIGKILL) return 0;
  if (act.handler == reinterpret_cast<uint64_t>(SIG_DFL) || sig == SIGKILL) {
    if (DefaultIgnores(sig)) return 0;
    if (blocked) return Errno(ENOSYS);  // PARTIAL(pending signals)
    t.Exit(kernel::ExitStatus{0, sig, DefaultCores(sig)});
    return 0;
  }
  return Errno(ENOSYS);
}

Result<uint64_t> Kill(Task& t, const SyscallArgs& a) {
  const int pid = a.i32(0);
  if (a.i32(1) < 0 || a.i32(1) > kernel::kNumSignals) return Errno(EINVAL);
  if (pid == t.pid() || pid == 0 || pid == -1 || pid == -t.pid()) return SignalSelf(t, a.i32(1));
  return Errno(ESRCH);
}

Result<uint64_t> Tkill(Task& t, const SyscallArgs& a) {
  if (a.i32(0) <= 0) return Errno(EINVAL);
  if (a.i32(0) != t.tid()) return Errno(ESRCH);
  return SignalSelf(t, a.i32(1));
}

Result<uint64_t> Tgkill(Task& t, const SyscallArgs& a) {
  if (a.i32(0) <= 0 || a.i32(1) <= 0) return Errno(EINVAL);
  if (a.i32(0) != t.pid() || a.i32(1) != t.tid()) return Errno(ESRCH);
  return SignalSelf(t, a.i32(2));
}

}  // namespace husk::syscalls
