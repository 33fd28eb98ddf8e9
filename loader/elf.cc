// ParseElf: ELF64 x86-64 executables into load plans. The reference is
// Linux's load_elf_binary() in fs/binfmt_elf.c; where we are stricter than
// Linux the comment says so.
#include <elf.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/align.h"
#include "loader/loader.h"

namespace husk::loader {
namespace {

// load_elf_phdrs() refuses program header tables over 64 KiB.
constexpr uint64_t kMaxPhdrBytes = 65536;
constexpr uint64_t kMaxPhnum = kMaxPhdrBytes / sizeof(Elf64_Phdr);
// PT_INTERP must hold 2..PATH_MAX bytes, NUL included.
constexpr uint64_t kMinInterpBytes = 2;
constexpr uint64_t kMaxInterpBytes = 4096;
// TASK_SIZE_MAX on x86-64 with 4-level paging: (1 << 47) - PAGE_SIZE
// (arch/x86/include/asm/page_64_types.h). No mapping may reach past it.
constexpr uint64_t kUserAddressEnd = (uint64_t{1} << 47) - kPageSize;
// Offsets are off_t in mmap(); a segment's file range must fit in one.
constexpr uint64_t kMaxFileOffset = INT64_MAX;

Errno NotExecutable() { return Errno(ENOEXEC); }

// Reads exactly buf.size() bytes at `offset`. A file that ends early is a
// truncated ELF: ENOEXEC. (Linux's elf_read() says EIO for a short read; we
// keep to loader.h's contract, where every malformed file is ENOEXEC.)
Result<void> ReadFull(FileReader& file, uint64_t offset, std::span<uint8_t> buf) {
  size_t done = 0;
  while (done < buf.size()) {
    size_t n = TRY(file.ReadAt(offset + done, buf.subspan(done)));
    // n > remaining would be a reader bug; never trust it to index memory.
    if (n == 0 || n > buf.size() - done) return NotExecutable();
    done += n;
  }
  return Ok();
}

template <class T>
std::span<uint8_t> BytesOf(T& value) {
  return {reinterpret_cast<uint8_t*>(&value), sizeof(T)};
}

// True if [offset, offset + len) lies inside a file of `size` bytes.
bool InFile(uint64_t offset, uint64_t len, uint64_t size) {
  return offset <= size && len <= size - offset;
}

// The ELF header checks of load_elf_binary() and elf_check_arch() for x86-64,
// plus the e_ident fields Linux leaves unchecked (class, data, version):
// anything else is not an ELF64 little-endian file and cannot be run here.
Result<void> CheckHeader(const Elf64_Ehdr& eh) {
  const unsigned char* id = eh.e_ident;
  if (std::memcmp(id, ELFMAG, SELFMAG) != 0) return NotExecutable();
  if (id[EI_CLASS] != ELFCLASS64 || id[EI_DATA] != ELFDATA2LSB || id[EI_VERSION] != EV_CURRENT)
    return NotExecutable();
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return NotExecutable();
  if (eh.e_machine != EM_X86_64) return NotExecutable();
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) return NotExecutable();
  if (eh.e_phnum == 0 || eh.e_phnum > kMaxPhnum) return NotExecutable();
  // Linux only notices a wild entry point after the point of no return and
  // kills the process; refusing it here lets exec fail cleanly instead.
  if (eh.e_entry >= kUserAddressEnd) return NotExecutable();
  return Ok();
}

Result<std::vector<Elf64_Phdr>> ReadPhdrs(FileReader& file, const Elf64_Ehdr& eh) {
  uint64_t bytes = uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);  // <= 64 KiB, checked
  if (!InFile(eh.e_phoff, bytes, file.Size())) return NotExecutable();
  std::vector<Elf64_Phdr> phdrs(eh.e_phnum);
  TRY(ReadFull(file, eh.e_phoff, {reinterpret_cast<uint8_t*>(phdrs.data()), bytes}));
  return phdrs;
}

int ProtFromFlags(uint32_t p_flags) {
  int prot = PROT_NONE;
  if (p_flags & PF_R) prot |= PROT_READ;
  if (p_flags & PF_W) prot |= PROT_WRITE;
  if (p_flags & PF_X) prot |= PROT_EXEC;
  return prot;
}

// Validates one PT_LOAD. Linux makes these checks in load_elf_binary() and
// elf_load() after the old image is gone (so a bad file kills the process);
// we make them before anything is replaced.
Result<Segment> ToSegment(const Elf64_Phdr& ph) {
  // "p_filesz must always be <= p_memsz" (load_elf_binary()).
  if (ph.p_filesz > ph.p_memsz) return NotExecutable();
  // The whole segment must sit below TASK_SIZE; this also rules out
  // vaddr + memsz overflowing.
  if (ph.p_vaddr >= kUserAddressEnd || ph.p_memsz > kUserAddressEnd - ph.p_vaddr)
    return NotExecutable();
  if (ph.p_offset > kMaxFileOffset || ph.p_filesz > kMaxFileOffset - ph.p_offset)
    return NotExecutable();
  // The file part is mmap()ed at PageDown(vaddr) from PageDown(offset), which
  // only works if both sit at the same offset within a page; otherwise
  // vm_mmap() fails with EINVAL. Linux (6.7+ elf_load()) maps the file only
  // when p_filesz != 0, so an all-bss segment may be misaligned.
  if (ph.p_filesz != 0 && (ph.p_vaddr - ph.p_offset) % kPageSize != 0) return Errno(EINVAL);
  // Segment bytes past EOF are accepted, as in Linux: touching them raises
  // SIGBUS later, exactly like a mapping of a file that was truncated.
  return Segment{.vaddr = ph.p_vaddr,
                 .memsz = ph.p_memsz,
                 .filesz = ph.p_filesz,
                 .offset = ph.p_offset,
                 .prot = ProtFromFlags(ph.p_flags)};
}

