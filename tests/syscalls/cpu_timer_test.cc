// CPU-time timers: setitimer(2)/getitimer(2) ITIMER_VIRTUAL (user time,
// SIGVTALRM) and ITIMER_PROF (user + system time, SIGPROF), and
// timer_create(2) on CPU clocks (CLOCK_PROCESS_CPUTIME_ID,
// CLOCK_THREAD_CPUTIME_ID, clock_getcpuclockid(3), pthread_getcpuclockid(3)).
// They count CPU time, not wall-clock time: a sleeping process's never fire.
// Linux checks them at each scheduler tick, so the tests allow for a few ms.

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::NowMs;
using husk_test::RunInChild;
using husk_test::SleepMs;

volatile sig_atomic_t g_count[65];
siginfo_t g_last_info;

void Count(int sig, siginfo_t* info, void*) {
  g_count[sig] = g_count[sig] + 1;
  g_last_info = *info;
}

void Handle(int sig) {
  struct sigaction sa {};
  sa.sa_sigaction = Count;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(sig, &sa, nullptr), 0);
  g_count[sig] = 0;
}

int64_t CpuMs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// Spins in user mode until `done()`, or `max_ms` of wall-clock time.
template <typename F>
bool SpinUntil(F done, long max_ms) {
  const long end = NowMs() + max_ms;
  volatile uint64_t sink = 0;
  while (!done()) {
    for (int i = 0; i < 20000; i++) sink = sink + i;
    if (NowMs() > end) return false;
  }
  return true;
}

// Spins until `clock` has advanced `ms` (or 20 s of wall-clock time pass).
void SpinCpu(clockid_t clock, int64_t ms) {
  const int64_t start = CpuMs(clock);
  SpinUntil([&] { return CpuMs(clock) - start >= ms; }, 20000);
}

int64_t TvUs(const timeval& tv) { return tv.tv_sec * 1000000LL + tv.tv_usec; }

// Linux samples a process's CPU clock at tick granularity for the itimers:
// what getitimer reports can exceed what was set by up to a tick.
constexpr int64_t kTickSlackUs = 10000;
int64_t TsMs(const timespec& ts) { return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000; }

