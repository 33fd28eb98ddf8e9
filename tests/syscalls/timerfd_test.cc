// timerfd_create(2), timerfd_settime(2), timerfd_gettime(2): timers whose
// expirations are read from a file, on CLOCK_REALTIME, CLOCK_MONOTONIC and
// CLOCK_BOOTTIME; their readiness under poll(2); and every errno.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <thread>

#include <gtest/gtest.h>

#include "caps_util.h"
#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::NowMs;
using husk_test::SleepMs;

constexpr int64_t kMs = 1000000;

timespec Ns(int64_t ns) { return timespec{ns / 1000000000, ns % 1000000000}; }
int64_t ToNs(const timespec& ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }
int64_t ClockNs(clockid_t c) {
  timespec ts;
  clock_gettime(c, &ts);
  return ToNs(ts);
}

int Create(clockid_t clock = CLOCK_MONOTONIC, int flags = 0) {
  return static_cast<int>(syscall(SYS_timerfd_create, clock, flags));
}

int Set(int fd, int64_t value_ns, int64_t interval_ns = 0, int flags = 0, itimerspec* old = nullptr) {
  itimerspec its{Ns(interval_ns), Ns(value_ns)};
  return timerfd_settime(fd, flags, &its, old);
}

// The expirations a read returns; -1 (errno set) on failure.
int64_t Ticks(int fd) {
  uint64_t v = 0;
  ssize_t n = read(fd, &v, sizeof(v));
  if (n < 0) return -1;
  EXPECT_EQ(n, 8);
  return static_cast<int64_t>(v);
}

short Revents(int fd) {
  pollfd p{fd, POLLIN | POLLOUT | POLLRDNORM, 0};
  EXPECT_GE(poll(&p, 1, 0), 0);
  return p.revents;
}

TEST(TimerfdCreate, TheThreeClocks) {
  for (clockid_t c : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME}) {
    int fd = Create(c);
    ASSERT_GE(fd, 0) << c << ": " << strerror(errno);
    close(fd);
  }
}

TEST(TimerfdCreate, OtherClocksAreEinval) {
  for (clockid_t c : {CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_TAI,
                      CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, -1, 12, 100}) {
    EXPECT_FAILS_WITH(Create(c), EINVAL);
  }
}

TEST(TimerfdCreate, UnknownFlagsAreEinval) {
  EXPECT_FAILS_WITH(Create(CLOCK_MONOTONIC, TFD_TIMER_ABSTIME), EINVAL);
  EXPECT_FAILS_WITH(Create(CLOCK_MONOTONIC, O_RDWR), EINVAL);
  EXPECT_FAILS_WITH(Create(CLOCK_MONOTONIC, O_APPEND), EINVAL);
  // Flags are checked before the clock.
  EXPECT_FAILS_WITH(Create(CLOCK_REALTIME_ALARM, 1), EINVAL);
}

// The alarm clocks need CAP_WAKE_ALARM (the sandbox's root lacks it).
TEST(TimerfdCreate, AlarmClocksNeedCapWakeAlarm) {
  const bool cap = (husk_test::GetCaps().effective >> CAP_WAKE_ALARM) & 1;
  for (clockid_t c : {CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM}) {
    int fd = Create(c);
    if (cap) {
      ASSERT_GE(fd, 0) << strerror(errno);
      close(fd);
    } else {
      EXPECT_EQ(fd, -1);
      EXPECT_EQ(errno, EPERM);
    }
  }
}

TEST(TimerfdCreate, FlagsBecomeStatusAndFdFlags) {
  int fd = Create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
  fd = Create();
  EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(fd);
}

TEST(TimerfdCreate, FstatShowsTheAnonymousInode) {
  int t = Create();
  int e = eventfd(0, 0);
  struct stat st, se;
  ASSERT_EQ(fstat(t, &st), 0);
  ASSERT_EQ(fstat(e, &se), 0);
  EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IRUSR | S_IWUSR));
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_ino, se.st_ino);  // anon_inodefs's one inode
  EXPECT_EQ(st.st_dev, se.st_dev);
  close(t);
  close(e);
}

TEST(Timerfd, StartsDisarmed) {
  int fd = Create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  itimerspec cur;
  memset(&cur, 0xff, sizeof(cur));
  ASSERT_EQ(timerfd_gettime(fd, &cur), 0);
  EXPECT_EQ(ToNs(cur.it_value), 0);
  EXPECT_EQ(ToNs(cur.it_interval), 0);
  EXPECT_FAILS_WITH(Ticks(fd), EAGAIN);
  EXPECT_EQ(Revents(fd), 0);
  close(fd);
}

