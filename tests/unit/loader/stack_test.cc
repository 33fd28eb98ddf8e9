// BuildStack: the initial stack a program finds at entry (System V x86-64
// ABI §3.4.1, Linux's create_elf_tables()). Each test reads the image back the
// way a C runtime's _start would.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "loader/loader.h"

namespace husk::loader {
namespace {

constexpr uint64_t kTop = 0x7ffffffff000;
constexpr uint64_t kNoLimit = UINT64_MAX;

// Reads an image back through stack addresses.
class StackView {
 public:
  StackView(const StackImage& image) : image_(image) {}  // NOLINT: implicit for brevity

  bool Contains(uint64_t addr, uint64_t len) const {
    return addr >= image_.sp && len <= image_.bytes.size() &&
           addr - image_.sp <= image_.bytes.size() - len;
  }
  uint64_t Word(uint64_t addr) const {
    if (!Contains(addr, 8)) {
      ADD_FAILURE() << "word at " << std::hex << addr << " outside the image";
      return 0;
    }
    uint64_t v;
    std::memcpy(&v, &image_.bytes[addr - image_.sp], 8);
    return v;
  }
  std::string String(uint64_t addr) const {
    std::string s;
    for (; Contains(addr, 1); ++addr) {
      char c = static_cast<char>(image_.bytes[addr - image_.sp]);
      if (c == '\0') return s;
      s.push_back(c);
    }
    ADD_FAILURE() << "unterminated string";
    return s;
  }

