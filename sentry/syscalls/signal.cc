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
