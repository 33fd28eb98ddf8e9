#include "vfs/goferfs/goferfs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>

#include "base/scoped_fd.h"
#include "vfs/dir_file.h"
#include "vfs/pipe/pipe.h"

namespace husk::vfs {
namespace {

struct stat ToStat(const gofer::Attr& a) {
  struct stat st {};
  st.st_dev = a.dev;
  st.st_ino = a.ino;
  st.st_nlink = a.nlink;
  st.st_mode = a.mode;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_rdev = a.rdev;
  st.st_size = a.size;
  st.st_blksize = a.blksize;
  st.st_blocks = a.blocks;
  st.st_atim = a.atime;
  st.st_mtim = a.mtime;
  st.st_ctim = a.ctime;
  return st;
}

// An open regular file: reads and writes go straight to the donated host fd.
class GoferFile final : public FileDescription {
 public:
  GoferFile(Path path, int flags, ScopedFd fd, bool read_only)
      : FileDescription(std::move(path), flags), fd_(std::make_shared<const ScopedFd>(std::move(fd))),
        read_only_(read_only) {}

  Result<size_t> PRead(const IoVecs& dst, uint64_t offset) override {
    ssize_t n = preadv(fd_->get(), dst.data(), static_cast<int>(dst.size()), static_cast<off_t>(offset));
    if (n < 0) return Errno(errno);
    return static_cast<size_t>(n);
  }
  Result<size_t> PWrite(const IoVecs& src, uint64_t offset) override {
    ssize_t n = pwritev(fd_->get(), src.data(), static_cast<int>(src.size()), static_cast<off_t>(offset));
    if (n < 0) return Errno(errno);
    return static_cast<size_t>(n);
  }
  Result<uint64_t> Size() override {
    struct stat st;
    if (fstat(fd_->get(), &st) != 0) return Errno(errno);
    return static_cast<uint64_t>(st.st_size);
  }
  bool Seekable() const override { return true; }
  std::shared_ptr<const ScopedFd> HostPages() override { return fd_; }
  // A file of a writable export reaches the host's disk; a read-only
  // export has nothing to write back.
  Result<void> Sync(bool data_only) override {
    if (read_only_) return Ok();
    if ((data_only ? fdatasync(fd_->get()) : fsync(fd_->get())) != 0) return Errno(errno);
    return Ok();
  }
  Result<void> Allocate(int mode, uint64_t offset, uint64_t len) override {
    if (fallocate(fd_->get(), mode, static_cast<off_t>(offset), static_cast<off_t>(len)) != 0) {
      return Errno(errno);
    }
    return Ok();
  }

 private:
  // Shared with the mappings that map it.
  std::shared_ptr<const ScopedFd> fd_;
  const bool read_only_;  // the export's
};

// An O_PATH file: names the inode, does no I/O.
class PathFile final : public FileDescription {
 public:
  using FileDescription::FileDescription;
  Result<size_t> Read(const IoVecs&) override { return Errno(EBADF); }
  Result<size_t> Write(const IoVecs&) override { return Errno(EBADF); }
  bool Mappable() const override { return false; }
};

// The sandbox's pipe of a host FIFO: one per host file, however many
// inodes (names, walks) lead to it, while any of them lives.
std::shared_ptr<Pipe> SharedFifo(uint64_t dev, uint64_t ino) {
  static absl::Mutex mu;
  static auto* fifos ABSL_GUARDED_BY(mu) = new std::map<std::pair<uint64_t, uint64_t>, std::weak_ptr<Pipe>>;
  absl::MutexLock lock(&mu);
  std::weak_ptr<Pipe>& slot = (*fifos)[{dev, ino}];
  std::shared_ptr<Pipe> fifo = slot.lock();
  if (!fifo) {
    std::erase_if(*fifos, [](const auto& entry) { return entry.second.expired(); });
    fifo = NewFifo();
    (*fifos)[{dev, ino}] = fifo;
  }
  return fifo;
}

class GoferInode final : public Inode {
 public:
  GoferInode(std::shared_ptr<gofer::Client> client, gofer::Fid fid, const gofer::Attr& attr,
             bool read_only)
      : Inode(attr.mode), client_(std::move(client)), fid_(fid), stat_(ToStat(attr)),
        read_only_(read_only) {
    if (S_ISFIFO(attr.mode)) fifo_ = SharedFifo(attr.dev, attr.ino);
  }
  ~GoferInode() override { client_->Clunk(fid_); }

