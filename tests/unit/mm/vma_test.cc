// MemoryManager's VMA set: mmap placement and MAP_FIXED, munmap, mprotect,
// mremap, brk and madvise, checked against mmap(2), munmap(2), mprotect(2),
// mremap(2), brk(2) and madvise(2), and against what the stub was told to
// map (FakeAddressSpace).
#include <sys/mman.h>

#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/mm/mm_test_util.h"

namespace husk::mm::testing {
namespace {

using Call = FakeAddressSpace::Call;

// Far from mmap_base, so top-down placement never reaches it.
constexpr uint64_t kFixed = 0x300000000000;

// ---- mmap placement ---------------------------------------------------------

TEST_F(Mmap, PlacesTopDownBelowMmapBaseSkippingReserved) {
  auto a = MapAnon(kPage);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, FirstTopDown(kPage));
  auto b = MapAnon(2 * kPage);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, *a - 2 * kPage);
}

TEST_F(Mmap, ReusesHighestFreeGap) {
  uint64_t a = MapAnon(kPage).value();
  uint64_t b = MapAnon(kPage).value();
  ASSERT_TRUE(mm_->MUnmap(a, kPage).has_value());
  EXPECT_EQ(MapAnon(kPage).value(), a);
  EXPECT_EQ(MapAnon(kPage).value(), b - kPage);
}

TEST_F(Mmap, SkipsGapTooSmall) {
  uint64_t a = MapAnon(kPage).value();
  uint64_t b = MapAnon(kPage).value();
  uint64_t c = MapAnon(kPage).value();
  ASSERT_TRUE(mm_->MUnmap(b, kPage).has_value());
  // One free page between a and c: two pages go below c.
  EXPECT_EQ(MapAnon(2 * kPage).value(), c - 2 * kPage);
  EXPECT_EQ(MapAnon(kPage).value(), b);
  EXPECT_EQ(a - kPage, b);
}

TEST_F(Mmap, HonoursFreeHint) {
  EXPECT_EQ(MapAnon(kPage, PROT_READ, 0, 0x200000000000).value(), 0x200000000000u);
}

TEST_F(Mmap, RoundsHintDownToPage) {
  EXPECT_EQ(MapAnon(kPage, PROT_READ, 0, 0x200000000123).value(), 0x200000000000u);
}

TEST_F(Mmap, IgnoresOccupiedHint) {
  MapAnonAt(0x200000000000, kPage);
  EXPECT_EQ(MapAnon(kPage, PROT_READ, 0, 0x200000000000).value(), FirstTopDown(kPage));
}

TEST_F(Mmap, NeverUsesReservedRangeAsHint) {
  uint64_t r = kReserved[1].start;
  auto a = MapAnon(kPage, PROT_READ, 0, r);
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(*a + kPage <= kReserved[1].start || *a >= kReserved[1].end) << std::hex << *a;
  // A hint whose range runs into the reserved pages is not honoured either.
  auto b = MapAnon(2 * kPage, PROT_READ, 0, r - kPage);
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(*b + 2 * kPage <= kReserved[1].start || *b >= kReserved[1].end) << std::hex << *b;
}

TEST_F(Mmap, IgnoresHintBelowMmapMinAddr) {
  EXPECT_EQ(MapAnon(kPage, PROT_READ, 0, 0x1000).value(), FirstTopDown(kPage));
}

TEST_F(Mmap, ZeroLengthIsEnomem) {
  EXPECT_EQ(ErrnoOf(MapAnon(0)), ENOMEM);
}

TEST_F(Mmap, AnonymousIsPopulatedAtOnceWithItsProt) {
  uint64_t a = MapAnon(2 * kPage, PROT_READ).value();
  ASSERT_EQ(as_->CallsOf(Call::Kind::kMap).size(), 1u);
  auto call = as_->CallsOf(Call::Kind::kMap)[0];
  EXPECT_EQ(call.addr, a);
  EXPECT_EQ(call.len, 2 * kPage);
  EXPECT_EQ(call.prot, PROT_READ);
  EXPECT_EQ(MustRead(a, 2 * kPage), std::vector<uint8_t>(2 * kPage, 0));
}

// ---- MAP_FIXED, MAP_FIXED_NOREPLACE ----------------------------------------

