// Extended attributes: set, get, list and remove in the user and trusted
// namespaces, XATTR_CREATE/XATTR_REPLACE, the size rules, and who may.

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "caps_util.h"
#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::RunInChild;

bool HasCap(int cap) { return (husk_test::GetCaps().effective >> cap) & 1; }

// Drops `cap` from the caller's effective set.
void DropCap(int cap) {
  husk_test::Caps c = husk_test::GetCaps();
  c.effective &= ~(uint64_t{1} << cap);
  ASSERT_EQ(husk_test::SetCaps(c), 0) << strerror(errno);
}

class Xattr : public husk_test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    file_ = Path("f");
    int fd = open(file_.c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    close(fd);
  }
  std::string Get(const std::string& path, const char* name) {
    char buf[256];
    ssize_t n = getxattr(path.c_str(), name, buf, sizeof buf);
    return n < 0 ? "<" + std::string(strerror(errno)) + ">" : std::string(buf, n);
  }
  std::vector<std::string> List(const std::string& path) {
    char buf[1024];
    ssize_t n = listxattr(path.c_str(), buf, sizeof buf);
    EXPECT_GE(n, 0) << strerror(errno);
    std::vector<std::string> names;
    for (ssize_t at = 0; at < n;) {
      names.emplace_back(buf + at);
      at += names.back().size() + 1;
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string file_;
};

TEST_F(Xattr, SetGetListRemove) {
  ASSERT_EQ(setxattr(file_.c_str(), "user.a", "one", 3, 0), 0);
  ASSERT_EQ(setxattr(file_.c_str(), "user.b", "", 0, 0), 0);  // an empty value
  EXPECT_EQ(Get(file_, "user.a"), "one");
  EXPECT_EQ(Get(file_, "user.b"), "");
  EXPECT_EQ(List(file_), (std::vector<std::string>{"user.a", "user.b"}));
  ASSERT_EQ(setxattr(file_.c_str(), "user.a", "replaced", 8, 0), 0);
  EXPECT_EQ(Get(file_, "user.a"), "replaced");
  ASSERT_EQ(removexattr(file_.c_str(), "user.a"), 0);
  EXPECT_FAILS_WITH(getxattr(file_.c_str(), "user.a", nullptr, 0), ENODATA);
  EXPECT_EQ(List(file_), (std::vector<std::string>{"user.b"}));
}

TEST_F(Xattr, BinaryValues) {
  const char value[] = {'\0', '\x01', '\xff', '\0'};
  ASSERT_EQ(setxattr(file_.c_str(), "user.bin", value, sizeof value, 0), 0);
  EXPECT_EQ(Get(file_, "user.bin"), std::string(value, sizeof value));
}

TEST_F(Xattr, SizeZeroAsksForTheSize) {
  ASSERT_EQ(setxattr(file_.c_str(), "user.a", "12345", 5, 0), 0);
  ASSERT_EQ(setxattr(file_.c_str(), "user.bb", "x", 1, 0), 0);
  EXPECT_EQ(getxattr(file_.c_str(), "user.a", nullptr, 0), 5);
  EXPECT_EQ(listxattr(file_.c_str(), nullptr, 0), 15);  // "user.a\0user.bb\0"
  char small[4];
  EXPECT_FAILS_WITH(getxattr(file_.c_str(), "user.a", small, sizeof small), ERANGE);
  EXPECT_FAILS_WITH(listxattr(file_.c_str(), small, sizeof small), ERANGE);
}

TEST_F(Xattr, CreateAndReplaceFlags) {
  EXPECT_FAILS_WITH(setxattr(file_.c_str(), "user.a", "v", 1, XATTR_REPLACE), ENODATA);
  ASSERT_EQ(setxattr(file_.c_str(), "user.a", "v", 1, XATTR_CREATE), 0);
  EXPECT_FAILS_WITH(setxattr(file_.c_str(), "user.a", "w", 1, XATTR_CREATE), EEXIST);
  ASSERT_EQ(setxattr(file_.c_str(), "user.a", "w", 1, XATTR_REPLACE), 0);
  EXPECT_EQ(Get(file_, "user.a"), "w");
  EXPECT_FAILS_WITH(setxattr(file_.c_str(), "user.a", "v", 1, 4), EINVAL);
}

TEST_F(Xattr, FdAndNofollowForms) {
  int fd = open(file_.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fsetxattr(fd, "user.f", "fd", 2, 0), 0);  // any access mode
  char buf[8];
  ASSERT_EQ(fgetxattr(fd, "user.f", buf, sizeof buf), 2);
  EXPECT_EQ(flistxattr(fd, buf, sizeof buf), 7);
  ASSERT_EQ(fremovexattr(fd, "user.f"), 0);
  EXPECT_EQ(flistxattr(fd, nullptr, 0), 0);
  close(fd);
  // Through a symlink: the l* forms act on the link, whose user.* names
  // are not allowed (only regular files and directories have them).
  std::string link = Path("link");
  ASSERT_EQ(symlink(file_.c_str(), link.c_str()), 0);
  ASSERT_EQ(setxattr(link.c_str(), "user.t", "t", 1, 0), 0);
  EXPECT_EQ(Get(file_, "user.t"), "t");
  EXPECT_FAILS_WITH(lsetxattr(link.c_str(), "user.t", "t", 1, 0), EPERM);
  EXPECT_FAILS_WITH(lgetxattr(link.c_str(), "user.t", buf, sizeof buf), ENODATA);
  EXPECT_EQ(llistxattr(link.c_str(), nullptr, 0), 0);
  EXPECT_FAILS_WITH(lremovexattr(link.c_str(), "user.t"), EPERM);
}

TEST_F(Xattr, Directories) {
  ASSERT_EQ(setxattr(dir_.c_str(), "user.d", "dir", 3, 0), 0);
  EXPECT_EQ(Get(dir_, "user.d"), "dir");
}

TEST_F(Xattr, UserNamesOnlyOnFilesAndDirectories) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  char buf[8];
  EXPECT_FAILS_WITH(fgetxattr(p[0], "user.x", buf, sizeof buf), ENODATA);
  EXPECT_FAILS_WITH(fsetxattr(p[0], "user.x", "v", 1, 0), EPERM);
  EXPECT_EQ(flistxattr(p[0], buf, sizeof buf), 0);
  close(p[0]);
  close(p[1]);
}

