// The overlay filesystem (vfs/overlay): a writable tmpfs upper layer over a
// read-only lower tree, after Linux's overlayfs
// (Documentation/filesystems/overlayfs.rst): lookups and reads fall through
// to the lower layer, the first write copies a file (and its directories)
// up, removal leaves a whiteout, and a directory made over a whiteout is
// opaque. Nothing done through the overlay may change the lower tree.
//
// The lower tree is a tmpfs, built and inspected through its own Vfs:
//
//   /etc/                 0755
//   /etc/hosts            0644        "127.0.0.1 localhost\n"
//   /etc/motd             0600 1000:1000  "welcome\n"
//   /etc/conf.d/          0755
//   /etc/conf.d/a.conf    "a=1\n"
//   /etc/conf.d/b.conf    "b=2\n"
//   /etc/empty/           0700
//   /usr/lib/libc.so      0755        "\177ELF libc"
//   /usr/lib/libc.so.6 -> libc.so     (relative)
//   /lib -> usr/lib                   (a symlink to a directory)
//   /abs -> /etc/hosts                (absolute)
//   /rev/                 a directory that lists itself as zeta, mu, alpha
//                         (not sorted, as a host readdir may be)
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/vfs/vfs_test_util.h"
#include "vfs/overlay/overlay.h"

namespace husk::vfs::testing {
namespace {

const Credentials kRoot{0, 0, {}};
const Credentials kUser{1000, 1000, {}};

std::string Time(const timespec& t) {
  char buf[64];
  snprintf(buf, sizeof buf, "%lld.%09ld", static_cast<long long>(t.tv_sec), t.tv_nsec);
  return buf;
}
bool Before(const timespec& a, const timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec < b.tv_sec : a.tv_nsec < b.tv_nsec;
}

// A directory that lists its entries in reverse name order and otherwise
// is the tmpfs directory it wraps.
class ReverseListDir final : public Inode {
 public:
  explicit ReverseListDir(std::shared_ptr<Inode> dir) : Inode(S_IFDIR), dir_(std::move(dir)) {}
  Result<struct stat> Stat() override { return dir_->Stat(); }
  Result<std::shared_ptr<FileDescription>> Open(const Path& path, int flags) override {
    return dir_->Open(path, flags);
  }
  Result<std::shared_ptr<Inode>> Lookup(std::string_view name) override {
    return dir_->Lookup(name);
  }
  Result<std::vector<DirEntry>> List() override {
    auto entries = TRY(dir_->List());
    std::reverse(entries.begin(), entries.end());
    return entries;
  }

 private:
  std::shared_ptr<Inode> dir_;
};

// One mount tree seen through a Vfs, with the few system calls the tests
// need, done the way the sentry's handlers do them (sentry/syscalls/file.cc).
class Tree {
 public:
  explicit Tree(std::shared_ptr<Mount> root) {
    vfs_.SetRoot(std::move(root));
    ctx_ = LookupContext{vfs_.Root(), vfs_.Root(), &kRoot};
  }

  Result<Path> Resolve(std::string_view path, bool follow = true) const {
    return vfs_.Resolve(ctx_, ctx_.cwd, path, follow);
  }
  Result<std::shared_ptr<FileDescription>> Open(std::string_view path, int flags,
                                                mode_t mode = 0644) const {
    return vfs_.Open(ctx_, ctx_.cwd, path, flags, mode, 022);
  }
  // The content of `path`, or "errno N".
  std::string Read(std::string_view path) const {
    auto file = Open(path, O_RDONLY);
    if (!file) return "errno " + std::to_string(ErrnoOf(file));
    std::string out;
    for (;;) {
      std::string buf(4096, '\0');
      IoVecs iov{iovec{buf.data(), buf.size()}};
      auto n = (*file)->Read(iov);
      if (!n) return "errno " + std::to_string(ErrnoOf(n));
      if (*n == 0) return out;
      out.append(buf, 0, *n);
    }
  }
  // Opens `path` with `flags` and writes `data`; 0 or the errno.
  int Write(std::string_view path, std::string_view data, int flags = O_WRONLY) const {
    auto file = Open(path, flags);
    if (!file) return ErrnoOf(file);
    std::string copy(data);
    IoVecs iov{iovec{copy.data(), copy.size()}};
    auto n = (*file)->Write(iov);
    if (!n) return ErrnoOf(n);
    return *n == data.size() ? 0 : EIO;
  }
  // mkdir(2), unlink(2), rmdir(2), symlink(2): 0 or the errno.
  int Mkdir(std::string_view path, mode_t mode = 0755, const Credentials& owner = kRoot) const {
    auto pn = vfs_.ResolveParent(ctx_, ctx_.cwd, path);
    if (!pn) return ErrnoOf(pn);
    if (pn->parent.dentry->Child(pn->name)) return EEXIST;
    auto inode = pn->parent.dentry->inode()->MakeDir(pn->name, mode, owner);
    if (!inode) return ErrnoOf(inode);
    pn->parent.dentry->AddChild(pn->name, *inode);
    return 0;
  }
  int Symlink(std::string_view target, std::string_view path) const {
    auto pn = vfs_.ResolveParent(ctx_, ctx_.cwd, path);
    if (!pn) return ErrnoOf(pn);
    if (pn->parent.dentry->Child(pn->name)) return EEXIST;
    auto inode = pn->parent.dentry->inode()->MakeSymlink(pn->name, target, kRoot);
    if (!inode) return ErrnoOf(inode);
    pn->parent.dentry->AddChild(pn->name, *inode);
    return 0;
  }
  int Unlink(std::string_view path) const { return Remove(path, false); }
  int Rmdir(std::string_view path) const { return Remove(path, true); }
  // A file with `content`, made as the sentry's open(O_CREAT) makes it.
  void MakeFile(std::string_view path, std::string_view content, mode_t mode = 0644,
                const Credentials& owner = kRoot) const {
    auto pn = vfs_.ResolveParent(ctx_, ctx_.cwd, path);
    ASSERT_TRUE(pn.has_value()) << path;
    auto inode = pn->parent.dentry->inode()->Create(pn->name, mode, owner);
    ASSERT_TRUE(inode.has_value()) << path << ": errno " << ErrnoOf(inode);
    ASSERT_EQ(Write(path, content), 0) << path;
  }

