// Clock syscalls: clock_gettime, clock_getres, gettimeofday, time.
//
// glibc routes these through the vDSO; error cases (which would crash or be
// handled in user space) use raw syscall() so the kernel / sentry sees them.

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

constexpr int64_t kNsPerSec = 1000000000;

int64_t ToNs(const timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

long RawClockGettime(clockid_t id, timespec* ts) {
  return syscall(SYS_clock_gettime, id, ts);
}

long RawClockGetres(clockid_t id, timespec* ts) {
  return syscall(SYS_clock_getres, id, ts);
}

// Burns some CPU so CPU-time clocks advance.
void Spin() {
  volatile uint64_t x = 0;
  for (int i = 0; i < 2000000; i++) x = x + i;
}

bool IsNormalized(const timespec& ts) {
  return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNsPerSec;
}

// ---------------------------------------------------------------- clock_gettime

TEST(ClockGettime, RealtimeIsAfter2020) {
  timespec ts{};
  ASSERT_EQ(RawClockGettime(CLOCK_REALTIME, &ts), 0);
  EXPECT_TRUE(IsNormalized(ts));
  EXPECT_GT(ts.tv_sec, 1577836800);  // 2020-01-01
}

TEST(ClockGettime, RawSyscallAgreesWithVdso) {
  for (clockid_t id : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME}) {
    timespec a{}, b{}, c{};
    ASSERT_EQ(clock_gettime(id, &a), 0);
    ASSERT_EQ(RawClockGettime(id, &b), 0);
    ASSERT_EQ(clock_gettime(id, &c), 0);
    EXPECT_LE(ToNs(a), ToNs(b)) << id;
    EXPECT_LE(ToNs(b), ToNs(c)) << id;
  }
}

TEST(ClockGettime, MonotonicNeverGoesBackwards) {
  timespec prev{};
  ASSERT_EQ(RawClockGettime(CLOCK_MONOTONIC, &prev), 0);
  EXPECT_TRUE(IsNormalized(prev));
  for (int i = 0; i < 1000; i++) {
    timespec now{};
    ASSERT_EQ(RawClockGettime(CLOCK_MONOTONIC, &now), 0);
    ASSERT_GE(ToNs(now), ToNs(prev));
    prev = now;
  }
}

TEST(ClockGettime, MonotonicAdvancesAcrossSleep) {
  timespec a{}, b{};
  ASSERT_EQ(RawClockGettime(CLOCK_MONOTONIC, &a), 0);
  timespec req = {0, 10 * 1000 * 1000};
  ASSERT_EQ(nanosleep(&req, nullptr), 0);
  ASSERT_EQ(RawClockGettime(CLOCK_MONOTONIC, &b), 0);
  EXPECT_GE(ToNs(b) - ToNs(a), 10 * 1000 * 1000);
  EXPECT_LT(ToNs(b) - ToNs(a), 5 * kNsPerSec);
}

TEST(ClockGettime, BoottimeIsAtLeastMonotonic) {
  timespec mono{}, boot{};
  ASSERT_EQ(RawClockGettime(CLOCK_MONOTONIC, &mono), 0);
  ASSERT_EQ(RawClockGettime(CLOCK_BOOTTIME, &boot), 0);
  EXPECT_TRUE(IsNormalized(boot));
  EXPECT_GE(ToNs(boot), ToNs(mono));
}

TEST(ClockGettime, MonotonicRawAndTaiSucceed) {
  timespec ts{};
  EXPECT_EQ(RawClockGettime(CLOCK_MONOTONIC_RAW, &ts), 0);
  EXPECT_TRUE(IsNormalized(ts));
  EXPECT_GT(ToNs(ts), 0);
  timespec real{}, tai{};
  ASSERT_EQ(RawClockGettime(CLOCK_REALTIME, &real), 0);
  ASSERT_EQ(RawClockGettime(CLOCK_TAI, &tai), 0);
  // TAI = REALTIME + tai_offset (0 unless set; at most a few tens of seconds).
  EXPECT_GE(tai.tv_sec, real.tv_sec);
  EXPECT_LT(tai.tv_sec - real.tv_sec, 100);
}

TEST(ClockGettime, ProcessCputimeAdvancesWithWork) {
  timespec a{}, b{};
  ASSERT_EQ(RawClockGettime(CLOCK_PROCESS_CPUTIME_ID, &a), 0);
  Spin();
  ASSERT_EQ(RawClockGettime(CLOCK_PROCESS_CPUTIME_ID, &b), 0);
  EXPECT_TRUE(IsNormalized(b));
  EXPECT_GT(ToNs(b), ToNs(a));
}

