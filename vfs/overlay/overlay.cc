#include "vfs/overlay/overlay.h"

#include <dirent.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <sys/xattr.h>

#include "vfs/dir_file.h"
#include "vfs/tmpfs/tmpfs.h"
#include "vfs/xattr.h"

namespace husk::vfs {
namespace {

constexpr size_t kCopyChunk = 1 << 20;

// Held by what locks two directories (rename, rmdir). Lock order: the
// Vfs's rename lock, this, then directories, then the entries in them.
absl::Mutex g_dirs_mu;

class OverlayInode final : public Inode {
 public:
  OverlayInode(const std::shared_ptr<OverlayInode>& parent, std::string name,
               std::shared_ptr<Inode> upper, std::shared_ptr<Inode> lower)
      : Inode(upper ? upper->type() : lower->type()), parent_(parent),
        lower_root_(parent ? parent->lower_root_ : lower),
        name_(std::move(name)), upper_(std::move(upper)), lower_(std::move(lower)) {}

  // A directory that is also in the lower layer shows the lower one's
  // attributes, with the upper one's times once entries changed in it
  // (overlayfs copies attributes up; the upper dir here is a bare mkdir).
  Result<struct stat> Stat() override {
    absl::MutexLock lock(&mu_);
    if (!upper_ || !lower_ || !IsDir() || opaque_) return (upper_ ? upper_ : lower_)->Stat();
    struct stat st = TRY(lower_->Stat());
    // The upper directory was made with the lower one's mode and owner, so
    // it has them unless chmod or chown changed them since.
    struct stat up = TRY(upper_->Stat());
    st.st_mode = up.st_mode;
    st.st_uid = up.st_uid;
    st.st_gid = up.st_gid;
    if (changed_) {
      st.st_mtim = up.st_mtim;
      st.st_ctim = up.st_ctim;
    }
    return st;
  }

  Result<std::shared_ptr<Inode>> Lookup(std::string_view name) override {
    if (!IsDir()) return Errno(ENOTDIR);
    absl::MutexLock lock(&mu_);
    return LookupLocked(name);
  }

  Result<std::vector<DirEntry>> List() override {
    if (!IsDir()) return Errno(ENOTDIR);
    absl::MutexLock lock(&mu_);
    // Lower entries in the lower directory's own order (as readdir on the
    // host gives them), then the names only the upper layer has.
    std::map<std::string, DirEntry, std::less<>> upper;
    if (upper_) {
      for (auto& e : TRY(upper_->List())) {
        if (!whiteouts_.contains(e.name)) upper[e.name] = std::move(e);
      }
    }
    std::vector<DirEntry> out;
    if (lower_ && !opaque_) {
      for (auto& e : TRY(lower_->List())) {
        if (whiteouts_.contains(e.name)) continue;
        if (auto it = upper.find(e.name); it != upper.end()) {
          if (opaque_children_.contains(e.name) || it->second.type != DT_DIR ||
              e.type != DT_DIR) {
            out.push_back(std::move(it->second));
          } else {
            out.push_back(std::move(e));  // a merged directory keeps its lower identity
          }
          upper.erase(it);
          continue;
        }
        out.push_back(std::move(e));
      }
    }
    for (auto& [name, e] : upper) out.push_back(std::move(e));
    return out;
  }

  Result<std::shared_ptr<Inode>> Create(std::string_view name, mode_t mode,
                                        const Credentials& creds) override {
    return MakeUpper(name, [&](Inode& dir) { return dir.Create(name, mode, creds); });
  }
  Result<std::shared_ptr<Inode>> MakeDir(std::string_view name, mode_t mode,
                                         const Credentials& creds) override {
    return MakeUpper(name, [&](Inode& dir) { return dir.MakeDir(name, mode, creds); });
  }
  Result<std::shared_ptr<Inode>> MakeSymlink(std::string_view name, std::string_view target,
                                             const Credentials& creds) override {
    return MakeUpper(name, [&](Inode& dir) { return dir.MakeSymlink(name, target, creds); });
  }

  Result<std::shared_ptr<Inode>> MakeNode(std::string_view name, mode_t mode, dev_t rdev,
                                          const Credentials& creds) override {
    return MakeUpper(name, [&](Inode& dir) { return dir.MakeNode(name, mode, rdev, creds); });
  }