  // The names List() gives for the directory `path`.
  std::vector<std::string> Names(std::string_view path) const {
    auto p = Resolve(path);
    if (!p) return {"errno " + std::to_string(ErrnoOf(p))};
    auto entries = p->dentry->inode()->List();
    if (!entries) return {"errno " + std::to_string(ErrnoOf(entries))};
    std::vector<std::string> names;
    for (const auto& e : *entries) names.push_back(e.name);
    return names;
  }
  // The names getdents64 gives through an open directory, "." and ".." too.
  std::vector<std::string> ReadDirNames(std::string_view path) const {
    auto dir = Open(path, O_RDONLY | O_DIRECTORY);
    if (!dir) return {"errno " + std::to_string(ErrnoOf(dir))};
    auto entries = (*dir)->ReadDir();
    if (!entries) return {"errno " + std::to_string(ErrnoOf(entries))};
    std::vector<std::string> names;
    for (const auto& e : *entries) names.push_back(e.name);
    return names;
  }
  Result<struct stat> Stat(std::string_view path, bool follow = true) const {
    auto p = TRY(Resolve(path, follow));
    return p.dentry->inode()->Stat();
  }

  Vfs& vfs() { return vfs_; }

 private:
  int Remove(std::string_view path, bool dir) const {
    auto pn = vfs_.ResolveParent(ctx_, ctx_.cwd, path);
    if (!pn) return ErrnoOf(pn);
    auto child = pn->parent.dentry->Child(pn->name);
    if (!child) return ErrnoOf(child);
    if (dir != (*child)->inode()->IsDir()) return dir ? ENOTDIR : EISDIR;
    const auto& parent = pn->parent.dentry->inode();
    auto r = dir ? parent->RemoveDir(pn->name) : parent->Unlink(pn->name);
    if (!r) return ErrnoOf(r);
    pn->parent.dentry->ForgetChild(pn->name);
    return 0;
  }

  Vfs vfs_;
  LookupContext ctx_;
};

class Overlay : public ::testing::Test {
 protected:
  void SetUp() override {
    lower_mount_ = NewTmpfsMount(0755, kRoot, "lower");
    lower_ = std::make_unique<Tree>(lower_mount_);
    const Tree& l = *lower_;
    ASSERT_EQ(l.Mkdir("/etc"), 0);
    l.MakeFile("/etc/hosts", "127.0.0.1 localhost\n");
    l.MakeFile("/etc/motd", "welcome\n", 0600, kUser);
    ASSERT_EQ(l.Mkdir("/etc/conf.d"), 0);
    l.MakeFile("/etc/conf.d/a.conf", "a=1\n");
    l.MakeFile("/etc/conf.d/b.conf", "b=2\n");
    ASSERT_EQ(l.Mkdir("/etc/empty", 0700), 0);
    ASSERT_EQ(l.Mkdir("/usr"), 0);
    ASSERT_EQ(l.Mkdir("/usr/lib"), 0);
    l.MakeFile("/usr/lib/libc.so", "\177ELF libc", 0755);
    ASSERT_EQ(l.Symlink("libc.so", "/usr/lib/libc.so.6"), 0);
    ASSERT_EQ(l.Symlink("usr/lib", "/lib"), 0);
    ASSERT_EQ(l.Symlink("/etc/hosts", "/abs"), 0);

    auto rev = NewTmpfsMount(0755, kRoot, "rev");
    const auto& rev_dir = rev->root()->inode();
    for (const char* name : {"alpha", "mu", "zeta"}) {
      auto f = rev_dir->Create(name, 0644, kRoot);
      ASSERT_TRUE(f.has_value());
    }
    ASSERT_TRUE(TmpfsAddNode(*lower_mount_->root()->inode(), "rev",
                             std::make_shared<ReverseListDir>(rev_dir))
                    .has_value());

    // Made after the lower tree, so that the overlay's copy-ups and the
    // lower tree's times are told apart.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    overlay_mount_ = NewOverlayMount(lower_mount_->root()->inode(), nullptr, "overlay");
    ovl_ = std::make_unique<Tree>(overlay_mount_);
  }

  // The overlay's inode for `path`, looked up from its root without the
  // dentry cache.
  Result<std::shared_ptr<Inode>> InodeAt(std::initializer_list<std::string_view> names) {
    std::shared_ptr<Inode> inode = overlay_mount_->root()->inode();
    for (auto name : names) inode = TRY(inode->Lookup(name));
    return inode;
  }

