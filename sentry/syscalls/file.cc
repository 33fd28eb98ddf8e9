// Path-based file syscalls: open, stat, access, readlink, getdents, cwd,
// mkdir, unlink, symlink, link, rename, mknod, truncate.
#include <dirent.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <optional>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

Result<uint64_t> DoOpen(Task& t, int dirfd, uint64_t path_addr, int flags, mode_t mode) {
  std::string path = TRY(CopyInPath(t, path_addr));
  vfs::Path start = TRY(StartPath(t, dirfd, path));
  auto file = TRY(t.kernel().vfs().Open(t.Lookup(), start, path, flags, mode, t.fs().umask));
  return InstallFd(t, std::move(file), (flags & O_CLOEXEC) != 0);
}

// stat of a path or, with AT_EMPTY_PATH and "", of dirfd itself.
Result<struct stat> StatAt(Task& t, int dirfd, uint64_t path_addr, int flags) {
  std::string path = TRY(CopyInPath(t, path_addr));
  if (path.empty()) {
    if (!(flags & AT_EMPTY_PATH)) return Errno(ENOENT);
    if (dirfd == AT_FDCWD) return t.fs().cwd.dentry->inode()->Stat();
    auto file = TRY(t.fds().Get(dirfd));
    return file->Stat();
  }
  vfs::Path start = TRY(StartPath(t, dirfd, path));
  vfs::Path p = TRY(t.kernel().vfs().Resolve(t.Lookup(), start, path, !(flags & AT_SYMLINK_NOFOLLOW)));
  return p.dentry->inode()->Stat();
}

Result<uint64_t> StatOut(Task& t, Result<struct stat> st, uint64_t addr) {
  TRY(CopyOutStruct(t, addr, TRY(std::move(st))));
  return 0;
}

Result<uint64_t> DoAccess(Task& t, int dirfd, uint64_t path_addr, int mode, int flags) {
  if (mode & ~(F_OK | R_OK | W_OK | X_OK)) return Errno(EINVAL);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EACCESS | AT_EMPTY_PATH)) return Errno(EINVAL);
  std::string path = TRY(CopyInPath(t, path_addr));
  vfs::Path p;
  if (path.empty()) {
    if (!(flags & AT_EMPTY_PATH)) return Errno(ENOENT);
    p = TRY(EmptyPathTarget(t, dirfd));
    if (!p.valid()) return 0;  // a host fd: the caller already holds it
  } else {
    vfs::Path start = TRY(StartPath(t, dirfd, path));
    p = TRY(t.kernel().vfs().Resolve(t.Lookup(), start, path, !(flags & AT_SYMLINK_NOFOLLOW)));
  }
  const auto& inode = p.dentry->inode();
  struct stat st = TRY(inode->Stat());
  // access(2) checks as the real ids, faccessat's AT_EACCESS as the
  // effective (filesystem) ones.
  TRY(vfs::CheckPermission(st, (flags & AT_EACCESS) ? t.creds() : t.creds().ForAccess(), mode));
  if ((mode & W_OK) && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) &&
      (p.mount->read_only() || inode->ReadOnly())) {
    return Errno(EROFS);
  }
  return 0;
}

Result<uint64_t> DoReadlink(Task& t, int dirfd, uint64_t path_addr, uint64_t buf, int64_t size) {
  std::string path = TRY(CopyInPath(t, path_addr));
  vfs::Path p;
  if (path.empty()) {
    // readlinkat(fd, "", ...) reads the symlink an O_PATH fd names.
    p = TRY(EmptyPathTarget(t, dirfd));
    if (!p.valid() || !p.dentry->inode()->IsSymlink()) return Errno(ENOENT);
  } else {
    vfs::Path start = TRY(StartPath(t, dirfd, path));
    p = TRY(t.kernel().vfs().Resolve(t.Lookup(), start, path, false));
  }
  if (size <= 0) return Errno(EINVAL);
  std::string target = TRY(p.dentry->inode()->ReadLink());
  size_t n = std::min<size_t>(target.size(), static_cast<size_t>(size));
  TRY(t.mm().CopyOut(buf, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(target.data()), n)));
  return n;
}