TEST_F(MapFixed, ReplacesPartOfMapping) {
  MapAnonAt(kFixed, 3 * kPage);
  auto data = Pattern(3 * kPage);
  MustWrite(kFixed, data);
  as_->ClearCalls();
  MapAnonAt(kFixed + kPage, kPage, PROT_READ);

  // The old middle page went away in the stub before the new one came.
  ASSERT_EQ(as_->calls().size(), 2u);
  EXPECT_EQ(as_->calls()[0], (Call{Call::Kind::kUnmap, kFixed + kPage, kPage, 0, 0}));
  EXPECT_EQ(as_->calls()[1].kind, Call::Kind::kMap);
  EXPECT_EQ(as_->calls()[1].addr, kFixed + kPage);
  // The new page is fresh zeros; the neighbours kept their bytes.
  EXPECT_EQ(MustRead(kFixed + kPage, kPage), std::vector<uint8_t>(kPage, 0));
  EXPECT_EQ(MustRead(kFixed, kPage), std::vector<uint8_t>(data.begin(), data.begin() + kPage));
  EXPECT_EQ(MustRead(kFixed + 2 * kPage, kPage),
            std::vector<uint8_t>(data.begin() + 2 * kPage, data.end()));
  EXPECT_EQ(MapsLines().size(), 3u);
}

TEST_F(MapFixed, FreesReplacedMemory) {
  // Four usable pages (offset 0 is never handed out): replacing the
  // mapping only fits if the old pages went back to the memory file first.
  Reset(5 * kPage);
  MapAnonAt(kFixed, 4 * kPage);
  EXPECT_TRUE(MapAnon(4 * kPage, PROT_READ | PROT_WRITE, MAP_FIXED, kFixed).has_value());
  EXPECT_EQ(ErrnoOf(MapAnon(kPage)), ENOMEM);
}

TEST_F(Munmap, FreesMemory) {
  Reset(5 * kPage);
  uint64_t a = MapAnon(4 * kPage).value();
  ASSERT_TRUE(mm_->MUnmap(a, 4 * kPage).has_value());
  EXPECT_TRUE(MapAnon(4 * kPage).has_value());
}

TEST_F(MapFixedNoreplace, OnMappedRangeIsEexist) {
  MapAnonAt(kFixed + kPage, kPage);
  EXPECT_EQ(ErrnoOf(MapAnon(3 * kPage, PROT_READ, MAP_FIXED_NOREPLACE, kFixed)), EEXIST);
  // The existing mapping is untouched.
  EXPECT_TRUE(Readable(kFixed + kPage));
  EXPECT_FALSE(Readable(kFixed));
}

TEST_F(MapFixedNoreplace, OnFreeRangeMapsThere) {
  EXPECT_EQ(MapAnon(kPage, PROT_READ, MAP_FIXED_NOREPLACE, kFixed).value(), kFixed);
}

TEST_F(MapFixed, OverReservedRangeFails) {
  EXPECT_EQ(ErrnoOf(MapAnon(kPage, PROT_READ, MAP_FIXED, kReserved[1].start)), ENOMEM);
  EXPECT_EQ(ErrnoOf(MapAnon(2 * kPage, PROT_READ, MAP_FIXED, kReserved[1].start - kPage)), ENOMEM);
}

TEST_F(MapFixed, BeyondTaskSizeIsEnomem) {
  EXPECT_EQ(ErrnoOf(MapAnon(2 * kPage, PROT_READ, MAP_FIXED, kTaskSize - kPage)), ENOMEM);
}

// ---- munmap -------------------------------------------------------------------

TEST_F(Munmap, MiddleSplitsVmaInThree) {
  MapAnonAt(kFixed, 3 * kPage);
  auto data = Pattern(3 * kPage);
  MustWrite(kFixed, data);
  const uint64_t third_offset = as_->PageAt(kFixed + 2 * kPage)->offset;
  as_->ClearCalls();

  ASSERT_TRUE(mm_->MUnmap(kFixed + kPage, kPage).has_value());

  EXPECT_EQ(as_->calls(), (std::vector<Call>{{Call::Kind::kUnmap, kFixed + kPage, kPage, 0, 0}}));
  EXPECT_EQ(MapsLines().size(), 2u);
  EXPECT_FALSE(Readable(kFixed + kPage));
  EXPECT_EQ(MustRead(kFixed, kPage), std::vector<uint8_t>(data.begin(), data.begin() + kPage));
  EXPECT_EQ(MustRead(kFixed + 2 * kPage, kPage),
            std::vector<uint8_t>(data.begin() + 2 * kPage, data.end()));
  // The right piece is still backed by the same memory-file page.
  EXPECT_EQ(as_->PageAt(kFixed + 2 * kPage)->offset, third_offset);
  EXPECT_FALSE(as_->Mapped(kFixed + kPage));
}