  std::shared_ptr<Mount> lower_mount_;
  std::shared_ptr<Mount> overlay_mount_;
  std::unique_ptr<Tree> lower_;
  std::unique_ptr<Tree> ovl_;
};

using Names = std::vector<std::string>;

// ---- reading the lower layer ----------------------------------------------------------

TEST_F(Overlay, ReadsLowerFiles) {
  EXPECT_EQ(ovl_->Read("/etc/hosts"), "127.0.0.1 localhost\n");
  EXPECT_EQ(ovl_->Read("/etc/conf.d/b.conf"), "b=2\n");
  EXPECT_EQ(ovl_->Read("/usr/lib/libc.so"), "\177ELF libc");
  EXPECT_EQ(ovl_->Names("/"), (Names{"abs", "etc", "lib", "rev", "usr"}));
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "empty", "hosts", "motd"}));
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/missing")), ENOENT);
  EXPECT_EQ(ErrnoOf(ovl_->Open("/etc/hosts/x", O_RDONLY)), ENOTDIR);
}

TEST_F(Overlay, UntouchedLowerFileStatEqualsLower) {
  auto o = ovl_->Stat("/etc/motd");
  auto l = lower_->Stat("/etc/motd");
  ASSERT_TRUE(o.has_value() && l.has_value());
  EXPECT_EQ(o->st_ino, l->st_ino);
  EXPECT_EQ(o->st_dev, l->st_dev);
  EXPECT_EQ(o->st_mode, l->st_mode);
  EXPECT_EQ(o->st_uid, 1000u);
  EXPECT_EQ(o->st_size, 8);
  EXPECT_EQ(Time(o->st_mtim), Time(l->st_mtim));
}

TEST_F(Overlay, UntouchedLowerDirectoryStatEqualsLower) {
  for (const char* dir : {"/", "/etc", "/etc/empty", "/usr/lib"}) {
    auto o = ovl_->Stat(dir);
    auto l = lower_->Stat(dir);
    ASSERT_TRUE(o.has_value() && l.has_value()) << dir;
    EXPECT_EQ(o->st_ino, l->st_ino) << dir;
    EXPECT_EQ(o->st_dev, l->st_dev) << dir;
    EXPECT_EQ(o->st_mode, l->st_mode) << dir;
    EXPECT_EQ(o->st_nlink, l->st_nlink) << dir;
    EXPECT_EQ(o->st_uid, l->st_uid) << dir;
    EXPECT_EQ(o->st_size, l->st_size) << dir;
    EXPECT_EQ(Time(o->st_mtim), Time(l->st_mtim)) << dir;
    EXPECT_EQ(Time(o->st_ctim), Time(l->st_ctim)) << dir;
  }
}

// Copying a file up makes its directory in the upper layer, but the merged
// directory is still the lower one to stat(2).
TEST_F(Overlay, CopyUpOfChildKeepsDirectoryIdentity) {
  ASSERT_EQ(ovl_->Write("/etc/conf.d/a.conf", "A"), 0);
  auto o = ovl_->Stat("/etc/conf.d");
  auto l = lower_->Stat("/etc/conf.d");
  ASSERT_TRUE(o.has_value() && l.has_value());
  EXPECT_EQ(o->st_ino, l->st_ino);
  EXPECT_EQ(o->st_mode, l->st_mode);
}

// ---- symlinks ------------------------------------------------------------------------

TEST_F(Overlay, LowerSymlinksResolve) {
  EXPECT_EQ(ovl_->Read("/usr/lib/libc.so.6"), "\177ELF libc");
  EXPECT_EQ(ovl_->Read("/lib/libc.so.6"), "\177ELF libc");
  EXPECT_EQ(ovl_->Read("/abs"), "127.0.0.1 localhost\n");
  EXPECT_EQ(ovl_->Names("/lib"), (Names{"libc.so", "libc.so.6"}));

  auto link = ovl_->Resolve("/lib", /*follow=*/false);
  ASSERT_TRUE(link.has_value());
  EXPECT_TRUE(link->dentry->inode()->IsSymlink());
  EXPECT_EQ(link->dentry->inode()->ReadLink().value_or("?"), "usr/lib");
  auto st = ovl_->Stat("/usr/lib/libc.so.6", /*follow=*/false);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(S_ISLNK(st->st_mode));
  EXPECT_EQ(st->st_size, 7);
  EXPECT_EQ(ErrnoOf(ovl_->Open("/abs", O_RDONLY | O_NOFOLLOW)), ELOOP);
}

TEST_F(Overlay, SymlinkLeadsToCopiedUpFile) {
  ASSERT_EQ(ovl_->Write("/etc/hosts", "::1 localhost\n", O_WRONLY | O_TRUNC), 0);
  EXPECT_EQ(ovl_->Read("/abs"), "::1 localhost\n");
  ASSERT_EQ(ovl_->Write("/lib/libc.so.6", "!", O_WRONLY | O_APPEND), 0);
  EXPECT_EQ(ovl_->Read("/usr/lib/libc.so"), "\177ELF libc!");
  EXPECT_EQ(lower_->Read("/usr/lib/libc.so"), "\177ELF libc");
}

TEST_F(Overlay, NewSymlinkInLowerDirectory) {
  ASSERT_EQ(ovl_->Symlink("../etc/motd", "/usr/motd"), 0);
  EXPECT_EQ(ovl_->Read("/usr/motd"), "welcome\n");
  EXPECT_EQ(ErrnoOf(lower_->Resolve("/usr/motd", false)), ENOENT);
}