  Result<void> Unlink(std::string_view name) override { return Remove(name, false); }
  Result<void> RemoveDir(std::string_view name) override {
    absl::MutexLock dirs_lock(&g_dirs_mu);
    return Remove(name, true);
  }

  // A hard link to a lower file copies it up; both names then lead to the
  // one upper inode (overlayfs keeps such links together by the upper
  // inode too).
  Result<std::shared_ptr<Inode>> Link(std::string_view name,
                                      const std::shared_ptr<Inode>& target) override {
    if (!IsDir()) return Errno(ENOTDIR);
    std::shared_ptr<Inode> upper = target;  // an O_TMPFILE file is the upper layer's own
    if (auto* file = dynamic_cast<OverlayInode*>(target.get())) {
      if (file->IsDir()) return Errno(EPERM);
      TRY(file->CopyUp());
      upper = file->Current();
    }
    return MakeUpper(name, [&](Inode& dir) { return dir.Link(name, upper); });
  }

  // rename(2) in the upper layer, after copying up what moves and both
  // directories; the old name of a lower entry leaves a whiteout, and the
  // new name hides the lower entry it covers. A lower directory moves
  // whole: its inode keeps its lower directory wherever it goes, which is
  // what overlayfs's redirect_dir does (without it Linux says EXDEV).
  Result<void> Rename(std::string_view old_name, Inode& new_dir, std::string_view new_name,
                      unsigned flags, const Credentials& creds) override
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (!IsDir()) return Errno(ENOTDIR);
    auto* to = dynamic_cast<OverlayInode*>(&new_dir);
    if (to == nullptr) return Errno(EXDEV);
    if (!to->IsDir()) return Errno(ENOTDIR);
    // overlayfs takes no RENAME_WHITEOUT from its callers.
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return Errno(EINVAL);
    const bool exchange = flags & RENAME_EXCHANGE;
    auto src = std::static_pointer_cast<OverlayInode>(TRY(Lookup(old_name)));
    std::shared_ptr<OverlayInode> dst;
    if (auto d = to->Lookup(new_name); d) {
      dst = std::static_pointer_cast<OverlayInode>(*d);
    } else if (d.error() != Errno(ENOENT)) {
      return d.error();
    }
    if (src == dst) return Ok();
    if (src.get() == to) return Errno(EINVAL);  // the Vfs checks deeper nesting
    if (dst.get() == this) return Errno(ENOTEMPTY);
    if (exchange && !dst) return Errno(ENOENT);
    if (dst && !exchange) {
      if (flags & RENAME_NOREPLACE) return Errno(EEXIST);
      if (src->IsDir() && !dst->IsDir()) return Errno(ENOTDIR);
      if (!src->IsDir() && dst->IsDir()) return Errno(EISDIR);
      if (dst->IsDir() && !TRY(dst->List()).empty()) return Errno(ENOTEMPTY);
    }
    TRY(CopyUp());
    TRY(to->CopyUp());
    TRY(src->CopyUp());
    if (exchange) TRY(dst->CopyUp());

    absl::MutexLock dirs_lock(&g_dirs_mu);
    OverlayInode* first = this;
    OverlayInode* second = to;
    if (second < first) std::swap(first, second);
    absl::MutexLock lock1(&first->mu_);
    std::optional<absl::MutexLock> lock2;
    if (second != first) lock2.emplace(&second->mu_);
    if (removed_ || to->removed_) return Errno(ENOENT);
    // A target only in the lower layer has no upper entry to replace: the
    // upper rename just makes the name, and hiding the lower one removes it.
    TRY(upper_->Rename(old_name, *to->upper_, new_name, flags, creds));
    auto self = std::static_pointer_cast<OverlayInode>(shared_from_this());
    auto to_self = std::static_pointer_cast<OverlayInode>(to->shared_from_this());
    auto rename_child = [](OverlayInode& child, const std::shared_ptr<OverlayInode>& parent,
                           std::string_view name) {
      absl::MutexLock child_lock(&child.mu_);  // lock order: parent, then child
      child.parent_ = parent;
      child.name_ = std::string(name);
    };
    if (exchange) {
      children_[std::string(old_name)] = dst;
      to->children_[std::string(new_name)] = src;
      HideLowerLocked(old_name);
      to->HideLowerLocked(new_name);
      rename_child(*dst, self, old_name);
    } else {
      children_.erase(std::string(old_name));
      LeaveWhiteoutLocked(old_name);
      if (dst) {
        absl::MutexLock dst_lock(&dst->mu_);
        dst->removed_ = true;
      }
      to->children_[std::string(new_name)] = src;
      to->HideLowerLocked(new_name);
    }
    rename_child(*src, to_self, new_name);
    changed_ = true;
    to->changed_ = true;
    return Ok();
  }

