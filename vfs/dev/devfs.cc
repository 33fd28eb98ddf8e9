#include "vfs/dev/devfs.h"

#include <sys/random.h>
#include <sys/sysmacros.h>

#include <cstring>

#include "vfs/tmpfs/tmpfs.h"

namespace husk::vfs {
namespace {

enum class MemDev { kNull, kZero, kFull, kRandom };

// The character devices of drivers/char/mem.c and random.c.
class MemDevFile final : public FileDescription {
 public:
  MemDevFile(Path path, int flags, MemDev kind) : FileDescription(std::move(path), flags), kind_(kind) {}

  Result<size_t> Read(const IoVecs& dst) override { return PRead(dst, 0); }
  Result<size_t> Write(const IoVecs& src) override { return PWrite(src, 0); }
  Result<size_t> PRead(const IoVecs& dst, uint64_t) override {
    size_t total = 0;
    for (const auto& v : dst) {
      switch (kind_) {
        case MemDev::kNull: return 0;
        case MemDev::kZero:
        case MemDev::kFull: memset(v.iov_base, 0, v.iov_len); break;
        case MemDev::kRandom: {
          size_t done = 0;
          while (done < v.iov_len) {
            ssize_t n = getrandom(static_cast<char*>(v.iov_base) + done, v.iov_len - done, 0);
            if (n <= 0) return Errno(EIO);
            done += static_cast<size_t>(n);
          }
          break;
        }
      }
      total += v.iov_len;
    }
    return total;
  }
  Result<size_t> PWrite(const IoVecs& src, uint64_t) override {
    if (kind_ == MemDev::kFull) return Errno(ENOSPC);
    return TotalLength(src);
  }
  Result<uint64_t> Seek(int64_t, int) override { return 0; }
  bool Mappable() const override { return false; }
  bool DiscardsWrites() const override { return kind_ == MemDev::kNull; }

 private:
  MemDev kind_;
};

class MemDevInode final : public Inode {
 public:
  MemDevInode(MemDev kind, dev_t rdev, dev_t dev, uint64_t ino)
      : Inode(S_IFCHR), kind_(kind) {
    st_.st_mode = S_IFCHR | 0666;
    st_.st_rdev = rdev;
    st_.st_dev = dev;
    st_.st_ino = ino;
    st_.st_nlink = 1;
    st_.st_blksize = 4096;
  }
  Result<struct stat> Stat() override { return st_; }
  Result<std::shared_ptr<FileDescription>> Open(const Path& path, int flags) override {
    return std::shared_ptr<FileDescription>(std::make_shared<MemDevFile>(path, flags, kind_));
  }

 private:
  MemDev kind_;
  struct stat st_ {};
};

}  // namespace

std::shared_ptr<Mount> NewDevMount() {
  Credentials root;
  auto mount = NewTmpfsMount(0755, root, "none");
  auto& dir = *mount->root()->inode();
  const dev_t dev = dir.Stat()->st_dev;
  struct Node {
    const char* name;
    MemDev kind;
    unsigned minor;
  };
  static constexpr Node kNodes[] = {{"null", MemDev::kNull, 3}, {"zero", MemDev::kZero, 5},
                                    {"full", MemDev::kFull, 7}, {"random", MemDev::kRandom, 8},
                                    {"urandom", MemDev::kRandom, 9}};
  uint64_t ino = 1000;
  for (const auto& n : kNodes) {
    (void)TmpfsAddNode(dir, n.name, std::make_shared<MemDevInode>(n.kind, makedev(1, n.minor), dev, ino++));
  }
  // The links udev makes into procfs (the sandbox's /proc).
  static constexpr std::pair<const char*, const char*> kLinks[] = {
      {"fd", "/proc/self/fd"},
      {"stdin", "/proc/self/fd/0"},
      {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"}};
  for (const auto& [name, target] : kLinks) {
    (void)dir.MakeSymlink(name, target, root);
  }
  return mount;
}

}  // namespace husk::vfs
