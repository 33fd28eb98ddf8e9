// creat, getdents (the old struct linux_dirent), preadv2/pwritev2,
// close_range and openat2 with its RESOLVE_* flags.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

#ifndef RWF_ATOMIC
#define RWF_ATOMIC 0x00000040
#endif
#ifndef RWF_NOSIGNAL
#define RWF_NOSIGNAL 0x00000100
#endif

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::RunInChild;

class FileMisc : public husk_test::TempDirTest {
 protected:
  int MakeFile(const char* name, const std::string& data = "") {
    int fd = open(Path(name).c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_GE(fd, 0) << strerror(errno);
    if (!data.empty()) {
      EXPECT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    }
    return fd;
  }
  std::string Contents(const char* name) {
    int fd = open(Path(name).c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n > 0 ? std::string(buf, n) : "";
  }
};

// ---- creat ---------------------------------------------------------------

TEST_F(FileMisc, CreatCreatesTruncatesAndOpensWriteOnly) {
  close(MakeFile("f", "old content"));
  int fd = creat(Path("f").c_str(), 0600);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
  char c;
  EXPECT_FAILS_WITH(read(fd, &c, 1), EBADF);
  EXPECT_EQ(write(fd, "new", 3), 3);
  close(fd);
  EXPECT_EQ(Contents("f"), "new");
  mode_t old = umask(022);
  fd = creat(Path("g").c_str(), 0666);
  umask(old);
  ASSERT_GE(fd, 0);
  struct stat st{};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0644u);
  close(fd);
  EXPECT_FAILS_WITH(creat(Path("missing/f").c_str(), 0644), ENOENT);
  EXPECT_FAILS_WITH(creat(dir_.c_str(), 0644), EISDIR);
}

// ---- getdents --------------------------------------------------------------

struct OldDirent {
  unsigned long d_ino;
  unsigned long d_off;
  unsigned short d_reclen;
  char d_name[1];
};

// name -> d_type of everything getdents reports, read in small batches.
std::map<std::string, unsigned char> ReadOld(int fd, size_t bufsize) {
  std::map<std::string, unsigned char> out;
  alignas(8) char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents, fd, buf, bufsize);
    EXPECT_GE(n, 0) << strerror(errno);
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      auto* d = reinterpret_cast<OldDirent*>(buf + at);
      EXPECT_EQ(d->d_reclen % 8, 0);
      out[d->d_name] = static_cast<unsigned char>(buf[at + d->d_reclen - 1]);
      at += d->d_reclen;
    }
  }
  return out;
}

TEST_F(FileMisc, GetdentsListsNamesAndTypes) {
  close(MakeFile("file"));
  ASSERT_EQ(mkdir(Path("dir").c_str(), 0755), 0);
  ASSERT_EQ(symlink("file", Path("link").c_str()), 0);
  ASSERT_EQ(mkfifo(Path("fifo").c_str(), 0644), 0);
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  auto all = ReadOld(fd, 4096);
  std::map<std::string, unsigned char> want = {{".", DT_DIR},     {"..", DT_DIR},  {"file", DT_REG},
                                               {"dir", DT_DIR},   {"link", DT_LNK}, {"fifo", DT_FIFO}};
  EXPECT_EQ(all, want);
  // One entry at a time, after a rewind.
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  EXPECT_EQ(ReadOld(fd, 32), want);
  close(fd);
}

TEST_F(FileMisc, GetdentsErrors) {
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  char buf[64];
  EXPECT_FAILS_WITH(syscall(SYS_getdents, dir, buf, 10), EINVAL);  // no entry fits
  EXPECT_FAILS_WITH(syscall(SYS_getdents, dir, buf, 0), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_getdents, dir, BadPtr(), 64), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_getdents, ClosedFd(), buf, 64), EBADF);
  int f = MakeFile("f");
  EXPECT_FAILS_WITH(syscall(SYS_getdents, f, buf, 64), ENOTDIR);
  close(f);
  close(dir);
}

// ---- preadv2, pwritev2 --------------------------------------------------------

