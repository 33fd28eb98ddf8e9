// Advisory locks: flock(2), POSIX record locks (fcntl F_GETLK, F_SETLK,
// F_SETLKW) and open file description locks (F_OFD_*).
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::NowMs;
using husk_test::RunInChild;
using husk_test::SleepMs;

struct flock Range(short type, off_t start, off_t len, short whence = SEEK_SET) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = whence;
  fl.l_start = start;
  fl.l_len = len;
  return fl;
}

// F_SETLK of `type` over [start, start+len) on `fd`: 0 or an errno.
int SetLk(int fd, short type, off_t start, off_t len, int cmd = F_SETLK) {
  struct flock fl = Range(type, start, len);
  return fcntl(fd, cmd, &fl) == 0 ? 0 : errno;
}

// What F_GETLK says about a `type` lock over [start, start+len).
struct flock GetLk(int fd, short type, off_t start, off_t len, int cmd = F_GETLK) {
  struct flock fl = Range(type, start, len);
  EXPECT_EQ(fcntl(fd, cmd, &fl), 0) << strerror(errno);
  return fl;
}

// Runs `fn` in a child process (a different lock owner) and returns its
// exit code.
template <typename F>
int InOtherProcess(F fn) {
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

void NoRestartHandler(int) {}

// Arms SIGALRM, with a handler that does not restart syscalls, to come in
// `ms` milliseconds.
void AlarmIn(long ms) {
  struct sigaction sa {};
  sa.sa_handler = NoRestartHandler;
  sigaction(SIGALRM, &sa, nullptr);
  itimerval it{};
  it.it_value.tv_sec = ms / 1000;
  it.it_value.tv_usec = (ms % 1000) * 1000;
  setitimer(ITIMER_REAL, &it, nullptr);
}

class LockTest : public husk_test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    file_ = Path("f");
    fd_ = open(file_.c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd_, 0) << strerror(errno);
    ASSERT_EQ(write(fd_, "0123456789", 10), 10);
  }
  void TearDown() override {
    close(fd_);
    TempDirTest::TearDown();
  }
  int Open(int flags = O_RDWR) const { return open(file_.c_str(), flags); }

  std::string file_;
  int fd_ = -1;
};

// --- flock(2) ---

TEST_F(LockTest, FlockBadOperationIsEinval) {
  EXPECT_FAILS_WITH(flock(fd_, 0), EINVAL);
  EXPECT_FAILS_WITH(flock(fd_, LOCK_SH | LOCK_EX), EINVAL);
  EXPECT_FAILS_WITH(flock(fd_, 77), EINVAL);
  EXPECT_FAILS_WITH(flock(fd_, LOCK_NB), EINVAL);
}

TEST_F(LockTest, FlockBadFdIsEbadf) {
  EXPECT_FAILS_WITH(flock(ClosedFd(), LOCK_SH), EBADF);
  int path_fd = open(file_.c_str(), O_PATH);
  ASSERT_GE(path_fd, 0);
  EXPECT_FAILS_WITH(flock(path_fd, LOCK_EX), EBADF);
  EXPECT_FAILS_WITH(flock(path_fd, LOCK_UN), EBADF);
  close(path_fd);
}

TEST_F(LockTest, FlockLockMandIsIgnored) {
  EXPECT_EQ(flock(fd_, LOCK_MAND | LOCK_READ), 0);
  EXPECT_EQ(flock(ClosedFd(), LOCK_MAND), 0);
  // Nothing was locked.
  int other = Open();
  EXPECT_EQ(flock(other, LOCK_EX | LOCK_NB), 0);
  close(other);
}