Result<uint64_t> DoMkdir(Task& t, int dirfd, uint64_t path_addr, mode_t mode) {
  std::string path = TRY(CopyInPath(t, path_addr));
  vfs::Path start = TRY(StartPath(t, dirfd, path));
  vfs::ParentAndName pn = TRY(t.kernel().vfs().ResolveParent(t.Lookup(), start, path));
  if (pn.name.empty() || pn.name == "." || pn.name == "..") return Errno(EEXIST);
  if (pn.parent.dentry->Child(pn.name)) return Errno(EEXIST);
  const auto& dir = pn.parent.dentry->inode();
  TRY(vfs::CheckDirWritable(pn.parent, t.creds()));
  auto inode = TRY(dir->MakeDir(pn.name, mode & 07777 & ~t.fs().umask, t.creds()));
  pn.parent.dentry->AddChild(pn.name, std::move(inode));
  return 0;
}

Result<uint64_t> DoUnlink(Task& t, int dirfd, uint64_t path_addr, bool rmdir) {
  std::string path = TRY(CopyInPath(t, path_addr));
  vfs::Path start = TRY(StartPath(t, dirfd, path));
  vfs::ParentAndName pn = TRY(t.kernel().vfs().ResolveParent(t.Lookup(), start, path));
  if (rmdir) {
    if (pn.name == "." || pn.name.empty()) return Errno(pn.name.empty() ? EBUSY : EINVAL);
    if (pn.name == "..") return Errno(ENOTEMPTY);
  } else if (pn.name.empty() || pn.name == "." || pn.name == "..") {
    return Errno(EISDIR);
  }
  auto child = TRY(pn.parent.dentry->Child(pn.name));
  if (!rmdir && child->inode()->IsDir()) return Errno(EISDIR);
  if (!rmdir && pn.trailing_slash) return Errno(ENOTDIR);
  if (rmdir && !child->inode()->IsDir()) return Errno(ENOTDIR);
  if (child->mounted()) return Errno(EBUSY);
  const auto& dir = pn.parent.dentry->inode();
  TRY(vfs::CheckDirWritable(pn.parent, t.creds()));
  if (rmdir) {
    TRY(dir->RemoveDir(pn.name));
  } else {
    TRY(dir->Unlink(pn.name));
  }
  pn.parent.dentry->ForgetChild(pn.name);
  return 0;
}

Result<uint64_t> DoSymlink(Task& t, uint64_t target_addr, int dirfd, uint64_t path_addr) {
  std::string target = TRY(CopyInPath(t, target_addr));
  std::string path = TRY(CopyInPath(t, path_addr));
  if (target.empty()) return Errno(ENOENT);
  vfs::Path start = TRY(StartPath(t, dirfd, path));
  vfs::ParentAndName pn = TRY(t.kernel().vfs().ResolveParent(t.Lookup(), start, path));
  if (pn.name.empty() || pn.name == "." || pn.name == ".." || pn.trailing_slash) return Errno(EEXIST);
  if (pn.parent.dentry->Child(pn.name)) return Errno(EEXIST);
  const auto& dir = pn.parent.dentry->inode();
  TRY(vfs::CheckDirWritable(pn.parent, t.creds()));
  auto inode = TRY(dir->MakeSymlink(pn.name, target, t.creds()));
  pn.parent.dentry->AddChild(pn.name, std::move(inode));
  return 0;
}

// A path argument that names something to create or move, and where its
// lookup starts. An empty path is ENOENT before the dirfd is looked at.
struct PathArg {
  std::string path;
  vfs::Path start;
};
Result<PathArg> PathAt(Task& t, int dirfd, const std::string& path) {
  if (path.empty()) return Errno(ENOENT);
  return PathArg{path, TRY(StartPath(t, dirfd, path))};
}