TEST_F(FileMisc, Preadv2AtAnOffsetOrTheFileOffset) {
  int fd = MakeFile("f", "0123456789");
  char a[3], b[2];
  struct iovec iov[2] = {{a, 3}, {b, 2}};
  ASSERT_EQ(preadv2(fd, iov, 2, 4, 0), 5);
  EXPECT_EQ(std::string(a, 3) + std::string(b, 2), "45678");
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 10);  // a positional read leaves the offset
  ASSERT_EQ(lseek(fd, 1, SEEK_SET), 1);
  ASSERT_EQ(preadv2(fd, iov, 2, -1, 0), 5);  // -1: at and moving the file offset
  EXPECT_EQ(std::string(a, 3) + std::string(b, 2), "12345");
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 6);
  // Flags a regular file takes.
  EXPECT_EQ(preadv2(fd, iov, 1, 0, RWF_HIPRI), 3);
  EXPECT_EQ(preadv2(fd, iov, 1, 0, RWF_SYNC | RWF_DSYNC | RWF_APPEND | RWF_NOSIGNAL), 3);
  close(fd);
}

TEST_F(FileMisc, Pwritev2AppendAndNoappend) {
  int fd = MakeFile("f", "0123456789");
  struct iovec iov = {const_cast<char*>("ab"), 2};
  ASSERT_EQ(pwritev2(fd, &iov, 1, 2, 0), 2);
  EXPECT_EQ(Contents("f"), "01ab456789");
  // RWF_APPEND: at the end, whatever the offset.
  ASSERT_EQ(pwritev2(fd, &iov, 1, 0, RWF_APPEND), 2);
  EXPECT_EQ(Contents("f"), "01ab456789ab");
  close(fd);
  // RWF_NOAPPEND: where asked, even on an O_APPEND file.
  fd = open(Path("f").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwritev2(fd, &iov, 1, 0, RWF_NOAPPEND), 2);
  EXPECT_EQ(Contents("f"), "abab456789ab");
  ASSERT_EQ(pwritev2(fd, &iov, 1, 0, 0), 2);  // pwrite(2)'s bug: O_APPEND wins
  EXPECT_EQ(Contents("f"), "abab456789abab");
  close(fd);
}

TEST_F(FileMisc, Pwritev2AtTheFileOffset) {
  int fd = MakeFile("f", "0123456789");
  ASSERT_EQ(lseek(fd, 3, SEEK_SET), 3);
  struct iovec iov = {const_cast<char*>("xy"), 2};
  ASSERT_EQ(pwritev2(fd, &iov, 1, -1, RWF_DSYNC), 2);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 5);
  EXPECT_EQ(Contents("f"), "012xy56789");
  // RWF_APPEND at the file offset: the end, and the offset follows.
  ASSERT_EQ(pwritev2(fd, &iov, 1, -1, RWF_APPEND | RWF_SYNC), 2);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 12);
  EXPECT_EQ(Contents("f"), "012xy56789xy");
  close(fd);
}

TEST_F(FileMisc, ReadvWritev2Errors) {
  int fd = MakeFile("f", "0123456789");
  char buf[4];
  struct iovec iov = {buf, 4};
  EXPECT_FAILS_WITH(preadv2(fd, &iov, 1, 0, 0x10000000), EOPNOTSUPP);  // unknown flag
  EXPECT_FAILS_WITH(pwritev2(fd, &iov, 1, 0, 0x10000000), EOPNOTSUPP);
  EXPECT_FAILS_WITH(preadv2(fd, &iov, 1, 0, RWF_ATOMIC), EOPNOTSUPP);
  EXPECT_EQ(preadv2(fd, &iov, 0, 0, 0x10000000), 0);  // nothing to do: flags unread
  EXPECT_FAILS_WITH(preadv2(fd, &iov, 1, -2, 0), EINVAL);
  EXPECT_FAILS_WITH(pwritev2(fd, &iov, 1, -2, 0), EINVAL);
  EXPECT_FAILS_WITH(preadv2(ClosedFd(), &iov, 1, 0, 0), EBADF);
  int wo = open(Path("f").c_str(), O_WRONLY);
  ASSERT_GE(wo, 0);
  EXPECT_FAILS_WITH(preadv2(wo, &iov, 1, 0, 0), EBADF);
  close(wo);
  int ro = open(Path("f").c_str(), O_RDONLY);
  ASSERT_GE(ro, 0);
  EXPECT_FAILS_WITH(pwritev2(ro, &iov, 1, 0, 0), EBADF);
  close(ro);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_FAILS_WITH(preadv2(p[0], &iov, 1, 0, 0), ESPIPE);
  EXPECT_FAILS_WITH(pwritev2(p[1], &iov, 1, 0, 0), ESPIPE);
  EXPECT_FAILS_WITH(preadv2(fd, static_cast<struct iovec*>(BadPtr()), 1, 0, 0), EFAULT);
  close(p[0]);
  close(p[1]);
  close(fd);
}

