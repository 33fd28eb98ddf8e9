// epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait,
// epoll_pwait2: level- and edge-triggered events on pipes, one-shot entries,
// nested instances, blocking and its interruption, and the errors of
// epoll_ctl(2) and epoll_wait(2).
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "tests/syscalls/test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::NowMs;
using husk_test::SleepMs;

// A pipe closed at the end of the scope.
struct Pipe {
  Pipe() {
    if (pipe(fds) != 0) abort();
  }
  ~Pipe() {
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
  }
  int r() const { return fds[0]; }
  int w() const { return fds[1]; }
  int fds[2];
};

struct Fd {
  explicit Fd(int fd) : fd(fd) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  int fd;
};

int Add(int ep, int fd, uint32_t events, uint64_t data) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int WaitOne(int ep, epoll_event* ev, int timeout_ms) { return epoll_wait(ep, ev, 1, timeout_ms); }

TEST(EpollCreate, Errors) {
  EXPECT_FAILS_WITH(epoll_create(0), EINVAL);
  EXPECT_FAILS_WITH(epoll_create(-1), EINVAL);
  EXPECT_FAILS_WITH(epoll_create1(1), EINVAL);
  EXPECT_FAILS_WITH(epoll_create1(O_NONBLOCK), EINVAL);
}

TEST(EpollCreate, CloexecAndStat) {
  Fd plain(epoll_create(1));
  ASSERT_GE(plain.fd, 0);
  EXPECT_EQ(fcntl(plain.fd, F_GETFD), 0);
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  ASSERT_GE(ep.fd, 0);
  EXPECT_EQ(fcntl(ep.fd, F_GETFD), FD_CLOEXEC);
  struct stat st;
  ASSERT_EQ(fstat(ep.fd, &st), 0);
  EXPECT_EQ(st.st_mode & S_IFMT, 0u);  // an anonymous inode: no file type
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  char buf[8];
  EXPECT_FAILS_WITH(read(ep.fd, buf, sizeof(buf)), EINVAL);
  EXPECT_FAILS_WITH(write(ep.fd, buf, sizeof(buf)), EINVAL);
}

TEST(EpollCtl, Errors) {
  Fd ep(epoll_create1(0));
  Pipe p;
  epoll_event ev{};
  ev.events = EPOLLIN;
  EXPECT_FAILS_WITH(epoll_ctl(ClosedFd(), EPOLL_CTL_ADD, p.r(), &ev), EBADF);
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_ADD, ClosedFd(), &ev), EBADF);
  // epfd is not an epoll instance; an instance watching itself.
  EXPECT_FAILS_WITH(epoll_ctl(p.r(), EPOLL_CTL_ADD, p.w(), &ev), EINVAL);
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_ADD, ep.fd, &ev), EINVAL);
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, 99, p.r(), &ev), EINVAL);
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_ADD, p.r(), static_cast<epoll_event*>(BadPtr())),
                    EFAULT);
  // Files that cannot be polled.
  Fd null(open("/dev/null", O_RDONLY));
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_ADD, null.fd, &ev), EPERM);
  char name[] = "/tmp/epoll_test_XXXXXX";
  Fd regular(mkstemp(name));
  ASSERT_GE(regular.fd, 0);
  unlink(name);
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_ADD, regular.fd, &ev), EPERM);
  // Not there yet; then twice.
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_MOD, p.r(), &ev), ENOENT);
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_DEL, p.r(), nullptr), ENOENT);
  ASSERT_EQ(epoll_ctl(ep.fd, EPOLL_CTL_ADD, p.r(), &ev), 0);
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_ADD, p.r(), &ev), EEXIST);
  // DEL ignores the event pointer.
  EXPECT_EQ(epoll_ctl(ep.fd, EPOLL_CTL_DEL, p.r(), static_cast<epoll_event*>(BadPtr())), 0);
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_DEL, p.r(), nullptr), ENOENT);
}

TEST(EpollCtl, Exclusive) {
  Fd ep(epoll_create1(0));
  Fd inner(epoll_create1(0));
  Pipe p;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_ADD, inner.fd, &ev), EINVAL);
  ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_ADD, p.r(), &ev), EINVAL);
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ASSERT_EQ(epoll_ctl(ep.fd, EPOLL_CTL_ADD, p.r(), &ev), 0);
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_MOD, p.r(), &ev), EINVAL);
  ev.events = EPOLLIN;
  // An exclusive entry cannot be modified at all.
  EXPECT_FAILS_WITH(epoll_ctl(ep.fd, EPOLL_CTL_MOD, p.r(), &ev), EINVAL);
  ASSERT_EQ(write(p.w(), "x", 1), 1);
  epoll_event out{};
  EXPECT_EQ(WaitOne(ep.fd, &out, 0), 1);
  EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLIN));
}