// ---- copy-up on write ------------------------------------------------------------------

TEST_F(Overlay, WriteCopiesUpKeepingContent) {
  auto f = ovl_->Open("/etc/hosts", O_RDWR);
  ASSERT_TRUE(f.has_value()) << ErrnoOf(f);
  std::string x = "X";
  ASSERT_EQ((*f)->PWrite(IoVecs{iovec{x.data(), 1}}, 0).value_or(0), 1u);
  EXPECT_EQ(ovl_->Read("/etc/hosts"), "X27.0.0.1 localhost\n");
  EXPECT_EQ(lower_->Read("/etc/hosts"), "127.0.0.1 localhost\n");
  EXPECT_EQ(ovl_->Stat("/etc/hosts")->st_size, 20);
  EXPECT_EQ(lower_->Stat("/etc/hosts")->st_size, 20);
}

TEST_F(Overlay, AppendCopiesUpKeepingContent) {
  ASSERT_EQ(ovl_->Write("/etc/conf.d/a.conf", "c=3\n", O_WRONLY | O_APPEND), 0);
  EXPECT_EQ(ovl_->Read("/etc/conf.d/a.conf"), "a=1\nc=3\n");
  EXPECT_EQ(lower_->Read("/etc/conf.d/a.conf"), "a=1\n");
}

TEST_F(Overlay, CopyUpOfLargeFileKeepsEveryByte) {
  std::string big(3 * (1 << 20) + 12345, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  lower_->MakeFile("/usr/lib/big", big);
  ASSERT_EQ(ovl_->Write("/usr/lib/big", "", O_WRONLY | O_APPEND), 0);
  EXPECT_TRUE(ovl_->Read("/usr/lib/big") == big);
}

TEST_F(Overlay, CopyUpKeepsModeAndOwner) {
  ASSERT_EQ(ovl_->Write("/etc/motd", "W", O_RDWR), 0);
  auto st = ovl_->Stat("/etc/motd");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->st_mode, S_IFREG | 0600u);
  EXPECT_EQ(st->st_uid, 1000u);
  EXPECT_EQ(st->st_gid, 1000u);
  EXPECT_EQ(ovl_->Read("/etc/motd"), "Welcome\n");
}

// overlayfs copies the times up with the data (ovl_set_attr), so a file
// opened for writing and closed unwritten keeps its mtime.
TEST_F(Overlay, CopyUpKeepsMtime) {
  auto lower = lower_->Stat("/etc/hosts");
  ASSERT_TRUE(lower.has_value());
  ASSERT_TRUE(ovl_->Open("/etc/hosts", O_RDWR).has_value());
  auto st = ovl_->Stat("/etc/hosts");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(Time(st->st_mtim), Time(lower->st_mtim));
}

TEST_F(Overlay, ReadOnlyOpenDoesNotCopyUp) {
  ASSERT_TRUE(ovl_->Open("/etc/hosts", O_RDONLY).has_value());
  ASSERT_TRUE(ovl_->Open("/etc", O_RDONLY | O_DIRECTORY).has_value());
  ASSERT_TRUE(ovl_->Open("/etc/motd", O_PATH).has_value());
  // Still the lower inodes: nothing was copied up.
  EXPECT_EQ(ovl_->Stat("/etc/hosts")->st_ino, lower_->Stat("/etc/hosts")->st_ino);
  EXPECT_EQ(ovl_->Stat("/etc/motd")->st_ino, lower_->Stat("/etc/motd")->st_ino);
}

TEST_F(Overlay, OpenTruncEmptiesOnlyTheCopy) {
  auto f = ovl_->Open("/etc/hosts", O_WRONLY | O_TRUNC);
  ASSERT_TRUE(f.has_value()) << ErrnoOf(f);
  EXPECT_EQ(ovl_->Read("/etc/hosts"), "");
  EXPECT_EQ(ovl_->Stat("/etc/hosts")->st_size, 0);
  EXPECT_EQ(lower_->Read("/etc/hosts"), "127.0.0.1 localhost\n");
  EXPECT_EQ(lower_->Stat("/etc/hosts")->st_size, 20);
}

TEST_F(Overlay, CreatTruncOnLowerFileEmptiesOnlyTheCopy) {
  ASSERT_EQ(ovl_->Write("/etc/conf.d/b.conf", "b=9\n", O_WRONLY | O_CREAT | O_TRUNC), 0);
  EXPECT_EQ(ovl_->Read("/etc/conf.d/b.conf"), "b=9\n");
  EXPECT_EQ(lower_->Read("/etc/conf.d/b.conf"), "b=2\n");
}

TEST_F(Overlay, TruncateKeepsThePrefixInTheCopyOnly) {
  auto p = ovl_->Resolve("/etc/hosts");
  ASSERT_TRUE(p.has_value());
  ASSERT_TRUE(p->dentry->inode()->Truncate(4).has_value());
  EXPECT_EQ(ovl_->Read("/etc/hosts"), "127.");
  ASSERT_TRUE(p->dentry->inode()->Truncate(6).has_value());
  EXPECT_EQ(ovl_->Read("/etc/hosts"), std::string("127.\0\0", 6));
  EXPECT_EQ(lower_->Read("/etc/hosts"), "127.0.0.1 localhost\n");
}

// ---- creating in lower directories ----------------------------------------------------

