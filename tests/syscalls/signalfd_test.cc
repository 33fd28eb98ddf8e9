// signalfd(2), signalfd4(2): taking the pending signals of a mask as
// struct signalfd_siginfo records; updating the mask; readiness under
// poll(2); blocking until another thread or process sends one; and every
// errno. Each test runs in a forked child, so masks and pending signals
// never leak into the next test.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::NowMs;
using husk_test::RunInChild;
using husk_test::SleepMs;

constexpr size_t kSigsetSize = 8;

uint64_t Bit(int sig) { return uint64_t{1} << (sig - 1); }

void Block(uint64_t set) { ASSERT_EQ(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, nullptr, kSigsetSize), 0); }

int Signalfd4(int fd, uint64_t mask, int flags, size_t size = kSigsetSize) {
  return static_cast<int>(syscall(SYS_signalfd4, fd, &mask, size, flags));
}

// One record; ssi_signo 0 (errno set) if the read failed.
signalfd_siginfo ReadOne(int fd) {
  signalfd_siginfo si{};
  ssize_t n = read(fd, &si, sizeof(si));
  if (n < 0) return signalfd_siginfo{};
  EXPECT_EQ(n, static_cast<ssize_t>(sizeof(si)));
  return si;
}

bool Pending(int sig) {
  sigset_t s;
  sigpending(&s);
  return sigismember(&s, sig);
}

short Revents(int fd) {
  pollfd p{fd, POLLIN | POLLOUT | POLLRDNORM, 0};
  EXPECT_GE(poll(&p, 1, 0), 0);
  return p.revents;
}

TEST(Signalfd, ReadsAPendingBlockedSignal) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    int fd = Signalfd4(-1, Bit(SIGUSR1), 0);
    ASSERT_GE(fd, 0) << strerror(errno);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    signalfd_siginfo si = ReadOne(fd);
    EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR1));
    EXPECT_EQ(si.ssi_code, SI_USER);
    EXPECT_EQ(si.ssi_pid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(si.ssi_uid, getuid());
    EXPECT_EQ(si.ssi_errno, 0);
    EXPECT_FALSE(Pending(SIGUSR1));  // taken
  });
}

TEST(Signalfd, OldSyscallWorks) {
  RunInChild([] {
    Block(Bit(SIGUSR2));
    uint64_t mask = Bit(SIGUSR2);
    int fd = static_cast<int>(syscall(SYS_signalfd, -1, &mask, kSigsetSize));
    ASSERT_GE(fd, 0) << strerror(errno);
    EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR);
    EXPECT_EQ(fcntl(fd, F_GETFD), 0);
    ASSERT_EQ(raise(SIGUSR2), 0);
    EXPECT_EQ(ReadOne(fd).ssi_signo, static_cast<uint32_t>(SIGUSR2));
  });
}

TEST(Signalfd, FlagsBecomeStatusAndFdFlags) {
  int fd = Signalfd4(-1, Bit(SIGUSR1), SFD_NONBLOCK | SFD_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST(Signalfd, NothingPendingIsEagainWhenNonblocking) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    int fd = Signalfd4(-1, Bit(SIGUSR1), SFD_NONBLOCK);
    errno = 0;
    signalfd_siginfo si = ReadOne(fd);
    EXPECT_EQ(si.ssi_signo, 0u);
    EXPECT_EQ(errno, EAGAIN);
    // A pending signal outside the mask is not taken.
    Block(Bit(SIGUSR2));
    ASSERT_EQ(raise(SIGUSR2), 0);
    EXPECT_FAILS_WITH(read(fd, &si, sizeof(si)), EAGAIN);
    EXPECT_TRUE(Pending(SIGUSR2));
  });
}

TEST(Signalfd, ShortBufferIsEinval) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    int fd = Signalfd4(-1, Bit(SIGUSR1), SFD_NONBLOCK);
    ASSERT_EQ(raise(SIGUSR1), 0);
    char buf[sizeof(signalfd_siginfo) - 1];
    EXPECT_FAILS_WITH(read(fd, buf, sizeof(buf)), EINVAL);
    EXPECT_TRUE(Pending(SIGUSR1));
  });
}