TEST(EpollCtl, Loops) {
  Fd a(epoll_create1(0)), b(epoll_create1(0));
  ASSERT_EQ(Add(a.fd, b.fd, EPOLLIN, 0), 0);
  EXPECT_FAILS_WITH(Add(b.fd, a.fd, EPOLLIN, 0), ELOOP);
  // A chain deeper than Linux allows.
  Fd c(epoll_create1(0)), d(epoll_create1(0)), e(epoll_create1(0)), f(epoll_create1(0));
  ASSERT_EQ(Add(c.fd, d.fd, EPOLLIN, 0), 0);
  ASSERT_EQ(Add(d.fd, e.fd, EPOLLIN, 0), 0);
  ASSERT_EQ(Add(e.fd, f.fd, EPOLLIN, 0), 0);
  Fd g(epoll_create1(0)), h(epoll_create1(0));
  ASSERT_EQ(Add(g.fd, c.fd, EPOLLIN, 0), 0);
  EXPECT_FAILS_WITH(Add(h.fd, g.fd, EPOLLIN, 0), ELOOP);
}

TEST(EpollWait, Errors) {
  Fd ep(epoll_create1(0));
  Pipe p;
  epoll_event ev[2];
  EXPECT_FAILS_WITH(epoll_wait(ep.fd, ev, 0, 0), EINVAL);
  // Through syscall(2): the compiler would reject these sizes for `ev`.
  EXPECT_FAILS_WITH(syscall(SYS_epoll_wait, ep.fd, ev, -1, 0), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_epoll_wait, ep.fd, ev, INT32_MAX, 0), EINVAL);
  EXPECT_FAILS_WITH(epoll_wait(ClosedFd(), ev, 1, 0), EBADF);
  EXPECT_FAILS_WITH(epoll_wait(p.r(), ev, 1, 0), EINVAL);
  // A buffer outside the user address range fails before anything else.
  EXPECT_FAILS_WITH(epoll_wait(ep.fd, reinterpret_cast<epoll_event*>(0xffff800000000000ULL), 1, 0),
                    EFAULT);
  // An unwritable buffer fails when there is an event to write.
  ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN, 0), 0);
  EXPECT_EQ(epoll_wait(ep.fd, static_cast<epoll_event*>(BadPtr()), 1, 0), 0);
  ASSERT_EQ(write(p.w(), "x", 1), 1);
  EXPECT_FAILS_WITH(epoll_wait(ep.fd, static_cast<epoll_event*>(BadPtr()), 1, 0), EFAULT);
}

TEST(EpollWait, LevelTriggered) {
  Fd ep(epoll_create1(0));
  Pipe p;
  ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN, 0x1234567890abcdefULL), 0);
  epoll_event ev{};
  EXPECT_EQ(WaitOne(ep.fd, &ev, 0), 0);
  ASSERT_EQ(write(p.w(), "ab", 2), 2);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(WaitOne(ep.fd, &ev, 0), 1);
    EXPECT_EQ(ev.events, static_cast<uint32_t>(EPOLLIN));
    EXPECT_EQ(ev.data.u64, 0x1234567890abcdefULL);
  }
  char buf[2];
  ASSERT_EQ(read(p.r(), buf, 2), 2);
  EXPECT_EQ(WaitOne(ep.fd, &ev, 0), 0);
}

TEST(EpollWait, EdgeTriggered) {
  Fd ep(epoll_create1(0));
  Pipe p;
  ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN | EPOLLET, 7), 0);
  epoll_event ev{};
  ASSERT_EQ(write(p.w(), "a", 1), 1);
  ASSERT_EQ(WaitOne(ep.fd, &ev, 0), 1);
  EXPECT_EQ(ev.data.u64, 7u);
  // Still readable, but nothing new happened.
  EXPECT_EQ(WaitOne(ep.fd, &ev, 0), 0);
  // New data is a new edge.
  ASSERT_EQ(write(p.w(), "b", 1), 1);
  EXPECT_EQ(WaitOne(ep.fd, &ev, 0), 1);
  EXPECT_EQ(WaitOne(ep.fd, &ev, 0), 0);
}

