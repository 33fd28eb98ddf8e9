// MemoryManager's access to application memory: faults and lazy file
// population, CopyIn/CopyOut (EFAULT, never a crash), CopyInString,
// OutBuffer/InBuffer, and the /proc/self/maps text (proc(5)).
#include <sys/mman.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/mm/mm_test_util.h"

namespace husk::mm::testing {
namespace {

using Call = FakeAddressSpace::Call;

constexpr uint64_t kFixed = 0x300000000000;  // 128 KiB aligned

std::vector<uint8_t> Slice(const std::vector<uint8_t>& v, size_t from, size_t len) {
  return std::vector<uint8_t>(v.begin() + from, v.begin() + from + len);
}

// ---- Faults and file mappings ---------------------------------------------------

TEST_F(FileMapping, IsNotPopulatedByMmap) {
  auto file = std::make_shared<BytesFile>(Pattern(2 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 2 * kPage, PROT_READ, 0).has_value());
  EXPECT_TRUE(as_->calls().empty());
  EXPECT_EQ(file->preads(), 0);
}

TEST_F(Fault, PopulatesFileMappingFromFile) {
  // Two and a half pages of file under a four-page mapping.
  auto file = std::make_shared<BytesFile>(Pattern(2 * kPage + kPage / 2));
  ASSERT_TRUE(MapFile(file, kFixed, 4 * kPage, PROT_READ, 0).has_value());

  EXPECT_TRUE(mm_->HandleFault(kFixed + 10));

  // Every page that holds file bytes is mapped read-only; the page wholly
  // past the end of the file is not.
  auto maps = as_->CallsOf(Call::Kind::kMap);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].addr, kFixed);
  EXPECT_EQ(maps[0].len, 3 * kPage);
  EXPECT_EQ(maps[0].prot, PROT_READ);
  EXPECT_FALSE(as_->Mapped(kFixed + 3 * kPage));
  // The file's bytes, then zeros to the end of the last page.
  EXPECT_EQ(MustRead(kFixed, file->data().size()), file->data());
  EXPECT_EQ(MustRead(kFixed + file->data().size(), kPage / 2), std::vector<uint8_t>(kPage / 2, 0));
}

TEST_F(Fault, OnPageWhollyBeyondEofIsNotResolved) {
  auto file = std::make_shared<BytesFile>(Pattern(kPage + 1));
  ASSERT_TRUE(MapFile(file, kFixed, 4 * kPage, PROT_READ, 0).has_value());
  EXPECT_FALSE(mm_->HandleFault(kFixed + 2 * kPage));
  EXPECT_FALSE(mm_->HandleFault(kFixed + 3 * kPage + 5));
  EXPECT_FALSE(as_->Mapped(kFixed + 2 * kPage));
  EXPECT_EQ(ErrnoOf(Read(kFixed + 2 * kPage, 1)), EFAULT);
  // The last, partial page is fine.
  EXPECT_TRUE(mm_->HandleFault(kFixed + kPage + 100));
}

TEST_F(Fault, HonoursFileOffset) {
  auto file = std::make_shared<BytesFile>(Pattern(4 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 2 * kPage, PROT_READ, 2 * kPage).has_value());
  ASSERT_TRUE(mm_->HandleFault(kFixed + kPage));
  EXPECT_EQ(MustRead(kFixed, 2 * kPage), Slice(file->data(), 2 * kPage, 2 * kPage));
}

TEST_F(Fault, OnPopulatedPageIsARealFault) {
  MapAnonAt(kFixed, kPage, PROT_READ);
  // Retried once (another thread may have populated the page while this
  // one waited), then real: e.g. a write to a read-only page.
  EXPECT_TRUE(mm_->HandleFault(kFixed));
  EXPECT_FALSE(mm_->HandleFault(kFixed));
  // And the next one at that page is retried once again.
  EXPECT_TRUE(mm_->HandleFault(kFixed + 8));
  EXPECT_FALSE(mm_->HandleFault(kFixed + 8));
}

TEST_F(Fault, OnHoleIsNotResolved) {
  MapAnonAt(kFixed, kPage);
  EXPECT_FALSE(mm_->HandleFault(kFixed + kPage));
  EXPECT_FALSE(mm_->HandleFault(0x1000));
}

TEST_F(Fault, OnProtNoneFileMappingIsNotResolved) {
  auto file = std::make_shared<BytesFile>(Pattern(kPage));
  ASSERT_TRUE(MapFile(file, kFixed, kPage, PROT_NONE, 0).has_value());
  EXPECT_FALSE(mm_->HandleFault(kFixed));
  EXPECT_FALSE(as_->Mapped(kFixed));
}