TEST(Signalfd, OneReadTakesSeveralRecords) {
  RunInChild([] {
    Block(Bit(SIGUSR1) | Bit(SIGUSR2));
    int fd = Signalfd4(-1, Bit(SIGUSR1) | Bit(SIGUSR2), SFD_NONBLOCK);
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    signalfd_siginfo si[3] = {};
    EXPECT_EQ(read(fd, si, sizeof(si)), static_cast<ssize_t>(2 * sizeof(signalfd_siginfo)));
    EXPECT_EQ(si[0].ssi_signo, static_cast<uint32_t>(SIGUSR1));  // lowest first
    EXPECT_EQ(si[1].ssi_signo, static_cast<uint32_t>(SIGUSR2));
    // A buffer of one and a half records takes one.
    ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    char buf[sizeof(signalfd_siginfo) * 3 / 2];
    EXPECT_EQ(read(fd, buf, sizeof(buf)), static_cast<ssize_t>(sizeof(signalfd_siginfo)));
    EXPECT_TRUE(Pending(SIGUSR2));
  });
}

TEST(Signalfd, ThreadDirectedSignalsComeFirst) {
  RunInChild([] {
    Block(Bit(SIGUSR1) | Bit(SIGUSR2));
    int fd = Signalfd4(-1, Bit(SIGUSR1) | Bit(SIGUSR2), SFD_NONBLOCK);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);  // to the process
    ASSERT_EQ(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2), 0);  // to this thread
    signalfd_siginfo si = ReadOne(fd);
    EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR2));
    EXPECT_EQ(si.ssi_code, SI_TKILL);
    EXPECT_EQ(ReadOne(fd).ssi_signo, static_cast<uint32_t>(SIGUSR1));
  });
}

TEST(Signalfd, QueuedRealtimeSignalsKeepTheirValues) {
  RunInChild([] {
    const int sig = SIGRTMIN + 1;
    Block(Bit(sig));
    int fd = Signalfd4(-1, Bit(sig), SFD_NONBLOCK);
    ASSERT_EQ(sigqueue(getpid(), sig, sigval{.sival_int = 41}), 0);
    ASSERT_EQ(sigqueue(getpid(), sig, sigval{.sival_int = 42}), 0);
    signalfd_siginfo a = ReadOne(fd), b = ReadOne(fd);
    EXPECT_EQ(a.ssi_signo, static_cast<uint32_t>(sig));
    EXPECT_EQ(a.ssi_code, SI_QUEUE);
    EXPECT_EQ(a.ssi_int, 41);
    EXPECT_EQ(a.ssi_pid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(b.ssi_int, 42);
    EXPECT_FAILS_WITH(read(fd, &a, sizeof(a)), EAGAIN);
  });
}

TEST(Signalfd, ChildExitReportsItsStatus) {
  RunInChild([] {
    Block(Bit(SIGCHLD));
    int fd = Signalfd4(-1, Bit(SIGCHLD), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(3);
    signalfd_siginfo si = ReadOne(fd);  // blocks until the child is gone
    EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGCHLD));
    EXPECT_EQ(si.ssi_code, CLD_EXITED);
    EXPECT_EQ(si.ssi_pid, static_cast<uint32_t>(pid));
    EXPECT_EQ(si.ssi_status, 3);
    ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  });
}

TEST(Signalfd, UpdatingTheMask) {
  RunInChild([] {
    Block(Bit(SIGUSR1) | Bit(SIGUSR2));
    int fd = Signalfd4(-1, Bit(SIGUSR1), SFD_NONBLOCK);
    ASSERT_EQ(raise(SIGUSR2), 0);
    EXPECT_EQ(Revents(fd), 0);
    // The fd comes back; flags are checked but do not change the file.
    EXPECT_EQ(Signalfd4(fd, Bit(SIGUSR2), SFD_CLOEXEC), fd);
    EXPECT_EQ(fcntl(fd, F_GETFD), 0);
    EXPECT_EQ(Revents(fd), POLLIN);
    EXPECT_EQ(ReadOne(fd).ssi_signo, static_cast<uint32_t>(SIGUSR2));
  });
}