  Result<struct stat> Stat() override {
    // A read-only export is taken not to change under the sandbox, so the
    // attributes from the walk are reused.
    if (read_only_) return stat_;
    return ToStat(TRY(client_->GetAttr(fid_)));
  }

  Result<std::shared_ptr<Inode>> Lookup(std::string_view name) override {
    if (!IsDir()) return Errno(ENOTDIR);
    std::string link;
    auto [fid, attr] = TRY(client_->Walk(fid_, name, &link));
    auto inode = std::make_shared<GoferInode>(client_, fid, attr, read_only_);
    if (!link.empty() && read_only_) inode->link_ = std::move(link);
    return std::shared_ptr<Inode>(std::move(inode));
  }

  Result<std::vector<DirEntry>> List() override {
    if (!IsDir()) return Errno(ENOTDIR);
    auto entries = TRY(client_->ReadDir(fid_));
    std::vector<DirEntry> out;
    out.reserve(entries.size());
    for (auto& e : entries) out.push_back(DirEntry{e.ino, e.type, std::move(e.name)});
    return out;
  }

  Result<std::string> ReadLink() override {
    if (!IsSymlink()) return Errno(EINVAL);
    absl::MutexLock lock(&mu_);
    if (!link_) link_ = TRY(client_->ReadLink(fid_));
    return *link_;
  }

  Result<std::shared_ptr<FileDescription>> Open(const Path& path, int flags) override {
    if (flags & O_PATH) return std::shared_ptr<FileDescription>(std::make_shared<PathFile>(path, flags));
    if (IsDir()) return std::shared_ptr<FileDescription>(std::make_shared<DirectoryFile>(path, flags));
    // A FIFO is the sandbox's own pipe (the gofer opens no host FIFO); a
    // socket node is only a name for bind(2) and connect(2).
    if (fifo_) return OpenFifo(fifo_, path, flags);
    if (type() == S_IFSOCK) return Errno(ENXIO);
    // No O_APPEND: the sentry places appends itself (FileDescription::Write,
    // pwritev2's RWF_NOAPPEND), and a host O_APPEND fd would put every
    // pwrite at the end. PARTIAL(gofer-append): so appends through two
    // open files race instead of being atomic.
    constexpr int kPassed = O_ACCMODE | O_NONBLOCK | O_TRUNC | O_SYNC | O_DSYNC | O_DIRECT | O_NOATIME;
    ScopedFd fd = TakeCreatedFd(flags);
    if (!fd.valid()) fd = TRY(client_->Open(fid_, flags & kPassed));
    return std::shared_ptr<FileDescription>(std::make_shared<GoferFile>(path, flags, std::move(fd), read_only_));
  }

  // ---- Writes (a writable export; the VFS has checked permissions) ----