Result<uint64_t> DoLink(Task& t, int old_dirfd, uint64_t old_addr, int new_dirfd, uint64_t new_addr,
                        int flags) {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return Errno(EINVAL);
  std::string old_path = TRY(CopyInPath(t, old_addr));
  std::string new_path = TRY(CopyInPath(t, new_addr));
  vfs::Path old;
  // linkat(2): AT_EMPTY_PATH links the file dirfd names, and only for
  // CAP_DAC_READ_SEARCH; for anyone else "" stays ENOENT.
  if (old_path.empty() && (flags & AT_EMPTY_PATH) && t.creds().HasCapability(CAP_DAC_READ_SEARCH)) {
    old = TRY(EmptyPathTarget(t, old_dirfd));
    if (!old.valid()) return Errno(EXDEV);  // a host fd (stdio) is on no mount of ours
  } else {
    PathArg from = TRY(PathAt(t, old_dirfd, old_path));
    old = TRY(t.kernel().vfs().Resolve(t.Lookup(), from.start, from.path, (flags & AT_SYMLINK_FOLLOW) != 0));
  }
  PathArg to = TRY(PathAt(t, new_dirfd, new_path));
  TRY(t.kernel().vfs().Link(t.Lookup(), old, to.start, to.path));
  return 0;
}

Result<uint64_t> DoRename(Task& t, int old_dirfd, uint64_t old_addr, int new_dirfd, uint64_t new_addr,
                          unsigned flags) {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) return Errno(EINVAL);
  std::string old_path = TRY(CopyInPath(t, old_addr));
  std::string new_path = TRY(CopyInPath(t, new_addr));
  PathArg from = TRY(PathAt(t, old_dirfd, old_path));
  PathArg to = TRY(PathAt(t, new_dirfd, new_path));
  TRY(t.kernel().vfs().Rename(t.Lookup(), from.start, from.path, to.start, to.path, flags));
  return 0;
}

Result<uint64_t> DoMknod(Task& t, int dirfd, uint64_t path_addr, mode_t mode, uint32_t dev) {
  TRY(vfs::CheckNodeType(mode));  // before the path, as Linux's may_mknod
  std::string path = TRY(CopyInPath(t, path_addr));
  PathArg at = TRY(PathAt(t, dirfd, path));
  TRY(t.kernel().vfs().MakeNode(t.Lookup(), at.start, at.path, mode, dev, t.fs().umask));
  return 0;
}

}  // namespace

Result<uint64_t> Open(Task& t, const SyscallArgs& a) {
  return DoOpen(t, AT_FDCWD, a.ptr(0), a.i32(1), static_cast<mode_t>(a.u32(2)));
}

Result<uint64_t> Openat(Task& t, const SyscallArgs& a) {
  return DoOpen(t, a.fd(0), a.ptr(1), a.i32(2), static_cast<mode_t>(a.u32(3)));
}

Result<uint64_t> Stat(Task& t, const SyscallArgs& a) {
  return StatOut(t, StatAt(t, AT_FDCWD, a.ptr(0), 0), a.ptr(1));
}

Result<uint64_t> Lstat(Task& t, const SyscallArgs& a) {
  return StatOut(t, StatAt(t, AT_FDCWD, a.ptr(0), AT_SYMLINK_NOFOLLOW), a.ptr(1));
}

Result<uint64_t> Fstat(Task& t, const SyscallArgs& a) {
  auto file = TRY(t.fds().Get(a.fd(0)));
  return StatOut(t, file->Stat(), a.ptr(1));
}

Result<uint64_t> Newfstatat(Task& t, const SyscallArgs& a) {
  const int flags = a.i32(3);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) return Errno(EINVAL);
  return StatOut(t, StatAt(t, a.fd(0), a.ptr(1), flags), a.ptr(2));
}

