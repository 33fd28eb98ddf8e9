// The gofer's write operations through the Client: what they do to the
// host, the errors Linux gives, EROFS on a read-only export, and that no
// symlink ever leads a write out of the export.
#include <fcntl.h>
#include <stdio.h>  // RENAME_*
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/unit/gofer/test_tree.h"

namespace husk::gofer::testing {
namespace {

template <class T>
std::string ErrName(const Result<T>& r) {
  return r.has_value() ? "OK" : std::string(ErrnoName(r.error().value()));
}

std::string HostFile(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}

bool HostExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(out.size()))) > 0) {
    out.append(buf, n);
  }
  return out;
}

Owner Me() { return {static_cast<uint32_t>(::getuid()), static_cast<uint32_t>(::getgid())}; }

// Each test works in a directory of its own in the writable export (export
// 1), and has a directory "outside" next to the exports that symlinks in
// its directory point at: a write that followed one would land there.
class GoferWriteTest : public GoferTest {
 protected:
  void SetUp() override {
    GoferTest::SetUp();
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    host_ = Tree().rw + "/" + name_;
    outside_ = Tree().base + "/outside_" + name_;
    std::filesystem::remove_all(host_);
    std::filesystem::remove_all(outside_);
    std::filesystem::create_directories(host_);
    std::filesystem::create_directories(outside_);
    ASSERT_EQ(::symlink(outside_.c_str(), (host_ + "/link_out").c_str()), 0);
    ASSERT_EQ(::symlink("../..", (host_ + "/link_up").c_str()), 0);
    ASSERT_EQ(::symlink("/etc", (host_ + "/link_etc").c_str()), 0);
    auto dir = WalkPath(name_, 1);
    ASSERT_EQ(ErrName(dir), "OK");
    dir_ = dir->first;
  }

  // Nothing may ever appear outside the export.
  void TearDown() override {
    EXPECT_TRUE(std::filesystem::is_empty(outside_)) << outside_ << " was written";
    GoferTest::TearDown();
  }

  std::string Host(std::string_view name) const { return host_ + "/" + std::string(name); }

  Fid Walk(std::string_view name) {
    auto r = client_->Walk(dir_, name);
    EXPECT_EQ(ErrName(r), "OK") << name;
    return r ? r->first : 0;
  }

  Fid MakeFile(std::string_view name, std::string_view content) {
    std::ofstream(Host(name)) << content;
    return Walk(name);
  }

  std::string name_, host_, outside_;
  Fid dir_ = 0;
};

// ---- Create ----

