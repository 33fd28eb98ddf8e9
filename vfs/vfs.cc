#include "vfs/vfs.h"

#include <unistd.h>

#include <vector>

namespace husk::vfs {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

bool SamePath(const Path& a, const Path& b) {
  return a.mount == b.mount && a.dentry == b.dentry;
}

}  // namespace

Result<void> CheckDirWritable(const Path& dir, const Credentials& creds) {
  const auto& inode = dir.dentry->inode();
  TRY(CheckPermission(TRY(inode->Stat()), creds, W_OK | X_OK));
  if (dir.mount->read_only() || inode->ReadOnly()) return Errno(EROFS);
  return Ok();
}

void Vfs::SetRoot(std::shared_ptr<Mount> root) {
  absl::MutexLock lock(&mu_);
  root_ = std::move(root);
  order_.insert(order_.begin(), root_);
}

Path Vfs::Root() const {
  absl::MutexLock lock(&mu_);
  if (!root_) return Path{};  // before SetRoot
  return Path{root_, root_->root()};
}

Result<void> Vfs::MountAt(const Path& where, std::shared_ptr<Mount> m) {
  if (!where.dentry->inode()->IsDir()) return Errno(ENOTDIR);
  absl::MutexLock lock(&mu_);
  m->set_mountpoint(where);
  mounts_[where.dentry.get()] = m;
  where.dentry->set_mounted(true);
  order_.push_back(std::move(m));
  return Ok();
}

std::vector<std::shared_ptr<Mount>> Vfs::Mounts() const {
  absl::MutexLock lock(&mu_);
  return order_;
}

Path Vfs::CrossMounts(Path p) const {
  while (p.dentry->mounted()) {
    absl::MutexLock lock(&mu_);
    auto it = mounts_.find(p.dentry.get());
    if (it == mounts_.end()) break;
    p = Path{it->second, it->second->root()};
  }
  return p;
}

Result<void> Vfs::CheckLinkFollow(const LookupContext& ctx, const Path& dir,
                                  const std::optional<Path>& jump, std::string_view target) {
  if (ctx.resolve & RESOLVE_NO_SYMLINKS) return Errno(ELOOP);
  if (jump) {
    // Linux's nd_jump_link.
    if (ctx.resolve & RESOLVE_NO_MAGICLINKS) return Errno(ELOOP);
    if ((ctx.resolve & RESOLVE_NO_XDEV) && jump->mount != dir.mount) return Errno(EXDEV);
    if (ctx.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) return Errno(EXDEV);
    return Ok();
  }
  // An absolute target jumps to the root (Linux's nd_jump_root).
  if (!target.empty() && target[0] == '/') {
    if (ctx.resolve & RESOLVE_BENEATH) return Errno(EXDEV);
    if ((ctx.resolve & RESOLVE_NO_XDEV) && dir.mount != ctx.root.mount) return Errno(EXDEV);
  }
  return Ok();
}

Path Vfs::Parent(const LookupContext& ctx, const Path& p) const {
  Path cur = p;
  // ".." at the root of the lookup stays there (chroot semantics).
  while (!SamePath(cur, ctx.root)) {
    if (cur.dentry != cur.mount->root()) {
      auto parent = cur.dentry->parent();
      return parent ? CrossMounts(Path{cur.mount, std::move(parent)}) : cur;
    }
    if (!cur.mount->mountpoint().valid()) return cur;
    cur = cur.mount->mountpoint();
  }
  return cur;
}

Result<Path> Vfs::Walk(const LookupContext& ctx, const Path& start, std::string_view path,
                       bool follow_last, int& symlinks) const {
  const bool absolute = !path.empty() && path[0] == '/';
  if (absolute && (ctx.resolve & RESOLVE_BENEATH)) return Errno(EXDEV);
  Path cur = absolute ? ctx.root : start;
  const bool trailing = !path.empty() && path.back() == '/';
  auto parts = Split(path);
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string_view name = parts[i];
    const bool last = i + 1 == parts.size();
    const auto& dir = cur.dentry->inode();
    if (!dir->IsDir()) return Errno(ENOTDIR);
    TRY(CheckPermission(TRY(dir->Stat()), *ctx.creds, X_OK));
    if (name.size() > kNameMax) return Errno(ENAMETOOLONG);
    if (name == ".") continue;
    if (name == "..") {
      if ((ctx.resolve & RESOLVE_BENEATH) && SamePath(cur, ctx.root)) return Errno(EXDEV);
      Path up = Parent(ctx, cur);
      if ((ctx.resolve & RESOLVE_NO_XDEV) && up.mount != cur.mount) return Errno(EXDEV);
      cur = std::move(up);
      continue;
    }
    auto child = TRY(cur.dentry->Child(name));
    Path next = CrossMounts(Path{cur.mount, child});
    if ((ctx.resolve & RESOLVE_NO_XDEV) && next.mount != cur.mount) return Errno(EXDEV);
    if (next.dentry->inode()->IsSymlink() && (!last || follow_last || trailing)) {
      if (ctx.resolve & RESOLVE_NO_SYMLINKS) return Errno(ELOOP);
      if (++symlinks > kMaxSymlinks) return Errno(ELOOP);
      if (auto jump = TRY(next.dentry->inode()->Jump())) {
        TRY(CheckLinkFollow(ctx, cur, jump, ""));
        next = std::move(*jump);
      } else {
        std::string target = TRY(next.dentry->inode()->ReadLink());
        if (target.empty()) return Errno(ENOENT);
        TRY(CheckLinkFollow(ctx, cur, std::nullopt, target));
        next = TRY(Walk(ctx, cur, target, true, symlinks));
      }
    }
    cur = std::move(next);
  }
  if (trailing && !cur.dentry->inode()->IsDir()) return Errno(ENOTDIR);
  return cur;
}