 private:
  const StackImage& image_;
};

// What _start sees: argc, argv[], envp[], auxv.
struct Entry {
  std::vector<uint64_t> argv;  // pointers
  std::vector<uint64_t> envp;
  std::vector<AuxEntry> auxv;  // up to and including AT_NULL
  uint64_t auxv_end = 0;       // address just past AT_NULL
  std::map<uint64_t, uint64_t> aux;
};

Entry ReadEntry(const StackImage& image) {
  StackView v(image);
  Entry e;
  uint64_t at = image.sp;
  uint64_t argc = v.Word(at);
  at += 8;
  for (uint64_t i = 0; i < argc && i < 1000; ++i, at += 8) e.argv.push_back(v.Word(at));
  EXPECT_EQ(v.Word(at), 0u) << "argv not NULL-terminated";
  at += 8;
  for (; v.Contains(at, 8) && v.Word(at) != 0; at += 8) e.envp.push_back(v.Word(at));
  at += 8;
  while (v.Contains(at, 16)) {
    AuxEntry a{v.Word(at), v.Word(at + 8)};
    at += 16;
    e.auxv.push_back(a);
    e.aux[a.type] = a.value;
    if (a.type == AT_NULL) break;
  }
  e.auxv_end = at;
  return e;
}

StackSpec SampleSpec() {
  StackSpec spec;
  spec.argv = {"prog", "-x", "hello world"};
  spec.envp = {"A=1", "PATH=/bin:/usr/bin"};
  spec.execfn = "/usr/bin/prog";
  for (int i = 0; i < 16; ++i) spec.random[i] = static_cast<uint8_t>(0xa0 + i);
  spec.auxv = {{AT_PAGESZ, 4096}, {AT_ENTRY, 0x401000}, {AT_PHNUM, 11}};
  return spec;
}

TEST(BuildStack, ArgvEnvpAndAuxvPointAtTheirStrings) {
  StackSpec spec = SampleSpec();
  auto image = BuildStack(kTop, spec, kNoLimit);
  ASSERT_TRUE(image) << ErrnoName(image.error().value());
  StackView v(*image);
  Entry e = ReadEntry(*image);

  ASSERT_EQ(e.argv.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(v.String(e.argv[i]), spec.argv[i]);
  ASSERT_EQ(e.envp.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(v.String(e.envp[i]), spec.envp[i]);

  ASSERT_FALSE(e.auxv.empty());
  EXPECT_EQ(e.auxv.back().type, uint64_t{AT_NULL});
  EXPECT_EQ(e.aux[AT_PAGESZ], 4096u);
  EXPECT_EQ(e.aux[AT_ENTRY], 0x401000u);
  EXPECT_EQ(e.aux[AT_PHNUM], 11u);
  EXPECT_EQ(v.String(e.aux[AT_EXECFN]), "/usr/bin/prog");
  EXPECT_EQ(v.String(e.aux[AT_PLATFORM]), "x86_64");
  ASSERT_TRUE(v.Contains(e.aux[AT_RANDOM], 16));
  EXPECT_EQ(0, std::memcmp(&image->bytes[e.aux[AT_RANDOM] - image->sp], spec.random.data(), 16));
}

TEST(BuildStack, CallerAuxvComesFirstInOrder) {
  auto image = BuildStack(kTop, SampleSpec(), kNoLimit);
  ASSERT_TRUE(image);
  Entry e = ReadEntry(*image);
  ASSERT_EQ(e.auxv.size(), 7u);
  EXPECT_EQ(e.auxv[0].type, uint64_t{AT_PAGESZ});
  EXPECT_EQ(e.auxv[1].type, uint64_t{AT_ENTRY});
  EXPECT_EQ(e.auxv[2].type, uint64_t{AT_PHNUM});
  EXPECT_EQ(e.auxv[3].type, uint64_t{AT_RANDOM});
  EXPECT_EQ(e.auxv[4].type, uint64_t{AT_EXECFN});
  EXPECT_EQ(e.auxv[5].type, uint64_t{AT_PLATFORM});
  EXPECT_EQ(e.auxv[6].type, uint64_t{AT_NULL});
}

TEST(BuildStack, ImageEndsAtStackTopAndSpIsAligned) {
  auto image = BuildStack(kTop, SampleSpec(), kNoLimit);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->sp % 16, 0u);
  EXPECT_EQ(image->sp + image->bytes.size(), kTop);
}

TEST(BuildStack, SpIsAlignedWhateverTheSizes) {
  for (uint64_t skew = 0; skew < 32; ++skew) {
    for (size_t envc = 0; envc < 4; ++envc) {
      StackSpec spec = SampleSpec();
      spec.envp.resize(envc, "X=" + std::string(skew, 'y'));
      spec.auxv.resize(skew % 3);
      auto image = BuildStack(kTop - skew, spec, kNoLimit);
      ASSERT_TRUE(image);
      EXPECT_EQ(image->sp % 16, 0u) << skew << " " << envc;
      EXPECT_EQ(image->sp + image->bytes.size(), kTop - skew);
      EXPECT_EQ(ReadEntry(*image).envp.size(), envc);
    }
  }
}

TEST(BuildStack, StringsSitAboveTheTablesInLinuxOrder) {
  StackSpec spec = SampleSpec();
  auto image = BuildStack(kTop, spec, kNoLimit);
  ASSERT_TRUE(image);
  Entry e = ReadEntry(*image);
  // Top down: 8 zero bytes, execfn, envp strings, argv strings, platform,
  // random bytes, then the tables.
  StackView v(*image);
  EXPECT_EQ(v.Word(kTop - 8), 0u);
  EXPECT_EQ(e.aux[AT_EXECFN] + spec.execfn.size() + 1, kTop - 8);
  EXPECT_EQ(e.envp[1] + spec.envp[1].size() + 1, e.aux[AT_EXECFN]);
  EXPECT_EQ(e.envp[0] + spec.envp[0].size() + 1, e.envp[1]);
  EXPECT_EQ(e.argv[2] + spec.argv[2].size() + 1, e.envp[0]);
  EXPECT_LT(e.argv[0], e.argv[1]);
  EXPECT_LT(e.aux[AT_PLATFORM], e.argv[0]);
  EXPECT_EQ(e.aux[AT_RANDOM] + 16, e.aux[AT_PLATFORM]);
  EXPECT_LE(e.auxv_end, e.aux[AT_RANDOM]);
  EXPECT_LT(e.aux[AT_RANDOM] - e.auxv_end, 16u);  // only alignment padding between
}

TEST(BuildStack, EmptyArgvBecomesOneEmptyString) {
  StackSpec spec = SampleSpec();
  spec.argv.clear();
  auto image = BuildStack(kTop, spec, kNoLimit);
  ASSERT_TRUE(image);
  Entry e = ReadEntry(*image);
  ASSERT_EQ(e.argv.size(), 1u);
  EXPECT_EQ(StackView(*image).String(e.argv[0]), "");
  EXPECT_EQ(e.envp.size(), 2u);
}

TEST(BuildStack, EmptyEnvp) {
  StackSpec spec = SampleSpec();
  spec.envp.clear();
  auto image = BuildStack(kTop, spec, kNoLimit);
  ASSERT_TRUE(image);
  Entry e = ReadEntry(*image);
  EXPECT_EQ(e.argv.size(), 3u);
  EXPECT_TRUE(e.envp.empty());
  EXPECT_EQ(e.auxv.back().type, uint64_t{AT_NULL});
}

TEST(BuildStack, EmptyPlatformLeavesOutAtPlatform) {
  StackSpec spec = SampleSpec();
  spec.platform.clear();
  auto image = BuildStack(kTop, spec, kNoLimit);
  ASSERT_TRUE(image);
  Entry e = ReadEntry(*image);
  EXPECT_FALSE(e.aux.contains(AT_PLATFORM));
  EXPECT_TRUE(e.aux.contains(AT_RANDOM));
  EXPECT_TRUE(e.aux.contains(AT_EXECFN));
}

// Bytes Linux charges: strings with NULs (execfn too) and 8 per pointer.
uint64_t ChargedBytes(const StackSpec& spec) {
  uint64_t n = (spec.argv.size() + spec.envp.size()) * 8 + spec.execfn.size() + 1;
  for (const auto& s : spec.argv) n += s.size() + 1;
  for (const auto& s : spec.envp) n += s.size() + 1;
  return n;
}

TEST(BuildStack, OverMaxBytesIsE2big) {
  StackSpec spec = SampleSpec();
  uint64_t need = ChargedBytes(spec);
  EXPECT_TRUE(BuildStack(kTop, spec, need));
  auto r = BuildStack(kTop, spec, need - 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errno(E2BIG));
}

TEST(BuildStack, StringOverMaxArgStrlenIsE2big) {
  // MAX_ARG_STRLEN is 32 pages including the NUL.
  StackSpec spec = SampleSpec();
  spec.envp.push_back(std::string(32 * 4096 - 1, 'e'));
  EXPECT_TRUE(BuildStack(kTop, spec, kNoLimit));
  spec.envp.back().push_back('e');
  auto r = BuildStack(kTop, spec, kNoLimit);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errno(E2BIG));

  spec = SampleSpec();
  spec.execfn = std::string(32 * 4096, 'f');
  r = BuildStack(kTop, spec, kNoLimit);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errno(E2BIG));
}

TEST(BuildStack, AuxvEntriesBuildStackOwnsAreEinval) {
  for (uint64_t type : {AT_NULL, AT_RANDOM, AT_EXECFN, AT_PLATFORM}) {
    StackSpec spec = SampleSpec();
    spec.auxv.push_back({type, 1});
    auto r = BuildStack(kTop, spec, kNoLimit);
    ASSERT_FALSE(r) << type;
    EXPECT_EQ(r.error(), Errno(EINVAL));
  }
}

TEST(BuildStack, StackTopTooLowIsEinval) {
  auto r = BuildStack(64, SampleSpec(), kNoLimit);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errno(EINVAL));
}

TEST(MaxArgBytes, FollowsBprmStackLimits) {
  EXPECT_EQ(MaxArgBytes(8 << 20), 2u << 20);      // default 8 MiB rlimit
  EXPECT_EQ(MaxArgBytes(UINT64_MAX), 6u << 20);   // unlimited: 3/4 of _STK_LIM
  EXPECT_EQ(MaxArgBytes(100 << 10), 128u << 10);  // never below ARG_MAX
}

}  // namespace
}  // namespace husk::loader