  Result<std::string> ReadLink() override { return Current()->ReadLink(); }

  Result<std::shared_ptr<FileDescription>> Open(const Path& path, int flags) override {
    if (IsDir() && !(flags & O_PATH)) {
      return std::shared_ptr<FileDescription>(std::make_shared<DirectoryFile>(path, flags));
    }
    const int acc = flags & O_ACCMODE;
    if (IsRegular() && !(flags & O_PATH) && (acc != O_RDONLY || (flags & O_TRUNC))) TRY(CopyUp());
    return Current()->Open(path, flags);
  }

  Result<void> Truncate(uint64_t size) override {
    TRY(CopyUp(/*data=*/size != 0));
    return Current()->Truncate(size);
  }

  Result<void> SetTimes(const timespec& atime, const timespec& mtime) override {
    TRY(CopyUp());
    {
      absl::MutexLock lock(&mu_);
      changed_ = true;  // a merged directory now shows the upper times
    }
    return Current()->SetTimes(atime, mtime);
  }

  Result<void> SetMode(mode_t mode) override {
    TRY(CopyUp());
    return Current()->SetMode(mode);
  }

  Result<void> SetOwner(uint32_t uid, uint32_t gid, mode_t clear) override {
    TRY(CopyUp());
    return Current()->SetOwner(uid, gid, clear);
  }

  // Extended attributes live in the upper layer; a change copies up.
  // PARTIAL(overlay xattrs): the lower layer's (the host's) are not seen.
  Result<std::string> GetXattr(std::string_view name) override {
    if (auto upper = UpperDir()) return upper->GetXattr(name);
    return Errno(StoredXattrNamespace(name) ? ENODATA : EOPNOTSUPP);
  }
  Result<void> SetXattr(std::string_view name, std::string_view value, int flags) override {
    if (!StoredXattrNamespace(name)) return Errno(EOPNOTSUPP);
    // XATTR_REPLACE of a name a lower file cannot have fails before a copy-up.
    if ((flags & XATTR_REPLACE) && !UpperDir()) return Errno(ENODATA);
    TRY(CopyUp());
    return Current()->SetXattr(name, value, flags);
  }
  Result<std::vector<std::string>> ListXattr() override {
    if (auto upper = UpperDir()) return upper->ListXattr();
    return std::vector<std::string>();
  }
  Result<void> RemoveXattr(std::string_view name) override {
    if (auto upper = UpperDir()) return upper->RemoveXattr(name);
    return Errno(StoredXattrNamespace(name) ? ENODATA : EOPNOTSUPP);
  }

  Result<std::shared_ptr<Inode>> CreateTmpfile(mode_t mode, const Credentials& creds,
                                               bool linkable) override {
    TRY(CopyUp());
    return Current()->CreateTmpfile(mode, creds, linkable);
  }

  // Like overlayfs: the overlay's own magic over the lower filesystem's
  // figures (PARTIAL(overlay): overlayfs reports the upper layer's space).
  Result<struct statfs> StatFs() override {
    struct statfs st = TRY(lower_root_->StatFs());
    st.f_type = 0x794c7630;  // OVERLAYFS_SUPER_MAGIC
    st.f_flags &= ~ST_RDONLY;
    return st;
  }

  bool Unlinked() const override {
    absl::MutexLock lock(&mu_);
    return upper_ ? upper_->Unlinked() : removed_;
  }

 private:
  std::shared_ptr<Inode> Current() const {
    absl::MutexLock lock(&mu_);
    return upper_ ? upper_ : lower_;
  }