// Each test leaves the CPU itimers disarmed and their signals ignored (a
// signal still in flight is dropped).
class CpuTimer : public ::testing::Test {
 protected:
  void TearDown() override {
    itimerval zero{};
    setitimer(ITIMER_VIRTUAL, &zero, nullptr);
    setitimer(ITIMER_PROF, &zero, nullptr);
    signal(SIGVTALRM, SIG_IGN);
    signal(SIGPROF, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
  }
};

void Arm(int which, long value_ms, long interval_ms) {
  itimerval it{{interval_ms / 1000, (interval_ms % 1000) * 1000}, {value_ms / 1000, (value_ms % 1000) * 1000}};
  ASSERT_EQ(setitimer(which, &it, nullptr), 0) << strerror(errno);
}

// ---------------------------------------------------------- setitimer

TEST_F(CpuTimer, VirtualFiresAfterBusyLoop) {
  Handle(SIGVTALRM);
  Arm(ITIMER_VIRTUAL, 30, 0);
  EXPECT_TRUE(SpinUntil([] { return g_count[SIGVTALRM] > 0; }, 10000));
  SpinCpu(CLOCK_PROCESS_CPUTIME_ID, 50);  // one-shot: no second signal
  EXPECT_EQ(g_count[SIGVTALRM], 1);
  itimerval cur;
  ASSERT_EQ(getitimer(ITIMER_VIRTUAL, &cur), 0);
  EXPECT_EQ(TvUs(cur.it_value), 0);
}

TEST_F(CpuTimer, VirtualDoesNotFireWhileSleeping) {
  Handle(SIGVTALRM);
  Arm(ITIMER_VIRTUAL, 50, 0);
  SleepMs(200);
  EXPECT_EQ(g_count[SIGVTALRM], 0);
  itimerval cur;
  ASSERT_EQ(getitimer(ITIMER_VIRTUAL, &cur), 0);
  EXPECT_GT(TvUs(cur.it_value), 20000);  // hardly any user time went by
  EXPECT_LE(TvUs(cur.it_value), 50000 + kTickSlackUs);
}

TEST_F(CpuTimer, ProfFiresSigprof) {
  Handle(SIGPROF);
  Arm(ITIMER_PROF, 30, 0);
  EXPECT_TRUE(SpinUntil([] { return g_count[SIGPROF] > 0; }, 10000));
  EXPECT_EQ(g_last_info.si_signo, SIGPROF);
  EXPECT_EQ(g_last_info.si_code, SI_KERNEL);
}

TEST_F(CpuTimer, ProfCountsSystemTime) {
  // getppid(2) does all its work in the kernel (the sentry): system time.
  Handle(SIGPROF);
  Arm(ITIMER_PROF, 30, 0);
  const long end = NowMs() + 10000;
  while (g_count[SIGPROF] == 0 && NowMs() < end) {
    for (int i = 0; i < 100; i++) syscall(SYS_getppid);
  }
  EXPECT_EQ(g_count[SIGPROF], 1);
}

TEST_F(CpuTimer, PeriodicVirtualFiresRepeatedly) {
  Handle(SIGVTALRM);
  Arm(ITIMER_VIRTUAL, 20, 20);
  SpinCpu(CLOCK_PROCESS_CPUTIME_ID, 300);
  Arm(ITIMER_VIRTUAL, 0, 0);
  // 300 ms of CPU time, nearly all of it user time, at one signal per
  // 20 ms: about 15. (Linux's user time is sampled at ticks, so the
  // upper bound is loose.)
  EXPECT_GE(g_count[SIGVTALRM], 3);
  EXPECT_LE(g_count[SIGVTALRM], 40);
}

TEST_F(CpuTimer, GetitimerReportsRemainingAndInterval) {
  Arm(ITIMER_PROF, 1000, 500);
  itimerval cur;
  ASSERT_EQ(getitimer(ITIMER_PROF, &cur), 0);
  EXPECT_GT(TvUs(cur.it_value), 800000);
  EXPECT_LE(TvUs(cur.it_value), 1000000 + kTickSlackUs);
  EXPECT_EQ(TvUs(cur.it_interval), 500000);
  SpinCpu(CLOCK_PROCESS_CPUTIME_ID, 100);
  itimerval later;
  ASSERT_EQ(getitimer(ITIMER_PROF, &later), 0);
  EXPECT_LE(TvUs(later.it_value), TvUs(cur.it_value) - 50000);
}

TEST_F(CpuTimer, SetitimerReturnsOldValue) {
  signal(SIGVTALRM, SIG_IGN);
  Arm(ITIMER_VIRTUAL, 2000, 300);
  itimerval next{{0, 0}, {5, 0}}, old;
  ASSERT_EQ(setitimer(ITIMER_VIRTUAL, &next, &old), 0);
  EXPECT_GT(TvUs(old.it_value), 1800000);
  EXPECT_LE(TvUs(old.it_value), 2000000 + kTickSlackUs);
  EXPECT_EQ(TvUs(old.it_interval), 300000);
  itimerval zero{};
  ASSERT_EQ(setitimer(ITIMER_VIRTUAL, &zero, &old), 0);
  EXPECT_GT(TvUs(old.it_value), 4800000);
  EXPECT_EQ(TvUs(old.it_interval), 0);
  ASSERT_EQ(getitimer(ITIMER_VIRTUAL, &old), 0);
  EXPECT_EQ(TvUs(old.it_value), 0);
}

TEST_F(CpuTimer, DisarmedReadsZero) {
  itimerval cur{{1, 1}, {1, 1}};
  ASSERT_EQ(getitimer(ITIMER_VIRTUAL, &cur), 0);
  EXPECT_EQ(TvUs(cur.it_value), 0);
  EXPECT_EQ(TvUs(cur.it_interval), 0);
}

TEST_F(CpuTimer, BadArgumentsAreEinval) {
  itimerval it{{0, 0}, {0, 1000000}};
  EXPECT_FAILS_WITH(setitimer(ITIMER_VIRTUAL, &it, nullptr), EINVAL);
  it = {{0, 0}, {0, -1}};
  EXPECT_FAILS_WITH(setitimer(ITIMER_PROF, &it, nullptr), EINVAL);
  it = {{0, 1000000}, {1, 0}};
  EXPECT_FAILS_WITH(setitimer(ITIMER_PROF, &it, nullptr), EINVAL);
  it = {};
  EXPECT_FAILS_WITH(setitimer(static_cast<__itimer_which>(3), &it, nullptr), EINVAL);
  EXPECT_FAILS_WITH(getitimer(static_cast<__itimer_which>(3), &it), EINVAL);
  EXPECT_FAILS_WITH(getitimer(static_cast<__itimer_which>(-1), &it), EINVAL);
  EXPECT_FAILS_WITH(getitimer(ITIMER_PROF, static_cast<itimerval*>(husk_test::BadPtr())), EFAULT);
}

TEST_F(CpuTimer, ForkChildDoesNotInherit) {
  signal(SIGVTALRM, SIG_IGN);
  signal(SIGPROF, SIG_IGN);
  Arm(ITIMER_VIRTUAL, 10000, 1000);
  Arm(ITIMER_PROF, 10000, 1000);
  RunInChild([] {
    for (int which : {ITIMER_VIRTUAL, ITIMER_PROF}) {
      itimerval cur{{1, 1}, {1, 1}};
      ASSERT_EQ(getitimer(static_cast<__itimer_which>(which), &cur), 0);
      EXPECT_EQ(TvUs(cur.it_value), 0) << which;
      EXPECT_EQ(TvUs(cur.it_interval), 0) << which;
    }
  });
  itimerval cur;
  ASSERT_EQ(getitimer(ITIMER_VIRTUAL, &cur), 0);
  EXPECT_GT(TvUs(cur.it_value), 0);
}

TEST_F(CpuTimer, VirtualCountsOtherThreads) {
  // The process's clock: a thread's busy loop fires it while main sleeps.
  Handle(SIGVTALRM);
  Arm(ITIMER_VIRTUAL, 30, 0);
  std::atomic<bool> stop{false};
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, nullptr, [](void* p) -> void* {
    auto* stop = static_cast<std::atomic<bool>*>(p);
    SpinUntil([&] { return stop->load(); }, 20000);
    return nullptr;
  }, &stop), 0);
  const long end = NowMs() + 10000;
  while (g_count[SIGVTALRM] == 0 && NowMs() < end) SleepMs(5);
  stop = true;
  ASSERT_EQ(pthread_join(th, nullptr), 0);
  EXPECT_EQ(g_count[SIGVTALRM], 1);
}

