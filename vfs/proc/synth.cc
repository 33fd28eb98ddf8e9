#include "vfs/proc/synth.h"

#include <time.h>

#include <algorithm>
#include <cstring>

#include "vfs/dir_file.h"

namespace husk::vfs::proc {
namespace {

// An open synthetic file: a snapshot of its text, taken when a read starts
// at offset 0 (or on the first read), served until the next such read.
class SynthFileDescription final : public FileDescription {
 public:
  SynthFileDescription(Path path, int flags, std::shared_ptr<SynthFile> node)
      : FileDescription(std::move(path), flags), node_(std::move(node)) {}

  Result<size_t> PRead(const IoVecs& dst, uint64_t offset) override {
    absl::MutexLock lock(&mu_);
    if (offset == 0 || !have_) {
      text_ = TRY(node_->Generate());
      have_ = true;
    }
    if (offset >= text_.size()) return 0;
    return CopyToIoVecs(dst, std::span<const uint8_t>(
                                 reinterpret_cast<const uint8_t*>(text_.data()) + offset,
                                 text_.size() - offset));
  }
  Result<size_t> PWrite(const IoVecs& src, uint64_t) override {
    std::string data(TotalLength(src), '\0');
    CopyFromIoVecs(std::span<uint8_t>(reinterpret_cast<uint8_t*>(data.data()), data.size()), src);
    return node_->Write(data);
  }
  bool Seekable() const override { return true; }
  bool Mappable() const override { return false; }
  Result<uint64_t> Size() override {
    absl::MutexLock lock(&mu_);
    return text_.size();
  }

 private:
  std::shared_ptr<SynthFile> node_;
  absl::Mutex mu_;
  bool have_ ABSL_GUARDED_BY(mu_) = false;
  std::string text_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

uint64_t InoOf(std::string_view key) {
  // FNV-1a, kept to 32 bits as Linux's procfs inode numbers are.
  uint32_t h = 2166136261u;
  for (char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h < 4096 ? h + 4096 : h;
}

SynthInode::SynthInode(const SynthFs& fs, mode_t mode, uint64_t ino)
    : Inode(mode), fs_(fs), mode_(mode), ino_(ino) {
  clock_gettime(CLOCK_REALTIME, &time_);
}

Result<struct stat> SynthInode::Stat() {
  struct stat st {};
  st.st_dev = fs_.dev;
  st.st_ino = ino_;
  st.st_mode = mode_;
  st.st_nlink = S_ISDIR(mode_) ? 2 : 1;
  auto [uid, gid] = Owner();
  st.st_uid = uid;
  st.st_gid = gid;
  st.st_blksize = 1024;
  st.st_atim = st.st_mtim = st.st_ctim = time_;
  return st;
}

Result<struct statfs> SynthInode::StatFs() {
  struct statfs st = TRY(Inode::StatFs());
  st.f_type = fs_.magic;
  return st;
}

Result<std::shared_ptr<FileDescription>> SynthDir::Open(const Path& path, int flags) {
  return std::shared_ptr<FileDescription>(std::make_shared<DirectoryFile>(path, flags));
}

void StaticDir::Add(std::string name, std::shared_ptr<SynthInode> node) {
  entries_.emplace_back(std::move(name), std::move(node));
}

Result<std::shared_ptr<Inode>> StaticDir::Lookup(std::string_view name) {
  for (const auto& [n, node] : entries_) {
    if (n == name) return std::shared_ptr<Inode>(node);
  }
  return Errno(ENOENT);
}

Result<std::vector<DirEntry>> StaticDir::List() {
  std::vector<DirEntry> out;
  out.reserve(entries_.size());
  for (const auto& [n, node] : entries_) {
    out.push_back(DirEntry{node->ino(), DirentType(node->mode()), n});
  }
  return out;
}

Result<size_t> SynthFile::Write(std::string_view) { return Errno(EINVAL); }

Result<std::shared_ptr<FileDescription>> SynthFile::Open(const Path& path, int flags) {
  TRY(MayOpen(flags));
  auto self = std::static_pointer_cast<SynthFile>(shared_from_this());
  return std::shared_ptr<FileDescription>(
      std::make_shared<SynthFileDescription>(path, flags, std::move(self)));
}

Result<std::shared_ptr<FileDescription>> SynthLink::Open(const Path& path, int flags) {
  if (!(flags & O_PATH)) return Errno(ELOOP);
  return std::make_shared<FileDescription>(path, flags);
}

}  // namespace husk::vfs::proc
