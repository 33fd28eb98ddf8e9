// SharedPages: the pages of an object that mmap(MAP_SHARED) maps directly —
// a tmpfs file or shared anonymous memory — so that stores through a
// mapping and read(2)/write(2) see the same bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include <absl/synchronization/mutex.h>

#include "base/result.h"
#include "vfs/file.h"

namespace husk::vfs {

// Where pages live. The sentry's memory file implements it; the VFS only
// needs this much of it.
class PageStore {
 public:
  virtual ~PageStore() = default;
  // A zeroed, page-aligned range of `len` bytes; returns its offset.
  virtual Result<uint64_t> Allocate(uint64_t len) = 0;
  virtual void Free(uint64_t offset, uint64_t len) = 0;
  // Makes the range read as zeros.
  virtual void Zero(uint64_t offset, uint64_t len) = 0;
  virtual uint8_t* At(uint64_t offset) const = 0;
};

// A PageStore in the sentry's heap, for filesystems used without a memory
// file (unit tests). Its pages cannot be mapped into an address space.
PageStore& HeapPageStore();

class SharedPages {
 public:
  // Pages are allocated in chunks of this many bytes, so that a chunk is
  // contiguous in the store and maps with one host mmap.
  static constexpr uint64_t kChunk = 16 * 4096;

  explicit SharedPages(PageStore& store) : store_(store) {}
  ~SharedPages();
  SharedPages(const SharedPages&) = delete;
  SharedPages& operator=(const SharedPages&) = delete;

  PageStore& store() const { return store_; }
  // The store offset of the chunk holding byte `offset`, allocating a zeroed
  // chunk if there is none.
  Result<uint64_t> ChunkAt(uint64_t offset);
  // Copies bytes [offset, offset+len) out of / into the object. Holes read
  // as zeros; writes allocate.
  size_t Read(uint64_t offset, const IoVecs& dst, uint64_t len);
  Result<size_t> Write(uint64_t offset, const IoVecs& src);
  // Drops everything at and after `size` (truncate).
  void Truncate(uint64_t size);
  // Makes [offset, offset+len) read as zeros (fallocate's PUNCH_HOLE and
  // ZERO_RANGE). Chunks stay where they are, so shared mappings of them
  // see the zeros.
  void ZeroRange(uint64_t offset, uint64_t len);

 private:
  PageStore& store_;
  absl::Mutex mu_;
  std::map<uint64_t, uint64_t> chunks_ ABSL_GUARDED_BY(mu_);  // chunk index -> store offset
};

}  // namespace husk::vfs
