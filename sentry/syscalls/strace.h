// --strace: one line per syscall, in strace's own format, so that
// `sentry run --strace prog` and `strace -f prog` can be diffed.
//
// Each row of the syscall table (table.cc) lists the kind of each argument
// in SyscallInfo::args, comma-separated:
//
//   fd          int                        3
//   dirfd       AT_FDCWD or int            AT_FDCWD
//   path        NUL-terminated, full       "/etc/passwd"
//   str         NUL-terminated, -s 32      "abc"...
//   buf         input bytes, length is the next argument
//   obuf        output bytes, shown up to the result when the call succeeded
//   u, d, x     unsigned, signed, hex      4096, -1, 0x20
//   ptr         address                    NULL, 0x7ffd...
//   oflags mode prot mflags mremapflags madvice whence sig sighow sigset
//   sigaction ioctl fcntlcmd stat iov oiov atflags amode rlimitres
//   archprctl clock grndflags fmode: the symbolic forms of strace_format.h
//   (fmode: a mode with its file type, S_IFIFO|0644).
//
// A row with no kinds (unimplemented syscalls) prints its raw arguments in
// hex, as strace does for calls it does not decode. Some syscalls print one
// argument depending on another (open's mode only with O_CREAT, fcntl's
// and ioctl's third argument) or decode a struct the table calls `ptr`
// (rlimit, timespec, utsname, ...); FormatSyscall handles those by number.
#pragma once

#include <cstdint>
#include <string>

#include "sentry/syscalls/syscalls.h"

namespace husk::syscalls {

// The strace line for syscall `nr` with arguments `a` that returned `ret`
// (a value or -errno), ending in "\n":
//   openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
// Called after the handler ran, so output arguments show what the call
// wrote. Reads application memory only through t.mm()'s CopyInPartial and
// CopyInString: an unreadable pointer prints as its address, never faults.
std::string FormatSyscall(Task& t, uint64_t nr, const SyscallArgs& a, int64_t ret);

}  // namespace husk::syscalls
