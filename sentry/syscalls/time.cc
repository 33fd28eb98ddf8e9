// Clocks. The vDSO in every stub answers clock_gettime, gettimeofday and
// time without a trap; these are the slow paths and the other clocks.
#include <sys/time.h>
#include <time.h>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

bool IsHostClock(clockid_t id) {
  switch (id) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME:
    case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM: case CLOCK_TAI:
      return true;
  }
  return false;
}

// CPU clocks: CLOCK_{PROCESS,THREAD}_CPUTIME_ID, or the encoded form
// (~pid << 3 | type, bit 2 for a thread) of clock_getcpuclockid.
Result<bool> CpuClockIsThread(Task& t, clockid_t id) {
  if (id == CLOCK_PROCESS_CPUTIME_ID) return false;
  if (id == CLOCK_THREAD_CPUTIME_ID) return true;
  if (id >= 0) return Errno(EINVAL);
  if ((id & 3) == 3) return Errno(EINVAL);  // CPUCLOCK_MAX
  const int pid = static_cast<int>(~static_cast<unsigned>(id) >> 3);
  if (pid != 0 && pid != t.pid()) return Errno(EINVAL);
  return (id & 4) != 0;
}

}  // namespace

Result<uint64_t> ClockGettime(Task& t, const SyscallArgs& a) {
  const clockid_t id = a.i32(0);
  timespec ts;
  if (IsHostClock(id)) {
    clock_gettime(id == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME
                  : id == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : id, &ts);
  } else {
    // PARTIAL(threads): one thread per process, so its clock is the process's.
    TRY(CpuClockIsThread(t, id));
    ts = TRY(t.context().CpuTime(false));
  }
  TRY(CopyOutStruct(t, a.ptr(1), ts));
  return 0;
}

Result<uint64_t> ClockGetres(Task& t, const SyscallArgs& a) {
  const clockid_t id = a.i32(0);
  timespec res{0, 1};
  if (IsHostClock(id)) {
    clock_getres(id == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME
                 : id == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : id, &res);
  } else {
    TRY(CpuClockIsThread(t, id));
  }
  if (a.ptr(1) != 0) TRY(CopyOutStruct(t, a.ptr(1), res));
  return 0;
}

Result<uint64_t> ClockSettime(Task& t, const SyscallArgs& a) {
  const clockid_t id = a.i32(0);
  timespec ts = TRY(CopyInStruct<timespec>(t, a.ptr(1)));
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return Errno(EINVAL);
  // The sandbox's root has no CAP_SYS_TIME; only CLOCK_REALTIME is settable at all.
  if (id == CLOCK_REALTIME) return Errno(EPERM);
  return Errno(EINVAL);
}

// PARTIAL(signals): sleeps cannot be interrupted yet, so *rem is never written.
int64_t Nanos(const timespec& ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }
timespec FromNanos(int64_t ns) { return timespec{ns / 1000000000LL, ns % 1000000000LL}; }

// Sleeps until the deadline or a signal. Interrupted, a relative sleep
// reports the time left in `rem_addr`. PARTIAL(restart_syscall): with no
// handler the call restarts with its original arguments, so a relative
// sleep starts over.
Result<uint64_t> Sleep(Task& t, clockid_t clock, int flags, uint64_t req_addr, uint64_t rem_addr) {
  timespec req = TRY(CopyInStruct<timespec>(t, req_addr));
  if (req.tv_sec < 0 || req.tv_nsec < 0 || req.tv_nsec >= 1000000000) return Errno(EINVAL);
  timespec now, mono;
  clock_gettime(clock, &now);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  const int64_t wait = (flags & TIMER_ABSTIME) ? Nanos(req) - Nanos(now) : Nanos(req);
  if (wait <= 0) return 0;
  const int64_t deadline = Nanos(mono) + wait;
  vfs::WaitQueue never;
  auto r = t.Block({&never}, [] { return false; }, FromNanos(deadline));
  if (r || r.error() == Errno(ETIMEDOUT)) return 0;
  if (!(flags & TIMER_ABSTIME) && rem_addr != 0) {
    clock_gettime(CLOCK_MONOTONIC, &mono);
    TRY(CopyOutStruct(t, rem_addr, FromNanos(std::max<int64_t>(0, deadline - Nanos(mono)))));
  }
  return Errno(ERESTARTNOHAND);
}

Result<uint64_t> Nanosleep(Task& t, const SyscallArgs& a) {
  return Sleep(t, CLOCK_MONOTONIC, 0, a.ptr(0), a.ptr(1));
}

Result<uint64_t> ClockNanosleep(Task& t, const SyscallArgs& a) {
  const clockid_t id = a.i32(0);
  const int flags = a.i32(1);
  switch (id) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_TAI:
      break;
    case CLOCK_THREAD_CPUTIME_ID:
      return Errno(EINVAL);
    default:
      if (IsHostClock(id)) return Errno(ENOTSUP);
      // PARTIAL(cpu clocks): sleeping on a CPU clock is not supported yet.
      TRY(CpuClockIsThread(t, id));
      return Errno(ENOTSUP);
  }
  return Sleep(t, id, flags & TIMER_ABSTIME, a.ptr(2), a.ptr(3));
}

constexpr struct timezone kNoTimezone = {0, 0};

Result<uint64_t> Gettimeofday(Task& t, const SyscallArgs& a) {
  timeval tv;
  ::gettimeofday(&tv, nullptr);
  if (a.ptr(0) != 0) TRY(CopyOutStruct(t, a.ptr(0), tv));
  if (a.ptr(1) != 0) TRY(CopyOutStruct(t, a.ptr(1), kNoTimezone));
  return 0;
}

Result<uint64_t> Time(Task& t, const SyscallArgs& a) {
  const int64_t now = ::time(nullptr);
  if (a.ptr(0) != 0) TRY(CopyOutStruct(t, a.ptr(0), now));
  return static_cast<uint64_t>(now);
}

}  // namespace husk::syscalls
