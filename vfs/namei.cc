// The operations of Linux's fs/namei.c that make or move names: link(2),
// rename(2) and mknod(2). They resolve paths, check what the VFS checks
// (permissions, sticky directories, read-only and crossed mounts, a
// directory moving under itself) in Linux's order, and leave the change
// itself to the filesystem's Inode.
#include <cstdio>

#include "vfs/vfs.h"

namespace husk::vfs {
namespace {

bool IsNormalName(std::string_view name) { return !name.empty() && name != "." && name != ".."; }

Result<void> CheckWritableMount(const Path& p) {
  if (p.mount->read_only() || p.dentry->inode()->ReadOnly()) return Errno(EROFS);
  return Ok();
}

// The last component of a path a call creates (Linux's filename_create):
// "/", "." and ".." are EEXIST, and so is any name that exists, even a
// dangling symlink; a trailing slash on a new name is ENOENT.
Result<void> CheckNewName(const ParentAndName& pn) {
  if (!IsNormalName(pn.name)) return Errno(EEXIST);
  auto child = pn.parent.dentry->Child(pn.name);
  if (child) return Errno(EEXIST);
  if (child.error() != Errno(ENOENT)) return child.error();
  if (pn.trailing_slash) return Errno(ENOENT);
  return CheckWritableMount(pn.parent);
}

// Linux's may_create: write and search permission on a live directory.
Result<void> MayCreate(const Path& dir, const Credentials& creds) {
  const auto& inode = dir.dentry->inode();
  if (inode->Unlinked()) return Errno(ENOENT);
  return CheckPermission(TRY(inode->Stat()), creds, W_OK | X_OK);
}

// Linux's check_sticky: in a sticky directory only the file's owner, the
// directory's owner or CAP_FOWNER may remove or rename a name.
bool StickyDenies(const struct stat& dir, const struct stat& victim, const Credentials& creds) {
  if (!(dir.st_mode & S_ISVTX)) return false;
  if (victim.st_uid == creds.fsuid || dir.st_uid == creds.fsuid) return false;
  return !creds.HasCapability(CAP_FOWNER);
}

// Linux's may_delete: may the name of `victim` in `dir` go away? `is_dir`:
// whether the operation is about a directory.
Result<void> MayDelete(const Path& dir, const Dentry& victim, bool is_dir, const Credentials& creds) {
  const auto& inode = dir.dentry->inode();
  const struct stat dir_st = TRY(inode->Stat());
  TRY(CheckPermission(dir_st, creds, W_OK | X_OK));
  if (StickyDenies(dir_st, TRY(victim.inode()->Stat()), creds)) return Errno(EPERM);
  if (is_dir && !victim.inode()->IsDir()) return Errno(ENOTDIR);
  if (!is_dir && victim.inode()->IsDir()) return Errno(EISDIR);
  if (inode->Unlinked()) return Errno(ENOENT);
  return Ok();
}

// Linux's may_linkat with fs.protected_hardlinks = 1 (the default): who
// does not own a file may link it only if it is a regular file, neither
// set-user-ID nor set-group-ID and executable, that they may read and write.
Result<void> MayLink(Inode& inode, const Credentials& creds) {
  const struct stat st = TRY(inode.Stat());
  if (creds.OwnerOrCapable(st.st_uid)) return Ok();
  const bool safe = S_ISREG(st.st_mode) && !(st.st_mode & S_ISUID) &&
                    (st.st_mode & (S_ISGID | S_IXGRP)) != (S_ISGID | S_IXGRP) &&
                    CheckPermission(st, creds, R_OK | W_OK).has_value();
  return safe ? Ok() : Errno(EPERM);
}

// Whether `ancestor` is `d` or above it in its mount.
bool IsAncestorOrSelf(const Dentry* ancestor, std::shared_ptr<Dentry> d) {
  for (; d; d = d->parent()) {
    if (d.get() == ancestor) return true;
  }
  return false;
}

bool SameFile(Inode& a, Inode& b) {
  if (&a == &b) return true;
  auto sa = a.Stat();
  auto sb = b.Stat();
  return sa && sb && sa->st_dev == sb->st_dev && sa->st_ino == sb->st_ino;
}

}  // namespace

Result<void> CheckNodeType(mode_t mode) {
  switch (mode & S_IFMT) {
    case 0: case S_IFREG: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK: return Ok();
    case S_IFDIR: return Errno(EPERM);
  }
  return Errno(EINVAL);
}

Result<void> Vfs::Link(const LookupContext& ctx, const Path& old, const Path& new_start,
                       std::string_view new_path) const {
  const Credentials& creds = *ctx.creds;
  ParentAndName to = TRY(ResolveParent(ctx, new_start, new_path));
  TRY(CheckNewName(to));
  if (old.mount != to.parent.mount) return Errno(EXDEV);
  const auto& inode = old.dentry->inode();
  TRY(MayLink(*inode, creds));
  TRY(MayCreate(to.parent, creds));
  if (inode->IsDir()) return Errno(EPERM);
  auto linked = TRY(to.parent.dentry->inode()->Link(to.name, inode));
  to.parent.dentry->AddChild(to.name, std::move(linked));
  return Ok();
}

Result<void> Vfs::Rename(const LookupContext& ctx, const Path& old_start, std::string_view old_path,
                         const Path& new_start, std::string_view new_path, unsigned flags) const {
  const Credentials& creds = *ctx.creds;
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) return Errno(EINVAL);
  if ((flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) && (flags & RENAME_EXCHANGE)) return Errno(EINVAL);
  const bool exchange = flags & RENAME_EXCHANGE;
  ParentAndName from = TRY(ResolveParent(ctx, old_start, old_path));
  ParentAndName to = TRY(ResolveParent(ctx, new_start, new_path));
  if (from.parent.mount != to.parent.mount) return Errno(EXDEV);
  if (!IsNormalName(from.name)) return Errno(EBUSY);
  if (!IsNormalName(to.name)) return Errno((flags & RENAME_NOREPLACE) ? EEXIST : EBUSY);
  TRY(CheckWritableMount(from.parent));

