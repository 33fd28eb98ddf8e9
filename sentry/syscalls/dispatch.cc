// The one place a handler's Result becomes rax: a value, or -errno.
#include <absl/synchronization/mutex.h>

#include <set>

#include "base/log.h"
#include "sentry/kernel/kernel.h"
#ifdef HUSK_HAVE_STRACE
#include "sentry/syscalls/strace.h"
#endif
#include "sentry/syscalls/syscalls.h"

namespace husk::syscalls {
namespace {

// Logs an unimplemented syscall once per number.
void LogUnsupported(uint64_t nr, const SyscallInfo* info) {
  static absl::Mutex mu(absl::kConstInit);
  static std::set<uint64_t>* seen = new std::set<uint64_t>;
  absl::MutexLock lock(&mu);
  if (!seen->insert(nr).second) return;
  HUSK_WARN("unsupported syscall {} ({})", info ? info->name : "unknown", nr);
}

}  // namespace

void Dispatch(Task& t) {
  platform::Regs& regs = t.regs();
  const uint64_t nr = regs.syscall_nr();
  SyscallArgs args;
  for (int i = 0; i < 6; ++i) args.raw[i] = regs.arg(i);
  const SyscallInfo* info = LookupSyscall(nr);
  int64_t ret;
  if (info == nullptr || info->handler == nullptr) {
    LogUnsupported(nr, info);
    ret = -ENOSYS;
  } else {
    Result<uint64_t> r = info->handler(t, args);
    ret = r ? static_cast<int64_t>(*r) : -static_cast<int64_t>(r.error().value());
  }
#ifdef HUSK_HAVE_STRACE
  if (t.kernel().options().strace) {
    std::string line = FormatSyscall(t, nr, args, ret);
    (void)!write(t.kernel().options().strace_fd, line.data(), line.size());
  }
#endif
  HUSK_DEBUG("syscall {}({:#x}, {:#x}, {:#x}, {:#x}) = {:#x}", info ? info->name : "?", args.raw[0],
             args.raw[1], args.raw[2], args.raw[3], ret);
  regs.set_return(static_cast<uint64_t>(ret));
}

}  // namespace husk::syscalls
