// mknod(2) and mknodat(2): regular files, FIFOs, sockets and device nodes;
// FIFOs as fifo(7) has them (open waits for the other end, O_NONBLOCK
// rules); the errors the man page lists. Each test runs in a scratch
// directory on /tmp and on /dev/shm.

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "caps_util.h"
#include "namei_util.h"
#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::RunInChild;

using Mknod = husk_test::ScratchDirTest;

TEST_P(Mknod, ARegularFile) {
  std::string f = Path("f");
  ASSERT_EQ(mknod(f.c_str(), S_IFREG | 0666, 0), 0) << strerror(errno);
  struct stat st = Stat(f);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644u);  // umask 022
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_uid, geteuid());
  int fd = open(f.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(write(fd, "x", 1), 1);
  close(fd);
}

TEST_P(Mknod, TypeZeroIsARegularFile) {
  std::string f = Path("f");
  ASSERT_EQ(mknod(f.c_str(), 0600, 0), 0) << strerror(errno);
  EXPECT_TRUE(S_ISREG(Stat(f).st_mode));
  EXPECT_EQ(Stat(f).st_mode & 07777, 0600u);
}

TEST_P(Mknod, UmaskAndSpecialBits) {
  umask(077);
  ASSERT_EQ(mknod(Path("a").c_str(), S_IFREG | 0777, 0), 0);
  EXPECT_EQ(Stat(Path("a")).st_mode & 07777, 0700u);
  umask(0);
  ASSERT_EQ(mknod(Path("b").c_str(), S_IFIFO | 01666, 0), 0);
  EXPECT_EQ(Stat(Path("b")).st_mode & 07777, 01666u);
}

TEST_P(Mknod, AFifo) {
  std::string f = Path("fifo");
  ASSERT_EQ(mknod(f.c_str(), S_IFIFO | 0644, 0), 0) << strerror(errno);
  struct stat st = Stat(f);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(st.st_size, 0);
  ASSERT_EQ(mkfifo(Path("fifo2").c_str(), 0600), 0);
  EXPECT_TRUE(S_ISFIFO(Stat(Path("fifo2")).st_mode));
}