Result<Path> Vfs::Resolve(const LookupContext& ctx, const Path& start, std::string_view path,
                          bool follow) const {
  if (path.empty()) return Errno(ENOENT);
  int symlinks = 0;
  return Walk(ctx, start, path, follow, symlinks);
}

Result<ParentAndName> Vfs::ResolveParent(const LookupContext& ctx, const Path& start,
                                         std::string_view path) const {
  if (path.empty()) return Errno(ENOENT);
  if (path[0] == '/' && (ctx.resolve & RESOLVE_BENEATH)) return Errno(EXDEV);
  ParentAndName out;
  size_t end = path.find_last_not_of('/');
  if (end == std::string_view::npos) {  // "/" or "///"
    out.parent = ctx.root;
    return out;
  }
  out.trailing_slash = end + 1 < path.size();
  size_t slash = path.rfind('/', end);
  std::string_view dir = slash == std::string_view::npos ? std::string_view() : path.substr(0, slash + 1);
  out.name = std::string(path.substr(slash == std::string_view::npos ? 0 : slash + 1,
                                     end - (slash == std::string_view::npos ? 0 : slash + 1) + 1));
  if (out.name.size() > kNameMax) return Errno(ENAMETOOLONG);
  if (dir.empty()) {
    out.parent = start;
  } else {
    int symlinks = 0;
    out.parent = TRY(Walk(ctx, start, dir, true, symlinks));
  }
  if (!out.parent.dentry->inode()->IsDir()) return Errno(ENOTDIR);
  // The last component is looked up in the parent: search permission
  // (Linux's may_lookup), before whether the name exists.
  TRY(CheckPermission(TRY(out.parent.dentry->inode()->Stat()), *ctx.creds, X_OK));
  return out;
}

Result<std::shared_ptr<FileDescription>> Vfs::Open(const LookupContext& ctx, const Path& start,
                                                   std::string_view path, int flags, mode_t mode,
                                                   mode_t umask) const {
  if (path.empty()) return Errno(ENOENT);
  if ((flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY)) return Errno(EINVAL);
  if ((flags & O_TMPFILE) == O_TMPFILE) return OpenTmpfile(ctx, start, path, flags, mode, umask);
  if (flags & O_PATH) flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  if (!(flags & O_CREAT)) {
    int symlinks = 0;
    Path p = TRY(Walk(ctx, start, path, (flags & O_NOFOLLOW) == 0, symlinks));
    if (p.dentry->inode()->IsSymlink()) {
      if (flags & O_DIRECTORY) return Errno(ENOTDIR);
      if (!(flags & O_PATH)) return Errno(ELOOP);
    }
    return OpenPath(ctx, p, flags);
  }
  ParentAndName pn = TRY(ResolveParent(ctx, start, path));
  for (int symlinks = 0;;) {
    if (pn.name.empty() || pn.name == "." || pn.name == "..") return Errno(EISDIR);
    auto child = pn.parent.dentry->Child(pn.name);
    if (!child) {
      if (child.error() != Errno(ENOENT)) return child.error();
      if (pn.trailing_slash) return Errno(EISDIR);
      const auto& dir = pn.parent.dentry->inode();
      TRY(CheckDirWritable(pn.parent, *ctx.creds));
      auto inode = TRY(dir->Create(pn.name, (mode & 07777 & ~umask) | S_IFREG, *ctx.creds));
      Path p{pn.parent.mount, pn.parent.dentry->AddChild(pn.name, std::move(inode))};
      return p.dentry->inode()->Open(p, flags & ~O_TRUNC);
    }
    if (flags & O_EXCL) return Errno(EEXIST);
    Path p = CrossMounts(Path{pn.parent.mount, *child});
    if ((ctx.resolve & RESOLVE_NO_XDEV) && p.mount != pn.parent.mount) return Errno(EXDEV);
    if (p.dentry->inode()->IsSymlink()) {
      // O_CREAT follows a final symlink and creates its target if missing.
      if (flags & O_NOFOLLOW) return Errno(ELOOP);
      if (ctx.resolve & RESOLVE_NO_SYMLINKS) return Errno(ELOOP);
      if (++symlinks > kMaxSymlinks) return Errno(ELOOP);
      // A procfs link leads to an existing file (open("/dev/stdout", O_CREAT)).
      if (auto jump = TRY(p.dentry->inode()->Jump())) {
        TRY(CheckLinkFollow(ctx, pn.parent, jump, ""));
        if (pn.trailing_slash || jump->dentry->inode()->IsDir()) return Errno(EISDIR);
        return OpenPath(ctx, *jump, flags);
      }
      std::string target = TRY(p.dentry->inode()->ReadLink());
      if (target.empty()) return Errno(ENOENT);
      TRY(CheckLinkFollow(ctx, pn.parent, std::nullopt, target));
      pn = TRY(ResolveParent(ctx, pn.parent, target));
      continue;
    }
    if (pn.trailing_slash || p.dentry->inode()->IsDir()) return Errno(EISDIR);
    return OpenPath(ctx, p, flags);
  }
}

