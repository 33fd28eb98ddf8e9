// DirectoryFile: an open directory of any filesystem. getdents64 reads a
// snapshot of the listing ("." and ".." first); lseek to 0 takes a new one.
#pragma once

#include <vector>

#include "vfs/file.h"
#include "vfs/inode.h"

namespace husk::vfs {

class DirectoryFile : public FileDescription {
 public:
  using FileDescription::FileDescription;

  Result<size_t> Read(const IoVecs&) override { return Errno(EISDIR); }
  Result<size_t> PRead(const IoVecs&, uint64_t) override { return Errno(EISDIR); }
  Result<size_t> Write(const IoVecs&) override { return Errno(EBADF); }
  Result<std::span<const DirEntry>> ReadDir() override;
  Result<uint64_t> Seek(int64_t offset, int whence) override;
  bool Seekable() const override { return true; }
  bool Mappable() const override { return false; }

 private:
  absl::Mutex mu_;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<DirEntry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace husk::vfs