TEST_F(Munmap, OfHoleSucceeds) {
  EXPECT_TRUE(mm_->MUnmap(kFixed, kPage).has_value());
}

TEST_F(Munmap, RoundsLengthUp) {
  MapAnonAt(kFixed, 2 * kPage);
  ASSERT_TRUE(mm_->MUnmap(kFixed, 1).has_value());
  EXPECT_FALSE(Readable(kFixed));
  EXPECT_TRUE(Readable(kFixed + kPage));
}

TEST_F(Munmap, UnalignedOrEmptyIsEinval) {
  EXPECT_EQ(ErrnoOf(mm_->MUnmap(kFixed + 1, kPage)), EINVAL);
  EXPECT_EQ(ErrnoOf(mm_->MUnmap(kFixed, 0)), EINVAL);
}

TEST_F(Munmap, AcrossSeveralVmas) {
  MapAnonAt(kFixed, kPage);
  MapAnonAt(kFixed + 2 * kPage, kPage);
  MapAnonAt(kFixed + 4 * kPage, 2 * kPage);
  ASSERT_TRUE(mm_->MUnmap(kFixed, 5 * kPage).has_value());
  ASSERT_EQ(MapsLines().size(), 1u);
  EXPECT_TRUE(Readable(kFixed + 5 * kPage));
  EXPECT_EQ(as_->MappedPages(), 1u);
}

// ---- mprotect -------------------------------------------------------------------

TEST_F(Mprotect, MiddleSplitsAndRecordsProt) {
  MapAnonAt(kFixed, 3 * kPage);
  as_->ClearCalls();
  ASSERT_TRUE(mm_->MProtect(kFixed + kPage, kPage, PROT_READ).has_value());

  EXPECT_EQ(as_->calls(),
            (std::vector<Call>{{Call::Kind::kProtect, kFixed + kPage, kPage, PROT_READ, 0}}));
  EXPECT_EQ(as_->PageAt(kFixed)->prot, PROT_READ | PROT_WRITE);
  EXPECT_EQ(as_->PageAt(kFixed + kPage)->prot, PROT_READ);
  EXPECT_EQ(as_->PageAt(kFixed + 2 * kPage)->prot, PROT_READ | PROT_WRITE);
  auto lines = MapsLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[0].starts_with("300000000000-300000001000 rw-p ")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with("300000001000-300000002000 r--p ")) << lines[1];
  EXPECT_TRUE(lines[2].starts_with("300000002000-300000003000 rw-p ")) << lines[2];
  // The middle page reads but no longer writes.
  EXPECT_TRUE(Readable(kFixed + kPage));
  EXPECT_EQ(ErrnoOf(Write(kFixed + kPage, {1})), EFAULT);
  EXPECT_TRUE(Write(kFixed + 2 * kPage, {1}).has_value());
}

TEST_F(Mprotect, TellsStubOnlyAboutPopulatedPages) {
  // Two pages of file under a four-page mapping: a fault populates at most
  // the first two (the last two are wholly past the end of the file).
  auto file = std::make_shared<BytesFile>(Pattern(2 * kPage));
  ASSERT_EQ(MapFile(file, kFixed, 4 * kPage, PROT_READ, 0).value(), kFixed);
  ASSERT_TRUE(mm_->HandleFault(kFixed));
  ASSERT_TRUE(as_->Mapped(kFixed + kPage));
  ASSERT_FALSE(as_->Mapped(kFixed + 2 * kPage));
  as_->ClearCalls();

  ASSERT_TRUE(mm_->MProtect(kFixed + kPage, 3 * kPage, PROT_NONE).has_value());

  EXPECT_EQ(as_->calls(),
            (std::vector<Call>{{Call::Kind::kProtect, kFixed + kPage, kPage, PROT_NONE, 0}}));
  EXPECT_EQ(as_->PageAt(kFixed)->prot, PROT_READ);
  EXPECT_EQ(as_->PageAt(kFixed + kPage)->prot, PROT_NONE);
  EXPECT_EQ(MapsLines().size(), 2u);
}