Result<uint64_t> Statx(Task& t, const SyscallArgs& a) {
  const int flags = a.i32(2);
  const uint32_t mask = a.u32(3);
  constexpr int kKnown = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE;
  if ((flags & ~kKnown) || (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE) return Errno(EINVAL);
  if (mask & STATX__RESERVED) return Errno(EINVAL);
  struct stat st = TRY(StatAt(t, a.fd(0), a.ptr(1), flags));
  struct statx sx {};
  sx.stx_mask = STATX_BASIC_STATS;
  sx.stx_blksize = static_cast<uint32_t>(st.st_blksize);
  sx.stx_nlink = static_cast<uint32_t>(st.st_nlink);
  sx.stx_uid = st.st_uid;
  sx.stx_gid = st.st_gid;
  sx.stx_mode = static_cast<uint16_t>(st.st_mode);
  sx.stx_ino = st.st_ino;
  sx.stx_size = static_cast<uint64_t>(st.st_size);
  sx.stx_blocks = static_cast<uint64_t>(st.st_blocks);
  sx.stx_atime = {st.st_atim.tv_sec, static_cast<uint32_t>(st.st_atim.tv_nsec), 0};
  sx.stx_mtime = {st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec), 0};
  sx.stx_ctime = {st.st_ctim.tv_sec, static_cast<uint32_t>(st.st_ctim.tv_nsec), 0};
  sx.stx_rdev_major = major(st.st_rdev);
  sx.stx_rdev_minor = minor(st.st_rdev);
  sx.stx_dev_major = major(st.st_dev);
  sx.stx_dev_minor = minor(st.st_dev);
  TRY(CopyOutStruct(t, a.ptr(4), sx));
  return 0;
}

Result<uint64_t> Access(Task& t, const SyscallArgs& a) {
  return DoAccess(t, AT_FDCWD, a.ptr(0), a.i32(1), 0);
}

Result<uint64_t> Faccessat(Task& t, const SyscallArgs& a) {
  return DoAccess(t, a.fd(0), a.ptr(1), a.i32(2), 0);
}

Result<uint64_t> Faccessat2(Task& t, const SyscallArgs& a) {
  return DoAccess(t, a.fd(0), a.ptr(1), a.i32(2), a.i32(3));
}

Result<uint64_t> Readlink(Task& t, const SyscallArgs& a) {
  return DoReadlink(t, AT_FDCWD, a.ptr(0), a.ptr(1), a.i32(2));
}

Result<uint64_t> Readlinkat(Task& t, const SyscallArgs& a) {
  return DoReadlink(t, a.fd(0), a.ptr(1), a.ptr(2), a.i32(3));
}

// linux_dirent64 header: d_ino, d_off, d_reclen, d_type, then the name.
struct Dirent64Header {
  uint64_t ino;
  int64_t off;
  uint16_t reclen;
  uint8_t type;
} __attribute__((packed));
static_assert(sizeof(Dirent64Header) == 19);

Result<uint64_t> Getdents64(Task& t, const SyscallArgs& a) {
  auto file = TRY(t.fds().Get(a.fd(0)));
  if (file->flags() & O_PATH) return Errno(EBADF);
  auto entries = TRY(file->ReadDir());
  const uint64_t count = std::min<uint64_t>(a.size(2), INT32_MAX);
  std::vector<uint8_t> out;
  uint64_t index = file->offset();
  while (index < entries.size()) {
    const auto& e = entries[index];
    const size_t reclen = (sizeof(Dirent64Header) + e.name.size() + 1 + 7) & ~size_t{7};
    if (out.size() + reclen > count) break;
    size_t at = out.size();
    out.resize(at + reclen, 0);
    Dirent64Header h{e.ino, static_cast<int64_t>(index + 1), static_cast<uint16_t>(reclen), e.type};
    memcpy(out.data() + at, &h, sizeof(h));
    memcpy(out.data() + at + sizeof(h), e.name.data(), e.name.size());
    ++index;
  }
  if (out.empty() && index < entries.size()) return Errno(EINVAL);
  TRY(t.mm().CopyOut(a.ptr(1), out));
  file->set_offset(index);
  return out.size();
}

Result<uint64_t> Getcwd(Task& t, const SyscallArgs& a) {
  if (t.fs().cwd.dentry->inode()->Unlinked()) return Errno(ENOENT);
  std::string cwd = t.kernel().vfs().PathOf(t.fs().root, t.fs().cwd);
  if (a.size(1) < cwd.size() + 1) return Errno(ERANGE);
  TRY(t.mm().CopyOut(a.ptr(0), std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(cwd.c_str()), cwd.size() + 1)));
  return cwd.size() + 1;
}

