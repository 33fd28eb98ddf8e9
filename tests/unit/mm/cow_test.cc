// fork(2)'s copy-on-write: a fork copies no page. Parent and child hold the
// same memory-file pages (MemoryFile counts the holders), both stubs map
// them without PROT_WRITE, and the first write by either side, a fault in
// the stub or a write by the sentry, copies what is still shared; the last
// holder writes in place. Pages go back when nobody holds them.
#include <sys/mman.h>

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/mm/mm_test_util.h"

namespace husk::mm::testing {
namespace {

using Call = FakeAddressSpace::Call;

constexpr uint64_t kFixed = 0x300000000000;  // 1 MiB aligned
constexpr uint64_t kChunk = 16 * kPage;      // what one write fault copies
constexpr int kRw = PROT_READ | PROT_WRITE;

std::vector<uint8_t> Bytes(size_t n, uint8_t v) { return std::vector<uint8_t>(n, v); }

class Cow : public MemoryManagerTest {
 protected:
  // Forks mm_ into child_ (whose stub is child_as_), and maps the child's
  // pages as its first thread would.
  void ForkChild(bool map_all = true) {
    auto as = std::make_unique<FakeAddressSpace>();
    child_as_ = as.get();
    auto child = mm_->Fork(std::move(as));
    ASSERT_TRUE(child.has_value());
    child_ = std::move(*child);
    if (map_all) {
      ASSERT_TRUE(child_->MapAll().has_value());
    }
  }

  std::vector<uint8_t> ChildRead(uint64_t addr, size_t len) {
    std::vector<uint8_t> out(len);
    EXPECT_TRUE(child_->CopyIn(addr, std::span<uint8_t>(out)).has_value());
    return out;
  }
  void ChildWrite(uint64_t addr, const std::vector<uint8_t>& bytes) {
    EXPECT_TRUE(child_->CopyOut(addr, std::span<const uint8_t>(bytes)).has_value());
  }
  // The memory-file page behind `addr` in a stub's view.
  static uint64_t OffsetIn(FakeAddressSpace* as, uint64_t addr) {
    auto p = as->PageAt(addr);
    EXPECT_TRUE(p.has_value()) << std::hex << addr;
    return p ? p->offset : 0;
  }
  static int ProtIn(FakeAddressSpace* as, uint64_t addr) {
    auto p = as->PageAt(addr);
    return p ? p->prot : -1;
  }
  uint32_t Holders(uint64_t offset) { return mf_->RefsAt(offset).count; }

  std::unique_ptr<MemoryManager> child_;
  FakeAddressSpace* child_as_ = nullptr;  // owned by child_
};

TEST_F(Cow, ForkCopiesNothing) {
  MapAnonAt(kFixed, 64 * kPage);
  MustWrite(kFixed, Pattern(64 * kPage));
  const uint64_t before = mf_->allocated();

  ForkChild();

  EXPECT_EQ(mf_->allocated(), before);
  EXPECT_EQ(OffsetIn(child_as_, kFixed), OffsetIn(as_, kFixed));
  EXPECT_EQ(Holders(OffsetIn(as_, kFixed)), 2u);
  EXPECT_EQ(ChildRead(kFixed, 64 * kPage), Pattern(64 * kPage));
}

TEST_F(Cow, ForkOfAGigabyteHeapIsOneRunAndOneMprotect) {
  Reset(4ULL << 30);
  MapAnonAt(kFixed, 1ULL << 30);
  MustWrite(kFixed, Bytes(kPage, 1));
  MustWrite(kFixed + (1ULL << 30) - kPage, Bytes(kPage, 2));
  as_->ClearCalls();

  ForkChild();

  // The parent's stub: one mprotect write-protects the whole heap.
  auto protects = as_->CallsOf(Call::Kind::kProtect);
  ASSERT_EQ(protects.size(), 1u);
  EXPECT_EQ(protects[0].addr, kFixed);
  EXPECT_EQ(protects[0].len, 1ULL << 30);
  EXPECT_EQ(protects[0].prot, PROT_READ);
  // One run of pages with two holders.
  auto run = mf_->RefsAt(OffsetIn(as_, kFixed));
  EXPECT_EQ(run.count, 2u);
  EXPECT_EQ(run.end - run.start, 1ULL << 30);
}

TEST_F(Cow, ParentStubIsWriteProtectedAndChildMapsReadOnly) {
  MapAnonAt(kFixed, 4 * kPage);
  MustWrite(kFixed, Pattern(4 * kPage));

  ForkChild();

  EXPECT_EQ(ProtIn(as_, kFixed), PROT_READ);
  auto maps = child_as_->CallsOf(Call::Kind::kMap);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].prot, PROT_READ);
  EXPECT_TRUE(maps[0].populate);
}