TEST_F(LockTest, FlockExclusiveConflictsWithAnotherOpen) {
  int other = Open(O_RDONLY);
  ASSERT_GE(other, 0);
  ASSERT_EQ(flock(fd_, LOCK_EX), 0);
  EXPECT_FAILS_WITH(flock(other, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  EXPECT_FAILS_WITH(flock(other, LOCK_SH | LOCK_NB), EWOULDBLOCK);
  ASSERT_EQ(flock(fd_, LOCK_UN), 0);
  EXPECT_EQ(flock(other, LOCK_EX | LOCK_NB), 0);
  close(other);
}

TEST_F(LockTest, FlockSharedLocksCoexist) {
  int other = Open();
  ASSERT_EQ(flock(fd_, LOCK_SH), 0);
  EXPECT_EQ(flock(other, LOCK_SH | LOCK_NB), 0);
  int third = Open();
  EXPECT_FAILS_WITH(flock(third, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  close(third);
  close(other);
}

TEST_F(LockTest, FlockRelockingTheSameDescriptionSucceeds) {
  ASSERT_EQ(flock(fd_, LOCK_EX), 0);
  EXPECT_EQ(flock(fd_, LOCK_EX | LOCK_NB), 0);
  int dup_fd = dup(fd_);
  EXPECT_EQ(flock(dup_fd, LOCK_EX | LOCK_NB), 0);  // the same description
  close(dup_fd);
}

TEST_F(LockTest, FlockConversionDropsTheOldLockFirst) {
  int other = Open();
  ASSERT_EQ(flock(fd_, LOCK_SH), 0);
  ASSERT_EQ(flock(other, LOCK_SH), 0);
  // Upgrading fails against `other`'s shared lock, and fd_'s is gone.
  EXPECT_FAILS_WITH(flock(fd_, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  ASSERT_EQ(flock(other, LOCK_UN), 0);
  int third = Open();
  EXPECT_EQ(flock(third, LOCK_EX | LOCK_NB), 0);
  close(third);
  close(other);
}

TEST_F(LockTest, FlockStaysUntilTheLastCloseOfTheDescription) {
  int dup_fd = dup(fd_);
  ASSERT_EQ(flock(fd_, LOCK_EX), 0);
  int other = Open();
  close(fd_);
  EXPECT_FAILS_WITH(flock(other, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  close(dup_fd);
  EXPECT_EQ(flock(other, LOCK_EX | LOCK_NB), 0);
  close(other);
  fd_ = Open();
}

TEST_F(LockTest, FlockIsSharedWithAForkedChild) {
  ASSERT_EQ(flock(fd_, LOCK_EX), 0);
  EXPECT_EQ(InOtherProcess([&] {
              int mine = Open();
              if (flock(mine, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK) return 1;
              // The inherited fd is the parent's description: its lock.
              if (flock(fd_, LOCK_EX | LOCK_NB) != 0) return 2;
              // Unlocking it unlocks the parent's.
              if (flock(fd_, LOCK_UN) != 0) return 3;
              return flock(mine, LOCK_EX | LOCK_NB) == 0 ? 0 : 4;
            }),
            0);
}

TEST_F(LockTest, FlockOutlivesAnExitingChildThatSharesIt) {
  ASSERT_EQ(flock(fd_, LOCK_EX), 0);
  EXPECT_EQ(InOtherProcess([] { return 0; }), 0);  // closes its copy of fd_
  int other = Open();
  EXPECT_FAILS_WITH(flock(other, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  close(other);
}

TEST_F(LockTest, FlockWaitsForTheHolder) {
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  pid_t pid = fork();
  if (pid == 0) {
    int mine = Open();
    flock(mine, LOCK_EX);
    char c = 1;
    (void)!write(sync[1], &c, 1);
    SleepMs(150);
    flock(mine, LOCK_UN);
    SleepMs(50);
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(sync[0], &c, 1), 1);
  const long start = NowMs();
  EXPECT_EQ(flock(fd_, LOCK_EX), 0);
  EXPECT_GE(NowMs() - start, 80);
  waitpid(pid, nullptr, 0);
  close(sync[0]);
  close(sync[1]);
}

TEST_F(LockTest, FlockWaitIsInterruptedBySignal) {
  int other = Open();
  ASSERT_EQ(flock(other, LOCK_EX), 0);
  RunInChild([&] {
    int mine = Open();
    AlarmIn(100);
    EXPECT_FAILS_WITH(flock(mine, LOCK_EX), EINTR);
  });
  close(other);
}

TEST_F(LockTest, FlockAndRecordLocksDoNotInteract) {
  ASSERT_EQ(flock(fd_, LOCK_EX), 0);
  EXPECT_EQ(InOtherProcess([&] {
              int mine = Open();
              return SetLk(mine, F_WRLCK, 0, 0);
            }),
            0);
}

TEST(LockMisc, FlockOnPipeAndSocket) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_EQ(flock(p[0], LOCK_EX), 0);
  EXPECT_EQ(flock(p[1], LOCK_SH | LOCK_NB), -1);  // the other end: the same pipe
  EXPECT_EQ(errno, EWOULDBLOCK);
  int s[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
  EXPECT_EQ(flock(s[0], LOCK_EX | LOCK_NB), 0);
  for (int fd : {p[0], p[1], s[0], s[1]}) close(fd);
}

// --- POSIX record locks ---

TEST_F(LockTest, GetlkWithNothingLockedSaysUnlocked) {
  struct flock fl = Range(F_WRLCK, 3, 4);
  fl.l_pid = 1234;
  ASSERT_EQ(fcntl(fd_, F_GETLK, &fl), 0);
  EXPECT_EQ(fl.l_type, F_UNLCK);
  // The rest is left as it was.
  EXPECT_EQ(fl.l_start, 3);
  EXPECT_EQ(fl.l_len, 4);
  EXPECT_EQ(fl.l_pid, 1234);
}

TEST_F(LockTest, OwnLocksNeverConflict) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 10), 0);
  int other = Open();
  EXPECT_EQ(SetLk(other, F_WRLCK, 5, 10), 0);
  EXPECT_EQ(GetLk(other, F_WRLCK, 0, 0).l_type, F_UNLCK);
  close(other);
}

TEST_F(LockTest, WriteLockConflictsInAnotherProcess) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 10), 0);
  const pid_t me = getpid();
  EXPECT_EQ(InOtherProcess([&] {
              int mine = Open();
              const int e = SetLk(mine, F_RDLCK, 5, 1);
              if (e != EAGAIN && e != EACCES) return 1;
              struct flock fl = GetLk(mine, F_RDLCK, 5, 1);
              if (fl.l_type != F_WRLCK || fl.l_whence != SEEK_SET || fl.l_start != 0 || fl.l_len != 10) return 2;
              if (fl.l_pid != me) return 3;
              // Outside the range: free.
              return SetLk(mine, F_WRLCK, 10, 5) == 0 ? 0 : 4;
            }),
            0);
}

TEST_F(LockTest, ReadLocksShare) {
  ASSERT_EQ(SetLk(fd_, F_RDLCK, 0, 0), 0);
  EXPECT_EQ(InOtherProcess([&] {
              int mine = Open();
              if (SetLk(mine, F_RDLCK, 0, 100) != 0) return 1;
              return SetLk(mine, F_WRLCK, 50, 1) == EAGAIN ? 0 : 2;
            }),
            0);
}

TEST_F(LockTest, UnlockingTheMiddleSplitsALock) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 100), 0);
  ASSERT_EQ(SetLk(fd_, F_UNLCK, 40, 20), 0);
  EXPECT_EQ(InOtherProcess([&] {
              int mine = Open();
              struct flock left = GetLk(mine, F_RDLCK, 0, 100);
              if (left.l_type != F_WRLCK || left.l_start != 0 || left.l_len != 40) return 1;
              if (GetLk(mine, F_RDLCK, 40, 20).l_type != F_UNLCK) return 2;
              struct flock right = GetLk(mine, F_RDLCK, 45, 0);
              if (right.l_type != F_WRLCK || right.l_start != 60 || right.l_len != 40) return 3;
              return 0;
            }),
            0);
}

TEST_F(LockTest, AdjacentLocksOfOneTypeMerge) {
  ASSERT_EQ(SetLk(fd_, F_RDLCK, 0, 10), 0);
  ASSERT_EQ(SetLk(fd_, F_RDLCK, 10, 10), 0);
  EXPECT_EQ(InOtherProcess([&] {
              int mine = Open();
              struct flock fl = GetLk(mine, F_WRLCK, 0, 0);
              return fl.l_type == F_RDLCK && fl.l_start == 0 && fl.l_len == 20 ? 0 : 1;
            }),
            0);
}

TEST_F(LockTest, ChangingTypeInsideALockSplitsIt) {
  ASSERT_EQ(SetLk(fd_, F_RDLCK, 0, 100), 0);
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 25, 25), 0);
  EXPECT_EQ(InOtherProcess([&] {
              int mine = Open();
              if (GetLk(mine, F_RDLCK, 0, 25).l_type != F_UNLCK) return 1;
              struct flock mid = GetLk(mine, F_RDLCK, 0, 0);
              if (mid.l_type != F_WRLCK || mid.l_start != 25 || mid.l_len != 25) return 2;
              if (GetLk(mine, F_RDLCK, 50, 0).l_type != F_UNLCK) return 3;
              struct flock tail = GetLk(mine, F_WRLCK, 50, 0);
              return tail.l_type == F_RDLCK && tail.l_start == 50 && tail.l_len == 50 ? 0 : 4;
            }),
            0);
}

