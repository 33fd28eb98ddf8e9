// ParseElf and IsElf: what is a loadable x86-64 ELF64 file and what its
// load plan says, following fs/binfmt_elf.c.
#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "loader/loader.h"
#include "tests/unit/loader/elf_builder.h"

namespace husk::loader {
namespace {

using testing::ElfBuilder;
using testing::kLdSo;
using testing::MemReader;
using testing::PieWithInterp;
using testing::StaticExec;

Result<ElfImage> Parse(const std::vector<uint8_t>& bytes) {
  MemReader reader(bytes);
  return ParseElf(reader);
}

Result<ElfImage> Parse(const ElfBuilder& b) { return Parse(b.Build()); }

// The errno of a failed parse, 0 on success: reads well in EXPECT_EQ.
int Err(const Result<ElfImage>& r) { return r ? 0 : r.error().value(); }

constexpr uint64_t kUserEnd = (uint64_t{1} << 47) - 4096;

TEST(ParseElf, StaticExecutable) {
  auto image = Parse(StaticExec());
  ASSERT_TRUE(image) << ErrnoName(image.error().value());
  EXPECT_FALSE(image->dynamic);
  EXPECT_EQ(image->entry, 0x400100u);
  EXPECT_FALSE(image->interp);
  ASSERT_EQ(image->segments.size(), 2u);
  const Segment& text = image->segments[0];
  EXPECT_EQ(text.vaddr, 0x400000u);
  EXPECT_EQ(text.offset, 0u);
  EXPECT_EQ(text.filesz, 0x1000u);
  EXPECT_EQ(text.memsz, 0x1000u);
  EXPECT_EQ(text.prot, PROT_READ | PROT_EXEC);
  const Segment& data = image->segments[1];
  EXPECT_EQ(data.vaddr, 0x401000u);
  EXPECT_EQ(data.filesz, 0x100u);
  EXPECT_EQ(data.memsz, 0x2000u);
  EXPECT_EQ(data.prot, PROT_READ | PROT_WRITE);
  EXPECT_EQ(image->min_vaddr, 0x400000u);
  EXPECT_EQ(image->max_vaddr, 0x403000u);
  EXPECT_EQ(image->phnum, 3);
  EXPECT_EQ(image->phent, sizeof(Elf64_Phdr));
  EXPECT_FALSE(image->exec_stack);
  EXPECT_EQ(image->align, 0x1000u);
}

TEST(ParseElf, PhdrVaddrFromLoadSegmentHoldingThem) {
  // No PT_PHDR: the headers at file offset 64 are in the text segment.
  auto image = Parse(StaticExec());
  ASSERT_TRUE(image);
  EXPECT_EQ(image->phdr_vaddr, 0x400040u);
}

TEST(ParseElf, PieWithInterpreter) {
  auto image = Parse(PieWithInterp());
  ASSERT_TRUE(image) << ErrnoName(image.error().value());
  EXPECT_TRUE(image->dynamic);
  EXPECT_EQ(image->entry, 0x1040u);
  ASSERT_TRUE(image->interp);
  EXPECT_EQ(*image->interp, kLdSo);
  EXPECT_EQ(image->phdr_vaddr, 64u);
  ASSERT_EQ(image->segments.size(), 3u);
  EXPECT_EQ(image->segments[0].prot, PROT_READ);
  EXPECT_EQ(image->segments[1].prot, PROT_READ | PROT_EXEC);
  EXPECT_EQ(image->segments[2].prot, PROT_READ | PROT_WRITE);
  EXPECT_EQ(image->min_vaddr, 0u);
  EXPECT_EQ(image->max_vaddr, 0x4000u);
  EXPECT_EQ(image->phnum, 6);
}

TEST(ParseElf, PtPhdrWinsOverLoadSegment) {
  ElfBuilder b = StaticExec();
  b.Phdr(PT_PHDR, PF_R, 64, 0x400123, 56 * 4, 56 * 4, 8);
  auto image = Parse(b);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->phdr_vaddr, 0x400123u);
}

TEST(ParseElf, PhdrVaddrZeroWhenNotLoaded) {
  ElfBuilder b;
  b.ehdr.e_entry = 0x401000;
  b.Load(PF_R | PF_X, 0x1000, 0x401000, 0x10, 0x10);
  auto image = Parse(b.Build(0x1010));
  ASSERT_TRUE(image);
  EXPECT_EQ(image->phdr_vaddr, 0u);
}

TEST(ParseElf, MissingGnuStackMeansNonExecutableStack) {
  ElfBuilder b = StaticExec();
  b.phdrs.pop_back();
  auto image = Parse(b);
  ASSERT_TRUE(image);
  EXPECT_FALSE(image->exec_stack);
}

TEST(ParseElf, GnuStackWithPfXMeansExecutableStack) {
  ElfBuilder b = StaticExec();
  b.phdrs.back().p_flags = PF_R | PF_W | PF_X;
  auto image = Parse(b);
  ASSERT_TRUE(image);
  EXPECT_TRUE(image->exec_stack);
}

TEST(ParseElf, ProtectionBitsFollowFlags) {
  ElfBuilder b;
  b.ehdr.e_entry = 0x400000;
  b.Load(0, 0, 0x400000, 0x10, 0x10)
      .Load(PF_W, 0x1000, 0x401000, 0, 0x10)
      .Load(PF_X, 0x2000, 0x402000, 0, 0x10);
  auto image = Parse(b);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->segments[0].prot, PROT_NONE);
  EXPECT_EQ(image->segments[1].prot, PROT_WRITE);
  EXPECT_EQ(image->segments[2].prot, PROT_EXEC);
}

