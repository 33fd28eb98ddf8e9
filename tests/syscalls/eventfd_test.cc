// eventfd(2), eventfd2(2): a 64-bit counter that write adds to and read
// takes, with EFD_SEMAPHORE, EFD_NONBLOCK and EFD_CLOEXEC; its readiness
// under poll(2); blocking with another thread or process as the partner.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::NowMs;
using husk_test::RunInChild;
using husk_test::SleepMs;

constexpr uint64_t kMax = UINT64_MAX;

int Eventfd2(unsigned initval, int flags) { return static_cast<int>(syscall(SYS_eventfd2, initval, flags)); }

ssize_t Put(int fd, uint64_t v) { return write(fd, &v, sizeof(v)); }

// Reads the counter; returns -1 (errno set) on failure.
int64_t Take(int fd) {
  uint64_t v = 0;
  ssize_t n = read(fd, &v, sizeof(v));
  if (n < 0) return -1;
  EXPECT_EQ(n, 8);
  return static_cast<int64_t>(v);
}

short Revents(int fd, short events) {
  pollfd p{fd, events, 0};
  EXPECT_GE(poll(&p, 1, 0), 0) << strerror(errno);
  return p.revents;
}

TEST(Eventfd, StartsAtTheInitialValue) {
  int fd = Eventfd2(5, 0);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(Take(fd), 5);
  close(fd);
}

TEST(Eventfd, OldSyscallTakesNoFlags) {
  int fd = static_cast<int>(syscall(SYS_eventfd, 3));
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR);
  EXPECT_EQ(Take(fd), 3);
  close(fd);
}

TEST(Eventfd, UnknownFlagsAreEinval) {
  EXPECT_FAILS_WITH(Eventfd2(0, 2), EINVAL);
  EXPECT_FAILS_WITH(Eventfd2(0, O_APPEND), EINVAL);
  EXPECT_FAILS_WITH(Eventfd2(0, O_RDWR), EINVAL);
  EXPECT_FAILS_WITH(Eventfd2(0, -1), EINVAL);
}