TEST(Timerfd, OneShotReadBlocksUntilItExpires) {
  int fd = Create();
  const long start = NowMs();
  ASSERT_EQ(Set(fd, 100 * kMs), 0);
  EXPECT_EQ(Ticks(fd), 1);
  EXPECT_GE(NowMs() - start, 95);
  // Once: disarmed afterwards.
  itimerspec cur;
  ASSERT_EQ(timerfd_gettime(fd, &cur), 0);
  EXPECT_EQ(ToNs(cur.it_value), 0);
  ASSERT_EQ(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  EXPECT_FAILS_WITH(Ticks(fd), EAGAIN);
  close(fd);
}

TEST(Timerfd, EachClockExpires) {
  for (clockid_t c : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME}) {
    int fd = Create(c);
    ASSERT_EQ(Set(fd, 20 * kMs), 0);
    EXPECT_EQ(Ticks(fd), 1) << c;
    close(fd);
  }
}

TEST(Timerfd, PeriodicCountsEveryExpiration) {
  int fd = Create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  const long start = NowMs();
  ASSERT_EQ(Set(fd, 20 * kMs, 20 * kMs), 0);
  SleepMs(150);
  const int64_t ticks = Ticks(fd);
  const long elapsed = NowMs() - start;
  EXPECT_GE(ticks, 7);
  EXPECT_LE(ticks, elapsed / 20 + 1);
  // Counting starts again from the read; it goes on expiring.
  EXPECT_FAILS_WITH(Ticks(fd), EAGAIN);
  SleepMs(60);
  EXPECT_GE(Ticks(fd), 1);
  close(fd);
}

TEST(Timerfd, PeriodicBlockingReadsGoOn) {
  int fd = Create();
  ASSERT_EQ(Set(fd, 10 * kMs, 30 * kMs), 0);
  const long start = NowMs();
  int64_t total = 0;
  for (int i = 0; i < 4; ++i) {
    int64_t n = Ticks(fd);
    ASSERT_GE(n, 1);
    total += n;
  }
  EXPECT_GE(NowMs() - start, 85);  // the first at 10 ms, three more 30 ms apart
  EXPECT_GE(total, 4);
  close(fd);
}

TEST(Timerfd, GettimeShowsTimeLeftAndInterval) {
  int fd = Create();
  ASSERT_EQ(Set(fd, 10000 * kMs, 500 * kMs), 0);
  itimerspec cur;
  ASSERT_EQ(timerfd_gettime(fd, &cur), 0);
  EXPECT_LE(ToNs(cur.it_value), 10000 * kMs);
  EXPECT_GT(ToNs(cur.it_value), 9000 * kMs);
  EXPECT_EQ(ToNs(cur.it_interval), 500 * kMs);
  close(fd);
}

TEST(Timerfd, GettimeOfAPeriodicTimerShowsTheNextExpiry) {
  int fd = Create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  ASSERT_EQ(Set(fd, 10 * kMs, 1000 * kMs), 0);
  SleepMs(50);
  itimerspec cur;
  ASSERT_EQ(timerfd_gettime(fd, &cur), 0);
  EXPECT_GT(ToNs(cur.it_value), 0);
  EXPECT_LE(ToNs(cur.it_value), 1000 * kMs);
  EXPECT_EQ(ToNs(cur.it_interval), 1000 * kMs);
  EXPECT_EQ(Ticks(fd), 1);  // gettime counted it, did not take it
  close(fd);
}

TEST(Timerfd, SettimeReturnsTheOldSetting) {
  int fd = Create();
  itimerspec old;
  memset(&old, 0xff, sizeof(old));
  ASSERT_EQ(Set(fd, 10000 * kMs, 2000 * kMs, 0, &old), 0);
  EXPECT_EQ(ToNs(old.it_value), 0);
  EXPECT_EQ(ToNs(old.it_interval), 0);
  ASSERT_EQ(Set(fd, 0, 0, 0, &old), 0);
  EXPECT_GT(ToNs(old.it_value), 9000 * kMs);
  EXPECT_LE(ToNs(old.it_value), 10000 * kMs);
  EXPECT_EQ(ToNs(old.it_interval), 2000 * kMs);
  itimerspec cur;
  ASSERT_EQ(timerfd_gettime(fd, &cur), 0);
  EXPECT_EQ(ToNs(cur.it_value), 0);
  close(fd);
}

// timerfd_setup keeps the interval of a timer it disarms.
TEST(Timerfd, DisarmedTimerKeepsItsInterval) {
  int fd = Create();
  ASSERT_EQ(Set(fd, 0, 700 * kMs), 0);
  itimerspec cur;
  ASSERT_EQ(timerfd_gettime(fd, &cur), 0);
  EXPECT_EQ(ToNs(cur.it_value), 0);
  EXPECT_EQ(ToNs(cur.it_interval), 700 * kMs);
  close(fd);
}