TEST(EpollWait, OneShot) {
  Fd ep(epoll_create1(0));
  Pipe p;
  ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN | EPOLLONESHOT, 1), 0);
  ASSERT_EQ(write(p.w(), "a", 1), 1);
  epoll_event ev{};
  ASSERT_EQ(WaitOne(ep.fd, &ev, 0), 1);
  EXPECT_EQ(WaitOne(ep.fd, &ev, 0), 0);
  ASSERT_EQ(write(p.w(), "b", 1), 1);
  EXPECT_EQ(WaitOne(ep.fd, &ev, 0), 0);
  // MOD re-arms it.
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.u64 = 2;
  ASSERT_EQ(epoll_ctl(ep.fd, EPOLL_CTL_MOD, p.r(), &ev), 0);
  ASSERT_EQ(WaitOne(ep.fd, &ev, 0), 1);
  EXPECT_EQ(ev.data.u64, 2u);
}

TEST(EpollWait, OutHupErr) {
  Fd ep(epoll_create1(0));
  Pipe p;
  ASSERT_EQ(Add(ep.fd, p.w(), EPOLLOUT, 1), 0);
  ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN, 2), 0);
  epoll_event ev[2];
  ASSERT_EQ(epoll_wait(ep.fd, ev, 2, 0), 1);
  EXPECT_EQ(ev[0].data.u64, 1u);
  EXPECT_EQ(ev[0].events, static_cast<uint32_t>(EPOLLOUT));
  // The write end closed: the read end hangs up (reported unasked).
  ASSERT_EQ(epoll_ctl(ep.fd, EPOLL_CTL_DEL, p.w(), nullptr), 0);
  close(p.fds[1]);
  p.fds[1] = -1;
  ASSERT_EQ(epoll_wait(ep.fd, ev, 2, 0), 1);
  EXPECT_EQ(ev[0].data.u64, 2u);
  EXPECT_EQ(ev[0].events, static_cast<uint32_t>(EPOLLHUP));

  Pipe q;
  Fd ep2(epoll_create1(0));
  ASSERT_EQ(Add(ep2.fd, q.w(), EPOLLOUT, 3), 0);
  close(q.fds[0]);
  q.fds[0] = -1;
  ASSERT_EQ(WaitOne(ep2.fd, ev, 0), 1);
  EXPECT_EQ(ev[0].events, static_cast<uint32_t>(EPOLLOUT | EPOLLERR));
}

TEST(EpollWait, MaxEventsRoundRobin) {
  Fd ep(epoll_create1(0));
  Pipe p[3];
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Add(ep.fd, p[i].r(), EPOLLIN, i), 0);
    ASSERT_EQ(write(p[i].w(), "x", 1), 1);
  }
  epoll_event ev[3];
  ASSERT_EQ(epoll_wait(ep.fd, ev, 2, 0), 2);
  const uint64_t first = ev[0].data.u64, second = ev[1].data.u64;
  EXPECT_NE(first, second);
  // The one not reported comes first next time.
  ASSERT_EQ(epoll_wait(ep.fd, ev, 1, 0), 1);
  EXPECT_NE(ev[0].data.u64, first);
  EXPECT_NE(ev[0].data.u64, second);
  EXPECT_EQ(epoll_wait(ep.fd, ev, 3, 0), 3);
}

TEST(EpollWait, ClosedFileGoesAway) {
  Fd ep(epoll_create1(0));
  Pipe p;
  ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN, 5), 0);
  ASSERT_EQ(write(p.w(), "x", 1), 1);
  // A dup keeps the open file: the entry stays and reports.
  int dup_fd = dup(p.r());
  ASSERT_GE(dup_fd, 0);
  close(p.fds[0]);
  p.fds[0] = -1;
  epoll_event ev{};
  ASSERT_EQ(WaitOne(ep.fd, &ev, 0), 1);
  EXPECT_EQ(ev.data.u64, 5u);
  // The last reference gone, so is the entry.
  close(dup_fd);
  EXPECT_EQ(WaitOne(ep.fd, &ev, 0), 0);
}

TEST(EpollWait, BlocksUntilWoken) {
  Fd ep(epoll_create1(0));
  Pipe p;
  ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN, 9), 0);
  std::thread writer([&] {
    SleepMs(100);
    (void)!write(p.w(), "x", 1);
  });
  const long start = NowMs();
  epoll_event ev{};
  EXPECT_EQ(WaitOne(ep.fd, &ev, 5000), 1);
  EXPECT_GE(NowMs() - start, 80);
  EXPECT_EQ(ev.data.u64, 9u);
  writer.join();
}

