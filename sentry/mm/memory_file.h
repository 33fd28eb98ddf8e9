// MemoryFile: the memfd that holds all application memory. Stubs map ranges
// of it MAP_SHARED; the sentry maps all of it once, so copying to and from
// application memory is a memcpy on the sentry's side.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>

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

  // A page-aligned range of `len` bytes, reading as zeros.
  Result<uint64_t> Allocate(uint64_t len) override;
  // Gives the range back and releases its pages to the host.
  void Free(uint64_t offset, uint64_t len) override;
  // Makes the range read as zeros again (releases its pages).
  // Copies [src, src+len) to [dst, dst+len), skipping holes (the
  // destination must be fresh: its holes are zeros already).
  void Copy(uint64_t dst, uint64_t src, uint64_t len);
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
  absl::Mutex mu_;
  std::map<uint64_t, uint64_t> free_ ABSL_GUARDED_BY(mu_);  // start -> length
};

}  // namespace husk::mm
