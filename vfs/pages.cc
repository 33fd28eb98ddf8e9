#include "vfs/pages.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace husk::vfs {
namespace {

// Offsets are the addresses of heap blocks.
class HeapStore final : public PageStore {
 public:
  Result<uint64_t> Allocate(uint64_t len) override {
    void* p = aligned_alloc(4096, len);
    if (p == nullptr) return Errno(ENOMEM);
    memset(p, 0, len);
    return reinterpret_cast<uint64_t>(p);
  }
  void Free(uint64_t offset, uint64_t) override { free(reinterpret_cast<void*>(offset)); }
  void Zero(uint64_t offset, uint64_t len) override { memset(At(offset), 0, len); }
  uint8_t* At(uint64_t offset) const override { return reinterpret_cast<uint8_t*>(offset); }
};

}  // namespace

PageStore& HeapPageStore() {
  static HeapStore* store = new HeapStore;
  return *store;
}

SharedPages::~SharedPages() {
  for (const auto& [index, off] : chunks_) store_.Free(off, kChunk);
}

Result<uint64_t> SharedPages::ChunkAt(uint64_t offset) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = chunks_.try_emplace(offset / kChunk, 0);
  if (inserted) {
    auto off = store_.Allocate(kChunk);
    if (!off) {
      chunks_.erase(it);
      return off.error();
    }
    it->second = *off;
  }
  return it->second;
}

size_t SharedPages::Read(uint64_t offset, const IoVecs& dst, uint64_t len) {
  absl::MutexLock lock(&mu_);
  size_t done = 0;
  for (const auto& v : dst) {
    size_t vdone = 0;
    while (vdone < v.iov_len && done < len) {
      const uint64_t pos = offset + done;
      const uint64_t in_chunk = pos % kChunk;
      const size_t n = std::min({v.iov_len - vdone, len - done, kChunk - in_chunk});
      uint8_t* out = static_cast<uint8_t*>(v.iov_base) + vdone;
      auto it = chunks_.find(pos / kChunk);
      if (it == chunks_.end()) {
        memset(out, 0, n);
      } else {
        memcpy(out, store_.At(it->second + in_chunk), n);
      }
      vdone += n;
      done += n;
    }
    if (done == len) break;
  }
  return done;
}

Result<size_t> SharedPages::Write(uint64_t offset, const IoVecs& src) {
  size_t done = 0;
  for (const auto& v : src) {
    size_t vdone = 0;
    while (vdone < v.iov_len) {
      const uint64_t pos = offset + done;
      const uint64_t in_chunk = pos % kChunk;
      const size_t n = std::min(v.iov_len - vdone, kChunk - in_chunk);
      auto chunk = ChunkAt(pos);
      if (!chunk) return done > 0 ? Result<size_t>(done) : chunk.error();
      memcpy(store_.At(*chunk + in_chunk), static_cast<const uint8_t*>(v.iov_base) + vdone, n);
      vdone += n;
      done += n;
    }
  }
  return done;
}

void SharedPages::Truncate(uint64_t size) {
  absl::MutexLock lock(&mu_);
  const uint64_t first_dead = (size + kChunk - 1) / kChunk;
  for (auto it = chunks_.lower_bound(first_dead); it != chunks_.end();) {
    store_.Free(it->second, kChunk);
    it = chunks_.erase(it);
  }
  // The tail of the last chunk must read as zeros if the file grows again.
  if (size % kChunk != 0) {
    auto it = chunks_.find(size / kChunk);
    if (it != chunks_.end()) {
      const uint64_t in_chunk = size % kChunk;
      const uint64_t page_end = (in_chunk + 4095) / 4096 * 4096;
      memset(store_.At(it->second + in_chunk), 0, page_end - in_chunk);
      if (page_end < kChunk) store_.Zero(it->second + page_end, kChunk - page_end);
    }
  }
}

void SharedPages::ZeroRange(uint64_t offset, uint64_t len) {
  absl::MutexLock lock(&mu_);
  const uint64_t end = offset + len;
  for (auto it = chunks_.lower_bound(offset / kChunk); it != chunks_.end() && it->first * kChunk < end;
       ++it) {
    const uint64_t chunk = it->first * kChunk;
    uint64_t from = std::max(offset, chunk) - chunk;
    const uint64_t to = std::min(end, chunk + kChunk) - chunk;
    // Partial pages are cleared in place; whole pages go back to the store,
    // which reads them as zeros.
    const uint64_t first_page = std::min(to, (from + 4095) / 4096 * 4096);
    memset(store_.At(it->second + from), 0, first_page - from);
    from = first_page;
    const uint64_t last_page = std::max(from, to / 4096 * 4096);
    if (last_page > from) store_.Zero(it->second + from, last_page - from);
    memset(store_.At(it->second + last_page), 0, to - last_page);
  }
}

}  // namespace husk::vfs