TEST_F(Mprotect, OfUnpopulatedMappingTellsStubNothing) {
  auto file = std::make_shared<BytesFile>(Pattern(2 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 2 * kPage, PROT_READ, 0).has_value());
  ASSERT_TRUE(mm_->MProtect(kFixed, 2 * kPage, PROT_READ | PROT_WRITE).has_value());
  EXPECT_TRUE(as_->calls().empty());
  // The next fault maps with the new protection.
  ASSERT_TRUE(mm_->HandleFault(kFixed));
  EXPECT_EQ(as_->PageAt(kFixed)->prot, PROT_READ | PROT_WRITE);
}

TEST_F(Mprotect, OverHoleIsEnomem) {
  MapAnonAt(kFixed, kPage);
  MapAnonAt(kFixed + 2 * kPage, kPage);
  EXPECT_EQ(ErrnoOf(mm_->MProtect(kFixed, 3 * kPage, PROT_READ)), ENOMEM);
  EXPECT_EQ(ErrnoOf(mm_->MProtect(kFixed + 3 * kPage, kPage, PROT_READ)), ENOMEM);
}

TEST_F(Mprotect, UnalignedOrUnknownBitsIsEinval) {
  MapAnonAt(kFixed, kPage);
  EXPECT_EQ(ErrnoOf(mm_->MProtect(kFixed + 1, kPage, PROT_READ)), EINVAL);
  EXPECT_EQ(ErrnoOf(mm_->MProtect(kFixed, kPage, 0x100)), EINVAL);
}

TEST_F(Mprotect, WriteOnSharedReadOnlyFileIsEacces) {
  auto file = std::make_shared<BytesFile>(Pattern(kPage), O_RDONLY);
  ASSERT_TRUE(MapFile(file, kFixed, kPage, PROT_READ, 0, MAP_SHARED | MAP_FIXED).has_value());
  EXPECT_EQ(ErrnoOf(mm_->MProtect(kFixed, kPage, PROT_READ | PROT_WRITE)), EACCES);
  // A private mapping of the same file may become writable.
  ASSERT_TRUE(MapFile(file, kFixed + kPage, kPage, PROT_READ, 0).has_value());
  EXPECT_TRUE(mm_->MProtect(kFixed + kPage, kPage, PROT_READ | PROT_WRITE).has_value());
}

// Linux merges a VMA with its neighbours when their flags become equal
// again (vma_merge in mm/mprotect.c), so maps shows one line, and mremap
// of the whole range still sees one VMA.
TEST_F(Mprotect, BackToSameProtMergesVmas) {
  MapAnonAt(kFixed, 3 * kPage);
  ASSERT_TRUE(mm_->MProtect(kFixed + kPage, kPage, PROT_READ).has_value());
  ASSERT_TRUE(mm_->MProtect(kFixed + kPage, kPage, PROT_READ | PROT_WRITE).has_value());
  EXPECT_EQ(MapsLines().size(), 1u) << mm_->Maps();
}

// ---- mremap ----------------------------------------------------------------------

TEST_F(Mremap, GrowsInPlaceWhenFollowingPagesAreFree) {
  MapAnonAt(kFixed, 2 * kPage);
  auto data = Pattern(2 * kPage);
  MustWrite(kFixed, data);
  EXPECT_EQ(mm_->MRemap(kFixed, 2 * kPage, 4 * kPage, 0, 0).value(), kFixed);
  EXPECT_EQ(MustRead(kFixed, 2 * kPage), data);
  EXPECT_EQ(MustRead(kFixed + 2 * kPage, 2 * kPage), std::vector<uint8_t>(2 * kPage, 0));
  MustWrite(kFixed + 3 * kPage, {7});
  EXPECT_TRUE(as_->Mapped(kFixed + 3 * kPage));
  EXPECT_EQ(MapsLines().size(), 1u);
}

TEST_F(Mremap, GrowWithoutMaymoveWhenBlockedIsEnomem) {
  MapAnonAt(kFixed, 2 * kPage);
  MapAnonAt(kFixed + 2 * kPage, kPage);
  EXPECT_EQ(ErrnoOf(mm_->MRemap(kFixed, 2 * kPage, 4 * kPage, 0, 0)), ENOMEM);
}

