#include "sentry/mm/memory_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "base/align.h"

namespace husk::mm {

Result<std::unique_ptr<MemoryFile>> MemoryFile::Create(uint64_t size) {
  ScopedFd fd(memfd_create("husk-memory", MFD_CLOEXEC));
  if (!fd.valid()) return Errno(errno);
  if (ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return Errno(errno);
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd.get(), 0);
  if (base == MAP_FAILED) return Errno(errno);
  return std::unique_ptr<MemoryFile>(new MemoryFile(std::move(fd), static_cast<uint8_t*>(base), size));
}

MemoryFile::MemoryFile(ScopedFd fd, uint8_t* base, uint64_t size)
    : fd_(std::move(fd)), base_(base), size_(size) {
  // Offset 0 is never handed out, so that 0 can mean "none".
  free_[kPageSize] = size - kPageSize;
}

MemoryFile::~MemoryFile() { munmap(base_, size_); }

Result<uint64_t> MemoryFile::Allocate(uint64_t len) {
  len = PageUp(len);
  absl::MutexLock lock(&mu_);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < len) continue;
    uint64_t start = it->first;
    uint64_t rest = it->second - len;
    free_.erase(it);
    if (rest > 0) free_[start + len] = rest;
    return start;
  }
  return Errno(ENOMEM);
}

void MemoryFile::Copy(uint64_t dst, uint64_t src, uint64_t len) {
  // Only the pages the source has: holes stay holes (zeros) in the copy,
  // so an untouched 8 MiB stack costs nothing.
  const off_t end = static_cast<off_t>(src + len);
  off_t at = static_cast<off_t>(src);
  while (at < end) {
    off_t data = lseek(fd_.get(), at, SEEK_DATA);
    if (data < 0 || data >= end) break;
    off_t hole = lseek(fd_.get(), data, SEEK_HOLE);
    if (hole < 0 || hole > end) hole = end;
    memcpy(At(dst + (data - src)), At(static_cast<uint64_t>(data)), static_cast<size_t>(hole - data));
    at = hole;
  }
}

void MemoryFile::Zero(uint64_t offset, uint64_t len) {
  fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
            static_cast<off_t>(len));
}

void MemoryFile::Free(uint64_t offset, uint64_t len) {
  if (abandoned_.load(std::memory_order_relaxed)) return;
  len = PageUp(len);
  Zero(offset, len);
  absl::MutexLock lock(&mu_);
  auto next = free_.lower_bound(offset);
  if (next != free_.end() && next->first == offset + len) {
    len += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      prev->second += len;
      return;
    }
  }
  free_[offset] = len;
}

}  // namespace husk::mm
