#include "vfs/inode.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

namespace husk::vfs {

Credentials::Credentials(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups)
    : uid(uid), euid(uid), suid(uid), fsuid(uid), gid(gid), egid(gid), sgid(gid), fsgid(gid),
      groups(std::move(groups)), cap_bounding(kSandboxRootCaps) {
  std::sort(this->groups.begin(), this->groups.end());
  if (uid == 0) cap_permitted = cap_effective = kSandboxRootCaps;
}

bool Credentials::InGroup(uint32_t g) const {
  return g == fsgid || std::binary_search(groups.begin(), groups.end(), g);
}

bool Credentials::OwnerOrCapable(uint32_t owner) const {
  return owner == fsuid || HasCapability(CAP_FOWNER);
}

Credentials Credentials::ForAccess() const {
  Credentials c = *this;
  c.fsuid = uid;
  c.fsgid = gid;
  c.cap_effective = uid == 0 ? cap_permitted : 0;
  return c;
}

Result<void> CheckPermission(const struct stat& st, const Credentials& creds, int mask) {
  mask &= R_OK | W_OK | X_OK;
  if (mask == 0) return Ok();
  mode_t bits;
  if (creds.fsuid == st.st_uid) {
    bits = (st.st_mode >> 6) & 7;
  } else if (creds.InGroup(st.st_gid)) {
    bits = (st.st_mode >> 3) & 7;
  } else {
    bits = st.st_mode & 7;
  }
  if ((bits & mask) == static_cast<mode_t>(mask)) return Ok();
  if (S_ISDIR(st.st_mode)) {
    if (!(mask & W_OK) && creds.HasCapability(CAP_DAC_READ_SEARCH)) return Ok();
    if (creds.HasCapability(CAP_DAC_OVERRIDE)) return Ok();
    return Errno(EACCES);
  }
  if (mask == R_OK && creds.HasCapability(CAP_DAC_READ_SEARCH)) return Ok();
  // Execute is overridable only when some x bit is set.
  if ((!(mask & X_OK) || (st.st_mode & 0111)) && creds.HasCapability(CAP_DAC_OVERRIDE)) return Ok();
  return Errno(EACCES);
}

uint8_t DirentType(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return DT_REG;
    case S_IFDIR: return DT_DIR;
    case S_IFLNK: return DT_LNK;
    case S_IFCHR: return DT_CHR;
    case S_IFBLK: return DT_BLK;
    case S_IFIFO: return DT_FIFO;
    case S_IFSOCK: return DT_SOCK;
  }
  return DT_UNKNOWN;
}

Result<std::shared_ptr<Inode>> Inode::Lookup(std::string_view) { return Errno(ENOTDIR); }
Result<std::vector<DirEntry>> Inode::List() { return Errno(ENOTDIR); }
Result<std::shared_ptr<Inode>> Inode::Create(std::string_view, mode_t, const Credentials&) {
  return IsDir() ? Errno(EROFS) : Errno(ENOTDIR);
}
Result<std::shared_ptr<Inode>> Inode::MakeDir(std::string_view, mode_t, const Credentials&) {
  return IsDir() ? Errno(EROFS) : Errno(ENOTDIR);
}
Result<std::shared_ptr<Inode>> Inode::MakeSymlink(std::string_view, std::string_view,
                                                  const Credentials&) {
  return IsDir() ? Errno(EROFS) : Errno(ENOTDIR);
}
Result<void> Inode::Unlink(std::string_view) { return IsDir() ? Errno(EROFS) : Errno(ENOTDIR); }
Result<void> Inode::RemoveDir(std::string_view) { return IsDir() ? Errno(EROFS) : Errno(ENOTDIR); }
Result<std::string> Inode::ReadLink() { return Errno(EINVAL); }
Result<std::shared_ptr<Inode>> Inode::CreateTmpfile(mode_t, const Credentials&, bool) {
  return IsDir() ? Errno(EOPNOTSUPP) : Errno(ENOTDIR);
}
// A filesystem without these operations: EPERM, as Linux's VFS says when
// the inode has no mknod/link/rename (read-only mounts fail earlier, EROFS).
Result<std::shared_ptr<Inode>> Inode::MakeNode(std::string_view, mode_t, dev_t, const Credentials&) {
  return IsDir() ? Errno(EPERM) : Errno(ENOTDIR);
}
Result<std::shared_ptr<Inode>> Inode::Link(std::string_view, const std::shared_ptr<Inode>&) {
  return IsDir() ? Errno(EPERM) : Errno(ENOTDIR);
}
Result<void> Inode::Rename(std::string_view, Inode&, std::string_view, unsigned,
                           const Credentials&) {
  return IsDir() ? Errno(EPERM) : Errno(ENOTDIR);
}
Result<void> Inode::Truncate(uint64_t) { return IsDir() ? Errno(EISDIR) : Errno(EINVAL); }
Result<struct statfs> Inode::StatFs() {
  // A filesystem with no backing store (devfs and the like): what Linux's
  // simple_statfs reports, with the caller filling in the magic.
  struct statfs st {};
  st.f_bsize = 4096;
  st.f_namelen = 255;
  st.f_frsize = 4096;
  return st;
}

