// MemoryFile: the memfd that holds all application memory. Stubs map ranges
// of it MAP_SHARED; the sentry maps all of it once, so copying to and from
// application memory is a memcpy on the sentry's side.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include <absl/synchronization/mutex.h>

#include "base/result.h"
#include "base/scoped_fd.h"
#include "vfs/pages.h"

namespace husk::mm {

class MemoryFile final : public vfs::PageStore {
 public:
  // A sparse file of `size` bytes; nothing is allocated until touched.
  static Result<std::unique_ptr<MemoryFile>> Create(uint64_t size);
  ~MemoryFile() override;

  int fd() const { return fd_.get(); }
  uint8_t* At(uint64_t offset) const override { return base_ + offset; }

  // Every allocated page has a reference count, one per holder: a PMA of
  // an address space, a chunk of a SharedPages. fork(2) shares private
  // pages copy-on-write by adding a holder instead of copying them.
  //
  // A page-aligned range of `len` bytes, reading as zeros, with a count of 1.
  Result<uint64_t> Allocate(uint64_t len) override;
  // Adds a holder to every page of the range (which must be allocated).
  void IncRef(uint64_t offset, uint64_t len);
  // Drops a holder from every page of the range; pages nobody holds any
  // more go back to the free list and their memory to the host.
  void Free(uint64_t offset, uint64_t len) override;
  // The pages around `offset` that have the same count: [start, end) and
  // the count (0 if not allocated).
  struct RefRun {
    uint64_t start = 0;
    uint64_t end = 0;
    uint32_t count = 0;
  };
  RefRun RefsAt(uint64_t offset);
  // Bytes allocated (held by someone) now.
  uint64_t allocated() {
    absl::MutexLock lock(&mu_);
    return allocated_;
  }

  // The parts of [offset, offset+len) that hold pages (everything else is
  // a hole, reading as zeros), as [start, end) ranges in order.
  std::vector<std::pair<uint64_t, uint64_t>> DataRuns(uint64_t offset, uint64_t len);
  // Copies [src, src+len) to [dst, dst+len), skipping holes (the
  // destination must be fresh: its holes are zeros already).
  void Copy(uint64_t dst, uint64_t src, uint64_t len);
  // Makes the range read as zeros again (releases its pages).
  void Zero(uint64_t offset, uint64_t len) override;
  // The sandbox is over: Free no longer gives pages back one range at a
  // time; closing the file releases them all at once.
  void Abandon() { abandoned_.store(true); }

 private:
  MemoryFile(ScopedFd fd, uint8_t* base, uint64_t size);

  ScopedFd fd_;
  std::atomic<bool> abandoned_{false};
  uint8_t* base_;
  uint64_t size_;
  // A run of allocated pages with one reference count.
  struct RefSeg {
    uint64_t end = 0;
    uint32_t count = 0;
  };
  using RefMap = std::map<uint64_t, RefSeg>;
  // Splits the run holding `offset` so that one starts there.
  void SplitRefAt(uint64_t offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Joins the runs ending and starting at `offset` if their counts match.
  void JoinRefsAt(uint64_t offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddFreeLocked(uint64_t offset, uint64_t len) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;  // a leaf: taken under MemoryManager::mu_, never the other way
  std::map<uint64_t, uint64_t> free_ ABSL_GUARDED_BY(mu_);  // start -> length
  // Allocated pages, in runs of equal count; what is in neither map is
  // being given back (its pages are being released to the host). Runs
  // rather than one entry per page, so that forking a 1 GiB heap adds one
  // holder to one run.
  RefMap refs_ ABSL_GUARDED_BY(mu_);
  uint64_t allocated_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace husk::mm