TEST_F(FileMapping, CopyInPopulatesIt) {
  auto file = std::make_shared<BytesFile>(Pattern(kPage));
  ASSERT_TRUE(MapFile(file, kFixed, kPage, PROT_READ, 0).has_value());
  EXPECT_EQ(MustRead(kFixed + 100, 50), Slice(file->data(), 100, 50));
  EXPECT_TRUE(as_->Mapped(kFixed));
}

TEST_F(FileMapping, MunmapMiddleKeepsFileOffsets) {
  auto file = std::make_shared<BytesFile>(Pattern(3 * kPage));
  ASSERT_TRUE(MapFile(file, kFixed, 3 * kPage, PROT_READ, 0).has_value());
  ASSERT_TRUE(mm_->MUnmap(kFixed + kPage, kPage).has_value());
  auto lines = MapsLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find(" r--p 00002000 "), std::string::npos) << lines[1];
  EXPECT_EQ(MustRead(kFixed + 2 * kPage, kPage), Slice(file->data(), 2 * kPage, kPage));
}

TEST_F(FileMapping, PrivateWritesDoNotReachFile) {
  auto file = std::make_shared<BytesFile>(Pattern(kPage));
  ASSERT_TRUE(MapFile(file, kFixed, kPage, PROT_READ | PROT_WRITE, 0).has_value());
  MustWrite(kFixed, {0xaa, 0xbb});
  EXPECT_EQ(MustRead(kFixed, 2), (std::vector<uint8_t>{0xaa, 0xbb}));
  EXPECT_EQ(file->data(), Pattern(kPage));
}

// ---- CopyIn / CopyOut ----------------------------------------------------------

TEST_F(Copy, AcrossVmaBoundary) {
  // Different protections, so Linux-style merging keeps two VMAs.
  MapAnonAt(kFixed, kPage);
  MapAnonAt(kFixed + kPage, kPage, PROT_READ | PROT_WRITE | PROT_EXEC);
  ASSERT_EQ(MapsLines().size(), 2u);
  auto data = Pattern(kPage, 3);
  MustWrite(kFixed + kPage / 2, data);
  EXPECT_EQ(MustRead(kFixed + kPage / 2, kPage), data);
  EXPECT_EQ(MustRead(kFixed + kPage, 10), Slice(data, kPage / 2, 10));
}

TEST_F(Copy, InAcrossAnonymousAndFileVmas) {
  auto file = std::make_shared<BytesFile>(Pattern(kPage, 9));
  MapAnonAt(kFixed, kPage);
  ASSERT_TRUE(MapFile(file, kFixed + kPage, kPage, PROT_READ, 0).has_value());
  MustWrite(kFixed + kPage - 4, {1, 2, 3, 4});
  auto got = MustRead(kFixed + kPage - 4, 8);
  std::vector<uint8_t> want = {1, 2, 3, 4};
  want.insert(want.end(), file->data().begin(), file->data().begin() + 4);
  EXPECT_EQ(got, want);
}

TEST_F(Copy, RunningIntoHoleIsEfault) {
  MapAnonAt(kFixed, kPage);
  EXPECT_EQ(ErrnoOf(Read(kFixed + kPage - 4, 8)), EFAULT);
  EXPECT_EQ(ErrnoOf(Write(kFixed + kPage - 4, std::vector<uint8_t>(8, 1))), EFAULT);
  EXPECT_EQ(ErrnoOf(Read(kFixed + kPage, 1)), EFAULT);
}

TEST_F(Copy, InPartialReturnsAccessiblePrefix) {
  MapAnonAt(kFixed, kPage);
  std::vector<uint8_t> buf(8);
  EXPECT_EQ(mm_->CopyInPartial(kFixed + kPage - 3, std::span<uint8_t>(buf)), 3u);
  EXPECT_EQ(mm_->CopyInPartial(kFixed + kPage, std::span<uint8_t>(buf)), 0u);
}

TEST_F(Copy, ProtNoneIsEfault) {
  MapAnonAt(kFixed, kPage, PROT_NONE);
  EXPECT_EQ(ErrnoOf(Read(kFixed, 1)), EFAULT);
  EXPECT_EQ(ErrnoOf(Write(kFixed, {1})), EFAULT);
}