TEST_F(Cow, ChildPopulatesOnlyWhereThePagesHoldData) {
  // Populating a hole would allocate its pages.
  MapAnonAt(kFixed, 64 * kPage);
  MustWrite(kFixed, Bytes(1, 1));
  MustWrite(kFixed + 40 * kPage, Bytes(1, 1));
  MustWrite(kFixed + 50 * kPage, Bytes(1, 1));  // close enough to join

  ForkChild();

  auto maps = child_as_->CallsOf(Call::Kind::kMap);
  ASSERT_EQ(maps.size(), 4u);
  EXPECT_EQ(maps[0].addr, kFixed);
  EXPECT_EQ(maps[0].len, kPage);
  EXPECT_TRUE(maps[0].populate);
  EXPECT_EQ(maps[1].len, 39 * kPage);
  EXPECT_FALSE(maps[1].populate);
  EXPECT_EQ(maps[2].addr, kFixed + 40 * kPage);
  EXPECT_EQ(maps[2].len, 11 * kPage);
  EXPECT_TRUE(maps[2].populate);
  EXPECT_EQ(maps[3].addr, kFixed + 51 * kPage);
  EXPECT_FALSE(maps[3].populate);
  EXPECT_EQ(child_as_->MappedPages(), 64u);
}

TEST_F(Cow, ReadOnlyMappingsAreNotProtectedAgain) {
  MapAnonAt(kFixed, 4 * kPage, PROT_READ);
  as_->ClearCalls();
  ForkChild();
  EXPECT_TRUE(as_->CallsOf(Call::Kind::kProtect).empty());
}

TEST_F(Cow, ChildWriteIsInvisibleToParent) {
  MapAnonAt(kFixed, 4 * kPage);
  MustWrite(kFixed, Bytes(4 * kPage, 'p'));
  ForkChild();

  ChildWrite(kFixed + 10, Bytes(5, 'c'));

  EXPECT_EQ(MustRead(kFixed, 4 * kPage), Bytes(4 * kPage, 'p'));
  auto child = ChildRead(kFixed, 4 * kPage);
  EXPECT_EQ(std::vector<uint8_t>(child.begin() + 10, child.begin() + 15), Bytes(5, 'c'));
  EXPECT_EQ(child[9], 'p');
  EXPECT_EQ(child[15], 'p');
  // The child's stub maps its own copy, writable.
  EXPECT_NE(OffsetIn(child_as_, kFixed), OffsetIn(as_, kFixed));
  EXPECT_EQ(ProtIn(child_as_, kFixed), kRw);
}

