// The syscall table (sentry/syscalls/table.cc) as data: numbers agree with
// Linux's <asm/unistd_64.h>, rows are ordered and unique, the support level
// agrees with the handler, LookupSyscall finds every row, and --strace
// knows every argument kind the rows use.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "sentry/syscalls/syscalls.h"
#include "tests/unit/syscalls/linux_syscall_numbers.h"

namespace husk::syscalls::testing {
namespace {

// The argument kinds sentry/syscalls/strace.h documents (and strace.cc's
// Arg() decodes). A new kind goes into both places and here.
const std::set<std::string_view> kKnownKinds = {
    "fd",        "dirfd",     "path",        "str",       "buf",       "obuf",     "u",
    "d",         "x",         "ptr",         "oflags",    "mode",      "prot",     "mflags",
    "mremapflags", "madvice", "whence",      "sig",       "sighow",    "sigset",   "sigaction",
    "ioctl",     "fcntlcmd",  "stat",        "iov",       "oiov",      "atflags",  "amode",
    "rlimitres", "archprctl", "clock",       "grndflags", "fmode",
};

std::vector<std::string_view> SplitKinds(std::string_view args) {
  std::vector<std::string_view> out;
  if (args.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t comma = args.find(',', start);
    out.push_back(args.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

const char* SupportName(Support s) {
  switch (s) {
    case Support::kFull: return "Full";
    case Support::kPartial: return "Partial";
    case Support::kUnimplemented: return "Unimplemented";
  }
  return "?";
}

TEST(SyscallTable, IsNotEmpty) {
  EXPECT_GT(AllSyscalls().size(), 300u);
}

TEST(SyscallTable, NumbersMatchAsmUnistd64) {
  for (const auto& h : kHeaderSyscalls) {
    for (const auto& row : AllSyscalls()) {
      if (row.name == h.name) {
        EXPECT_EQ(row.nr, h.nr) << row.name << ": the table says " << row.nr
                                << ", <asm/unistd_64.h> says __NR_" << h.name << " = " << h.nr;
      }
    }
  }
}

TEST(SyscallTable, EveryHeaderSyscallHasItsRow) {
  for (const auto& h : kHeaderSyscalls) {
    const SyscallInfo* row = LookupSyscall(h.nr);
    ASSERT_NE(row, nullptr) << "no row for " << h.nr << " (" << h.name << ")";
    EXPECT_EQ(row->name, h.name) << "row " << h.nr;
  }
}

TEST(SyscallTable, RowsTheHeaderKnowsUseItsNames) {
  std::set<std::string_view> header_names;
  for (const auto& h : kHeaderSyscalls) header_names.insert(h.name);
  for (const auto& row : AllSyscalls()) {
    if (row.nr > kHeaderMaxNr) continue;  // newer than the header
    EXPECT_TRUE(header_names.contains(row.name)) << row.nr << " " << row.name;
  }
}

TEST(SyscallTable, RowsAreSortedAndUnique) {
  auto rows = AllSyscalls();
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_LT(rows[i - 1].nr, rows[i].nr)
        << rows[i - 1].name << " (" << rows[i - 1].nr << ") before " << rows[i].name << " ("
        << rows[i].nr << ")";
  }
  std::set<std::string_view> names;
  for (const auto& row : rows) {
    EXPECT_FALSE(row.name.empty()) << row.nr;
    EXPECT_TRUE(names.insert(row.name).second) << "duplicate name " << row.name;
    EXPECT_GE(row.nr, 0) << row.name;
  }
}

TEST(SyscallTable, HandlerPresentExactlyWhenSupported) {
  for (const auto& row : AllSyscalls()) {
    if (row.support == Support::kUnimplemented) {
      EXPECT_EQ(row.handler, nullptr) << row.name << " is Unimplemented but has a handler";
    } else {
      EXPECT_NE(row.handler, nullptr) << row.name << " is " << SupportName(row.support)
                                      << " but has no handler";
    }
  }
}

// gVisor's rule: a partial syscall says what is missing, so the generated
// compatibility page is useful.
TEST(SyscallTable, PartialRowsSayWhatIsMissing) {
  for (const auto& row : AllSyscalls()) {
    if (row.support == Support::kPartial) {
      EXPECT_FALSE(row.note.empty()) << row.name;
    }
  }
}

TEST(SyscallTable, LookupFindsEveryRow) {
  for (const auto& row : AllSyscalls()) {
    const SyscallInfo* found = LookupSyscall(static_cast<uint64_t>(row.nr));
    ASSERT_NE(found, nullptr) << row.name;
    EXPECT_EQ(found, &row) << row.name;
    EXPECT_EQ(found->nr, row.nr);
  }
}

TEST(SyscallTable, LookupOfUndefinedNumbersIsNull) {
  std::set<int> defined;
  for (const auto& row : AllSyscalls()) defined.insert(row.nr);
  for (int nr = 0; nr < 1024; ++nr) {
    if (!defined.contains(nr)) {
      EXPECT_EQ(LookupSyscall(nr), nullptr) << nr;
    }
  }
  EXPECT_EQ(LookupSyscall(335), nullptr);  // x86-64 leaves 335..423 unused
  EXPECT_EQ(LookupSyscall(423), nullptr);
  EXPECT_EQ(LookupSyscall(UINT64_MAX), nullptr);
  EXPECT_EQ(LookupSyscall(0x40000000), nullptr);  // __X32_SYSCALL_BIT
  EXPECT_EQ(LookupSyscall(uint64_t{1} << 32), nullptr);
}

TEST(SyscallTable, ArgumentKindsAreKnownToStrace) {
  for (const auto& row : AllSyscalls()) {
    auto kinds = SplitKinds(row.args);
    EXPECT_LE(kinds.size(), 6u) << row.name << ": " << row.args;
    for (auto kind : kinds) {
      EXPECT_TRUE(kKnownKinds.contains(kind))
          << row.name << " uses argument kind \"" << kind << "\" that strace.h does not list";
    }
  }
}

}  // namespace
}  // namespace husk::syscalls::testing