TEST(Timerfd, SettimeDiscardsUnreadExpirations) {
  int fd = Create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  ASSERT_EQ(Set(fd, 1), 0);
  SleepMs(20);
  EXPECT_EQ(Revents(fd), POLLIN);
  ASSERT_EQ(Set(fd, 10000 * kMs), 0);
  EXPECT_EQ(Revents(fd), 0);
  EXPECT_FAILS_WITH(Ticks(fd), EAGAIN);
  close(fd);
}

TEST(Timerfd, AbsoluteMonotonicTime) {
  int fd = Create();
  const long start = NowMs();
  ASSERT_EQ(Set(fd, ClockNs(CLOCK_MONOTONIC) + 80 * kMs, 0, TFD_TIMER_ABSTIME), 0);
  EXPECT_EQ(Ticks(fd), 1);
  EXPECT_GE(NowMs() - start, 75);
  close(fd);
}

TEST(Timerfd, AbsoluteRealtimeInThePastExpiresAtOnce) {
  int fd = Create(CLOCK_REALTIME, TFD_NONBLOCK);
  ASSERT_EQ(Set(fd, ClockNs(CLOCK_REALTIME) - 1000 * kMs, 0, TFD_TIMER_ABSTIME), 0);
  EXPECT_EQ(Revents(fd), POLLIN);
  EXPECT_EQ(Ticks(fd), 1);
  close(fd);
}

TEST(Timerfd, AbsolutePastPeriodicCountsTheMissedPeriods) {
  int fd = Create(CLOCK_REALTIME, TFD_NONBLOCK);
  ASSERT_EQ(Set(fd, ClockNs(CLOCK_REALTIME) - 10000 * kMs, 1000 * kMs, TFD_TIMER_ABSTIME), 0);
  const int64_t n = Ticks(fd);
  EXPECT_GE(n, 11);  // the one at the time given, and one each second since
  EXPECT_LE(n, 12);
  close(fd);
}

TEST(Timerfd, CancelOnSetIsAccepted) {
  int fd = Create(CLOCK_REALTIME, TFD_NONBLOCK);
  ASSERT_EQ(Set(fd, ClockNs(CLOCK_REALTIME) + 10000 * kMs, 0, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET),
            0)
      << strerror(errno);
  EXPECT_FAILS_WITH(Ticks(fd), EAGAIN);
  close(fd);
}

TEST(Timerfd, HugeValueIsNotAnError) {
  int fd = Create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  itimerspec its{{0, 0}, {LONG_MAX, 999999999}};
  ASSERT_EQ(timerfd_settime(fd, 0, &its, nullptr), 0);
  itimerspec cur;
  ASSERT_EQ(timerfd_gettime(fd, &cur), 0);
  EXPECT_GT(cur.it_value.tv_sec, 1000000000L);
  EXPECT_FAILS_WITH(Ticks(fd), EAGAIN);
  close(fd);
}

TEST(Timerfd, PollReportsAnExpiration) {
  int fd = Create();
  ASSERT_EQ(Set(fd, 100 * kMs), 0);
  EXPECT_EQ(Revents(fd), 0);
  pollfd p{fd, POLLIN, 0};
  const long start = NowMs();
  EXPECT_EQ(poll(&p, 1, 10000), 1);
  EXPECT_EQ(p.revents, POLLIN);
  EXPECT_GE(NowMs() - start, 90);
  EXPECT_EQ(Ticks(fd), 1);
  EXPECT_EQ(Revents(fd), 0);
  close(fd);
}

TEST(Timerfd, ReadBlockedInAThreadWakesWhenAnotherThreadArmsIt) {
  int fd = Create();
  std::thread arm([fd] {
    SleepMs(50);
    Set(fd, 30 * kMs);
  });
  EXPECT_EQ(Ticks(fd), 1);
  arm.join();
  close(fd);
}

