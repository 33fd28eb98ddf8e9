// Compatibility tests for file I/O syscalls: read, write, pread64, pwrite64,
// readv, writev, lseek, close, dup, dup2, dup3 and fcntl.
//
// Linux (the host kernel) is the specification: every test here must pass
// natively. All files are created under a fresh mkdtemp() directory in /tmp.

#include <gtest/gtest.h>

#include "test_util.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;

class FileIo : public husk_test::TempDirTest {
 protected:
  // Creates `name` holding `contents` and returns its path.
  std::string MakeFile(const std::string& name, const std::string& contents) {
    std::string p = Path(name);
    int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EXPECT_GE(fd, 0) << strerror(errno);
    if (!contents.empty()) {
      EXPECT_EQ(write(fd, contents.data(), contents.size()),
                static_cast<ssize_t>(contents.size()));
    }
    close(fd);
    return p;
  }

  // Reads the whole file at `p` with pread.
  std::string Contents(const std::string& p) {
    int fd = open(p.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << strerror(errno);
    std::string out;
    char buf[256];
    off_t off = 0;
    for (;;) {
      ssize_t n = pread(fd, buf, sizeof buf, off);
      EXPECT_GE(n, 0) << strerror(errno);
      if (n <= 0) break;
      out.append(buf, n);
      off += n;
    }
    close(fd);
    return out;
  }
};

// ---------------------------------------------------------------- read(2)

using Read = FileIo;

TEST_F(Read, ReturnsFileContents) {
  std::string p = MakeFile("f", "hello world");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[32] = {};
  EXPECT_EQ(read(fd, buf, 11), 11);
  EXPECT_STREQ(buf, "hello world");
  close(fd);
}

TEST_F(Read, AdvancesFileOffset) {
  std::string p = MakeFile("f", "abcdef");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[4] = {};
  ASSERT_EQ(read(fd, buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "ab");
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 2);
  ASSERT_EQ(read(fd, buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "cd");
  close(fd);
}

TEST_F(Read, PartialReadAtEofThenZero) {
  std::string p = MakeFile("f", "12345");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[16];
  EXPECT_EQ(read(fd, buf, sizeof buf), 5);
  EXPECT_EQ(read(fd, buf, sizeof buf), 0);
  EXPECT_EQ(read(fd, buf, sizeof buf), 0);
  close(fd);
}

TEST_F(Read, EmptyFileReturnsZero) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[4];
  EXPECT_EQ(read(fd, buf, sizeof buf), 0);
  close(fd);
}

TEST_F(Read, ZeroCountReturnsZeroAndKeepsOffset) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[4];
  EXPECT_EQ(read(fd, buf, 0), 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
  close(fd);
}

TEST_F(Read, ZeroCountWithBadBufferReturnsZero) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(read(fd, BadPtr(), 0), 0);
  close(fd);
}

TEST_F(Read, AfterSeekPastEofReturnsZero) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 100, SEEK_SET), 100);
  char buf[4];
  EXPECT_EQ(read(fd, buf, sizeof buf), 0);
  close(fd);
}

TEST(ReadFd, ClosedFdIsEbadf) {
  char buf[4];
  errno = 0;
  EXPECT_EQ(read(ClosedFd(), buf, sizeof buf), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(ReadFd, NegativeFdIsEbadf) {
  char buf[4];
  errno = 0;
  EXPECT_EQ(read(-1, buf, sizeof buf), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Read, WriteOnlyFdIsEbadf) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  char buf[4];
  errno = 0;
  EXPECT_EQ(read(fd, buf, sizeof buf), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

TEST_F(Read, BadBufferIsEfault) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(read(fd, BadPtr(), 3), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

TEST_F(Read, DirectoryIsEisdir) {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  char buf[16];
  errno = 0;
  EXPECT_EQ(read(fd, buf, sizeof buf), -1);
  EXPECT_EQ(errno, EISDIR);
  close(fd);
}

TEST_F(Read, NonblockOnRegularFileReadsNormally) {
  std::string p = MakeFile("f", "xyz");
  int fd = open(p.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  char buf[8];
  EXPECT_EQ(read(fd, buf, sizeof buf), 3);
  EXPECT_EQ(read(fd, buf, sizeof buf), 0);
  close(fd);
}

TEST(ReadDev, DevNullReturnsEof) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[16];
  EXPECT_EQ(read(fd, buf, sizeof buf), 0);
  close(fd);
}

TEST(ReadDev, DevZeroFillsBufferWithZeros) {
  int fd = open("/dev/zero", O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[8192];
  memset(buf, 0x5a, sizeof buf);
  EXPECT_EQ(read(fd, buf, sizeof buf), static_cast<ssize_t>(sizeof buf));
  for (char c : buf) ASSERT_EQ(c, 0);
  close(fd);
}

// ---------------------------------------------------------------- write(2)

using Write = FileIo;

TEST_F(Write, WritesDataAndAdvancesOffset) {
  std::string p = Path("f");
  int fd = open(p.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(write(fd, "hello", 5), 5);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 5);
  EXPECT_EQ(write(fd, " world", 6), 6);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 11);
  close(fd);
  EXPECT_EQ(Contents(p), "hello world");
}

TEST_F(Write, OverwritesInPlace) {
  std::string p = MakeFile("f", "abcdef");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 2, SEEK_SET), 2);
  EXPECT_EQ(write(fd, "XY", 2), 2);
  close(fd);
  EXPECT_EQ(Contents(p), "abXYef");
}

TEST_F(Write, PastEofLeavesZeroFilledGap) {
  std::string p = MakeFile("f", "ab");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 10, SEEK_SET), 10);
  EXPECT_EQ(write(fd, "z", 1), 1);
  close(fd);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 11);
  EXPECT_EQ(Contents(p), std::string("ab") + std::string(8, '\0') + "z");
}