TEST_F(GoferWriteTest, CreateMakesTheFileAndDonatesItsFd) {
  auto made = client_->Create(dir_, "new.txt", O_RDWR, 0640, Me());
  ASSERT_EQ(ErrName(made), "OK");
  ASSERT_EQ(::write(made->fd.get(), "fresh", 5), 5);
  EXPECT_EQ(HostFile(Host("new.txt")), "fresh");
  struct stat st = HostLstat(Host("new.txt"));
  EXPECT_EQ(st.st_mode, S_IFREG | 0640);
  EXPECT_EQ(made->attr.ino, st.st_ino);
  EXPECT_NE(::fcntl(made->fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::fcntl(made->fd.get(), F_GETFL) & O_ACCMODE, O_RDWR);
  // The fid names the new file.
  auto attr = client_->GetAttr(made->fid);
  ASSERT_EQ(ErrName(attr), "OK");
  EXPECT_EQ(attr->size, 5);
}

TEST_F(GoferWriteTest, CreateOpensANewFileWhateverItsMode) {
  auto made = client_->Create(dir_, "readonly", O_WRONLY | O_APPEND, 0, Me());
  ASSERT_EQ(ErrName(made), "OK");
  EXPECT_EQ(::fcntl(made->fd.get(), F_GETFL) & (O_ACCMODE | O_APPEND), O_WRONLY | O_APPEND);
  EXPECT_EQ(HostLstat(Host("readonly")).st_mode, S_IFREG | 0);
}

TEST_F(GoferWriteTest, CreateAppliesNoUmask) {
  auto made = client_->Create(dir_, "all", O_RDONLY, 0777, Me());
  ASSERT_EQ(ErrName(made), "OK");
  EXPECT_EQ(HostLstat(Host("all")).st_mode, S_IFREG | 0777);
  auto dir = client_->MkDir(dir_, "alldir", 0777, Me());
  ASSERT_EQ(ErrName(dir), "OK");
  EXPECT_EQ(HostLstat(Host("alldir")).st_mode, S_IFDIR | 0777);
}

TEST_F(GoferWriteTest, CreateOverAnyExistingNameIsEexist) {
  MakeFile("file", "keep");
  for (std::string_view name : {"file", "link_out", "link_up", "link_etc"}) {
    EXPECT_EQ(ErrName(client_->Create(dir_, name, O_RDWR, 0644, Me())), "EEXIST") << name;
  }
  ASSERT_EQ(::symlink("nowhere", Host("dangling").c_str()), 0);
  EXPECT_EQ(ErrName(client_->Create(dir_, "dangling", O_RDWR, 0644, Me())), "EEXIST");
  EXPECT_FALSE(HostExists(Host("nowhere")));
  EXPECT_EQ(HostFile(Host("file")), "keep");
}

TEST_F(GoferWriteTest, CreateRejectsBadFlagsAndModes) {
  for (int flags : {O_RDONLY | O_CREAT, O_RDWR | O_DIRECTORY, O_ACCMODE, O_RDWR | O_PATH}) {
    EXPECT_EQ(ErrName(client_->Create(dir_, "x", flags, 0644, Me())), "EINVAL") << flags;
  }
  EXPECT_FALSE(HostExists(Host("x")));
}

TEST_F(GoferWriteTest, NewFilesGetTheRequestedOwner) {
  auto made = client_->Create(dir_, "mine", O_RDWR, 0644, Me());
  ASSERT_EQ(ErrName(made), "OK");
  EXPECT_EQ(HostLstat(Host("mine")).st_uid, ::getuid());
  if (::geteuid() != 0) GTEST_SKIP() << "giving files away needs CAP_CHOWN";
  auto theirs = client_->Create(dir_, "theirs", O_RDWR, 04755, Owner{1234, 5678});
  ASSERT_EQ(ErrName(theirs), "OK");
  struct stat st = HostLstat(Host("theirs"));
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  // Never a set-user-ID file on the host (see SetIdBitsNeverReachTheHost).
  EXPECT_EQ(st.st_mode, S_IFREG | 0755);
  EXPECT_EQ(theirs->attr.uid, 1234u);
  auto dir = client_->MkDir(dir_, "theirdir", 0755, Owner{1234, 5678});
  ASSERT_EQ(ErrName(dir), "OK");
  EXPECT_EQ(HostLstat(Host("theirdir")).st_uid, 1234u);
  auto link = client_->SymLink(dir_, "theirlink", "target", Owner{1234, 5678});
  ASSERT_EQ(ErrName(link), "OK");
  EXPECT_EQ(HostLstat(Host("theirlink")).st_uid, 1234u);
}

// A sandbox's root could otherwise leave a set-user-ID root program on
// the host for other users to run.
TEST_F(GoferWriteTest, SetIdBitsNeverReachTheHost) {
  auto made = client_->Create(dir_, "suid", O_RDWR, 06755, Me());
  ASSERT_EQ(ErrName(made), "OK");
  EXPECT_EQ(HostLstat(Host("suid")).st_mode, S_IFREG | 0755);
  auto attr = client_->SetAttr(made->fid, AttrChange{.mask = kSetAttrMode, .mode = 04711});
  ASSERT_EQ(ErrName(attr), "OK");
  EXPECT_EQ(HostLstat(Host("suid")).st_mode, S_IFREG | 0711);
  auto dir = client_->MkDir(dir_, "sgid_dir", 0755, Me());
  ASSERT_EQ(ErrName(dir), "OK");
  attr = client_->SetAttr(dir->first, AttrChange{.mask = kSetAttrMode, .mode = 02775});
  ASSERT_EQ(ErrName(attr), "OK");
  EXPECT_EQ(HostLstat(Host("sgid_dir")).st_mode, S_IFDIR | 02775) << "a directory's set-group-ID stays";
}

TEST_F(GoferWriteTest, SetGroupIdDirectoryGivesItsGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs CAP_CHOWN";
  ASSERT_EQ(::mkdir(Host("sgid").c_str(), 0755), 0);
  ASSERT_EQ(::chown(Host("sgid").c_str(), 0, 4321), 0);
  ASSERT_EQ(::chmod(Host("sgid").c_str(), 02775), 0);
  Fid sgid = Walk("sgid");
  auto made = client_->Create(sgid, "f", O_RDWR, 0644, Owner{1234, 5678});
  ASSERT_EQ(ErrName(made), "OK");
  struct stat st = HostLstat(Host("sgid/f"));
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 4321u);
  auto sub = client_->MkDir(sgid, "sub", 0755, Owner{1234, 5678});
  ASSERT_EQ(ErrName(sub), "OK");
  st = HostLstat(Host("sgid/sub"));
  EXPECT_EQ(st.st_gid, 4321u);
  EXPECT_NE(st.st_mode & S_ISGID, 0u) << "a new directory inherits the set-group-ID bit";
}