// ---------------------------------------------------------- timer_create

timer_t NewCpuTimer(clockid_t clock, int sig) {
  sigevent ev{};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = sig;
  ev.sigev_value.sival_int = 4242;
  timer_t id{};
  EXPECT_EQ(timer_create(clock, &ev, &id), 0) << strerror(errno);
  return id;
}

void SetMs(timer_t id, long value_ms, long interval_ms, int flags = 0) {
  itimerspec its{{interval_ms / 1000, (interval_ms % 1000) * 1000000},
                 {value_ms / 1000, (value_ms % 1000) * 1000000}};
  ASSERT_EQ(timer_settime(id, flags, &its, nullptr), 0) << strerror(errno);
}

TEST_F(CpuTimer, ProcessCpuTimerFires) {
  Handle(SIGUSR1);
  timer_t id = NewCpuTimer(CLOCK_PROCESS_CPUTIME_ID, SIGUSR1);
  SetMs(id, 30, 0);
  EXPECT_TRUE(SpinUntil([] { return g_count[SIGUSR1] > 0; }, 10000));
  EXPECT_EQ(g_last_info.si_code, SI_TIMER);
  EXPECT_EQ(g_last_info.si_value.sival_int, 4242);
  itimerspec cur;
  ASSERT_EQ(timer_gettime(id, &cur), 0);
  EXPECT_EQ(TsMs(cur.it_value), 0);
  EXPECT_EQ(timer_delete(id), 0);
}

TEST_F(CpuTimer, ProcessCpuTimerIgnoresSleep) {
  Handle(SIGUSR1);
  timer_t id = NewCpuTimer(CLOCK_PROCESS_CPUTIME_ID, SIGUSR1);
  SetMs(id, 50, 0);
  SleepMs(200);
  EXPECT_EQ(g_count[SIGUSR1], 0);
  itimerspec cur;
  ASSERT_EQ(timer_gettime(id, &cur), 0);
  EXPECT_GT(TsMs(cur.it_value), 20);
  EXPECT_LE(TsMs(cur.it_value), 50);
  EXPECT_EQ(timer_delete(id), 0);
}

TEST_F(CpuTimer, PeriodicProcessCpuTimer) {
  Handle(SIGUSR1);
  timer_t id = NewCpuTimer(CLOCK_PROCESS_CPUTIME_ID, SIGUSR1);
  SetMs(id, 20, 20);
  SpinCpu(CLOCK_PROCESS_CPUTIME_ID, 300);
  EXPECT_EQ(timer_delete(id), 0);
  EXPECT_GE(g_count[SIGUSR1], 3);
  EXPECT_LE(g_count[SIGUSR1], 17);
}

TEST_F(CpuTimer, AbsoluteProcessCpuTimer) {
  Handle(SIGUSR1);
  timer_t id = NewCpuTimer(CLOCK_PROCESS_CPUTIME_ID, SIGUSR1);
  timespec now;
  ASSERT_EQ(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now), 0);
  const int64_t at = (now.tv_sec * 1000000000LL + now.tv_nsec) + 30000000;
  itimerspec its{{0, 0}, {at / 1000000000, at % 1000000000}};
  ASSERT_EQ(timer_settime(id, TIMER_ABSTIME, &its, nullptr), 0);
  itimerspec cur;
  ASSERT_EQ(timer_gettime(id, &cur), 0);
  EXPECT_GT(TsMs(cur.it_value), 0);
  EXPECT_LE(TsMs(cur.it_value), 30);
  EXPECT_TRUE(SpinUntil([] { return g_count[SIGUSR1] > 0; }, 10000));
  EXPECT_EQ(timer_delete(id), 0);
}

