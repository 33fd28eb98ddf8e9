// open(2)'s flags (O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_TRUNC,
// O_PATH) and the permission checks of a lookup and an open for a task
// that is not root (path_resolution(7), "Permission").
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/vfs/vfs_test_util.h"

namespace husk::vfs::testing {
namespace {

class Open : public VfsTest {};

// ---- O_CREAT / O_EXCL ---------------------------------------------------------------

TEST_F(Open, CreatMakesRegularFileWithModeLessUmask) {
  auto f = OpenFile("/a/new", O_CREAT | O_WRONLY, 0666);
  ASSERT_TRUE(f.has_value()) << ErrnoOf(f);
  auto st = MustResolve("/a/new").dentry->inode()->Stat();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->st_mode, S_IFREG | 0644u);
  EXPECT_EQ(st->st_uid, 0u);
  EXPECT_EQ(st->st_size, 0);
}

TEST_F(Open, CreatOnExistingFileOpensItUnchanged) {
  auto f = OpenFile("/a/file", O_CREAT | O_RDWR);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ((*f)->inode(), MustResolve("/a/file").dentry->inode().get());
  EXPECT_EQ(ReadFile("/a/file"), "hello");
}

TEST_F(Open, CreatExclOnExistingIsEexist) {
  EXPECT_EQ(ErrnoOf(OpenFile("/a/file", O_CREAT | O_EXCL | O_WRONLY)), EEXIST);
  EXPECT_EQ(ErrnoOf(OpenFile("/a", O_CREAT | O_EXCL | O_RDONLY)), EEXIST);
}

TEST_F(Open, CreatExclOnDanglingSymlinkIsEexist) {
  EXPECT_EQ(ErrnoOf(OpenFile("/dangling", O_CREAT | O_EXCL | O_WRONLY)), EEXIST);
  EXPECT_EQ(ErrnoOf(Resolve("/a/missing")), ENOENT);
}

TEST_F(Open, CreatThroughDanglingSymlinkCreatesTarget) {
  ASSERT_TRUE(OpenFile("/dangling", O_CREAT | O_WRONLY).has_value());
  EXPECT_TRUE(Resolve("/a/missing").has_value());
  EXPECT_TRUE(Resolve("/dangling").has_value());
}

TEST_F(Open, CreatNofollowOnSymlinkIsEloop) {
  EXPECT_EQ(ErrnoOf(OpenFile("/dangling", O_CREAT | O_NOFOLLOW | O_WRONLY)), ELOOP);
}

TEST_F(Open, CreatOnDirectoryIsEisdir) {
  EXPECT_EQ(ErrnoOf(OpenFile("/a", O_CREAT | O_RDONLY)), EISDIR);
  EXPECT_EQ(ErrnoOf(OpenFile("/", O_CREAT | O_RDONLY)), EISDIR);
}

TEST_F(Open, CreatWithTrailingSlashIsEisdir) {
  EXPECT_EQ(ErrnoOf(OpenFile("/a/newdir/", O_CREAT | O_RDONLY)), EISDIR);
  EXPECT_EQ(ErrnoOf(Resolve("/a/newdir", false)), ENOENT);
}

TEST_F(Open, CreatInMissingDirectoryIsEnoent) {
  EXPECT_EQ(ErrnoOf(OpenFile("/nope/f", O_CREAT | O_WRONLY)), ENOENT);
}

TEST_F(Open, CreatWithDirectoryIsEinval) {
  EXPECT_EQ(ErrnoOf(OpenFile("/a/new", O_CREAT | O_DIRECTORY | O_RDONLY)), EINVAL);
}

TEST_F(Open, CreationFlagsAreNotKept) {
  auto f = OpenFile("/a/new", O_CREAT | O_EXCL | O_TRUNC | O_RDWR | O_APPEND);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ((*f)->flags() & (O_CREAT | O_EXCL | O_TRUNC), 0);
  EXPECT_NE((*f)->flags() & O_APPEND, 0);
}

// ---- Without O_CREAT -----------------------------------------------------------------

TEST_F(Open, MissingFileIsEnoent) {
  EXPECT_EQ(ErrnoOf(OpenFile("/a/missing", O_RDONLY)), ENOENT);
  EXPECT_EQ(ErrnoOf(OpenFile("", O_RDONLY)), ENOENT);
}

TEST_F(Open, DirectoryFlagOnFileIsEnotdir) {
  EXPECT_EQ(ErrnoOf(OpenFile("/a/file", O_RDONLY | O_DIRECTORY)), ENOTDIR);
  EXPECT_TRUE(OpenFile("/a", O_RDONLY | O_DIRECTORY).has_value());
  EXPECT_TRUE(OpenFile("/link_rel", O_RDONLY | O_DIRECTORY).has_value());
}

TEST_F(Open, WriteOnDirectoryIsEisdir) {
  EXPECT_EQ(ErrnoOf(OpenFile("/a", O_WRONLY)), EISDIR);
  EXPECT_EQ(ErrnoOf(OpenFile("/a", O_RDWR)), EISDIR);
}

TEST_F(Open, NofollowOnSymlinkIsEloop) {
  EXPECT_EQ(ErrnoOf(OpenFile("/a/b/link_abs", O_RDONLY | O_NOFOLLOW)), ELOOP);
}

TEST_F(Open, NofollowFollowsEarlierComponents) {
  auto f = OpenFile("/link_a/file", O_RDONLY | O_NOFOLLOW);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ((*f)->inode(), MustResolve("/a/file").dentry->inode().get());
}

TEST_F(Open, NofollowWithPathOpensTheLinkItself) {
  auto f = OpenFile("/a/b/link_abs", O_PATH | O_NOFOLLOW);
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE((*f)->inode()->IsSymlink());
}

// Linux checks O_DIRECTORY before refusing the symlink (do_open: ENOTDIR
// comes before may_open's ELOOP), so O_NOFOLLOW|O_DIRECTORY on a symlink
// to a directory is ENOTDIR.
TEST_F(Open, NofollowDirectoryOnSymlinkIsEnotdir) {
  EXPECT_EQ(ErrnoOf(OpenFile("/link_rel", O_RDONLY | O_NOFOLLOW | O_DIRECTORY)), ENOTDIR);
}

TEST_F(Open, SymlinkIsFollowed) {
  auto f = OpenFile("/a/b/link_abs", O_RDONLY);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ((*f)->inode(), MustResolve("/a/file").dentry->inode().get());
}

// ---- O_TRUNC ---------------------------------------------------------------------------

TEST_F(Open, TruncEmptiesFileOpenedForWriting) {
  ASSERT_TRUE(OpenFile("/a/file", O_WRONLY | O_TRUNC).has_value());
  EXPECT_EQ(SizeOf("/a/file"), 0u);
}

TEST_F(Open, WithoutTruncContentStays) {
  ASSERT_TRUE(OpenFile("/a/file", O_WRONLY).has_value());
  EXPECT_EQ(ReadFile("/a/file"), "hello");
}

TEST_F(Open, TruncOnNewFileIsFine) {
  ASSERT_TRUE(OpenFile("/a/new", O_CREAT | O_TRUNC | O_WRONLY).has_value());
  EXPECT_EQ(SizeOf("/a/new"), 0u);
}

TEST_F(Open, TruncOnDirectoryIsEisdir) {
  EXPECT_EQ(ErrnoOf(OpenFile("/a", O_RDONLY | O_TRUNC)), EISDIR);
}

// open(2) calls O_RDONLY|O_TRUNC unspecified; Linux truncates (do_open
// truncates any regular file opened with O_TRUNC, after checking write
// permission), and programs that pass it see an empty file.
TEST_F(Open, TruncWithReadOnlyTruncatesLikeLinux) {
  ASSERT_TRUE(OpenFile("/a/file", O_RDONLY | O_TRUNC).has_value());
  EXPECT_EQ(SizeOf("/a/file"), 0u);
}

// ---- Permissions for a task that is not root ------------------------------------------

class Permission : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    Credentials other{2000, 3000, {}};
    Mkdir("/group", 0070, other);
    WriteFile("/group/f", "g", 0644, other);
    Mkdir("/xonly", 0711, other);
    WriteFile("/xonly/f", "x", 0644, other);
    Mkdir("/pub", 0755, other);
  }
  Result<Path> ResolveAs(const Credentials& creds, std::string_view path) {
    LookupContext ctx{root_, root_, &creds};
    return vfs_.Resolve(ctx, root_, path, true);
  }
  Result<std::shared_ptr<FileDescription>> OpenAs(const Credentials& creds, std::string_view path,
                                                  int flags) {
    LookupContext ctx{root_, root_, &creds};
    return vfs_.Open(ctx, root_, path, flags, 0644, 022);
  }

  Credentials user_{1000, 1000, {}};
};