// ---- MkDir, SymLink ----

TEST_F(GoferWriteTest, MkDirMakesADirectory) {
  auto dir = client_->MkDir(dir_, "d", 0750, Me());
  ASSERT_EQ(ErrName(dir), "OK");
  EXPECT_EQ(HostLstat(Host("d")).st_mode, S_IFDIR | 0750);
  EXPECT_TRUE(S_ISDIR(dir->second.mode));
  // The fid is a usable directory.
  auto inner = client_->MkDir(dir->first, "inner", 0700, Me());
  ASSERT_EQ(ErrName(inner), "OK");
  EXPECT_TRUE(std::filesystem::is_directory(Host("d/inner")));
  EXPECT_EQ(ErrName(client_->MkDir(dir_, "d", 0750, Me())), "EEXIST");
  EXPECT_EQ(ErrName(client_->MkDir(dir_, "link_out", 0750, Me())), "EEXIST");
}

TEST_F(GoferWriteTest, SymLinkStoresTheTargetAsText) {
  int i = 0;
  for (std::string_view target : {"/etc/passwd", "../../..", "plain", "a/b/../c"}) {
    std::string name = "l" + std::to_string(i++);
    auto link = client_->SymLink(dir_, name, target, Me());
    ASSERT_EQ(ErrName(link), "OK") << target;
    EXPECT_TRUE(S_ISLNK(link->second.mode));
    EXPECT_EQ(std::filesystem::read_symlink(Host(name)).string(), target);
    auto read = client_->ReadLink(link->first);
    ASSERT_EQ(ErrName(read), "OK");
    EXPECT_EQ(*read, target);
  }
  EXPECT_EQ(ErrName(client_->SymLink(dir_, "empty", "", Me())), "ENOENT");
  EXPECT_EQ(ErrName(client_->SymLink(dir_, "link_etc", "x", Me())), "EEXIST");
}

TEST_F(GoferWriteTest, MkNodMakesFifosSocketsAndWhiteouts) {
  auto fifo = client_->MkNod(dir_, "fifo", S_IFIFO | 0640, 0, Me());
  ASSERT_EQ(ErrName(fifo), "OK");
  EXPECT_EQ(HostLstat(Host("fifo")).st_mode, S_IFIFO | 0640);
  EXPECT_EQ(fifo->second.mode, S_IFIFO | 0640);
  auto sock = client_->MkNod(dir_, "sock", S_IFSOCK | 0777, 0, Me());
  ASSERT_EQ(ErrName(sock), "OK");
  EXPECT_TRUE(S_ISSOCK(HostLstat(Host("sock")).st_mode));
  if (::geteuid() == 0) {
    auto whiteout = client_->MkNod(dir_, "whiteout", S_IFCHR | 0600, 0, Me());
    ASSERT_EQ(ErrName(whiteout), "OK");
    struct stat st = HostLstat(Host("whiteout"));
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, 0u);
  }
  // Never a real device node on the host.
  EXPECT_EQ(ErrName(client_->MkNod(dir_, "null", S_IFCHR | 0666, (1 << 8) | 3, Me())), "EPERM");
  EXPECT_EQ(ErrName(client_->MkNod(dir_, "disk", S_IFBLK | 0600, 0, Me())), "EPERM");
  EXPECT_EQ(ErrName(client_->MkNod(dir_, "dir", S_IFDIR | 0755, 0, Me())), "EINVAL");
  EXPECT_EQ(ErrName(client_->MkNod(dir_, "fifo", S_IFIFO | 0600, 0, Me())), "EEXIST");
  EXPECT_FALSE(HostExists(Host("null")));
  EXPECT_FALSE(HostExists(Host("disk")));
  EXPECT_FALSE(HostExists(Host("dir")));
}

// ---- Link ----

TEST_F(GoferWriteTest, LinkGivesTheFileASecondName) {
  Fid a = MakeFile("a", "shared");
  auto b = client_->Link(dir_, "b", a);
  ASSERT_EQ(ErrName(b), "OK");
  EXPECT_EQ(HostLstat(Host("b")).st_ino, HostLstat(Host("a")).st_ino);
  EXPECT_EQ(HostLstat(Host("a")).st_nlink, 2u);
  EXPECT_EQ(b->second.nlink, 2u);
  // The new name's fid works after the old name is gone.
  ASSERT_EQ(ErrName(client_->Unlink(dir_, "a", 0)), "OK");
  auto fd = client_->Open(b->first, O_RDONLY);
  ASSERT_EQ(ErrName(fd), "OK");
  EXPECT_EQ(ReadAll(fd->get()), "shared");
}