TEST(Timerfd, ForkedChildReadsTheSameTimer) {
  int fd = Create();
  ASSERT_EQ(Set(fd, 60 * kMs), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    uint64_t v = 0;
    _exit(read(fd, &v, 8) == 8 && v == 1 ? 0 : 1);
  }
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // The child took the expiration.
  ASSERT_EQ(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  EXPECT_FAILS_WITH(Ticks(fd), EAGAIN);
  close(fd);
}

TEST(Timerfd, ReadBufferShorterThanEightIsEinval) {
  int fd = Create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  ASSERT_EQ(Set(fd, 1), 0);
  SleepMs(5);
  uint32_t small;
  EXPECT_FAILS_WITH(read(fd, &small, sizeof(small)), EINVAL);
  EXPECT_EQ(Ticks(fd), 1);
  close(fd);
}

TEST(Timerfd, WriteIsEinval) {
  int fd = Create();
  uint64_t v = 1;
  EXPECT_FAILS_WITH(write(fd, &v, sizeof(v)), EINVAL);
  close(fd);
}

TEST(Timerfd, BadReadBufferIsEfault) {
  int fd = Create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  ASSERT_EQ(Set(fd, 1), 0);
  SleepMs(5);
  EXPECT_FAILS_WITH(read(fd, BadPtr(), 8), EFAULT);
  close(fd);
}

TEST(TimerfdSettime, BadFlagsAreEinval) {
  int fd = Create();
  EXPECT_FAILS_WITH(Set(fd, kMs, 0, 4), EINVAL);
  EXPECT_FAILS_WITH(Set(fd, kMs, 0, -1), EINVAL);
  close(fd);
}

TEST(TimerfdSettime, OutOfRangeTimesAreEinval) {
  int fd = Create();
  for (timespec bad : {timespec{0, 1000000000}, timespec{0, -1}, timespec{-1, 0}}) {
    itimerspec a{{0, 0}, bad};
    EXPECT_FAILS_WITH(timerfd_settime(fd, 0, &a, nullptr), EINVAL);
    itimerspec b{bad, {1, 0}};
    EXPECT_FAILS_WITH(timerfd_settime(fd, 0, &b, nullptr), EINVAL);
  }
  close(fd);
}

TEST(TimerfdSettime, BadPointersAreEfault) {
  int fd = Create();
  EXPECT_FAILS_WITH(timerfd_settime(fd, 0, nullptr, nullptr), EFAULT);
  EXPECT_FAILS_WITH(timerfd_settime(fd, 0, static_cast<itimerspec*>(BadPtr()), nullptr), EFAULT);
  // The new setting is in force even though the old one could not be written.
  itimerspec its{{0, 0}, {100, 0}};
  EXPECT_FAILS_WITH(timerfd_settime(fd, 0, &its, static_cast<itimerspec*>(BadPtr())), EFAULT);
  itimerspec cur;
  ASSERT_EQ(timerfd_gettime(fd, &cur), 0);
  EXPECT_GT(cur.it_value.tv_sec, 90);
  close(fd);
}

TEST(TimerfdSettime, NotATimerfdIsEinvalAndClosedIsEbadf) {
  itimerspec its{{0, 0}, {1, 0}};
  int e = eventfd(0, 0);
  EXPECT_FAILS_WITH(timerfd_settime(e, 0, &its, nullptr), EINVAL);
  close(e);
  EXPECT_FAILS_WITH(timerfd_settime(ClosedFd(), 0, &its, nullptr), EBADF);
  EXPECT_FAILS_WITH(timerfd_settime(-1, 0, &its, nullptr), EBADF);
  // The new value is read first: a bad one is EFAULT even for a bad fd.
  EXPECT_FAILS_WITH(timerfd_settime(ClosedFd(), 0, nullptr, nullptr), EFAULT);
  // and validated before the fd is looked at.
  itimerspec bad{{0, 0}, {0, -1}};
  EXPECT_FAILS_WITH(timerfd_settime(ClosedFd(), 0, &bad, nullptr), EINVAL);
}

TEST(TimerfdGettime, Errors) {
  itimerspec cur;
  int e = eventfd(0, 0);
  EXPECT_FAILS_WITH(timerfd_gettime(e, &cur), EINVAL);
  close(e);
  EXPECT_FAILS_WITH(timerfd_gettime(ClosedFd(), &cur), EBADF);
  int fd = Create();
  EXPECT_FAILS_WITH(timerfd_gettime(fd, static_cast<itimerspec*>(BadPtr())), EFAULT);
  EXPECT_FAILS_WITH(timerfd_gettime(fd, nullptr), EFAULT);
  close(fd);
}

}  // namespace

namespace {

TEST(Timerfd, EpollWaitsForAnExpiration) {
  int fd = Create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
  epoll_event out;
  EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
  ASSERT_EQ(Set(fd, 60 * kMs, 60 * kMs), 0);
  const long start = NowMs();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(epoll_wait(ep, &out, 1, 10000), 1);
    EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLIN));
    EXPECT_GE(Ticks(fd), 1);
  }
  EXPECT_GE(NowMs() - start, 170);
  close(ep);
  close(fd);
}

}  // namespace