Result<uint64_t> Chdir(Task& t, const SyscallArgs& a) {
  std::string path = TRY(CopyInPath(t, a.ptr(0)));
  vfs::Path p = TRY(t.kernel().vfs().Resolve(t.Lookup(), t.fs().cwd, path, true));
  if (!p.dentry->inode()->IsDir()) return Errno(ENOTDIR);
  TRY(vfs::CheckPermission(TRY(p.dentry->inode()->Stat()), t.creds(), X_OK));
  vfs::Path old = std::move(p);
  {
    // procfs reads another task's cwd under the kernel lock.
    absl::MutexLock lock(&t.kernel().mu());
    std::swap(t.fs().cwd, old);
  }
  return 0;
}

Result<uint64_t> Fchdir(Task& t, const SyscallArgs& a) {
  auto file = TRY(t.fds().Get(a.fd(0)));
  const vfs::Path& p = file->path();
  if (!p.valid() || !p.dentry->inode()->IsDir()) return Errno(ENOTDIR);
  TRY(vfs::CheckPermission(TRY(p.dentry->inode()->Stat()), t.creds(), X_OK));
  vfs::Path old = p;
  {
    absl::MutexLock lock(&t.kernel().mu());
    std::swap(t.fs().cwd, old);
  }
  return 0;
}

Result<uint64_t> Mkdir(Task& t, const SyscallArgs& a) {
  return DoMkdir(t, AT_FDCWD, a.ptr(0), static_cast<mode_t>(a.u32(1)));
}

Result<uint64_t> Mkdirat(Task& t, const SyscallArgs& a) {
  return DoMkdir(t, a.fd(0), a.ptr(1), static_cast<mode_t>(a.u32(2)));
}

Result<uint64_t> Unlink(Task& t, const SyscallArgs& a) { return DoUnlink(t, AT_FDCWD, a.ptr(0), false); }

Result<uint64_t> Rmdir(Task& t, const SyscallArgs& a) { return DoUnlink(t, AT_FDCWD, a.ptr(0), true); }

Result<uint64_t> Unlinkat(Task& t, const SyscallArgs& a) {
  const int flags = a.i32(2);
  if (flags & ~AT_REMOVEDIR) return Errno(EINVAL);
  return DoUnlink(t, a.fd(0), a.ptr(1), (flags & AT_REMOVEDIR) != 0);
}

Result<uint64_t> Symlink(Task& t, const SyscallArgs& a) {
  return DoSymlink(t, a.ptr(0), AT_FDCWD, a.ptr(1));
}

Result<uint64_t> Symlinkat(Task& t, const SyscallArgs& a) {
  return DoSymlink(t, a.ptr(0), a.fd(1), a.ptr(2));
}

Result<uint64_t> Link(Task& t, const SyscallArgs& a) {
  return DoLink(t, AT_FDCWD, a.ptr(0), AT_FDCWD, a.ptr(1), 0);
}

Result<uint64_t> Linkat(Task& t, const SyscallArgs& a) {
  return DoLink(t, a.fd(0), a.ptr(1), a.fd(2), a.ptr(3), a.i32(4));
}

Result<uint64_t> Rename(Task& t, const SyscallArgs& a) {
  return DoRename(t, AT_FDCWD, a.ptr(0), AT_FDCWD, a.ptr(1), 0);
}

Result<uint64_t> Renameat(Task& t, const SyscallArgs& a) {
  return DoRename(t, a.fd(0), a.ptr(1), a.fd(2), a.ptr(3), 0);
}

Result<uint64_t> Renameat2(Task& t, const SyscallArgs& a) {
  return DoRename(t, a.fd(0), a.ptr(1), a.fd(2), a.ptr(3), a.u32(4));
}

// mknod's dev is an unsigned int: the kernel's 32-bit encoding, which stat
// reports back as st_rdev.
Result<uint64_t> Mknod(Task& t, const SyscallArgs& a) {
  return DoMknod(t, AT_FDCWD, a.ptr(0), static_cast<mode_t>(a.u32(1)), a.u32(2));
}

Result<uint64_t> Mknodat(Task& t, const SyscallArgs& a) {
  return DoMknod(t, a.fd(0), a.ptr(1), static_cast<mode_t>(a.u32(2)), a.u32(3));
}