TEST_F(GoferWriteTest, LinkOfASymlinkLinksTheLinkItself) {
  Fid link = Walk("link_out");
  auto second = client_->Link(dir_, "link2", link);
  ASSERT_EQ(ErrName(second), "OK");
  EXPECT_TRUE(S_ISLNK(HostLstat(Host("link2")).st_mode));
  EXPECT_EQ(std::filesystem::read_symlink(Host("link2")).string(), outside_);
}

TEST_F(GoferWriteTest, LinkErrors) {
  Fid a = MakeFile("a", "");
  auto sub = client_->MkDir(dir_, "sub", 0755, Me());
  ASSERT_EQ(ErrName(sub), "OK");
  EXPECT_EQ(ErrName(client_->Link(dir_, "dirlink", sub->first)), "EPERM");
  EXPECT_EQ(ErrName(client_->Link(dir_, "a", a)), "EEXIST");
  EXPECT_EQ(ErrName(client_->Link(a, "x", a)), "ENOTDIR");
  auto ro_file = WalkPath("file.txt", 0);
  ASSERT_EQ(ErrName(ro_file), "OK");
  EXPECT_EQ(ErrName(client_->Link(dir_, "cross", ro_file->first)), "EXDEV");
  auto ro_root = client_->Attach(0);
  ASSERT_EQ(ErrName(ro_root), "OK");
  EXPECT_EQ(ErrName(client_->Link(ro_root->first, "x", ro_file->first)), "EROFS");
}

// ---- Unlink ----

