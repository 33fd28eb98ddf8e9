// chmod, fchmod, fchmodat: the permission bits change; only the owner (or
// CAP_FOWNER) may; the errors the man page lists.

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::RunInChild;

class Chmod : public husk_test::TempDirTest {
 protected:
  std::string MakeFile(const char* name) {
    std::string path = dir_ + "/" + name;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd, 0) << strerror(errno);
    close(fd);
    return path;
  }
  mode_t ModeOf(const std::string& path) {
    struct stat st{};
    EXPECT_EQ(stat(path.c_str(), &st), 0);
    return st.st_mode & 07777;
  }
};

TEST_F(Chmod, ChangesThePermissionBits) {
  std::string f = MakeFile("f");
  ASSERT_EQ(chmod(f.c_str(), 0755), 0);
  EXPECT_EQ(ModeOf(f), 0755u);
  ASSERT_EQ(chmod(f.c_str(), 04711), 0);
  EXPECT_EQ(ModeOf(f), 04711u);
  // Only the permission bits: the file type stays.
  ASSERT_EQ(chmod(f.c_str(), S_IFDIR | 0640), 0);
  struct stat st{};
  ASSERT_EQ(stat(f.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST_F(Chmod, FchmodAndFchmodat) {
  std::string f = MakeFile("g");
  int fd = open(f.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fchmod(fd, 0704), 0);
  EXPECT_EQ(ModeOf(f), 0704u);
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  ASSERT_EQ(fchmodat(dir, "g", 0640, 0), 0);
  EXPECT_EQ(ModeOf(f), 0640u);
  EXPECT_FAILS_WITH(syscall(SYS_fchmodat, fd, "g", 0600), ENOTDIR);
  close(dir);
  close(fd);
}

TEST_F(Chmod, FollowsSymlinks) {
  std::string f = MakeFile("target");
  std::string link = dir_ + "/link";
  ASSERT_EQ(symlink(f.c_str(), link.c_str()), 0);
  ASSERT_EQ(chmod(link.c_str(), 0711), 0);
  EXPECT_EQ(ModeOf(f), 0711u);
}

TEST_F(Chmod, ADirectory) {
  std::string d = dir_ + "/d";
  ASSERT_EQ(mkdir(d.c_str(), 0700), 0);
  ASSERT_EQ(chmod(d.c_str(), 01777), 0);
  EXPECT_EQ(ModeOf(d), 01777u);
}

TEST_F(Chmod, OnlyTheOwnerMay) {
  std::string f = MakeFile("owned");
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    EXPECT_FAILS_WITH(chmod(f.c_str(), 0777), EPERM);
  });
  EXPECT_EQ(ModeOf(f), 0600u);
}

TEST_F(Chmod, Errors) {
  EXPECT_FAILS_WITH(chmod((dir_ + "/missing").c_str(), 0644), ENOENT);
  EXPECT_FAILS_WITH(chmod("", 0644), ENOENT);
  EXPECT_FAILS_WITH(syscall(SYS_chmod, BadPtr(), 0644), EFAULT);
  EXPECT_FAILS_WITH(fchmod(9999, 0644), EBADF);
  std::string f = MakeFile("h");
  EXPECT_FAILS_WITH(chmod((f + "/x").c_str(), 0644), ENOTDIR);
  int fd = open(f.c_str(), O_PATH);
  ASSERT_GE(fd, 0);
  EXPECT_FAILS_WITH(fchmod(fd, 0644), EBADF);
  close(fd);
}

}  // namespace
