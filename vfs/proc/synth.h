// Synthetic inodes: directories, files and symlinks whose content is made
// when asked (Linux's seq_file and kernfs in spirit). procfs and sysfs are
// built from them.
#pragma once

#include <sys/stat.h>
#include <sys/statfs.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "vfs/file.h"
#include "vfs/inode.h"

namespace husk::vfs::proc {

// The filesystem a synthetic inode belongs to: its device and statfs magic.
struct SynthFs {
  dev_t dev = 0;
  long magic = 0;
};

// A stable inode number for the name `key` (a path inside the filesystem).
uint64_t InoOf(std::string_view key);

class SynthInode : public Inode {
 public:
  // `mode`: type and permission bits.
  SynthInode(const SynthFs& fs, mode_t mode, uint64_t ino);

  Result<struct stat> Stat() override;
  Result<struct statfs> StatFs() override;

  mode_t mode() const { return mode_; }
  uint64_t ino() const { return ino_; }

 protected:
  // Who owns it: root, unless a process's files say otherwise.
  virtual std::pair<uint32_t, uint32_t> Owner() { return {0, 0}; }

  const SynthFs fs_;

 private:
  const mode_t mode_;
  const uint64_t ino_;
  timespec time_{};
};

// A directory; subclasses say what is in it.
class SynthDir : public SynthInode {
 public:
  SynthDir(const SynthFs& fs, uint64_t ino, mode_t perm = 0555)
      : SynthInode(fs, S_IFDIR | perm, ino) {}
  Result<std::shared_ptr<FileDescription>> Open(const Path& path, int flags) override;
};

// A directory of fixed entries, listed in the order they were added.
class StaticDir : public SynthDir {
 public:
  using SynthDir::SynthDir;
  void Add(std::string name, std::shared_ptr<SynthInode> node);
  Result<std::shared_ptr<Inode>> Lookup(std::string_view name) override;
  Result<std::vector<DirEntry>> List() override;

 private:
  std::vector<std::pair<std::string, std::shared_ptr<SynthInode>>> entries_;
};

// A regular file whose text is made when a read starts at offset 0, so
// that a reader that seeks back (top) sees the news.
class SynthFile : public SynthInode {
 public:
  SynthFile(const SynthFs& fs, uint64_t ino, mode_t perm = 0444)
      : SynthInode(fs, S_IFREG | perm, ino) {}

  virtual Result<std::string> Generate() = 0;
  // write(2) of `data`: EINVAL unless the file takes writes.
  virtual Result<size_t> Write(std::string_view data);
  // Checks open(2) makes beyond the mode bits (ptrace access).
  virtual Result<void> MayOpen(int) { return Ok(); }
  Result<std::shared_ptr<FileDescription>> Open(const Path& path, int flags) override;
  Result<void> Truncate(uint64_t) override { return Ok(); }  // O_TRUNC of a writable file
};

// A file whose text `fn` makes.
class TextFile final : public SynthFile {
 public:
  TextFile(const SynthFs& fs, uint64_t ino, std::function<Result<std::string>()> fn,
           mode_t perm = 0444)
      : SynthFile(fs, ino, perm), fn_(std::move(fn)) {}
  Result<std::string> Generate() override { return fn_(); }

 private:
  std::function<Result<std::string>()> fn_;
};

// A symlink.
class SynthLink : public SynthInode {
 public:
  SynthLink(const SynthFs& fs, uint64_t ino, mode_t perm = 0777)
      : SynthInode(fs, S_IFLNK | perm, ino) {}
  // Opened only with O_PATH (a walk follows it otherwise).
  Result<std::shared_ptr<FileDescription>> Open(const Path& path, int flags) override;
};

// A symlink whose target `fn` says.
class TextLink final : public SynthLink {
 public:
  TextLink(const SynthFs& fs, uint64_t ino, std::function<Result<std::string>()> fn)
      : SynthLink(fs, ino), fn_(std::move(fn)) {}
  Result<std::string> ReadLink() override { return fn_(); }

 private:
  std::function<Result<std::string>()> fn_;
};

}  // namespace husk::vfs::proc