TEST_F(GoferWriteTest, UnlinkAndRemoveDir) {
  MakeFile("f", "");
  ASSERT_EQ(::mkdir(Host("d").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(Host("full").c_str(), 0755), 0);
  std::ofstream(Host("full/x")) << "";
  EXPECT_EQ(ErrName(client_->Unlink(dir_, "d", 0)), "EISDIR");
  EXPECT_EQ(ErrName(client_->Unlink(dir_, "f", AT_REMOVEDIR)), "ENOTDIR");
  EXPECT_EQ(ErrName(client_->Unlink(dir_, "full", AT_REMOVEDIR)), "ENOTEMPTY");
  EXPECT_EQ(ErrName(client_->Unlink(dir_, "missing", 0)), "ENOENT");
  EXPECT_EQ(ErrName(client_->Unlink(dir_, "f", AT_SYMLINK_NOFOLLOW)), "EINVAL");
  EXPECT_EQ(ErrName(client_->Unlink(dir_, "f", 0)), "OK");
  EXPECT_EQ(ErrName(client_->Unlink(dir_, "d", AT_REMOVEDIR)), "OK");
  EXPECT_FALSE(HostExists(Host("f")));
  EXPECT_FALSE(HostExists(Host("d")));
}

TEST_F(GoferWriteTest, UnlinkOfASymlinkRemovesOnlyTheLink) {
  std::ofstream(outside_ + "/victim") << "safe";
  EXPECT_EQ(ErrName(client_->Unlink(dir_, "link_out", 0)), "OK");
  EXPECT_FALSE(HostExists(Host("link_out")));
  EXPECT_EQ(HostFile(outside_ + "/victim"), "safe");
  // A symlink to a directory is not one to rmdir.
  EXPECT_EQ(ErrName(client_->Unlink(dir_, "link_etc", AT_REMOVEDIR)), "ENOTDIR");
  std::filesystem::remove(outside_ + "/victim");
}

// ---- Rename ----

TEST_F(GoferWriteTest, RenameMovesAndFidsFollow) {
  Fid a = MakeFile("a", "content");
  ASSERT_EQ(::mkdir(Host("sub").c_str(), 0755), 0);
  Fid sub = Walk("sub");
  ASSERT_EQ(ErrName(client_->Rename(dir_, "a", sub, "b", 0)), "OK");
  EXPECT_FALSE(HostExists(Host("a")));
  EXPECT_EQ(HostFile(Host("sub/b")), "content");
  // The old fid reopens the file under its new name.
  auto fd = client_->Open(a, O_RDONLY);
  ASSERT_EQ(ErrName(fd), "OK");
  EXPECT_EQ(ReadAll(fd->get()), "content");
  auto size = client_->SetAttr(a, AttrChange{.mask = kSetAttrSize, .size = 3});
  ASSERT_EQ(ErrName(size), "OK");
  EXPECT_EQ(HostFile(Host("sub/b")), "con");
}

TEST_F(GoferWriteTest, RenameFlags) {
  Fid a = MakeFile("a", "A");
  Fid b = MakeFile("b", "B");
  EXPECT_EQ(ErrName(client_->Rename(dir_, "a", dir_, "b", RENAME_NOREPLACE)), "EEXIST");
  EXPECT_EQ(ErrName(client_->Rename(dir_, "a", dir_, "b", RENAME_EXCHANGE)), "OK");
  EXPECT_EQ(HostFile(Host("a")), "B");
  EXPECT_EQ(HostFile(Host("b")), "A");
  // Both fids follow their files.
  auto fa = client_->Open(a, O_RDONLY);
  auto fb = client_->Open(b, O_RDONLY);
  ASSERT_EQ(ErrName(fa), "OK");
  ASSERT_EQ(ErrName(fb), "OK");
  EXPECT_EQ(ReadAll(fa->get()), "A");
  EXPECT_EQ(ReadAll(fb->get()), "B");
  EXPECT_EQ(ErrName(client_->Rename(dir_, "a", dir_, "c", RENAME_WHITEOUT)), "EINVAL");
  EXPECT_EQ(ErrName(client_->Rename(dir_, "a", dir_, "b", RENAME_NOREPLACE | RENAME_EXCHANGE)),
            "EINVAL");
  EXPECT_EQ(ErrName(client_->Rename(dir_, "missing", dir_, "c", 0)), "ENOENT");
  // Over an existing name: replaced. The moved file's fid follows it; the
  // replaced file's fid names nothing openable any more.
  EXPECT_EQ(ErrName(client_->Rename(dir_, "a", dir_, "b", 0)), "OK");
  EXPECT_EQ(HostFile(Host("b")), "B");
  fb = client_->Open(b, O_RDONLY);
  ASSERT_EQ(ErrName(fb), "OK");
  EXPECT_EQ(ReadAll(fb->get()), "B");
  EXPECT_EQ(ErrName(client_->Open(a, O_RDONLY)), "ESTALE");
}

TEST_F(GoferWriteTest, RenameOverASymlinkReplacesTheLink) {
  MakeFile("a", "A");
  ASSERT_EQ(ErrName(client_->Rename(dir_, "a", dir_, "link_out", 0)), "OK");
  EXPECT_TRUE(S_ISREG(HostLstat(Host("link_out")).st_mode));
  ASSERT_EQ(ErrName(client_->Rename(dir_, "link_etc", dir_, "moved_link", 0)), "OK");
  EXPECT_EQ(std::filesystem::read_symlink(Host("moved_link")).string(), "/etc");
}

TEST_F(GoferWriteTest, RenameIntoOrOutOfAReadOnlyExportIsErofs) {
  MakeFile("a", "A");
  auto ro_root = client_->Attach(0);
  ASSERT_EQ(ErrName(ro_root), "OK");
  EXPECT_EQ(ErrName(client_->Rename(dir_, "a", ro_root->first, "a", 0)), "EROFS");
  EXPECT_EQ(ErrName(client_->Rename(ro_root->first, "file.txt", dir_, "a", 0)), "EROFS");
  EXPECT_TRUE(HostExists(Host("a")));
}

// ---- SetAttr ----

TEST_F(GoferWriteTest, SetAttrChangesModeSizeAndTimes) {
  Fid f = MakeFile("f", "0123456789");
  auto attr = client_->SetAttr(f, AttrChange{.mask = kSetAttrMode, .mode = 0600});
  ASSERT_EQ(ErrName(attr), "OK");
  EXPECT_EQ(attr->mode, S_IFREG | 0600);
  EXPECT_EQ(HostLstat(Host("f")).st_mode, S_IFREG | 0600);
  attr = client_->SetAttr(f, AttrChange{.mask = kSetAttrSize, .size = 4});
  ASSERT_EQ(ErrName(attr), "OK");
  EXPECT_EQ(HostFile(Host("f")), "0123");
  EXPECT_EQ(attr->size, 4);
  attr = client_->SetAttr(f, AttrChange{.mask = kSetAttrAtime | kSetAttrMtime,
                                        .atime = {1000, 5}, .mtime = {2000, 7}});
  ASSERT_EQ(ErrName(attr), "OK");
  struct stat st = HostLstat(Host("f"));
  EXPECT_EQ(st.st_atim.tv_sec, 1000);
  EXPECT_EQ(st.st_atim.tv_nsec, 5);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);
  EXPECT_EQ(attr->mtime.tv_sec, 2000);
  // UTIME_OMIT keeps one, UTIME_NOW sets it to now.
  attr = client_->SetAttr(f, AttrChange{.mask = kSetAttrAtime | kSetAttrMtime,
                                        .atime = {0, UTIME_OMIT}, .mtime = {0, UTIME_NOW}});
  ASSERT_EQ(ErrName(attr), "OK");
  st = HostLstat(Host("f"));
  EXPECT_EQ(st.st_atim.tv_sec, 1000);
  EXPECT_GT(st.st_mtim.tv_sec, 2000);
  EXPECT_EQ(ErrName(client_->SetAttr(f, AttrChange{.mask = kSetAttrMtime, .mtime = {0, -1}})),
            "EINVAL");
}

