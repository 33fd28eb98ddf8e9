// A mount tree for the path-walk and open tests: a tmpfs as root with a
// second tmpfs mounted on /mnt, and helpers to build and inspect it.
//
//   /a/            0755 root
//   /a/b/          0755 root
//   /a/file        0644 root   "hello"
//   /a/link_up  -> ../mnt/x    (relative, crosses the mount)
//   /a/b/link_abs -> /a/file   (absolute)
//   /link_rel   -> a/b         (relative)
//   /link_a     -> a
//   /dangling   -> /a/missing
//   /loop1 -> loop2, /loop2 -> loop1, /self -> self
//   /mnt/          mount point (root fs has /mnt/hidden under it)
//   /mnt/x/        on the second tmpfs
//   /mnt/x/y       "why"
//   /secret/       0700 uid 2000, with /secret/f
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "vfs/file.h"
#include "vfs/inode.h"
#include "vfs/tmpfs/tmpfs.h"
#include "vfs/vfs.h"

namespace husk::vfs::testing {

template <class T>
int ErrnoOf(const Result<T>& r) {
  return r.has_value() ? 0 : r.error().value();
}

inline bool SamePath(const Path& a, const Path& b) {
  return a.mount == b.mount && a.dentry == b.dentry;
}

class VfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_mount_ = NewTmpfsMount(0755, root_creds_, "root");
    vfs_.SetRoot(root_mount_);
    root_ = vfs_.Root();
    ctx_ = LookupContext{root_, root_, &root_creds_};

    Mkdir("/a");
    Mkdir("/a/b");
    WriteFile("/a/file", "hello");
    MakeLink("/a/link_up", "../mnt/x");
    MakeLink("/a/b/link_abs", "/a/file");
    MakeLink("/link_rel", "a/b");
    MakeLink("/link_a", "a");
    MakeLink("/dangling", "/a/missing");
    MakeLink("/loop1", "loop2");
    MakeLink("/loop2", "loop1");
    MakeLink("/self", "self");
    Mkdir("/mnt");
    WriteFile("/mnt/hidden", "covered by the mount");

    sub_mount_ = NewTmpfsMount(0755, root_creds_, "sub");
    ASSERT_TRUE(vfs_.MountAt(MustResolve("/mnt"), sub_mount_).has_value());
    Mkdir("/mnt/x");
    WriteFile("/mnt/x/y", "why");

    Credentials other{2000, 2000, {}};
    Mkdir("/secret", 0700, other);
    WriteFile("/secret/f", "s", 0644, other);
  }

  Result<Path> Resolve(std::string_view path, bool follow = true) const {
    return vfs_.Resolve(ctx_, ctx_.cwd, path, follow);
  }
  Path MustResolve(std::string_view path, bool follow = true) const {
    auto r = Resolve(path, follow);
    EXPECT_TRUE(r.has_value()) << path << ": errno " << ErrnoOf(r);
    return r.value_or(Path{});
  }
  // Where `path` leads, as getcwd(2) would print it.
  std::string Where(std::string_view path, bool follow = true) const {
    auto r = Resolve(path, follow);
    if (!r) return "errno " + std::to_string(r.error().value());
    return vfs_.PathOf(ctx_.root, *r);
  }

  Result<std::shared_ptr<FileDescription>> OpenFile(std::string_view path, int flags,
                                                mode_t mode = 0666) const {
    return vfs_.Open(ctx_, ctx_.cwd, path, flags, mode, 022);
  }

  void Mkdir(std::string_view path, mode_t mode = 0755) { Mkdir(path, mode, root_creds_); }
  void Mkdir(std::string_view path, mode_t mode, const Credentials& owner) {
    auto pn = vfs_.ResolveParent(ctx_, ctx_.cwd, path);
    ASSERT_TRUE(pn.has_value()) << path;
    ASSERT_TRUE(pn->parent.dentry->inode()->MakeDir(pn->name, mode, owner).has_value()) << path;
  }
  void MakeLink(std::string_view path, std::string_view target) {
    auto pn = vfs_.ResolveParent(ctx_, ctx_.cwd, path);
    ASSERT_TRUE(pn.has_value()) << path;
    ASSERT_TRUE(pn->parent.dentry->inode()->MakeSymlink(pn->name, target, root_creds_).has_value())
        << path;
  }
  void WriteFile(std::string_view path, std::string_view content, mode_t mode = 0644) {
    WriteFile(path, content, mode, root_creds_);
  }
  void WriteFile(std::string_view path, std::string_view content, mode_t mode,
                 const Credentials& owner) {
    auto pn = vfs_.ResolveParent(ctx_, ctx_.cwd, path);
    ASSERT_TRUE(pn.has_value()) << path;
    auto inode = pn->parent.dentry->inode()->Create(pn->name, mode, owner);
    ASSERT_TRUE(inode.has_value()) << path;
    auto file = OpenFile(path, O_WRONLY);
    ASSERT_TRUE(file.has_value()) << path;
    std::string copy(content);
    IoVecs iov{iovec{copy.data(), copy.size()}};
    ASSERT_EQ((*file)->Write(iov).value_or(0), content.size());
  }
  // The content of the file at `path`, or "errno N".
  std::string ReadFile(std::string_view path) const {
    auto file = OpenFile(path, O_RDONLY);
    if (!file) return "errno " + std::to_string(file.error().value());
    std::string out(4096, '\0');
    IoVecs iov{iovec{out.data(), out.size()}};
    auto n = (*file)->Read(iov);
    if (!n) return "errno " + std::to_string(n.error().value());
    out.resize(*n);
    return out;
  }
  uint64_t SizeOf(std::string_view path) const {
    auto p = Resolve(path);
    if (!p) return UINT64_MAX;
    return static_cast<uint64_t>(p->dentry->inode()->Stat()->st_size);
  }

  Credentials root_creds_{0, 0, {}};
  Vfs vfs_;
  std::shared_ptr<Mount> root_mount_;
  std::shared_ptr<Mount> sub_mount_;
  Path root_;
  LookupContext ctx_;
};

}  // namespace husk::vfs::testing