TEST_F(Cow, ParentWriteFaultCopiesAChunkAndIsInvisibleToChild) {
  MapAnonAt(kFixed, 64 * kPage);
  MustWrite(kFixed, Bytes(64 * kPage, 'p'));
  ForkChild();
  const uint64_t shared = OffsetIn(as_, kFixed + 20 * kPage);
  const uint64_t before = mf_->allocated();
  as_->ClearCalls();

  // A store to a page of the second chunk.
  EXPECT_TRUE(mm_->HandleFault(kFixed + 20 * kPage + 8));

  // The chunk holding the page is copied and mapped writable; the rest
  // stays shared and write-protected.
  EXPECT_EQ(mf_->allocated(), before + kChunk);
  auto maps = as_->CallsOf(Call::Kind::kMap);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].addr, kFixed + kChunk);
  EXPECT_EQ(maps[0].len, kChunk);
  EXPECT_EQ(maps[0].prot, kRw);
  EXPECT_NE(OffsetIn(as_, kFixed + 20 * kPage), shared);
  EXPECT_EQ(ProtIn(as_, kFixed), PROT_READ);
  EXPECT_EQ(ProtIn(as_, kFixed + 2 * kChunk), PROT_READ);
  // The child is the last holder of the old chunk now.
  EXPECT_EQ(Holders(shared), 1u);
  EXPECT_EQ(Holders(OffsetIn(as_, kFixed)), 2u);

  MustWrite(kFixed + 20 * kPage, Bytes(3, 'P'));
  EXPECT_EQ(ChildRead(kFixed + 20 * kPage, 3), Bytes(3, 'p'));
}

TEST_F(Cow, LastHolderWritesInPlace) {
  MapAnonAt(kFixed, 64 * kPage);
  MustWrite(kFixed, Bytes(64 * kPage, 'p'));
  ForkChild();
  const uint64_t offset = OffsetIn(as_, kFixed);
  child_.reset();  // the child exits
  const uint64_t before = mf_->allocated();
  as_->ClearCalls();

  EXPECT_TRUE(mm_->HandleFault(kFixed + 5 * kPage));

  // No copy: one mprotect makes every page nobody else holds writable.
  EXPECT_EQ(mf_->allocated(), before);
  EXPECT_TRUE(as_->CallsOf(Call::Kind::kMap).empty());
  auto protects = as_->CallsOf(Call::Kind::kProtect);
  ASSERT_EQ(protects.size(), 1u);
  EXPECT_EQ(protects[0].addr, kFixed);
  EXPECT_EQ(protects[0].len, 64 * kPage);
  EXPECT_EQ(protects[0].prot, kRw);
  EXPECT_EQ(OffsetIn(as_, kFixed), offset);
  // Nothing more to do: a second fault there is retried once, then real.
  EXPECT_TRUE(mm_->HandleFault(kFixed + 5 * kPage));
  EXPECT_FALSE(mm_->HandleFault(kFixed + 5 * kPage));
}

TEST_F(Cow, LastHolderUnprotectsTwoMegabytesPerFault) {
  MapAnonAt(kFixed, 8 << 20);
  MustWrite(kFixed, Bytes(kPage, 'p'));
  ForkChild();
  child_.reset();
  as_->ClearCalls();

  EXPECT_TRUE(mm_->HandleFault(kFixed + (3 << 20) + 5 * kPage));

  auto protects = as_->CallsOf(Call::Kind::kProtect);
  ASSERT_EQ(protects.size(), 1u);
  EXPECT_EQ(protects[0].addr, kFixed + (2 << 20));
  EXPECT_EQ(protects[0].len, 2u << 20);
  EXPECT_EQ(ProtIn(as_, kFixed), PROT_READ);
}

TEST_F(Cow, SentryWriteInPlaceAfterTheOtherSideCopied) {
  MapAnonAt(kFixed, kChunk);
  MustWrite(kFixed, Bytes(kChunk, 'p'));
  ForkChild();
  const uint64_t offset = OffsetIn(as_, kFixed);
  ChildWrite(kFixed, Bytes(1, 'c'));  // the child takes a copy
  const uint64_t before = mf_->allocated();

  MustWrite(kFixed, Bytes(1, 'P'));

  EXPECT_EQ(mf_->allocated(), before);
  EXPECT_EQ(OffsetIn(as_, kFixed), offset);
  EXPECT_EQ(ProtIn(as_, kFixed), kRw);
  EXPECT_EQ(ChildRead(kFixed, 2), (std::vector<uint8_t>{'c', 'p'}));
  EXPECT_EQ(MustRead(kFixed, 2), (std::vector<uint8_t>{'P', 'p'}));
}