TEST_F(Xattr, UnknownNamespacesAreNotSupported) {
  EXPECT_FAILS_WITH(setxattr(file_.c_str(), "foo.bar", "v", 1, 0), EOPNOTSUPP);
  EXPECT_FAILS_WITH(setxattr(file_.c_str(), "user", "v", 1, 0), EOPNOTSUPP);
  EXPECT_FAILS_WITH(getxattr(file_.c_str(), "foo.bar", nullptr, 0), EOPNOTSUPP);
  EXPECT_FAILS_WITH(removexattr(file_.c_str(), "foo.bar"), EOPNOTSUPP);
  EXPECT_FAILS_WITH(removexattr(file_.c_str(), "user.missing"), ENODATA);
}

TEST_F(Xattr, ProcfsStoresNone) {
  char buf[8];
  EXPECT_FAILS_WITH(getxattr("/proc/self/status", "user.x", buf, sizeof buf), EOPNOTSUPP);
  EXPECT_FAILS_WITH(setxattr("/proc/self/status", "user.x", "v", 1, 0), EOPNOTSUPP);
  EXPECT_EQ(listxattr("/proc/self/status", buf, sizeof buf), 0);
}

TEST_F(Xattr, NameAndSizeLimits) {
  EXPECT_FAILS_WITH(setxattr(file_.c_str(), "", "v", 1, 0), ERANGE);
  EXPECT_FAILS_WITH(getxattr(file_.c_str(), "", nullptr, 0), ERANGE);
  std::string longest = "user." + std::string(250, 'n');  // 255 bytes
  ASSERT_EQ(setxattr(file_.c_str(), longest.c_str(), "v", 1, 0), 0);
  EXPECT_EQ(Get(file_, longest.c_str()), "v");
  std::string too_long = longest + "n";
  EXPECT_FAILS_WITH(setxattr(file_.c_str(), too_long.c_str(), "v", 1, 0), ERANGE);
  EXPECT_FAILS_WITH(getxattr(file_.c_str(), too_long.c_str(), nullptr, 0), ERANGE);
  EXPECT_FAILS_WITH(removexattr(file_.c_str(), too_long.c_str()), ERANGE);
  std::string big(65537, 'v');
  EXPECT_FAILS_WITH(setxattr(file_.c_str(), "user.big", big.data(), big.size(), 0), E2BIG);
}

