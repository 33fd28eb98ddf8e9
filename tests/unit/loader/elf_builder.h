// In-memory ELF64 images for the loader's unit tests and fuzz seeds: a valid
// file by default, with every field open to being broken on purpose.
#pragma once

#include <elf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "loader/loader.h"

namespace husk::loader::testing {

// A FileReader over bytes in memory.
class MemReader : public FileReader {
 public:
  explicit MemReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    if (offset >= bytes_.size()) return 0;
    size_t n = std::min<uint64_t>(buf.size(), bytes_.size() - offset);
    std::memcpy(buf.data(), bytes_.data() + offset, n);
    return n;
  }
  uint64_t Size() override { return bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
};

class ElfBuilder {
 public:
  // A valid x86-64 ET_EXEC header with no program headers yet.
  ElfBuilder() {
    std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
    ehdr.e_ident[EI_CLASS] = ELFCLASS64;
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    ehdr.e_type = ET_EXEC;
    ehdr.e_machine = EM_X86_64;
    ehdr.e_version = EV_CURRENT;
    ehdr.e_phoff = sizeof(Elf64_Ehdr);
    ehdr.e_ehsize = sizeof(Elf64_Ehdr);
    ehdr.e_phentsize = sizeof(Elf64_Phdr);
  }

  ElfBuilder& Phdr(uint32_t type, uint32_t flags, uint64_t offset, uint64_t vaddr,
                   uint64_t filesz, uint64_t memsz, uint64_t align = 0x1000) {
    phdrs.push_back({.p_type = type, .p_flags = flags, .p_offset = offset,
                     .p_vaddr = vaddr, .p_paddr = vaddr, .p_filesz = filesz,
                     .p_memsz = memsz, .p_align = align});
    return *this;
  }
  ElfBuilder& Load(uint32_t flags, uint64_t offset, uint64_t vaddr, uint64_t filesz,
                   uint64_t memsz) {
    return Phdr(PT_LOAD, flags, offset, vaddr, filesz, memsz);
  }
  // A PT_INTERP whose bytes (`path` as given: add the NUL yourself) are
  // stored at `offset`.
  ElfBuilder& Interp(uint64_t offset, std::string path) {
    Phdr(PT_INTERP, PF_R, offset, offset, path.size(), path.size(), 1);
    return Data(offset, std::move(path));
  }
  ElfBuilder& Data(uint64_t offset, std::string bytes) {
    data.push_back({offset, std::move(bytes)});
    return *this;
  }

  // The file: header, program headers at e_phoff, data blobs, zero padding to
  // `size` bytes if that is longer than what they need.
  std::vector<uint8_t> Build(uint64_t size = 0) const {
    Elf64_Ehdr eh = ehdr;
    if (auto_phnum) eh.e_phnum = static_cast<uint16_t>(phdrs.size());
    uint64_t phdr_end = eh.e_phoff + phdrs.size() * sizeof(Elf64_Phdr);
    uint64_t end = std::max<uint64_t>({size, sizeof(eh), phdr_end});
    for (const auto& [offset, bytes] : data) end = std::max<uint64_t>(end, offset + bytes.size());
    std::vector<uint8_t> file(end);
    std::memcpy(file.data(), &eh, sizeof(eh));
    if (!phdrs.empty()) {
      std::memcpy(&file[eh.e_phoff], phdrs.data(), phdrs.size() * sizeof(Elf64_Phdr));
    }
    for (const auto& [offset, bytes] : data) std::memcpy(&file[offset], bytes.data(), bytes.size());
    return file;
  }

  Elf64_Ehdr ehdr{};
  bool auto_phnum = true;  // e_phnum = phdrs.size(); clear to keep ehdr.e_phnum
  std::vector<Elf64_Phdr> phdrs;
  std::vector<std::pair<uint64_t, std::string>> data;
};

// A static ET_EXEC: text at 0x400000, data+bss at 0x401000, NX stack.
inline ElfBuilder StaticExec() {
  ElfBuilder b;
  b.ehdr.e_entry = 0x400100;
  b.Load(PF_R | PF_X, 0, 0x400000, 0x1000, 0x1000)
      .Load(PF_R | PF_W, 0x1000, 0x401000, 0x100, 0x2000)
      .Phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16);
  return b;
}

inline constexpr char kLdSo[] = "/lib64/ld-linux-x86-64.so.2";

// A PIE as a linker lays it out: PT_PHDR, PT_INTERP, then read-only,
// text and data segments at page-congruent offsets.
inline ElfBuilder PieWithInterp() {
  ElfBuilder b;
  b.ehdr.e_type = ET_DYN;
  b.ehdr.e_entry = 0x1040;
  constexpr uint64_t kPhnum = 6;
  b.Phdr(PT_PHDR, PF_R, 64, 64, kPhnum * sizeof(Elf64_Phdr), kPhnum * sizeof(Elf64_Phdr), 8)
      .Interp(0x200, std::string(kLdSo, sizeof(kLdSo)))
      .Load(PF_R, 0, 0, 0x300, 0x300)
      .Load(PF_R | PF_X, 0x1000, 0x1000, 0x200, 0x200)
      .Load(PF_R | PF_W, 0x2000, 0x3000, 0x80, 0x1000)
      .Phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16);
  return b;
}

}  // namespace husk::loader::testing
