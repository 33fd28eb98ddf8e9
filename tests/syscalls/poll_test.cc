// poll, ppoll, select, pselect6 on pipes: readiness, hang-ups, timeouts,
// wake-ups from another process, signals, and the errors the man pages list.

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::NowMs;
using husk_test::SleepMs;

using husk_test::BadPtr;
using husk_test::RunInChild;

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    if (pipe(p) != 0) abort();
    r = p[0];
    w = p[1];
  }
  ~Pipe() {
    if (r >= 0) close(r);
    if (w >= 0) close(w);
  }
};

// A child that writes one byte to `fd` after `ms` and exits.
pid_t WriteLater(int fd, long ms) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    SleepMs(ms);
    _exit(write(fd, "x", 1) == 1 ? 0 : 1);
  }
  return pid;
}

void Reap(pid_t pid) {
  int status;
  waitpid(pid, &status, 0);
}

TEST(Poll, EmptyPipeIsWritableNotReadable) {
  Pipe p;
  pollfd fds[2] = {{p.r, POLLIN, 0}, {p.w, POLLOUT, 0}};
  EXPECT_EQ(poll(fds, 2, 0), 1);
  EXPECT_EQ(fds[0].revents, 0);
  EXPECT_EQ(fds[1].revents, POLLOUT);
}

TEST(Poll, DataMakesTheReadEndReadable) {
  Pipe p;
  ASSERT_EQ(write(p.w, "x", 1), 1);
  pollfd fd{p.r, POLLIN | POLLOUT, 0};
  EXPECT_EQ(poll(&fd, 1, 0), 1);
  EXPECT_EQ(fd.revents, POLLIN);
}

TEST(Poll, HangupAndError) {
  Pipe p;
  ASSERT_EQ(write(p.w, "x", 1), 1);
  close(p.w);
  p.w = -1;
  // POLLHUP is reported though not asked for; the data is still there.
  pollfd fd{p.r, POLLIN, 0};
  EXPECT_EQ(poll(&fd, 1, 0), 1);
  EXPECT_EQ(fd.revents, POLLIN | POLLHUP);
  Pipe q;
  close(q.r);
  q.r = -1;
  pollfd wfd{q.w, 0, 0};
  EXPECT_EQ(poll(&wfd, 1, 0), 1);
  EXPECT_EQ(wfd.revents, POLLERR);
}

TEST(Poll, NegativeFdIsSkippedClosedFdIsPollnval) {
  Pipe p;
  int closed = dup(p.r);
  close(closed);
  pollfd fds[2] = {{-1, POLLIN, 123}, {closed, POLLIN, 0}};
  EXPECT_EQ(poll(fds, 2, 0), 1);
  EXPECT_EQ(fds[0].revents, 0);
  EXPECT_EQ(fds[1].revents, POLLNVAL);
}

TEST(Poll, TimesOut) {
  Pipe p;
  pollfd fd{p.r, POLLIN, 0};
  long start = NowMs();
  EXPECT_EQ(poll(&fd, 1, 30), 0);
  EXPECT_GE(NowMs() - start, 29);
  EXPECT_EQ(fd.revents, 0);
  // No fds at all: a plain sleep.
  start = NowMs();
  EXPECT_EQ(poll(nullptr, 0, 20), 0);
  EXPECT_GE(NowMs() - start, 19);
}

TEST(Poll, WakesWhenAnotherProcessWrites) {
  Pipe p;
  pid_t pid = WriteLater(p.w, 20);
  pollfd fd{p.r, POLLIN, 0};
  EXPECT_EQ(poll(&fd, 1, 5000), 1);
  EXPECT_EQ(fd.revents, POLLIN);
  Reap(pid);
}

volatile sig_atomic_t g_hits;
void CountHandler(int) { g_hits = g_hits + 1; }

TEST(Poll, HandledSignalIsEintr) {
  RunInChild([] {
    g_hits = 0;
    struct sigaction sa{};
    sa.sa_handler = CountHandler;
    sa.sa_flags = SA_RESTART;  // poll is never restarted after a handler
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    pid_t me = getpid();
    fflush(stdout);
    pid_t sender = fork();
    if (sender == 0) {
      SleepMs(20);
      _exit(kill(me, SIGUSR1) == 0 ? 0 : 1);
    }
    Pipe p;
    pollfd fd{p.r, POLLIN, 0};
    EXPECT_FAILS_WITH(poll(&fd, 1, 5000), EINTR);
    EXPECT_EQ(g_hits, 1);
    Reap(sender);
  });
}

