#include "vfs/tmpfs/tmpfs.h"

#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <cstring>
#include <map>
#include <vector>

#include <linux/falloc.h>
#include <sys/xattr.h>

#include "vfs/dir_file.h"
#include "vfs/pages.h"
#include "vfs/pipe/pipe.h"
#include "vfs/xattr.h"

namespace husk::vfs {
namespace {

std::atomic<uint64_t> g_next_ino{1};
std::atomic<uint32_t> g_next_minor{100};
constexpr uint64_t kMaxFileSize = 1ULL << 40;
constexpr unsigned kSealExec = 0x20;  // F_SEAL_EXEC (Linux 6.3), not in older headers
constexpr unsigned kRenameFlags = RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT;

// Serializes what locks two directories (rename, rmdir), after Linux's
// s_vfs_rename_mutex. Lock order: this, then directories, then the files
// in them.
absl::Mutex g_rename_mu;

timespec Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

class TmpfsInode : public Inode {
 public:
  TmpfsInode(mode_t mode, const Credentials& creds, dev_t dev, PageStore& store, dev_t rdev = 0)
      : Inode(mode), dev_(dev), store_(store) {
    if (S_ISREG(mode)) pages_ = std::make_shared<SharedPages>(store);
    if (S_ISFIFO(mode)) fifo_ = NewFifo();
    st_.st_dev = dev;
    if (S_ISCHR(mode) || S_ISBLK(mode)) st_.st_rdev = rdev;
    st_.st_ino = g_next_ino++;
    st_.st_mode = mode;
    st_.st_nlink = S_ISDIR(mode) ? 2 : 1;
    st_.st_uid = creds.fsuid;
    st_.st_gid = creds.fsgid;
    st_.st_blksize = 4096;
    st_.st_atim = st_.st_mtim = st_.st_ctim = Now();
  }

  Result<struct stat> Stat() override {
    absl::MutexLock lock(&mu_);
    struct stat st = st_;
    st.st_size = static_cast<off_t>(SizeLocked());
    st.st_blocks = static_cast<blkcnt_t>((st.st_size + 511) / 512);
    return st;
  }

  Result<std::shared_ptr<FileDescription>> Open(const Path& path, int flags) override;

  bool Unlinked() const override {
    absl::MutexLock lock(&mu_);
    return st_.st_nlink == 0;
  }

  Result<std::shared_ptr<Inode>> CreateTmpfile(mode_t mode, const Credentials& creds,
                                               bool linkable) override {
    if (!IsDir()) return Errno(ENOTDIR);
    if (Unlinked()) return Errno(ENOENT);
    auto file = std::make_shared<TmpfsInode>((mode & 07777) | S_IFREG, creds, dev_, store_);
    {
      absl::MutexLock lock(&file->mu_);
      file->st_.st_nlink = 0;
      file->linkable_ = linkable;
    }
    return std::shared_ptr<Inode>(std::move(file));
  }

  // A name of the inode went away (unlink, or a rename over it): a file
  // loses one link, a directory is dead.
  static void DropName(Inode& inode) {
    auto* t = dynamic_cast<TmpfsInode*>(&inode);
    if (t == nullptr) return;  // a node of another kind (devfs)
    absl::MutexLock lock(&t->mu_);
    if (t->IsDir() || t->st_.st_nlink == 0) {
      t->st_.st_nlink = 0;
    } else {
      --t->st_.st_nlink;
    }
    t->st_.st_ctim = Now();
  }
  static void Touch(Inode& inode) {
    if (auto* t = dynamic_cast<TmpfsInode*>(&inode)) {
      absl::MutexLock lock(&t->mu_);
      t->st_.st_ctim = Now();
    }
  }

  Result<std::shared_ptr<Inode>> Lookup(std::string_view name) override {
    if (!IsDir()) return Errno(ENOTDIR);
    absl::MutexLock lock(&mu_);
    auto it = children_.find(name);
    if (it == children_.end()) return Errno(ENOENT);
    return it->second;
  }

  Result<std::vector<DirEntry>> List() override {
    if (!IsDir()) return Errno(ENOTDIR);
    absl::MutexLock lock(&mu_);
    if (st_.st_nlink == 0) return Errno(ENOENT);  // a removed directory
    std::vector<DirEntry> out;
    for (const auto& [name, inode] : children_) {
      auto st = inode->Stat();
      out.push_back(DirEntry{st ? static_cast<uint64_t>(st->st_ino) : 0, DirentType(inode->type()), name});
    }
    return out;
  }

