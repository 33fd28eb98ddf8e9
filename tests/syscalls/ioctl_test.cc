// ioctl on non-terminals: terminal requests fail with ENOTTY; the generic
// requests the VFS handles for every file (FIOCLEX, FIONCLEX, FIONBIO,
// FIONREAD on regular files) work.

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

long RawIoctl(int fd, unsigned long req, void* arg) {
  return syscall(SYS_ioctl, fd, req, arg);
}

// A regular file with some content in a fresh /tmp/husk_XXXXXX directory.
class RegularFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/husk_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
    dir_ = tmpl;
    path_ = dir_ + "/file";
    fd_ = open(path_.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
    ASSERT_GE(fd_, 0) << strerror(errno);
    ASSERT_EQ(write(fd_, "0123456789", 10), 10);
    ASSERT_EQ(lseek(fd_, 0, SEEK_SET), 0);
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_, path_;
  int fd_ = -1;
};

TEST_F(RegularFile, TcgetsIsEnotty) {
  struct termios t;
  EXPECT_FAILS_WITH(RawIoctl(fd_, TCGETS, &t), ENOTTY);
}

TEST_F(RegularFile, TiocgwinszIsEnotty) {
  struct winsize ws;
  EXPECT_FAILS_WITH(RawIoctl(fd_, TIOCGWINSZ, &ws), ENOTTY);
}

TEST_F(RegularFile, IsattyIsFalse) {
  errno = 0;
  EXPECT_EQ(isatty(fd_), 0);
  EXPECT_EQ(errno, ENOTTY);
}

TEST_F(RegularFile, FionreadGivesBytesLeft) {
  int n = -1;
  ASSERT_EQ(RawIoctl(fd_, FIONREAD, &n), 0);
  EXPECT_EQ(n, 10);
  ASSERT_EQ(lseek(fd_, 4, SEEK_SET), 4);
  ASSERT_EQ(RawIoctl(fd_, FIONREAD, &n), 0);
  EXPECT_EQ(n, 6);
  ASSERT_EQ(lseek(fd_, 10, SEEK_SET), 10);
  ASSERT_EQ(RawIoctl(fd_, FIONREAD, &n), 0);
  EXPECT_EQ(n, 0);
  // Linux does not clamp: past EOF the result is i_size - f_pos < 0.
  ASSERT_EQ(lseek(fd_, 20, SEEK_SET), 20);
  ASSERT_EQ(RawIoctl(fd_, FIONREAD, &n), 0);
  EXPECT_EQ(n, -10);
}

TEST_F(RegularFile, FionreadBadPointerIsEfault) {
  EXPECT_FAILS_WITH(RawIoctl(fd_, FIONREAD, nullptr), EFAULT);
}

TEST_F(RegularFile, FioclexAndFionclexToggleCloseOnExec) {
  ASSERT_EQ(fcntl(fd_, F_GETFD), 0);
  ASSERT_EQ(RawIoctl(fd_, FIOCLEX, nullptr), 0);
  EXPECT_EQ(fcntl(fd_, F_GETFD), FD_CLOEXEC);
  ASSERT_EQ(RawIoctl(fd_, FIONCLEX, nullptr), 0);
  EXPECT_EQ(fcntl(fd_, F_GETFD), 0);
}

TEST_F(RegularFile, FionbioTogglesNonblock) {
  int on = 1;
  ASSERT_EQ(RawIoctl(fd_, FIONBIO, &on), 0);
  EXPECT_NE(fcntl(fd_, F_GETFL) & O_NONBLOCK, 0);
  int off = 0;
  ASSERT_EQ(RawIoctl(fd_, FIONBIO, &off), 0);
  EXPECT_EQ(fcntl(fd_, F_GETFL) & O_NONBLOCK, 0);
}

TEST_F(RegularFile, UnknownRequestIsEnotty) {
  int arg = 0;
  EXPECT_FAILS_WITH(RawIoctl(fd_, 0x12345678, &arg), ENOTTY);
}

TEST(DevNull, TcgetsIsEnotty) {
  int fd = open("/dev/null", O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct termios t;
  EXPECT_FAILS_WITH(RawIoctl(fd, TCGETS, &t), ENOTTY);
  close(fd);
}

TEST(DevNull, TiocgwinszIsEnotty) {
  int fd = open("/dev/null", O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct winsize ws;
  EXPECT_FAILS_WITH(RawIoctl(fd, TIOCGWINSZ, &ws), ENOTTY);
  close(fd);
}

TEST(DevNull, FioclexWorks) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(RawIoctl(fd, FIOCLEX, nullptr), 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST(Ioctl, BadFdIsEbadf) {
  struct termios t;
  EXPECT_FAILS_WITH(RawIoctl(-1, TCGETS, &t), EBADF);
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_FAILS_WITH(RawIoctl(fd, TCGETS, &t), EBADF);
  EXPECT_FAILS_WITH(RawIoctl(fd, FIOCLEX, nullptr), EBADF);
  EXPECT_FAILS_WITH(RawIoctl(100000, FIONREAD, &t), EBADF);
}

TEST(Ioctl, OPathFdIsEbadf) {
  int fd = open("/dev/null", O_PATH);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct termios t;
  EXPECT_FAILS_WITH(RawIoctl(fd, TCGETS, &t), EBADF);
  close(fd);
}

TEST(Ioctl, TcgetsOnTerminalStdinSucceeds) {
  if (!isatty(0)) GTEST_SKIP() << "stdin is not a terminal";
  struct termios t;
  EXPECT_EQ(RawIoctl(0, TCGETS, &t), 0) << strerror(errno);
  struct winsize ws;
  EXPECT_EQ(RawIoctl(0, TIOCGWINSZ, &ws), 0) << strerror(errno);
}

}  // namespace