TEST(Poll, Errors) {
  EXPECT_FAILS_WITH(poll(static_cast<pollfd*>(BadPtr()), 1, 0), EFAULT);
  rlimit lim;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  EXPECT_FAILS_WITH(syscall(SYS_poll, nullptr, lim.rlim_cur + 1, 0), EINVAL);
}

TEST(Ppoll, MaskIsInForceWhileWaiting) {
  RunInChild([] {
    g_hits = 0;
    struct sigaction sa{};
    sa.sa_handler = CountHandler;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, nullptr), 0);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);  // pending, blocked
    EXPECT_EQ(g_hits, 0);
    Pipe p;
    pollfd fd{p.r, POLLIN, 0};
    timespec ts{5, 0};
    EXPECT_FAILS_WITH(ppoll(&fd, 1, &ts, &empty), EINTR);
    EXPECT_EQ(g_hits, 1);
    // The old mask is back.
    sigset_t now;
    sigprocmask(SIG_BLOCK, nullptr, &now);
    EXPECT_TRUE(sigismember(&now, SIGUSR1));
    EXPECT_FAILS_WITH(syscall(SYS_ppoll, &fd, 1, &ts, &empty, 4), EINVAL);
    timespec bad{0, 1000000000};
    EXPECT_FAILS_WITH(ppoll(&fd, 1, &bad, nullptr), EINVAL);
  });
}

TEST(Select, ReportsReadableAndWritable) {
  Pipe p;
  ASSERT_EQ(write(p.w, "x", 1), 1);
  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(p.r, &rd);
  FD_SET(p.w, &rd);
  FD_SET(p.w, &wr);
  timeval zero{0, 0};
  EXPECT_EQ(select(std::max(p.r, p.w) + 1, &rd, &wr, nullptr, &zero), 2);
  EXPECT_TRUE(FD_ISSET(p.r, &rd));
  EXPECT_FALSE(FD_ISSET(p.w, &rd));
  EXPECT_TRUE(FD_ISSET(p.w, &wr));
}

TEST(Select, TimeoutIsUpdatedAndSetsCleared) {
  Pipe p;
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p.r, &rd);
  timeval tv{0, 30000};
  long start = NowMs();
  EXPECT_EQ(select(p.r + 1, &rd, nullptr, nullptr, &tv), 0);
  EXPECT_GE(NowMs() - start, 29);
  EXPECT_FALSE(FD_ISSET(p.r, &rd));
  EXPECT_EQ(tv.tv_sec, 0);
  EXPECT_EQ(tv.tv_usec, 0);
}

TEST(Select, WakesWhenAnotherProcessWrites) {
  Pipe p;
  pid_t pid = WriteLater(p.w, 20);
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p.r, &rd);
  timeval tv{5, 0};
  EXPECT_EQ(select(p.r + 1, &rd, nullptr, nullptr, &tv), 1);
  EXPECT_TRUE(FD_ISSET(p.r, &rd));
  EXPECT_LT(tv.tv_sec, 5);  // some of the timeout was used
  Reap(pid);
}

TEST(Select, Errors) {
  Pipe p;
  int closed = dup(p.r);
  close(closed);
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(closed, &rd);
  timeval zero{0, 0};
  EXPECT_FAILS_WITH(select(closed + 1, &rd, nullptr, nullptr, &zero), EBADF);
  EXPECT_FAILS_WITH(select(-1, nullptr, nullptr, nullptr, &zero), EINVAL);
  timeval negative{-1, 0};
  EXPECT_FAILS_WITH(select(0, nullptr, nullptr, nullptr, &negative), EINVAL);
  FD_ZERO(&rd);
  FD_SET(p.r, &rd);
  EXPECT_FAILS_WITH(syscall(SYS_select, p.r + 1, BadPtr(), nullptr, nullptr, &zero), EFAULT);
}

TEST(Pselect6, WaitsWithATimespec) {
  Pipe p;
  ASSERT_EQ(write(p.w, "x", 1), 1);
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p.r, &rd);
  timespec ts{1, 0};
  EXPECT_EQ(pselect(p.r + 1, &rd, nullptr, nullptr, &ts, nullptr), 1);
  EXPECT_TRUE(FD_ISSET(p.r, &rd));
  timespec bad{0, -1};
  EXPECT_FAILS_WITH(pselect(p.r + 1, &rd, nullptr, nullptr, &bad, nullptr), EINVAL);
}

}  // namespace