  Result<std::shared_ptr<Inode>> Create(std::string_view name, mode_t mode,
                                        const Credentials& creds) override {
    return AddChild(name, std::make_shared<TmpfsInode>((mode & 07777) | S_IFREG, creds, dev_, store_));
  }
  Result<std::shared_ptr<Inode>> MakeNode(std::string_view name, mode_t mode, dev_t rdev,
                                          const Credentials& creds) override {
    switch (mode & S_IFMT) {
      case S_IFREG: case S_IFIFO: case S_IFSOCK: case S_IFCHR: case S_IFBLK: break;
      default: return Errno(EINVAL);
    }
    return AddChild(name, std::make_shared<TmpfsInode>(mode & (S_IFMT | 07777), creds, dev_, store_, rdev));
  }
  Result<std::shared_ptr<Inode>> MakeDir(std::string_view name, mode_t mode,
                                         const Credentials& creds) override {
    auto inode = TRY(AddChild(name, std::make_shared<TmpfsInode>((mode & 07777) | S_IFDIR, creds, dev_, store_)));
    absl::MutexLock lock(&mu_);
    ++st_.st_nlink;
    return inode;
  }
  Result<std::shared_ptr<Inode>> MakeSymlink(std::string_view name, std::string_view target,
                                             const Credentials& creds) override {
    auto link = std::make_shared<TmpfsInode>(S_IFLNK | 0777, creds, dev_, store_);
    link->data_.assign(target.begin(), target.end());
    return AddChild(name, std::move(link));
  }
  Result<void> Unlink(std::string_view name) override {
    if (!IsDir()) return Errno(ENOTDIR);
    absl::MutexLock lock(&mu_);
    auto it = children_.find(name);
    if (it == children_.end()) return Errno(ENOENT);
    if (it->second->IsDir()) return Errno(EISDIR);
    DropName(*it->second);  // lock order: parent, then child
    children_.erase(it);
    st_.st_mtim = st_.st_ctim = Now();
    return Ok();
  }
  Result<void> RemoveDir(std::string_view name) override {
    if (!IsDir()) return Errno(ENOTDIR);
    absl::MutexLock rename_lock(&g_rename_mu);
    absl::MutexLock lock(&mu_);
    auto it = children_.find(name);
    if (it == children_.end()) return Errno(ENOENT);
    if (!it->second->IsDir()) return Errno(ENOTDIR);
    auto* child = static_cast<TmpfsInode*>(it->second.get());
    {
      absl::MutexLock child_lock(&child->mu_);  // lock order: parent, then child
      if (!child->children_.empty()) return Errno(ENOTEMPTY);
      child->st_.st_nlink = 0;
    }
    children_.erase(it);
    --st_.st_nlink;
    st_.st_mtim = st_.st_ctim = Now();
    return Ok();
  }
  Result<std::shared_ptr<Inode>> Link(std::string_view name,
                                      const std::shared_ptr<Inode>& target) override {
    if (!IsDir()) return Errno(ENOTDIR);
    auto* file = dynamic_cast<TmpfsInode*>(target.get());
    if (file == nullptr) return Errno(EPERM);  // a devfs node: not linkable
    if (file->dev_ != dev_) return Errno(EXDEV);
    if (file->IsDir()) return Errno(EPERM);
    absl::MutexLock lock(&mu_);
    if (st_.st_nlink == 0) return Errno(ENOENT);
    if (children_.contains(name)) return Errno(EEXIST);
    {
      absl::MutexLock file_lock(&file->mu_);  // lock order: parent, then child
      if (file->st_.st_nlink == 0 && !file->linkable_) return Errno(ENOENT);
      ++file->st_.st_nlink;
      file->linkable_ = false;  // an O_TMPFILE file is linkable once
      file->st_.st_ctim = Now();
    }
    children_.emplace(std::string(name), target);
    st_.st_mtim = st_.st_ctim = Now();
    return target;
  }

