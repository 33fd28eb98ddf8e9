#include "vfs/overlay/overlay.h"

#include <dirent.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <map>
#include <set>
#include <vector>

#include "vfs/dir_file.h"
#include "vfs/tmpfs/tmpfs.h"

namespace husk::vfs {
namespace {

constexpr size_t kCopyChunk = 1 << 20;

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
    if (changed_) {
      struct stat up = TRY(upper_->Stat());
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

  Result<void> Unlink(std::string_view name) override { return Remove(name, false); }
  Result<void> RemoveDir(std::string_view name) override { return Remove(name, true); }

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

  Result<std::shared_ptr<Inode>> CreateTmpfile(mode_t mode, const Credentials& creds) override {
    TRY(CopyUp());
    return Current()->CreateTmpfile(mode, creds);
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
    {
      absl::MutexLock lock(&mu_);
      if (upper_) return Ok();
      // A removed lower entry must not come back under its old name.
      if (removed_) return Errno(ENOENT);
    }
    auto parent = parent_.lock();
    if (!parent) return Errno(EROFS);  // the root always has an upper dir
    TRY(parent->CopyUp());
    const struct stat st = TRY(lower_->Stat());
    const Credentials owner{st.st_uid, st.st_gid, {}};
    std::shared_ptr<Inode> upper;
    Inode& dir = *parent->UpperDir();
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR:
        upper = TRY(dir.MakeDir(name_, st.st_mode & 07777, owner));
        break;
      case S_IFLNK:
        upper = TRY(dir.MakeSymlink(name_, TRY(lower_->ReadLink()), owner));
        break;
      case S_IFREG:
        upper = TRY(dir.Create(name_, st.st_mode & 07777, owner));
        if (auto r = data ? CopyData(*upper) : Ok(); !r) {
          (void)dir.Unlink(name_);
          return r.error();
        }
        break;
      default:
        // PARTIAL(overlay): device nodes, fifos and sockets are not copied up.
        return Errno(EROFS);
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
  const std::weak_ptr<OverlayInode> parent_;
  const std::shared_ptr<Inode> lower_root_;  // the lower layer's root, for statfs
  const std::string name_;
  mutable absl::Mutex mu_;
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