  Result<std::shared_ptr<Inode>> Create(std::string_view name, mode_t mode,
                                        const Credentials& creds) override {
    TRY(CheckWritableDir());
    // The new file is opened read-write whatever its mode, as open(2)
    // lets its creator; the open that follows (Vfs::Open) takes this fd.
    gofer::Created made = TRY(client_->Create(fid_, name, O_RDWR, mode & 07777, OwnerOf(creds)));
    auto inode = std::make_shared<GoferInode>(client_, made.fid, made.attr, read_only_);
    absl::MutexLock lock(&inode->mu_);
    inode->created_fd_ = std::move(made.fd);
    return std::shared_ptr<Inode>(std::move(inode));
  }
  Result<std::shared_ptr<Inode>> MakeDir(std::string_view name, mode_t mode,
                                         const Credentials& creds) override {
    TRY(CheckWritableDir());
    auto [fid, attr] = TRY(client_->MkDir(fid_, name, mode & 07777, OwnerOf(creds)));
    return std::shared_ptr<Inode>(std::make_shared<GoferInode>(client_, fid, attr, read_only_));
  }
  // FIFOs, sockets and whiteouts (0:0); the gofer makes no other device
  // nodes on the host (EPERM).
  Result<std::shared_ptr<Inode>> MakeNode(std::string_view name, mode_t mode, dev_t rdev,
                                          const Credentials& creds) override {
    TRY(CheckWritableDir());
    if (rdev > UINT32_MAX) return Errno(EPERM);
    auto [fid, attr] = TRY(client_->MkNod(fid_, name, mode & (S_IFMT | 07777),
                                          static_cast<uint32_t>(rdev), OwnerOf(creds)));
    return std::shared_ptr<Inode>(std::make_shared<GoferInode>(client_, fid, attr, read_only_));
  }
  Result<std::shared_ptr<Inode>> MakeSymlink(std::string_view name, std::string_view target,
                                             const Credentials& creds) override {
    TRY(CheckWritableDir());
    auto [fid, attr] = TRY(client_->SymLink(fid_, name, target, OwnerOf(creds)));
    auto inode = std::make_shared<GoferInode>(client_, fid, attr, read_only_);
    absl::MutexLock lock(&inode->mu_);
    inode->link_ = std::string(target);
    return std::shared_ptr<Inode>(std::move(inode));
  }
  Result<void> Unlink(std::string_view name) override {
    TRY(CheckWritableDir());
    return client_->Unlink(fid_, name, 0);
  }
  Result<void> RemoveDir(std::string_view name) override {
    TRY(CheckWritableDir());
    return client_->Unlink(fid_, name, AT_REMOVEDIR);
  }
  // The new name gets a fid of its own: the target's fid reopens the file
  // by its old name, which may go away first.
  Result<std::shared_ptr<Inode>> Link(std::string_view name,
                                      const std::shared_ptr<Inode>& target) override {
    TRY(CheckWritableDir());
    auto* file = dynamic_cast<GoferInode*>(target.get());
    if (file == nullptr || file->client_ != client_) return Errno(EXDEV);
    if (file->IsDir()) return Errno(EPERM);
    auto [fid, attr] = TRY(client_->Link(fid_, name, file->fid_));
    return std::shared_ptr<Inode>(std::make_shared<GoferInode>(client_, fid, attr, read_only_));
  }
  Result<void> Rename(std::string_view old_name, Inode& new_dir, std::string_view new_name,
                      unsigned flags, const Credentials&) override {
    TRY(CheckWritableDir());
    auto* dir = dynamic_cast<GoferInode*>(&new_dir);
    if (dir == nullptr || dir->client_ != client_) return Errno(EXDEV);
    // PARTIAL(gofer-whiteout): no whiteouts on host files, as on a Linux
    // filesystem without them.
    if (flags & RENAME_WHITEOUT) return Errno(EINVAL);
    return client_->Rename(fid_, old_name, dir->fid_, new_name, flags);
  }