TEST_F(Overlay, CreateInLowerOnlyDirectoryLeavesLowerUntouched) {
  auto lower_before = lower_->Stat("/etc/conf.d");
  ASSERT_EQ(ovl_->Write("/etc/conf.d/c.conf", "c=3\n", O_WRONLY | O_CREAT | O_EXCL), 0);
  EXPECT_EQ(ovl_->Read("/etc/conf.d/c.conf"), "c=3\n");
  EXPECT_EQ(ovl_->Names("/etc/conf.d"), (Names{"a.conf", "b.conf", "c.conf"}));
  // The lower files beside it still read through the copied-up directory.
  EXPECT_EQ(ovl_->Read("/etc/conf.d/a.conf"), "a=1\n");

  EXPECT_EQ(lower_->Names("/etc/conf.d"), (Names{"a.conf", "b.conf"}));
  EXPECT_EQ(lower_->Names("/etc"), (Names{"conf.d", "empty", "hosts", "motd"}));
  EXPECT_EQ(ErrnoOf(lower_->Resolve("/etc/conf.d/c.conf")), ENOENT);
  auto lower_after = lower_->Stat("/etc/conf.d");
  EXPECT_EQ(Time(lower_after->st_mtim), Time(lower_before->st_mtim));
}

TEST_F(Overlay, MkdirDeepInLowerTreeLeavesLowerUntouched) {
  ASSERT_EQ(ovl_->Mkdir("/usr/lib/python3"), 0);
  ASSERT_EQ(ovl_->Write("/usr/lib/python3/site.py", "pass\n", O_WRONLY | O_CREAT), 0);
  EXPECT_EQ(ovl_->Read("/usr/lib/python3/site.py"), "pass\n");
  EXPECT_EQ(ovl_->Names("/usr/lib"), (Names{"libc.so", "libc.so.6", "python3"}));
  EXPECT_EQ(ovl_->Names("/lib"), (Names{"libc.so", "libc.so.6", "python3"}));
  EXPECT_EQ(lower_->Names("/usr/lib"), (Names{"libc.so", "libc.so.6"}));
  EXPECT_EQ(ovl_->Mkdir("/usr/lib/python3"), EEXIST);
  EXPECT_EQ(ovl_->Mkdir("/usr/lib/libc.so"), EEXIST);
}

TEST_F(Overlay, CreateOfALowerNameIsEexist) {
  // The sentry's handlers look the name up first; the inode must refuse as
  // tmpfs does rather than hide the lower file behind an empty one.
  auto etc = InodeAt({"etc"});
  ASSERT_TRUE(etc.has_value());
  EXPECT_EQ(ErrnoOf((*etc)->Create("hosts", 0644, kRoot)), EEXIST);
  EXPECT_EQ(ErrnoOf((*etc)->MakeDir("conf.d", 0755, kRoot)), EEXIST);
  EXPECT_EQ(ovl_->Read("/etc/hosts"), "127.0.0.1 localhost\n");
  EXPECT_EQ(ovl_->Names("/etc/conf.d"), (Names{"a.conf", "b.conf"}));
}

// ---- whiteouts ------------------------------------------------------------------------

TEST_F(Overlay, UnlinkHidesLowerFile) {
  ASSERT_EQ(ovl_->Unlink("/etc/hosts"), 0);
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/hosts")), ENOENT);
  EXPECT_EQ(ErrnoOf(ovl_->Open("/etc/hosts", O_RDONLY)), ENOENT);
  auto etc = InodeAt({"etc"});
  ASSERT_TRUE(etc.has_value());
  EXPECT_EQ(ErrnoOf((*etc)->Lookup("hosts")), ENOENT);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "empty", "motd"}));
  EXPECT_EQ(ovl_->ReadDirNames("/etc"), (Names{".", "..", "conf.d", "empty", "motd"}));
  EXPECT_EQ(ovl_->Unlink("/etc/hosts"), ENOENT);
  EXPECT_EQ(ovl_->Read("/abs"), "errno " + std::to_string(ENOENT));

  EXPECT_EQ(lower_->Read("/etc/hosts"), "127.0.0.1 localhost\n");
  EXPECT_EQ(lower_->Names("/etc"), (Names{"conf.d", "empty", "hosts", "motd"}));
}

TEST_F(Overlay, UnlinkOfCopiedUpFileHidesLowerFile) {
  ASSERT_EQ(ovl_->Write("/etc/motd", "bye\n", O_WRONLY | O_TRUNC), 0);
  ASSERT_EQ(ovl_->Unlink("/etc/motd"), 0);
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/motd")), ENOENT);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "empty", "hosts"}));
  EXPECT_EQ(lower_->Read("/etc/motd"), "welcome\n");
}

TEST_F(Overlay, UnlinkOfLowerSymlinkRemovesOnlyTheLink) {
  ASSERT_EQ(ovl_->Unlink("/lib"), 0);
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/lib/libc.so", false)), ENOENT);
  EXPECT_EQ(ovl_->Read("/usr/lib/libc.so"), "\177ELF libc");
  EXPECT_EQ(lower_->Read("/lib/libc.so"), "\177ELF libc");
}

TEST_F(Overlay, UnlinkOfDirectoryIsEisdirAndRmdirOfFileEnotdir) {
  auto etc = InodeAt({"etc"});
  ASSERT_TRUE(etc.has_value());
  EXPECT_EQ(ErrnoOf((*etc)->Unlink("conf.d")), EISDIR);
  EXPECT_EQ(ErrnoOf((*etc)->RemoveDir("hosts")), ENOTDIR);
  EXPECT_EQ(ErrnoOf((*etc)->Unlink("nothing")), ENOENT);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "empty", "hosts", "motd"}));
}

