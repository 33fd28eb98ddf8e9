// Shared pieces of the MemoryManager tests: a memory manager over a real
// MemoryFile and a FakeAddressSpace, a file made of bytes for file
// mappings, and small helpers for reading and writing application memory.
#pragma once

#include <sys/mman.h>
#include <sys/sysmacros.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/align.h"
#include "sentry/mm/memory_file.h"
#include "sentry/mm/memory_manager.h"
#include "tests/unit/mm/fake_address_space.h"
#include "vfs/file.h"

namespace husk::mm::testing {

inline constexpr uint64_t kPage = kPageSize;
inline constexpr uint64_t kMmapBase = 0x7f0000000000;
// The platform's pages: one range right below mmap_base (so top-down
// placement must skip it) and one in the middle of the address space.
inline constexpr platform::ReservedRange kReserved[] = {
    {kMmapBase - 0x10000, kMmapBase},
    {0x500000000000, 0x500000010000},
};
// The first address a top-down mmap of `len` bytes gets.
constexpr uint64_t FirstTopDown(uint64_t len) { return kReserved[0].start - len; }

// 0 on success, else the errno value: reads well in EXPECT_EQ.
template <class T>
int ErrnoOf(const Result<T>& r) {
  return r.has_value() ? 0 : r.error().value();
}

// A regular file over a byte vector, for file mappings.
class BytesFile : public vfs::FileDescription {
 public:
  explicit BytesFile(std::vector<uint8_t> data, int flags = O_RDONLY)
      : FileDescription(vfs::Path{}, flags), data_(std::move(data)) {}

  Result<size_t> PRead(const vfs::IoVecs& dst, uint64_t offset) override {
    ++preads_;
    if (offset >= data_.size()) return size_t{0};
    return vfs::CopyToIoVecs(dst, std::span<const uint8_t>(data_).subspan(offset));
  }
  Result<uint64_t> Size() override { return data_.size(); }
  Result<struct stat> Stat() override {
    struct stat st {};
    st.st_mode = S_IFREG | 0644;
    st.st_dev = makedev(8, 1);
    st.st_ino = 1234;
    st.st_size = static_cast<off_t>(data_.size());
    return st;
  }
  bool Seekable() const override { return true; }
  bool Mappable() const override { return true; }

  const std::vector<uint8_t>& data() const { return data_; }
  int preads() const { return preads_; }

 private:
  std::vector<uint8_t> data_;
  int preads_ = 0;
};

// `n` bytes of a recognisable pattern: byte i is (i * 7 + seed) mod 251.
inline std::vector<uint8_t> Pattern(size_t n, uint8_t seed = 1) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 7 + seed) % 251);
  return v;
}

class MemoryManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { Reset(1ULL << 30); }

  // A fresh memory manager over a memory file of `mf_size` bytes.
  void Reset(uint64_t mf_size) {
    mm_.reset();
    auto mf = MemoryFile::Create(mf_size);
    ASSERT_TRUE(mf.has_value());
    mf_ = std::move(*mf);
    auto as = std::make_unique<FakeAddressSpace>();
    as_ = as.get();
    mm_ = std::make_unique<MemoryManager>(*mf_, std::move(as), kReserved, kMmapBase);
  }

  // mmap of anonymous private memory.
  Result<uint64_t> MapAnon(uint64_t len, int prot = PROT_READ | PROT_WRITE, int flags = 0,
                           uint64_t addr = 0) {
    MapRequest req;
    req.addr = addr;
    req.len = len;
    req.prot = prot;
    req.flags = MAP_PRIVATE | MAP_ANONYMOUS | flags;
    return mm_->MMap(req);
  }
  // mmap of anonymous private memory at exactly `addr` (MAP_FIXED).
  uint64_t MapAnonAt(uint64_t addr, uint64_t len, int prot = PROT_READ | PROT_WRITE) {
    auto r = MapAnon(len, prot, MAP_FIXED, addr);
    EXPECT_TRUE(r.has_value()) << "MAP_FIXED at " << std::hex << addr;
    return r.value_or(0);
  }
  Result<uint64_t> MapFile(std::shared_ptr<vfs::FileDescription> file, uint64_t addr, uint64_t len,
                           int prot, uint64_t offset, int flags = MAP_PRIVATE | MAP_FIXED,
                           std::string name = "/data/file") {
    MapRequest req;
    req.addr = addr;
    req.len = len;
    req.prot = prot;
    req.flags = flags;
    req.file = std::move(file);
    req.offset = offset;
    req.name = std::move(name);
    return mm_->MMap(req);
  }

  Result<void> Write(uint64_t addr, const std::vector<uint8_t>& bytes) {
    return mm_->CopyOut(addr, std::span<const uint8_t>(bytes));
  }
  Result<std::vector<uint8_t>> Read(uint64_t addr, size_t len) {
    std::vector<uint8_t> out(len);
    TRY(mm_->CopyIn(addr, std::span<uint8_t>(out)));
    return out;
  }
  // Reads `len` bytes, failing the test (and returning empty) on EFAULT.
  std::vector<uint8_t> MustRead(uint64_t addr, size_t len) {
    auto r = Read(addr, len);
    EXPECT_TRUE(r.has_value()) << "CopyIn at " << std::hex << addr;
    return r.value_or(std::vector<uint8_t>{});
  }
  void MustWrite(uint64_t addr, const std::vector<uint8_t>& bytes) {
    EXPECT_TRUE(Write(addr, bytes).has_value()) << "CopyOut at " << std::hex << addr;
  }
  bool Readable(uint64_t addr) { return Read(addr, 1).has_value(); }

  // The lines of /proc/self/maps.
  std::vector<std::string> MapsLines() {
    std::vector<std::string> lines;
    std::string text = mm_->Maps();
    size_t start = 0;
    while (start < text.size()) {
      size_t nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      lines.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
    return lines;
  }

  // Declared before mm_: the memory manager frees its pages into it.
  std::unique_ptr<MemoryFile> mf_;
  std::unique_ptr<MemoryManager> mm_;
  FakeAddressSpace* as_ = nullptr;  // owned by mm_
};

// One fixture name per family of behaviour, so results read like the man
// pages: Mremap.ShrinksInPlace, Copy.ProtNoneIsEfault.
class Mmap : public MemoryManagerTest {};
class MapFixed : public MemoryManagerTest {};
class MapFixedNoreplace : public MemoryManagerTest {};
class Munmap : public MemoryManagerTest {};
class Mprotect : public MemoryManagerTest {};
class Mremap : public MemoryManagerTest {};
class SharedAnonymous : public MemoryManagerTest {};
class Brk : public MemoryManagerTest {};
class Madvise : public MemoryManagerTest {};
class Fault : public MemoryManagerTest {};
class FileMapping : public MemoryManagerTest {};
class Copy : public MemoryManagerTest {};
class CopyInString : public MemoryManagerTest {};
class UserBuffer : public MemoryManagerTest {};
class Maps : public MemoryManagerTest {};

}  // namespace husk::mm::testing