Result<uint64_t> Truncate(Task& t, const SyscallArgs& a) {
  std::string path = TRY(CopyInPath(t, a.ptr(0)));
  if (a.i64(1) < 0) return Errno(EINVAL);
  vfs::Path p = TRY(t.kernel().vfs().Resolve(t.Lookup(), t.fs().cwd, path, true));
  const auto& inode = p.dentry->inode();
  if (inode->IsDir()) return Errno(EISDIR);
  TRY(vfs::CheckPermission(TRY(inode->Stat()), t.creds(), W_OK));
  if (p.mount->read_only() || inode->ReadOnly()) return Errno(EROFS);
  TRY(inode->Truncate(a.u64(1)));
  return 0;
}

Result<uint64_t> Ftruncate(Task& t, const SyscallArgs& a) {
  if (a.i64(1) < 0) return Errno(EINVAL);
  auto file = TRY(t.fds().Get(a.fd(0)));
  vfs::Inode* inode = file->inode();
  if (inode == nullptr || !inode->IsRegular() || !file->Writable()) return Errno(EINVAL);
  TRY(inode->Truncate(a.u64(1)));
  return 0;
}

Result<uint64_t> Umask(Task& t, const SyscallArgs& a) {
  mode_t old = t.fs().umask;
  t.fs().umask = a.u32(0) & 0777;
  return old;
}

}  // namespace husk::syscalls

