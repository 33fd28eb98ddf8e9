// The ELF64 loader: parses executables, #! scripts and builds the initial
// stack image. It is pure: it reads bytes through FileReader and returns load
// plans; the kernel's exec maps them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace husk::loader {

// Random access to the bytes of the file being loaded.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // Reads up to buf.size() bytes at `offset`; returns the count (0 at EOF).
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) = 0;
  virtual uint64_t Size() = 0;
};

// One PT_LOAD segment. Addresses are as in the file (add the load bias for
// ET_DYN). prot is PROT_READ|PROT_WRITE|PROT_EXEC bits.
struct Segment {
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t filesz = 0;
  uint64_t offset = 0;
  int prot = 0;
};

// The load plan of an ELF file.
struct ElfImage {
  bool dynamic = false;           // ET_DYN: loaded at a bias chosen by the kernel
  uint64_t entry = 0;             // e_entry (unbiased)
  std::vector<Segment> segments;  // PT_LOAD, in file order, sorted by vaddr
  std::optional<std::string> interp;  // PT_INTERP path
  uint64_t phdr_vaddr = 0;        // address of the program headers in memory (unbiased)
  uint16_t phnum = 0;
  uint16_t phent = 0;
  bool exec_stack = false;        // PT_GNU_STACK with PF_X. Absent means non-executable:
                                  // x86-64 Linux 5.8+ no longer implies READ_IMPLIES_EXEC
  uint64_t min_vaddr = 0;         // page-aligned down lowest PT_LOAD vaddr
  uint64_t max_vaddr = 0;         // page-aligned up end of highest PT_LOAD
  uint64_t align = 4096;          // alignment for an ET_DYN load bias: the largest
                                  // power-of-two PT_LOAD p_align, at least a page
};

// Parses an ELF64 x86-64 ET_EXEC or ET_DYN. ENOEXEC for anything that is not a
// loadable x86-64 ELF64 (bad magic, 32-bit, other machine, truncated or
// inconsistent headers, overlapping or unordered segments, absurd sizes).
// EINVAL, as mmap would give Linux, for a PT_LOAD whose p_offset and p_vaddr
// differ modulo the page size. Segment bytes past EOF are allowed, as in
// Linux (they fault with SIGBUS when touched). Errors of the reader propagate.
Result<ElfImage> ParseElf(FileReader& file);

// True if `head` starts with the ELF magic.
bool IsElf(std::span<const uint8_t> head);

// A #! line: interpreter path and the optional single argument (Linux passes
// everything after the first run of blanks as one argument, trailing blanks
// stripped).
struct Shebang {
  std::string interp;
  std::optional<std::string> arg;
};

// Parses the first bytes of a file (Linux reads up to 256). Returns nullopt if
// it does not start with "#!"; ENOEXEC if the line names no interpreter.
Result<std::optional<Shebang>> ParseShebang(std::span<const uint8_t> head);

// Linux allows this many nested interpreters (BINPRM_MAX_RECURSION).
inline constexpr int kMaxInterpreterDepth = 4;

// Auxiliary vector entry.
struct AuxEntry {
  uint64_t type;
  uint64_t value;
};

// What goes on the initial stack (System V x86-64 ABI §3.4.1).
struct StackSpec {
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::string execfn;               // AT_EXECFN string
  std::string platform = "x86_64";  // AT_PLATFORM string
  std::array<uint8_t, 16> random{};  // AT_RANDOM bytes
  std::vector<AuxEntry> auxv;       // without AT_EXECFN/AT_PLATFORM/AT_RANDOM/AT_NULL,
                                    // which BuildStack adds with the right pointers
};

// The stack image: `bytes` goes at [sp, stack_top); sp is 16-byte aligned
// as the ABI requires at process entry (pointing at argc).
struct StackImage {
  uint64_t sp = 0;
  std::vector<uint8_t> bytes;
  // Where the argv and envp strings lie, NULs included (mm_struct's
  // arg_start/arg_end, env_start/env_end: /proc/[pid]/cmdline, environ).
  uint64_t arg_start = 0;
  uint64_t arg_end = 0;
  uint64_t env_start = 0;
  uint64_t env_end = 0;
};

// Builds the initial stack for a stack whose top (exclusive) is `stack_top`.
// E2BIG if argv+envp strings exceed `max_bytes`.
//
// As Linux counts it (fs/exec.c), "strings" are argv, envp and execfn with
// their NULs plus 8 bytes per argv/envp pointer, and any one string longer
// than MAX_ARG_STRLEN (32 pages, NUL included) is E2BIG whatever max_bytes
// says. An empty argv becomes {""} as in Linux 5.18+. EINVAL if spec.auxv
// holds a type BuildStack adds itself or the image does not fit below
// stack_top.
Result<StackImage> BuildStack(uint64_t stack_top, const StackSpec& spec, uint64_t max_bytes);

// The max_bytes Linux allows for a stack rlimit (bprm_stack_limits() in
// fs/exec.c): a quarter of the rlimit, at most 3/4 of _STK_LIM (8 MiB) and
// at least ARG_MAX (128 KiB).
constexpr uint64_t MaxArgBytes(uint64_t stack_rlimit) {
  constexpr uint64_t kStkLim = 8 << 20;
  constexpr uint64_t kArgMax = 128 << 10;
  uint64_t limit = stack_rlimit / 4 < kStkLim / 4 * 3 ? stack_rlimit / 4 : kStkLim / 4 * 3;
  return limit > kArgMax ? limit : kArgMax;
}

}  // namespace husk::loader
