// fadvise64(2) and getgroups(2).
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

class TempFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/husk_XXXXXX";
    fd_ = mkstemp(tmpl);
    ASSERT_GE(fd_, 0);
    path_ = tmpl;
    ASSERT_EQ(write(fd_, "hello", 5), 5);
  }
  void TearDown() override {
    close(fd_);
    unlink(path_.c_str());
  }
  int fd_ = -1;
  std::string path_;
};

TEST_F(TempFile, Fadvise64KnownAdviceSucceeds) {
  for (int advice : {POSIX_FADV_NORMAL, POSIX_FADV_RANDOM, POSIX_FADV_SEQUENTIAL,
                     POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE}) {
    EXPECT_EQ(syscall(SYS_fadvise64, fd_, 0, 0, advice), 0) << advice;
  }
}

TEST_F(TempFile, Fadvise64UnknownAdviceIsEinval) {
  errno = 0;
  EXPECT_EQ(syscall(SYS_fadvise64, fd_, 0, 0, 42), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(Fadvise64, BadFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(syscall(SYS_fadvise64, 9999, 0, 0, POSIX_FADV_NORMAL), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(TempFile, Fadvise64OnOPathFdIsEbadf) {
  int fd = open(path_.c_str(), O_PATH);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_NORMAL), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

TEST(Getgroups, SizeZeroReturnsCountWithoutWriting) {
  long n = syscall(SYS_getgroups, 0, nullptr);
  EXPECT_GE(n, 0);
}

TEST(Getgroups, FillsTheList) {
  long n = syscall(SYS_getgroups, 0, nullptr);
  ASSERT_GE(n, 0);
  std::vector<gid_t> groups(n + 1);
  EXPECT_EQ(syscall(SYS_getgroups, groups.size(), groups.data()), n);
}

TEST(Getgroups, NegativeSizeIsEinval) {
  errno = 0;
  EXPECT_EQ(syscall(SYS_getgroups, -1, nullptr), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(Getgroups, TooSmallBufferIsEinval) {
  long n = syscall(SYS_getgroups, 0, nullptr);
  if (n < 2) GTEST_SKIP() << "needs at least two supplementary groups";
  gid_t one;
  errno = 0;
  EXPECT_EQ(syscall(SYS_getgroups, 1, &one), -1);
  EXPECT_EQ(errno, EINVAL);
}

}  // namespace