TEST_F(Overlay, RecreatingWhitedOutNameShowsNewFile) {
  ASSERT_EQ(ovl_->Unlink("/etc/hosts"), 0);
  ASSERT_EQ(ovl_->Write("/etc/hosts", "new\n", O_WRONLY | O_CREAT | O_EXCL), 0);
  EXPECT_EQ(ovl_->Read("/etc/hosts"), "new\n");
  EXPECT_EQ(ovl_->Stat("/etc/hosts")->st_size, 4);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "empty", "hosts", "motd"}));
  // Not the lower file, also through a fresh lookup.
  auto hosts = InodeAt({"etc", "hosts"});
  ASSERT_TRUE(hosts.has_value());
  EXPECT_NE((*hosts)->Stat()->st_ino, lower_->Stat("/etc/hosts")->st_ino);
  // Removing it again brings back the whiteout, not the lower file.
  ASSERT_EQ(ovl_->Unlink("/etc/hosts"), 0);
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/hosts")), ENOENT);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "empty", "motd"}));
  EXPECT_EQ(lower_->Read("/etc/hosts"), "127.0.0.1 localhost\n");
}

TEST_F(Overlay, DirectoryOverWhitedOutFileHidesIt) {
  ASSERT_EQ(ovl_->Unlink("/etc/hosts"), 0);
  ASSERT_EQ(ovl_->Mkdir("/etc/hosts"), 0);
  auto st = ovl_->Stat("/etc/hosts");
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(S_ISDIR(st->st_mode));
  EXPECT_EQ(ovl_->Names("/etc/hosts"), Names{});
  EXPECT_EQ(lower_->Read("/etc/hosts"), "127.0.0.1 localhost\n");
}

TEST_F(Overlay, RmdirOfNonEmptyMergedDirectoryIsEnotempty) {
  EXPECT_EQ(ovl_->Rmdir("/etc/conf.d"), ENOTEMPTY);
  ASSERT_EQ(ovl_->Unlink("/etc/conf.d/a.conf"), 0);
  EXPECT_EQ(ovl_->Rmdir("/etc/conf.d"), ENOTEMPTY);  // b.conf is still there
  ASSERT_EQ(ovl_->Unlink("/etc/conf.d/b.conf"), 0);
  ASSERT_EQ(ovl_->Write("/etc/conf.d/new", "n", O_WRONLY | O_CREAT), 0);
  EXPECT_EQ(ovl_->Rmdir("/etc/conf.d"), ENOTEMPTY);  // an upper-only file
  EXPECT_EQ(ovl_->Names("/etc/conf.d"), Names{"new"});
  EXPECT_EQ(lower_->Names("/etc/conf.d"), (Names{"a.conf", "b.conf"}));
}

TEST_F(Overlay, RmdirOfEmptiedMergedDirectoryWorks) {
  ASSERT_EQ(ovl_->Unlink("/etc/conf.d/a.conf"), 0);
  ASSERT_EQ(ovl_->Unlink("/etc/conf.d/b.conf"), 0);
  EXPECT_EQ(ovl_->Names("/etc/conf.d"), Names{});
  ASSERT_EQ(ovl_->Rmdir("/etc/conf.d"), 0);
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/conf.d")), ENOENT);
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/conf.d/a.conf")), ENOENT);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"empty", "hosts", "motd"}));
  EXPECT_EQ(ovl_->Rmdir("/etc/conf.d"), ENOENT);

  EXPECT_EQ(lower_->Names("/etc/conf.d"), (Names{"a.conf", "b.conf"}));
  EXPECT_EQ(lower_->Read("/etc/conf.d/a.conf"), "a=1\n");
}

TEST_F(Overlay, RmdirOfEmptyLowerDirectoryWorks) {
  ASSERT_EQ(ovl_->Rmdir("/etc/empty"), 0);
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/empty")), ENOENT);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "hosts", "motd"}));
  EXPECT_TRUE(lower_->Resolve("/etc/empty").has_value());
}

TEST_F(Overlay, MkdirOverWhitedOutDirectoryIsEmpty) {
  ASSERT_EQ(ovl_->Unlink("/etc/conf.d/a.conf"), 0);
  ASSERT_EQ(ovl_->Unlink("/etc/conf.d/b.conf"), 0);
  ASSERT_EQ(ovl_->Rmdir("/etc/conf.d"), 0);
  ASSERT_EQ(ovl_->Mkdir("/etc/conf.d", 0750), 0);
  EXPECT_EQ(ovl_->Names("/etc/conf.d"), Names{});
  EXPECT_EQ(ovl_->ReadDirNames("/etc/conf.d"), (Names{".", ".."}));
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/conf.d/a.conf")), ENOENT);
  auto st = ovl_->Stat("/etc/conf.d");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->st_mode, S_IFDIR | 0750u);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "empty", "hosts", "motd"}));

  // Opaque also to fresh lookups that do not go through the dentry cache.
  auto conf = InodeAt({"etc", "conf.d"});
  ASSERT_TRUE(conf.has_value());
  EXPECT_EQ(ErrnoOf((*conf)->Lookup("a.conf")), ENOENT);
  EXPECT_EQ((*conf)->List()->size(), 0u);

  ASSERT_EQ(ovl_->Write("/etc/conf.d/z.conf", "z\n", O_WRONLY | O_CREAT), 0);
  EXPECT_EQ(ovl_->Names("/etc/conf.d"), Names{"z.conf"});
  EXPECT_EQ(lower_->Names("/etc/conf.d"), (Names{"a.conf", "b.conf"}));
}