TEST_F(Cow, ReadFaultOnReadOnlySharedPageIsNotACopy) {
  MapAnonAt(kFixed, kPage, PROT_READ);
  ForkChild();
  const uint64_t before = mf_->allocated();
  EXPECT_TRUE(mm_->HandleFault(kFixed));  // retried once
  EXPECT_FALSE(mm_->HandleFault(kFixed));
  EXPECT_EQ(mf_->allocated(), before);
}

TEST_F(Cow, OutBufferAndAtomicWordGetPrivatePages) {
  MapAnonAt(kFixed, 2 * kChunk);
  MustWrite(kFixed, Bytes(2 * kChunk, 'p'));
  ForkChild();
  const uint64_t shared = OffsetIn(as_, kFixed);

  // read(2) into the buffer: the views are of the parent's own copy.
  auto views = mm_->OutBuffer(kFixed + 100, kChunk);
  ASSERT_TRUE(views.has_value());
  for (const iovec& v : *views) memset(v.iov_base, 'r', v.iov_len);
  EXPECT_EQ(ChildRead(kFixed + 100, kChunk), Bytes(kChunk, 'p'));
  EXPECT_EQ(MustRead(kFixed + 100, kChunk), Bytes(kChunk, 'r'));
  EXPECT_NE(OffsetIn(as_, kFixed), shared);

  // A futex word in the child.
  auto word = child_->AtomicWord(kFixed + kChunk + 64);
  ASSERT_TRUE(word.has_value());
  **word = 0x01020304;
  EXPECT_EQ(MustRead(kFixed + kChunk + 64, 4), Bytes(4, 'r'));
}

TEST_F(Cow, ForcedWriteToReadOnlyMappingCopies) {
  MapAnonAt(kFixed, kPage, PROT_READ);
  ForkChild();
  const std::vector<uint8_t> bytes = {1, 2, 3};
  ASSERT_TRUE(child_->CopyOutForce(kFixed, std::span<const uint8_t>(bytes)).has_value());
  ASSERT_TRUE(child_->ZeroForce(kFixed + 8, 8).has_value());
  EXPECT_EQ(MustRead(kFixed, 3), Bytes(3, 0));
  EXPECT_EQ(ChildRead(kFixed, 3), bytes);
  EXPECT_EQ(ProtIn(child_as_, kFixed), PROT_READ);
}

TEST_F(Cow, ParentWritesIntoChildBeforeItsStubIsMapped) {
  // CLONE_CHILD_SETTID: the parent's thread writes the child's tid into the
  // child's memory before the child's own thread maps anything.
  MapAnonAt(kFixed, kChunk);
  MustWrite(kFixed, Bytes(kChunk, 'p'));
  ForkChild(/*map_all=*/false);

  ChildWrite(kFixed + 4, Bytes(4, 't'));

  EXPECT_TRUE(child_as_->calls().empty());
  ASSERT_TRUE(child_->MapAll().has_value());
  EXPECT_NE(OffsetIn(child_as_, kFixed), OffsetIn(as_, kFixed));
  EXPECT_EQ(ProtIn(child_as_, kFixed), kRw);
  EXPECT_EQ(ChildRead(kFixed + 4, 4), Bytes(4, 't'));
  EXPECT_EQ(MustRead(kFixed + 4, 4), Bytes(4, 'p'));
}

TEST_F(Cow, MprotectKeepsSharedPagesWriteProtected) {
  MapAnonAt(kFixed, 2 * kPage);
  MustWrite(kFixed, Bytes(2 * kPage, 'p'));
  ForkChild();

  ASSERT_TRUE(mm_->MProtect(kFixed, 2 * kPage, PROT_READ).has_value());
  ASSERT_TRUE(mm_->MProtect(kFixed, 2 * kPage, kRw | PROT_EXEC).has_value());
  EXPECT_EQ(ProtIn(as_, kFixed), PROT_READ | PROT_EXEC);

  EXPECT_TRUE(mm_->HandleFault(kFixed));
  EXPECT_EQ(ProtIn(as_, kFixed), kRw | PROT_EXEC);
  MustWrite(kFixed, Bytes(1, 'P'));
  EXPECT_EQ(ChildRead(kFixed, 1), Bytes(1, 'p'));
}