TEST(Signalfd, UpdatingSomethingElseFails) {
  int e = eventfd(0, 0);
  EXPECT_FAILS_WITH(Signalfd4(e, Bit(SIGUSR1), 0), EINVAL);
  close(e);
  EXPECT_FAILS_WITH(Signalfd4(ClosedFd(), Bit(SIGUSR1), 0), EBADF);
  EXPECT_FAILS_WITH(Signalfd4(-2, Bit(SIGUSR1), 0), EBADF);
}

TEST(Signalfd, SizemaskMustBeEight) {
  EXPECT_FAILS_WITH(Signalfd4(-1, Bit(SIGUSR1), 0, 4), EINVAL);
  EXPECT_FAILS_WITH(Signalfd4(-1, Bit(SIGUSR1), 0, 16), EINVAL);
  EXPECT_FAILS_WITH(Signalfd4(-1, Bit(SIGUSR1), 0, 0), EINVAL);
  // before the mask is read
  EXPECT_FAILS_WITH(syscall(SYS_signalfd4, -1, BadPtr(), 4, 0), EINVAL);
}

TEST(Signalfd, BadFlagsAreEinval) {
  EXPECT_FAILS_WITH(Signalfd4(-1, Bit(SIGUSR1), 1), EINVAL);
  EXPECT_FAILS_WITH(Signalfd4(-1, Bit(SIGUSR1), O_RDWR), EINVAL);
  EXPECT_FAILS_WITH(Signalfd4(-1, Bit(SIGUSR1), O_APPEND), EINVAL);
}

TEST(Signalfd, BadMaskIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_signalfd4, -1, BadPtr(), kSigsetSize, 0), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_signalfd, -1, nullptr, kSigsetSize), EFAULT);
  // The mask is read before the fd is looked at.
  EXPECT_FAILS_WITH(syscall(SYS_signalfd4, ClosedFd(), BadPtr(), kSigsetSize, 0), EFAULT);
}

TEST(Signalfd, SigkillAndSigstopAreIgnored) {
  int fd = Signalfd4(-1, Bit(SIGKILL) | Bit(SIGSTOP), SFD_NONBLOCK);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  fd = Signalfd4(-1, ~uint64_t{0}, SFD_NONBLOCK);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST(Signalfd, BadReadBufferIsEfault) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    int fd = Signalfd4(-1, Bit(SIGUSR1), SFD_NONBLOCK);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_FAILS_WITH(read(fd, BadPtr(), sizeof(signalfd_siginfo)), EFAULT);
  });
}

TEST(Signalfd, WriteIsEinval) {
  int fd = Signalfd4(-1, Bit(SIGUSR1), 0);
  signalfd_siginfo si{};
  EXPECT_FAILS_WITH(write(fd, &si, sizeof(si)), EINVAL);
  close(fd);
}

TEST(Signalfd, FstatShowsTheAnonymousInode) {
  int fd = Signalfd4(-1, Bit(SIGUSR1), 0);
  int e = eventfd(0, 0);
  struct stat st, se;
  ASSERT_EQ(fstat(fd, &st), 0);
  ASSERT_EQ(fstat(e, &se), 0);
  EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IRUSR | S_IWUSR));
  EXPECT_EQ(st.st_ino, se.st_ino);
  close(fd);
  close(e);
}

TEST(Signalfd, PollReportsAPendingSignal) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    int fd = Signalfd4(-1, Bit(SIGUSR1), 0);
    EXPECT_EQ(Revents(fd), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(Revents(fd), POLLIN);
    ReadOne(fd);
    EXPECT_EQ(Revents(fd), 0);
  });
}

TEST(Signalfd, ReadBlocksUntilAThreadSendsOne) {
  RunInChild([] {
    Block(Bit(SIGUSR1));  // the new thread inherits the mask
    int fd = Signalfd4(-1, Bit(SIGUSR1), 0);
    const long start = NowMs();
    std::thread sender([] {
      SleepMs(100);
      kill(getpid(), SIGUSR1);
    });
    signalfd_siginfo si = ReadOne(fd);
    EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR1));
    EXPECT_GE(NowMs() - start, 80);
    sender.join();
  });
}