  // Whether the lower directory shows an entry `name` (hidden or not).
  bool LowerHasLocked(std::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return lower_ && !opaque_ && lower_->Lookup(name).has_value();
  }
  // `name` now leads to an upper entry, which hides the lower one for good.
  void HideLowerLocked(std::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const bool whited_out = whiteouts_.erase(std::string(name)) > 0;
    if (whited_out || LowerHasLocked(name)) opaque_children_.insert(std::string(name));
  }
  // `name` went away: a lower entry under it must not show again.
  void LeaveWhiteoutLocked(std::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const bool hid_lower = opaque_children_.erase(std::string(name)) > 0;
    if (hid_lower || LowerHasLocked(name)) whiteouts_.insert(std::string(name));
  }

  // One OverlayInode per name, so that whiteouts and copy-ups are seen by
  // every path that reaches it.
  Result<std::shared_ptr<Inode>> LookupLocked(std::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (auto it = children_.find(name); it != children_.end()) return std::shared_ptr<Inode>(it->second);
    if (whiteouts_.contains(name)) return Errno(ENOENT);
    std::shared_ptr<Inode> upper, lower;
    if (upper_) {
      auto u = upper_->Lookup(name);
      if (u) {
        upper = *u;
      } else if (u.error() != Errno(ENOENT)) {
        return u.error();
      }
    }
    // A lower directory shows through an upper one unless it was replaced.
    const bool lower_visible = lower_ && !opaque_ && !whiteouts_.contains(name);
    if (lower_visible && (!upper || (upper->IsDir() && !opaque_children_.contains(name)))) {
      auto l = lower_->Lookup(name);
      if (l) {
        if (!upper || (*l)->IsDir()) lower = *l;
      } else if (l.error() != Errno(ENOENT) || !upper) {
        if (!upper) return l.error();
      }
    }
    if (!upper && !lower) return Errno(ENOENT);
    auto self = std::static_pointer_cast<OverlayInode>(shared_from_this());
    auto child = std::make_shared<OverlayInode>(self, std::string(name), upper, lower);
    children_[std::string(name)] = child;
    return std::shared_ptr<Inode>(child);
  }

  // Makes sure this inode (and so every directory above it) exists in the
  // upper layer.
  Result<void> CopyUp(bool data = true) {
    absl::MutexLock copy_lock(&copy_mu_);
    std::shared_ptr<OverlayInode> parent;
    std::string name;
    {
      absl::MutexLock lock(&mu_);
      if (upper_) return Ok();
      // A removed lower entry must not come back under its old name.
      if (removed_) return Errno(ENOENT);
      parent = parent_.lock();
      name = name_;
    }
    if (!parent) return Errno(EROFS);  // the root always has an upper dir
    TRY(parent->CopyUp());
    const struct stat st = TRY(lower_->Stat());
    const Credentials owner{st.st_uid, st.st_gid, {}};
    std::shared_ptr<Inode> upper;
    Inode& dir = *parent->UpperDir();
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR:
        upper = TRY(dir.MakeDir(name, st.st_mode & 07777, owner));
        break;
      case S_IFLNK:
        upper = TRY(dir.MakeSymlink(name, TRY(lower_->ReadLink()), owner));
        break;
      case S_IFREG:
        upper = TRY(dir.Create(name, st.st_mode & 07777, owner));
        if (auto r = data ? CopyData(*upper) : Ok(); !r) {
          (void)dir.Unlink(name);
          return r.error();
        }
        break;
      default:  // FIFOs, sockets and device nodes: the node, no content
        upper = TRY(dir.MakeNode(name, st.st_mode & (S_IFMT | 07777), st.st_rdev, owner));
        break;
    }
    // Copy-up keeps the lower file's times, as overlayfs does.
    (void)upper->SetTimes(st.st_atim, st.st_mtim);
    absl::MutexLock lock(&mu_);
    upper_ = std::move(upper);
    return Ok();
  }

  Result<void> CopyData(Inode& upper) {
    auto in = TRY(lower_->Open(Path{}, O_RDONLY));
    auto out = TRY(upper.Open(Path{}, O_WRONLY));
    std::vector<uint8_t> buf(kCopyChunk);
    for (uint64_t off = 0;;) {
      IoVecs dst{iovec{buf.data(), buf.size()}};
      size_t n = TRY(in->PRead(dst, off));
      if (n == 0) return Ok();
      IoVecs src{iovec{buf.data(), n}};
      TRY(out->PWrite(src, off));
      off += n;
    }
  }

  std::shared_ptr<Inode> UpperDir() const {
    absl::MutexLock lock(&mu_);
    return upper_;
  }