TEST(ParseElf, AlignmentIsLargestPowerOfTwoPAlign) {
  ElfBuilder b = PieWithInterp();
  b.phdrs[3].p_align = 0x200000;
  b.phdrs[4].p_align = 0x300000;  // not a power of two: ignored, as maximum_alignment() does
  auto image = Parse(b);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->align, 0x200000u);
}

TEST(ParseElf, BadMagicIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.ehdr.e_ident[EI_MAG1] = 'e';
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, ThirtyTwoBitIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.ehdr.e_ident[EI_CLASS] = ELFCLASS32;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, BigEndianIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.ehdr.e_ident[EI_DATA] = ELFDATA2MSB;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, UnknownIdentVersionIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.ehdr.e_ident[EI_VERSION] = 2;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, WrongMachineIsEnoexec) {
  for (uint16_t machine : {EM_386, EM_AARCH64, EM_NONE}) {
    ElfBuilder b = StaticExec();
    b.ehdr.e_machine = machine;
    EXPECT_EQ(Err(Parse(b)), ENOEXEC) << machine;
  }
}

TEST(ParseElf, RelocatableAndCoreFilesAreEnoexec) {
  for (uint16_t type : {ET_REL, ET_CORE, ET_NONE}) {
    ElfBuilder b = StaticExec();
    b.ehdr.e_type = type;
    EXPECT_EQ(Err(Parse(b)), ENOEXEC) << type;
  }
}

TEST(ParseElf, TruncatedHeaderIsEnoexec) {
  std::vector<uint8_t> bytes = StaticExec().Build();
  for (size_t size : {0ul, 4ul, 16ul, sizeof(Elf64_Ehdr) - 1}) {
    EXPECT_EQ(Err(Parse(std::vector<uint8_t>(bytes.begin(), bytes.begin() + size))), ENOEXEC)
        << size;
  }
}

TEST(ParseElf, TruncatedProgramHeadersAreEnoexec) {
  std::vector<uint8_t> bytes = StaticExec().Build();
  bytes.resize(sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr) + 10);
  EXPECT_EQ(Err(Parse(bytes)), ENOEXEC);
}

TEST(ParseElf, ProgramHeadersPastEndOfFileAreEnoexec) {
  for (uint64_t phoff : {uint64_t{0x100000}, UINT64_MAX - 8, UINT64_MAX}) {
    std::vector<uint8_t> bytes = StaticExec().Build();
    std::memcpy(&bytes[offsetof(Elf64_Ehdr, e_phoff)], &phoff, sizeof(phoff));
    EXPECT_EQ(Err(Parse(bytes)), ENOEXEC) << phoff;
  }
}

