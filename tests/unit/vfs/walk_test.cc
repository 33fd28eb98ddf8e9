// Path resolution (path_resolution(7)): ".", "..", mount points, symlinks,
// trailing slashes and the errors of a lookup; and PathOf, what getcwd(2)
// prints.
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/vfs/vfs_test_util.h"

namespace husk::vfs::testing {
namespace {

class PathWalk : public VfsTest {};
class MountCrossing : public VfsTest {};
class Symlink : public VfsTest {};
class PathOf : public VfsTest {};
class ResolveParent : public VfsTest {};

// ---- Components ------------------------------------------------------------------

TEST_F(PathWalk, SlashIsTheRoot) {
  EXPECT_TRUE(SamePath(MustResolve("/"), root_));
  EXPECT_TRUE(SamePath(MustResolve("///"), root_));
}

TEST_F(PathWalk, NestedDirectory) {
  Path p = MustResolve("/a/b");
  EXPECT_EQ(p.dentry->name(), "b");
  EXPECT_EQ(p.mount, root_mount_);
  EXPECT_TRUE(p.dentry->inode()->IsDir());
}

TEST_F(PathWalk, RepeatedSlashesAreOne) {
  EXPECT_TRUE(SamePath(MustResolve("//a///b//"), MustResolve("/a/b")));
}

TEST_F(PathWalk, DotStaysInDirectory) {
  EXPECT_TRUE(SamePath(MustResolve("/a/."), MustResolve("/a")));
  EXPECT_TRUE(SamePath(MustResolve("/a/./b/."), MustResolve("/a/b")));
}

TEST_F(PathWalk, DotDotGoesToParent) {
  EXPECT_TRUE(SamePath(MustResolve("/a/b/.."), MustResolve("/a")));
  EXPECT_TRUE(SamePath(MustResolve("/a/b/../.."), root_));
}

TEST_F(PathWalk, DotDotAtRootStaysAtRoot) {
  EXPECT_TRUE(SamePath(MustResolve("/.."), root_));
  EXPECT_TRUE(SamePath(MustResolve("/../../.."), root_));
  EXPECT_TRUE(SamePath(MustResolve("/../a/../../a"), MustResolve("/a")));
}

TEST_F(PathWalk, DotDotAtChrootRootStaysThere) {
  Path a = MustResolve("/a");
  LookupContext jail{a, a, &root_creds_};
  auto p = vfs_.Resolve(jail, a, "/../..", true);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(SamePath(*p, a));
  auto b = vfs_.Resolve(jail, MustResolve("/a/b"), "../../../b", true);
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(SamePath(*b, MustResolve("/a/b")));
}

TEST_F(PathWalk, RelativePathStartsAtStart) {
  auto p = vfs_.Resolve(ctx_, MustResolve("/a"), "b", true);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(SamePath(*p, MustResolve("/a/b")));
}

TEST_F(PathWalk, AbsolutePathIgnoresStart) {
  auto p = vfs_.Resolve(ctx_, MustResolve("/a/b"), "/a", true);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(SamePath(*p, MustResolve("/a")));
}

TEST_F(PathWalk, EmptyPathIsEnoent) {
  EXPECT_EQ(ErrnoOf(Resolve("")), ENOENT);
}

TEST_F(PathWalk, MissingComponentIsEnoent) {
  EXPECT_EQ(ErrnoOf(Resolve("/nope")), ENOENT);
  EXPECT_EQ(ErrnoOf(Resolve("/nope/x")), ENOENT);
  EXPECT_EQ(ErrnoOf(Resolve("/a/nope")), ENOENT);
}

TEST_F(PathWalk, ComponentThroughFileIsEnotdir) {
  EXPECT_EQ(ErrnoOf(Resolve("/a/file/x")), ENOTDIR);
  EXPECT_EQ(ErrnoOf(Resolve("/a/file/..")), ENOTDIR);
  EXPECT_EQ(ErrnoOf(Resolve("/a/file/.")), ENOTDIR);
}

TEST_F(PathWalk, TrailingSlashOnFileIsEnotdir) {
  EXPECT_EQ(ErrnoOf(Resolve("/a/file/")), ENOTDIR);
  EXPECT_EQ(ErrnoOf(Resolve("/a/file//")), ENOTDIR);
}

TEST_F(PathWalk, TrailingSlashOnDirectoryIsFine) {
  EXPECT_TRUE(SamePath(MustResolve("/a/b/"), MustResolve("/a/b")));
}

TEST_F(PathWalk, ComponentOf256BytesIsEnametoolong) {
  EXPECT_EQ(ErrnoOf(Resolve("/" + std::string(256, 'n'))), ENAMETOOLONG);
  EXPECT_EQ(ErrnoOf(Resolve("/a/" + std::string(256, 'n') + "/x")), ENAMETOOLONG);
}

TEST_F(PathWalk, ComponentOf255BytesIsJustMissing) {
  EXPECT_EQ(ErrnoOf(Resolve("/" + std::string(255, 'n'))), ENOENT);
}

// ---- Mount points -----------------------------------------------------------------

TEST_F(MountCrossing, MountPointResolvesToMountedRoot) {
  Path p = MustResolve("/mnt");
  EXPECT_EQ(p.mount, sub_mount_);
  EXPECT_EQ(p.dentry, sub_mount_->root());
}

TEST_F(MountCrossing, MountHidesWhatWasUnderIt) {
  EXPECT_EQ(ErrnoOf(Resolve("/mnt/hidden")), ENOENT);
  Path x = MustResolve("/mnt/x/y");
  EXPECT_EQ(x.mount, sub_mount_);
}

TEST_F(MountCrossing, DotDotFromMountRootReturnsToParentMount) {
  Path p = MustResolve("/mnt/..");
  EXPECT_TRUE(SamePath(p, root_));
  EXPECT_EQ(p.mount, root_mount_);
}

TEST_F(MountCrossing, DotDotInsideMountStaysInMount) {
  EXPECT_TRUE(SamePath(MustResolve("/mnt/x/.."), MustResolve("/mnt")));
}

TEST_F(MountCrossing, DotDotTwiceLeavesMount) {
  EXPECT_TRUE(SamePath(MustResolve("/mnt/x/../.."), root_));
  EXPECT_TRUE(SamePath(MustResolve("/mnt/x/../../a/b"), MustResolve("/a/b")));
}

TEST_F(MountCrossing, RelativeWalkFromInsideMount) {
  auto p = vfs_.Resolve(ctx_, MustResolve("/mnt/x"), "../../a", true);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(SamePath(*p, MustResolve("/a")));
}

TEST_F(MountCrossing, MountsListsRootFirst) {
  auto mounts = vfs_.Mounts();
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0], root_mount_);
  EXPECT_EQ(mounts[1], sub_mount_);
}