namespace husk::syscalls {
namespace {

// The magic number statfs reports for filesystems that leave it to the VFS.
constexpr long kDevfsMagic = 0x01021994;  // devtmpfs reports TMPFS_MAGIC

Result<uint64_t> StatfsOut(Task& t, const vfs::Path& p, uint64_t addr) {
  struct statfs st = TRY(p.dentry->inode()->StatFs());
  if (st.f_type == 0) st.f_type = kDevfsMagic;
  if (p.mount->read_only()) st.f_flags |= ST_RDONLY;
  TRY(CopyOutStruct(t, addr, st));
  return 0;
}

// utimensat's special tv_nsec values.
constexpr long kUtimeNow = (1L << 30) - 1;
constexpr long kUtimeOmit = (1L << 30) - 2;
using TimePair = std::array<timespec, 2>;

Result<uint64_t> SetTimes(Task& t, const vfs::Path& p, std::optional<TimePair> times) {
  const auto& inode = p.dentry->inode();
  struct stat st = TRY(inode->Stat());
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const bool to_now = !times || ((*times)[0].tv_nsec == kUtimeNow && (*times)[1].tv_nsec == kUtimeNow);
  // utimensat(2): setting both to now needs write permission or ownership;
  // any other value needs ownership (or CAP_FOWNER).
  if (!t.creds().OwnerOrCapable(st.st_uid)) {
    if (!to_now) return Errno(EPERM);
    TRY(vfs::CheckPermission(st, t.creds(), W_OK));
  }
  if (p.mount->read_only()) return Errno(EROFS);
  TimePair v = times.value_or(TimePair{now, now});
  if (v[0].tv_nsec == kUtimeOmit && v[1].tv_nsec == kUtimeOmit) return 0;
  const timespec old[2] = {st.st_atim, st.st_mtim};
  for (int i = 0; i < 2; ++i) {
    if (v[i].tv_nsec == kUtimeNow) v[i] = now;
    if (v[i].tv_nsec == kUtimeOmit) v[i] = old[i];
  }
  TRY(inode->SetTimes(v[0], v[1]));
  return 0;
}

// chmod(2) of the file at `p`: its owner or CAP_FOWNER. Without
// CAP_FSETID, a caller outside the file's group loses the set-group-ID bit.
Result<uint64_t> SetMode(Task& t, const vfs::Path& p, mode_t mode) {
  const auto& inode = p.dentry->inode();
  if (inode->IsSymlink()) return Errno(EOPNOTSUPP);
  struct stat st = TRY(inode->Stat());
  if (!t.creds().OwnerOrCapable(st.st_uid)) return Errno(EPERM);
  if (p.mount->read_only()) return Errno(EROFS);
  mode &= 07777;
  const auto& c = t.creds();
  const bool in_group = c.fsgid == st.st_gid ||
                        std::find(c.groups.begin(), c.groups.end(), st.st_gid) != c.groups.end();
  if (!in_group && !c.HasCapability(CAP_FSETID)) mode &= ~S_ISGID;
  TRY(inode->SetMode(mode));
  return 0;
}

}  // namespace

Result<uint64_t> SetFileTimes(Task& t, const vfs::Path& p, const timespec* times) {
  if (times == nullptr) return SetTimes(t, p, std::nullopt);
  return SetTimes(t, p, TimePair{times[0], times[1]});
}

Result<uint64_t> Chmod(Task& t, const SyscallArgs& a) {
  std::string path = TRY(CopyInPath(t, a.ptr(0)));
  vfs::Path p = TRY(t.kernel().vfs().Resolve(t.Lookup(), t.fs().cwd, path, true));
  return SetMode(t, p, a.u32(1));
}

Result<uint64_t> Fchmodat(Task& t, const SyscallArgs& a) {
  std::string path = TRY(CopyInPath(t, a.ptr(1)));
  vfs::Path start = TRY(StartPath(t, a.fd(0), path));
  vfs::Path p = TRY(t.kernel().vfs().Resolve(t.Lookup(), start, path, true));
  return SetMode(t, p, a.u32(2));
}

Result<uint64_t> Fchmod(Task& t, const SyscallArgs& a) {
  auto file = TRY(t.fds().Get(a.fd(0)));
  if (file->flags() & O_PATH) return Errno(EBADF);
  if (!file->path().valid()) return Errno(EPERM);  // PARTIAL(host fds): stdio keeps its mode
  return SetMode(t, file->path(), a.u32(1));
}

Result<uint64_t> Statfs(Task& t, const SyscallArgs& a) {
  std::string path = TRY(CopyInPath(t, a.ptr(0)));
  vfs::Path p = TRY(t.kernel().vfs().Resolve(t.Lookup(), t.fs().cwd, path, true));
  return StatfsOut(t, p, a.ptr(1));
}

Result<uint64_t> Fstatfs(Task& t, const SyscallArgs& a) {
  auto file = TRY(t.fds().Get(a.fd(0)));
  if (!file->path().valid()) {
    // A host fd (stdio): a pipe or terminal, on the kernel's internal mounts.
    struct statfs st {};
    st.f_type = file->IsTerminal() ? 0x1cd1 /* DEVPTS */ : 0x50495045 /* PIPEFS */;
    st.f_bsize = 4096;
    st.f_namelen = 255;
    st.f_frsize = 4096;
    TRY(CopyOutStruct(t, a.ptr(1), st));
    return 0;
  }
  return StatfsOut(t, file->path(), a.ptr(1));
}

Result<uint64_t> Utimensat(Task& t, const SyscallArgs& a) {
  const int dirfd = a.fd(0), flags = a.i32(3);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Errno(EINVAL);
  std::optional<TimePair> times;
  if (a.ptr(2) != 0) {
    times = TRY(CopyInStruct<TimePair>(t, a.ptr(2)));
    for (const auto& ts : *times) {
      if (ts.tv_nsec != kUtimeNow && ts.tv_nsec != kUtimeOmit &&
          (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)) {
        return Errno(EINVAL);
      }
    }
  }
  vfs::Path p;
  if (a.ptr(1) == 0) {
    // futimens(): the file dirfd names.
    if (dirfd == AT_FDCWD) return Errno(EFAULT);
    auto file = TRY(t.fds().Get(dirfd));
    if (!file->path().valid()) return Errno(EPERM);  // PARTIAL(host fds)
    p = file->path();
  } else {
    std::string path = TRY(CopyInPath(t, a.ptr(1)));
    if (path.empty()) {
      if (!(flags & AT_EMPTY_PATH)) return Errno(ENOENT);
      p = TRY(EmptyPathTarget(t, dirfd));
      if (!p.valid()) return Errno(EPERM);
    } else {
      vfs::Path start = TRY(StartPath(t, dirfd, path));
      p = TRY(t.kernel().vfs().Resolve(t.Lookup(), start, path, !(flags & AT_SYMLINK_NOFOLLOW)));
    }
  }
  return SetTimes(t, p, times);
}

}  // namespace husk::syscalls