TEST(Eventfd, FlagsBecomeStatusAndFdFlags) {
  int fd = Eventfd2(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
  fd = Eventfd2(0, 0);
  EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(fd);
}

TEST(Eventfd, ReadTakesTheWholeCount) {
  int fd = Eventfd2(0, EFD_NONBLOCK);
  ASSERT_EQ(Put(fd, 1), 8);
  ASSERT_EQ(Put(fd, 2), 8);
  ASSERT_EQ(Put(fd, 3), 8);
  EXPECT_EQ(Take(fd), 6);
  EXPECT_FAILS_WITH(Take(fd), EAGAIN);
  close(fd);
}

TEST(Eventfd, SemaphoreReadsOneAtATime) {
  int fd = Eventfd2(3, EFD_SEMAPHORE | EFD_NONBLOCK);
  EXPECT_EQ(Take(fd), 1);
  EXPECT_EQ(Take(fd), 1);
  EXPECT_EQ(Take(fd), 1);
  EXPECT_FAILS_WITH(Take(fd), EAGAIN);
  close(fd);
}

TEST(Eventfd, BufferShorterThanEightIsEinval) {
  int fd = Eventfd2(1, EFD_NONBLOCK);
  uint32_t small = 1;
  EXPECT_FAILS_WITH(read(fd, &small, sizeof(small)), EINVAL);
  EXPECT_FAILS_WITH(write(fd, &small, sizeof(small)), EINVAL);
  EXPECT_EQ(Take(fd), 1);  // untouched
  close(fd);
}

TEST(Eventfd, LongerReadBufferGetsEightBytes) {
  int fd = Eventfd2(9, EFD_NONBLOCK);
  uint64_t buf[2] = {0, 77};
  EXPECT_EQ(read(fd, buf, sizeof(buf)), 8);
  EXPECT_EQ(buf[0], 9u);
  EXPECT_EQ(buf[1], 77u);
  close(fd);
}

// Linux 6.9 on: a write must be exactly the 8-byte counter.
TEST(Eventfd, LongerWriteIsEinval) {
  int fd = Eventfd2(0, EFD_NONBLOCK);
  uint64_t in[2] = {4, 5};
  EXPECT_FAILS_WITH(write(fd, in, sizeof(in)), EINVAL);
  EXPECT_FAILS_WITH(Take(fd), EAGAIN);
  close(fd);
}

TEST(Eventfd, WritingTheMaximumIsEinval) {
  int fd = Eventfd2(0, EFD_NONBLOCK);
  EXPECT_FAILS_WITH(Put(fd, kMax), EINVAL);
  EXPECT_FAILS_WITH(Take(fd), EAGAIN);
  close(fd);
}

TEST(Eventfd, WriteThatWouldOverflowWouldBlock) {
  int fd = Eventfd2(0, EFD_NONBLOCK);
  ASSERT_EQ(Put(fd, kMax - 1), 8);
  EXPECT_FAILS_WITH(Put(fd, 1), EAGAIN);
  EXPECT_EQ(Put(fd, 0), 8);  // adding nothing never waits
  EXPECT_EQ(Revents(fd, POLLIN | POLLOUT), POLLIN);
  EXPECT_EQ(static_cast<uint64_t>(Take(fd)), kMax - 1);
  close(fd);
}

TEST(Eventfd, WritingZeroChangesNothing) {
  int fd = Eventfd2(0, EFD_NONBLOCK);
  EXPECT_EQ(Put(fd, 0), 8);
  EXPECT_EQ(Revents(fd, POLLIN), 0);
  EXPECT_FAILS_WITH(Take(fd), EAGAIN);
  close(fd);
}

TEST(Eventfd, PollReadiness) {
  int fd = Eventfd2(0, 0);
  EXPECT_EQ(Revents(fd, POLLIN | POLLOUT), POLLOUT);
  ASSERT_EQ(Put(fd, 2), 8);
  EXPECT_EQ(Revents(fd, POLLIN | POLLOUT), POLLIN | POLLOUT);
  EXPECT_EQ(Revents(fd, POLLRDNORM | POLLWRNORM), 0);  // eventfd_poll sets no *NORM bits
  EXPECT_EQ(Take(fd), 2);
  EXPECT_EQ(Revents(fd, POLLIN), 0);
  // Writable while a write of 1 would not wait.
  ASSERT_EQ(Put(fd, kMax - 2), 8);
  EXPECT_EQ(Revents(fd, POLLOUT), POLLOUT);
  ASSERT_EQ(Put(fd, 1), 8);
  EXPECT_EQ(Revents(fd, POLLOUT), 0);
  close(fd);
}

TEST(Eventfd, SelectSeesTheCounter) {
  int fd = Eventfd2(0, 0);
  fd_set r;
  FD_ZERO(&r);
  FD_SET(fd, &r);
  timeval zero{0, 0};
  EXPECT_EQ(select(fd + 1, &r, nullptr, nullptr, &zero), 0);
  ASSERT_EQ(Put(fd, 1), 8);
  FD_ZERO(&r);
  FD_SET(fd, &r);
  zero = {0, 0};
  EXPECT_EQ(select(fd + 1, &r, nullptr, nullptr, &zero), 1);
  EXPECT_TRUE(FD_ISSET(fd, &r));
  close(fd);
}

TEST(Eventfd, BlockingReadWokenByAnotherThread) {
  int fd = Eventfd2(0, 0);
  const long start = NowMs();
  std::thread writer([fd] {
    SleepMs(100);
    Put(fd, 42);
  });
  EXPECT_EQ(Take(fd), 42);
  EXPECT_GE(NowMs() - start, 80);
  writer.join();
  close(fd);
}

TEST(Eventfd, BlockingWriteWokenByARead) {
  int fd = Eventfd2(0, 0);
  ASSERT_EQ(Put(fd, kMax - 1), 8);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    EXPECT_EQ(Put(fd, 5), 8);
    done = true;
  });
  SleepMs(100);
  EXPECT_FALSE(done.load());
  EXPECT_EQ(static_cast<uint64_t>(Take(fd)), kMax - 1);
  writer.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(Take(fd), 5);
  close(fd);
}

TEST(Eventfd, PollWokenByAWriteInAChild) {
  int fd = Eventfd2(0, 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    SleepMs(100);
    _exit(Put(fd, 7) == 8 ? 0 : 1);
  }
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 10000), 1);
  EXPECT_EQ(p.revents, POLLIN);
  EXPECT_EQ(Take(fd), 7);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(fd);
}

TEST(Eventfd, ForkAndDupShareTheCounter) {
  int fd = Eventfd2(0, 0);
  int copy = dup(fd);
  ASSERT_GE(copy, 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child blocks until the parent writes, then answers.
    uint64_t v = 0;
    if (read(fd, &v, 8) != 8 || v != 11) _exit(1);
    _exit(Put(copy, 12) == 8 ? 0 : 2);
  }
  SleepMs(50);
  ASSERT_EQ(Put(copy, 11), 8);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(Take(fd), 12);
  close(copy);
  close(fd);
}

TEST(Eventfd, SetflNonblockTakesEffect) {
  int fd = Eventfd2(0, 0);
  ASSERT_EQ(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
  EXPECT_FAILS_WITH(Take(fd), EAGAIN);
  ASSERT_EQ(Put(fd, kMax - 1), 8);
  EXPECT_FAILS_WITH(Put(fd, 1), EAGAIN);
  ASSERT_EQ(fcntl(fd, F_SETFL, 0), 0);
  EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR);
  close(fd);
}