TEST_P(Mknod, AFifoCarriesData) {
  std::string f = Path("fifo");
  ASSERT_EQ(mkfifo(f.c_str(), 0600), 0);
  int r = open(f.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(r, 0) << strerror(errno);
  int w = open(f.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(w, 0) << strerror(errno);
  ASSERT_EQ(write(w, "hello", 5), 5);
  char buf[16] = {};
  EXPECT_EQ(read(r, buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "hello");
  // Empty with a writer: EAGAIN; without one: end of file.
  EXPECT_FAILS_WITH(read(r, buf, sizeof buf), EAGAIN);
  close(w);
  EXPECT_EQ(read(r, buf, sizeof buf), 0);
  // fstat shows the FIFO's inode.
  struct stat st {};
  ASSERT_EQ(fstat(r, &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_ino, Stat(f).st_ino);
  EXPECT_FAILS_WITH(lseek(r, 0, SEEK_SET), ESPIPE);
  close(r);
}

TEST_P(Mknod, AWriterWithoutReaderIsEnxioWhenNonblocking) {
  std::string f = Path("fifo");
  ASSERT_EQ(mkfifo(f.c_str(), 0600), 0);
  EXPECT_FAILS_WITH(open(f.c_str(), O_WRONLY | O_NONBLOCK), ENXIO);
  // O_RDWR never waits.
  int rw = open(f.c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(rw, 0) << strerror(errno);
  ASSERT_EQ(write(rw, "x", 1), 1);
  char c = 0;
  EXPECT_EQ(read(rw, &c, 1), 1);
  close(rw);
  rw = open(f.c_str(), O_RDWR);
  ASSERT_GE(rw, 0);
  close(rw);
}

TEST_P(Mknod, OpenWaitsForTheOtherEnd) {
  std::string f = Path("fifo");
  ASSERT_EQ(mkfifo(f.c_str(), 0600), 0);
  std::atomic<bool> writer_opened{false};
  std::thread writer([&] {
    husk_test::SleepMs(100);
    int w = open(f.c_str(), O_WRONLY);
    writer_opened = true;
    EXPECT_GE(w, 0) << strerror(errno);
    EXPECT_EQ(write(w, "late", 4), 4);
    close(w);
  });
  const long start = husk_test::NowMs();
  int r = open(f.c_str(), O_RDONLY);  // waits for the writer
  ASSERT_GE(r, 0) << strerror(errno);
  EXPECT_GE(husk_test::NowMs() - start, 50);
  char buf[8] = {};
  size_t got = 0;
  while (got < 4) {
    ssize_t n = read(r, buf + got, sizeof buf - got);
    ASSERT_GT(n, 0);
    got += n;
  }
  EXPECT_STREQ(buf, "late");
  writer.join();
  EXPECT_TRUE(writer_opened);
  EXPECT_EQ(read(r, buf, sizeof buf), 0);
  close(r);
}

TEST_P(Mknod, AWriterWaitsForAReader) {
  std::string f = Path("fifo");
  ASSERT_EQ(mkfifo(f.c_str(), 0600), 0);
  std::thread reader([&] {
    husk_test::SleepMs(100);
    int r = open(f.c_str(), O_RDONLY);
    EXPECT_GE(r, 0) << strerror(errno);
    char buf[4] = {};
    EXPECT_EQ(read(r, buf, 3), 3);
    close(r);
  });
  const long start = husk_test::NowMs();
  int w = open(f.c_str(), O_WRONLY);
  ASSERT_GE(w, 0) << strerror(errno);
  EXPECT_GE(husk_test::NowMs() - start, 50);
  EXPECT_EQ(write(w, "abc", 3), 3);
  reader.join();
  // The reader is gone: EPIPE (and SIGPIPE, ignored here).
  signal(SIGPIPE, SIG_IGN);
  EXPECT_FAILS_WITH(write(w, "x", 1), EPIPE);
  signal(SIGPIPE, SIG_DFL);
  close(w);
}

void OnSignal(int) {}

TEST_P(Mknod, AWaitingOpenIsInterruptedBySignals) {
  std::string f = Path("fifo");
  ASSERT_EQ(mkfifo(f.c_str(), 0600), 0);
  struct sigaction sa {}, old {};
  sa.sa_handler = OnSignal;  // no SA_RESTART
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  const pthread_t self = pthread_self();
  std::thread interrupter([self] {
    husk_test::SleepMs(100);
    pthread_kill(self, SIGUSR1);
  });
  EXPECT_FAILS_WITH(open(f.c_str(), O_RDONLY), EINTR);
  interrupter.join();
  // The interrupted open left no reader behind.
  EXPECT_FAILS_WITH(open(f.c_str(), O_WRONLY | O_NONBLOCK), ENXIO);
  sigaction(SIGUSR1, &old, nullptr);
}

TEST_P(Mknod, PollSeesAHangUpOnlyAfterAWriter) {
  std::string f = Path("fifo");
  ASSERT_EQ(mkfifo(f.c_str(), 0600), 0);
  int r = open(f.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(r, 0);
  pollfd p{r, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);  // no writer yet: no POLLHUP
  int w = open(f.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(w, 0);
  ASSERT_EQ(write(w, "z", 1), 1);
  p.revents = 0;
  EXPECT_EQ(poll(&p, 1, 0), 1);
  EXPECT_TRUE(p.revents & POLLIN);
  close(w);
  char c;
  EXPECT_EQ(read(r, &c, 1), 1);
  p.revents = 0;
  EXPECT_EQ(poll(&p, 1, 0), 1);
  EXPECT_TRUE(p.revents & POLLHUP);
  close(r);
}

TEST_P(Mknod, DataGoesWhenTheLastOpenerCloses) {
  std::string f = Path("fifo");
  ASSERT_EQ(mkfifo(f.c_str(), 0600), 0);
  int rw = open(f.c_str(), O_RDWR);
  ASSERT_GE(rw, 0);
  ASSERT_EQ(write(rw, "stale", 5), 5);
  close(rw);
  int r = open(f.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(r, 0);
  char buf[8];
  EXPECT_EQ(read(r, buf, sizeof buf), 0);  // nothing kept, no writer
  close(r);
}

TEST_P(Mknod, AFifoCanBeRenamedAndLinked) {
  std::string f = Path("fifo");
  ASSERT_EQ(mkfifo(f.c_str(), 0600), 0);
  ASSERT_EQ(rename(f.c_str(), Path("moved").c_str()), 0) << strerror(errno);
  ASSERT_EQ(link(Path("moved").c_str(), Path("linked").c_str()), 0) << strerror(errno);
  EXPECT_EQ(Stat(Path("linked")).st_nlink, 2u);
  int rw = open(Path("moved").c_str(), O_RDWR | O_NONBLOCK);
  int r = open(Path("linked").c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(rw, 0);
  ASSERT_GE(r, 0);
  ASSERT_EQ(write(rw, "!", 1), 1);
  char c = 0;
  EXPECT_EQ(read(r, &c, 1), 1);  // one FIFO under two names
  EXPECT_EQ(c, '!');
  close(r);
  close(rw);
}

TEST_P(Mknod, ASocketNode) {
  std::string s = Path("sock");
  ASSERT_EQ(mknod(s.c_str(), S_IFSOCK | 0755, 0), 0) << strerror(errno);
  struct stat st = Stat(s);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  // A socket file is not opened but connected to.
  EXPECT_FAILS_WITH(open(s.c_str(), O_RDONLY), ENXIO);
  int fd = open(s.c_str(), O_PATH);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_P(Mknod, DeviceNodesWithCapMknod) {
  if (!((husk_test::GetCaps().effective >> CAP_MKNOD) & 1)) GTEST_SKIP() << "needs CAP_MKNOD";
  ASSERT_EQ(mknod(Path("null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0) << strerror(errno);
  struct stat st = Stat(Path("null"));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ASSERT_EQ(mknod(Path("blk").c_str(), S_IFBLK | 0600, makedev(7, 300)), 0) << strerror(errno);
  st = Stat(Path("blk"));
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 7u);
  EXPECT_EQ(minor(st.st_rdev), 300u);
  // The raw dev argument is the kernel's 32-bit encoding.
  ASSERT_EQ(syscall(SYS_mknod, Path("raw").c_str(), S_IFCHR | 0600, (5u << 8) | 1u), 0);
  st = Stat(Path("raw"));
  EXPECT_EQ(major(st.st_rdev), 5u);
  EXPECT_EQ(minor(st.st_rdev), 1u);
}

TEST_P(Mknod, DeviceNodesWithoutCapMknodAreEperm) {
  RunInChild([&] {
    husk_test::Caps caps = husk_test::GetCaps();
    caps.effective &= ~(1ULL << CAP_MKNOD);
    ASSERT_EQ(husk_test::SetCaps(caps), 0) << strerror(errno);
    EXPECT_FAILS_WITH(mknod(Path("c").c_str(), S_IFCHR | 0600, makedev(1, 3)), EPERM);
    EXPECT_FAILS_WITH(mknod(Path("b").c_str(), S_IFBLK | 0600, makedev(7, 0)), EPERM);
    // A whiteout (0:0) needs no privilege (Linux 5.8 on).
    EXPECT_EQ(mknod(Path("whiteout").c_str(), S_IFCHR | 0600, 0), 0) << strerror(errno);
    // FIFOs and sockets never did.
    EXPECT_EQ(mknod(Path("p").c_str(), S_IFIFO | 0600, 0), 0) << strerror(errno);
  });
}

TEST_P(Mknod, BadTypes) {
  EXPECT_FAILS_WITH(mknod(Path("d").c_str(), S_IFDIR | 0755, 0), EPERM);
  EXPECT_FAILS_WITH(mknod(Path("l").c_str(), S_IFLNK | 0777, 0), EINVAL);
  EXPECT_FAILS_WITH(mknod(Path("x").c_str(), 0170000 | 0644, 0), EINVAL);
  EXPECT_FAILS_WITH(mknod(Path("y").c_str(), 0030000 | 0644, 0), EINVAL);
  // The type is checked before the path is read.
  EXPECT_FAILS_WITH(syscall(SYS_mknod, BadPtr(), S_IFLNK | 0777, 0), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_mknod, BadPtr(), S_IFDIR | 0777, 0), EPERM);
}

TEST_P(Mknod, AnExistingNameIsEexist) {
  ASSERT_EQ(mkfifo(Path("f").c_str(), 0600), 0);
  ASSERT_EQ(mkdir(Path("d").c_str(), 0755), 0);
  ASSERT_EQ(symlink("missing", Path("dangling").c_str()), 0);
  EXPECT_FAILS_WITH(mknod(Path("f").c_str(), S_IFIFO | 0600, 0), EEXIST);
  EXPECT_FAILS_WITH(mknod(Path("d").c_str(), S_IFREG | 0600, 0), EEXIST);
  EXPECT_FAILS_WITH(mknod(Path("dangling").c_str(), S_IFREG | 0600, 0), EEXIST);
  EXPECT_FAILS_WITH(mknod(Path("d/.").c_str(), S_IFREG | 0600, 0), EEXIST);
  EXPECT_FAILS_WITH(mknod("/", S_IFREG | 0600, 0), EEXIST);
}

TEST_P(Mknod, PathErrors) {
  ASSERT_EQ(mknod(Path("file").c_str(), S_IFREG | 0600, 0), 0);
  EXPECT_FAILS_WITH(mknod(Path("nodir/f").c_str(), S_IFREG | 0600, 0), ENOENT);
  EXPECT_FAILS_WITH(mknod("", S_IFREG | 0600, 0), ENOENT);
  EXPECT_FAILS_WITH(mknod(Path("new/").c_str(), S_IFIFO | 0600, 0), ENOENT);
  EXPECT_FAILS_WITH(mknod(Path("file/f").c_str(), S_IFREG | 0600, 0), ENOTDIR);
  EXPECT_FAILS_WITH(mknod(Path(std::string(256, 'n')).c_str(), S_IFREG | 0600, 0), ENAMETOOLONG);
  EXPECT_FAILS_WITH(mknod(std::string(5000, 'x').c_str(), S_IFREG | 0600, 0), ENAMETOOLONG);
  EXPECT_FAILS_WITH(syscall(SYS_mknod, BadPtr(), S_IFREG | 0600, 0), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_mknodat, AT_FDCWD, BadPtr(), S_IFIFO | 0600, 0), EFAULT);
}

TEST_P(Mknod, MknodatWithDirectoryFds) {
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  ASSERT_EQ(mknodat(dir, "p", S_IFIFO | 0600, 0), 0) << strerror(errno);
  EXPECT_TRUE(S_ISFIFO(Stat(Path("p")).st_mode));
  EXPECT_FAILS_WITH(mknodat(husk_test::ClosedFd(), "q", S_IFIFO | 0600, 0), EBADF);
  int file = open(Path("p").c_str(), O_PATH);
  ASSERT_GE(file, 0);
  EXPECT_FAILS_WITH(mknodat(file, "q", S_IFIFO | 0600, 0), ENOTDIR);
  // An absolute path ignores the dirfd.
  EXPECT_EQ(mknodat(file, Path("q").c_str(), S_IFIFO | 0600, 0), 0);
  close(file);
  close(dir);
}

TEST_P(Mknod, NeedsWriteAndSearchPermission) {
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Path("noexec").c_str(), 0777), 0);
  ASSERT_EQ(mkfifo(Path("noexec/f").c_str(), 0600), 0);
  ASSERT_EQ(chmod(Path("noexec").c_str(), 0666), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    EXPECT_FAILS_WITH(mknod(Path("f").c_str(), S_IFIFO | 0600, 0), EACCES);
    EXPECT_FAILS_WITH(mknod(Path("noexec/g").c_str(), S_IFIFO | 0600, 0), EACCES);
    EXPECT_FAILS_WITH(mknod(Path("noexec/f").c_str(), S_IFIFO | 0600, 0), EACCES);
  });
}

INSTANTIATE_TEST_SUITE_P(, Mknod, ::testing::Values("/tmp", "/dev/shm"), husk_test::ScratchName);

}  // namespace