TEST_F(Permission, SearchInOthersPrivateDirectoryIsEacces) {
  EXPECT_EQ(ErrnoOf(ResolveAs(user_, "/secret/f")), EACCES);
  EXPECT_EQ(ErrnoOf(ResolveAs(user_, "/secret/missing")), EACCES);
  EXPECT_EQ(ErrnoOf(OpenAs(user_, "/secret/f", O_RDONLY)), EACCES);
}

TEST_F(Permission, PrivateDirectoryItselfResolves) {
  EXPECT_TRUE(ResolveAs(user_, "/secret").has_value());
}

TEST_F(Permission, ListingOthersPrivateDirectoryIsEacces) {
  EXPECT_EQ(ErrnoOf(OpenAs(user_, "/secret", O_RDONLY | O_DIRECTORY)), EACCES);
}

TEST_F(Permission, OwnerMayEnter) {
  Credentials owner{2000, 2000, {}};
  EXPECT_TRUE(ResolveAs(owner, "/secret/f").has_value());
}

TEST_F(Permission, RootMayEnter) {
  EXPECT_TRUE(ResolveAs(root_creds_, "/secret/f").has_value());
}

TEST_F(Permission, GroupBitsApplyToPrimaryAndSupplementaryGroups) {
  Credentials primary{1000, 3000, {}};
  Credentials supplementary{1000, 1000, {5, 3000}};
  EXPECT_TRUE(ResolveAs(primary, "/group/f").has_value());
  EXPECT_TRUE(ResolveAs(supplementary, "/group/f").has_value());
  EXPECT_EQ(ErrnoOf(ResolveAs(user_, "/group/f")), EACCES);
}