TEST_F(LockTest, LengthZeroReachesPastTheEnd) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 5, 0), 0);
  EXPECT_EQ(InOtherProcess([&] {
              int mine = Open();
              struct flock fl = GetLk(mine, F_RDLCK, 1LL << 40, 1);
              return fl.l_type == F_WRLCK && fl.l_start == 5 && fl.l_len == 0 ? 0 : 1;
            }),
            0);
}

TEST_F(LockTest, NegativeLengthLocksTheBytesBefore) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 10, -5), 0);
  EXPECT_EQ(InOtherProcess([&] {
              int mine = Open();
              struct flock fl = GetLk(mine, F_RDLCK, 0, 0);
              return fl.l_type == F_WRLCK && fl.l_start == 5 && fl.l_len == 5 ? 0 : 1;
            }),
            0);
}

TEST_F(LockTest, WhenceCurAndEnd) {
  ASSERT_EQ(lseek(fd_, 100, SEEK_SET), 100);
  struct flock cur = Range(F_WRLCK, 2, 3, SEEK_CUR);
  ASSERT_EQ(fcntl(fd_, F_SETLK, &cur), 0);
  struct flock end = Range(F_WRLCK, -2, 1, SEEK_END);  // the file has 10 bytes
  ASSERT_EQ(fcntl(fd_, F_SETLK, &end), 0);
  EXPECT_EQ(InOtherProcess([&] {
              int mine = Open();
              struct flock a = GetLk(mine, F_RDLCK, 0, 50);
              if (a.l_type != F_WRLCK || a.l_start != 8 || a.l_len != 1) return 1;
              struct flock b = GetLk(mine, F_RDLCK, 50, 0);
              return b.l_type == F_WRLCK && b.l_start == 102 && b.l_len == 3 ? 0 : 2;
            }),
            0);
}

