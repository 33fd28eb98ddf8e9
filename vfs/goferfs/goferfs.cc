#include "vfs/goferfs/goferfs.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <optional>

#include "base/scoped_fd.h"
#include "vfs/dir_file.h"

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
  GoferFile(Path path, int flags, ScopedFd fd)
      : FileDescription(std::move(path), flags), fd_(std::make_shared<const ScopedFd>(std::move(fd))) {}

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

 private:
  // Shared with the mappings that map it.
  std::shared_ptr<const ScopedFd> fd_;
};

// An O_PATH file: names the inode, does no I/O.
class PathFile final : public FileDescription {
 public:
  using FileDescription::FileDescription;
  Result<size_t> Read(const IoVecs&) override { return Errno(EBADF); }
  Result<size_t> Write(const IoVecs&) override { return Errno(EBADF); }
  bool Mappable() const override { return false; }
};

class GoferInode final : public Inode {
 public:
  GoferInode(std::shared_ptr<gofer::Client> client, gofer::Fid fid, const gofer::Attr& attr,
             bool read_only)
      : Inode(attr.mode), client_(std::move(client)), fid_(fid), stat_(ToStat(attr)),
        read_only_(read_only) {}
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
    constexpr int kPassed = O_ACCMODE | O_APPEND | O_NONBLOCK | O_TRUNC | O_SYNC | O_DSYNC | O_DIRECT | O_NOATIME;
    ScopedFd fd = TRY(client_->Open(fid_, flags & kPassed));
    return std::shared_ptr<FileDescription>(std::make_shared<GoferFile>(path, flags, std::move(fd)));
  }

  Result<void> Truncate(uint64_t) override { return Errno(EROFS); }
  Result<struct statfs> StatFs() override {
    struct statfs st = TRY(client_->StatFs(fid_));
    if (read_only_) st.f_flags |= ST_RDONLY;
    return st;
  }
  bool ReadOnly() const override { return read_only_; }

 private:
  std::shared_ptr<gofer::Client> client_;
  gofer::Fid fid_;
  struct stat stat_;
  bool read_only_;
  absl::Mutex mu_;
  std::optional<std::string> link_ ABSL_GUARDED_BY(mu_);
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