TEST_F(Overlay, RmdirAndMkdirOfOpaqueDirectoryAgain) {
  ASSERT_EQ(ovl_->Rmdir("/etc/empty"), 0);
  ASSERT_EQ(ovl_->Mkdir("/etc/empty"), 0);
  ASSERT_EQ(ovl_->Rmdir("/etc/empty"), 0);
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/empty")), ENOENT);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "hosts", "motd"}));
  ASSERT_EQ(ovl_->Write("/etc/empty", "now a file", O_WRONLY | O_CREAT), 0);
  EXPECT_EQ(ovl_->Read("/etc/empty"), "now a file");
}

// ---- listing order --------------------------------------------------------------------

TEST_F(Overlay, ListKeepsLowerOrderAndAppendsUpperNames) {
  EXPECT_EQ(ovl_->Names("/rev"), (Names{"zeta", "mu", "alpha"}));
  ASSERT_EQ(ovl_->Write("/rev/beta", "", O_WRONLY | O_CREAT), 0);
  ASSERT_EQ(ovl_->Mkdir("/rev/aaa"), 0);
  ASSERT_EQ(ovl_->Write("/rev/mu", "copied up", O_WRONLY), 0);
  auto names = ovl_->Names("/rev");
  ASSERT_EQ(names.size(), 5u);
  EXPECT_EQ((Names{names[0], names[1], names[2]}), (Names{"zeta", "mu", "alpha"}));
  EXPECT_EQ((std::set<std::string>{names[3], names[4]}), (std::set<std::string>{"aaa", "beta"}));
  EXPECT_EQ(ovl_->Read("/rev/mu"), "copied up");

  ASSERT_EQ(ovl_->Unlink("/rev/zeta"), 0);
  names = ovl_->Names("/rev");
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ((Names{names[0], names[1]}), (Names{"mu", "alpha"}));
  auto dir = ovl_->ReadDirNames("/rev");
  ASSERT_EQ(dir.size(), 6u);
  EXPECT_EQ((Names{dir[0], dir[1], dir[2], dir[3]}), (Names{".", "..", "mu", "alpha"}));
}

TEST_F(Overlay, ListEntryTypes) {
  ASSERT_EQ(ovl_->Unlink("/etc/hosts"), 0);
  ASSERT_EQ(ovl_->Mkdir("/etc/hosts"), 0);
  auto etc = InodeAt({"etc"});
  ASSERT_TRUE(etc.has_value());
  auto entries = (*etc)->List();
  ASSERT_TRUE(entries.has_value());
  for (const auto& e : *entries) {
    const bool dir = e.name == "conf.d" || e.name == "empty" || e.name == "hosts";
    EXPECT_EQ(e.type, dir ? DT_DIR : DT_REG) << e.name;
  }
}

// ---- timestamps -----------------------------------------------------------------------

// unlink(2)/rmdir(2) (POSIX): the parent directory's mtime and ctime are
// updated, also when the entry removed was only in the lower layer.
TEST_F(Overlay, RemovingLowerEntryUpdatesDirectoryMtime) {
  ASSERT_EQ(ovl_->Unlink("/etc/motd"), 0);
  auto before = ovl_->Stat("/etc");
  ASSERT_TRUE(before.has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(ovl_->Unlink("/etc/hosts"), 0);
  auto after = ovl_->Stat("/etc");
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(Before(before->st_mtim, after->st_mtim))
      << Time(before->st_mtim) << " then " << Time(after->st_mtim);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(ovl_->Rmdir("/etc/empty"), 0);
  auto last = ovl_->Stat("/etc");
  EXPECT_TRUE(Before(after->st_mtim, last->st_mtim))
      << Time(after->st_mtim) << " then " << Time(last->st_mtim);
}

// ---- state that must outlive the objects that hold it ------------------------------

// The Inode interface lets a caller drop what Lookup gave it; the whiteouts
// must not go with the directory's in-memory inode.
TEST_F(Overlay, WhiteoutOutlivesTheDirectoryInode) {
  {
    auto etc = InodeAt({"etc"});
    ASSERT_TRUE(etc.has_value());
    ASSERT_TRUE((*etc)->Unlink("hosts").has_value());
    ASSERT_EQ(ErrnoOf((*etc)->Lookup("hosts")), ENOENT);
  }
  EXPECT_EQ(ErrnoOf(InodeAt({"etc", "hosts"})), ENOENT);
  auto etc = InodeAt({"etc"});
  ASSERT_TRUE(etc.has_value());
  auto entries = (*etc)->List();
  ASSERT_TRUE(entries.has_value());
  for (const auto& e : *entries) EXPECT_NE(e.name, "hosts");
}

// A removed lower directory that is still someone's cwd: creating in it
// fails (ENOENT, as on Linux) and does not bring it back.
TEST_F(Overlay, CreatingInRemovedLowerDirectoryDoesNotRestoreIt) {
  auto cwd = ovl_->Resolve("/etc/empty");
  ASSERT_TRUE(cwd.has_value());
  ASSERT_EQ(ovl_->Rmdir("/etc/empty"), 0);
  const auto& dir = cwd->dentry->inode();
  EXPECT_EQ(ErrnoOf(dir->MakeDir("x", 0755, kRoot)), ENOENT);
  EXPECT_EQ(ErrnoOf(dir->Create("y", 0644, kRoot)), ENOENT);
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/empty")), ENOENT);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "hosts", "motd"}));
}

// A lower file unlinked while still reachable (an open fd reopened through
// /proc/self/fd) and then opened for writing must not get its name back.
TEST_F(Overlay, WritingUnlinkedLowerFileDoesNotRestoreIt) {
  auto held = ovl_->Resolve("/etc/hosts");
  ASSERT_TRUE(held.has_value());
  ASSERT_EQ(ovl_->Unlink("/etc/hosts"), 0);
  (void)held->dentry->inode()->Open(*held, O_WRONLY);
  EXPECT_EQ(ErrnoOf(ovl_->Resolve("/etc/hosts")), ENOENT);
  EXPECT_EQ(ovl_->Names("/etc"), (Names{"conf.d", "empty", "motd"}));
}

// ---- concurrency ----------------------------------------------------------------------

// Several tasks opening one lower file for writing at once: one copy-up,
// every open succeeds, and no write is lost to a second copy.
TEST_F(Overlay, ConcurrentWritersOfOneLowerFileAllSucceed) {
  std::string big(4 << 20, 'x');
  for (int round = 0; round < 4; ++round) {
    const std::string path = "/usr/lib/shared" + std::to_string(round);
    lower_->MakeFile(path, big);
    constexpr int kThreads = 4;
    std::atomic<int> ready{0};
    std::vector<int> errors(kThreads, -1);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < kThreads) {
        }
        auto f = ovl_->Open(path, O_WRONLY);
        if (!f) {
          errors[i] = ErrnoOf(f);
          return;
        }
        std::string mark(1, static_cast<char>('0' + i));
        auto n = (*f)->PWrite(IoVecs{iovec{mark.data(), 1}}, static_cast<uint64_t>(i));
        errors[i] = n ? 0 : ErrnoOf(n);
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) EXPECT_EQ(errors[i], 0) << path << " thread " << i;
    std::string content = ovl_->Read(path);
    ASSERT_EQ(content.size(), big.size()) << path;
    EXPECT_EQ(content.substr(0, kThreads), "0123") << path;
    EXPECT_EQ(lower_->Read(path), big);
  }
}