TEST_F(Cow, MprotectWritableAfterReadOnlyFork) {
  MapAnonAt(kFixed, kPage, PROT_READ);
  ASSERT_TRUE(mm_->CopyOutForce(kFixed, Bytes(4, 'p')).has_value());
  ForkChild();
  ASSERT_TRUE(child_->MProtect(kFixed, kPage, kRw).has_value());
  EXPECT_EQ(ProtIn(child_as_, kFixed), PROT_READ);
  EXPECT_TRUE(child_->HandleFault(kFixed));
  ChildWrite(kFixed, Bytes(4, 'c'));
  EXPECT_EQ(MustRead(kFixed, 4), Bytes(4, 'p'));
}

TEST_F(Cow, MunmapInOneSideLeavesTheOther) {
  MapAnonAt(kFixed, 4 * kPage);
  MustWrite(kFixed, Bytes(4 * kPage, 'p'));
  ForkChild();
  const uint64_t offset = OffsetIn(as_, kFixed);

  ASSERT_TRUE(child_->MUnmap(kFixed, 2 * kPage).has_value());

  EXPECT_EQ(MustRead(kFixed, 4 * kPage), Bytes(4 * kPage, 'p'));
  EXPECT_EQ(Holders(offset), 1u);
  EXPECT_EQ(Holders(offset + 2 * kPage), 2u);
  std::vector<uint8_t> byte(1);
  EXPECT_EQ(ErrnoOf(child_->CopyIn(kFixed, std::span<uint8_t>(byte))), EFAULT);
}

TEST_F(Cow, MadviseDontneedInOneSideZerosOnlyIt) {
  MapAnonAt(kFixed, 4 * kPage);
  MustWrite(kFixed, Bytes(4 * kPage, 'p'));
  ForkChild();

  ASSERT_TRUE(child_->MAdvise(kFixed, 2 * kPage, MADV_DONTNEED).has_value());

  EXPECT_EQ(ChildRead(kFixed, 2 * kPage), Bytes(2 * kPage, 0));
  EXPECT_EQ(ChildRead(kFixed + 2 * kPage, 2 * kPage), Bytes(2 * kPage, 'p'));
  EXPECT_EQ(MustRead(kFixed, 4 * kPage), Bytes(4 * kPage, 'p'));
  // The parent's own pages are zeroed where they are.
  MustWrite(kFixed, Bytes(kPage, 'q'));
  const uint64_t offset = OffsetIn(as_, kFixed);
  ASSERT_TRUE(mm_->MAdvise(kFixed, kPage, MADV_DONTNEED).has_value());
  EXPECT_EQ(MustRead(kFixed, kPage), Bytes(kPage, 0));
  EXPECT_EQ(OffsetIn(as_, kFixed), offset);
}