TEST_F(LockTest, ClosingAnyFdOfTheFileReleasesTheProcessLocks) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 0), 0);
  int other = Open(O_RDONLY);
  close(other);
  EXPECT_EQ(InOtherProcess([&] { return SetLk(Open(), F_WRLCK, 0, 0); }), 0);
}

TEST_F(LockTest, Dup2OverAnFdOfTheFileReleasesTheLocks) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 0), 0);
  int other = Open();
  int devnull = open("/dev/null", O_RDONLY);
  ASSERT_EQ(dup2(devnull, other), other);
  EXPECT_EQ(InOtherProcess([&] { return SetLk(Open(), F_WRLCK, 0, 0); }), 0);
  close(other);
  close(devnull);
}

TEST_F(LockTest, LocksAreNotInheritedByFork) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 0), 0);
  // The child's inherited fd is the same file, but the child is another
  // owner.
  EXPECT_EQ(InOtherProcess([&] { return SetLk(fd_, F_WRLCK, 0, 1); }), EAGAIN);
  // Its exit closing the inherited fd does not drop the parent's lock.
  EXPECT_EQ(InOtherProcess([&] { return SetLk(Open(), F_WRLCK, 0, 1); }), EAGAIN);
}

TEST_F(LockTest, LocksGoWhenTheProcessExits) {
  EXPECT_EQ(InOtherProcess([&] { return SetLk(Open(), F_WRLCK, 0, 0); }), 0);
  EXPECT_EQ(SetLk(fd_, F_WRLCK, 0, 0), 0);
}

TEST_F(LockTest, SetlkwWaitsForTheHolder) {
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  pid_t pid = fork();
  if (pid == 0) {
    int mine = Open();
    SetLk(mine, F_WRLCK, 0, 0);
    char c = 1;
    (void)!write(sync[1], &c, 1);
    SleepMs(150);
    SetLk(mine, F_UNLCK, 0, 0);
    SleepMs(50);
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(sync[0], &c, 1), 1);
  EXPECT_EQ(SetLk(fd_, F_WRLCK, 0, 1), EAGAIN);
  const long start = NowMs();
  EXPECT_EQ(SetLk(fd_, F_WRLCK, 0, 1, F_SETLKW), 0);
  EXPECT_GE(NowMs() - start, 80);
  waitpid(pid, nullptr, 0);
  close(sync[0]);
  close(sync[1]);
}

TEST_F(LockTest, SetlkwIsInterruptedBySignal) {
  husk_test::PausedChild holder([&] { SetLk(Open(), F_WRLCK, 0, 0); });
  RunInChild([&] {
    AlarmIn(100);
    const long start = NowMs();
    EXPECT_EQ(SetLk(fd_, F_WRLCK, 0, 1, F_SETLKW), EINTR);
    EXPECT_GE(NowMs() - start, 50);
  });
}