// ---- owners and extended attributes ----------------------------------------

TEST_F(Overlay, ChownCopiesUpAndLeavesTheLowerFile) {
  auto inode = InodeAt({"etc", "motd"});
  ASSERT_TRUE(inode.has_value());
  ASSERT_TRUE((*inode)->SetOwner(42, Inode::kKeepId, S_ISUID).has_value());
  auto st = ovl_->Stat("/etc/motd");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->st_uid, 42u);
  EXPECT_EQ(st->st_gid, 1000u);
  EXPECT_EQ(ovl_->Read("/etc/motd"), "welcome\n");
  auto lower = lower_->Stat("/etc/motd");
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(lower->st_uid, 1000u);
}

// A merged directory keeps its lower identity but shows a mode or owner
// changed since (in its upper copy).
TEST_F(Overlay, ChmodAndChownOfAMergedDirectoryShow) {
  auto etc = InodeAt({"etc"});
  ASSERT_TRUE(etc.has_value());
  ASSERT_TRUE((*etc)->SetMode(0700).has_value());
  ASSERT_TRUE((*etc)->SetOwner(7, 8, 0).has_value());
  auto st = ovl_->Stat("/etc");
  auto lower = lower_->Stat("/etc");
  ASSERT_TRUE(st.has_value() && lower.has_value());
  EXPECT_EQ(st->st_ino, lower->st_ino);
  EXPECT_EQ(st->st_mode, S_IFDIR | 0700u);
  EXPECT_EQ(st->st_uid, 7u);
  EXPECT_EQ(st->st_gid, 8u);
  EXPECT_EQ(lower->st_mode, S_IFDIR | 0755u);
  EXPECT_EQ(lower->st_uid, 0u);
}

TEST_F(Overlay, XattrsLiveInTheUpperLayer) {
  auto hosts = InodeAt({"etc", "hosts"});
  ASSERT_TRUE(hosts.has_value());
  // A lower file has none, and asking copies nothing up.
  EXPECT_EQ(ErrnoOf((*hosts)->GetXattr("user.a")), ENODATA);
  EXPECT_EQ(ErrnoOf((*hosts)->RemoveXattr("user.a")), ENODATA);
  EXPECT_EQ(ErrnoOf((*hosts)->SetXattr("user.a", "v", XATTR_REPLACE)), ENODATA);
  EXPECT_EQ(ErrnoOf((*hosts)->GetXattr("foo.a")), EOPNOTSUPP);
  auto list = (*hosts)->ListXattr();
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE(list->empty());
  ASSERT_TRUE((*hosts)->SetXattr("user.a", "v", XATTR_CREATE).has_value());
  auto v = (*hosts)->GetXattr("user.a");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "v");
  EXPECT_EQ(ErrnoOf((*hosts)->SetXattr("user.a", "w", XATTR_CREATE)), EEXIST);
  EXPECT_EQ(ovl_->Read("/etc/hosts"), "127.0.0.1 localhost\n");  // copied up whole
  auto lower = lower_->Resolve("/etc/hosts");
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(ErrnoOf(lower->dentry->inode()->GetXattr("user.a")), ENODATA);
}

}  // namespace
}  // namespace husk::vfs::testing