  absl::MutexLock lock(&rename_mu_);
  std::shared_ptr<Dentry> source = TRY(from.parent.dentry->Child(from.name));
  std::shared_ptr<Dentry> target;
  if (auto t = to.parent.dentry->Child(to.name); t) {
    target = *t;
  } else if (t.error() != Errno(ENOENT)) {
    return t.error();
  }
  if ((flags & RENAME_NOREPLACE) && target) return Errno(EEXIST);
  if (exchange) {
    if (!target) return Errno(ENOENT);
    if (!target->inode()->IsDir() && to.trailing_slash) return Errno(ENOTDIR);
  }
  // Unless the source is a directory, trailing slashes are ENOTDIR.
  const bool is_dir = source->inode()->IsDir();
  if (!is_dir && (from.trailing_slash || (!exchange && to.trailing_slash))) return Errno(ENOTDIR);
  // The source must not be above the target, nor the target above the source.
  if (from.parent.dentry != to.parent.dentry) {
    if (IsAncestorOrSelf(source.get(), to.parent.dentry)) return Errno(EINVAL);
    if (target && IsAncestorOrSelf(target.get(), from.parent.dentry)) {
      return Errno(exchange ? EINVAL : ENOTEMPTY);
    }
  }

  // Linux's vfs_rename.
  if (target && SameFile(*source->inode(), *target->inode())) return Ok();
  TRY(MayDelete(from.parent, *source, is_dir, creds));
  const bool target_is_dir = target && target->inode()->IsDir();
  if (target) {
    TRY(MayDelete(to.parent, *target, exchange ? target_is_dir : is_dir, creds));
  } else {
    TRY(MayCreate(to.parent, creds));
  }
  // A directory that changes parents has its ".." rewritten.
  if (from.parent.dentry != to.parent.dentry) {
    if (is_dir) TRY(CheckPermission(TRY(source->inode()->Stat()), creds, W_OK));
    if (exchange && target_is_dir) TRY(CheckPermission(TRY(target->inode()->Stat()), creds, W_OK));
  }
  if (source->mounted() || (target && target->mounted())) return Errno(EBUSY);
  TRY(from.parent.dentry->inode()->Rename(from.name, *to.parent.dentry->inode(), to.name, flags,
                                          creds));
  Dentry::Move(*from.parent.dentry, from.name, *to.parent.dentry, to.name, exchange);
  return Ok();
}

Result<void> Vfs::MakeNode(const LookupContext& ctx, const Path& start, std::string_view path,
                           mode_t mode, dev_t dev, mode_t umask) const {
  const Credentials& creds = *ctx.creds;
  TRY(CheckNodeType(mode));
  ParentAndName pn = TRY(ResolveParent(ctx, start, path));
  TRY(CheckNewName(pn));
  const mode_t type = (mode & S_IFMT) == 0 ? S_IFREG : mode & S_IFMT;
  const mode_t perm = mode & 07777 & ~umask;
  TRY(MayCreate(pn.parent, creds));
  const bool device = type == S_IFCHR || type == S_IFBLK;
  // A whiteout (character device 0:0) needs no privilege since Linux 5.8.
  if (device && !(type == S_IFCHR && dev == 0) && !creds.HasCapability(CAP_MKNOD)) {
    return Errno(EPERM);
  }
  const auto& dir = pn.parent.dentry->inode();
  std::shared_ptr<Inode> inode = type == S_IFREG
                                     ? TRY(dir->Create(pn.name, perm, creds))
                                     : TRY(dir->MakeNode(pn.name, type | perm, device ? dev : 0, creds));
  pn.parent.dentry->AddChild(pn.name, std::move(inode));
  return Ok();
}

}  // namespace husk::vfs
