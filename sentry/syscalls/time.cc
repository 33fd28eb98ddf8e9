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

namespace husk::syscalls {
namespace {

int64_t TvNanos(const timeval& tv) { return tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL; }
timeval NanosTv(int64_t ns) {
  // Round up to the microsecond, as a still-armed timer never reads 0.
  ns = (ns + 999) / 1000 * 1000;
  return timeval{ns / 1000000000LL, (ns % 1000000000LL) / 1000};
}

itimerspec ItimerspecOf(int64_t value, int64_t interval) {
  return itimerspec{FromNanos(interval), FromNanos(value)};
}

std::shared_ptr<kernel::Timer> ItimerReal(Task& t) {
  absl::MutexLock lock(&t.kernel().mu());
  auto& tm = t.thread_group().itimer_real;
  if (!tm) {
    tm = std::make_shared<kernel::Timer>();
    tm->pid = t.pid();
    tm->info.si_signo = SIGALRM;
    tm->info.si_code = SI_KERNEL;
  }
  return tm;
}

Result<std::shared_ptr<kernel::Timer>> PosixTimer(Task& t, int id) {
  absl::MutexLock lock(&t.kernel().mu());
  auto& timers = t.thread_group().timers;
  auto it = timers.find(id);
  if (it == timers.end()) return Errno(EINVAL);
  return it->second;
}

}  // namespace

Result<uint64_t> Getitimer(Task& t, const SyscallArgs& a) {
  const int which = a.i32(0);
  if (which == ITIMER_VIRTUAL || which == ITIMER_PROF) return Errno(ENOSYS);  // PARTIAL(cpu timers)
  if (which != ITIMER_REAL) return Errno(EINVAL);
  auto [value, interval] = t.kernel().timers().Get(ItimerReal(t));
  itimerval out{NanosTv(interval), NanosTv(value)};
  TRY(CopyOutStruct(t, a.ptr(1), out));
  return 0;
}

Result<uint64_t> Setitimer(Task& t, const SyscallArgs& a) {
  const int which = a.i32(0);
  itimerval in{};
  if (a.ptr(1) != 0) in = TRY(CopyInStruct<itimerval>(t, a.ptr(1)));
  if (which == ITIMER_VIRTUAL || which == ITIMER_PROF) return Errno(ENOSYS);  // PARTIAL(cpu timers)
  if (which != ITIMER_REAL) return Errno(EINVAL);
  for (const timeval& tv : {in.it_value, in.it_interval}) {
    if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000) return Errno(EINVAL);
  }
  auto [value, interval] = t.kernel().timers().Set(ItimerReal(t), TvNanos(in.it_value), TvNanos(in.it_interval));
  if (a.ptr(2) != 0) {
    itimerval out{NanosTv(interval), NanosTv(value)};
    TRY(CopyOutStruct(t, a.ptr(2), out));
  }
  return 0;
}

Result<uint64_t> Alarm(Task& t, const SyscallArgs& a) {
  const int64_t secs = a.u32(0);
  auto [value, interval] = t.kernel().timers().Set(ItimerReal(t), secs * 1000000000LL, 0);
  (void)interval;
  // The seconds left, rounded to the nearest (and at least 1 if armed).
  if (value == 0) return 0;
  return static_cast<uint64_t>(std::max<int64_t>(1, (value + 500000000LL) / 1000000000LL));
}

Result<uint64_t> TimerCreate(Task& t, const SyscallArgs& a) {
  const clockid_t clock = a.i32(0);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME) {
    if (clock == CLOCK_PROCESS_CPUTIME_ID || clock == CLOCK_THREAD_CPUTIME_ID) return Errno(ENOTSUP);
    return Errno(EINVAL);
  }
  auto tm = std::make_shared<kernel::Timer>();
  tm->pid = t.pid();
  tm->info.si_signo = SIGALRM;
  tm->info.si_code = SI_TIMER;
  int notify = SIGEV_SIGNAL;
  sigval value{};
  if (a.ptr(1) != 0) {
    sigevent ev = TRY(CopyInStruct<sigevent>(t, a.ptr(1)));
    notify = ev.sigev_notify;
    value = ev.sigev_value;
    if (notify != SIGEV_NONE) {
      if (ev.sigev_signo <= 0 || ev.sigev_signo > kernel::kNumSignals) return Errno(EINVAL);
      tm->info.si_signo = ev.sigev_signo;
    }
    if (notify == SIGEV_THREAD_ID) {
      int tgid;
      if (!t.kernel().FindTask(ev._sigev_un._tid, &tgid) || tgid != t.pid()) return Errno(EINVAL);
      tm->tid = ev._sigev_un._tid;
    } else if (notify != SIGEV_SIGNAL && notify != SIGEV_NONE) {
      return Errno(EINVAL);
    }
  }
  if (notify == SIGEV_NONE) tm->info.si_signo = 0;
  int id;
  {
    absl::MutexLock lock(&t.kernel().mu());
    auto& timers = t.thread_group().timers;
    id = 0;
    while (timers.contains(id)) ++id;
    timers[id] = tm;
  }
  tm->info.si_timerid = id;
  tm->info.si_value = a.ptr(1) != 0 ? value : sigval{.sival_int = id};
  if (auto r = CopyOutStruct<int32_t>(t, a.ptr(2), id); !r) {
    absl::MutexLock lock(&t.kernel().mu());
    t.thread_group().timers.erase(id);
    return r.error();
  }
  return 0;
}

Result<uint64_t> TimerSettime(Task& t, const SyscallArgs& a) {
  auto tm = TRY(PosixTimer(t, a.i32(0)));
  const int flags = a.i32(1);
  itimerspec in = TRY(CopyInStruct<itimerspec>(t, a.ptr(2)));
  for (const timespec& ts : {in.it_value, in.it_interval}) {
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return Errno(EINVAL);
  }
  int64_t value = Nanos(in.it_value);
  if ((flags & TIMER_ABSTIME) && value > 0) {
    // PARTIAL(clocks): an absolute time is taken on CLOCK_REALTIME's scale
    // when the timer's clock is realtime, converted once to a delay.
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    value = std::max<int64_t>(1, value - Nanos(now));
  }
  auto [old_value, old_interval] =
      t.kernel().timers().Set(tm, value, Nanos(in.it_interval));
  if (a.ptr(3) != 0) {
    TRY(CopyOutStruct(t, a.ptr(3), ItimerspecOf(old_value, old_interval)));
  }
  return 0;
}

Result<uint64_t> TimerGettime(Task& t, const SyscallArgs& a) {
  auto tm = TRY(PosixTimer(t, a.i32(0)));
  auto [value, interval] = t.kernel().timers().Get(tm);
  TRY(CopyOutStruct(t, a.ptr(1), ItimerspecOf(value, interval)));
  return 0;
}

Result<uint64_t> TimerGetoverrun(Task& t, const SyscallArgs& a) {
  auto tm = TRY(PosixTimer(t, a.i32(0)));
  return static_cast<uint64_t>(t.kernel().timers().Overrun(tm));
}

Result<uint64_t> TimerDelete(Task& t, const SyscallArgs& a) {
  auto tm = TRY(PosixTimer(t, a.i32(0)));
  t.kernel().timers().Set(tm, 0, 0);
  absl::MutexLock lock(&t.kernel().mu());
  t.thread_group().timers.erase(a.i32(0));
  return 0;
}

}  // namespace husk::syscalls
