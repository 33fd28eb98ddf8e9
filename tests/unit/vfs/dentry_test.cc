// Dentry lifetime: a tree of names is freed with the last reference to it,
// so a dropped mount releases its inodes (a goferfs inode clunks its fid in
// its destructor; a tmpfs inode gives its pages back).
#include <memory>

#include <gtest/gtest.h>

#include "vfs/inode.h"
#include "vfs/tmpfs/tmpfs.h"
#include "vfs/vfs.h"

namespace husk::vfs {
namespace {

const Credentials kRoot{0, 0, {}};

TEST(Dentry, UnusedMountIsFreed) {
  std::weak_ptr<Dentry> root;
  {
    auto m = NewTmpfsMount(0755, kRoot, "t");
    root = m->root();
  }
  EXPECT_TRUE(root.expired());
}

// A child keeps its parent alive (as Linux's d_parent does), but the
// parent's cache of children must not keep the children alive in turn:
// with both links strong, every looked-up dentry and its inode leak.
TEST(Dentry, TreeWithLookedUpChildIsFreed) {
  std::weak_ptr<Dentry> root;
  std::weak_ptr<Dentry> child;
  std::weak_ptr<Inode> child_inode;
  {
    auto m = NewTmpfsMount(0755, kRoot, "t");
    ASSERT_TRUE(m->root()->inode()->MakeDir("a", 0755, kRoot).has_value());
    auto a = m->root()->Child("a");
    ASSERT_TRUE(a.has_value());
    root = m->root();
    child = *a;
    child_inode = (*a)->inode();
  }
  EXPECT_TRUE(root.expired());
  EXPECT_TRUE(child.expired());
  EXPECT_TRUE(child_inode.expired());
}

TEST(Dentry, ChildLookupIsCached) {
  auto m = NewTmpfsMount(0755, kRoot, "t");
  ASSERT_TRUE(m->root()->inode()->MakeDir("a", 0755, kRoot).has_value());
  auto first = m->root()->Child("a");
  auto second = m->root()->Child("a");
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ((*first)->parent(), m->root());
  EXPECT_EQ((*first)->name(), "a");
}

TEST(Dentry, ForgetChildDropsCacheEntry) {
  auto m = NewTmpfsMount(0755, kRoot, "t");
  ASSERT_TRUE(m->root()->inode()->MakeDir("a", 0755, kRoot).has_value());
  auto first = m->root()->Child("a");
  ASSERT_TRUE(first.has_value());
  m->root()->ForgetChild("a");
  auto second = m->root()->Child("a");
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(*first, *second);
  EXPECT_EQ((*first)->inode(), (*second)->inode());
}

TEST(Dentry, MissingChildIsEnoent) {
  auto m = NewTmpfsMount(0755, kRoot, "t");
  auto r = m->root()->Child("nope");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Errno(ENOENT));
}

}  // namespace
}  // namespace husk::vfs