Result<void> Inode::SetTimes(const timespec&, const timespec&) { return Errno(EROFS); }
Result<void> Inode::SetMode(mode_t) { return Errno(EROFS); }
Result<void> Inode::SetOwner(uint32_t, uint32_t, mode_t) { return Errno(EROFS); }
Result<std::string> Inode::GetXattr(std::string_view) { return Errno(EOPNOTSUPP); }
Result<void> Inode::SetXattr(std::string_view, std::string_view, int) { return Errno(EOPNOTSUPP); }
Result<std::vector<std::string>> Inode::ListXattr() { return std::vector<std::string>(); }
Result<void> Inode::RemoveXattr(std::string_view) { return Errno(EOPNOTSUPP); }

Result<std::shared_ptr<Dentry>> Dentry::Child(std::string_view name) {
  std::shared_ptr<Dentry> cached;
  {
    absl::MutexLock lock(&mu_);
    auto it = children_.find(name);
    if (it != children_.end()) cached = it->second;
  }
  // Revalidate outside the lock: procfs asks the kernel.
  if (cached) {
    if (cached->inode()->Revalidate()) return cached;
    absl::MutexLock lock(&mu_);
    auto it = children_.find(name);
    if (it != children_.end() && it->second == cached) children_.erase(it);
  }
  auto inode = TRY(inode_->Lookup(name));
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = children_.try_emplace(
      std::string(name), std::make_shared<Dentry>(shared_from_this(), std::string(name), inode));
  return it->second;
}

std::shared_ptr<Dentry> Dentry::AddChild(std::string_view name, std::shared_ptr<Inode> inode) {
  auto d = std::make_shared<Dentry>(shared_from_this(), std::string(name), std::move(inode));
  absl::MutexLock lock(&mu_);
  children_[std::string(name)] = d;
  return d;
}

void Dentry::ForgetChild(std::string_view name) {
  absl::MutexLock lock(&mu_);
  auto it = children_.find(name);
  if (it != children_.end()) children_.erase(it);
}

void Dentry::PruneChildren() {
  std::vector<std::shared_ptr<Dentry>> cached;
  {
    absl::MutexLock lock(&mu_);
    cached.reserve(children_.size());
    for (const auto& [name, d] : children_) cached.push_back(d);
  }
  std::vector<std::shared_ptr<Dentry>> stale;
  for (auto& d : cached) {
    if (!d->inode()->Revalidate()) stale.push_back(std::move(d));
  }
  if (stale.empty()) return;
  absl::MutexLock lock(&mu_);
  for (const auto& d : stale) {
    auto it = children_.find(d->name());
    if (it != children_.end() && it->second == d) children_.erase(it);
  }
}

void Dentry::Move(Dentry& old_parent, std::string_view old_name, Dentry& new_parent,
                  std::string_view new_name, bool exchange) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // Two parents: in address order (renames are serialized, and nothing
  // else holds two dentries' locks but a parent's and its child's).
  std::shared_ptr<Dentry> other;  // declared first: a dropped victim dies unlocked
  Dentry* first = &old_parent;
  Dentry* second = &new_parent;
  if (second < first) std::swap(first, second);
  absl::MutexLock lock1(&first->mu_);
  std::optional<absl::MutexLock> lock2;
  if (second != first) lock2.emplace(&second->mu_);
  auto take = [](Dentry& parent, std::string_view name) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    std::shared_ptr<Dentry> d;
    if (auto it = parent.children_.find(name); it != parent.children_.end()) {
      d = std::move(it->second);
      parent.children_.erase(it);
    }
    return d;
  };
  auto put = [](Dentry& parent, std::string_view name, std::shared_ptr<Dentry> d)
                 ABSL_NO_THREAD_SAFETY_ANALYSIS {
    {
      absl::MutexLock child_lock(&d->mu_);
      d->parent_ = parent.weak_from_this();
      d->name_ = std::string(name);
    }
    parent.children_[std::string(name)] = std::move(d);
  };
  std::shared_ptr<Dentry> moving = take(old_parent, old_name);
  other = take(new_parent, new_name);
  if (moving) put(new_parent, new_name, std::move(moving));
  if (exchange && other) put(old_parent, old_name, std::move(other));
}

}  // namespace husk::vfs