TEST_F(Mremap, DoesNotGrowIntoReservedRange) {
  const uint64_t at = kReserved[1].start - 2 * kPage;
  MapAnonAt(at, 2 * kPage);
  EXPECT_EQ(ErrnoOf(mm_->MRemap(at, 2 * kPage, 4 * kPage, 0, 0)), ENOMEM);
  auto moved = mm_->MRemap(at, 2 * kPage, 4 * kPage, MREMAP_MAYMOVE, 0);
  ASSERT_TRUE(moved.has_value());
  EXPECT_NE(*moved, at);
}

TEST_F(Mremap, MovesKeepingContentsAndMemoryFilePages) {
  MapAnonAt(kFixed, 2 * kPage);
  MapAnonAt(kFixed + 2 * kPage, kPage);  // blocks growing in place
  auto data = Pattern(2 * kPage);
  MustWrite(kFixed, data);
  const uint64_t off0 = as_->PageAt(kFixed)->offset;
  const uint64_t off1 = as_->PageAt(kFixed + kPage)->offset;

  auto moved = mm_->MRemap(kFixed, 2 * kPage, 4 * kPage, MREMAP_MAYMOVE, 0);
  ASSERT_TRUE(moved.has_value());
  const uint64_t to = *moved;
  EXPECT_NE(to, kFixed);

  EXPECT_EQ(MustRead(to, 2 * kPage), data);
  EXPECT_EQ(MustRead(to + 2 * kPage, 2 * kPage), std::vector<uint8_t>(2 * kPage, 0));
  EXPECT_EQ(as_->PageAt(to)->offset, off0);
  EXPECT_EQ(as_->PageAt(to + kPage)->offset, off1);
  // The old range is gone, in the VMAs and in the stub.
  EXPECT_FALSE(Readable(kFixed));
  EXPECT_FALSE(as_->Mapped(kFixed));
  EXPECT_FALSE(as_->Mapped(kFixed + kPage));
  EXPECT_TRUE(Readable(kFixed + 2 * kPage));
}

