// pidfds: pidfd_open, pidfd_send_signal, pidfd_getfd, and the pidfd parts
// of clone/clone3 (CLONE_PIDFD) and waitid (P_PIDFD). The file itself is
// kernel::PidFd (sentry/kernel/pidfd.h).
#include "sentry/kernel/pidfd.h"

#include <sched.h>

#include <bit>
#include <optional>

#include "sentry/kernel/kernel.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

using kernel::PidFd;

#ifndef CLONE_DETACHED
#define CLONE_DETACHED 0x00400000
#endif

// The pidfd `fd` names: EBADF if it is not open or not a pidfd.
Result<std::shared_ptr<vfs::FileDescription>> GetPidFd(Task& t, int fd, PidFd** pidfd) {
  auto file = TRY(t.fds().Get(fd));
  *pidfd = kernel::AsPidFd(*file);
  if (*pidfd == nullptr) return Errno(EBADF);
  return file;
}

}  // namespace

Result<uint64_t> PidfdOpen(Task& t, const SyscallArgs& a) {
  const int pid = a.i32(0);
  const unsigned flags = a.u32(1);
  if (flags & ~(kernel::kPidfdNonblock | kernel::kPidfdThread)) return Errno(EINVAL);
  if (pid <= 0) return Errno(EINVAL);
  std::shared_ptr<PidFd> file = TRY(PidFd::Open(t.kernel(), pid, flags));
  return InstallFd(t, std::move(file), /*cloexec=*/true);
}

Result<uint64_t> PidfdSendSignal(Task& t, const SyscallArgs& a) {
  const int sig = a.i32(1);
  const uint64_t info_addr = a.ptr(2);
  const unsigned flags = a.u32(3);
  constexpr unsigned kKnown =
      kernel::kPidfdSignalThread | kernel::kPidfdSignalThreadGroup | kernel::kPidfdSignalProcessGroup;
  if ((flags & ~kKnown) || std::popcount(flags) > 1) return Errno(EINVAL);
  PidFd* pidfd = nullptr;
  auto keep = TRY(GetPidFd(t, a.fd(0), &pidfd));
  std::optional<siginfo_t> info;
  if (info_addr != 0) info = TRY(CopyInStruct<siginfo_t>(t, info_addr));
  TRY(pidfd->SendSignal(t, sig, info ? &*info : nullptr, flags));
  return 0;
}

Result<uint64_t> PidfdGetfd(Task& t, const SyscallArgs& a) {
  if (a.u32(2) != 0) return Errno(EINVAL);  // no flags are defined
  PidFd* pidfd = nullptr;
  auto keep = TRY(GetPidFd(t, a.fd(0), &pidfd));
  std::shared_ptr<vfs::FileDescription> file = TRY(pidfd->GetFile(t, a.fd(1)));
  return InstallFd(t, std::move(file), /*cloexec=*/true);
}

Result<uint64_t> CloneWithPidfd(Task& t, kernel::CloneArgs args, uint64_t pidfd_addr) {
  // CLONE_DETACHED is kept back for pidfds; clone(2) returns the pidfd
  // where parent_tid points, so both cannot be asked of one address.
  if (args.flags & CLONE_DETACHED) return Errno(EINVAL);
  if ((args.flags & CLONE_PARENT_SETTID) && args.parent_tid == pidfd_addr) return Errno(EINVAL);
  // As in Linux the fd is taken and written out before the child exists,
  // so that a bad address leaves no child behind. A new thread's pidfd is
  // a PIDFD_THREAD one.
  auto pidfd = std::make_shared<PidFd>(t.kernel(), (args.flags & CLONE_THREAD) ? kernel::kPidfdThread : 0);
  const int fd = static_cast<int>(TRY(InstallFd(t, pidfd, /*cloexec=*/true)));
  auto undo = [&] {
    auto f = t.fds().Get(fd);
    if (f && f->get() == pidfd.get()) (void)t.fds().Close(fd);
  };
  if (auto r = CopyOutStruct<int32_t>(t, pidfd_addr, fd); !r) {
    undo();
    return r.error();
  }
  args.pidfd = pidfd;
  auto tid = t.kernel().Clone(t, args);
  if (!tid) {
    undo();
    return tid.error();
  }
  return static_cast<uint64_t>(*tid);
}

Result<PidfdWait> PidfdWaitTarget(Task& t, int fd) {
  PidFd* pidfd = nullptr;
  auto keep = TRY(GetPidFd(t, fd, &pidfd));
  return PidfdWait{pidfd->WaitTarget(), (keep->flags() & O_NONBLOCK) != 0};
}

}  // namespace husk::syscalls