TEST_F(Permission, OwnerBitsWinOverGroupBits) {
  // The owner of a 0070 directory is refused although its group may enter.
  Credentials owner_in_group{2000, 3000, {}};
  EXPECT_EQ(ErrnoOf(ResolveAs(owner_in_group, "/group/f")), EACCES);
}

TEST_F(Permission, SearchOnlyDirectoryCanBeTraversedButNotListed) {
  EXPECT_TRUE(ResolveAs(user_, "/xonly/f").has_value());
  EXPECT_EQ(ErrnoOf(OpenAs(user_, "/xonly", O_RDONLY | O_DIRECTORY)), EACCES);
}

TEST_F(Permission, SymlinkIntoPrivateDirectoryIsEacces) {
  MakeLink("/to_secret", "/secret/f");
  EXPECT_EQ(ErrnoOf(ResolveAs(user_, "/to_secret")), EACCES);
}

TEST_F(Permission, CreateInOthersDirectoryIsEacces) {
  EXPECT_EQ(ErrnoOf(OpenAs(user_, "/pub/new", O_CREAT | O_WRONLY)), EACCES);
  EXPECT_EQ(ErrnoOf(Resolve("/pub/new")), ENOENT);
}

TEST_F(Permission, OpenForWriteWithoutWriteBitIsEacces) {
  EXPECT_EQ(ErrnoOf(OpenAs(user_, "/a/file", O_WRONLY)), EACCES);
  EXPECT_EQ(ErrnoOf(OpenAs(user_, "/a/file", O_RDONLY | O_TRUNC)), EACCES);
  EXPECT_EQ(ReadFile("/a/file"), "hello");
  EXPECT_TRUE(OpenAs(user_, "/a/file", O_RDONLY).has_value());
}

TEST_F(Permission, CreatedFileBelongsToCreator) {
  Mkdir("/shared", 0777);
  ASSERT_TRUE(OpenAs(user_, "/shared/mine", O_CREAT | O_WRONLY).has_value());
  auto st = MustResolve("/shared/mine").dentry->inode()->Stat();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->st_uid, 1000u);
  EXPECT_EQ(st->st_gid, 1000u);
}

TEST_F(Permission, OPathNeedsNoReadPermission) {
  EXPECT_TRUE(OpenAs(user_, "/xonly/f", O_PATH).has_value());
  Credentials stranger{1000, 1000, {}};
  WriteFile("/a/noread", "", 0000);
  EXPECT_TRUE(OpenAs(stranger, "/a/noread", O_PATH).has_value());
  EXPECT_EQ(ErrnoOf(OpenAs(stranger, "/a/noread", O_RDONLY)), EACCES);
}

}  // namespace
}  // namespace husk::vfs::testing
