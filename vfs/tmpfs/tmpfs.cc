#include "vfs/tmpfs/tmpfs.h"

#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <atomic>
#include <cstring>
#include <map>
#include <vector>

#include "vfs/dir_file.h"
#include "vfs/pages.h"

namespace husk::vfs {
namespace {

std::atomic<uint64_t> g_next_ino{1};
std::atomic<uint32_t> g_next_minor{100};
constexpr uint64_t kMaxFileSize = 1ULL << 40;

timespec Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

class TmpfsInode : public Inode {
 public:
  TmpfsInode(mode_t mode, const Credentials& creds, dev_t dev, PageStore& store)
      : Inode(mode), store_(store) {
    if (S_ISREG(mode)) pages_ = std::make_shared<SharedPages>(store);
    st_.st_dev = dev;
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

  Result<std::shared_ptr<Inode>> CreateTmpfile(mode_t mode, const Credentials& creds) override {
    if (!IsDir()) return Errno(ENOTDIR);
    if (Unlinked()) return Errno(ENOENT);
    auto file = std::make_shared<TmpfsInode>((mode & 07777) | S_IFREG, creds, st_.st_dev, store_);
    file->Orphan();
    return std::shared_ptr<Inode>(std::move(file));
  }

  // The last name went away: nlink drops to 0 and a directory is dead.
  void Orphan() {
    absl::MutexLock lock(&mu_);
    st_.st_nlink = 0;
    st_.st_ctim = Now();
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
    return AddChild(name, std::make_shared<TmpfsInode>((mode & 07777) | S_IFREG, creds, st_.st_dev, store_));
  }
  Result<std::shared_ptr<Inode>> MakeDir(std::string_view name, mode_t mode,
                                         const Credentials& creds) override {
    auto inode = TRY(AddChild(name, std::make_shared<TmpfsInode>((mode & 07777) | S_IFDIR, creds, st_.st_dev, store_)));
    absl::MutexLock lock(&mu_);
    ++st_.st_nlink;
    return inode;
  }
  Result<std::shared_ptr<Inode>> MakeSymlink(std::string_view name, std::string_view target,
                                             const Credentials& creds) override {
    auto link = std::make_shared<TmpfsInode>(S_IFLNK | 0777, creds, st_.st_dev, store_);
    link->data_.assign(target.begin(), target.end());
    return AddChild(name, std::move(link));
  }
  Result<void> Unlink(std::string_view name) override {
    if (!IsDir()) return Errno(ENOTDIR);
    absl::MutexLock lock(&mu_);
    auto it = children_.find(name);
    if (it == children_.end()) return Errno(ENOENT);
    if (it->second->IsDir()) return Errno(EISDIR);
    static_cast<TmpfsInode*>(it->second.get())->Orphan();  // lock order: parent, then child
    children_.erase(it);
    st_.st_mtim = st_.st_ctim = Now();
    return Ok();
  }
  Result<void> RemoveDir(std::string_view name) override {
    if (!IsDir()) return Errno(ENOTDIR);
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
  Result<std::string> ReadLink() override {
    if (!IsSymlink()) return Errno(EINVAL);
    absl::MutexLock lock(&mu_);
    return std::string(data_.begin(), data_.end());
  }
  Result<void> Truncate(uint64_t size) override {
    if (IsDir()) return Errno(EISDIR);
    if (!IsRegular()) return Errno(EINVAL);
    absl::MutexLock lock(&mu_);
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
    st_.st_mode = (st_.st_mode & S_IFMT) | (mode & 07777);
    st_.st_ctim = Now();
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
    size_t n = TRY(pages_->Write(offset, src));
    size_ = std::max<uint64_t>(size_, offset + n);
    st_.st_mtim = st_.st_ctim = Now();
    return n;
  }
  const std::shared_ptr<SharedPages>& pages() const { return pages_; }

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
  mutable absl::Mutex mu_;
  struct stat st_ ABSL_GUARDED_BY(mu_) {};
  std::map<std::string, std::shared_ptr<Inode>, std::less<>> children_ ABSL_GUARDED_BY(mu_);
  PageStore& store_;
  std::shared_ptr<SharedPages> pages_;               // a regular file's content
  uint64_t size_ ABSL_GUARDED_BY(mu_) = 0;           // a regular file's size
  std::vector<uint8_t> data_ ABSL_GUARDED_BY(mu_);  // a symlink's target
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

std::shared_ptr<Mount> NewTmpfsMount(mode_t mode, const Credentials& creds, std::string source,
                                     PageStore* store) {
  dev_t dev = makedev(0, g_next_minor++);
  auto root = std::make_shared<Dentry>(
      nullptr, "", NewTmpfsDir(mode, creds, dev, store ? *store : HeapPageStore()));
  return std::make_shared<Mount>(std::move(root), "tmpfs", std::move(source), false);
}

}  // namespace husk::vfs
