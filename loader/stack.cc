// BuildStack: the initial process stack, laid out as Linux's exec lays it out
// (fs/exec.c copies the strings, create_elf_tables() in fs/binfmt_elf.c the
// rest) and as the System V x86-64 ABI §3.4.1 requires. From the top down:
//
//   stack_top -> 8 zero bytes        exec starts at vm_end - sizeof(void *)
//                execfn              AT_EXECFN
//                envp strings        envp[0] lowest
//                argv strings        argv[0] lowest
//                (align 16)
//                platform string     AT_PLATFORM, omitted when empty
//                16 random bytes     AT_RANDOM
//                (padding)
//                auxv pairs ... AT_NULL
//                envp[0] ... NULL
//                argv[0] ... NULL
//   sp ->        argc                sp is 16-byte aligned (ABI §3.4.1)
#include <elf.h>

#include <algorithm>
#include <cstring>

#include "base/align.h"
#include "loader/loader.h"

namespace husk::loader {
namespace {

constexpr uint64_t kWord = sizeof(uint64_t);
constexpr uint64_t kStackAlign = 16;
// include/uapi/linux/binfmts.h: the longest single string (NUL included) and
// the most strings exec accepts.
constexpr uint64_t kMaxArgStrlen = 32 * kPageSize;
constexpr uint64_t kMaxArgStrings = 0x7fffffff;

// Bytes the strings take on the stack, NULs included; E2BIG if one is longer
// than MAX_ARG_STRLEN (valid_arg_len() in fs/exec.c).
Result<uint64_t> StringBytes(std::span<const std::string> strings) {
  if (strings.size() > kMaxArgStrings) return Errno(E2BIG);
  uint64_t total = 0;
  for (const std::string& s : strings) {
    if (s.size() + 1 > kMaxArgStrlen) return Errno(E2BIG);
    total += s.size() + 1;
  }
  return total;
}

// Linux charges argv/envp pointers and all strings, execfn included, against
// one limit (bprm_stack_limits() and copy_strings() in fs/exec.c).
Result<void> CheckArgLimits(std::span<const std::string> argv, const StackSpec& spec,
                            uint64_t max_bytes) {
  uint64_t total = (std::max<uint64_t>(argv.size(), 1) + spec.envp.size()) * kWord;
  total += TRY(StringBytes(argv));
  total += TRY(StringBytes(spec.envp));
  total += TRY(StringBytes(std::span(&spec.execfn, 1)));
  if (total > max_bytes) return Errno(E2BIG);
  return Ok();
}

// BuildStack adds these entries itself, pointing into the image it builds.
Result<void> CheckAuxv(std::span<const AuxEntry> auxv) {
  for (const AuxEntry& e : auxv) {
    if (e.type == AT_NULL || e.type == AT_RANDOM || e.type == AT_EXECFN || e.type == AT_PLATFORM)
      return Errno(EINVAL);
  }
  return Ok();
}

// Hands out stack addresses from the top down, as exec's bprm->p does.
class Cursor {
 public:
  explicit Cursor(uint64_t top) : p_(top) {}

  // Reserves n bytes below the cursor and returns their address. EINVAL if
  // the image would run below address 0: stack_top is too low for it.
  Result<uint64_t> Take(uint64_t n) {
    if (n > p_) return Errno(EINVAL);
    p_ -= n;
    return p_;
  }
  void AlignDown(uint64_t alignment) { p_ = husk::AlignDown(p_, alignment); }
  uint64_t p() const { return p_; }