TEST(EpollWait, TimesOut) {
  Fd ep(epoll_create1(0));
  Pipe p;
  ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN, 0), 0);
  const long start = NowMs();
  epoll_event ev{};
  EXPECT_EQ(WaitOne(ep.fd, &ev, 150), 0);
  EXPECT_GE(NowMs() - start, 140);
  // epoll_pwait2's timespec.
  timespec ts{0, 100 * 1000000L};
  EXPECT_EQ(epoll_pwait2(ep.fd, &ev, 1, &ts, nullptr), 0);
  ts.tv_nsec = 1000000000L;
  EXPECT_FAILS_WITH(epoll_pwait2(ep.fd, &ev, 1, &ts, nullptr), EINVAL);
  ts = timespec{-1, 0};
  EXPECT_FAILS_WITH(epoll_pwait2(ep.fd, &ev, 1, &ts, nullptr), EINVAL);
}

void Handler(int) {}

TEST(EpollWait, SignalInterruptsEvenWithRestart) {
  husk_test::RunInChild([] {
    struct sigaction sa {};
    sa.sa_handler = Handler;
    sa.sa_flags = SA_RESTART;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    Fd ep(epoll_create1(0));
    Pipe p;
    ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN, 0), 0);
    const pthread_t self = pthread_self();
    std::thread killer([self] {
      SleepMs(100);
      pthread_kill(self, SIGUSR1);
    });
    epoll_event ev{};
    EXPECT_FAILS_WITH(WaitOne(ep.fd, &ev, 5000), EINTR);
    killer.join();
  });
}

TEST(EpollWait, PwaitMask) {
  husk_test::RunInChild([] {
    struct sigaction sa {};
    sa.sa_handler = Handler;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, nullptr), 0);
    Fd ep(epoll_create1(0));
    Pipe p;
    ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN, 0), 0);
    // Pending but blocked: epoll_wait does not see it.
    ASSERT_EQ(raise(SIGUSR1), 0);
    epoll_event ev{};
    EXPECT_EQ(WaitOne(ep.fd, &ev, 50), 0);
    // epoll_pwait's mask lets it in.
    sigset_t none;
    sigemptyset(&none);
    EXPECT_FAILS_WITH(epoll_pwait(ep.fd, &ev, 1, 5000, &none), EINTR);
    // Blocked again afterwards.
    sigset_t now;
    ASSERT_EQ(sigprocmask(SIG_BLOCK, nullptr, &now), 0);
    EXPECT_TRUE(sigismember(&now, SIGUSR1));
    // A bad mask size.
    EXPECT_EQ(syscall(SYS_epoll_pwait, ep.fd, &ev, 1, 0, &none, 4), -1);
    EXPECT_EQ(errno, EINVAL);
  });
}

TEST(Epoll, Nested) {
  Fd outer(epoll_create1(0)), inner(epoll_create1(0));
  Pipe p;
  ASSERT_EQ(Add(inner.fd, p.r(), EPOLLIN, 1), 0);
  ASSERT_EQ(Add(outer.fd, inner.fd, EPOLLIN, 2), 0);
  epoll_event ev{};
  EXPECT_EQ(WaitOne(outer.fd, &ev, 0), 0);
  std::thread writer([&] {
    SleepMs(50);
    (void)!write(p.w(), "x", 1);
  });
  ASSERT_EQ(WaitOne(outer.fd, &ev, 5000), 1);
  EXPECT_EQ(ev.data.u64, 2u);
  EXPECT_EQ(ev.events, static_cast<uint32_t>(EPOLLIN));
  writer.join();
  // poll(2) on an epoll instance.
  pollfd pfd{inner.fd, POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  EXPECT_EQ(pfd.revents, POLLIN);
}

TEST(Epoll, SharedAcrossFork) {
  Fd ep(epoll_create1(0));
  Pipe p;
  ASSERT_EQ(Add(ep.fd, p.r(), EPOLLIN, 42), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    epoll_event ev{};
    _exit(WaitOne(ep.fd, &ev, 5000) == 1 && ev.data.u64 == 42 ? 0 : 1);
  }
  SleepMs(50);
  ASSERT_EQ(write(p.w(), "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // Added in the child, seen in the parent: one instance.
  Pipe q;
  pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(Add(ep.fd, q.r(), EPOLLIN, 43) == 0 ? 0 : 1);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_FAILS_WITH(Add(ep.fd, q.r(), EPOLLIN, 43), EEXIST);
}

}  // namespace
