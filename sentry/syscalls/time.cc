// Clocks. The vDSO in every stub answers clock_gettime, gettimeofday and
// time without a trap; these are the slow paths and the other clocks.
#include <sys/time.h>
#include <time.h>

#include "sentry/kernel/cputime.h"
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

// A CPU clock (the model is in sentry/kernel/cputime.h):
// CLOCK_{PROCESS,THREAD}_CPUTIME_ID, or the form clock_getcpuclockid(3)
// and pthread_getcpuclockid(3) make, ~pid << 3 | type with bit 2 for a
// thread and type CPUCLOCK_PROF (0: user + system), CPUCLOCK_VIRT (1:
// user) or CPUCLOCK_SCHED (2: user + system, to the nanosecond).
struct CpuClock {
  bool thread = false;
  int pid = 0;  // 0: the caller (its thread or its process)
  int type = 2;
};
constexpr int kCpuClockVirt = 1;
constexpr int kCpuClockSched = 2;
constexpr int kCpuClockMax = 3;

Result<CpuClock> DecodeCpuClock(clockid_t id) {
  if (id == CLOCK_PROCESS_CPUTIME_ID) return CpuClock{false, 0, kCpuClockSched};
  if (id == CLOCK_THREAD_CPUTIME_ID) return CpuClock{true, 0, kCpuClockSched};
  if (id >= 0 || (id & 3) == kCpuClockMax) return Errno(EINVAL);
  return CpuClock{(id & 4) != 0, static_cast<int>(~static_cast<unsigned>(id) >> 3), id & 3};
}

// The clock's value: EINVAL unless it names a thread of the caller's
// process or (for a process clock) a process.
Result<int64_t> ReadCpuClock(Task& t, const CpuClock& c) {
  auto v = c.thread ? kernel::ThreadCpuById(t, c.pid) : kernel::ProcessCpuById(t, c.pid);
  if (!v) return Errno(EINVAL);
  return c.type == kCpuClockVirt ? v->user_ns : v->total_ns();
}

// Whether `id` is a CPU clock of the caller's process (clock_nanosleep).
Result<bool> CpuClockIsThread(Task& t, clockid_t id) {
  const CpuClock c = TRY(DecodeCpuClock(id));
  if (c.pid != 0 && c.pid != (c.thread ? t.tid() : t.pid())) return Errno(EINVAL);
  return c.thread;
}

}  // namespace

