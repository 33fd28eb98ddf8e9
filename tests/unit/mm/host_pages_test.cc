// Private mappings of host files (FileDescription::HostPages): while nobody
// writes them, the stub maps the host file itself (MapFile) and nothing is
// copied; the sentry's own accesses, mprotect(PROT_WRITE) and forced writes
// first turn the pages they touch into private memory-file copies.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/mm/mm_test_util.h"

namespace husk::mm::testing {
namespace {

using Call = FakeAddressSpace::Call;

constexpr uint64_t kFixed = 0x300000000000;  // 1 MiB aligned
constexpr uint64_t kChunk = 16 * kPage;      // what one sentry access copies

// A regular file in a memfd, whose fd it offers for direct mappings.
class HostBackedFile : public vfs::FileDescription {
 public:
  explicit HostBackedFile(const std::vector<uint8_t>& data)
      : FileDescription(vfs::Path{}, O_RDONLY),
        fd_(std::make_shared<const ScopedFd>(static_cast<int>(syscall(SYS_memfd_create, "host", 0)))),
        data_(data) {
    EXPECT_EQ(pwrite(fd_->get(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  }
  Result<size_t> PRead(const vfs::IoVecs& dst, uint64_t offset) override {
    ssize_t n = preadv(fd_->get(), dst.data(), static_cast<int>(dst.size()), static_cast<off_t>(offset));
    if (n < 0) return Errno(errno);
    return static_cast<size_t>(n);
  }
  Result<uint64_t> Size() override { return data_.size(); }
  bool Seekable() const override { return true; }
  bool Mappable() const override { return true; }
  std::shared_ptr<const ScopedFd> HostPages() override { return fd_; }

  int fd() const { return fd_->get(); }
  const std::vector<uint8_t>& data() const { return data_; }
  // The file's bytes now, as the host sees them.
  std::vector<uint8_t> OnHost() const {
    std::vector<uint8_t> out(data_.size());
    EXPECT_EQ(pread(fd_->get(), out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    return out;
  }

 private:
  std::shared_ptr<const ScopedFd> fd_;
  std::vector<uint8_t> data_;
};

class HostPages : public MemoryManagerTest {
 protected:
  // Pages of the stub's view that map the host file.
  size_t HostMappedPages(uint64_t addr, uint64_t len) {
    size_t n = 0;
    for (uint64_t a = addr; a < addr + len; a += kPage) {
      auto p = as_->PageAt(a);
      if (p && p->host_fd >= 0) ++n;
    }
    return n;
  }
};

std::vector<uint8_t> Slice(const std::vector<uint8_t>& v, size_t from, size_t len) {
  return std::vector<uint8_t>(v.begin() + from, v.begin() + from + len);
}

TEST_F(HostPages, FaultMapsTheWholeReadOnlyMappingFromTheHostFile) {
  auto file = std::make_shared<HostBackedFile>(Pattern(40 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 32 * kPage, PROT_READ | PROT_EXEC, 4 * kPage).has_value());

  EXPECT_TRUE(mm_->HandleFault(kFixed + 20 * kPage));

  auto maps = as_->CallsOf(Call::Kind::kMapFile);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].addr, kFixed);
  EXPECT_EQ(maps[0].len, 32 * kPage);
  EXPECT_EQ(maps[0].prot, PROT_READ | PROT_EXEC);
  EXPECT_EQ(maps[0].offset, 4 * kPage);
  EXPECT_EQ(as_->PageAt(kFixed + 31 * kPage)->host_fd, file->fd());
  EXPECT_TRUE(as_->CallsOf(Call::Kind::kMap).empty());
  // A second fault there needs nothing: retried once, then real.
  EXPECT_TRUE(mm_->HandleFault(kFixed + 20 * kPage));
  EXPECT_FALSE(mm_->HandleFault(kFixed + 20 * kPage));
}

TEST_F(HostPages, StopAtTheLastPageHoldingFileBytes) {
  auto file = std::make_shared<HostBackedFile>(Pattern(2 * kPage + 100));
  ASSERT_TRUE(MapFile(file, kFixed, 8 * kPage, PROT_READ, 0).has_value());
  EXPECT_TRUE(mm_->HandleFault(kFixed));
  auto maps = as_->CallsOf(Call::Kind::kMapFile);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].len, 3 * kPage);
  EXPECT_FALSE(mm_->HandleFault(kFixed + 5 * kPage));
  EXPECT_EQ(ErrnoOf(Read(kFixed + 4 * kPage, 1)), EFAULT);
}

TEST_F(HostPages, SentryReadCopiesOnlyTheChunkItTouches) {
  auto file = std::make_shared<HostBackedFile>(Pattern(64 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 64 * kPage, PROT_READ, 0).has_value());
  ASSERT_TRUE(mm_->HandleFault(kFixed));

  const uint64_t at = kFixed + 2 * kChunk + 100;
  EXPECT_EQ(MustRead(at, 5000), Slice(file->data(), at - kFixed, 5000));

  // The chunk around the access is now a memory-file copy, mapped over the
  // host pages; the rest still maps the host file.
  auto copies = as_->CallsOf(Call::Kind::kMap);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].addr, kFixed + 2 * kChunk);
  EXPECT_EQ(copies[0].len, kChunk);
  EXPECT_EQ(copies[0].prot, PROT_READ);
  EXPECT_EQ(HostMappedPages(kFixed, 64 * kPage), 64 * kPage / kPage - kChunk / kPage);
  EXPECT_EQ(MustRead(kFixed, 64 * kPage), file->data());
}

TEST_F(HostPages, WritablePrivateMappingIsCopied) {
  auto file = std::make_shared<HostBackedFile>(Pattern(4 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 4 * kPage, PROT_READ | PROT_WRITE, 0).has_value());
  ASSERT_TRUE(mm_->HandleFault(kFixed));
  EXPECT_TRUE(as_->CallsOf(Call::Kind::kMapFile).empty());
  EXPECT_EQ(HostMappedPages(kFixed, 4 * kPage), 0u);
}

TEST_F(HostPages, SharedMappingIsNotMappedFromTheHost) {
  auto file = std::make_shared<HostBackedFile>(Pattern(4 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 4 * kPage, PROT_READ, 0, MAP_SHARED | MAP_FIXED).has_value());
  ASSERT_TRUE(mm_->HandleFault(kFixed));
  EXPECT_TRUE(as_->CallsOf(Call::Kind::kMapFile).empty());
}

TEST_F(HostPages, MprotectWritableCopiesThemAndWritesStayPrivate) {
  auto file = std::make_shared<HostBackedFile>(Pattern(8 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 8 * kPage, PROT_READ, 0).has_value());
  ASSERT_TRUE(mm_->HandleFault(kFixed));

  ASSERT_TRUE(mm_->MProtect(kFixed + 2 * kPage, 2 * kPage, PROT_READ | PROT_WRITE).has_value());

  EXPECT_EQ(HostMappedPages(kFixed, 8 * kPage), 6u);
  EXPECT_EQ(as_->PageAt(kFixed + 2 * kPage)->prot, PROT_READ | PROT_WRITE);
  MustWrite(kFixed + 2 * kPage, {1, 2, 3});
  EXPECT_EQ(MustRead(kFixed + 2 * kPage, 3), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(file->OnHost(), file->data());
}

TEST_F(HostPages, MprotectWithoutWriteKeepsThemMapped) {
  auto file = std::make_shared<HostBackedFile>(Pattern(4 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 4 * kPage, PROT_READ | PROT_EXEC, 0).has_value());
  ASSERT_TRUE(mm_->HandleFault(kFixed));
  ASSERT_TRUE(mm_->MProtect(kFixed, 4 * kPage, PROT_READ).has_value());
  EXPECT_EQ(HostMappedPages(kFixed, 4 * kPage), 4u);
  EXPECT_EQ(as_->PageAt(kFixed)->prot, PROT_READ);
}

TEST_F(HostPages, ForcedWriteCopiesFirst) {
  auto file = std::make_shared<HostBackedFile>(Pattern(4 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 4 * kPage, PROT_READ | PROT_EXEC, 0).has_value());
  ASSERT_TRUE(mm_->HandleFault(kFixed));
  const std::vector<uint8_t> bytes = {9, 9, 9, 9};
  ASSERT_TRUE(mm_->CopyOutForce(kFixed + kPage + 10, std::span<const uint8_t>(bytes)).has_value());
  EXPECT_EQ(MustRead(kFixed + kPage + 10, 4), bytes);
  EXPECT_EQ(MustRead(kFixed, 10), Slice(file->data(), 0, 10));
  EXPECT_EQ(file->OnHost(), file->data());
  EXPECT_EQ(HostMappedPages(kFixed, 4 * kPage), 0u);
}

TEST_F(HostPages, MremapMovesThemWithTheirFileOffset) {
  auto file = std::make_shared<HostBackedFile>(Pattern(4 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 4 * kPage, PROT_READ, 0).has_value());
  ASSERT_TRUE(mm_->HandleFault(kFixed));
  as_->ClearCalls();
  const uint64_t target = kFixed + 0x100000;
  auto moved = mm_->MRemap(kFixed + kPage, 2 * kPage, 2 * kPage, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  ASSERT_EQ(moved.value_or(0), target);
  auto maps = as_->CallsOf(Call::Kind::kMapFile);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].addr, target);
  EXPECT_EQ(maps[0].offset, kPage);
  EXPECT_EQ(MustRead(target, 2 * kPage), Slice(file->data(), kPage, 2 * kPage));
}

TEST_F(HostPages, MadviseDontneedDropsThem) {
  auto file = std::make_shared<HostBackedFile>(Pattern(4 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 4 * kPage, PROT_READ, 0).has_value());
  ASSERT_TRUE(mm_->HandleFault(kFixed));
  ASSERT_TRUE(mm_->MAdvise(kFixed, 4 * kPage, MADV_DONTNEED).has_value());
  EXPECT_FALSE(as_->Mapped(kFixed));
  EXPECT_TRUE(mm_->HandleFault(kFixed));
  EXPECT_EQ(HostMappedPages(kFixed, 4 * kPage), 4u);
}

}  // namespace
}  // namespace husk::mm::testing