TEST_F(Mremap, FixedMovesToNewAddressReplacingWhatWasThere) {
  MapAnonAt(kFixed, kPage);
  MustWrite(kFixed, {1, 2, 3});
  const uint64_t target = kFixed + 16 * kPage;
  MapAnonAt(target, 2 * kPage);
  MustWrite(target + kPage, {9});
  EXPECT_EQ(mm_->MRemap(kFixed, kPage, 2 * kPage, MREMAP_MAYMOVE | MREMAP_FIXED, target).value(),
            target);
  EXPECT_EQ(MustRead(target, 3), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(MustRead(target + kPage, 1), (std::vector<uint8_t>{0}));
  EXPECT_FALSE(Readable(kFixed));
}

TEST_F(Mremap, FixedOverlappingOldRangeIsEinval) {
  MapAnonAt(kFixed, 2 * kPage);
  EXPECT_EQ(ErrnoOf(mm_->MRemap(kFixed, 2 * kPage, 2 * kPage, MREMAP_MAYMOVE | MREMAP_FIXED,
                                kFixed + kPage)),
            EINVAL);
}

TEST_F(Mremap, ShrinksInPlace) {
  MapAnonAt(kFixed, 4 * kPage);
  as_->ClearCalls();
  EXPECT_EQ(mm_->MRemap(kFixed, 4 * kPage, 2 * kPage, 0, 0).value(), kFixed);
  EXPECT_TRUE(Readable(kFixed + kPage));
  EXPECT_FALSE(Readable(kFixed + 2 * kPage));
  EXPECT_EQ(as_->calls(), (std::vector<Call>{{Call::Kind::kUnmap, kFixed + 2 * kPage, 2 * kPage, 0, 0}}));
}

TEST_F(Mremap, DontunmapMovesAndLeavesZeroedOldRange) {
  MapAnonAt(kFixed, 2 * kPage);
  auto data = Pattern(2 * kPage);
  MustWrite(kFixed, data);
  const uint64_t off0 = as_->PageAt(kFixed)->offset;

  auto moved = mm_->MRemap(kFixed, 2 * kPage, 2 * kPage, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
  ASSERT_TRUE(moved.has_value());
  EXPECT_NE(*moved, kFixed);
  EXPECT_EQ(MustRead(*moved, 2 * kPage), data);
  EXPECT_EQ(as_->PageAt(*moved)->offset, off0);
  // The old range stays mapped and reads as fresh zeros.
  EXPECT_EQ(MustRead(kFixed, 2 * kPage), std::vector<uint8_t>(2 * kPage, 0));
  EXPECT_TRUE(as_->Mapped(kFixed));
  EXPECT_NE(as_->PageAt(kFixed)->offset, off0);
}

TEST_F(Mremap, DontunmapNeedsMaymoveAndSameSize) {
  MapAnonAt(kFixed, 2 * kPage);
  EXPECT_EQ(ErrnoOf(mm_->MRemap(kFixed, 2 * kPage, 4 * kPage, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0)),
            EINVAL);
  EXPECT_EQ(ErrnoOf(mm_->MRemap(kFixed, 2 * kPage, 2 * kPage, MREMAP_DONTUNMAP, 0)), EINVAL);
}

TEST_F(Mremap, OfHoleIsEfault) {
  EXPECT_EQ(ErrnoOf(mm_->MRemap(kFixed, kPage, 2 * kPage, MREMAP_MAYMOVE, 0)), EFAULT);
}

TEST_F(Mremap, AcrossTwoVmasIsEfault) {
  MapAnonAt(kFixed, kPage);
  MapAnonAt(kFixed + kPage, kPage, PROT_READ);
  EXPECT_EQ(ErrnoOf(mm_->MRemap(kFixed, 2 * kPage, 4 * kPage, MREMAP_MAYMOVE, 0)), EFAULT);
}

TEST_F(Mremap, OfFileMappingKeepsFileOffset) {
  auto file = std::make_shared<BytesFile>(Pattern(8 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 2 * kPage, PROT_READ, 2 * kPage).has_value());
  MapAnonAt(kFixed + 2 * kPage, kPage);
  auto moved = mm_->MRemap(kFixed, 2 * kPage, 4 * kPage, MREMAP_MAYMOVE, 0);
  ASSERT_TRUE(moved.has_value());
  // Grown file pages come from the file at the right offset.
  EXPECT_EQ(MustRead(*moved, 4 * kPage),
            std::vector<uint8_t>(file->data().begin() + 2 * kPage, file->data().begin() + 6 * kPage));
}

// ---- Shared anonymous memory ----------------------------------------------------

uint64_t MapSharedAt(MemoryManager& mm, uint64_t addr, uint64_t len) {
  MapRequest req;
  req.addr = addr;
  req.len = len;
  req.prot = PROT_READ | PROT_WRITE;
  req.flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
  auto r = mm.MMap(req);
  EXPECT_TRUE(r.has_value());
  return r.value_or(0);
}

TEST_F(SharedAnonymous, MremapOldSizeZeroDuplicatesMapping) {
  MapSharedAt(*mm_, kFixed, kPage);
  auto dup = mm_->MRemap(kFixed, 0, kPage, MREMAP_MAYMOVE, 0);
  ASSERT_TRUE(dup.has_value());
  EXPECT_NE(*dup, kFixed);
  MustWrite(kFixed, {1, 2, 3});
  EXPECT_EQ(MustRead(*dup, 3), (std::vector<uint8_t>{1, 2, 3}));
  MustWrite(*dup + 1, {9});
  EXPECT_EQ(MustRead(kFixed, 3), (std::vector<uint8_t>{1, 9, 3}));
}

TEST_F(Mremap, OldSizeZeroOfPrivateMappingIsEinval) {
  MapAnonAt(kFixed, kPage);
  EXPECT_EQ(ErrnoOf(mm_->MRemap(kFixed, 0, kPage, MREMAP_MAYMOVE, 0)), EINVAL);
}

// Moving a shared mapping moves views of the shared object's pages; they
// still belong to the object, so unmapping the moved mapping must not free
// them (another mapping of the object still shows them).
TEST_F(SharedAnonymous, MunmapAfterMremapMoveKeepsSharedPages) {
  MapSharedAt(*mm_, kFixed, kPage);
  MustWrite(kFixed, {'a', 'b', 'c'});
  const uint64_t dup = mm_->MRemap(kFixed, 0, kPage, MREMAP_MAYMOVE, 0).value();
  MapAnonAt(kFixed + kPage, kPage);  // blocks growing in place
  auto moved = mm_->MRemap(kFixed, kPage, 2 * kPage, MREMAP_MAYMOVE, 0);
  ASSERT_TRUE(moved.has_value());
  ASSERT_TRUE(mm_->MUnmap(*moved, 2 * kPage).has_value());
  EXPECT_EQ(MustRead(dup, 3), (std::vector<uint8_t>{'a', 'b', 'c'}));
}

// Growing a shared mapping extends its view of the shared object (the
// VMA's pgoff runs on), as in Linux: the new pages are the object's pages,
// not fresh private memory.
TEST_F(SharedAnonymous, MremapGrowMapsSharedObject) {
  MapSharedAt(*mm_, kFixed, 2 * kPage);
  const uint64_t dup = mm_->MRemap(kFixed, 0, 2 * kPage, MREMAP_MAYMOVE, 0).value();
  ASSERT_EQ(mm_->MRemap(kFixed, 2 * kPage, kPage, 0, 0).value(), kFixed);
  ASSERT_EQ(mm_->MRemap(kFixed, kPage, 2 * kPage, 0, 0).value(), kFixed);
  MustWrite(dup + kPage, {'z'});
  EXPECT_EQ(MustRead(kFixed + kPage, 1), (std::vector<uint8_t>{'z'}));
}

// ---- brk -----------------------------------------------------------------------

constexpr uint64_t kBrkBase = 0x555555560000;

TEST_F(Brk, ZeroReturnsCurrentBreak) {
  mm_->SetBrkBase(kBrkBase);
  EXPECT_EQ(mm_->Brk(0), kBrkBase);
}

TEST_F(Brk, GrowsHeapVma) {
  mm_->SetBrkBase(kBrkBase);
  EXPECT_EQ(mm_->Brk(kBrkBase + 0x1800), kBrkBase + 0x1800);
  MustWrite(kBrkBase + 0x1fff, {1});
  EXPECT_FALSE(Readable(kBrkBase + 0x2000));
  EXPECT_EQ(mm_->Brk(kBrkBase + 0x3000), kBrkBase + 0x3000);
  EXPECT_EQ(MustRead(kBrkBase + 0x1fff, 1), (std::vector<uint8_t>{1}));
  auto lines = MapsLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].starts_with("555555560000-555555563000 rw-p ")) << lines[0];
  EXPECT_TRUE(lines[0].ends_with(" [heap]")) << lines[0];
}