TEST_F(CpuTimer, ThreadCpuTimerFires) {
  Handle(SIGUSR1);
  timer_t id = NewCpuTimer(CLOCK_THREAD_CPUTIME_ID, SIGUSR1);
  SetMs(id, 30, 0);
  EXPECT_TRUE(SpinUntil([] { return g_count[SIGUSR1] > 0; }, 10000));
  EXPECT_EQ(g_count[SIGUSR1], 1);
  EXPECT_EQ(timer_delete(id), 0);
}

struct Spinner {
  std::atomic<bool> stop{false};
  std::atomic<bool> started{false};
  pthread_t th;

  void Start() {
    ASSERT_EQ(pthread_create(&th, nullptr, [](void* p) -> void* {
      auto* s = static_cast<Spinner*>(p);
      s->started = true;
      SpinUntil([&] { return s->stop.load(); }, 20000);
      return nullptr;
    }, this), 0);
    while (!started) SleepMs(1);
  }
  void Stop() {
    stop = true;
    pthread_join(th, nullptr);
  }
};

TEST_F(CpuTimer, ThreadCpuTimerIgnoresOtherThreads) {
  // Another thread burns CPU; the caller's own clock hardly moves.
  Handle(SIGUSR1);
  timer_t id = NewCpuTimer(CLOCK_THREAD_CPUTIME_ID, SIGUSR1);
  SetMs(id, 50, 0);
  Spinner s;
  s.Start();
  SleepMs(250);
  s.Stop();
  EXPECT_EQ(g_count[SIGUSR1], 0);
  EXPECT_EQ(timer_delete(id), 0);
}

TEST_F(CpuTimer, TimerOnAnotherThreadsClock) {
  Handle(SIGUSR2);
  Spinner s;
  s.Start();
  clockid_t clock;
  ASSERT_EQ(pthread_getcpuclockid(s.th, &clock), 0);
  timer_t id = NewCpuTimer(clock, SIGUSR2);
  SetMs(id, 30, 0);
  const long end = NowMs() + 10000;
  while (g_count[SIGUSR2] == 0 && NowMs() < end) SleepMs(5);
  s.Stop();
  EXPECT_EQ(g_count[SIGUSR2], 1);
  EXPECT_EQ(timer_delete(id), 0);
}

TEST_F(CpuTimer, TimerOnOwnProcessClockId) {
  Handle(SIGUSR1);
  clockid_t clock;
  ASSERT_EQ(clock_getcpuclockid(getpid(), &clock), 0);
  timer_t id = NewCpuTimer(clock, SIGUSR1);
  SetMs(id, 30, 0);
  EXPECT_TRUE(SpinUntil([] { return g_count[SIGUSR1] > 0; }, 10000));
  EXPECT_EQ(timer_delete(id), 0);
}

TEST_F(CpuTimer, SigevNoneCountsDown) {
  sigevent ev{};
  ev.sigev_notify = SIGEV_NONE;
  timer_t id;
  ASSERT_EQ(timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &id), 0);
  SetMs(id, 1000, 0);
  itimerspec a, b;
  ASSERT_EQ(timer_gettime(id, &a), 0);
  SpinCpu(CLOCK_PROCESS_CPUTIME_ID, 100);
  ASSERT_EQ(timer_gettime(id, &b), 0);
  EXPECT_LE(TsMs(b.it_value), TsMs(a.it_value) - 50);
  EXPECT_GT(TsMs(b.it_value), 0);
  EXPECT_EQ(timer_delete(id), 0);
}

TEST_F(CpuTimer, BadCpuClocks) {
  timer_t id;
  sigevent ev{};
  ev.sigev_notify = SIGEV_NONE;
  // A process that does not exist (pid 0x7ffffff, beyond pid_max).
  const clockid_t no_process = static_cast<clockid_t>((~0x7ffffffu << 3) | 2);
  EXPECT_FAILS_WITH(timer_create(no_process, &ev, &id), EINVAL);
  // A thread clock of a thread outside the process.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  const clockid_t other_thread = static_cast<clockid_t>((~static_cast<unsigned>(child) << 3) | 4 | 2);
  EXPECT_FAILS_WITH(timer_create(other_thread, &ev, &id), EINVAL);
  kill(child, SIGKILL);
  int status;
  waitpid(child, &status, 0);
  // Type 3 is a dynamic (fd) clock: no timers.
  EXPECT_FAILS_WITH(timer_create(static_cast<clockid_t>((~0u << 3) | 3), &ev, &id), EOPNOTSUPP);
  // Host clocks without timers.
  EXPECT_FAILS_WITH(timer_create(CLOCK_MONOTONIC_RAW, &ev, &id), EOPNOTSUPP);
}

}  // namespace