TEST(ParseElf, ZeroProgramHeadersIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.auto_phnum = false;
  b.ehdr.e_phnum = 0;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, ProgramHeaderTableOver64KiBIsEnoexec) {
  // load_elf_phdrs() allows 65536 / 56 = 1170 entries.
  ElfBuilder b = StaticExec();
  b.phdrs.resize(1170, Elf64_Phdr{.p_type = PT_NULL});
  EXPECT_EQ(Err(Parse(b)), 0);
  b.phdrs.resize(1171, Elf64_Phdr{.p_type = PT_NULL});
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, WrongPhentsizeIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.ehdr.e_phentsize = sizeof(Elf64_Phdr) + 8;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, NoLoadSegmentIsEnoexec) {
  ElfBuilder b;
  b.Phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, FileszGreaterThanMemszIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.phdrs[1].p_filesz = b.phdrs[1].p_memsz + 1;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, OverlappingLoadSegmentsAreEnoexec) {
  ElfBuilder b = StaticExec();
  b.phdrs[1].p_vaddr = 0x400800;
  b.phdrs[1].p_offset = 0x800;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, UnsortedLoadSegmentsAreEnoexec) {
  ElfBuilder b = StaticExec();
  std::swap(b.phdrs[0], b.phdrs[1]);
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, AdjacentLoadSegmentsAreFine) {
  ElfBuilder b = StaticExec();
  b.phdrs[0].p_memsz = 0x1000;  // text ends where data starts
  EXPECT_EQ(Err(Parse(b)), 0);
}

TEST(ParseElf, SegmentEndOverflowIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.phdrs[1].p_memsz = UINT64_MAX - 0x1000;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, SegmentAboveUserAddressSpaceIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.phdrs[1].p_vaddr = kUserEnd - 0x1000;
  b.phdrs[1].p_offset = 0x1000;
  b.phdrs[1].p_memsz = 0x1000;
  EXPECT_EQ(Err(Parse(b)), 0);  // ends exactly at TASK_SIZE
  b.phdrs[1].p_memsz = 0x1001;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
  b.phdrs[1].p_vaddr = uint64_t{1} << 47;
  b.phdrs[1].p_memsz = 0x10;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, FileOffsetOverflowIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.phdrs[1].p_offset = UINT64_MAX - 0xfff;  // congruent with the vaddr
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, OffsetNotCongruentWithVaddrIsEinval) {
  ElfBuilder b = StaticExec();
  b.phdrs[1].p_offset = 0x1010;
  EXPECT_EQ(Err(Parse(b)), EINVAL);
}

TEST(ParseElf, BssOnlySegmentNeedNotBeCongruent) {
  ElfBuilder b = StaticExec();
  b.Load(PF_R | PF_W, 0x1234, 0x500010, 0, 0x100);
  EXPECT_EQ(Err(Parse(b)), 0);
}

TEST(ParseElf, SegmentPastEndOfFileIsAcceptedLikeLinux) {
  // Linux maps it; touching the missing pages raises SIGBUS.
  ElfBuilder b = StaticExec();
  b.phdrs[1].p_filesz = 0x2000;
  auto image = Parse(b);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->segments[1].filesz, 0x2000u);
}

TEST(ParseElf, EntryOutsideUserAddressSpaceIsEnoexec) {
  ElfBuilder b = StaticExec();
  b.ehdr.e_entry = kUserEnd;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, InterpNotNulTerminatedIsEnoexec) {
  ElfBuilder b = PieWithInterp();
  b.data[0].second.back() = 'x';
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, InterpSizeOutsideTwoToPathMaxIsEnoexec) {
  for (uint64_t size : {0ul, 1ul, 4097ul}) {
    ElfBuilder b = PieWithInterp();
    b.phdrs[1].p_filesz = size;
    EXPECT_EQ(Err(Parse(b.Build(0x2000))), ENOEXEC) << size;
  }
}

TEST(ParseElf, InterpOfPathMaxBytesIsAccepted) {
  ElfBuilder b = PieWithInterp();
  b.phdrs[1].p_offset = 0x3000;
  b.phdrs[1].p_filesz = 4096;
  b.Data(0x3000, "/" + std::string(4094, 'a') + '\0');
  auto image = Parse(b);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->interp->size(), 4095u);
}