TEST_F(Brk, ShrinkUnmapsAndRegrowReadsZeros) {
  mm_->SetBrkBase(kBrkBase);
  ASSERT_EQ(mm_->Brk(kBrkBase + 3 * kPage), kBrkBase + 3 * kPage);
  MustWrite(kBrkBase + kPage, {5});
  EXPECT_EQ(mm_->Brk(kBrkBase + kPage), kBrkBase + kPage);
  EXPECT_FALSE(Readable(kBrkBase + kPage));
  EXPECT_FALSE(as_->Mapped(kBrkBase + kPage));
  EXPECT_TRUE(Readable(kBrkBase));
  EXPECT_EQ(mm_->Brk(kBrkBase + 2 * kPage), kBrkBase + 2 * kPage);
  EXPECT_EQ(MustRead(kBrkBase + kPage, 1), (std::vector<uint8_t>{0}));
  EXPECT_EQ(MapsLines().size(), 1u);
}

TEST_F(Brk, BelowStartIsIgnored) {
  mm_->SetBrkBase(kBrkBase);
  ASSERT_EQ(mm_->Brk(kBrkBase + kPage), kBrkBase + kPage);
  EXPECT_EQ(mm_->Brk(kBrkBase - kPage), kBrkBase + kPage);
  EXPECT_TRUE(Readable(kBrkBase));
}

TEST_F(Brk, IntoMappingFailsLeavingBreak) {
  mm_->SetBrkBase(kBrkBase);
  MapAnonAt(kBrkBase + 2 * kPage, kPage);
  EXPECT_EQ(mm_->Brk(kBrkBase + 4 * kPage), kBrkBase);
  EXPECT_FALSE(Readable(kBrkBase));
}

TEST_F(Brk, IntoReservedRangeFails) {
  const uint64_t base = kReserved[1].start - kPage;
  mm_->SetBrkBase(base);
  EXPECT_EQ(mm_->Brk(base + 2 * kPage), base);
}

