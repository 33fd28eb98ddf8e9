// link, rename and mknod through the Vfs (vfs/namei.cc): on tmpfs, where
// the dentry cache must follow a rename; across mounts and on read-only
// ones; and on the overlay, where the lower layer (a tmpfs here) must never
// change while its files are linked, renamed and replaced above it.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/vfs/vfs_test_util.h"
#include "vfs/overlay/overlay.h"

namespace husk::vfs::testing {
namespace {

using Names = std::vector<std::string>;

class Namei : public VfsTest {
 protected:
  int Link(std::string_view from, std::string_view to, bool follow = false) {
    auto old = Resolve(from, follow);
    if (!old) return ErrnoOf(old);
    return ErrnoOf(vfs_.Link(ctx_, *old, ctx_.cwd, to));
  }
  int Rename(std::string_view from, std::string_view to, unsigned flags = 0) {
    return ErrnoOf(vfs_.Rename(ctx_, ctx_.cwd, from, ctx_.cwd, to, flags));
  }
  int Mknod(std::string_view path, mode_t mode, dev_t dev = 0) {
    return ErrnoOf(vfs_.MakeNode(ctx_, ctx_.cwd, path, mode, dev, 022));
  }
  struct stat StatOf(std::string_view path) {
    auto p = Resolve(path, false);
    EXPECT_TRUE(p.has_value()) << path;
    if (!p) return {};
    using Stat_t = struct stat;
    return p->dentry->inode()->Stat().value_or(Stat_t{});
  }
};

TEST_F(Namei, LinkCountsBothNames) {
  ASSERT_EQ(Link("/a/file", "/a/b/hard"), 0);
  EXPECT_EQ(StatOf("/a/file").st_nlink, 2u);
  EXPECT_EQ(StatOf("/a/b/hard").st_ino, StatOf("/a/file").st_ino);
  EXPECT_EQ(ReadFile("/a/b/hard"), "hello");
  EXPECT_EQ(Link("/a/file", "/a/b/hard"), EEXIST);
  EXPECT_EQ(Link("/a", "/a2"), EPERM);
  EXPECT_EQ(Link("/a/file", "/mnt/x/hard"), EXDEV);
  EXPECT_EQ(Link("/a/file", "/missing/hard"), ENOENT);
}

TEST_F(Namei, RenameMovesTheCachedDentry) {
  auto before = MustResolve("/a/b");
  ASSERT_EQ(Rename("/a/b", "/moved"), 0);
  EXPECT_EQ(ErrnoOf(Resolve("/a/b")), ENOENT);
  auto after = MustResolve("/moved");
  EXPECT_EQ(before.dentry, after.dentry);  // one dentry, moved
  EXPECT_EQ(vfs_.PathOf(ctx_.root, before), "/moved");
  EXPECT_EQ(Where("/moved/link_abs", false), "/moved/link_abs");
  EXPECT_EQ(ReadFile("/moved/link_abs"), "hello");
}

TEST_F(Namei, RenameOverATargetDropsItsDentry) {
  WriteFile("/a/other", "other");
  auto victim = MustResolve("/a/other");
  ASSERT_EQ(Rename("/a/file", "/a/other"), 0);
  EXPECT_EQ(ReadFile("/a/other"), "hello");
  EXPECT_TRUE(victim.dentry->inode()->Unlinked());
  EXPECT_NE(MustResolve("/a/other").dentry, victim.dentry);
}

TEST_F(Namei, ExchangeSwapsDentries) {
  auto file = MustResolve("/a/file");
  auto dir = MustResolve("/a/b");
  ASSERT_EQ(Rename("/a/file", "/a/b", RENAME_EXCHANGE), 0);
  EXPECT_EQ(MustResolve("/a/b").dentry, file.dentry);
  EXPECT_EQ(MustResolve("/a/file").dentry, dir.dentry);
  EXPECT_EQ(vfs_.PathOf(ctx_.root, dir), "/a/file");
  EXPECT_EQ(ReadFile("/a/b"), "hello");
}

TEST_F(Namei, RenameChecks) {
  EXPECT_EQ(Rename("/a", "/a/b/c"), EINVAL);
  EXPECT_EQ(Rename("/a/b", "/a"), ENOTEMPTY);
  EXPECT_EQ(Rename("/a/file", "/mnt/x/file"), EXDEV);
  // A mount point is busy, whether it moves or is replaced.
  EXPECT_EQ(Rename("/mnt", "/mnt2"), EBUSY);
  Mkdir("/empty");
  EXPECT_EQ(Rename("/empty", "/mnt"), EBUSY);
  EXPECT_EQ(Rename("/a/.", "/x"), EBUSY);
  EXPECT_EQ(Rename("/a/file", "/a/b", RENAME_NOREPLACE), EEXIST);
  EXPECT_EQ(Rename("/a/file", "/a/b"), EISDIR);
  EXPECT_EQ(Rename("/a/b", "/a/file"), ENOTDIR);
  EXPECT_EQ(Rename("/a/file", "/a/new", RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
}

TEST_F(Namei, ADirectoryMovedAboveAMountKeepsIt) {
  Mkdir("/outer");
  ASSERT_EQ(Rename("/mnt", "/outer/mnt"), EBUSY);
  // Moving the mount point's parent is fine: the mount moves along.
  Mkdir("/holder");
  Mkdir("/holder/point");
  auto sub = NewTmpfsMount(0755, root_creds_, "sub2");
  ASSERT_TRUE(vfs_.MountAt(MustResolve("/holder/point"), sub).has_value());
  WriteFile("/holder/point/inside", "on sub2");
  ASSERT_EQ(Rename("/holder", "/moved"), 0);
  EXPECT_EQ(ReadFile("/moved/point/inside"), "on sub2");
  EXPECT_EQ(Where("/moved/point/inside"), "/moved/point/inside");
}

TEST_F(Namei, ReadOnlyMountsAreErofs) {
  auto ro_tmpfs = NewTmpfsMount(0755, root_creds_, "ro");
  ASSERT_TRUE(ro_tmpfs->root()->inode()->Create("f", 0644, root_creds_).has_value());
  auto ro = std::make_shared<Mount>(ro_tmpfs->root(), "tmpfs", "ro", /*read_only=*/true);
  Mkdir("/ro");
  ASSERT_TRUE(vfs_.MountAt(MustResolve("/ro"), ro).has_value());
  EXPECT_EQ(Rename("/ro/f", "/ro/g"), EROFS);
  EXPECT_EQ(Link("/ro/f", "/ro/g"), EROFS);
  EXPECT_EQ(Mknod("/ro/p", S_IFIFO | 0644), EROFS);
  EXPECT_EQ(Mknod("/ro/f", S_IFIFO | 0644), EEXIST);  // an existing name first
}

TEST_F(Namei, MknodMakesNodes) {
  ASSERT_EQ(Mknod("/fifo", S_IFIFO | 0666), 0);
  EXPECT_TRUE(S_ISFIFO(StatOf("/fifo").st_mode));
  EXPECT_EQ(StatOf("/fifo").st_mode & 07777, 0644u);
  ASSERT_EQ(Mknod("/chr", S_IFCHR | 0600, makedev(4, 5)), 0);
  EXPECT_EQ(StatOf("/chr").st_rdev, makedev(4, 5));
  EXPECT_EQ(ErrnoOf(OpenFile("/chr", O_RDONLY)), ENXIO);
  ASSERT_EQ(Mknod("/reg", 0640), 0);
  EXPECT_TRUE(S_ISREG(StatOf("/reg").st_mode));
  EXPECT_EQ(Mknod("/dir", S_IFDIR | 0755), EPERM);
  EXPECT_EQ(Mknod("/lnk", S_IFLNK | 0755), EINVAL);
  // Without CAP_MKNOD: no devices but whiteouts.
  Credentials user{1000, 1000, {}};
  LookupContext as_user{root_, root_, &user};
  Mkdir("/open", 0777);
  EXPECT_EQ(ErrnoOf(vfs_.MakeNode(as_user, root_, "/open/c", S_IFCHR | 0600, makedev(1, 3), 0)), EPERM);
  EXPECT_EQ(ErrnoOf(vfs_.MakeNode(as_user, root_, "/open/w", S_IFCHR | 0600, 0, 0)), 0);
}

TEST_F(Namei, AnOTmpfileIsLinkableOnceUnlessExcl) {
  auto tmp = vfs_.Open(ctx_, ctx_.cwd, "/a", O_TMPFILE | O_RDWR, 0600, 022);
  ASSERT_TRUE(tmp.has_value());
  EXPECT_EQ(ErrnoOf(vfs_.Link(ctx_, (*tmp)->path(), ctx_.cwd, "/a/named")), 0);
  EXPECT_EQ(StatOf("/a/named").st_nlink, 1u);
  // Unlinked again, it stays nameless.
  auto dir = MustResolve("/a");
  ASSERT_TRUE(dir.dentry->inode()->Unlink("named").has_value());
  dir.dentry->ForgetChild("named");
  EXPECT_EQ(ErrnoOf(vfs_.Link(ctx_, (*tmp)->path(), ctx_.cwd, "/a/again")), ENOENT);
  auto excl = vfs_.Open(ctx_, ctx_.cwd, "/a", O_TMPFILE | O_RDWR | O_EXCL, 0600, 022);
  ASSERT_TRUE(excl.has_value());
  EXPECT_EQ(ErrnoOf(vfs_.Link(ctx_, (*excl)->path(), ctx_.cwd, "/a/excl")), ENOENT);
}

// ---- the overlay ---------------------------------------------------------------

const Credentials kRoot{0, 0, {}};

// A lower tmpfs with /etc/{hosts,motd}, /etc/conf.d/{a,b}.conf, /usr/lib/libc.so,
// and an overlay over it.
class OverlayNamei : public ::testing::Test {
 protected:
  void SetUp() override {
    lower_ = NewTmpfsMount(0755, kRoot, "lower");
    lower_vfs_.SetRoot(lower_);
    lctx_ = LookupContext{lower_vfs_.Root(), lower_vfs_.Root(), &kRoot};
    MakeDir(lower_vfs_, lctx_, "/etc");
    MakeFile(lower_vfs_, lctx_, "/etc/hosts", "hosts");
    MakeFile(lower_vfs_, lctx_, "/etc/motd", "motd");
    MakeDir(lower_vfs_, lctx_, "/etc/conf.d");
    MakeFile(lower_vfs_, lctx_, "/etc/conf.d/a.conf", "a");
    MakeFile(lower_vfs_, lctx_, "/etc/conf.d/b.conf", "b");
    MakeDir(lower_vfs_, lctx_, "/usr");
    MakeDir(lower_vfs_, lctx_, "/usr/lib");
    MakeFile(lower_vfs_, lctx_, "/usr/lib/libc.so", "libc");
    MakeDir(lower_vfs_, lctx_, "/srv");
    ovl_.SetRoot(NewOverlayMount(lower_->root()->inode(), nullptr, "overlay"));
    ctx_ = LookupContext{ovl_.Root(), ovl_.Root(), &kRoot};
  }

  static void MakeDir(Vfs& vfs, const LookupContext& ctx, std::string_view path) {
    auto pn = vfs.ResolveParent(ctx, ctx.cwd, path);
    ASSERT_TRUE(pn.has_value()) << path;
    ASSERT_TRUE(pn->parent.dentry->inode()->MakeDir(pn->name, 0755, kRoot).has_value()) << path;
  }
  static void MakeFile(Vfs& vfs, const LookupContext& ctx, std::string_view path,
                       std::string_view content) {
    auto f = vfs.Open(ctx, ctx.cwd, path, O_WRONLY | O_CREAT | O_EXCL, 0644, 022);
    ASSERT_TRUE(f.has_value()) << path << ": errno " << ErrnoOf(f);
    std::string copy(content);
    IoVecs iov{iovec{copy.data(), copy.size()}};
    ASSERT_EQ((*f)->Write(iov).value_or(0), content.size());
  }
  static std::string Read(Vfs& vfs, const LookupContext& ctx, std::string_view path) {
    auto f = vfs.Open(ctx, ctx.cwd, path, O_RDONLY, 0, 0);
    if (!f) return "errno " + std::to_string(ErrnoOf(f));
    std::string out(256, '\0');
    IoVecs iov{iovec{out.data(), out.size()}};
    out.resize((*f)->Read(iov).value_or(0));
    return out;
  }
  static Names List(Vfs& vfs, const LookupContext& ctx, std::string_view path) {
    auto p = vfs.Resolve(ctx, ctx.cwd, path, true);
    if (!p) return {"errno " + std::to_string(ErrnoOf(p))};
    auto dir = p->dentry->inode()->Open(*p, O_RDONLY);
    if (!dir) return {"errno " + std::to_string(ErrnoOf(dir))};
    auto entries = (*dir)->ReadDir();
    if (!entries) return {"errno " + std::to_string(ErrnoOf(entries))};
    Names names;
    for (const auto& e : *entries) {
      if (e.name != "." && e.name != "..") names.push_back(e.name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string Read(std::string_view path) { return Read(ovl_, ctx_, path); }
  std::string ReadLower(std::string_view path) { return Read(lower_vfs_, lctx_, path); }
  Names List(std::string_view path) { return List(ovl_, ctx_, path); }
  Names ListLower(std::string_view path) { return List(lower_vfs_, lctx_, path); }
  struct stat Stat(std::string_view path) {
    auto p = ovl_.Resolve(ctx_, ctx_.cwd, path, false);
    EXPECT_TRUE(p.has_value()) << path;
    if (!p) return {};
    using Stat_t = struct stat;
    return p->dentry->inode()->Stat().value_or(Stat_t{});
  }
  bool Exists(std::string_view path) { return ovl_.Resolve(ctx_, ctx_.cwd, path, false).has_value(); }
  int Link(std::string_view from, std::string_view to) {
    auto old = ovl_.Resolve(ctx_, ctx_.cwd, from, false);
    if (!old) return ErrnoOf(old);
    return ErrnoOf(ovl_.Link(ctx_, *old, ctx_.cwd, to));
  }
  int Rename(std::string_view from, std::string_view to, unsigned flags = 0) {
    return ErrnoOf(ovl_.Rename(ctx_, ctx_.cwd, from, ctx_.cwd, to, flags));
  }
  int Unlink(std::string_view path) {
    auto pn = ovl_.ResolveParent(ctx_, ctx_.cwd, path);
    if (!pn) return ErrnoOf(pn);
    auto r = pn->parent.dentry->inode()->Unlink(pn->name);
    if (!r) return ErrnoOf(r);
    pn->parent.dentry->ForgetChild(pn->name);
    return 0;
  }
  void ExpectLowerUntouched() {
    EXPECT_EQ(ListLower("/etc"), (Names{"conf.d", "hosts", "motd"}));
    EXPECT_EQ(ListLower("/etc/conf.d"), (Names{"a.conf", "b.conf"}));
    EXPECT_EQ(ReadLower("/etc/hosts"), "hosts");
    EXPECT_EQ(ReadLower("/etc/motd"), "motd");
    EXPECT_EQ(ReadLower("/usr/lib/libc.so"), "libc");
    auto st = lower_vfs_.Resolve(lctx_, lctx_.cwd, "/etc/hosts", false);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ((*st).dentry->inode()->Stat()->st_nlink, 1u);
  }

  std::shared_ptr<Mount> lower_;
  Vfs lower_vfs_;
  LookupContext lctx_;
  Vfs ovl_;
  LookupContext ctx_;
};

TEST_F(OverlayNamei, LinkingALowerFileCopiesItUp) {
  ASSERT_EQ(Link("/etc/hosts", "/etc/hosts2"), 0);
  EXPECT_EQ(Stat("/etc/hosts").st_ino, Stat("/etc/hosts2").st_ino);
  EXPECT_EQ(Stat("/etc/hosts").st_nlink, 2u);
  EXPECT_EQ(Read("/etc/hosts2"), "hosts");
  ASSERT_EQ(Unlink("/etc/hosts"), 0);
  EXPECT_EQ(Stat("/etc/hosts2").st_nlink, 1u);
  EXPECT_FALSE(Exists("/etc/hosts"));
  EXPECT_EQ(List("/etc"), (Names{"conf.d", "hosts2", "motd"}));
  // Into a directory that is only in the lower layer.
  ASSERT_EQ(Link("/etc/motd", "/usr/lib/motd"), 0);
  EXPECT_EQ(Read("/usr/lib/motd"), "motd");
  ExpectLowerUntouched();
}

TEST_F(OverlayNamei, RenamingALowerFileLeavesAWhiteout) {
  ASSERT_EQ(Rename("/etc/hosts", "/etc/hosts.old"), 0);
  EXPECT_FALSE(Exists("/etc/hosts"));
  EXPECT_EQ(Read("/etc/hosts.old"), "hosts");
  EXPECT_EQ(List("/etc"), (Names{"conf.d", "hosts.old", "motd"}));
  // And back over the whiteout.
  ASSERT_EQ(Rename("/etc/hosts.old", "/etc/hosts"), 0);
  EXPECT_EQ(Read("/etc/hosts"), "hosts");
  EXPECT_EQ(List("/etc"), (Names{"conf.d", "hosts", "motd"}));
  ExpectLowerUntouched();
}

TEST_F(OverlayNamei, RenamingOverALowerFileHidesIt) {
  ASSERT_EQ(Rename("/etc/motd", "/etc/hosts"), 0);
  EXPECT_EQ(Read("/etc/hosts"), "motd");
  EXPECT_EQ(List("/etc"), (Names{"conf.d", "hosts"}));
  // Removing it then does not bring the lower one back.
  ASSERT_EQ(Unlink("/etc/hosts"), 0);
  EXPECT_FALSE(Exists("/etc/hosts"));
  EXPECT_EQ(List("/etc"), (Names{"conf.d"}));
  ExpectLowerUntouched();
}

TEST_F(OverlayNamei, ALowerDirectoryMovesWhole) {
  ASSERT_EQ(Rename("/etc/conf.d", "/usr/conf"), 0);
  EXPECT_FALSE(Exists("/etc/conf.d"));
  EXPECT_EQ(List("/usr/conf"), (Names{"a.conf", "b.conf"}));
  EXPECT_EQ(Read("/usr/conf/b.conf"), "b");
  // Writing in it copies up to the new place.
  MakeFile(ovl_, ctx_, "/usr/conf/c.conf", "c");
  ASSERT_EQ(Rename("/usr/conf/a.conf", "/usr/conf/a2.conf"), 0);
  EXPECT_EQ(List("/usr/conf"), (Names{"a2.conf", "b.conf", "c.conf"}));
  EXPECT_EQ(List("/usr"), (Names{"conf", "lib"}));
  EXPECT_EQ(List("/etc"), (Names{"hosts", "motd"}));
  // A new directory under the old name is empty, not the lower one.
  MakeDir(ovl_, ctx_, "/etc/conf.d");
  EXPECT_EQ(List("/etc/conf.d"), Names{});
  ExpectLowerUntouched();
}

TEST_F(OverlayNamei, ADirectoryOverAnEmptyLowerDirectory) {
  MakeDir(ovl_, ctx_, "/new");
  MakeFile(ovl_, ctx_, "/new/f", "f");
  ASSERT_EQ(Unlink("/etc/conf.d/a.conf"), 0);
  ASSERT_EQ(Unlink("/etc/conf.d/b.conf"), 0);
  ASSERT_EQ(Rename("/new", "/etc/conf.d"), 0);
  EXPECT_EQ(List("/etc/conf.d"), (Names{"f"}));
  EXPECT_EQ(Rename("/etc", "/etc/conf.d/x"), EINVAL);
  EXPECT_EQ(Rename("/usr", "/etc"), ENOTEMPTY);
  ExpectLowerUntouched();
}

TEST_F(OverlayNamei, ADirectoryOverAnEmptyDirectoryOnlyInTheLowerLayer) {
  MakeDir(ovl_, ctx_, "/new");
  MakeFile(ovl_, ctx_, "/new/f", "f");
  auto srv = ovl_.Resolve(ctx_, ctx_.cwd, "/srv", true);
  ASSERT_TRUE(srv.has_value());
  ASSERT_EQ(Rename("/new", "/srv"), 0);
  EXPECT_TRUE(srv->dentry->inode()->Unlinked());
  EXPECT_EQ(List("/srv"), (Names{"f"}));
  EXPECT_EQ(List("/"), (Names{"etc", "srv", "usr"}));
  ASSERT_EQ(Unlink("/srv/f"), 0);
  auto pn = ovl_.ResolveParent(ctx_, ctx_.cwd, "/srv");
  ASSERT_TRUE(pn.has_value());
  ASSERT_TRUE(pn->parent.dentry->inode()->RemoveDir("srv").has_value());
  pn->parent.dentry->ForgetChild("srv");
  EXPECT_EQ(List("/"), (Names{"etc", "usr"}));  // the lower /srv stays hidden
  EXPECT_EQ(ListLower("/"), (Names{"etc", "srv", "usr"}));
}

TEST_F(OverlayNamei, ExchangeOfLowerEntries) {
  ASSERT_EQ(Rename("/etc/hosts", "/etc/conf.d", RENAME_EXCHANGE), 0);
  EXPECT_EQ(Read("/etc/conf.d"), "hosts");
  EXPECT_EQ(List("/etc/hosts"), (Names{"a.conf", "b.conf"}));
  EXPECT_EQ(List("/etc"), (Names{"conf.d", "hosts", "motd"}));
  ExpectLowerUntouched();
}

TEST_F(OverlayNamei, WhiteoutFlagIsEinval) {
  EXPECT_EQ(Rename("/etc/hosts", "/etc/h", RENAME_WHITEOUT), EINVAL);
  EXPECT_TRUE(Exists("/etc/hosts"));
}

TEST_F(OverlayNamei, MknodMakesUpperNodes) {
  ASSERT_EQ(ErrnoOf(ovl_.MakeNode(ctx_, ctx_.cwd, "/etc/fifo", S_IFIFO | 0600, 0, 0)), 0);
  EXPECT_TRUE(S_ISFIFO(Stat("/etc/fifo").st_mode));
  EXPECT_EQ(ErrnoOf(ovl_.MakeNode(ctx_, ctx_.cwd, "/etc/hosts", S_IFIFO | 0600, 0, 0)), EEXIST);
  ASSERT_EQ(Rename("/etc/fifo", "/usr/lib/fifo"), 0);
  EXPECT_TRUE(S_ISFIFO(Stat("/usr/lib/fifo").st_mode));
  ExpectLowerUntouched();
}

TEST_F(OverlayNamei, ALowerFifoIsCopiedUpAsANode) {
  ASSERT_EQ(ErrnoOf(lower_vfs_.MakeNode(lctx_, lctx_.cwd, "/etc/pipe", S_IFIFO | 0640, 0, 0)), 0);
  ASSERT_EQ(Rename("/etc/pipe", "/etc/pipe2"), 0);
  EXPECT_TRUE(S_ISFIFO(Stat("/etc/pipe2").st_mode));
  EXPECT_EQ(Stat("/etc/pipe2").st_mode & 07777, 0640u);
  auto lower = lower_vfs_.Resolve(lctx_, lctx_.cwd, "/etc/pipe", false);
  EXPECT_TRUE(lower.has_value());
}

}  // namespace
}  // namespace husk::vfs::testing