TEST(ParseElf, InterpPastEndOfFileIsEnoexec) {
  ElfBuilder b = PieWithInterp();
  b.phdrs[1].p_offset = 0x10000;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
  b.phdrs[1].p_offset = UINT64_MAX - 4;
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

TEST(ParseElf, InterpEndsAtFirstNul) {
  ElfBuilder b = PieWithInterp();
  b.data[0].second[5] = '\0';  // "/lib6\0..."
  auto image = Parse(b);
  ASSERT_TRUE(image);
  EXPECT_EQ(*image->interp, "/lib6");
}

TEST(ParseElf, TwoInterpsAreEnoexec) {
  ElfBuilder b = PieWithInterp();
  b.Interp(0x280, std::string("/lib/ld.so\0", 11));
  EXPECT_EQ(Err(Parse(b)), ENOEXEC);
}

// Gives out one byte per call and fails past a chosen offset.
class StingyReader : public FileReader {
 public:
  StingyReader(std::vector<uint8_t> bytes, uint64_t fail_at)
      : bytes_(std::move(bytes)), fail_at_(fail_at) {}
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    if (offset >= fail_at_) return Errno(EIO);
    if (offset >= bytes_.size() || buf.empty()) return 0;
    buf[0] = bytes_[offset];
    return 1;
  }
  uint64_t Size() override { return bytes_.size(); }

 private:
  std::vector<uint8_t> bytes_;
  uint64_t fail_at_;
};

TEST(ParseElf, ShortReadsAreRetried) {
  StingyReader reader(PieWithInterp().Build(), UINT64_MAX);
  auto image = ParseElf(reader);
  ASSERT_TRUE(image);
  EXPECT_EQ(*image->interp, kLdSo);
}

TEST(ParseElf, ReadErrorsPropagate) {
  StingyReader reader(PieWithInterp().Build(), 0x100);
  EXPECT_EQ(Err(ParseElf(reader)), EIO);
}

TEST(IsElf, ChecksMagicOnly) {
  const uint8_t elf[] = {0x7f, 'E', 'L', 'F', 1};
  EXPECT_TRUE(IsElf(elf));
  EXPECT_TRUE(IsElf(std::span(elf, 4)));
  EXPECT_FALSE(IsElf(std::span(elf, 3)));
  EXPECT_FALSE(IsElf({}));
  const uint8_t script[] = {'#', '!', '/', 'b'};
  EXPECT_FALSE(IsElf(script));
}

// Reads a host file with pread, as the kernel's exec would through the VFS.
class HostFileReader : public FileReader {
 public:
  explicit HostFileReader(int fd) : fd_(fd) {}
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    ssize_t n = pread(fd_, buf.data(), buf.size(), static_cast<off_t>(offset));
    if (n < 0) return Errno(errno);
    return static_cast<size_t>(n);
  }
  uint64_t Size() override { return static_cast<uint64_t>(lseek(fd_, 0, SEEK_END)); }

 private:
  int fd_;
};

void ExpectHostBinaryParses(const char* path, bool require_interp) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << path << " not present";
  HostFileReader reader(fd);
  auto image = ParseElf(reader);
  close(fd);
  ASSERT_TRUE(image) << path << ": " << ErrnoName(image.error().value());
  EXPECT_FALSE(image->segments.empty());
  EXPECT_NE(image->phdr_vaddr, 0u);
  EXPECT_LT(image->min_vaddr, image->max_vaddr);
  if (require_interp) {
    ASSERT_TRUE(image->interp);
  }
  if (image->interp) {
    EXPECT_EQ(*image->interp, kLdSo);
  }
}

TEST(ParseElf, HostLs) { ExpectHostBinaryParses("/bin/ls", /*require_interp=*/true); }

TEST(ParseElf, HostBusybox) {
  // Debian's busybox is dynamic; busybox-static has no PT_INTERP.
  ExpectHostBinaryParses("/bin/busybox", /*require_interp=*/false);
}

}  // namespace
}  // namespace husk::loader
