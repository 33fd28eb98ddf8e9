#include "vfs/dir_file.h"

#include <dirent.h>

namespace husk::vfs {

Result<std::span<const DirEntry>> DirectoryFile::ReadDir() {
  absl::MutexLock lock(&mu_);
  if (!loaded_) {
    const auto& dir = path_.dentry->inode();
    std::vector<DirEntry> listing = TRY(dir->List());
    path_.dentry->PruneChildren();
    struct stat self = TRY(dir->Stat());
    uint64_t parent_ino = self.st_ino;
    if (const auto& parent = path_.dentry->parent()) {
      if (auto st = parent->inode()->Stat(); st) parent_ino = st->st_ino;
    }
    entries_.clear();
    entries_.push_back(DirEntry{self.st_ino, DT_DIR, "."});
    entries_.push_back(DirEntry{parent_ino, DT_DIR, ".."});
    for (auto& e : listing) entries_.push_back(std::move(e));
    loaded_ = true;
  }
  return std::span<const DirEntry>(entries_);
}

Result<uint64_t> DirectoryFile::Seek(int64_t offset, int whence) {
  if (whence != SEEK_SET && whence != SEEK_CUR) return Errno(EINVAL);
  int64_t pos = whence == SEEK_SET ? offset : static_cast<int64_t>(offset_.load()) + offset;
  if (pos < 0) return Errno(EINVAL);
  if (pos == 0) {
    absl::MutexLock lock(&mu_);
    loaded_ = false;
  }
  offset_ = static_cast<uint64_t>(pos);
  return offset_.load();
}

}  // namespace husk::vfs