TEST(Signalfd, ReadBlocksUntilAnotherProcessSendsOne) {
  RunInChild([] {
    Block(Bit(SIGUSR2));
    int fd = Signalfd4(-1, Bit(SIGUSR2), 0);
    const pid_t parent = getpid();
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      SleepMs(100);
      kill(parent, SIGUSR2);
      _exit(0);
    }
    signalfd_siginfo si = ReadOne(fd);
    EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(SIGUSR2));
    EXPECT_EQ(si.ssi_pid, static_cast<uint32_t>(pid));
    ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  });
}

TEST(Signalfd, PollWokenBySignal) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    int fd = Signalfd4(-1, Bit(SIGUSR1), 0);
    std::thread sender([] {
      SleepMs(100);
      kill(getpid(), SIGUSR1);
    });
    pollfd p{fd, POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 10000), 1);
    EXPECT_EQ(p.revents, POLLIN);
    sender.join();
  });
}

void Nothing(int) {}

TEST(Signalfd, BlockedReadIsInterruptedByAnotherSignal) {
  RunInChild([] {
    struct sigaction sa {};
    sa.sa_handler = Nothing;
    ASSERT_EQ(sigaction(SIGALRM, &sa, nullptr), 0);
    Block(Bit(SIGUSR1));
    int fd = Signalfd4(-1, Bit(SIGUSR1), 0);
    alarm(1);
    signalfd_siginfo si;
    EXPECT_FAILS_WITH(read(fd, &si, sizeof(si)), EINTR);
  });
}

// Whose signals a signalfd reads is decided by the reader: a forked child
// reads its own through the file it inherited, not its parent's.
TEST(Signalfd, ForkedChildReadsItsOwnSignals) {
  RunInChild([] {
    Block(Bit(SIGUSR1) | Bit(SIGUSR2));
    int fd = Signalfd4(-1, Bit(SIGUSR1) | Bit(SIGUSR2), SFD_NONBLOCK);
    ASSERT_EQ(raise(SIGUSR1), 0);  // the parent's
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      signalfd_siginfo si;
      if (read(fd, &si, sizeof(si)) != -1 || errno != EAGAIN) _exit(1);
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 0) != 0) _exit(2);
      raise(SIGUSR2);
      if (poll(&p, 1, 0) != 1) _exit(3);
      if (read(fd, &si, sizeof(si)) != sizeof(si) || si.ssi_signo != SIGUSR2) _exit(4);
      _exit(0);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_EQ(ReadOne(fd).ssi_signo, static_cast<uint32_t>(SIGUSR1));
  });
}

}  // namespace

namespace {

TEST(Signalfd, PosixTimerSignalCarriesTheTimer) {
  RunInChild([] {
    const int sig = SIGRTMIN + 2;
    Block(Bit(sig));
    int fd = Signalfd4(-1, Bit(sig), 0);
    sigevent ev{};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 1234;
    timer_t timer;
    ASSERT_EQ(timer_create(CLOCK_MONOTONIC, &ev, &timer), 0);
    itimerspec its{{0, 0}, {0, 20000000}};
    ASSERT_EQ(timer_settime(timer, 0, &its, nullptr), 0);
    signalfd_siginfo si = ReadOne(fd);
    EXPECT_EQ(si.ssi_signo, static_cast<uint32_t>(sig));
    EXPECT_EQ(si.ssi_code, SI_TIMER);
    EXPECT_EQ(si.ssi_int, 1234);
    EXPECT_EQ(si.ssi_overrun, 0u);
    EXPECT_EQ(si.ssi_pid, 0u);
    timer_delete(timer);
  });
}

}  // namespace

namespace {

TEST(Signalfd, EpollWaitsForASignal) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    int fd = Signalfd4(-1, Bit(SIGUSR1), SFD_NONBLOCK);
    int ep = epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    epoll_event out;
    EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
    std::thread sender([] {
      SleepMs(50);
      kill(getpid(), SIGUSR1);
    });
    ASSERT_EQ(epoll_wait(ep, &out, 1, 10000), 1);
    EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLIN));
    sender.join();
    EXPECT_EQ(ReadOne(fd).ssi_signo, static_cast<uint32_t>(SIGUSR1));
    EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
    // Closed while watched: later signals find nothing to notify.
    close(fd);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
    close(ep);
  });
}

}  // namespace