TEST_F(Write, ZeroCountReturnsZeroAndDoesNotChangeFile) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(write(fd, "", 0), 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
  close(fd);
  EXPECT_EQ(Contents(p), "abc");
}

TEST_F(Write, AppendModeWritesAtEndRegardlessOfOffset) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDWR | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  EXPECT_EQ(write(fd, "de", 2), 2);
  // The offset is left at the new end of file.
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 5);
  ASSERT_EQ(lseek(fd, 1, SEEK_SET), 1);
  EXPECT_EQ(write(fd, "f", 1), 1);
  close(fd);
  EXPECT_EQ(Contents(p), "abcdef");
}

TEST_F(Write, AppendModeFdsSharingFileBothAppend) {
  std::string p = MakeFile("f", "");
  int a = open(p.c_str(), O_WRONLY | O_APPEND);
  int b = open(p.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(write(a, "11", 2), 2);
  EXPECT_EQ(write(b, "22", 2), 2);
  EXPECT_EQ(write(a, "33", 2), 2);
  close(a);
  close(b);
  EXPECT_EQ(Contents(p), "112233");
}

TEST_F(Write, OTruncEmptiesExistingFile) {
  std::string p = MakeFile("f", "some data");
  int fd = open(p.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 0);
  close(fd);
}

TEST(WriteFd, ClosedFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(write(ClosedFd(), "x", 1), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(WriteFd, NegativeFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(write(-1, "x", 1), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Write, ReadOnlyFdIsEbadf) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(write(fd, "x", 1), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
  EXPECT_EQ(Contents(p), "abc");
}

TEST_F(Write, BadBufferIsEfault) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(write(fd, BadPtr(), 3), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

TEST(WriteDev, DevNullAcceptsAndDiscards) {
  int fd = open("/dev/null", O_WRONLY);
  ASSERT_GE(fd, 0);
  char buf[8192];
  memset(buf, 'a', sizeof buf);
  EXPECT_EQ(write(fd, buf, sizeof buf), static_cast<ssize_t>(sizeof buf));
  close(fd);
}

TEST(WriteDev, DevZeroAcceptsAndDiscards) {
  int fd = open("/dev/zero", O_WRONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(write(fd, "abc", 3), 3);
  close(fd);
}

// -------------------------------------------------------------- pread64(2)

using Pread64 = FileIo;

TEST_F(Pread64, ReadsAtOffsetWithoutMovingFileOffset) {
  std::string p = MakeFile("f", "0123456789");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 1, SEEK_SET), 1);
  char buf[4] = {};
  EXPECT_EQ(pread(fd, buf, 3, 5), 3);
  EXPECT_EQ(std::string(buf, 3), "567");
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 1);
  close(fd);
}

TEST_F(Pread64, PartialAtEof) {
  std::string p = MakeFile("f", "0123456789");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[16];
  EXPECT_EQ(pread(fd, buf, sizeof buf, 7), 3);
  close(fd);
}

TEST_F(Pread64, AtOrPastEofReturnsZero) {
  std::string p = MakeFile("f", "0123456789");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[4];
  EXPECT_EQ(pread(fd, buf, sizeof buf, 10), 0);
  EXPECT_EQ(pread(fd, buf, sizeof buf, 1000000), 0);
  close(fd);
}

TEST_F(Pread64, NegativeOffsetIsEinval) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[4];
  errno = 0;
  EXPECT_EQ(syscall(SYS_pread64, fd, buf, sizeof buf, -1L), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST(Pread64Fd, ClosedFdIsEbadf) {
  char buf[4];
  errno = 0;
  EXPECT_EQ(pread(ClosedFd(), buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Pread64, WriteOnlyFdIsEbadf) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  char buf[4];
  errno = 0;
  EXPECT_EQ(pread(fd, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

TEST_F(Pread64, BadBufferIsEfault) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(pread(fd, BadPtr(), 3, 0), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

TEST_F(Pread64, DirectoryIsEisdir) {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  char buf[16];
  errno = 0;
  EXPECT_EQ(pread(fd, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EISDIR);
  close(fd);
}

// ------------------------------------------------------------- pwrite64(2)

using Pwrite64 = FileIo;

TEST_F(Pwrite64, WritesAtOffsetWithoutMovingFileOffset) {
  std::string p = MakeFile("f", "0123456789");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 2, SEEK_SET), 2);
  EXPECT_EQ(pwrite(fd, "ab", 2, 6), 2);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 2);
  close(fd);
  EXPECT_EQ(Contents(p), "012345ab89");
}

TEST_F(Pwrite64, PastEofExtendsFileWithZeros) {
  std::string p = MakeFile("f", "ab");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(pwrite(fd, "cd", 2, 5), 2);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
  close(fd);
  EXPECT_EQ(Contents(p), std::string("ab\0\0\0cd", 7));
}

// Linux-specific (see BUGS in pwrite(2)): with O_APPEND, pwrite appends
// regardless of the offset argument, and leaves the file offset alone.
TEST_F(Pwrite64, AppendModeAppendsRegardlessOfOffset) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(pwrite(fd, "XY", 2, 0), 2);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
  close(fd);
  EXPECT_EQ(Contents(p), "abcXY");
}

TEST_F(Pwrite64, NegativeOffsetIsEinval) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(syscall(SYS_pwrite64, fd, "x", 1, -1L), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
  EXPECT_EQ(Contents(p), "abc");
}

TEST(Pwrite64Fd, ClosedFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(pwrite(ClosedFd(), "x", 1, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Pwrite64, ReadOnlyFdIsEbadf) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(pwrite(fd, "x", 1, 0), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

TEST_F(Pwrite64, BadBufferIsEfault) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(pwrite(fd, BadPtr(), 3, 0), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

// ---------------------------------------------------------------- readv(2)

using Readv = FileIo;

TEST_F(Readv, ScattersIntoBuffersInOrder) {
  std::string p = MakeFile("f", "abcdefghij");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char a[3], b[4], c[3];
  iovec iov[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
  EXPECT_EQ(readv(fd, iov, 3), 10);
  EXPECT_EQ(std::string(a, 3), "abc");
  EXPECT_EQ(std::string(b, 4), "defg");
  EXPECT_EQ(std::string(c, 3), "hij");
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 10);
  close(fd);
}

TEST_F(Readv, ZeroLengthIovecsAreSkipped) {
  std::string p = MakeFile("f", "abcd");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char a[2], b[2];
  // A zero-length entry may even carry a bad base pointer.
  iovec iov[4] = {{BadPtr(), 0}, {a, 2}, {nullptr, 0}, {b, 2}};
  EXPECT_EQ(readv(fd, iov, 4), 4);
  EXPECT_EQ(std::string(a, 2), "ab");
  EXPECT_EQ(std::string(b, 2), "cd");
  close(fd);
}

TEST_F(Readv, ZeroIovcntReturnsZero) {
  std::string p = MakeFile("f", "abcd");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  iovec iov[1];
  EXPECT_EQ(readv(fd, iov, 0), 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
  close(fd);
}

TEST_F(Readv, PartialReadAtEofFillsFirstBuffersOnly) {
  std::string p = MakeFile("f", "abcde");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char a[3], b[3] = {'#', '#', '#'}, c[3] = {'#', '#', '#'};
  iovec iov[3] = {{a, 3}, {b, 3}, {c, 3}};
  EXPECT_EQ(readv(fd, iov, 3), 5);
  EXPECT_EQ(std::string(a, 3), "abc");
  EXPECT_EQ(std::string(b, 3), "de#");
  EXPECT_EQ(std::string(c, 3), "###");
  EXPECT_EQ(readv(fd, iov, 3), 0);
  close(fd);
}

TEST_F(Readv, IovcntEqualToIovMaxIsAccepted) {
  std::string data(IOV_MAX, 'q');
  std::string p = MakeFile("f", data);
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<char> buf(IOV_MAX);
  std::vector<iovec> iov(IOV_MAX);
  for (int i = 0; i < IOV_MAX; i++) iov[i] = {&buf[i], 1};
  EXPECT_EQ(readv(fd, iov.data(), IOV_MAX), IOV_MAX);
  EXPECT_EQ(std::string(buf.begin(), buf.end()), data);
  close(fd);
}

TEST_F(Readv, IovcntAboveIovMaxIsEinval) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char c;
  std::vector<iovec> iov(IOV_MAX + 1, iovec{&c, 1});
  errno = 0;
  EXPECT_EQ(readv(fd, iov.data(), IOV_MAX + 1), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST_F(Readv, NegativeIovcntIsEinval) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char c;
  iovec iov[1] = {{&c, 1}};
  errno = 0;
  EXPECT_EQ(syscall(SYS_readv, fd, iov, -1L), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST_F(Readv, IovLenAboveSsizeMaxIsEinval) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char c;
  iovec iov[1] = {{&c, static_cast<size_t>(SSIZE_MAX) + 1}};
  errno = 0;
  EXPECT_EQ(readv(fd, iov, 1), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST_F(Readv, BadIovecArrayIsEfault) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(readv(fd, static_cast<iovec*>(BadPtr()), 1), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

TEST_F(Readv, BadIovBaseIsEfault) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  iovec iov[1] = {{BadPtr(), 3}};
  errno = 0;
  EXPECT_EQ(readv(fd, iov, 1), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

TEST(ReadvFd, ClosedFdIsEbadf) {
  char c;
  iovec iov[1] = {{&c, 1}};
  errno = 0;
  EXPECT_EQ(readv(ClosedFd(), iov, 1), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Readv, WriteOnlyFdIsEbadf) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  char c;
  iovec iov[1] = {{&c, 1}};
  errno = 0;
  EXPECT_EQ(readv(fd, iov, 1), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

TEST_F(Readv, DirectoryIsEisdir) {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  char c[8];
  iovec iov[1] = {{c, sizeof c}};
  errno = 0;
  EXPECT_EQ(readv(fd, iov, 1), -1);
  EXPECT_EQ(errno, EISDIR);
  close(fd);
}

// --------------------------------------------------------------- writev(2)

using Writev = FileIo;

TEST_F(Writev, GathersBuffersInOrder) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  char a[] = "abc", b[] = "de", c[] = "fghi";
  iovec iov[3] = {{a, 3}, {b, 2}, {c, 4}};
  EXPECT_EQ(writev(fd, iov, 3), 9);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 9);
  close(fd);
  EXPECT_EQ(Contents(p), "abcdefghi");
}

TEST_F(Writev, ZeroLengthIovecsAreSkipped) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  char a[] = "ab", b[] = "cd";
  iovec iov[4] = {{nullptr, 0}, {a, 2}, {BadPtr(), 0}, {b, 2}};
  EXPECT_EQ(writev(fd, iov, 4), 4);
  close(fd);
  EXPECT_EQ(Contents(p), "abcd");
}

TEST_F(Writev, ZeroIovcntReturnsZero) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  iovec iov[1];
  EXPECT_EQ(writev(fd, iov, 0), 0);
  close(fd);
  EXPECT_EQ(Contents(p), "");
}

TEST_F(Writev, AppendModeWritesAtEnd) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  char a[] = "d", b[] = "e";
  iovec iov[2] = {{a, 1}, {b, 1}};
  EXPECT_EQ(writev(fd, iov, 2), 2);
  close(fd);
  EXPECT_EQ(Contents(p), "abcde");
}

TEST_F(Writev, IovcntAboveIovMaxIsEinval) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  char c = 'x';
  std::vector<iovec> iov(IOV_MAX + 1, iovec{&c, 1});
  errno = 0;
  EXPECT_EQ(writev(fd, iov.data(), IOV_MAX + 1), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
  EXPECT_EQ(Contents(p), "");
}

TEST_F(Writev, NegativeIovcntIsEinval) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  char c = 'x';
  iovec iov[1] = {{&c, 1}};
  errno = 0;
  EXPECT_EQ(syscall(SYS_writev, fd, iov, -1L), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST_F(Writev, BadIovecArrayIsEfault) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(writev(fd, static_cast<iovec*>(BadPtr()), 1), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

TEST_F(Writev, BadIovBaseIsEfault) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  iovec iov[1] = {{BadPtr(), 3}};
  errno = 0;
  EXPECT_EQ(writev(fd, iov, 1), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

TEST(WritevFd, ClosedFdIsEbadf) {
  char c = 'x';
  iovec iov[1] = {{&c, 1}};
  errno = 0;
  EXPECT_EQ(writev(ClosedFd(), iov, 1), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Writev, ReadOnlyFdIsEbadf) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char c = 'x';
  iovec iov[1] = {{&c, 1}};
  errno = 0;
  EXPECT_EQ(writev(fd, iov, 1), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

// ---------------------------------------------------------------- lseek(2)

using Lseek = FileIo;

TEST_F(Lseek, SeekSetReturnsNewOffset) {
  std::string p = MakeFile("f", "0123456789");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(lseek(fd, 4, SEEK_SET), 4);
  char c;
  ASSERT_EQ(read(fd, &c, 1), 1);
  EXPECT_EQ(c, '4');
  close(fd);
}

TEST_F(Lseek, SeekCurIsRelativeToCurrentOffset) {
  std::string p = MakeFile("f", "0123456789");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 4, SEEK_SET), 4);
  EXPECT_EQ(lseek(fd, 3, SEEK_CUR), 7);
  EXPECT_EQ(lseek(fd, -2, SEEK_CUR), 5);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 5);
  close(fd);
}

TEST_F(Lseek, SeekEndIsRelativeToFileSize) {
  std::string p = MakeFile("f", "0123456789");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_END), 10);
  EXPECT_EQ(lseek(fd, -3, SEEK_END), 7);
  EXPECT_EQ(lseek(fd, 5, SEEK_END), 15);
  close(fd);
}

TEST_F(Lseek, BeyondEofIsAllowedAndDoesNotGrowFile) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(lseek(fd, 1 << 20, SEEK_SET), 1 << 20);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 3);
  close(fd);
}

TEST_F(Lseek, NegativeResultingOffsetIsEinval) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 2, SEEK_SET), 2);
  errno = 0;
  EXPECT_EQ(lseek(fd, -1, SEEK_SET), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(lseek(fd, -3, SEEK_CUR), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(lseek(fd, -4, SEEK_END), -1);
  EXPECT_EQ(errno, EINVAL);
  // A failed lseek leaves the offset unchanged.
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 2);
  close(fd);
}

TEST_F(Lseek, BadWhenceIsEinval) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(lseek(fd, 0, 5), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(lseek(fd, 0, -1), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST(LseekFd, ClosedFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(lseek(ClosedFd(), 0, SEEK_SET), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Lseek, SeekDataInFullyWrittenFileReturnsOffset) {
  std::string p = MakeFile("f", std::string(100, 'x'));
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_DATA), 0);
  EXPECT_EQ(lseek(fd, 42, SEEK_DATA), 42);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 42);
  close(fd);
}

TEST_F(Lseek, SeekHoleInFullyWrittenFileReturnsSize) {
  std::string p = MakeFile("f", std::string(100, 'x'));
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_HOLE), 100);
  EXPECT_EQ(lseek(fd, 99, SEEK_HOLE), 100);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 100);
  close(fd);
}

TEST_F(Lseek, SeekDataAtOrPastEofIsEnxio) {
  std::string p = MakeFile("f", std::string(100, 'x'));
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(lseek(fd, 100, SEEK_DATA), -1);
  EXPECT_EQ(errno, ENXIO);
  errno = 0;
  EXPECT_EQ(lseek(fd, 5000, SEEK_DATA), -1);
  EXPECT_EQ(errno, ENXIO);
  close(fd);
}

TEST_F(Lseek, SeekHoleAtOrPastEofIsEnxio) {
  std::string p = MakeFile("f", std::string(100, 'x'));
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(lseek(fd, 100, SEEK_HOLE), -1);
  EXPECT_EQ(errno, ENXIO);
  errno = 0;
  EXPECT_EQ(lseek(fd, 5000, SEEK_HOLE), -1);
  EXPECT_EQ(errno, ENXIO);
  close(fd);
}

TEST_F(Lseek, SeekDataOnEmptyFileIsEnxio) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(lseek(fd, 0, SEEK_DATA), -1);
  EXPECT_EQ(errno, ENXIO);
  close(fd);
}

TEST_F(Lseek, SeekDataWithNegativeOffsetIsEnxio) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(lseek(fd, -1, SEEK_DATA), -1);
  EXPECT_EQ(errno, ENXIO);
  close(fd);
}

TEST_F(Lseek, SharedBetweenDupedFds) {
  std::string p = MakeFile("f", "0123456789");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int fd2 = dup(fd);
  ASSERT_GE(fd2, 0);
  ASSERT_EQ(lseek(fd, 6, SEEK_SET), 6);
  EXPECT_EQ(lseek(fd2, 0, SEEK_CUR), 6);
  close(fd);
  close(fd2);
}

TEST_F(Lseek, IndependentBetweenSeparateOpens) {
  std::string p = MakeFile("f", "0123456789");
  int a = open(p.c_str(), O_RDONLY);
  int b = open(p.c_str(), O_RDONLY);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_EQ(lseek(a, 6, SEEK_SET), 6);
  EXPECT_EQ(lseek(b, 0, SEEK_CUR), 0);
  close(a);
  close(b);
}

TEST(LseekDev, DevNullAlwaysReturnsZero) {
  int fd = open("/dev/null", O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(lseek(fd, 100, SEEK_SET), 0);
  EXPECT_EQ(lseek(fd, 5, SEEK_CUR), 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_END), 0);
  close(fd);
}

// ---------------------------------------------------------------- close(2)

TEST(Close, ClosedFdBecomesInvalid) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(close(fd), 0);
  errno = 0;
  EXPECT_EQ(fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(Close, DoubleCloseIsEbadf) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(close(fd), 0);
  errno = 0;
  EXPECT_EQ(close(fd), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(Close, NegativeFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(close(-1), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(Close, HugeFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(close(INT_MAX), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(Close, FreedNumberIsReusedByNextOpen) {
  int a = open("/dev/null", O_RDONLY);
  int b = open("/dev/null", O_RDONLY);
  ASSERT_GE(a, 0);
  ASSERT_GT(b, a);
  ASSERT_EQ(close(a), 0);
  int c = open("/dev/null", O_RDONLY);
  EXPECT_EQ(c, a);
  close(b);
  close(c);
}

// ------------------------------------------------------------------ dup(2)

using Dup = FileIo;

TEST(DupFd, ReturnsLowestFreeFd) {
  int a = open("/dev/null", O_RDONLY);
  int b = open("/dev/null", O_RDONLY);
  ASSERT_GE(a, 0);
  ASSERT_GT(b, a);
  close(a);
  int d = dup(b);
  EXPECT_EQ(d, a);
  close(b);
  close(d);
}

TEST_F(Dup, SharesFileOffsetAndFlags) {
  std::string p = MakeFile("f", "0123456789");
  int fd = open(p.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  int d = dup(fd);
  ASSERT_GE(d, 0);
  char c;
  ASSERT_EQ(read(fd, &c, 1), 1);
  ASSERT_EQ(read(d, &c, 1), 1);
  EXPECT_EQ(c, '1');
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 2);
  // Status flags live on the open file description.
  ASSERT_EQ(fcntl(d, F_SETFL, 0), 0);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  close(fd);
  close(d);
}

TEST(DupFd, DoesNotCopyCloexec) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  int d = dup(fd);
  ASSERT_GE(d, 0);
  EXPECT_EQ(fcntl(d, F_GETFD), 0);
  close(fd);
  close(d);
}

TEST(DupFd, ClosingOriginalKeepsDuplicateUsable) {
  int fd = open("/dev/zero", O_RDONLY);
  ASSERT_GE(fd, 0);
  int d = dup(fd);
  ASSERT_GE(d, 0);
  close(fd);
  char c = 1;
  EXPECT_EQ(read(d, &c, 1), 1);
  EXPECT_EQ(c, 0);
  close(d);
}

TEST(DupFd, ClosedFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(dup(ClosedFd()), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(DupFd, NegativeFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(dup(-1), -1);
  EXPECT_EQ(errno, EBADF);
}

// ----------------------------------------------------------------- dup2(2)

using Dup2 = FileIo;

// Raw syscalls: glibc may special-case dup2(fd, fd) on some architectures.
#ifdef SYS_dup2
TEST(Dup2Fd, SameValidFdReturnsItUnchanged) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(syscall(SYS_dup2, fd, fd), fd);
  // dup2(fd, fd) does nothing, so FD_CLOEXEC stays set.
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST(Dup2Fd, SameInvalidFdIsEbadf) {
  int fd = ClosedFd();
  errno = 0;
  EXPECT_EQ(syscall(SYS_dup2, fd, fd), -1);
  EXPECT_EQ(errno, EBADF);
}
#endif

TEST(Dup2Fd, ToUnusedNumberOpensIt) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  int target = 200;
  ASSERT_EQ(fcntl(target, F_GETFD), -1);
  EXPECT_EQ(dup2(fd, target), target);
  EXPECT_EQ(fcntl(target, F_GETFD), 0);
  close(fd);
  close(target);
}

TEST_F(Dup2, ReplacesOpenTargetFd) {
  std::string pa = MakeFile("a", "AAAA");
  std::string pb = MakeFile("b", "BBBB");
  int a = open(pa.c_str(), O_RDONLY);
  int b = open(pb.c_str(), O_RDONLY);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(dup2(a, b), b);
  char c;
  ASSERT_EQ(read(b, &c, 1), 1);
  EXPECT_EQ(c, 'A');
  close(a);
  close(b);
}

TEST(Dup2Fd, ClearsCloexecOnNewFd) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int target = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_GE(target, 0);
  EXPECT_EQ(dup2(fd, target), target);
  EXPECT_EQ(fcntl(target, F_GETFD), 0);
  close(fd);
  close(target);
}

TEST(Dup2Fd, BadOldFdIsEbadfAndLeavesNewFdOpen) {
  int target = open("/dev/null", O_RDONLY);
  ASSERT_GE(target, 0);
  errno = 0;
  EXPECT_EQ(dup2(ClosedFd(), target), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(fcntl(target, F_GETFD), 0);
  close(target);
}

TEST(Dup2Fd, NegativeNewFdIsEbadf) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(dup2(fd, -1), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

TEST(Dup2Fd, NewFdAtRlimitNofileIsEbadf) {
  rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  ASSERT_LT(rl.rlim_cur, static_cast<rlim_t>(INT_MAX));
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(dup2(fd, static_cast<int>(rl.rlim_cur)), -1);
  EXPECT_EQ(errno, EBADF);
  // One below the limit is fine.
  int top = static_cast<int>(rl.rlim_cur) - 1;
  EXPECT_EQ(dup2(fd, top), top);
  close(top);
  close(fd);
}

// ----------------------------------------------------------------- dup3(2)

TEST(Dup3, SameFdIsEinval) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(syscall(SYS_dup3, fd, fd, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(syscall(SYS_dup3, fd, fd, O_CLOEXEC), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST(Dup3, BadFlagsIsEinval) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(syscall(SYS_dup3, fd, 100, O_NONBLOCK), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(syscall(SYS_dup3, fd, 100, 1), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(fcntl(100, F_GETFD), -1);
  close(fd);
}

TEST(Dup3, CloexecFlagSetsFdCloexec) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(syscall(SYS_dup3, fd, 100, O_CLOEXEC), 100);
  EXPECT_EQ(fcntl(100, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(100);
  close(fd);
}

TEST(Dup3, NoFlagsClearsCloexec) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int target = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_GE(target, 0);
  EXPECT_EQ(syscall(SYS_dup3, fd, target, 0), target);
  EXPECT_EQ(fcntl(target, F_GETFD), 0);
  close(fd);
  close(target);
}

TEST(Dup3, BadOldFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(syscall(SYS_dup3, ClosedFd(), 100, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(Dup3, NewFdOutOfRangeIsEbadf) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  errno = 0;
  EXPECT_EQ(syscall(SYS_dup3, fd, -1, 0), -1);
  EXPECT_EQ(errno, EBADF);
  errno = 0;
  EXPECT_EQ(syscall(SYS_dup3, fd, static_cast<int>(rl.rlim_cur), 0), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

// ---------------------------------------------------------------- fcntl(2)

using Fcntl = FileIo;

TEST(FcntlFd, GetFdIsZeroByDefault) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(fd);
}

TEST(FcntlFd, GetFdReportsOCloexec) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST(FcntlFd, SetFdRoundTrips) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(fd, F_SETFD, 0), 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(fd);
}

TEST(FcntlFd, SetFdIgnoresUnknownBits) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_SETFD, 0xfe), 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  EXPECT_EQ(fcntl(fd, F_SETFD, 0xff), 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST_F(Fcntl, GetFlReportsAccessModeAndStatusFlags) {
  std::string p = MakeFile("f", "");
  int ro = open(p.c_str(), O_RDONLY);
  int wo = open(p.c_str(), O_WRONLY | O_APPEND);
  int rw = open(p.c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(ro, 0);
  ASSERT_GE(wo, 0);
  ASSERT_GE(rw, 0);
  EXPECT_EQ(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(fcntl(wo, F_GETFL) & O_ACCMODE, O_WRONLY);
  EXPECT_EQ(fcntl(rw, F_GETFL) & O_ACCMODE, O_RDWR);
  EXPECT_NE(fcntl(wo, F_GETFL) & O_APPEND, 0);
  EXPECT_EQ(fcntl(ro, F_GETFL) & O_APPEND, 0);
  EXPECT_NE(fcntl(rw, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(fcntl(ro, F_GETFL) & O_NONBLOCK, 0);
  close(ro);
  close(wo);
  close(rw);
}

TEST_F(Fcntl, GetFlOmitsCreationFlagsAndCloexec) {
  std::string p = Path("f");
  int fd = open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  int fl = fcntl(fd, F_GETFL);
  EXPECT_EQ(fl & (O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC), 0);
  close(fd);
}

#if defined(__x86_64__)
// On 64-bit kernels open() always adds O_LARGEFILE (0100000 on x86-64), and
// F_GETFL reports it even though glibc defines O_LARGEFILE as 0 there.
TEST(FcntlFd, GetFlIncludesKernelLargefileFlag) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GETFL), 0100000);
  close(fd);
}
#endif

TEST_F(Fcntl, SetFlAppendTakesEffect) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fcntl(fd, F_SETFL, O_APPEND), 0);
  EXPECT_NE(fcntl(fd, F_GETFL) & O_APPEND, 0);
  EXPECT_EQ(write(fd, "d", 1), 1);
  ASSERT_EQ(fcntl(fd, F_SETFL, 0), 0);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_APPEND, 0);
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  EXPECT_EQ(write(fd, "X", 1), 1);
  close(fd);
  EXPECT_EQ(Contents(p), "Xbcd");
}

TEST(FcntlFd, SetFlNonblockRoundTrips) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  EXPECT_NE(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  ASSERT_EQ(fcntl(fd, F_SETFL, 0), 0);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  close(fd);
}

TEST_F(Fcntl, SetFlIgnoresAccessModeBits) {
  std::string p = MakeFile("f", "");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK), 0);
  int fl = fcntl(fd, F_GETFL);
  EXPECT_EQ(fl & O_ACCMODE, O_RDONLY);
  EXPECT_NE(fl & O_NONBLOCK, 0);
  errno = 0;
  EXPECT_EQ(write(fd, "x", 1), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

TEST_F(Fcntl, SetFlIgnoresCreationFlags) {
  std::string p = MakeFile("f", "keep");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fcntl(fd, F_SETFL, O_TRUNC | O_CREAT | O_EXCL), 0);
  EXPECT_EQ(fcntl(fd, F_GETFL) & (O_TRUNC | O_CREAT | O_EXCL), 0);
  close(fd);
  EXPECT_EQ(Contents(p), "keep");
}

TEST(FcntlFd, DupfdReturnsLowestFdAtLeastMinimum) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  int d = fcntl(fd, F_DUPFD, 300);
  EXPECT_EQ(d, 300);
  int d2 = fcntl(fd, F_DUPFD, 300);
  EXPECT_EQ(d2, 301);
  close(d);
  int d3 = fcntl(fd, F_DUPFD, 300);
  EXPECT_EQ(d3, 300);
  close(d2);
  close(d3);
  close(fd);
}

TEST(FcntlFd, DupfdZeroMinimumActsLikeDup) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  int expect = dup(fd);
  ASSERT_GE(expect, 0);
  close(expect);
  EXPECT_EQ(fcntl(fd, F_DUPFD, 0), expect);
  close(expect);
  close(fd);
}

TEST(FcntlFd, DupfdClearsCloexec) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  int d = fcntl(fd, F_DUPFD, 0);
  ASSERT_GE(d, 0);
  EXPECT_EQ(fcntl(d, F_GETFD), 0);
  close(d);
  close(fd);
}

TEST(FcntlFd, DupfdCloexecSetsCloexec) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 250);
  EXPECT_EQ(d, 250);
  EXPECT_EQ(fcntl(d, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
  close(d);
  close(fd);
}

TEST(FcntlFd, DupfdAtRlimitNofileIsEinval) {
  rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  ASSERT_LT(rl.rlim_cur, static_cast<rlim_t>(INT_MAX));
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(fcntl(fd, F_DUPFD, static_cast<int>(rl.rlim_cur)), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(fcntl(fd, F_DUPFD_CLOEXEC, static_cast<int>(rl.rlim_cur)), -1);
  EXPECT_EQ(errno, EINVAL);
  // The highest allowed number still works.
  int top = static_cast<int>(rl.rlim_cur) - 1;
  EXPECT_EQ(fcntl(fd, F_DUPFD, top), top);
  close(top);
  close(fd);
}

TEST(FcntlFd, DupfdNegativeMinimumIsEinval) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(fcntl(fd, F_DUPFD, -1), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST(FcntlFd, DupfdSharesOffset) {
  int fd = open("/etc/passwd", O_RDONLY);
  ASSERT_GE(fd, 0);
  int d = fcntl(fd, F_DUPFD, 0);
  ASSERT_GE(d, 0);
  ASSERT_EQ(lseek(fd, 3, SEEK_SET), 3);
  EXPECT_EQ(lseek(d, 0, SEEK_CUR), 3);
  close(d);
  close(fd);
}

TEST(FcntlFd, BadCmdIsEinval) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(syscall(SYS_fcntl, fd, 0x7fffffff, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(syscall(SYS_fcntl, fd, -1, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST(FcntlFd, ClosedFdIsEbadf) {
  int fd = ClosedFd();
  for (int cmd : {F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD, F_DUPFD_CLOEXEC}) {
    errno = 0;
    EXPECT_EQ(fcntl(fd, cmd, 0), -1) << "cmd " << cmd;
    EXPECT_EQ(errno, EBADF) << "cmd " << cmd;
  }
}

TEST(FcntlFd, NegativeFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(fcntl(-1, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