TEST_F(Copy, OutToReadOnlyIsEfault) {
  MapAnonAt(kFixed, kPage, PROT_READ);
  EXPECT_EQ(ErrnoOf(Write(kFixed, {1})), EFAULT);
  EXPECT_EQ(MustRead(kFixed, 1), (std::vector<uint8_t>{0}));
}

// On x86 a writable page is readable too.
TEST_F(Copy, WriteOnlyMappingIsReadable) {
  MapAnonAt(kFixed, kPage, PROT_WRITE);
  MustWrite(kFixed, {6});
  EXPECT_EQ(MustRead(kFixed, 1), (std::vector<uint8_t>{6}));
}

TEST_F(Copy, BeyondTaskSizeIsEfault) {
  EXPECT_EQ(ErrnoOf(Read(kTaskSize, 1)), EFAULT);
  EXPECT_EQ(ErrnoOf(Read(UINT64_MAX - 1, 4)), EFAULT);
}

TEST_F(Copy, ForceIgnoresProtection) {
  MapAnonAt(kFixed, kPage, PROT_NONE);
  std::vector<uint8_t> bytes = {1, 2, 3};
  EXPECT_TRUE(mm_->CopyOutForce(kFixed, std::span<const uint8_t>(bytes)).has_value());
  ASSERT_TRUE(mm_->MProtect(kFixed, kPage, PROT_READ).has_value());
  EXPECT_EQ(MustRead(kFixed, 3), bytes);
  EXPECT_TRUE(mm_->ZeroForce(kFixed, 2).has_value());
  EXPECT_EQ(MustRead(kFixed, 3), (std::vector<uint8_t>{0, 0, 3}));
  EXPECT_EQ(ErrnoOf(mm_->ZeroForce(kFixed + kPage - 1, 2)), EFAULT);
}

TEST_F(Copy, TypedUserPtrRoundTrips) {
  MapAnonAt(kFixed, kPage);
  UserPtr<uint64_t> p{kFixed + 8};
  ASSERT_TRUE(mm_->CopyOut(p, uint64_t{0x1122334455667788}).has_value());
  EXPECT_EQ(mm_->CopyIn(p).value(), 0x1122334455667788u);
  EXPECT_EQ(ErrnoOf(mm_->CopyIn(UserPtr<uint64_t>{kFixed + kPage - 4})), EFAULT);
}

// ---- CopyInString ----------------------------------------------------------------

TEST_F(CopyInString, ReadsToNul) {
  MapAnonAt(kFixed, kPage);
  std::string s = "hello";
  MustWrite(kFixed, std::vector<uint8_t>(s.begin(), s.end() + 1));
  EXPECT_EQ(mm_->CopyInString(kFixed, 4096).value(), "hello");
}

TEST_F(CopyInString, MaxCountsTheNul) {
  MapAnonAt(kFixed, kPage);
  MustWrite(kFixed, {'a', 'b', 'c', 'd', 0});
  EXPECT_EQ(mm_->CopyInString(kFixed, 5).value(), "abcd");
  EXPECT_EQ(ErrnoOf(mm_->CopyInString(kFixed, 4)), ENAMETOOLONG);
}

TEST_F(CopyInString, CrossesPagesAndVmas) {
  MapAnonAt(kFixed, kPage);
  MapAnonAt(kFixed + kPage, kPage, PROT_READ);
  MustWrite(kFixed + kPage - 3, {'a', 'b', 'c'});
  // The second VMA is read-only and reads as zeros: the NUL.
  EXPECT_EQ(mm_->CopyInString(kFixed + kPage - 3, 4096).value(), "abc");
}

TEST_F(CopyInString, EndingAtLastMappedByteIsFine) {
  MapAnonAt(kFixed, kPage);
  MustWrite(kFixed + kPage - 3, {'x', 'y', 0});
  EXPECT_EQ(mm_->CopyInString(kFixed + kPage - 3, 4096).value(), "xy");
}

TEST_F(CopyInString, RunningIntoHoleIsEfault) {
  MapAnonAt(kFixed, kPage);
  MustWrite(kFixed + kPage - 3, {'x', 'y', 'z'});
  EXPECT_EQ(ErrnoOf(mm_->CopyInString(kFixed + kPage - 3, 4096)), EFAULT);
  EXPECT_EQ(ErrnoOf(mm_->CopyInString(kFixed + kPage, 4096)), EFAULT);
}

TEST_F(CopyInString, LongerThanMaxIsEnametoolong) {
  MapAnonAt(kFixed, 2 * kPage);
  MustWrite(kFixed, std::vector<uint8_t>(2 * kPage - 1, 'p'));
  EXPECT_EQ(ErrnoOf(mm_->CopyInString(kFixed, 4096)), ENAMETOOLONG);
  EXPECT_EQ(mm_->CopyInString(kFixed + 1, 2 * kPage).value().size(), 2 * kPage - 2);
}