TEST_F(Cow, MremapMovesSharedPagesStillWriteProtected) {
  MapAnonAt(kFixed, 4 * kPage);
  MustWrite(kFixed, Bytes(4 * kPage, 'p'));
  ForkChild();
  const uint64_t offset = OffsetIn(as_, kFixed);
  const uint64_t target = kFixed + 0x100000;

  auto moved = mm_->MRemap(kFixed, 4 * kPage, 4 * kPage, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  ASSERT_TRUE(moved.has_value());

  EXPECT_EQ(OffsetIn(as_, target), offset);
  EXPECT_EQ(ProtIn(as_, target), PROT_READ);
  EXPECT_TRUE(mm_->HandleFault(target));
  MustWrite(target, Bytes(1, 'P'));
  EXPECT_EQ(ChildRead(kFixed, 1), Bytes(1, 'p'));
}

TEST_F(Cow, SharedMappingsAreShared) {
  MapRequest req;
  req.addr = kFixed;
  req.len = kPage;
  req.prot = kRw;
  req.flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
  ASSERT_TRUE(mm_->MMap(req).has_value());
  MustWrite(kFixed, Bytes(1, 'p'));
  ForkChild();

  EXPECT_EQ(ProtIn(child_as_, kFixed), kRw);
  ChildWrite(kFixed, Bytes(1, 'c'));
  EXPECT_EQ(MustRead(kFixed, 1), Bytes(1, 'c'));
  EXPECT_EQ(ProtIn(as_, kFixed), kRw);
}

TEST_F(Cow, PagesGoBackWhenTheLastHolderLetsGo) {
  const uint64_t empty = mf_->allocated();
  MapAnonAt(kFixed, 8 * kPage);
  MustWrite(kFixed, Bytes(8 * kPage, 'p'));
  const uint64_t one = mf_->allocated();
  ForkChild();
  ChildWrite(kFixed, Bytes(1, 'c'));  // the child copies a chunk

  mm_.reset();  // the parent exits first
  EXPECT_EQ(mf_->allocated(), one);  // the child's copy and its shared rest
  EXPECT_EQ(ChildRead(kFixed + kPage, 1), Bytes(1, 'p'));
  child_.reset();
  EXPECT_EQ(mf_->allocated(), empty);
}

TEST_F(Cow, ForkOfAForkHasThreeHolders) {
  MapAnonAt(kFixed, kPage);
  MustWrite(kFixed, Bytes(kPage, 'p'));
  ForkChild();
  auto gas = std::make_unique<FakeAddressSpace>();
  auto grandchild = child_->Fork(std::move(gas));
  ASSERT_TRUE(grandchild.has_value());
  ASSERT_TRUE((*grandchild)->MapAll().has_value());
  const uint64_t offset = OffsetIn(as_, kFixed);
  EXPECT_EQ(Holders(offset), 3u);

  ChildWrite(kFixed, Bytes(1, 'c'));
  EXPECT_EQ(Holders(offset), 2u);
  std::vector<uint8_t> g(1);
  ASSERT_TRUE((*grandchild)->CopyIn(kFixed, std::span<uint8_t>(g)).has_value());
  EXPECT_EQ(g, Bytes(1, 'p'));
  EXPECT_EQ(MustRead(kFixed, 1), Bytes(1, 'p'));
  grandchild->reset();
  EXPECT_EQ(Holders(offset), 1u);
}

TEST_F(Cow, BrkShrinkAfterForkLeavesTheOther) {
  mm_->SetBrkBase(kFixed);
  ASSERT_EQ(mm_->Brk(kFixed + 4 * kPage), kFixed + 4 * kPage);
  MustWrite(kFixed, Bytes(4 * kPage, 'p'));
  ForkChild();
  EXPECT_EQ(child_->Brk(kFixed), kFixed);
  EXPECT_EQ(MustRead(kFixed, 4 * kPage), Bytes(4 * kPage, 'p'));
  EXPECT_TRUE(mm_->HandleFault(kFixed));
  MustWrite(kFixed, Bytes(1, 'P'));
}

TEST_F(Cow, DontforkMappingIsNotInTheChild) {
  MapAnonAt(kFixed, 4 * kPage);
  MustWrite(kFixed, Bytes(4 * kPage, 'p'));
  ASSERT_TRUE(mm_->MAdvise(kFixed + 2 * kPage, 2 * kPage, MADV_DONTFORK).has_value());
  const uint64_t offset = OffsetIn(as_, kFixed + 2 * kPage);

  ForkChild();

  EXPECT_EQ(ChildRead(kFixed, 2 * kPage), Bytes(2 * kPage, 'p'));
  std::vector<uint8_t> byte(1);
  EXPECT_EQ(ErrnoOf(child_->CopyIn(kFixed + 2 * kPage, std::span<uint8_t>(byte))), EFAULT);
  // The parent's pages there were not shared, so they stay writable.
  EXPECT_EQ(Holders(offset), 1u);
  EXPECT_EQ(ProtIn(as_, kFixed + 2 * kPage), kRw);
  EXPECT_EQ(ProtIn(as_, kFixed), PROT_READ);
  // MADV_DOFORK undoes it, and the VMAs join again.
  ASSERT_TRUE(mm_->MAdvise(kFixed, 4 * kPage, MADV_DOFORK).has_value());
  EXPECT_EQ(MapsLines().size(), 1u);
}

TEST_F(Cow, WipeonforkMappingReadsZerosInTheChild) {
  MapAnonAt(kFixed, 4 * kPage);
  MustWrite(kFixed, Bytes(4 * kPage, 'p'));
  ASSERT_TRUE(mm_->MAdvise(kFixed, 4 * kPage, MADV_WIPEONFORK).has_value());

  ForkChild();

  EXPECT_EQ(ChildRead(kFixed, 4 * kPage), Bytes(4 * kPage, 0));
  EXPECT_EQ(MustRead(kFixed, 4 * kPage), Bytes(4 * kPage, 'p'));
}

TEST_F(Cow, WipeonforkIsOnlyForPrivateAnonymousMemory) {
  MapRequest req;
  req.addr = kFixed;
  req.len = kPage;
  req.prot = kRw;
  req.flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
  ASSERT_TRUE(mm_->MMap(req).has_value());
  EXPECT_EQ(ErrnoOf(mm_->MAdvise(kFixed, kPage, MADV_WIPEONFORK)), EINVAL);
}

// The memory file's holder counts on their own.
class MemoryFileRefs : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mf = MemoryFile::Create(1ULL << 30);
    ASSERT_TRUE(mf.has_value());
    mf_ = std::move(*mf);
  }
  std::unique_ptr<MemoryFile> mf_;
};