TEST_F(LockTest, SetlkwDetectsDeadlock) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 1), 0);
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  pid_t pid = fork();
  if (pid == 0) {
    int mine = Open();
    if (SetLk(mine, F_WRLCK, 1, 1) != 0) _exit(10);
    char c = 1;
    (void)!write(sync[1], &c, 1);
    const int e = SetLk(mine, F_WRLCK, 0, 1, F_SETLKW);
    _exit(e == 0 ? 0 : e == EDEADLK ? 1 : 2);
  }
  char c;
  ASSERT_EQ(read(sync[0], &c, 1), 1);
  SleepMs(100);  // let the child go to sleep on byte 0
  // Whichever of the two waits second closes the circle: EDEADLK for it.
  const int mine = SetLk(fd_, F_WRLCK, 1, 1, F_SETLKW);
  if (mine != 0) SetLk(fd_, F_UNLCK, 0, 1);  // let the child through
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  const int child = WEXITSTATUS(status);
  EXPECT_TRUE((mine == EDEADLK && child == 0) || (mine == 0 && child == 1))
      << "parent " << mine << ", child " << child;
  close(sync[0]);
  close(sync[1]);
}

TEST_F(LockTest, ReadLockNeedsReadAccessWriteLockWriteAccess) {
  int ro = Open(O_RDONLY);
  int wo = Open(O_WRONLY);
  EXPECT_EQ(SetLk(ro, F_WRLCK, 0, 1), EBADF);
  EXPECT_EQ(SetLk(wo, F_RDLCK, 0, 1), EBADF);
  EXPECT_EQ(SetLk(ro, F_RDLCK, 0, 1), 0);
  EXPECT_EQ(SetLk(wo, F_WRLCK, 1, 1), 0);
  EXPECT_EQ(SetLk(ro, F_UNLCK, 0, 0), 0);
  close(ro);
  close(wo);
}

TEST_F(LockTest, BadArguments) {
  struct flock fl = Range(7, 0, 0);
  EXPECT_FAILS_WITH(fcntl(fd_, F_SETLK, &fl), EINVAL);
  fl = Range(F_UNLCK, 0, 0);
  EXPECT_FAILS_WITH(fcntl(fd_, F_GETLK, &fl), EINVAL);
  fl = Range(F_RDLCK, 0, 0, 9);
  EXPECT_FAILS_WITH(fcntl(fd_, F_SETLK, &fl), EINVAL);
  EXPECT_FAILS_WITH(fcntl(fd_, F_GETLK, &fl), EINVAL);
  fl = Range(F_RDLCK, -1, 1);
  EXPECT_FAILS_WITH(fcntl(fd_, F_SETLK, &fl), EINVAL);
  fl = Range(F_RDLCK, 5, -6);
  EXPECT_FAILS_WITH(fcntl(fd_, F_SETLK, &fl), EINVAL);
  fl = Range(F_RDLCK, 5, -5);
  EXPECT_EQ(fcntl(fd_, F_SETLK, &fl), 0);
  fl = Range(F_RDLCK, 0x7fffffffffffffffLL, 2);
  EXPECT_FAILS_WITH(fcntl(fd_, F_SETLK, &fl), EOVERFLOW);
  fl = Range(F_RDLCK, 0x7fffffffffffffffLL, 0, SEEK_END);
  EXPECT_FAILS_WITH(fcntl(fd_, F_SETLK, &fl), EOVERFLOW);
  EXPECT_FAILS_WITH(fcntl(fd_, F_SETLK, BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(fcntl(fd_, F_GETLK, BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(fcntl(ClosedFd(), F_SETLK, &fl), EBADF);
  int path_fd = open(file_.c_str(), O_PATH);
  fl = Range(F_RDLCK, 0, 0);
  EXPECT_FAILS_WITH(fcntl(path_fd, F_SETLK, &fl), EBADF);
  EXPECT_FAILS_WITH(fcntl(path_fd, F_GETLK, &fl), EBADF);
  close(path_fd);
}

TEST(LockMisc, RecordLocksOnAPipe) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  struct flock fl = Range(F_RDLCK, 0, 0);
  EXPECT_EQ(fcntl(p[0], F_SETLK, &fl), 0);
  fl.l_type = F_WRLCK;
  EXPECT_FAILS_WITH(fcntl(p[0], F_SETLK, &fl), EBADF);  // a read end
  EXPECT_EQ(fcntl(p[1], F_SETLK, &fl), 0);
  close(p[0]);
  close(p[1]);
}

// --- Open file description locks ---

TEST_F(LockTest, OfdLockNeedsPidZero) {
  struct flock fl = Range(F_WRLCK, 0, 0);
  fl.l_pid = getpid();
  EXPECT_FAILS_WITH(fcntl(fd_, F_OFD_SETLK, &fl), EINVAL);
  EXPECT_FAILS_WITH(fcntl(fd_, F_OFD_SETLKW, &fl), EINVAL);
  EXPECT_FAILS_WITH(fcntl(fd_, F_OFD_GETLK, &fl), EINVAL);
}

TEST_F(LockTest, OfdLocksConflictBetweenOpensOfOneProcess) {
  int other = Open();
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 10, F_OFD_SETLK), 0);
  EXPECT_EQ(SetLk(other, F_WRLCK, 5, 1, F_OFD_SETLK), EAGAIN);
  struct flock fl = GetLk(other, F_RDLCK, 0, 0, F_OFD_GETLK);
  EXPECT_EQ(fl.l_type, F_WRLCK);
  EXPECT_EQ(fl.l_start, 0);
  EXPECT_EQ(fl.l_len, 10);
  EXPECT_EQ(fl.l_pid, -1);
  // The same description may relock.
  EXPECT_EQ(SetLk(fd_, F_RDLCK, 0, 10, F_OFD_SETLK), 0);
  EXPECT_EQ(SetLk(other, F_RDLCK, 5, 1, F_OFD_SETLK), 0);
  close(other);
}

TEST_F(LockTest, OfdAndPosixLocksConflict) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 10, F_OFD_SETLK), 0);
  int other = Open();
  EXPECT_EQ(SetLk(other, F_WRLCK, 0, 1), EAGAIN);
  struct flock fl = GetLk(other, F_WRLCK, 0, 1);
  EXPECT_EQ(fl.l_type, F_WRLCK);
  EXPECT_EQ(fl.l_pid, -1);
  close(other);
}