TEST_F(Xattr, BadPointersAndFiles) {
  EXPECT_FAILS_WITH(setxattr(file_.c_str(), static_cast<char*>(BadPtr()), "v", 1, 0), EFAULT);
  EXPECT_FAILS_WITH(setxattr(file_.c_str(), "user.a", BadPtr(), 1, 0), EFAULT);
  EXPECT_FAILS_WITH(getxattr(static_cast<char*>(BadPtr()), "user.a", nullptr, 0), EFAULT);
  ASSERT_EQ(setxattr(file_.c_str(), "user.a", "v", 1, 0), 0);
  EXPECT_FAILS_WITH(getxattr(file_.c_str(), "user.a", BadPtr(), 8), EFAULT);
  EXPECT_FAILS_WITH(listxattr(file_.c_str(), static_cast<char*>(BadPtr()), 64), EFAULT);
  EXPECT_FAILS_WITH(getxattr(Path("missing").c_str(), "user.a", nullptr, 0), ENOENT);
  EXPECT_FAILS_WITH(fgetxattr(ClosedFd(), "user.a", nullptr, 0), EBADF);
  EXPECT_FAILS_WITH(fsetxattr(ClosedFd(), "user.a", "v", 1, 0), EBADF);
  int path = open(file_.c_str(), O_PATH);
  ASSERT_GE(path, 0);
  EXPECT_FAILS_WITH(fgetxattr(path, "user.a", nullptr, 0), EBADF);
  EXPECT_FAILS_WITH(flistxattr(path, nullptr, 0), EBADF);
  close(path);
}

TEST_F(Xattr, UserNamesFollowFilePermissions) {
  ASSERT_EQ(setxattr(file_.c_str(), "user.a", "v", 1, 0), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    EXPECT_EQ(Get(file_, "user.a"), "v");  // readable by others
    EXPECT_FAILS_WITH(setxattr(file_.c_str(), "user.a", "w", 1, 0), EACCES);
    EXPECT_FAILS_WITH(removexattr(file_.c_str(), "user.a"), EACCES);
  });
  ASSERT_EQ(chmod(file_.c_str(), 0600), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    EXPECT_EQ(Get(file_, "user.a"), "<" + std::string(strerror(EACCES)) + ">");
  });
}

TEST_F(Xattr, StickyDirectoriesOnlyTheirOwner) {
  std::string d = Path("sticky");
  ASSERT_EQ(mkdir(d.c_str(), 0777), 0);
  ASSERT_EQ(chmod(d.c_str(), 01777), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    EXPECT_FAILS_WITH(setxattr(d.c_str(), "user.a", "v", 1, 0), EPERM);
  });
}

TEST_F(Xattr, TrustedNamesNeedCapSysAdmin) {
  RunInChild([&] {
    DropCap(CAP_SYS_ADMIN);
    EXPECT_FAILS_WITH(setxattr(file_.c_str(), "trusted.t", "v", 1, 0), EPERM);
    EXPECT_FAILS_WITH(getxattr(file_.c_str(), "trusted.t", nullptr, 0), ENODATA);
    EXPECT_FAILS_WITH(removexattr(file_.c_str(), "trusted.t"), EPERM);
    // security.* changes need it too.
    EXPECT_FAILS_WITH(setxattr(file_.c_str(), "security.s", "v", 1, 0), EPERM);
  });
}

TEST_F(Xattr, TrustedNamesWithCapSysAdmin) {
  if (!HasCap(CAP_SYS_ADMIN)) GTEST_SKIP() << "needs CAP_SYS_ADMIN (the sandbox's root has none)";
  ASSERT_EQ(setxattr(file_.c_str(), "trusted.t", "v", 1, 0), 0);
  ASSERT_EQ(setxattr(file_.c_str(), "user.u", "v", 1, 0), 0);
  EXPECT_EQ(Get(file_, "trusted.t"), "v");
  EXPECT_EQ(List(file_), (std::vector<std::string>{"trusted.t", "user.u"}));
  RunInChild([&] {
    DropCap(CAP_SYS_ADMIN);
    EXPECT_EQ(List(file_), (std::vector<std::string>{"user.u"}));  // hidden
  });
  ASSERT_EQ(removexattr(file_.c_str(), "trusted.t"), 0);
}

}  // namespace