TEST_F(MountCrossing, MountOnFileIsEnotdir) {
  auto m = NewTmpfsMount(0755, root_creds_, "third");
  EXPECT_EQ(ErrnoOf(vfs_.MountAt(MustResolve("/a/file"), m)), ENOTDIR);
}

// ---- Symlinks ---------------------------------------------------------------------

TEST_F(Symlink, RelativeTargetIsFromLinkDirectory) {
  EXPECT_TRUE(SamePath(MustResolve("/link_rel"), MustResolve("/a/b")));
}

TEST_F(Symlink, RelativeTargetWithDotDotCrossesMount) {
  Path p = MustResolve("/a/link_up");
  EXPECT_EQ(p.mount, sub_mount_);
  EXPECT_TRUE(SamePath(p, MustResolve("/mnt/x")));
  EXPECT_EQ(Where("/a/link_up/y"), "/mnt/x/y");
}

TEST_F(Symlink, AbsoluteTarget) {
  EXPECT_TRUE(SamePath(MustResolve("/a/b/link_abs"), MustResolve("/a/file")));
}

TEST_F(Symlink, AbsoluteTargetStartsAtLookupRoot) {
  MakeLink("/a/b/to_b", "/b");
  Path a = MustResolve("/a");
  LookupContext jail{a, a, &root_creds_};
  auto p = vfs_.Resolve(jail, a, "/b/to_b", true);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(SamePath(*p, MustResolve("/a/b")));
}

TEST_F(Symlink, LastComponentNotFollowedWhenAsked) {
  Path p = MustResolve("/link_rel", /*follow=*/false);
  EXPECT_TRUE(p.dentry->inode()->IsSymlink());
  EXPECT_EQ(p.dentry->name(), "link_rel");
}

TEST_F(Symlink, IntermediateLinksAlwaysFollowed) {
  EXPECT_TRUE(SamePath(MustResolve("/link_a/file", false), MustResolve("/a/file")));
  EXPECT_TRUE(SamePath(MustResolve("/link_rel/.", false), MustResolve("/a/b")));
}

TEST_F(Symlink, TrailingSlashFollowsLastLink) {
  EXPECT_TRUE(SamePath(MustResolve("/link_rel/", false), MustResolve("/a/b")));
}

TEST_F(Symlink, DotDotAfterLinkIsPhysicalParent) {
  // link_rel -> a/b, so link_rel/.. is /a, not /.
  EXPECT_TRUE(SamePath(MustResolve("/link_rel/.."), MustResolve("/a")));
}

TEST_F(Symlink, LinkToFileWithTrailingSlashIsEnotdir) {
  EXPECT_EQ(ErrnoOf(Resolve("/a/b/link_abs/")), ENOTDIR);
}