TEST_F(MemoryFileRefs, RunsSplitAndJoin) {
  const uint64_t a = mf_->Allocate(8 * kPage).value();
  EXPECT_EQ(mf_->RefsAt(a + kPage).count, 1u);
  mf_->IncRef(a + 2 * kPage, 2 * kPage);
  auto mid = mf_->RefsAt(a + 3 * kPage);
  EXPECT_EQ(mid.count, 2u);
  EXPECT_EQ(mid.start, a + 2 * kPage);
  EXPECT_EQ(mid.end, a + 4 * kPage);
  EXPECT_EQ(mf_->RefsAt(a + 5 * kPage).start, a + 4 * kPage);
  mf_->Free(a + 2 * kPage, 2 * kPage);
  auto whole = mf_->RefsAt(a);
  EXPECT_EQ(whole.start, a);
  EXPECT_EQ(whole.end, a + 8 * kPage);
  EXPECT_EQ(whole.count, 1u);
}

TEST_F(MemoryFileRefs, FreeReleasesOnlyUnheldPages) {
  const uint64_t a = mf_->Allocate(4 * kPage).value();
  memset(mf_->At(a), 'x', 4 * kPage);
  mf_->IncRef(a, kPage);
  mf_->Free(a, 4 * kPage);
  EXPECT_EQ(mf_->allocated(), kPage);
  EXPECT_EQ(mf_->At(a)[0], 'x');
  EXPECT_EQ(mf_->RefsAt(a + kPage).count, 0u);
  // Released pages read as zeros and are handed out again.
  const uint64_t b = mf_->Allocate(3 * kPage).value();
  EXPECT_EQ(b, a + kPage);
  EXPECT_EQ(mf_->At(b)[0], 0);
  mf_->Free(a, kPage);
  mf_->Free(b, 3 * kPage);
  EXPECT_EQ(mf_->allocated(), 0u);
}

}  // namespace
}  // namespace husk::mm::testing