Result<std::shared_ptr<FileDescription>> Vfs::OpenTmpfile(const LookupContext& ctx,
                                                          const Path& start, std::string_view path,
                                                          int flags, mode_t mode,
                                                          mode_t umask) const {
  const int acc = flags & O_ACCMODE;
  if (acc != O_WRONLY && acc != O_RDWR) return Errno(EINVAL);
  int symlinks = 0;
  Path dir = TRY(Walk(ctx, start, path, true, symlinks));
  const auto& inode = dir.dentry->inode();
  if (!inode->IsDir()) return Errno(ENOTDIR);
  TRY(CheckDirWritable(dir, *ctx.creds));
  auto file = TRY(inode->CreateTmpfile(mode & 07777 & ~umask, *ctx.creds, (flags & O_EXCL) == 0));
  // A name that is in no directory, as Linux's "/#ino (deleted)".
  auto st = TRY(file->Stat());
  auto dentry = std::make_shared<Dentry>(dir.dentry, "#" + std::to_string(st.st_ino), std::move(file));
  Path p{dir.mount, std::move(dentry)};
  return p.dentry->inode()->Open(p, flags & ~(O_TMPFILE & ~O_DIRECTORY));
}

Result<std::shared_ptr<FileDescription>> Vfs::OpenPath(const LookupContext& ctx, const Path& p,
                                                       int flags) const {
  const auto& inode = p.dentry->inode();
  if ((flags & O_DIRECTORY) && !inode->IsDir()) return Errno(ENOTDIR);
  if (!(flags & O_PATH)) {
    const int acc = flags & O_ACCMODE;
    const bool write = acc == O_WRONLY || acc == O_RDWR;
    if (inode->IsDir() && (write || (flags & O_TRUNC))) return Errno(EISDIR);
    int mask = 0;
    if (acc == O_RDONLY || acc == O_RDWR) mask |= R_OK;
    if (write || (flags & O_TRUNC)) mask |= W_OK;
    struct stat st = TRY(inode->Stat());
    TRY(CheckPermission(st, *ctx.creds, mask));
    const bool device = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) ||
                        S_ISSOCK(st.st_mode);
    if ((write || (flags & O_TRUNC)) && !device && (p.mount->read_only() || inode->ReadOnly())) {
      return Errno(EROFS);
    }
    if ((flags & O_TRUNC) && inode->IsRegular()) TRY(inode->Truncate(0));
  }
  return inode->Open(p, flags);
}

std::string Vfs::PathOf(const Path& root, const Path& p) const {
  std::vector<std::string> names;
  Path cur = p;
  while (!SamePath(cur, root)) {
    if (cur.dentry == cur.mount->root()) {
      if (!cur.mount->mountpoint().valid()) break;  // outside the root
      cur = cur.mount->mountpoint();
      continue;
    }
    names.push_back(cur.dentry->name());
    auto parent = cur.dentry->parent();
    if (!parent) break;
    cur = Path{cur.mount, std::move(parent)};
  }
  if (names.empty()) return "/";
  std::string out;
  for (auto it = names.rbegin(); it != names.rend(); ++it) out += "/" + *it;
  return out;
}

}  // namespace husk::vfs