TEST_F(FileMisc, NowaitOnAPipeIsEagainWhenItWouldBlock) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);  // blocking
  char buf[8];
  struct iovec in = {buf, sizeof buf};
  EXPECT_FAILS_WITH(preadv2(p[0], &in, 1, -1, RWF_NOWAIT), EAGAIN);
  struct iovec out = {const_cast<char*>("hi"), 2};
  ASSERT_EQ(pwritev2(p[1], &out, 1, -1, RWF_NOWAIT), 2);
  ASSERT_EQ(preadv2(p[0], &in, 1, -1, RWF_NOWAIT), 2);
  EXPECT_EQ(std::string(buf, 2), "hi");
  close(p[1]);
  EXPECT_EQ(preadv2(p[0], &in, 1, -1, RWF_NOWAIT), 0);  // end of file does not block
  close(p[0]);
}

TEST_F(FileMisc, NosignalWriteToAClosedPipeIsEpipeWithoutSigpipe) {
  RunInChild([] {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    close(p[0]);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, nullptr), 0);
    struct iovec out = {const_cast<char*>("x"), 1};
    EXPECT_FAILS_WITH(pwritev2(p[1], &out, 1, -1, RWF_NOSIGNAL), EPIPE);
    sigset_t pending;
    ASSERT_EQ(sigpending(&pending), 0);
    EXPECT_FALSE(sigismember(&pending, SIGPIPE));
    EXPECT_FAILS_WITH(pwritev2(p[1], &out, 1, -1, 0), EPIPE);
    ASSERT_EQ(sigpending(&pending), 0);
    EXPECT_TRUE(sigismember(&pending, SIGPIPE));
  });
}

// ---- close_range ---------------------------------------------------------------

long CloseRange(unsigned first, unsigned last, unsigned flags) {
  return syscall(SYS_close_range, first, last, flags);
}

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) >= 0; }

TEST_F(FileMisc, CloseRangeClosesTheRange) {
  RunInChild([] {
    for (int fd = 100; fd < 110; ++fd) ASSERT_EQ(dup2(0, fd), fd);
    ASSERT_EQ(CloseRange(102, 105, 0), 0);
    EXPECT_TRUE(IsOpen(101));
    for (int fd = 102; fd <= 105; ++fd) EXPECT_FALSE(IsOpen(fd)) << fd;
    EXPECT_TRUE(IsOpen(106));
    ASSERT_EQ(CloseRange(107, ~0U, 0), 0);  // to the end
    EXPECT_TRUE(IsOpen(106));
    EXPECT_FALSE(IsOpen(109));
    ASSERT_EQ(CloseRange(1000, 2000, 0), 0);  // nothing open there
  });
}