  Result<void> Rename(std::string_view old_name, Inode& new_dir, std::string_view new_name,
                      unsigned flags, const Credentials& creds) override
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (!IsDir()) return Errno(ENOTDIR);
    auto* to = dynamic_cast<TmpfsInode*>(&new_dir);
    if (to == nullptr || to->dev_ != dev_) return Errno(EXDEV);
    if (!to->IsDir()) return Errno(ENOTDIR);
    if (flags & ~kRenameFlags) return Errno(EINVAL);
    const bool exchange = flags & RENAME_EXCHANGE;
    // Made before anything changes, so the rename cannot fail halfway.
    std::shared_ptr<TmpfsInode> whiteout;
    if (flags & RENAME_WHITEOUT) {
      whiteout = std::make_shared<TmpfsInode>(S_IFCHR, creds, dev_, store_, makedev(0, 0));
    }
    std::shared_ptr<Inode> replaced;  // dies after the locks are dropped
    absl::MutexLock rename_lock(&g_rename_mu);
    TmpfsInode* first = this;
    TmpfsInode* second = to;
    if (second < first) std::swap(first, second);
    absl::MutexLock lock1(&first->mu_);
    std::optional<absl::MutexLock> lock2;
    if (second != first) lock2.emplace(&second->mu_);

    auto it = children_.find(old_name);
    if (it == children_.end()) return Errno(ENOENT);
    std::shared_ptr<Inode> src = it->second;
    std::shared_ptr<Inode> dst;
    if (auto jt = to->children_.find(new_name); jt != to->children_.end()) dst = jt->second;
    if (src == dst) return Ok();  // two names of one file: nothing to do
    if (src.get() == to) return Errno(EINVAL);  // a directory into itself
    if (dst.get() == this) return Errno(ENOTEMPTY);
    if (dst == nullptr && (exchange || to->st_.st_nlink == 0)) return Errno(ENOENT);
    if (dst != nullptr && !exchange) {
      if (flags & RENAME_NOREPLACE) return Errno(EEXIST);
      if (src->IsDir() && !dst->IsDir()) return Errno(ENOTDIR);
      if (!src->IsDir() && dst->IsDir()) return Errno(EISDIR);
      if (dst->IsDir()) {
        if (auto* d = dynamic_cast<TmpfsInode*>(dst.get())) {
          absl::MutexLock dst_lock(&d->mu_);  // lock order: parent, then child
          if (!d->children_.empty()) return Errno(ENOTEMPTY);
        } else if (auto entries = dst->List(); !entries || !entries->empty()) {
          return Errno(ENOTEMPTY);  // a directory of another kind (a test's)
        }
      }
    }

    // A directory's ".." moves with it: the parents' link counts follow.
    auto moved_dir = [&](const std::shared_ptr<Inode>& d, TmpfsInode* from, TmpfsInode* into)
                         ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (!d->IsDir() || from == into) return;
      --from->st_.st_nlink;
      ++into->st_.st_nlink;
    };
    if (exchange) {
      it->second = dst;
      to->children_[std::string(new_name)] = src;
      moved_dir(src, this, to);
      moved_dir(dst, to, this);
      Touch(*dst);
    } else {
      if (dst != nullptr) {
        if (dst->IsDir()) --to->st_.st_nlink;
        DropName(*dst);
        replaced = dst;
      }
      moved_dir(src, this, to);
      to->children_[std::string(new_name)] = src;
      if (whiteout) {
        it->second = whiteout;
      } else {
        children_.erase(it);
      }
    }
    Touch(*src);
    const timespec now = Now();
    st_.st_mtim = st_.st_ctim = now;
    to->st_.st_mtim = to->st_.st_ctim = now;
    return Ok();
  }

  Result<std::string> ReadLink() override {
    if (!IsSymlink()) return Errno(EINVAL);
    absl::MutexLock lock(&mu_);
    return std::string(data_.begin(), data_.end());
  }
  Result<void> Truncate(uint64_t size) override {
    if (IsDir()) return Errno(EISDIR);
    if (!IsRegular()) return Errno(EINVAL);
    absl::MutexLock lock(&mu_);
    if ((size < size_ && (seals_ & F_SEAL_SHRINK)) || (size > size_ && (seals_ & F_SEAL_GROW))) {
      return Errno(EPERM);
    }
    if (size < size_) pages_->Truncate(size);
    size_ = size;
    st_.st_mtim = st_.st_ctim = Now();
    return Ok();
  }

