#include "sentry/mm/memory_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <utility>
#include <vector>

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
    refs_[start] = RefSeg{start + len, 1};
    JoinRefsAt(start);
    JoinRefsAt(start + len);
    allocated_ += len;
    return start;
  }
  return Errno(ENOMEM);
}

void MemoryFile::SplitRefAt(uint64_t offset) {
  auto it = refs_.upper_bound(offset);
  if (it == refs_.begin()) return;
  --it;
  if (it->first < offset && it->second.end > offset) {
    refs_.emplace_hint(std::next(it), offset, RefSeg{it->second.end, it->second.count});
    it->second.end = offset;
  }
}

void MemoryFile::JoinRefsAt(uint64_t offset) {
  auto right = refs_.find(offset);
  if (right == refs_.end() || right == refs_.begin()) return;
  auto left = std::prev(right);
  if (left->second.end != offset || left->second.count != right->second.count) return;
  left->second.end = right->second.end;
  refs_.erase(right);
}

void MemoryFile::IncRef(uint64_t offset, uint64_t len) {
  const uint64_t end = offset + PageUp(len);
  absl::MutexLock lock(&mu_);
  SplitRefAt(offset);
  SplitRefAt(end);
  // Neighbouring runs inside the range had different counts and still do:
  // only the ends may join.
  for (auto it = refs_.lower_bound(offset); it != refs_.end() && it->first < end; ++it) {
    ++it->second.count;
  }
  JoinRefsAt(offset);
  JoinRefsAt(end);
}

MemoryFile::RefRun MemoryFile::RefsAt(uint64_t offset) {
  absl::MutexLock lock(&mu_);
  auto it = refs_.upper_bound(offset);
  if (it != refs_.begin() && std::prev(it)->second.end > offset) {
    --it;
    return RefRun{it->first, it->second.end, it->second.count};
  }
  const uint64_t page = PageDown(offset);
  return RefRun{page, it == refs_.end() ? page + kPageSize : it->first, 0};
}

std::vector<std::pair<uint64_t, uint64_t>> MemoryFile::DataRuns(uint64_t offset, uint64_t len) {
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  const off_t end = static_cast<off_t>(offset + len);
  off_t at = static_cast<off_t>(offset);
  while (at < end) {
    off_t data = lseek(fd_.get(), at, SEEK_DATA);
    if (data < 0 || data >= end) break;
    off_t hole = lseek(fd_.get(), data, SEEK_HOLE);
    if (hole < 0 || hole > end) hole = end;
    runs.emplace_back(static_cast<uint64_t>(data), static_cast<uint64_t>(hole));
    at = hole;
  }
  return runs;
}

void MemoryFile::Copy(uint64_t dst, uint64_t src, uint64_t len) {
  // Only the pages the source has: holes stay holes (zeros) in the copy,
  // so an untouched 8 MiB stack costs nothing.
  for (const auto& [data, hole] : DataRuns(src, len)) {
    memcpy(At(dst + (data - src)), At(data), hole - data);
  }
}

void MemoryFile::Zero(uint64_t offset, uint64_t len) {
  fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
            static_cast<off_t>(len));
}

void MemoryFile::Free(uint64_t offset, uint64_t len) {
  if (abandoned_.load(std::memory_order_relaxed)) return;
  const uint64_t end = offset + PageUp(len);
  std::vector<std::pair<uint64_t, uint64_t>> released;  // [start, end)
  {
    absl::MutexLock lock(&mu_);
    SplitRefAt(offset);
    SplitRefAt(end);
    for (auto it = refs_.lower_bound(offset); it != refs_.end() && it->first < end;) {
      if (--it->second.count > 0) {
        ++it;
        continue;
      }
      if (!released.empty() && released.back().second == it->first) {
        released.back().second = it->second.end;
      } else {
        released.emplace_back(it->first, it->second.end);
      }
      allocated_ -= it->second.end - it->first;
      it = refs_.erase(it);
    }
    JoinRefsAt(offset);
    JoinRefsAt(end);
  }
  // The released pages are in neither map, so nobody can be handed them
  // before they read as zeros again.
  for (const auto& [start, stop] : released) Zero(start, stop - start);
  absl::MutexLock lock(&mu_);
  for (const auto& [start, stop] : released) AddFreeLocked(start, stop - start);
}

void MemoryFile::AddFreeLocked(uint64_t offset, uint64_t len) {
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