  Result<void> Truncate(uint64_t size) override {
    if (!IsRegular()) return IsDir() ? Errno(EISDIR) : Errno(EINVAL);
    if (read_only_) return Errno(EROFS);
    // PARTIAL(gofer-truncate): the gofer reopens the file by name, so an
    // open file whose name is gone cannot be truncated (ENOENT/ESTALE).
    TRY(client_->SetAttr(fid_, gofer::AttrChange{.mask = gofer::kSetAttrSize, .size = size}));
    return Ok();
  }
  Result<void> SetTimes(const timespec& atime, const timespec& mtime) override {
    if (read_only_) return Errno(EROFS);
    TRY(client_->SetAttr(fid_, gofer::AttrChange{.mask = gofer::kSetAttrAtime | gofer::kSetAttrMtime,
                                                 .atime = atime, .mtime = mtime}));
    return Ok();
  }
  Result<void> SetMode(mode_t mode) override {
    if (read_only_) return Errno(EROFS);
    TRY(client_->SetAttr(fid_, gofer::AttrChange{.mask = gofer::kSetAttrMode, .mode = mode & 07777}));
    return Ok();
  }
  Result<void> SetOwner(uint32_t uid, uint32_t gid, mode_t clear) override {
    if (read_only_) return Errno(EROFS);
    const mode_t before = TRY(client_->GetAttr(fid_)).mode;
    // Both ids go, kKeepId (-1) keeping one, so that the host's chown sets
    // ctime even when nothing changes, as chown(2) does.
    const gofer::Attr after = TRY(client_->SetAttr(
        fid_, gofer::AttrChange{.mask = gofer::kSetAttrUid | gofer::kSetAttrGid, .uid = uid, .gid = gid}));
    // The host's chown clears set-ID bits by its own rule (the gofer's
    // privileges); the sandbox's rule is `clear`.
    const mode_t want = before & 07777 & ~clear;
    if (!IsSymlink() && (after.mode & 07777) != want) {
      TRY(client_->SetAttr(fid_, gofer::AttrChange{.mask = gofer::kSetAttrMode, .mode = want}));
    }
    return Ok();
  }
  // PARTIAL(gofer-xattr): only "user." attributes reach the host; other
  // namespaces are EOPNOTSUPP, as on a filesystem without them.
  Result<std::string> GetXattr(std::string_view name) override {
    if (!gofer::IsServedXattrName(name)) return Errno(EOPNOTSUPP);
    return client_->GetXattr(fid_, name);
  }
  Result<void> SetXattr(std::string_view name, std::string_view value, int flags) override {
    if (read_only_) return Errno(EROFS);
    if (!gofer::IsServedXattrName(name)) return Errno(EOPNOTSUPP);
    return client_->SetXattr(fid_, name, value, flags);
  }
  Result<std::vector<std::string>> ListXattr() override { return client_->ListXattr(fid_); }
  Result<void> RemoveXattr(std::string_view name) override {
    if (read_only_) return Errno(EROFS);
    if (!gofer::IsServedXattrName(name)) return Errno(EOPNOTSUPP);
    return client_->RemoveXattr(fid_, name);
  }
  Result<struct statfs> StatFs() override {
    struct statfs st = TRY(client_->StatFs(fid_));
    if (read_only_) st.f_flags |= ST_RDONLY;
    return st;
  }
  bool ReadOnly() const override { return read_only_; }
  // A removed directory (or a file with no names left) has no links on the
  // host; a read-only export does not change.
  bool Unlinked() const override {
    if (read_only_) return false;
    auto attr = client_->GetAttr(fid_);
    return attr && attr->nlink == 0;
  }

 private:
  std::shared_ptr<gofer::Client> client_;
  gofer::Fid fid_;
  struct stat stat_;
  bool read_only_;
  absl::Mutex mu_;
  std::optional<std::string> link_ ABSL_GUARDED_BY(mu_);
  // The fd Create opened, until the open that follows takes it.
  ScopedFd created_fd_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Pipe> fifo_;  // a FIFO's buffer

  static gofer::Owner OwnerOf(const Credentials& creds) { return {creds.fsuid, creds.fsgid}; }

  Result<void> CheckWritableDir() const {
    if (!IsDir()) return Errno(ENOTDIR);
    if (read_only_) return Errno(EROFS);
    return Ok();
  }

  // The fd Create opened (read-write), given `flags`' status flags, or an
  // invalid fd: then the open goes to the gofer. O_SYNC and O_DSYNC cannot
  // be set on an open fd, and the host may refuse others (O_DIRECT).
  ScopedFd TakeCreatedFd(int flags) {
    ScopedFd fd;
    {
      absl::MutexLock lock(&mu_);
      fd = std::move(created_fd_);
    }
    if (!fd.valid() || (flags & (O_SYNC | O_DSYNC))) return ScopedFd();
    constexpr int kSettable = O_NONBLOCK | O_DIRECT | O_NOATIME;  // no O_APPEND, see Open
    int status = fcntl(fd.get(), F_GETFL);
    if (status < 0 || fcntl(fd.get(), F_SETFL, (status & ~kSettable) | (flags & kSettable)) != 0) {
      return ScopedFd();
    }
    return fd;
  }
};

}  // namespace

Result<std::shared_ptr<Mount>> NewGoferMount(std::shared_ptr<gofer::Client> client,
                                             uint32_t export_index, bool read_only,
                                             std::string source) {
  auto [fid, attr] = TRY(client->Attach(export_index));
  auto root = std::make_shared<GoferInode>(client, fid, attr, read_only);
  auto dentry = std::make_shared<Dentry>(nullptr, "", std::move(root));
  return std::make_shared<Mount>(std::move(dentry), "9p", std::move(source), read_only);
}

}  // namespace husk::vfs