TEST_F(Symlink, DanglingIsEnoent) {
  EXPECT_EQ(ErrnoOf(Resolve("/dangling")), ENOENT);
  EXPECT_TRUE(Resolve("/dangling", false).has_value());
}

TEST_F(Symlink, LoopIsEloop) {
  EXPECT_EQ(ErrnoOf(Resolve("/loop1")), ELOOP);
  EXPECT_EQ(ErrnoOf(Resolve("/self")), ELOOP);
  EXPECT_EQ(ErrnoOf(Resolve("/loop1/x")), ELOOP);
}

// Linux follows at most 40 links in one lookup (MAXSYMLINKS).
class SymlinkChain : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    Mkdir("/chain");
    // c0 -> c1 -> ... -> c40 -> /a/file: 41 links from c0, 40 from c1.
    for (int i = 0; i < 40; ++i) {
      MakeLink("/chain/c" + std::to_string(i), "c" + std::to_string(i + 1));
    }
    MakeLink("/chain/c40", "/a/file");
  }
};

TEST_F(SymlinkChain, FortyLinksResolve) {
  EXPECT_TRUE(SamePath(MustResolve("/chain/c1"), MustResolve("/a/file")));
}

TEST_F(SymlinkChain, FortyOneLinksIsEloop) {
  EXPECT_EQ(ErrnoOf(Resolve("/chain/c0")), ELOOP);
}

// ---- PathOf ------------------------------------------------------------------------

TEST_F(PathOf, RootIsSlash) {
  EXPECT_EQ(vfs_.PathOf(root_, root_), "/");
}

TEST_F(PathOf, NestedPath) {
  EXPECT_EQ(Where("/a/b"), "/a/b");
  EXPECT_EQ(Where("/a/b/.."), "/a");
}

TEST_F(PathOf, AcrossMount) {
  EXPECT_EQ(Where("/mnt"), "/mnt");
  EXPECT_EQ(Where("/mnt/x"), "/mnt/x");
  EXPECT_EQ(Where("/mnt/x/y"), "/mnt/x/y");
}

TEST_F(PathOf, ThroughSymlinksIsThePhysicalPath) {
  EXPECT_EQ(Where("/link_rel"), "/a/b");
  EXPECT_EQ(Where("/a/link_up"), "/mnt/x");
}

TEST_F(PathOf, RelativeToChrootRoot) {
  EXPECT_EQ(vfs_.PathOf(MustResolve("/a"), MustResolve("/a/b")), "/b");
  EXPECT_EQ(vfs_.PathOf(MustResolve("/mnt"), MustResolve("/mnt/x/y")), "/x/y");
}

// ---- ResolveParent -------------------------------------------------------------------

TEST_F(ResolveParent, SplitsLastComponent) {
  auto pn = vfs_.ResolveParent(ctx_, root_, "/a/b/new");
  ASSERT_TRUE(pn.has_value());
  EXPECT_TRUE(SamePath(pn->parent, MustResolve("/a/b")));
  EXPECT_EQ(pn->name, "new");
  EXPECT_FALSE(pn->trailing_slash);
}

TEST_F(ResolveParent, NotesTrailingSlash) {
  auto pn = vfs_.ResolveParent(ctx_, root_, "/a/b//");
  ASSERT_TRUE(pn.has_value());
  EXPECT_TRUE(SamePath(pn->parent, MustResolve("/a")));
  EXPECT_EQ(pn->name, "b");
  EXPECT_TRUE(pn->trailing_slash);
}

TEST_F(ResolveParent, SlashHasNoName) {
  auto pn = vfs_.ResolveParent(ctx_, root_, "/");
  ASSERT_TRUE(pn.has_value());
  EXPECT_TRUE(SamePath(pn->parent, root_));
  EXPECT_EQ(pn->name, "");
}

TEST_F(ResolveParent, RelativeSingleComponentIsInStart) {
  auto pn = vfs_.ResolveParent(ctx_, MustResolve("/a"), "new");
  ASSERT_TRUE(pn.has_value());
  EXPECT_TRUE(SamePath(pn->parent, MustResolve("/a")));
  EXPECT_EQ(pn->name, "new");
}

TEST_F(ResolveParent, ParentThroughFileIsEnotdir) {
  EXPECT_EQ(ErrnoOf(vfs_.ResolveParent(ctx_, root_, "/a/file/new")), ENOTDIR);
}

TEST_F(ResolveParent, LongLastComponentIsEnametoolong) {
  EXPECT_EQ(ErrnoOf(vfs_.ResolveParent(ctx_, root_, "/a/" + std::string(256, 'n'))), ENAMETOOLONG);
}

}  // namespace
}  // namespace husk::vfs::testing
