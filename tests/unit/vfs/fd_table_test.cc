// FdTable: the fd numbers open(2), dup2(2)/dup3(2), close(2), fcntl(2)'s
// F_GETFD/F_SETFD and execve(2)'s close-on-exec see.
#include "vfs/fd_table.h"

#include <fcntl.h>

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "vfs/file.h"

namespace husk::vfs {
namespace {

template <class T>
int ErrnoOf(const Result<T>& r) {
  return r.has_value() ? 0 : r.error().value();
}

std::shared_ptr<FileDescription> NewFile() {
  return std::make_shared<FileDescription>(Path{}, O_RDONLY);
}

constexpr uint64_t kLimit = 1024;  // RLIMIT_NOFILE

TEST(FdTable, InstallUsesLowestFreeFd) {
  FdTable t;
  EXPECT_EQ(t.Install(NewFile(), false, 0, kLimit).value(), 0);
  EXPECT_EQ(t.Install(NewFile(), false, 0, kLimit).value(), 1);
  EXPECT_EQ(t.Install(NewFile(), false, 0, kLimit).value(), 2);
  ASSERT_TRUE(t.Close(1).has_value());
  EXPECT_EQ(t.Install(NewFile(), false, 0, kLimit).value(), 1);
  EXPECT_EQ(t.Install(NewFile(), false, 0, kLimit).value(), 3);
}

TEST(FdTable, InstallHonoursMinFd) {
  FdTable t;
  EXPECT_EQ(t.Install(NewFile(), false, 10, kLimit).value(), 10);
  EXPECT_EQ(t.Install(NewFile(), false, 10, kLimit).value(), 11);
  EXPECT_EQ(t.Install(NewFile(), false, 0, kLimit).value(), 0);
  EXPECT_EQ(t.OpenFds(), (std::vector<int>{0, 10, 11}));
}

TEST(FdTable, InstallAtLimitIsEmfile) {
  FdTable t;
  ASSERT_TRUE(t.Install(NewFile(), false, 0, 2).has_value());
  ASSERT_TRUE(t.Install(NewFile(), false, 0, 2).has_value());
  EXPECT_EQ(ErrnoOf(t.Install(NewFile(), false, 0, 2)), EMFILE);
  // A higher limit makes room again.
  EXPECT_EQ(t.Install(NewFile(), false, 0, 3).value(), 2);
}

TEST(FdTable, InstallWithMinFdAtLimitIsEmfile) {
  FdTable t;
  EXPECT_EQ(ErrnoOf(t.Install(NewFile(), false, 5, 5)), EMFILE);
  EXPECT_EQ(ErrnoOf(t.Install(NewFile(), false, 0, 0)), EMFILE);
}

TEST(FdTable, InstallAtReplacesAndReleasesOldFile) {
  FdTable t;
  auto old_file = NewFile();
  std::weak_ptr<FileDescription> old_weak = old_file;
  ASSERT_EQ(t.Install(std::move(old_file), false, 0, kLimit).value(), 0);
  auto new_file = NewFile();
  ASSERT_TRUE(t.InstallAt(0, new_file, false, kLimit).has_value());
  EXPECT_TRUE(old_weak.expired());
  EXPECT_EQ(t.Get(0).value(), new_file);
}

TEST(FdTable, InstallAtExtendsTable) {
  FdTable t;
  ASSERT_TRUE(t.InstallAt(50, NewFile(), false, kLimit).has_value());
  EXPECT_EQ(t.OpenFds(), (std::vector<int>{50}));
  EXPECT_EQ(t.Install(NewFile(), false, 0, kLimit).value(), 0);
}

TEST(FdTable, InstallAtOutsideLimitIsEbadf) {
  FdTable t;
  EXPECT_EQ(ErrnoOf(t.InstallAt(kLimit, NewFile(), false, kLimit)), EBADF);
  EXPECT_EQ(ErrnoOf(t.InstallAt(-1, NewFile(), false, kLimit)), EBADF);
}

TEST(FdTable, InstallAtSetsCloexec) {
  FdTable t;
  ASSERT_TRUE(t.InstallAt(3, NewFile(), true, kLimit).has_value());
  EXPECT_TRUE(t.GetCloexec(3).value());
  // dup2 onto it clears the flag.
  ASSERT_TRUE(t.InstallAt(3, NewFile(), false, kLimit).has_value());
  EXPECT_FALSE(t.GetCloexec(3).value());
}

TEST(FdTable, GetOfClosedOrNegativeFdIsEbadf) {
  FdTable t;
  EXPECT_EQ(ErrnoOf(t.Get(0)), EBADF);
  EXPECT_EQ(ErrnoOf(t.Get(-1)), EBADF);
  ASSERT_TRUE(t.Install(NewFile(), false, 0, kLimit).has_value());
  ASSERT_TRUE(t.Close(0).has_value());
  EXPECT_EQ(ErrnoOf(t.Get(0)), EBADF);
}

TEST(FdTable, CloseTwiceIsEbadf) {
  FdTable t;
  ASSERT_TRUE(t.Install(NewFile(), false, 0, kLimit).has_value());
  ASSERT_TRUE(t.Close(0).has_value());
  EXPECT_EQ(ErrnoOf(t.Close(0)), EBADF);
  EXPECT_EQ(ErrnoOf(t.Close(1000)), EBADF);
}

TEST(FdTable, DescriptionSharedByTwoFdsOutlivesOneClose) {
  FdTable t;
  auto f = NewFile();
  ASSERT_EQ(t.Install(f, false, 0, kLimit).value(), 0);
  ASSERT_EQ(t.Install(f, false, 0, kLimit).value(), 1);
  std::weak_ptr<FileDescription> weak = f;
  f.reset();
  ASSERT_TRUE(t.Close(0).has_value());
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(t.Get(1).value(), weak.lock());
  ASSERT_TRUE(t.Close(1).has_value());
  EXPECT_TRUE(weak.expired());
}

TEST(FdTable, CloexecIsPerFd) {
  FdTable t;
  auto f = NewFile();
  ASSERT_EQ(t.Install(f, true, 0, kLimit).value(), 0);
  ASSERT_EQ(t.Install(f, false, 0, kLimit).value(), 1);
  EXPECT_TRUE(t.GetCloexec(0).value());
  EXPECT_FALSE(t.GetCloexec(1).value());
  ASSERT_TRUE(t.SetCloexec(1, true).has_value());
  ASSERT_TRUE(t.SetCloexec(0, false).has_value());
  EXPECT_FALSE(t.GetCloexec(0).value());
  EXPECT_TRUE(t.GetCloexec(1).value());
}

TEST(FdTable, CloexecOfClosedFdIsEbadf) {
  FdTable t;
  EXPECT_EQ(ErrnoOf(t.GetCloexec(0)), EBADF);
  EXPECT_EQ(ErrnoOf(t.SetCloexec(0, true)), EBADF);
}

TEST(FdTable, CloseClearsCloexec) {
  FdTable t;
  ASSERT_EQ(t.Install(NewFile(), true, 0, kLimit).value(), 0);
  ASSERT_TRUE(t.Close(0).has_value());
  ASSERT_EQ(t.Install(NewFile(), false, 0, kLimit).value(), 0);
  EXPECT_FALSE(t.GetCloexec(0).value());
}

TEST(FdTable, CloseOnExecClosesOnlyCloexecFds) {
  FdTable t;
  auto keep = NewFile();
  auto drop = NewFile();
  std::weak_ptr<FileDescription> drop_weak = drop;
  ASSERT_EQ(t.Install(keep, false, 0, kLimit).value(), 0);
  ASSERT_EQ(t.Install(std::move(drop), true, 0, kLimit).value(), 1);
  ASSERT_EQ(t.Install(NewFile(), false, 0, kLimit).value(), 2);
  ASSERT_TRUE(t.InstallAt(7, NewFile(), true, kLimit).has_value());

  t.CloseOnExec();

  EXPECT_EQ(t.OpenFds(), (std::vector<int>{0, 2}));
  EXPECT_TRUE(drop_weak.expired());
  EXPECT_EQ(t.Get(0).value(), keep);
  // The freed numbers are reused, without the old flag.
  EXPECT_EQ(t.Install(NewFile(), false, 0, kLimit).value(), 1);
  EXPECT_FALSE(t.GetCloexec(1).value());
}

TEST(FdTable, OpenFdsAreAscending) {
  FdTable t;
  ASSERT_TRUE(t.InstallAt(9, NewFile(), false, kLimit).has_value());
  ASSERT_TRUE(t.InstallAt(4, NewFile(), false, kLimit).has_value());
  ASSERT_TRUE(t.Install(NewFile(), false, 0, kLimit).has_value());
  EXPECT_EQ(t.OpenFds(), (std::vector<int>{0, 4, 9}));
}

}  // namespace
}  // namespace husk::vfs
