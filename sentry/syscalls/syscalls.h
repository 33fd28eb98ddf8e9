// The syscall layer: arguments, handlers and the table that maps numbers
// to them. Only the dispatcher includes this; handlers live in one file per
// family (file.cc, rw.cc, fd.cc, mm.cc, process.cc, signal.cc, time.cc).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "sentry/kernel/task.h"

namespace husk::syscalls {

using kernel::Task;

// The six raw arguments of a syscall, with typed views.
struct SyscallArgs {
  uint64_t raw[6] = {};

  uint64_t u64(int i) const { return raw[i]; }
  int64_t i64(int i) const { return static_cast<int64_t>(raw[i]); }
  uint32_t u32(int i) const { return static_cast<uint32_t>(raw[i]); }
  int i32(int i) const { return static_cast<int>(raw[i]); }
  // File descriptors are ints: the upper 32 bits are ignored, as in Linux.
  int fd(int i) const { return static_cast<int>(raw[i]); }
  uint64_t ptr(int i) const { return raw[i]; }
  uint64_t size(int i) const { return raw[i]; }
};

using Handler = Result<uint64_t> (*)(Task&, const SyscallArgs&);

enum class Support { kFull, kPartial, kUnimplemented };

// One row of the table. `args` describes the arguments for --strace, one
// comma-separated kind per argument (see strace.h).
struct SyscallInfo {
  int nr;
  std::string_view name;
  Handler handler;  // null: ENOSYS
  Support support;
  std::string_view note;
  std::string_view args;
};

// The row for `nr`, or null for numbers Linux does not define.
const SyscallInfo* LookupSyscall(uint64_t nr);
// All rows, ascending by number.
std::span<const SyscallInfo> AllSyscalls();

// Runs one syscall for `t` from its registers and stores the result in rax.
void Dispatch(Task& t);

// Largest count read/write transfer in one call (MAX_RW_COUNT).
inline constexpr uint64_t kMaxRwCount = 0x7ffff000;

}  // namespace husk::syscalls