// The gABI requires PT_LOAD entries "sorted on the p_vaddr member", and
// Linux sizes an ET_DYN image from the first and last of them
// (total_mapping_size()). We also refuse overlapping segments: Linux would
// silently let the later one replace the earlier one's pages.
Result<void> AppendSegment(std::vector<Segment>& segments, const Segment& seg) {
  if (!segments.empty()) {
    const Segment& prev = segments.back();
    if (seg.vaddr < prev.vaddr + prev.memsz) return NotExecutable();
  }
  segments.push_back(seg);
  return Ok();
}

// Reads the PT_INTERP path with the checks of load_elf_binary(): 2..PATH_MAX
// bytes, the last of them NUL.
Result<std::string> ReadInterp(FileReader& file, const Elf64_Phdr& ph) {
  if (ph.p_filesz < kMinInterpBytes || ph.p_filesz > kMaxInterpBytes) return NotExecutable();
  if (!InFile(ph.p_offset, ph.p_filesz, file.Size())) return NotExecutable();
  std::string path(ph.p_filesz, '\0');
  TRY(ReadFull(file, ph.p_offset, {reinterpret_cast<uint8_t*>(path.data()), path.size()}));
  if (path.back() != '\0') return NotExecutable();
  // Linux opens it as a C string: anything after an earlier NUL is ignored,
  // and an empty path then fails to open, which exec will report.
  path.resize(std::strlen(path.c_str()));
  return path;
}

// Largest power-of-two p_align of the PT_LOADs, at least a page: the
// alignment Linux gives an ET_DYN load bias (maximum_alignment()).
uint64_t LoadAlignment(std::span<const Elf64_Phdr> phdrs) {
  uint64_t align = kPageSize;
  for (const Elf64_Phdr& ph : phdrs) {
    if (ph.p_type == PT_LOAD && std::has_single_bit(ph.p_align))
      align = std::max(align, ph.p_align);
  }
  return align;
}

// Where the program headers are in memory (AT_PHDR, unbiased). PT_PHDR says
// so directly when present. Without it, find the PT_LOAD whose file bytes hold
// e_phoff, as Linux has done since 5.18 ("fs/binfmt_elf: Fix AT_PHDR for
// unusual ELF files"); like Linux, the last such segment wins and 0 means none.
uint64_t PhdrVaddr(const Elf64_Ehdr& eh, std::span<const Elf64_Phdr> phdrs) {
  for (const Elf64_Phdr& ph : phdrs) {
    if (ph.p_type == PT_PHDR) return ph.p_vaddr;
  }
  uint64_t vaddr = 0;
  for (const Elf64_Phdr& ph : phdrs) {
    if (ph.p_type == PT_LOAD && ph.p_offset <= eh.e_phoff && eh.e_phoff - ph.p_offset < ph.p_filesz)
      vaddr = ph.p_vaddr + (eh.e_phoff - ph.p_offset);
  }
  return vaddr;
}

// Walks the program headers once, filling in segments, interp and stack.
Result<void> ApplyPhdrs(FileReader& file, std::span<const Elf64_Phdr> phdrs, ElfImage& image) {
  for (const Elf64_Phdr& ph : phdrs) {
    switch (ph.p_type) {
      case PT_LOAD:
        TRY(AppendSegment(image.segments, TRY(ToSegment(ph))));
        break;
      case PT_INTERP:
        // Linux uses the first PT_INTERP and ignores the rest; no linker
        // emits two, so we treat a second one as a malformed file.
        if (image.interp) return NotExecutable();
        image.interp = TRY(ReadInterp(file, ph));
        break;
      case PT_GNU_STACK:
        // Like Linux, the last PT_GNU_STACK decides.
        image.exec_stack = (ph.p_flags & PF_X) != 0;
        break;
    }
  }
  return Ok();
}

}  // namespace

bool IsElf(std::span<const uint8_t> head) {
  return head.size() >= SELFMAG && std::memcmp(head.data(), ELFMAG, SELFMAG) == 0;
}

Result<ElfImage> ParseElf(FileReader& file) {
  Elf64_Ehdr eh;
  if (file.Size() < sizeof(eh)) return NotExecutable();
  TRY(ReadFull(file, 0, BytesOf(eh)));
  TRY(CheckHeader(eh));
  std::vector<Elf64_Phdr> phdrs = TRY(ReadPhdrs(file, eh));

  ElfImage image;
  image.dynamic = eh.e_type == ET_DYN;
  image.entry = eh.e_entry;
  image.phnum = eh.e_phnum;
  image.phent = eh.e_phentsize;
  // Without PT_GNU_STACK, x86-64 Linux 5.8+ gives a non-executable stack
  // ("x86/elf: Disable automatic READ_IMPLIES_EXEC on 64-bit"):
  // elf_read_implies_exec() is true only for ia32.
  image.exec_stack = false;
  TRY(ApplyPhdrs(file, phdrs, image));
  // Stricter than Linux, which would "run" such a file straight into SIGSEGV.
  if (image.segments.empty()) return NotExecutable();

  image.phdr_vaddr = PhdrVaddr(eh, phdrs);
  image.align = LoadAlignment(phdrs);
  // Segments are sorted and disjoint, so the last one ends highest; both ends
  // are below kUserAddressEnd, which is page aligned, so PageUp cannot wrap.
  const Segment& last = image.segments.back();
  image.min_vaddr = PageDown(image.segments.front().vaddr);
  image.max_vaddr = PageUp(last.vaddr + last.memsz);
  return image;
}

}  // namespace husk::loader
