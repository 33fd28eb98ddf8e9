// Files that are kernel objects with no name: eventfd, eventfd2,
// timerfd_create/settime/gettime and signalfd, signalfd4. The files are
// vfs::NewEventFd (vfs/eventfd/), kernel::TimerFd and kernel::SignalFd
// (sentry/kernel/timerfd.h, signalfd.h).
#include <linux/capability.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <limits>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signalfd.h"
#include "sentry/kernel/timerfd.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"
#include "vfs/eventfd/eventfd.h"

namespace husk::syscalls {
namespace {

static_assert(EFD_SEMAPHORE == vfs::kEfdSemaphore && EFD_NONBLOCK == O_NONBLOCK && EFD_CLOEXEC == O_CLOEXEC);
static_assert(TFD_NONBLOCK == O_NONBLOCK && TFD_CLOEXEC == O_CLOEXEC);
static_assert(TFD_TIMER_ABSTIME == kernel::kTfdTimerAbstime &&
              TFD_TIMER_CANCEL_ON_SET == kernel::kTfdTimerCancelOnSet);
static_assert(SFD_NONBLOCK == O_NONBLOCK && SFD_CLOEXEC == O_CLOEXEC);

// eventfd2(2): EINVAL for any other flag.
Result<uint64_t> DoEventfd(Task& t, uint32_t initval, uint32_t flags) {
  if (flags & ~static_cast<uint32_t>(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC)) return Errno(EINVAL);
  return InstallFd(t, vfs::NewEventFd(initval, static_cast<int>(flags)), (flags & EFD_CLOEXEC) != 0);
}

// A timespec in ns, saturating as timespec64_to_ktime (KTIME_MAX).
int64_t Nanos(const timespec& ts) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (ts.tv_sec >= kMax / 1000000000LL) return kMax;
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
timespec Timespec(int64_t ns) { return timespec{ns / 1000000000LL, ns % 1000000000LL}; }

// An itimerspec whose parts are valid times (itimerspec64_valid).
bool Valid(const itimerspec& its) {
  for (const timespec& ts : {its.it_value, its.it_interval}) {
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return false;
  }
  return true;
}

bool IsAlarmClock(clockid_t c) { return c == CLOCK_REALTIME_ALARM || c == CLOCK_BOOTTIME_ALARM; }

// timerfd_fget: EBADF if `fd` is not open, EINVAL if it is not a timerfd.
Result<std::shared_ptr<vfs::FileDescription>> GetTimerFd(Task& t, int fd, kernel::TimerFd** timerfd) {
  auto file = TRY(t.fds().Get(fd));
  *timerfd = kernel::AsTimerFd(*file);
  if (*timerfd == nullptr) return Errno(EINVAL);
  return file;
}

// do_signalfd4 once the mask is read: a new signalfd for `fd` -1, else a
// new mask for the signalfd `fd` (whose flags stay as they are).
Result<uint64_t> DoSignalfd(Task& t, int fd, uint64_t mask_addr, uint64_t sizemask, uint32_t flags) {
  if (sizemask != sizeof(uint64_t)) return Errno(EINVAL);
  const uint64_t mask = TRY(CopyInStruct<uint64_t>(t, mask_addr));
  if (flags & ~static_cast<uint32_t>(SFD_NONBLOCK | SFD_CLOEXEC)) return Errno(EINVAL);
  if (fd == -1) {
    auto file = std::make_shared<kernel::SignalFd>(t.kernel(), mask, static_cast<int>(flags));
    return InstallFd(t, std::move(file), (flags & SFD_CLOEXEC) != 0);
  }
  auto file = TRY(t.fds().Get(fd));
  kernel::SignalFd* signalfd = kernel::AsSignalFd(*file);
  if (signalfd == nullptr) return Errno(EINVAL);
  signalfd->SetMask(mask);
  return static_cast<uint64_t>(fd);
}

}  // namespace

Result<uint64_t> Eventfd(Task& t, const SyscallArgs& a) { return DoEventfd(t, a.u32(0), 0); }

Result<uint64_t> Eventfd2(Task& t, const SyscallArgs& a) { return DoEventfd(t, a.u32(0), a.u32(1)); }

Result<uint64_t> TimerfdCreate(Task& t, const SyscallArgs& a) {
  const clockid_t clock = a.i32(0);
  const uint32_t flags = a.u32(1);
  if (flags & ~static_cast<uint32_t>(TFD_NONBLOCK | TFD_CLOEXEC)) return Errno(EINVAL);
  switch (clock) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME:
    case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
      break;
    default:
      return Errno(EINVAL);
  }
  // PARTIAL(alarm clocks): an alarm timer (for whoever has CAP_WAKE_ALARM,
  // which the sandbox's root lacks) cannot wake a suspended host; it runs
  // as a timer on its clock.
  if (IsAlarmClock(clock) && !t.creds().HasCapability(CAP_WAKE_ALARM)) return Errno(EPERM);
  auto file = std::make_shared<kernel::TimerFd>(t.kernel().timers(), clock, static_cast<int>(flags));
  return InstallFd(t, std::move(file), (flags & TFD_CLOEXEC) != 0);
}

Result<uint64_t> TimerfdSettime(Task& t, const SyscallArgs& a) {
  const int flags = a.i32(1);
  const itimerspec in = TRY(CopyInStruct<itimerspec>(t, a.ptr(2)));
  if ((flags & ~(kernel::kTfdTimerAbstime | kernel::kTfdTimerCancelOnSet)) || !Valid(in)) {
    return Errno(EINVAL);
  }
  kernel::TimerFd* timerfd = nullptr;
  auto keep = TRY(GetTimerFd(t, a.fd(0), &timerfd));
  if (timerfd->IsAlarm() && !t.creds().HasCapability(CAP_WAKE_ALARM)) return Errno(EPERM);
  // PARTIAL(TFD_TIMER_CANCEL_ON_SET): accepted; the sandbox's clocks are
  // never set, so a read never fails with ECANCELED.
  auto [value, interval] = timerfd->Set(Nanos(in.it_value), Nanos(in.it_interval),
                                        (flags & kernel::kTfdTimerAbstime) != 0);
  if (a.ptr(3) != 0) {
    TRY(CopyOutStruct(t, a.ptr(3), itimerspec{Timespec(interval), Timespec(value)}));
  }
  return 0;
}

Result<uint64_t> TimerfdGettime(Task& t, const SyscallArgs& a) {
  kernel::TimerFd* timerfd = nullptr;
  auto keep = TRY(GetTimerFd(t, a.fd(0), &timerfd));
  auto [value, interval] = timerfd->Get();
  TRY(CopyOutStruct(t, a.ptr(1), itimerspec{Timespec(interval), Timespec(value)}));
  return 0;
}

Result<uint64_t> Signalfd(Task& t, const SyscallArgs& a) {
  return DoSignalfd(t, a.i32(0), a.ptr(1), a.size(2), 0);
}

Result<uint64_t> Signalfd4(Task& t, const SyscallArgs& a) {
  return DoSignalfd(t, a.i32(0), a.ptr(1), a.size(2), a.u32(3));
}

}  // namespace husk::syscalls
