// Fuzz target for loader/: every input goes through ParseElf (whole, and again
// through a reader that returns a few bytes per call), ParseShebang and
// BuildStack. Beyond "no crash, no sanitizer report", each result must keep
// the promises loader.h makes; a broken promise aborts like a crash.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "loader/loader.h"

namespace husk::loader {
namespace {

constexpr uint64_t kUserEnd = (uint64_t{1} << 47) - 4096;

void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "loader_fuzz: broken invariant: %s\n", what);
  std::abort();
}

// A FileReader over the input that hands out at most `chunk` bytes per call,
// so the short-read paths run too.
class InputReader : public FileReader {
 public:
  InputReader(std::span<const uint8_t> bytes, size_t chunk) : bytes_(bytes), chunk_(chunk) {}

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    if (offset >= bytes_.size()) return 0;
    size_t n = std::min<uint64_t>({buf.size(), bytes_.size() - offset, chunk_});
    std::memcpy(buf.data(), bytes_.data() + offset, n);
    return n;
  }
  uint64_t Size() override { return bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
  size_t chunk_;
};

void CheckImage(const ElfImage& image) {
  Require(!image.segments.empty(), "no segments");
  Require(image.phnum >= 1 && image.phnum <= 65536 / 56, "phnum out of range");
  Require(image.entry < kUserEnd, "entry above user space");
  uint64_t prev_end = 0;
  for (const Segment& s : image.segments) {
    Require(s.filesz <= s.memsz, "filesz > memsz");
    Require(s.vaddr < kUserEnd && s.memsz <= kUserEnd - s.vaddr, "segment above user space");
    Require(s.vaddr >= prev_end, "segments unsorted or overlapping");
    Require((s.prot & ~7) == 0, "prot has stray bits");
    prev_end = s.vaddr + s.memsz;
  }
  Require(image.min_vaddr % 4096 == 0 && image.max_vaddr % 4096 == 0, "bounds not page aligned");
  Require(image.min_vaddr <= image.segments.front().vaddr, "min_vaddr too high");
  Require(image.max_vaddr >= prev_end && image.max_vaddr <= kUserEnd, "max_vaddr wrong");
  Require(std::has_single_bit(image.align) && image.align >= 4096, "bad alignment");
  if (image.interp) {
    Require(image.interp->size() < 4096, "interp too long");
    Require(image.interp->find('\0') == std::string::npos, "NUL inside interp");
  }
}

bool SameImage(const ElfImage& a, const ElfImage& b) {
  auto same_segment = [](const Segment& x, const Segment& y) {
    return x.vaddr == y.vaddr && x.memsz == y.memsz && x.filesz == y.filesz &&
           x.offset == y.offset && x.prot == y.prot;
  };
  return a.dynamic == b.dynamic && a.entry == b.entry && a.interp == b.interp &&
         a.phdr_vaddr == b.phdr_vaddr && a.phnum == b.phnum && a.exec_stack == b.exec_stack &&
         a.min_vaddr == b.min_vaddr && a.max_vaddr == b.max_vaddr && a.align == b.align &&
         std::ranges::equal(a.segments, b.segments, same_segment);
}

void FuzzElf(std::span<const uint8_t> bytes) {
  InputReader whole(bytes, SIZE_MAX);
  Result<ElfImage> image = ParseElf(whole);
  if (image) CheckImage(*image);
  // Short reads must not change the answer.
  InputReader stingy(bytes, 7);
  Result<ElfImage> again = ParseElf(stingy);
  Require(image.has_value() == again.has_value(), "short reads changed success");
  if (image) {
    Require(SameImage(*image, *again), "short reads changed the image");
  } else {
    Require(image.error() == again.error(), "short reads changed the errno");
  }
  Require(IsElf(bytes) || !image, "parsed a file without ELF magic");
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

void FuzzShebang(std::span<const uint8_t> bytes) {
  Result<std::optional<Shebang>> r = ParseShebang(bytes);
  // Linux reads 256 bytes: anything after them must not matter.
  Result<std::optional<Shebang>> head =
      ParseShebang(bytes.first(std::min<size_t>(bytes.size(), 256)));
  Require(r.has_value() == head.has_value(), "bytes past 256 changed success");
  if (!r) return;
  Require(r->has_value() == head->has_value(), "bytes past 256 changed the answer");
  if (!r->has_value()) return;
  const Shebang& s = **r;
  Require(s.interp == (*head)->interp && s.arg == (*head)->arg, "bytes past 256 changed the line");
  Require(bytes.size() >= 2 && bytes[0] == '#' && bytes[1] == '!', "script without #!");
  Require(!s.interp.empty() && s.interp.size() <= 253, "interp length");
  for (char c : s.interp)
    Require(!IsBlank(c) && c != '\0' && c != '\n', "blank, NUL or newline in interp");
  if (s.arg) {
    Require(s.arg->find('\0') == std::string::npos, "NUL in arg");
    Require(s.arg->find('\n') == std::string::npos, "newline in arg");
    Require(s.arg->empty() || !IsBlank(s.arg->front()), "arg starts with a blank");
  }
}

// Splits the input at NULs into argv and envp strings (the first byte says
// how many are argv) and builds a stack with a limit taken from the input.
void FuzzStack(std::span<const uint8_t> bytes) {
  if (bytes.size() < 3) return;
  StackSpec spec;
  size_t argc = bytes[0] % 8;
  uint64_t max_bytes = uint64_t{bytes[1]} << 6;
  uint64_t top = 0x7ffffffff000 - bytes[2];
  std::string current;
  for (uint8_t b : bytes.subspan(3)) {
    if (b != 0) {
      current.push_back(static_cast<char>(b));
      continue;
    }
    (spec.argv.size() < argc ? spec.argv : spec.envp).push_back(std::move(current));
    current.clear();
  }
  spec.execfn = current;
  Result<StackImage> image = BuildStack(top, spec, max_bytes);
  if (!image) {
    Require(image.error() == Errno(E2BIG), "BuildStack failed without E2BIG");
    return;
  }
  Require(image->sp % 16 == 0, "sp not 16-byte aligned");
  Require(image->sp + image->bytes.size() == top, "image does not end at stack_top");
  uint64_t got_argc;
  std::memcpy(&got_argc, image->bytes.data(), 8);
  Require(got_argc == std::max<size_t>(spec.argv.size(), 1), "argc");
}

}  // namespace
}  // namespace husk::loader

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  husk::loader::FuzzElf(bytes);
  husk::loader::FuzzShebang(bytes);
  husk::loader::FuzzStack(bytes);
  return 0;
}