TEST_F(FileMisc, CloseRangeCloexecMarksInstead) {
  RunInChild([] {
    ASSERT_EQ(dup2(0, 100), 100);
    ASSERT_EQ(dup2(0, 101), 101);
    ASSERT_EQ(CloseRange(100, 100, CLOSE_RANGE_CLOEXEC), 0);
    EXPECT_EQ(fcntl(100, F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(fcntl(101, F_GETFD), 0);
  });
}

TEST_F(FileMisc, CloseRangeUnshareLeavesTheSharedTableAlone) {
  RunInChild([] {
    ASSERT_EQ(dup2(0, 100), 100);
    // A child sharing our table (CLONE_FILES) closes fd 100 in a copy.
    alignas(16) static char stack[64 * 1024];
    pid_t pid = clone(
        [](void*) -> int {
          if (CloseRange(100, 100, CLOSE_RANGE_UNSHARE) != 0) return 1;
          return fcntl(100, F_GETFD) < 0 && errno == EBADF ? 0 : 2;
        },
        stack + sizeof stack, CLONE_FILES | SIGCHLD, nullptr);
    ASSERT_GT(pid, 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_TRUE(IsOpen(100));
  });
}

TEST_F(FileMisc, CloseRangeErrors) {
  EXPECT_FAILS_WITH(CloseRange(5, 4, 0), EINVAL);
  EXPECT_FAILS_WITH(CloseRange(100, 200, 8), EINVAL);
}

// ---- openat2 --------------------------------------------------------------------

long Openat2(int dirfd, const char* path, const open_how& how, size_t size = sizeof(open_how)) {
  return syscall(SYS_openat2, dirfd, path, &how, size);
}

class Openat2Test : public FileMisc {
 protected:
  void SetUp() override {
    FileMisc::SetUp();
    close(MakeFile("file", "content"));
    ASSERT_EQ(mkdir(Path("sub").c_str(), 0755), 0);
    ASSERT_EQ(symlink("file", Path("rel").c_str()), 0);
    ASSERT_EQ(symlink(Path("file").c_str(), Path("abs").c_str()), 0);
    ASSERT_EQ(symlink("/file", Path("rootlink").c_str()), 0);
    dir_fd_ = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(dir_fd_, 0);
  }
  void TearDown() override {
    close(dir_fd_);
    FileMisc::TearDown();
  }
  // openat2 from the test directory with `resolve`; the fd or -errno.
  long Open(const char* path, uint64_t resolve, uint64_t flags = O_RDONLY, uint64_t mode = 0) {
    open_how how{};
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    long fd = Openat2(dir_fd_, path, how);
    if (fd < 0) return -errno;
    close(static_cast<int>(fd));
    return fd;
  }
  int dir_fd_ = -1;
};

TEST_F(Openat2Test, OpensLikeOpenat) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  long fd = Openat2(dir_fd_, "file", how);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[16];
  EXPECT_EQ(read(static_cast<int>(fd), buf, sizeof buf), 7);
  EXPECT_EQ(fcntl(static_cast<int>(fd), F_GETFD), FD_CLOEXEC);
  close(static_cast<int>(fd));
  how = {};
  how.flags = O_WRONLY | O_CREAT | O_EXCL;
  how.mode = 0600;
  fd = Openat2(dir_fd_, "new", how);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(static_cast<int>(fd));
  struct stat st{};
  ASSERT_EQ(stat(Path("new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(Openat2Test, TakesALargerStructWithZeroTail) {
  alignas(8) char buf[64] = {};
  reinterpret_cast<open_how*>(buf)->flags = O_RDONLY;
  long fd = syscall(SYS_openat2, dir_fd_, "file", buf, 40);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(static_cast<int>(fd));
  buf[48] = 1;
  EXPECT_FAILS_WITH(syscall(SYS_openat2, dir_fd_, "file", buf, 56), E2BIG);
}

TEST_F(Openat2Test, ChecksEveryArgument) {
  open_how how{};
  EXPECT_FAILS_WITH(Openat2(dir_fd_, "file", how, 23), EINVAL);
  EXPECT_FAILS_WITH(Openat2(dir_fd_, "file", how, 0), EINVAL);
  EXPECT_FAILS_WITH(Openat2(dir_fd_, "file", how, 4097), E2BIG);
  EXPECT_FAILS_WITH(syscall(SYS_openat2, dir_fd_, "file", BadPtr(), sizeof how), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_openat2, dir_fd_, BadPtr(), &how, sizeof how), EFAULT);
  EXPECT_FAILS_WITH(Openat2(dir_fd_, "", how), ENOENT);
  EXPECT_EQ(Open("file", 0, O_RDONLY, 0644), -EINVAL);          // a mode without O_CREAT
  EXPECT_EQ(Open("x", 0, O_CREAT | O_WRONLY, 010000), -EINVAL);  // mode bits beyond 07777
  EXPECT_EQ(Open("file", 0, uint64_t{1} << 40), -EINVAL);        // unknown flags
  EXPECT_EQ(Open("file", 0x40), -EINVAL);                         // unknown resolve flag
  EXPECT_EQ(Open("file", RESOLVE_BENEATH | RESOLVE_IN_ROOT), -EINVAL);
  EXPECT_EQ(Open("file", 0, O_PATH | O_RDWR), -EINVAL);           // O_PATH takes few flags
  EXPECT_EQ(Open("x", 0, O_CREAT | O_DIRECTORY, 0600), -EINVAL);
  EXPECT_EQ(Open(".", 0, O_TMPFILE | O_RDONLY, 0600), -EINVAL);   // O_TMPFILE must write
  EXPECT_EQ(Open(".", 0, 020000000 | O_RDWR, 0600), -EINVAL);     // __O_TMPFILE alone
  EXPECT_EQ(Open("file", RESOLVE_CACHED, O_CREAT | O_WRONLY, 0600), -EAGAIN);
  EXPECT_EQ(Open("file", RESOLVE_CACHED, O_WRONLY | O_TRUNC), -EAGAIN);
  EXPECT_EQ(Contents("file"), "content");
}

TEST_F(Openat2Test, NoSymlinks) {
  EXPECT_GE(Open("file", RESOLVE_NO_SYMLINKS), 0);
  EXPECT_EQ(Open("rel", RESOLVE_NO_SYMLINKS), -ELOOP);
  EXPECT_EQ(Open("abs", RESOLVE_NO_SYMLINKS), -ELOOP);
  ASSERT_EQ(symlink("sub", Path("sublink").c_str()), 0);
  EXPECT_EQ(Open("sublink/.", RESOLVE_NO_SYMLINKS), -ELOOP);  // in the middle too
  EXPECT_GE(Open("rel", RESOLVE_NO_SYMLINKS, O_PATH | O_NOFOLLOW), 0);  // not followed: fine
  EXPECT_EQ(Open("rel", RESOLVE_NO_SYMLINKS, O_CREAT | O_WRONLY, 0600), -ELOOP);
}

TEST_F(Openat2Test, NoMagiclinks) {
  char self_fd[64];
  snprintf(self_fd, sizeof self_fd, "/proc/self/fd/%d", dir_fd_);
  EXPECT_EQ(Open(self_fd, RESOLVE_NO_MAGICLINKS), -ELOOP);
  EXPECT_GE(Open(self_fd, 0), 0);
  EXPECT_GE(Open("/proc/self", RESOLVE_NO_MAGICLINKS), 0);  // an ordinary symlink
  EXPECT_GE(Open("rel", RESOLVE_NO_MAGICLINKS), 0);
  EXPECT_GE(Open(self_fd, RESOLVE_NO_MAGICLINKS, O_PATH | O_NOFOLLOW), 0);
  EXPECT_EQ(Open(self_fd, RESOLVE_NO_SYMLINKS), -ELOOP);
}

TEST_F(Openat2Test, NoXdev) {
  EXPECT_GE(Open("file", RESOLVE_NO_XDEV), 0);
  EXPECT_GE(Open("sub/../file", RESOLVE_NO_XDEV), 0);
  EXPECT_EQ(Open("/proc/self", RESOLVE_NO_XDEV), -EXDEV);  // into another mount
  int proc = open("/proc", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(proc, 0);
  open_how how{};
  how.resolve = RESOLVE_NO_XDEV;
  long fd = Openat2(proc, "self", how);
  EXPECT_GE(fd, 0) << strerror(errno);  // inside it
  if (fd >= 0) close(static_cast<int>(fd));
  EXPECT_FAILS_WITH(Openat2(proc, "..", how), EXDEV);  // out of it
  close(proc);
}

TEST_F(Openat2Test, Beneath) {
  EXPECT_GE(Open("file", RESOLVE_BENEATH), 0);
  EXPECT_GE(Open("sub/../file", RESOLVE_BENEATH), 0);
  EXPECT_GE(Open("rel", RESOLVE_BENEATH), 0);
  EXPECT_EQ(Open("..", RESOLVE_BENEATH), -EXDEV);
  EXPECT_EQ(Open("sub/../..", RESOLVE_BENEATH), -EXDEV);
  EXPECT_EQ(Open(Path("file").c_str(), RESOLVE_BENEATH), -EXDEV);  // absolute
  EXPECT_EQ(Open("abs", RESOLVE_BENEATH), -EXDEV);                 // absolute symlink
  EXPECT_EQ(Open("/", RESOLVE_BENEATH), -EXDEV);
  EXPECT_EQ(Open("/proc/self/fd/0", RESOLVE_BENEATH), -EXDEV);
  EXPECT_EQ(Open("new", RESOLVE_BENEATH, O_CREAT | O_WRONLY, 0600) >= 0, true);
  EXPECT_EQ(Open("../escape", RESOLVE_BENEATH, O_CREAT | O_WRONLY, 0600), -EXDEV);
}

TEST_F(Openat2Test, InRootTreatsTheDirectoryAsRoot) {
  // "/file" and "/.." are the test directory's file and the directory itself.
  EXPECT_GE(Open("/file", RESOLVE_IN_ROOT), 0);
  EXPECT_GE(Open("../../file", RESOLVE_IN_ROOT), 0);
  EXPECT_GE(Open("rootlink", RESOLVE_IN_ROOT), 0);  // -> /file, inside
  EXPECT_EQ(Open("abs", RESOLVE_IN_ROOT), -ENOENT);  // /tmp/... is not inside
  open_how how{};
  how.resolve = RESOLVE_IN_ROOT;
  long fd = Openat2(dir_fd_, "/", how);
  ASSERT_GE(fd, 0);
  struct stat a{}, b{};
  ASSERT_EQ(fstat(static_cast<int>(fd), &a), 0);
  ASSERT_EQ(fstat(dir_fd_, &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  close(static_cast<int>(fd));
  int proc = open("/proc", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(proc, 0);
  EXPECT_FAILS_WITH(Openat2(proc, "self/fd/0", how), EXDEV);  // magic links are not scoped
  close(proc);
}

}  // namespace