// ---- madvise -------------------------------------------------------------------

TEST_F(Madvise, DontneedZeroesPrivateAnonymousMemory) {
  MapAnonAt(kFixed, 3 * kPage);
  auto data = Pattern(3 * kPage);
  MustWrite(kFixed, data);
  ASSERT_TRUE(mm_->MAdvise(kFixed + kPage, kPage, MADV_DONTNEED).has_value());
  EXPECT_EQ(MustRead(kFixed + kPage, kPage), std::vector<uint8_t>(kPage, 0));
  EXPECT_EQ(MustRead(kFixed, kPage), std::vector<uint8_t>(data.begin(), data.begin() + kPage));
  EXPECT_EQ(MustRead(kFixed + 2 * kPage, kPage),
            std::vector<uint8_t>(data.begin() + 2 * kPage, data.end()));
}

TEST_F(SharedAnonymous, MadviseDontneedKeepsContents) {
  MapRequest req;
  req.len = kPage;
  req.prot = PROT_READ | PROT_WRITE;
  req.flags = MAP_SHARED | MAP_ANONYMOUS;
  uint64_t a = mm_->MMap(req).value();
  MustWrite(a, {1, 2, 3});
  ASSERT_TRUE(mm_->MAdvise(a, kPage, MADV_DONTNEED).has_value());
  EXPECT_EQ(MustRead(a, 3), (std::vector<uint8_t>{1, 2, 3}));
}

TEST_F(Madvise, DontneedRestoresPrivateFilePages) {
  auto file = std::make_shared<BytesFile>(Pattern(2 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 2 * kPage, PROT_READ | PROT_WRITE, 0).has_value());
  MustWrite(kFixed, std::vector<uint8_t>(16, 0xee));
  ASSERT_NE(MustRead(kFixed, 16), std::vector<uint8_t>(file->data().begin(), file->data().begin() + 16));
  ASSERT_TRUE(mm_->MAdvise(kFixed, 2 * kPage, MADV_DONTNEED).has_value());
  EXPECT_FALSE(as_->Mapped(kFixed));
  EXPECT_EQ(MustRead(kFixed, 2 * kPage), file->data());
}

TEST_F(Madvise, OverHoleIsEnomemButAdvisesMappedPart) {
  MapAnonAt(kFixed, kPage);
  MustWrite(kFixed, {4});
  EXPECT_EQ(ErrnoOf(mm_->MAdvise(kFixed, 2 * kPage, MADV_DONTNEED)), ENOMEM);
  EXPECT_EQ(MustRead(kFixed, 1), (std::vector<uint8_t>{0}));
}

TEST_F(Madvise, UnknownAdviceOrUnalignedIsEinval) {
  MapAnonAt(kFixed, kPage);
  EXPECT_EQ(ErrnoOf(mm_->MAdvise(kFixed, kPage, 12345)), EINVAL);
  EXPECT_EQ(ErrnoOf(mm_->MAdvise(kFixed + 1, kPage, MADV_DONTNEED)), EINVAL);
}

// madvise(2) changes no VMA: Linux's MADV_DONTNEED only zaps page tables,
// so /proc/self/maps keeps one line for the mapping.
TEST_F(Madvise, DontneedDoesNotSplitVma) {
  MapAnonAt(kFixed, 3 * kPage);
  ASSERT_TRUE(mm_->MAdvise(kFixed + kPage, kPage, MADV_DONTNEED).has_value());
  EXPECT_EQ(MapsLines().size(), 1u) << mm_->Maps();
}

// ...and so mremap(2) of the whole mapping (one VMA in Linux) still works,
// as glibc's realloc of a large block does after free() trimmed part of it.
TEST_F(Madvise, MremapOfWholeMappingWorksAfterPartialDontneed) {
  MapAnonAt(kFixed, 3 * kPage);
  ASSERT_TRUE(mm_->MAdvise(kFixed + kPage, kPage, MADV_DONTNEED).has_value());
  auto r = mm_->MRemap(kFixed, 3 * kPage, 6 * kPage, MREMAP_MAYMOVE, 0);
  EXPECT_TRUE(r.has_value()) << "errno " << ErrnoOf(r);
}

}  // namespace
}  // namespace husk::mm::testing