TEST(ClockGettime, ThreadCputimeAdvancesWithWork) {
  timespec a{}, b{};
  ASSERT_EQ(RawClockGettime(CLOCK_THREAD_CPUTIME_ID, &a), 0);
  Spin();
  ASSERT_EQ(RawClockGettime(CLOCK_THREAD_CPUTIME_ID, &b), 0);
  EXPECT_TRUE(IsNormalized(b));
  EXPECT_GT(ToNs(b), ToNs(a));
  // A single-threaded process: thread time <= process time.
  timespec p{}, t{};
  ASSERT_EQ(RawClockGettime(CLOCK_THREAD_CPUTIME_ID, &t), 0);
  ASSERT_EQ(RawClockGettime(CLOCK_PROCESS_CPUTIME_ID, &p), 0);
  EXPECT_LE(ToNs(t), ToNs(p));
}

TEST(ClockGettime, PidCpuClockOfSelfWorks) {
  // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED): what clock_getcpuclockid uses.
  clockid_t id = static_cast<clockid_t>((~static_cast<unsigned>(getpid()) << 3) | 2);
  clockid_t libc_id = 0;
  ASSERT_EQ(clock_getcpuclockid(0, &libc_id), 0);
  timespec ts{};
  EXPECT_EQ(RawClockGettime(id, &ts), 0) << strerror(errno);
  EXPECT_GT(ToNs(ts), 0);
  EXPECT_EQ(RawClockGettime(libc_id, &ts), 0) << strerror(errno);
}

TEST(ClockGettime, CoarseClocksAreCloseToFineOnes) {
  // The coarse clocks are only updated at timer ticks; with tickless kernels
  // and virtualised CPUs the lag can be several ticks, so the bound is loose.
  const int64_t slack = kNsPerSec;
  struct Pair { clockid_t coarse, fine; };
  for (Pair p : {Pair{CLOCK_REALTIME_COARSE, CLOCK_REALTIME},
                 Pair{CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC}}) {
    timespec c{}, f{};
    ASSERT_EQ(RawClockGettime(p.coarse, &c), 0);
    ASSERT_EQ(RawClockGettime(p.fine, &f), 0);
    EXPECT_TRUE(IsNormalized(c));
    // The coarse clock never runs ahead of the fine one.
    EXPECT_LE(ToNs(c), ToNs(f)) << p.coarse;
    EXPECT_LT(ToNs(f) - ToNs(c), slack) << p.coarse;
  }
}

TEST(ClockGettime, InvalidClockIsEinval) {
  timespec ts{};
  EXPECT_FAILS_WITH(RawClockGettime(1000, &ts), EINVAL);
  EXPECT_FAILS_WITH(RawClockGettime(16, &ts), EINVAL);
  // Id 10 (CLOCK_SGI_CYCLE, removed) is invalid too.
  EXPECT_FAILS_WITH(RawClockGettime(10, &ts), EINVAL);
  // A CPU-clock id whose low bits select no valid clock.
  EXPECT_FAILS_WITH(RawClockGettime(-1, &ts), EINVAL);
}

TEST(ClockGettime, CpuClockOfNonexistentPidIsEinval) {
  // Linux reports a dead/unknown pid's CPU clock as EINVAL, not ESRCH.
  // pid 0x0ffffffe is above PID_MAX_LIMIT, so it cannot exist.
  clockid_t id = static_cast<clockid_t>((~0x0ffffffeu << 3) | 2);
  timespec ts{};
  EXPECT_FAILS_WITH(RawClockGettime(id, &ts), EINVAL);
}

TEST(ClockGettime, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(RawClockGettime(CLOCK_REALTIME, nullptr), EFAULT);
  EXPECT_FAILS_WITH(RawClockGettime(CLOCK_MONOTONIC,
                                    reinterpret_cast<timespec*>(1)),
                    EFAULT);
  EXPECT_FAILS_WITH(RawClockGettime(CLOCK_PROCESS_CPUTIME_ID, nullptr), EFAULT);
}

// ---------------------------------------------------------------- clock_getres

TEST(ClockGetres, HighResClocksHaveNanosecondResolution) {
  for (clockid_t id : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
                       CLOCK_MONOTONIC_RAW, CLOCK_PROCESS_CPUTIME_ID,
                       CLOCK_THREAD_CPUTIME_ID}) {
    timespec res{-1, -1};
    ASSERT_EQ(RawClockGetres(id, &res), 0) << id;
    EXPECT_EQ(res.tv_sec, 0) << id;
    EXPECT_EQ(res.tv_nsec, 1) << id;
  }
}

TEST(ClockGetres, CoarseClocksHaveTickResolution) {
  timespec rt{}, mono{};
  ASSERT_EQ(RawClockGetres(CLOCK_REALTIME_COARSE, &rt), 0);
  ASSERT_EQ(RawClockGetres(CLOCK_MONOTONIC_COARSE, &mono), 0);
  EXPECT_EQ(ToNs(rt), ToNs(mono));
  // One jiffy: between 1 ms (HZ=1000) and 10 ms (HZ=100).
  EXPECT_GE(ToNs(mono), 1000 * 1000);
  EXPECT_LE(ToNs(mono), 10 * 1000 * 1000);
}