// ---- OutBuffer / InBuffer ---------------------------------------------------------

TEST_F(UserBuffer, OutCoversWritablePrefix) {
  MapAnonAt(kFixed, 2 * kPage);
  MapAnonAt(kFixed + 2 * kPage, kPage, PROT_READ);
  auto out = mm_->OutBuffer(kFixed + 100, 3 * kPage);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(vfs::TotalLength(*out), 2 * kPage - 100);
  auto in = mm_->InBuffer(kFixed + 100, 3 * kPage);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(vfs::TotalLength(*in), 3 * kPage - 100);
}

TEST_F(UserBuffer, InStopsAtHole) {
  MapAnonAt(kFixed, kPage);
  auto in = mm_->InBuffer(kFixed + 10, 3 * kPage);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(vfs::TotalLength(*in), kPage - 10);
}

TEST_F(UserBuffer, InaccessibleFirstByteIsEfault) {
  MapAnonAt(kFixed, kPage, PROT_READ);
  EXPECT_EQ(ErrnoOf(mm_->OutBuffer(kFixed, 10)), EFAULT);
  EXPECT_EQ(ErrnoOf(mm_->InBuffer(kFixed + kPage, 10)), EFAULT);
}

TEST_F(UserBuffer, EmptyIsFineAnywhere) {
  auto out = mm_->OutBuffer(kFixed, 0);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(vfs::TotalLength(*out), 0u);
}

TEST_F(UserBuffer, PastTaskSizeIsEfault) {
  MapAnonAt(kFixed, kPage);
  EXPECT_EQ(ErrnoOf(mm_->OutBuffer(kFixed, kTaskSize)), EFAULT);
  EXPECT_EQ(ErrnoOf(mm_->InBuffer(kTaskSize + 1, 1)), EFAULT);
}

TEST_F(UserBuffer, OutViewsApplicationMemory) {
  MapAnonAt(kFixed, kPage);
  MapAnonAt(kFixed + kPage, kPage);
  auto out = mm_->OutBuffer(kFixed + kPage - 2, 4);
  ASSERT_TRUE(out.has_value());
  const std::vector<uint8_t> bytes = {1, 2, 3, 4};
  ASSERT_EQ(vfs::CopyToIoVecs(*out, bytes), 4u);
  EXPECT_EQ(MustRead(kFixed + kPage - 2, 4), bytes);
}

// ---- /proc/self/maps -----------------------------------------------------------------

TEST_F(Maps, ShowsHeapAndFileMappingsLikeLinux) {
  auto file = std::make_shared<BytesFile>(Pattern(4 * kPage));
  ASSERT_TRUE(MapFile(file, 0x10000000, 3 * kPage, PROT_READ | PROT_EXEC, 0, MAP_PRIVATE | MAP_FIXED,
                      "/bin/x")
                  .has_value());
  ASSERT_TRUE(MapFile(file, kFixed, 2 * kPage, PROT_READ, kPage).has_value());
  mm_->SetBrkBase(0x555555560000);
  ASSERT_EQ(mm_->Brk(0x555555562000), 0x555555562000u);
  EXPECT_EQ(mm_->Maps(),
            "10000000-10003000 r-xp 00000000 08:01 1234                               /bin/x\n"
            "300000000000-300000002000 r--p 00001000 08:01 1234                       /data/file\n"
            "555555560000-555555562000 rw-p 00000000 00:00 0                          [heap]\n");
}

TEST_F(Maps, ShowsSharedFlag) {
  auto file = std::make_shared<BytesFile>(Pattern(kPage));
  ASSERT_TRUE(MapFile(file, kFixed, kPage, PROT_READ, 0, MAP_SHARED | MAP_FIXED).has_value());
  auto lines = MapsLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].starts_with("300000000000-300000001000 r--s 00000000 08:01 1234 ")) << lines[0];
}

// Linux ends the line of an unnamed mapping with the space that would
// separate the name ("... 00:00 0 "; show_vma_header_prefix), and tools
// diffing maps files see it.
TEST_F(Maps, LineOfAnonymousMappingEndsWithSpace) {
  MapAnonAt(0x10000000, kPage);
  EXPECT_EQ(mm_->Maps(), "10000000-10001000 rw-p 00000000 00:00 0 \n");
}

}  // namespace
}  // namespace husk::mm::testing