TEST(Eventfd, FstatShowsTheAnonymousInode) {
  int a = Eventfd2(0, 0), b = Eventfd2(0, 0);
  struct stat sa, sb;
  ASSERT_EQ(fstat(a, &sa), 0);
  ASSERT_EQ(fstat(b, &sb), 0);
  EXPECT_EQ(sa.st_mode, static_cast<mode_t>(S_IRUSR | S_IWUSR));  // no file type
  EXPECT_EQ(sa.st_nlink, 1u);
  EXPECT_EQ(sa.st_uid, 0u);
  EXPECT_EQ(sa.st_size, 0);
  EXPECT_EQ(sa.st_ino, sb.st_ino);  // one inode for every eventfd
  EXPECT_EQ(sa.st_dev, sb.st_dev);
  close(a);
  close(b);
}

TEST(Eventfd, LseekDoesNothingAndPreadIsEspipe) {
  int fd = Eventfd2(1, 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_SET), 0);
  EXPECT_EQ(lseek(fd, 100, SEEK_CUR), 0);
  uint64_t v;
  EXPECT_FAILS_WITH(pread(fd, &v, 8, 0), ESPIPE);
  EXPECT_FAILS_WITH(pwrite(fd, &v, 8, 0), ESPIPE);
  EXPECT_EQ(Take(fd), 1);
  close(fd);
}

TEST(Eventfd, BadBufferIsEfault) {
  int fd = Eventfd2(1, EFD_NONBLOCK);
  EXPECT_FAILS_WITH(read(fd, BadPtr(), 8), EFAULT);
  EXPECT_FAILS_WITH(write(fd, BadPtr(), 8), EFAULT);
  close(fd);
}

TEST(Eventfd, ReadvAndWritev) {
  int fd = Eventfd2(0, EFD_NONBLOCK);
  uint64_t v = 3;
  iovec in[1] = {{&v, 8}};
  EXPECT_EQ(writev(fd, in, 1), 8);
  uint64_t out = 0;
  iovec o[2] = {{reinterpret_cast<char*>(&out), 2}, {reinterpret_cast<char*>(&out) + 2, 6}};
  EXPECT_EQ(readv(fd, o, 2), 8);
  EXPECT_EQ(out, 3u);
  close(fd);
}

TEST(Eventfd, ClosedFdIsEbadf) {
  uint64_t v = 1;
  EXPECT_FAILS_WITH(write(ClosedFd(), &v, 8), EBADF);
}

void Nothing(int) {}

TEST(Eventfd, BlockedReadIsInterruptedByAHandler) {
  RunInChild([] {
    struct sigaction sa {};
    sa.sa_handler = Nothing;  // no SA_RESTART
    ASSERT_EQ(sigaction(SIGALRM, &sa, nullptr), 0);
    int fd = Eventfd2(0, 0);
    itimerval it{{0, 0}, {0, 100000}};
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    EXPECT_FAILS_WITH(Take(fd), EINTR);
  });
}

TEST(Eventfd, BlockedReadRestartsAfterAnSaRestartHandler) {
  RunInChild([] {
    struct sigaction sa {};
    sa.sa_handler = Nothing;
    sa.sa_flags = SA_RESTART;
    ASSERT_EQ(sigaction(SIGALRM, &sa, nullptr), 0);
    int fd = Eventfd2(0, 0);
    itimerval it{{0, 0}, {0, 50000}};
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    std::thread writer([fd] {
      SleepMs(300);
      Put(fd, 9);
    });
    EXPECT_EQ(Take(fd), 9);
    writer.join();
  });
}

}  // namespace

namespace {

TEST(Eventfd, EpollEdgeTriggeredSeesEachWrite) {
  int fd = Eventfd2(0, EFD_NONBLOCK);
  int ep = epoll_create1(0);
  ASSERT_GE(ep, 0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = 77;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
  epoll_event out[2];
  EXPECT_EQ(epoll_wait(ep, out, 2, 0), 0);
  std::thread writer([fd] {
    SleepMs(50);
    Put(fd, 1);
  });
  ASSERT_EQ(epoll_wait(ep, out, 2, 10000), 1);
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(out[0].data.u64, 77u);
  writer.join();
  EXPECT_EQ(epoll_wait(ep, out, 2, 0), 0);  // reported once
  ASSERT_EQ(Put(fd, 1), 8);                 // a new edge
  EXPECT_EQ(epoll_wait(ep, out, 2, 0), 1);
  EXPECT_EQ(Take(fd), 2);
  close(ep);
  close(fd);
}

}  // namespace