  Result<struct statfs> StatFs() override {
    struct statfs st = TRY(Inode::StatFs());
    st.f_type = 0x01021994;  // TMPFS_MAGIC
    // PARTIAL(tmpfs size): no size limit yet; report the host's memory.
    struct sysinfo si;
    if (sysinfo(&si) == 0) {
      st.f_blocks = si.totalram * si.mem_unit / 4096;
      st.f_bfree = st.f_bavail = si.freeram * si.mem_unit / 4096;
    }
    st.f_files = st.f_ffree = st.f_blocks;
    return st;
  }

  Result<void> SetTimes(const timespec& atime, const timespec& mtime) override {
    absl::MutexLock lock(&mu_);
    st_.st_atim = atime;
    st_.st_mtim = mtime;
    st_.st_ctim = Now();
    return Ok();
  }

  Result<void> SetMode(mode_t mode) override {
    absl::MutexLock lock(&mu_);
    if ((seals_ & kSealExec) && ((st_.st_mode ^ mode) & 0111)) return Errno(EPERM);
    st_.st_mode = (st_.st_mode & S_IFMT) | (mode & 07777);
    st_.st_ctim = Now();
    return Ok();
  }

  Result<void> SetOwner(uint32_t uid, uint32_t gid, mode_t clear) override {
    absl::MutexLock lock(&mu_);
    if (uid != kKeepId) st_.st_uid = uid;
    if (gid != kKeepId) st_.st_gid = gid;
    st_.st_mode &= ~(clear & 07777);
    st_.st_ctim = Now();
    return Ok();
  }

  // Extended attributes: tmpfs's user, trusted and security namespaces.
  Result<std::string> GetXattr(std::string_view name) override {
    if (!StoredXattrNamespace(name)) return Errno(EOPNOTSUPP);
    absl::MutexLock lock(&mu_);
    auto it = xattrs_.find(name);
    if (it == xattrs_.end()) return Errno(ENODATA);
    return it->second;
  }
  Result<void> SetXattr(std::string_view name, std::string_view value, int flags) override {
    if (!StoredXattrNamespace(name)) return Errno(EOPNOTSUPP);
    absl::MutexLock lock(&mu_);
    auto it = xattrs_.find(name);
    if (it != xattrs_.end() && (flags & XATTR_CREATE)) return Errno(EEXIST);
    if (it == xattrs_.end() && (flags & XATTR_REPLACE)) return Errno(ENODATA);
    if (it == xattrs_.end()) {
      xattrs_.emplace(std::string(name), std::string(value));
    } else {
      it->second.assign(value);
    }
    st_.st_ctim = Now();
    return Ok();
  }
  Result<std::vector<std::string>> ListXattr() override {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> names;
    for (const auto& [name, value] : xattrs_) names.push_back(name);
    return names;
  }
  Result<void> RemoveXattr(std::string_view name) override {
    if (!StoredXattrNamespace(name)) return Errno(EOPNOTSUPP);
    absl::MutexLock lock(&mu_);
    auto it = xattrs_.find(name);
    if (it == xattrs_.end()) return Errno(ENODATA);
    xattrs_.erase(it);
    st_.st_ctim = Now();
    return Ok();
  }