Result<uint64_t> ClockGettime(Task& t, const SyscallArgs& a) {
  const clockid_t id = a.i32(0);
  timespec ts;
  if (IsHostClock(id)) {
    clock_gettime(id == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME
                  : id == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : id, &ts);
  } else {
    const CpuClock c = TRY(DecodeCpuClock(id));
    const int64_t ns = TRY(ReadCpuClock(t, c));
    ts = timespec{ns / kernel::kNsPerSec, ns % kernel::kNsPerSec};
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
    // The clock must exist; CPUCLOCK_SCHED counts nanoseconds, the others
    // ticks (the host's, whose length its own CPU clocks tell).
    const CpuClock c = TRY(DecodeCpuClock(id));
    if (c.pid != 0) (void)TRY(ReadCpuClock(t, c));
    if (c.type != kCpuClockSched) {
      clock_getres(static_cast<clockid_t>((~0u << 3) | (c.thread ? 4 : 0) | c.type), &res);
    }
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

int64_t Nanos(const timespec& ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }
timespec FromNanos(int64_t ns) { return timespec{ns / 1000000000LL, ns % 1000000000LL}; }

int64_t MonotonicNow() {
  timespec mono;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return Nanos(mono);
}

// Sleeps until `deadline` on CLOCK_MONOTONIC or a signal. An interrupted
// relative sleep reports the time left in `rem_addr` and, unless a handler
// runs (then EINTR), goes on through restart_syscall to the same deadline.
Result<uint64_t> SleepUntil(Task& t, int64_t deadline, bool relative, uint64_t rem_addr) {
  vfs::WaitQueue never;
  auto r = t.Block({&never}, [] { return false; }, FromNanos(deadline));
  if (r || r.error() == Errno(ETIMEDOUT)) return 0;
  if (!relative) return Errno(ERESTARTNOHAND);
  if (rem_addr != 0) {
    TRY(CopyOutStruct(t, rem_addr, FromNanos(std::max<int64_t>(0, deadline - MonotonicNow()))));
  }
  t.set_restart_block([deadline, rem_addr](Task& t) { return SleepUntil(t, deadline, true, rem_addr); });
  return Errno(ERESTART_RESTARTBLOCK);
}

Result<uint64_t> Sleep(Task& t, clockid_t clock, int flags, uint64_t req_addr, uint64_t rem_addr) {
  timespec req = TRY(CopyInStruct<timespec>(t, req_addr));
  if (req.tv_sec < 0 || req.tv_nsec < 0 || req.tv_nsec >= 1000000000) return Errno(EINVAL);
  timespec now;
  clock_gettime(clock, &now);
  const bool relative = !(flags & TIMER_ABSTIME);
  const int64_t wait = relative ? Nanos(req) : Nanos(req) - Nanos(now);
  if (wait <= 0) return 0;
  return SleepUntil(t, MonotonicNow() + wait, relative, rem_addr);
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

// ITIMER_VIRTUAL and ITIMER_PROF: the process's user, or user + system,
// CPU clock; SIGVTALRM or SIGPROF to the process.
std::shared_ptr<kernel::Timer> ItimerCpu(Task& t, int which) {
  absl::MutexLock lock(&t.kernel().mu());
  auto& tg = t.thread_group();
  auto& tm = which == ITIMER_VIRTUAL ? tg.itimer_virtual : tg.itimer_prof;
  if (!tm) {
    tm = std::make_shared<kernel::Timer>();
    tm->pid = t.pid();
    tm->info.si_signo = which == ITIMER_VIRTUAL ? SIGVTALRM : SIGPROF;
    tm->info.si_code = SI_KERNEL;
    tm->cpu = kernel::CpuClockRef{t.shared_thread_group(), 0, which == ITIMER_VIRTUAL};
  }
  return tm;
}

// The CPU clock `id` names for a timer of the caller's (timer_create):
// EINVAL unless it is a thread of the caller's process or a process.
Result<kernel::CpuClockRef> TimerCpuClock(Task& t, clockid_t id) {
  const CpuClock c = TRY(DecodeCpuClock(id));
  kernel::CpuClockRef ref;
  ref.user = c.type == kCpuClockVirt;
  absl::MutexLock lock(&t.kernel().mu());
  if (c.thread) {
    ref.tid = c.pid != 0 ? c.pid : t.tid();
    Task* other = t.kernel().LookupTaskLocked(ref.tid);
    if (other == nullptr || &other->thread_group() != &t.thread_group()) return Errno(EINVAL);
    ref.group = t.shared_thread_group();
  } else if (c.pid == 0) {
    ref.group = t.shared_thread_group();
  } else {
    Task* leader = t.kernel().LookupTaskLocked(c.pid);
    if (leader == nullptr || leader->pid() != c.pid) return Errno(EINVAL);
    ref.group = leader->shared_thread_group();
  }
  return ref;
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
  std::pair<int64_t, int64_t> cur;
  if (which == ITIMER_VIRTUAL || which == ITIMER_PROF) {
    cur = TRY(t.kernel().timers().GetCpu(t, ItimerCpu(t, which)));
  } else if (which == ITIMER_REAL) {
    cur = t.kernel().timers().Get(ItimerReal(t));
  } else {
    return Errno(EINVAL);
  }
  auto [value, interval] = cur;
  itimerval out{NanosTv(interval), NanosTv(value)};
  TRY(CopyOutStruct(t, a.ptr(1), out));
  return 0;
}

Result<uint64_t> Setitimer(Task& t, const SyscallArgs& a) {
  const int which = a.i32(0);
  itimerval in{};
  if (a.ptr(1) != 0) in = TRY(CopyInStruct<itimerval>(t, a.ptr(1)));
  if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF) return Errno(EINVAL);
  for (const timeval& tv : {in.it_value, in.it_interval}) {
    if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000) return Errno(EINVAL);
  }
  auto& timers = t.kernel().timers();
  // PARTIAL(cpu timers): CPU-time itimers are checked every
  // TimerService::kCpuTick of wall-clock time, as Linux at each tick.
  std::pair<int64_t, int64_t> old;
  if (which == ITIMER_REAL) {
    old = timers.Set(ItimerReal(t), TvNanos(in.it_value), TvNanos(in.it_interval));
  } else {
    old = TRY(timers.SetCpu(t, ItimerCpu(t, which), TvNanos(in.it_value), TvNanos(in.it_interval),
                            /*absolute=*/false));
  }
  auto [value, interval] = old;
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
  std::optional<kernel::CpuClockRef> cpu;
  switch (clock) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_TAI:
      break;
    case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
      // As a host without a real-time clock device (alarmtimer).
      return Errno(ENOTSUP);
    default:
      // The other host clocks have no timers (MONOTONIC_RAW, the coarse
      // ones); a negative id of type 3 is a dynamic (fd) clock.
      if (IsHostClock(clock) || (clock < 0 && (clock & 3) == kCpuClockMax)) return Errno(ENOTSUP);
      cpu = TRY(TimerCpuClock(t, clock));
  }
  auto tm = std::make_shared<kernel::Timer>();
  tm->clock = clock;
  tm->cpu = std::move(cpu);
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
  const bool absolute = (flags & TIMER_ABSTIME) != 0;
  std::pair<int64_t, int64_t> old;
  if (tm->cpu) {
    // PARTIAL(cpu timers): checked every TimerService::kCpuTick of
    // wall-clock time, as Linux at each tick.
    old = TRY(t.kernel().timers().SetCpu(t, tm, value, Nanos(in.it_interval), absolute));
  } else {
    if (absolute && value > 0) {
      // PARTIAL(clocks): an absolute time on the timer's clock becomes a
      // delay once; a later clock_settime would not move it.
      timespec now;
      clock_gettime(tm->clock, &now);
      value = std::max<int64_t>(1, value - Nanos(now));
    }
    old = t.kernel().timers().Set(tm, value, Nanos(in.it_interval));
  }
  auto [old_value, old_interval] = old;
  if (a.ptr(3) != 0) {
    TRY(CopyOutStruct(t, a.ptr(3), ItimerspecOf(old_value, old_interval)));
  }
  return 0;
}

Result<uint64_t> TimerGettime(Task& t, const SyscallArgs& a) {
  auto tm = TRY(PosixTimer(t, a.i32(0)));
  std::pair<int64_t, int64_t> cur;
  if (tm->cpu) {
    cur = TRY(t.kernel().timers().GetCpu(t, tm));
  } else {
    cur = t.kernel().timers().Get(tm);
  }
  auto [value, interval] = cur;
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