  template <class Fn>
  Result<std::shared_ptr<Inode>> MakeUpper(std::string_view name, Fn make) {
    if (!IsDir()) return Errno(ENOTDIR);
    TRY(CopyUp());
    absl::MutexLock lock(&mu_);
    if (removed_) return Errno(ENOENT);
    if (lower_ && !opaque_ && !whiteouts_.contains(name) && lower_->Lookup(name)) {
      return Errno(EEXIST);
    }
    std::shared_ptr<Inode> upper = TRY(make(*upper_));
    changed_ = true;
    // A name that was whited out now hides the lower entry for good.
    if (whiteouts_.erase(std::string(name)) > 0) opaque_children_.insert(std::string(name));
    auto self = std::static_pointer_cast<OverlayInode>(shared_from_this());
    auto child = std::make_shared<OverlayInode>(self, std::string(name), upper, nullptr);
    child->opaque_ = true;
    children_[std::string(name)] = child;
    return std::shared_ptr<Inode>(child);
  }

  Result<void> Remove(std::string_view name, bool dir) {
    if (!IsDir()) return Errno(ENOTDIR);
    auto child_inode = TRY(Lookup(name));
    auto child = std::static_pointer_cast<OverlayInode>(child_inode);
    if (dir != child->IsDir()) return Errno(dir ? ENOTDIR : EISDIR);
    if (dir && !TRY(child->List()).empty()) return Errno(ENOTEMPTY);
    TRY(CopyUp());
    absl::MutexLock lock(&mu_);
    bool had_lower;
    {
      absl::MutexLock child_lock(&child->mu_);  // lock order: parent, then child
      if (child->upper_) {
        if (dir) {
          TRY(upper_->RemoveDir(name));
        } else {
          TRY(upper_->Unlink(name));
        }
      }
      had_lower = child->lower_ != nullptr && !child->opaque_;
      child->removed_ = true;
    }
    if (had_lower || opaque_children_.contains(std::string(name))) {
      whiteouts_.insert(std::string(name));
      opaque_children_.erase(std::string(name));
    }
    children_.erase(std::string(name));
    changed_ = true;
    // A whiteout changes the directory even when nothing in the upper layer
    // went away.
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    (void)upper_->SetTimes(now, now);
    return Ok();
  }

  // The tree is owned from the root down (children_), so the whiteouts and
  // copy-ups a directory records live as long as the mount.
  mutable absl::Mutex mu_;
  // Where the inode is; rename(2) changes both.
  std::weak_ptr<OverlayInode> parent_ ABSL_GUARDED_BY(mu_);
  const std::shared_ptr<Inode> lower_root_;  // the lower layer's root, for statfs
  std::string name_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Inode> upper_ ABSL_GUARDED_BY(mu_);
  const std::shared_ptr<Inode> lower_;
  // Directory state: names removed from the lower layer, names re-created
  // over a whiteout (their lower entry stays hidden), and whether this
  // directory hides its whole lower directory (it was made in the upper
  // layer).
  std::set<std::string, std::less<>> whiteouts_ ABSL_GUARDED_BY(mu_);
  std::set<std::string, std::less<>> opaque_children_ ABSL_GUARDED_BY(mu_);
  bool opaque_ = false;
  bool removed_ ABSL_GUARDED_BY(mu_) = false;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;  // entries were added or removed
  std::map<std::string, std::shared_ptr<OverlayInode>, std::less<>> children_ ABSL_GUARDED_BY(mu_);
  absl::Mutex copy_mu_;  // serializes copy-up; lock order: child, then parent
};

}  // namespace

std::shared_ptr<Mount> NewOverlayMount(std::shared_ptr<Inode> lower_root, PageStore* store,
                                       std::string source) {
  auto st = lower_root->Stat();
  const Credentials owner{st ? st->st_uid : 0, st ? st->st_gid : 0, {}};
  auto upper = NewTmpfsMount(st ? st->st_mode & 07777 : 0755, owner, "tmpfs", store);
  auto root = std::make_shared<OverlayInode>(nullptr, "", upper->root()->inode(), std::move(lower_root));
  auto dentry = std::make_shared<Dentry>(nullptr, "", std::move(root));
  return std::make_shared<Mount>(std::move(dentry), "overlay", std::move(source), false);
}

}  // namespace husk::vfs