  // fallocate(2): allocation only extends the size (pages come on first
  // write, as holes read as zeros); PUNCH_HOLE and ZERO_RANGE zero the
  // range. ZERO_RANGE is what a disk filesystem offers (Linux's tmpfs says
  // EOPNOTSUPP): the sandbox's root stands in for one.
  Result<void> Allocate(int mode, uint64_t offset, uint64_t len) {
    if (!IsRegular()) return Errno(ENODEV);
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
      return Errno(EOPNOTSUPP);
    }
    const uint64_t end = offset + len;
    if (end < offset || end > kMaxFileSize) return Errno(EFBIG);
    absl::MutexLock lock(&mu_);
    const bool zero = mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE);
    if (zero && (seals_ & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))) return Errno(EPERM);
    if ((seals_ & F_SEAL_GROW) && end > size_) return Errno(EPERM);
    if (zero && offset < size_) pages_->ZeroRange(offset, std::min(end, size_) - offset);
    const bool grows = !(mode & FALLOC_FL_KEEP_SIZE) && end > size_;
    if (grows) size_ = end;
    if (zero || grows) st_.st_mtim = st_.st_ctim = Now();
    return Ok();
  }

  Result<size_t> ReadAt(const IoVecs& dst, uint64_t offset) {
    absl::MutexLock lock(&mu_);
    if (offset >= size_) return 0;
    return pages_->Read(offset, dst, size_ - offset);
  }
  Result<size_t> WriteAt(const IoVecs& src, uint64_t offset) {
    size_t len = TotalLength(src);
    absl::MutexLock lock(&mu_);
    if (offset + len < offset || offset + len > kMaxFileSize) return Errno(EFBIG);
    if (seals_ & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return Errno(EPERM);
    const IoVecs* data = &src;
    IoVecs part;
    if ((seals_ & F_SEAL_GROW) && offset + len > size_) {
      // F_SEAL_GROW: what fits below the size is written, no more.
      if (offset >= size_) return Errno(EPERM);
      for (size_t left = size_ - offset; const iovec& v : src) {
        if (left == 0) break;
        part.push_back(iovec{v.iov_base, std::min(v.iov_len, left)});
        left -= part.back().iov_len;
      }
      data = &part;
    }
    size_t n = TRY(pages_->Write(offset, *data));
    size_ = std::max<uint64_t>(size_, offset + n);
    st_.st_mtim = st_.st_ctim = Now();
    return n;
  }
  const std::shared_ptr<SharedPages>& pages() const { return pages_; }

  // memfd seals (F_GET_SEALS, F_ADD_SEALS; Linux's memfd_add_seals).
  unsigned Seals() {
    absl::MutexLock lock(&mu_);
    return seals_;
  }
  Result<void> AddSeals(unsigned seals) {
    absl::MutexLock lock(&mu_);
    if (seals_ & F_SEAL_SEAL) return Errno(EPERM);
    // F_SEAL_EXEC on an executable file also seals its content: W^X.
    if ((seals & kSealExec) && (st_.st_mode & 0111)) {
      seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
    }
    seals_ |= seals;
    return Ok();
  }
  // memfd_create(2)'s file: no name (nlink 0) and `seals` from the start.
  void MakeMemfd(unsigned seals) {
    absl::MutexLock lock(&mu_);
    st_.st_nlink = 0;
    seals_ = seals;
  }
  dev_t dev() const { return dev_; }
  PageStore& store() const { return store_; }

 public:
  Result<std::shared_ptr<Inode>> AddChild(std::string_view name, std::shared_ptr<Inode> inode) {
    if (!IsDir()) return Errno(ENOTDIR);
    absl::MutexLock lock(&mu_);
    if (st_.st_nlink == 0) return Errno(ENOENT);  // creating in a removed directory
    auto [it, inserted] = children_.try_emplace(std::string(name), inode);
    if (!inserted) return Errno(EEXIST);
    st_.st_mtim = st_.st_ctim = Now();
    return inode;
  }

 private:
  uint64_t SizeLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (IsDir()) return 4096;  // PARTIAL(size): Linux tmpfs reports entries*20+40
    if (IsSymlink()) return data_.size();
    return size_;
  }
  const dev_t dev_;  // the filesystem's
  mutable absl::Mutex mu_;
  struct stat st_ ABSL_GUARDED_BY(mu_) {};
  bool linkable_ ABSL_GUARDED_BY(mu_) = false;  // an O_TMPFILE file link(2) may name
  std::map<std::string, std::shared_ptr<Inode>, std::less<>> children_ ABSL_GUARDED_BY(mu_);
  PageStore& store_;
  std::shared_ptr<SharedPages> pages_;               // a regular file's content
  std::shared_ptr<Pipe> fifo_;                       // a FIFO's buffer
  uint64_t size_ ABSL_GUARDED_BY(mu_) = 0;           // a regular file's size
  // F_SEAL_* (fcntl(2) file seals). Any tmpfs file has them, but only
  // memfd_create(MFD_ALLOW_SEALING) starts without F_SEAL_SEAL.
  unsigned seals_ ABSL_GUARDED_BY(mu_) = F_SEAL_SEAL;
  std::vector<uint8_t> data_ ABSL_GUARDED_BY(mu_);  // a symlink's target
  std::map<std::string, std::string, std::less<>> xattrs_ ABSL_GUARDED_BY(mu_);
};

