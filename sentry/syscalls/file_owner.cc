// A file's owner and times: chown, fchown, lchown, fchownat, and the older
// forms of utimensat: utime, utimes, futimesat.
#include <fcntl.h>
#include <sys/time.h>
#include <utime.h>

#include <array>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

constexpr uint32_t kKeep = vfs::Inode::kKeepId;

// chown(2) of the file at `p`: Linux's chown_common, notify_change and
// setattr_prepare.
Result<uint64_t> SetOwner(Task& t, const vfs::Path& p, uint32_t uid, uint32_t gid) {
  const auto& inode = p.dentry->inode();
  if (p.mount->read_only() || inode->ReadOnly()) return Errno(EROFS);
  const struct stat st = TRY(inode->Stat());
  const vfs::Credentials& c = t.creds();
  const bool cap_chown = c.HasCapability(CAP_CHOWN);
  const bool owner = c.fsuid == st.st_uid;
  // Only CAP_CHOWN gives a file away; its owner may "change" it to itself.
  if (uid != kKeep && !cap_chown && !(owner && uid == st.st_uid)) return Errno(EPERM);
  // The owner may give the file one of its own groups.
  if (gid != kKeep && !cap_chown && !(owner && (c.InGroup(gid) || gid == st.st_gid))) {
    return Errno(EPERM);
  }
  auto in_group_or_capable = [&](uint32_t g) { return c.InGroup(g) || c.HasCapability(CAP_FSETID); };
  // A non-directory loses its set-user-ID bit, and its set-group-ID bit if
  // that bit means it (group execute is set) or the caller could not set
  // it (setattr_should_drop_sgid), whoever makes the change.
  mode_t clear = 0;
  if (!S_ISDIR(st.st_mode)) {
    if (st.st_mode & S_ISUID) clear |= S_ISUID;
    if ((st.st_mode & S_ISGID) && ((st.st_mode & S_IXGRP) || !in_group_or_capable(st.st_gid))) {
      clear |= S_ISGID;
    }
  }
  if (clear != 0) {
    // Dropping the bits is a mode change: the owner's or CAP_FOWNER's, and
    // the set-group-ID bit stays only for a member of the new group.
    if (!c.OwnerOrCapable(st.st_uid)) return Errno(EPERM);
    if (!in_group_or_capable(gid != kKeep ? gid : st.st_gid)) clear |= S_ISGID;
  }
  TRY(inode->SetOwner(uid, gid, clear & st.st_mode));
  // File capabilities go with the old owner (ATTR_KILL_PRIV).
  if (!S_ISDIR(st.st_mode)) (void)inode->RemoveXattr("security.capability");
  return 0;
}

Result<uint64_t> DoChown(Task& t, int dirfd, uint64_t path_addr, uint32_t uid, uint32_t gid,
                         int flags) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Errno(EINVAL);
  std::string path = TRY(CopyInPath(t, path_addr));
  vfs::Path p;
  if (path.empty() && (flags & AT_EMPTY_PATH)) {
    p = TRY(EmptyPathTarget(t, dirfd));
    if (!p.valid()) return Errno(EPERM);  // PARTIAL(host fds): stdio keeps its owner
  } else {
    vfs::Path start = TRY(StartPath(t, dirfd, path));
    p = TRY(t.kernel().vfs().Resolve(t.Lookup(), start, path, !(flags & AT_SYMLINK_NOFOLLOW)));
  }
  return SetOwner(t, p, uid, gid);
}

// utimes(2)'s timevals as utimensat's timespecs: EINVAL for a microsecond
// count outside [0, 1000000).
Result<std::array<timespec, 2>> TimesFromTimevals(Task& t, uint64_t addr) {
  auto tv = TRY((CopyInStruct<std::array<timeval, 2>>(t, addr)));
  std::array<timespec, 2> ts;
  for (int i = 0; i < 2; ++i) {
    if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) return Errno(EINVAL);
    ts[i] = timespec{tv[i].tv_sec, tv[i].tv_usec * 1000};
  }
  return ts;
}

Result<uint64_t> DoUtimes(Task& t, int dirfd, uint64_t path_addr, const timespec* times) {
  if (path_addr == 0) {
    // futimesat(fd, NULL, ...): the file the fd names.
    if (dirfd == AT_FDCWD) return Errno(EFAULT);
    auto file = TRY(t.fds().Get(dirfd));
    if (!file->path().valid()) return Errno(EPERM);  // PARTIAL(host fds)
    return SetFileTimes(t, file->path(), times);
  }
  std::string path = TRY(CopyInPath(t, path_addr));
  vfs::Path start = TRY(StartPath(t, dirfd, path));
  vfs::Path p = TRY(t.kernel().vfs().Resolve(t.Lookup(), start, path, true));
  return SetFileTimes(t, p, times);
}

}  // namespace

Result<uint64_t> Chown(Task& t, const SyscallArgs& a) {
  return DoChown(t, AT_FDCWD, a.ptr(0), a.u32(1), a.u32(2), 0);
}

Result<uint64_t> Lchown(Task& t, const SyscallArgs& a) {
  return DoChown(t, AT_FDCWD, a.ptr(0), a.u32(1), a.u32(2), AT_SYMLINK_NOFOLLOW);
}

Result<uint64_t> Fchownat(Task& t, const SyscallArgs& a) {
  return DoChown(t, a.fd(0), a.ptr(1), a.u32(2), a.u32(3), a.i32(4));
}

Result<uint64_t> Fchown(Task& t, const SyscallArgs& a) {
  auto file = TRY(t.fds().Get(a.fd(0)));
  if (file->flags() & O_PATH) return Errno(EBADF);
  if (!file->path().valid()) return Errno(EPERM);  // PARTIAL(host fds): stdio keeps its owner
  return SetOwner(t, file->path(), a.u32(1), a.u32(2));
}

Result<uint64_t> Utime(Task& t, const SyscallArgs& a) {
  std::array<timespec, 2> ts;
  const bool given = a.ptr(1) != 0;
  if (given) {
    const auto buf = TRY(CopyInStruct<struct utimbuf>(t, a.ptr(1)));
    ts = {timespec{buf.actime, 0}, timespec{buf.modtime, 0}};
  }
  return DoUtimes(t, AT_FDCWD, a.ptr(0), given ? ts.data() : nullptr);
}

Result<uint64_t> Utimes(Task& t, const SyscallArgs& a) {
  std::array<timespec, 2> ts;
  const bool given = a.ptr(1) != 0;
  if (given) ts = TRY(TimesFromTimevals(t, a.ptr(1)));
  return DoUtimes(t, AT_FDCWD, a.ptr(0), given ? ts.data() : nullptr);
}

Result<uint64_t> Futimesat(Task& t, const SyscallArgs& a) {
  std::array<timespec, 2> ts;
  const bool given = a.ptr(2) != 0;
  if (given) ts = TRY(TimesFromTimevals(t, a.ptr(2)));
  return DoUtimes(t, a.fd(0), a.ptr(1), given ? ts.data() : nullptr);
}

}  // namespace husk::syscalls