 private:
  uint64_t p_;
};

// Where everything goes; planned before a byte is written.
struct Layout {
  uint64_t execfn = 0;
  std::vector<uint64_t> envp;  // string addresses
  std::vector<uint64_t> argv;
  std::optional<uint64_t> platform;
  uint64_t random = 0;
  uint64_t sp = 0;
};

// copy_strings() copies from the last string down, so strings[0] lands lowest.
Result<std::vector<uint64_t>> PlaceStrings(Cursor& cursor, std::span<const std::string> strings) {
  std::vector<uint64_t> addrs(strings.size());
  for (size_t i = strings.size(); i-- > 0;) addrs[i] = TRY(cursor.Take(strings[i].size() + 1));
  return addrs;
}

Result<Layout> Plan(uint64_t stack_top, std::span<const std::string> argv, const StackSpec& spec,
                    uint64_t table_words) {
  Cursor cursor(stack_top);
  Layout l;
  TRY(cursor.Take(kWord));  // the zero end marker
  l.execfn = TRY(cursor.Take(spec.execfn.size() + 1));
  l.envp = TRY(PlaceStrings(cursor, spec.envp));
  l.argv = TRY(PlaceStrings(cursor, argv));
  // create_elf_tables() aligns here with arch_align_stack(), which also drops
  // the stack by a random amount under 8 KiB; callers randomize by choosing
  // stack_top instead.
  cursor.AlignDown(kStackAlign);
  if (!spec.platform.empty()) l.platform = TRY(cursor.Take(spec.platform.size() + 1));
  l.random = TRY(cursor.Take(spec.random.size()));
  TRY(cursor.Take(table_words * kWord));
  cursor.AlignDown(kStackAlign);  // STACK_ROUND(): sp ends up aligned
  l.sp = cursor.p();
  return l;
}

// The full auxiliary vector: the caller's entries, then the ones pointing
// into the image (in Linux's order), then AT_NULL.
std::vector<AuxEntry> FullAuxv(const StackSpec& spec, const Layout& l) {
  std::vector<AuxEntry> auxv = spec.auxv;
  auxv.push_back({AT_RANDOM, l.random});
  auxv.push_back({AT_EXECFN, l.execfn});
  if (l.platform) auxv.push_back({AT_PLATFORM, *l.platform});
  auxv.push_back({AT_NULL, 0});
  return auxv;
}

// The bytes of [sp, stack_top), zero-filled, so strings get their NULs and the
// end marker and padding are zero without being written.
class Image {
 public:
  Image(uint64_t sp, uint64_t top) : sp_(sp), bytes_(top - sp) {}

  void Bytes(uint64_t addr, const void* data, size_t len) {
    if (len != 0) std::memcpy(&bytes_[addr - sp_], data, len);
  }
  void String(uint64_t addr, const std::string& s) { Bytes(addr, s.data(), s.size()); }
  // Stack words are little-endian, whatever the host.
  void Word(uint64_t addr, uint64_t value) {
    for (uint64_t i = 0; i < kWord; ++i)
      bytes_[addr - sp_ + i] = static_cast<uint8_t>(value >> (8 * i));
  }
  std::vector<uint8_t> Release() && { return std::move(bytes_); }

 private:
  uint64_t sp_;
  std::vector<uint8_t> bytes_;
};

void WriteStrings(Image& image, std::span<const std::string> strings,
                  std::span<const uint64_t> addrs) {
  for (size_t i = 0; i < strings.size(); ++i) image.String(addrs[i], strings[i]);
}

// argc, argv[], NULL, envp[], NULL, auxv: the part the program reads from sp.
void WriteTable(Image& image, const Layout& l, std::span<const AuxEntry> auxv) {
  uint64_t at = l.sp;
  auto push = [&](uint64_t value) {
    image.Word(at, value);
    at += kWord;
  };
  push(l.argv.size());
  for (uint64_t addr : l.argv) push(addr);
  push(0);
  for (uint64_t addr : l.envp) push(addr);
  push(0);
  for (const AuxEntry& e : auxv) {
    push(e.type);
    push(e.value);
  }
}

}  // namespace

Result<StackImage> BuildStack(uint64_t stack_top, const StackSpec& spec, uint64_t max_bytes) {
  // Linux 5.18+ never starts a program with argc == 0, so programs that
  // start at argv[1] do not walk into envp (do_execveat_common()).
  static const std::string kEmptyArg;
  std::span<const std::string> argv = spec.argv;
  if (argv.empty()) argv = std::span(&kEmptyArg, 1);

  TRY(CheckAuxv(spec.auxv));
  TRY(CheckArgLimits(argv, spec, max_bytes));
  // RANDOM, EXECFN, maybe PLATFORM, and NULL join the caller's entries.
  uint64_t aux_entries = spec.auxv.size() + (spec.platform.empty() ? 3 : 4);
  uint64_t table_words = 1 + (argv.size() + 1) + (spec.envp.size() + 1) + 2 * aux_entries;
  Layout l = TRY(Plan(stack_top, argv, spec, table_words));

  Image image(l.sp, stack_top);
  image.String(l.execfn, spec.execfn);
  WriteStrings(image, spec.envp, l.envp);
  WriteStrings(image, argv, l.argv);
  if (l.platform) image.String(*l.platform, spec.platform);
  image.Bytes(l.random, spec.random.data(), spec.random.size());
  WriteTable(image, l, FullAuxv(spec, l));
  StackImage out{.sp = l.sp, .bytes = std::move(image).Release()};
  out.arg_start = l.argv.front();
  out.arg_end = l.argv.back() + argv.back().size() + 1;
  out.env_start = spec.envp.empty() ? out.arg_end : l.envp.front();
  out.env_end = spec.envp.empty() ? out.arg_end : l.envp.back() + spec.envp.back().size() + 1;
  return out;
}

}  // namespace husk::loader