class TmpfsFile final : public FileDescription {
 public:
  TmpfsFile(Path path, int flags, TmpfsInode* inode)
      : FileDescription(std::move(path), flags), inode_(inode) {}
  Result<size_t> PRead(const IoVecs& dst, uint64_t offset) override {
    return inode_->ReadAt(dst, offset);
  }
  Result<size_t> PWrite(const IoVecs& src, uint64_t offset) override {
    return inode_->WriteAt(src, offset);
  }
  bool Seekable() const override { return true; }
  std::shared_ptr<SharedPages> SharedMemory() override { return inode_->pages(); }
  Result<void> Allocate(int mode, uint64_t offset, uint64_t len) override {
    return inode_->Allocate(mode, offset, len);
  }
  // Seals are tmpfs's own: a file reached through the overlay root is an
  // overlayfs file to Linux, which has none (EINVAL).
  Result<unsigned> Seals() override {
    if (inode() != inode_) return Errno(EINVAL);
    return inode_->Seals();
  }
  Result<void> AddSeals(unsigned seals) override {
    if (inode() != inode_) return Errno(EINVAL);
    return inode_->AddSeals(seals);
  }

 private:
  TmpfsInode* inode_;  // kept alive by path_.dentry
};

class TmpfsPathFile final : public FileDescription {
 public:
  using FileDescription::FileDescription;
  Result<size_t> Read(const IoVecs&) override { return Errno(EBADF); }
  Result<size_t> Write(const IoVecs&) override { return Errno(EBADF); }
  bool Mappable() const override { return false; }
};

Result<std::shared_ptr<FileDescription>> TmpfsInode::Open(const Path& path, int flags) {
  if (flags & O_PATH) return std::shared_ptr<FileDescription>(std::make_shared<TmpfsPathFile>(path, flags));
  if (IsDir()) return std::shared_ptr<FileDescription>(std::make_shared<DirectoryFile>(path, flags));
  switch (type()) {
    case S_IFIFO: return OpenFifo(fifo_, path, flags);
    // A socket file is reached through connect(2), not open(2).
    case S_IFSOCK: return Errno(ENXIO);
    // PARTIAL(device nodes): mknod makes them, but no driver answers an
    // open of one outside /dev; Linux says ENXIO for a missing driver.
    case S_IFCHR: case S_IFBLK: return Errno(ENXIO);
  }
  return std::shared_ptr<FileDescription>(std::make_shared<TmpfsFile>(path, flags, this));
}

}  // namespace

Result<void> TmpfsAddNode(Inode& dir, std::string_view name, std::shared_ptr<Inode> node) {
  TRY(static_cast<TmpfsInode&>(dir).AddChild(name, std::move(node)));
  return Ok();
}

std::shared_ptr<Inode> NewTmpfsDir(mode_t mode, const Credentials& creds, dev_t dev,
                                   PageStore& store) {
  return std::make_shared<TmpfsInode>((mode & 07777) | S_IFDIR, creds, dev, store);
}

Result<std::shared_ptr<FileDescription>> NewTmpfsMemfd(const std::shared_ptr<Mount>& mount,
                                                       std::string_view name, mode_t mode,
                                                       unsigned seals, const Credentials& creds) {
  auto* root = dynamic_cast<TmpfsInode*>(mount->root()->inode().get());
  if (root == nullptr) return Errno(EINVAL);
  auto inode = std::make_shared<TmpfsInode>((mode & 07777) | S_IFREG, creds, root->dev(), root->store());
  inode->MakeMemfd(seals);
  // A name in no directory, which /proc/self/fd shows as "/memfd:NAME (deleted)".
  auto dentry = std::make_shared<Dentry>(mount->root(), "memfd:" + std::string(name), inode);
  return inode->Open(Path{mount, std::move(dentry)}, O_RDWR);
}

std::shared_ptr<Mount> NewTmpfsMount(mode_t mode, const Credentials& creds, std::string source,
                                     PageStore* store) {
  dev_t dev = makedev(0, g_next_minor++);
  auto root = std::make_shared<Dentry>(
      nullptr, "", NewTmpfsDir(mode, creds, dev, store ? *store : HeapPageStore()));
  return std::make_shared<Mount>(std::move(root), "tmpfs", std::move(source), false);
}

}  // namespace husk::vfs