// F_OFD_GETLK takes F_UNLCK (F_GETLK does not), and finds nothing with it.
TEST_F(LockTest, OfdUnlockProbeFindsNothing) {
  int other = Open();
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 10, F_OFD_SETLK), 0);
  struct flock fl = GetLk(other, F_UNLCK, 2, 3, F_OFD_GETLK);
  EXPECT_EQ(fl.l_type, F_UNLCK);
  EXPECT_EQ(fl.l_start, 2);
  EXPECT_EQ(fl.l_len, 3);
  close(other);
}

TEST_F(LockTest, OfdLockSurvivesClosingAnotherFdAndGoesWithTheLastClose) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 0, F_OFD_SETLK), 0);
  int other = Open();
  close(Open());  // a POSIX-style release would drop it here
  EXPECT_EQ(SetLk(other, F_WRLCK, 0, 1, F_OFD_SETLK), EAGAIN);
  int dup_fd = dup(fd_);
  close(fd_);
  EXPECT_EQ(SetLk(other, F_WRLCK, 0, 1, F_OFD_SETLK), EAGAIN);
  close(dup_fd);
  EXPECT_EQ(SetLk(other, F_WRLCK, 0, 1, F_OFD_SETLK), 0);
  close(other);
  fd_ = Open();
}

TEST_F(LockTest, OfdLockIsSharedWithAForkedChild) {
  ASSERT_EQ(SetLk(fd_, F_WRLCK, 0, 0, F_OFD_SETLK), 0);
  EXPECT_EQ(InOtherProcess([&] {
              if (SetLk(Open(), F_WRLCK, 0, 1, F_OFD_SETLK) != EAGAIN) return 1;
              return SetLk(fd_, F_WRLCK, 0, 1, F_OFD_SETLK);  // the same description
            }),
            0);
}

TEST_F(LockTest, OfdSetlkwWaitsAndIsInterruptible) {
  int other = Open();
  ASSERT_EQ(SetLk(other, F_WRLCK, 0, 0, F_OFD_SETLK), 0);
  RunInChild([&] {
    AlarmIn(100);
    const long start = NowMs();
    EXPECT_EQ(SetLk(fd_, F_WRLCK, 0, 1, F_OFD_SETLKW), EINTR);
    EXPECT_GE(NowMs() - start, 50);
  });
  close(other);
}

}  // namespace