TEST_F(GoferWriteTest, SetAttrOwner) {
  Fid f = MakeFile("f", "");
  auto same = client_->SetAttr(f, AttrChange{.mask = kSetAttrUid | kSetAttrGid,
                                             .uid = Me().uid, .gid = Me().gid});
  ASSERT_EQ(ErrName(same), "OK");
  if (::geteuid() != 0) GTEST_SKIP() << "needs CAP_CHOWN";
  auto theirs = client_->SetAttr(f, AttrChange{.mask = kSetAttrUid, .uid = 1234});
  ASSERT_EQ(ErrName(theirs), "OK");
  EXPECT_EQ(HostLstat(Host("f")).st_uid, 1234u);
  EXPECT_EQ(HostLstat(Host("f")).st_gid, Me().gid);
  // On a symlink: the link itself (lchown), never its target.
  struct stat outside_before = HostLstat(outside_);
  auto link = client_->SetAttr(Walk("link_out"), AttrChange{.mask = kSetAttrUid, .uid = 4321});
  ASSERT_EQ(ErrName(link), "OK");
  EXPECT_EQ(HostLstat(Host("link_out")).st_uid, 4321u);
  EXPECT_EQ(HostLstat(outside_).st_uid, outside_before.st_uid);
}

TEST_F(GoferWriteTest, SetAttrOnASymlinkNeverReachesItsTarget) {
  struct stat before = HostLstat(outside_);
  Fid link = Walk("link_out");
  EXPECT_EQ(ErrName(client_->SetAttr(link, AttrChange{.mask = kSetAttrMode, .mode = 0777})),
            "EOPNOTSUPP");
  EXPECT_EQ(ErrName(client_->SetAttr(link, AttrChange{.mask = kSetAttrSize, .size = 0})),
            "EINVAL");
  auto times = client_->SetAttr(link, AttrChange{.mask = kSetAttrMtime, .mtime = {3000, 0}});
  ASSERT_EQ(ErrName(times), "OK");
  EXPECT_EQ(HostLstat(Host("link_out")).st_mtim.tv_sec, 3000);
  struct stat after = HostLstat(outside_);
  EXPECT_EQ(after.st_mode, before.st_mode);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

TEST_F(GoferWriteTest, SetAttrErrors) {
  auto dir = client_->SetAttr(dir_, AttrChange{.mask = kSetAttrSize, .size = 0});
  EXPECT_EQ(ErrName(dir), "EISDIR");
  Fid f = MakeFile("f", "");
  EXPECT_EQ(ErrName(client_->SetAttr(f, AttrChange{.mask = 1u << 20})), "EINVAL");
  EXPECT_EQ(ErrName(client_->SetAttr(f, AttrChange{.mask = kSetAttrMode, .mode = 010000})),
            "EINVAL");
  auto none = client_->SetAttr(f, AttrChange{});
  ASSERT_EQ(ErrName(none), "OK");  // nothing to change: the attributes
  EXPECT_EQ(none->ino, HostLstat(Host("f")).st_ino);
  EXPECT_EQ(ErrName(client_->SetAttr(987654321, AttrChange{})), "EBADF");
}

// ---- Extended attributes ----

TEST_F(GoferWriteTest, UserXattrs) {
  Fid f = MakeFile("f", "");
  if (::setxattr(Host("f").c_str(), "user.probe", "1", 1, 0) != 0) {
    GTEST_SKIP() << "the host filesystem has no user xattrs: " << ErrnoName(errno);
  }
  ASSERT_EQ(::removexattr(Host("f").c_str(), "user.probe"), 0);
  EXPECT_EQ(ErrName(client_->GetXattr(f, "user.color")), "ENODATA");
  ASSERT_EQ(ErrName(client_->SetXattr(f, "user.color", "blue", 0)), "OK");
  char value[16] = {};
  EXPECT_EQ(::getxattr(Host("f").c_str(), "user.color", value, sizeof(value)), 4);
  EXPECT_STREQ(value, "blue");
  auto got = client_->GetXattr(f, "user.color");
  ASSERT_EQ(ErrName(got), "OK");
  EXPECT_EQ(*got, "blue");
  EXPECT_EQ(ErrName(client_->SetXattr(f, "user.color", "red", XATTR_CREATE)), "EEXIST");
  EXPECT_EQ(ErrName(client_->SetXattr(f, "user.size", "x", XATTR_REPLACE)), "ENODATA");
  ASSERT_EQ(ErrName(client_->SetXattr(f, "user.empty", "", 0)), "OK");
  auto list = client_->ListXattr(f);
  ASSERT_EQ(ErrName(list), "OK");
  std::sort(list->begin(), list->end());
  EXPECT_EQ(*list, (std::vector<std::string>{"user.color", "user.empty"}));
  ASSERT_EQ(ErrName(client_->RemoveXattr(f, "user.color")), "OK");
  EXPECT_EQ(ErrName(client_->RemoveXattr(f, "user.color")), "ENODATA");
  // Only user.* is served.
  EXPECT_EQ(ErrName(client_->SetXattr(f, "trusted.x", "1", 0)), "EOPNOTSUPP");
  EXPECT_EQ(ErrName(client_->SetXattr(f, "security.capability", "1", 0)), "EOPNOTSUPP");
  EXPECT_EQ(ErrName(client_->GetXattr(f, "system.posix_acl_access")), "EOPNOTSUPP");
  // Directories have them too; symlinks none.
  ASSERT_EQ(ErrName(client_->SetXattr(dir_, "user.dir", "d", 0)), "OK");
  Fid link = Walk("link_out");
  EXPECT_EQ(ErrName(client_->SetXattr(link, "user.x", "1", 0)), "EPERM");
  EXPECT_EQ(ErrName(client_->GetXattr(link, "user.x")), "ENODATA");
  auto link_list = client_->ListXattr(link);
  ASSERT_EQ(ErrName(link_list), "OK");
  EXPECT_TRUE(link_list->empty());
  // The read-only export: read, never write.
  auto ro_file = WalkPath("file.txt", 0);
  ASSERT_EQ(ErrName(ro_file), "OK");
  EXPECT_EQ(ErrName(client_->GetXattr(ro_file->first, "user.x")), "ENODATA");
  EXPECT_EQ(ErrName(client_->SetXattr(ro_file->first, "user.x", "1", 0)), "EROFS");
  EXPECT_EQ(ErrName(client_->RemoveXattr(ro_file->first, "user.x")), "EROFS");
}

// ---- Read-only exports ----

TEST_F(GoferWriteTest, ReadOnlyExportRefusesEveryWrite) {
  auto root = client_->Attach(0);
  ASSERT_EQ(ErrName(root), "OK");
  Fid ro = root->first;
  auto file = WalkPath("file.txt", 0);
  ASSERT_EQ(ErrName(file), "OK");
  struct stat before = HostLstat(Tree().ro + "/file.txt");
  EXPECT_EQ(ErrName(client_->Create(ro, "new", O_RDWR, 0644, Me())), "EROFS");
  EXPECT_EQ(ErrName(client_->MkDir(ro, "new", 0755, Me())), "EROFS");
  EXPECT_EQ(ErrName(client_->MkNod(ro, "new", S_IFIFO | 0644, 0, Me())), "EROFS");
  EXPECT_EQ(ErrName(client_->SymLink(ro, "new", "x", Me())), "EROFS");
  EXPECT_EQ(ErrName(client_->Link(ro, "new", file->first)), "EROFS");
  EXPECT_EQ(ErrName(client_->Unlink(ro, "file.txt", 0)), "EROFS");
  EXPECT_EQ(ErrName(client_->Unlink(ro, "dir", AT_REMOVEDIR)), "EROFS");
  EXPECT_EQ(ErrName(client_->Rename(ro, "file.txt", ro, "moved", 0)), "EROFS");
  for (uint32_t mask : {kSetAttrMode, kSetAttrSize, kSetAttrMtime, kSetAttrUid}) {
    EXPECT_EQ(ErrName(client_->SetAttr(file->first, AttrChange{.mask = mask})), "EROFS") << mask;
  }
  EXPECT_FALSE(HostExists(Tree().ro + "/new"));
  EXPECT_FALSE(HostExists(Tree().ro + "/moved"));
  struct stat after = HostLstat(Tree().ro + "/file.txt");
  EXPECT_EQ(after.st_mode, before.st_mode);
  EXPECT_EQ(after.st_size, before.st_size);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

// ---- Writes through symlinks, and the host changing under the fids ----

TEST_F(GoferWriteTest, WritesIntoASymlinkAreEnotdir) {
  for (std::string_view name : {"link_out", "link_up", "link_etc"}) {
    Fid link = Walk(name);
    EXPECT_EQ(ErrName(client_->Create(link, "x", O_RDWR, 0644, Me())), "ENOTDIR") << name;
    EXPECT_EQ(ErrName(client_->MkDir(link, "x", 0755, Me())), "ENOTDIR") << name;
    EXPECT_EQ(ErrName(client_->MkNod(link, "x", S_IFIFO | 0644, 0, Me())), "ENOTDIR") << name;
    EXPECT_EQ(ErrName(client_->SymLink(link, "x", "y", Me())), "ENOTDIR") << name;
    EXPECT_EQ(ErrName(client_->Unlink(link, "x", 0)), "ENOTDIR") << name;
    EXPECT_EQ(ErrName(client_->Rename(link, "x", dir_, "y", 0)), "ENOTDIR") << name;
    EXPECT_EQ(ErrName(client_->Rename(dir_, "link_up", link, "y", 0)), "ENOTDIR") << name;
  }
}

// A directory fid holds the directory itself: swapping the name for a
// symlink on the host afterwards changes nothing, and a fresh walk finds
// the symlink, which is no directory to write in.
TEST_F(GoferWriteTest, DirectorySwappedForASymlinkBetweenCalls) {
  ASSERT_EQ(::mkdir(Host("sub").c_str(), 0755), 0);
  Fid sub = Walk("sub");
  ASSERT_EQ(ErrName(client_->Create(sub, "first", O_RDWR, 0644, Me())), "OK");
  std::string moved = host_ + "/moved_sub";
  ASSERT_EQ(::rename(Host("sub").c_str(), moved.c_str()), 0);
  ASSERT_EQ(::symlink(outside_.c_str(), Host("sub").c_str()), 0);
  // The old fid: still the (moved) directory.
  ASSERT_EQ(ErrName(client_->Create(sub, "second", O_RDWR, 0644, Me())), "OK");
  ASSERT_EQ(ErrName(client_->MkDir(sub, "third", 0755, Me())), "OK");
  EXPECT_TRUE(HostExists(moved + "/first"));
  EXPECT_TRUE(HostExists(moved + "/second"));
  EXPECT_TRUE(HostExists(moved + "/third"));
  // A new walk: the symlink.
  Fid now = Walk("sub");
  EXPECT_EQ(ErrName(client_->Create(now, "fourth", O_RDWR, 0644, Me())), "ENOTDIR");
  EXPECT_EQ(ErrName(client_->MkDir(now, "fourth", 0755, Me())), "ENOTDIR");
  // TearDown checks that nothing reached outside_.
}

// A file fid reopens by name with O_NOFOLLOW and checks identity: a
// symlink put in the file's place is never followed.
TEST_F(GoferWriteTest, FileSwappedForASymlinkBetweenCalls) {
  std::string victim = Tree().base + "/victim_" + name_;
  std::ofstream(victim) << "victim";
  ::chmod(victim.c_str(), 0644);
  Fid f = MakeFile("f", "mine");
  ASSERT_EQ(::unlink(Host("f").c_str()), 0);
  ASSERT_EQ(::symlink(victim.c_str(), Host("f").c_str()), 0);
  EXPECT_NE(ErrName(client_->SetAttr(f, AttrChange{.mask = kSetAttrSize, .size = 0})), "OK");
  EXPECT_NE(ErrName(client_->Open(f, O_WRONLY)), "OK");
  // Mode and times act on the fid's own file (now nameless), not the link's target.
  (void)client_->SetAttr(f, AttrChange{.mask = kSetAttrMode | kSetAttrMtime, .mode = 0600,
                                       .mtime = {1, 0}});
  (void)client_->SetXattr(f, "user.x", "1", 0);
  EXPECT_EQ(HostFile(victim), "victim");
  struct stat st = HostLstat(victim);
  EXPECT_EQ(st.st_mode, S_IFREG | 0644);
  EXPECT_NE(st.st_mtim.tv_sec, 1);
  EXPECT_EQ(::getxattr(victim.c_str(), "user.x", nullptr, 0), -1);
  // Link of the fid: the gofer links the fid's file or nothing.
  auto linked = client_->Link(dir_, "linked", f);
  if (linked) {
    EXPECT_FALSE(S_ISLNK(HostLstat(Host("linked")).st_mode));
    EXPECT_NE(HostLstat(Host("linked")).st_ino, st.st_ino);
  }
  std::filesystem::remove(victim);
}

// ---- Concurrency ----

TEST_F(GoferWriteTest, ConcurrentCreatesAndUnlinks) {
  std::atomic<int> failures = 0;
  auto worker = [&](int t) {
    for (int i = 0; i < 100; ++i) {
      std::string name = "t" + std::to_string(t) + "_" + std::to_string(i);
      auto made = client_->Create(dir_, name, O_WRONLY, 0644, Me());
      if (!made || ::write(made->fd.get(), "x", 1) != 1) ++failures;
      if (made) client_->Clunk(made->fid);
      if (i % 2 == 0 && !client_->Unlink(dir_, name, 0)) ++failures;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker, t);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(host_)) {
    if (e.path().filename().string()[0] == 't') ++files;
  }
  EXPECT_EQ(files, 200u);
}

}  // namespace
}  // namespace husk::gofer::testing