TEST(ClockGetres, NullResultIsAllowed) {
  EXPECT_EQ(RawClockGetres(CLOCK_MONOTONIC, nullptr), 0);
}

TEST(ClockGetres, InvalidClockIsEinval) {
  timespec ts{};
  EXPECT_FAILS_WITH(RawClockGetres(1000, &ts), EINVAL);
  EXPECT_FAILS_WITH(RawClockGetres(-1, &ts), EINVAL);
  // Validation happens even without a result pointer.
  EXPECT_FAILS_WITH(RawClockGetres(1000, nullptr), EINVAL);
}

TEST(ClockGetres, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(RawClockGetres(CLOCK_REALTIME,
                                   reinterpret_cast<timespec*>(1)),
                    EFAULT);
}

// ---------------------------------------------------------------- clock_settime

TEST(ClockSettime, MonotonicIsEinval) {
  timespec ts{};
  ASSERT_EQ(RawClockGettime(CLOCK_MONOTONIC, &ts), 0);
  EXPECT_FAILS_WITH(syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts), EINVAL);
}

// ---------------------------------------------------------------- gettimeofday

TEST(Gettimeofday, CloseToRealtime) {
  timespec before{}, after{};
  timeval tv{};
  ASSERT_EQ(RawClockGettime(CLOCK_REALTIME, &before), 0);
  ASSERT_EQ(syscall(SYS_gettimeofday, &tv, nullptr), 0);
  ASSERT_EQ(RawClockGettime(CLOCK_REALTIME, &after), 0);
  EXPECT_GE(tv.tv_usec, 0);
  EXPECT_LT(tv.tv_usec, 1000000);
  int64_t tv_ns = static_cast<int64_t>(tv.tv_sec) * kNsPerSec + tv.tv_usec * 1000;
  // gettimeofday truncates to microseconds.
  EXPECT_GE(tv_ns, ToNs(before) - 1000);
  EXPECT_LE(tv_ns, ToNs(after));
}

TEST(Gettimeofday, VdsoAgreesWithSyscall) {
  timeval a{}, b{};
  ASSERT_EQ(gettimeofday(&a, nullptr), 0);
  ASSERT_EQ(syscall(SYS_gettimeofday, &b, nullptr), 0);
  int64_t a_us = static_cast<int64_t>(a.tv_sec) * 1000000 + a.tv_usec;
  int64_t b_us = static_cast<int64_t>(b.tv_sec) * 1000000 + b.tv_usec;
  EXPECT_LE(a_us, b_us);
  EXPECT_LT(b_us - a_us, 1000000);
}

TEST(Gettimeofday, NullArgumentsAllowed) {
  EXPECT_EQ(syscall(SYS_gettimeofday, nullptr, nullptr), 0);
}

TEST(Gettimeofday, TimezoneIsFilled) {
  struct timezone tz;
  memset(&tz, 0x7f, sizeof(tz));
  timeval tv{};
  ASSERT_EQ(syscall(SYS_gettimeofday, &tv, &tz), 0);
  EXPECT_NE(tz.tz_minuteswest, 0x7f7f7f7f);
  EXPECT_NE(tz.tz_dsttime, 0x7f7f7f7f);
}

TEST(Gettimeofday, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_gettimeofday, reinterpret_cast<timeval*>(1),
                            nullptr),
                    EFAULT);
  timeval tv{};
  EXPECT_FAILS_WITH(syscall(SYS_gettimeofday, &tv,
                            reinterpret_cast<struct timezone*>(1)),
                    EFAULT);
}

// ---------------------------------------------------------------- time

TEST(Time, ReturnValueEqualsStoredValue) {
  time_t t = 0;
  long r = syscall(SYS_time, &t);
  EXPECT_GT(r, 1577836800);
  EXPECT_EQ(r, t);
}

TEST(Time, NullPointerAllowed) {
  timespec before{}, after{};
  ASSERT_EQ(RawClockGettime(CLOCK_REALTIME, &before), 0);
  long r = syscall(SYS_time, nullptr);
  ASSERT_EQ(RawClockGettime(CLOCK_REALTIME, &after), 0);
  // time() may lag behind CLOCK_REALTIME by up to a tick (it reads the
  // coarse clock), so allow one second of slack on the low side.
  EXPECT_GE(r, before.tv_sec - 1);
  EXPECT_LE(r, after.tv_sec);
}

TEST(Time, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_time, reinterpret_cast<time_t*>(1)), EFAULT);
}

}  // namespace
