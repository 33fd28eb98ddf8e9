// Pure formatting for --strace: syscall arguments, structs and results in
// strace's own notation (as printed by strace 6.1 with its defaults -s 32
// -a 40), so that `sentry run --strace` and `strace -f` outputs can be
// diffed. Depends only on the C++ library, fmt and Linux headers, never on
// the sentry, so it is unit-tested on its own (tests/unit/strace).
//
// The formats were taken by running strace on small programs; where strace
// itself is odd (termios prints "c_oflag=NL0|...|FF0|" with a trailing bar,
// TCSETS is "SNDCTL_TMR_START or TCSETS") we print the same, on purpose.
#pragma once

#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace husk::strace {

// strace -s 32: strings and buffers show at most this many bytes, arrays
// at most this many elements.
inline constexpr size_t kMaxStrLen = 32;
// strace -a 40: " = result" starts at this column when the call is shorter.
inline constexpr size_t kResultColumn = 40;
// strace reads paths up to PATH_MAX, not -s.
inline constexpr size_t kMaxPathLen = 4096;

// ABI structs the formatter reads from application memory. Kernel layouts
// on x86-64, not glibc's where the two differ.
struct KernelSigaction {
  uint64_t handler = 0;
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};
static_assert(sizeof(KernelSigaction) == 32, "kernel struct sigaction (x86-64)");

struct KernelTermios {
  uint32_t c_iflag = 0;
  uint32_t c_oflag = 0;
  uint32_t c_cflag = 0;
  uint32_t c_lflag = 0;
  uint8_t c_line = 0;
  uint8_t c_cc[19] = {};
};
static_assert(sizeof(KernelTermios) == 36, "kernel struct termios (TCGETS)");

struct KernelWinsize {
  uint16_t ws_row = 0;
  uint16_t ws_col = 0;
  uint16_t ws_xpixel = 0;
  uint16_t ws_ypixel = 0;
};
static_assert(sizeof(KernelWinsize) == 8);

struct KernelRlimit {
  uint64_t rlim_cur = 0;
  uint64_t rlim_max = 0;
};
static_assert(sizeof(KernelRlimit) == 16);

struct KernelTimespec {
  int64_t tv_sec = 0;
  int64_t tv_nsec = 0;
};
static_assert(sizeof(KernelTimespec) == 16);

struct KernelTimezone {
  int32_t tz_minuteswest = 0;
  int32_t tz_dsttime = 0;
};

// glibc's struct stat, statx, utsname and sysinfo have the kernel layout on x86-64.
static_assert(sizeof(struct stat) == 144, "kernel struct stat (x86-64)");
static_assert(sizeof(struct statx) == 256, "kernel struct statx");
static_assert(sizeof(struct utsname) == 6 * 65, "kernel struct new_utsname");
static_assert(sizeof(struct sysinfo) == 112, "kernel struct sysinfo (x86-64)");

// One symbolic name of a flag bit set or an enumerated value.
struct Name {
  uint64_t value;
  std::string_view name;
};

// ---- Scalars -------------------------------------------------------------

enum class Quoting { kOctal, kHex };

// `bytes` as a strace string literal: "abc\n\0\377". Shows at most `limit`
// bytes and appends "..." after the closing quote when there were more
// (`bytes` longer than `limit`, or `truncated`). kHex prints every byte as
// \xNN (strace does that for getrandom).
std::string QuoteString(std::string_view bytes, size_t limit = kMaxStrLen, bool truncated = false,
                        Quoting quoting = Quoting::kOctal);

// 0 as "0", anything else as "0x1f".
std::string FormatHex(uint64_t v);
// 0 as "NULL", anything else as "0x7ffd1234".
std::string FormatPointer(uint64_t v);
// An octal mode the way strace prints modes: 0644, 022, 000.
std::string FormatOctal(uint64_t v);

// A bit set: the names are tried in order, each consuming its bits (so a
// multi-bit name listed first wins), leftover bits follow as |0x...
// 0 prints as `zero`; a value none of whose bits has a name prints as
// "0x18 /* unknown */", or "0x18" when `unknown` is empty.
std::string FormatFlags(uint64_t v, std::span<const Name> names, std::string_view zero,
                        std::string_view unknown);
// An enumerated value: its name, or "0x9 /* unknown */".
std::string FormatValue(uint64_t v, std::span<const Name> names, std::string_view unknown);

// ---- Argument kinds ------------------------------------------------------

// AT_FDCWD or the descriptor.
std::string FormatDirfd(int fd);
// open(2) flags: O_RDONLY|O_CREAT|O_CLOEXEC.
std::string FormatOpenFlags(uint32_t v);
// dup3(2) flags: O_CLOEXEC, 0.
std::string FormatDup3Flags(uint32_t v);
// A permission mode argument (open, mkdir, umask): 0644. Only the low 16
// bits, as strace (umode_t).
std::string FormatMode(uint64_t v);
// A file mode from a stat result: S_IFREG|S_ISUID|0755.
std::string FormatFileMode(uint32_t mode);
std::string FormatProt(uint64_t v);
std::string FormatMmapFlags(uint64_t v);
std::string FormatMremapFlags(uint64_t v);
std::string FormatMadvice(uint32_t v);
std::string FormatWhence(uint32_t v);
// Generic *at(2) flags (newfstatat, unlinkat): AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH.
std::string FormatAtFlags(uint32_t v);
// faccessat2(2) flags: AT_EACCESS...
std::string FormatFaccessatFlags(uint32_t v);
// statx(2) flags: AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW.
std::string FormatStatxFlags(uint32_t v);
// statx(2) mask: STATX_BASIC_STATS|STATX_MNT_ID.
std::string FormatStatxMask(uint32_t v);
// access(2) mode: F_OK, R_OK|W_OK.
std::string FormatAccessMode(uint32_t v);
std::string FormatGrndFlags(uint32_t v);
std::string FormatClock(uint32_t v);
std::string FormatArchPrctlCode(uint32_t v);
std::string FormatRlimitResource(uint32_t v);
// An rlimit value: RLIM64_INFINITY, 8192*1024, 1000.
std::string FormatRlimValue(uint64_t v);
std::string FormatRlimit(const KernelRlimit& r);
std::string FormatFcntlCmd(uint32_t v);
// How fcntl's third argument prints for `cmd`: nullopt when strace omits it
// (F_GETFD...), the address for the struct-pointer commands.
std::optional<std::string> FormatFcntlArg(uint32_t cmd, uint64_t arg);
// " = 0x1 (flags FD_CLOEXEC)" for F_GETFD, " = 0x8002 (flags O_RDWR|O_LARGEFILE)"
// for F_GETFL; FormatResult for the other commands.
std::string FormatFcntlResult(uint32_t cmd, int64_t ret);
// F_SETFD argument / F_GETFD result: FD_CLOEXEC.
std::string FormatFdFlags(uint64_t v);
std::string FormatSigHow(uint32_t v);
// SIGINT, SIGRTMIN, SIGRT_3; other numbers in decimal.
std::string FormatSignal(int sig);
// [INT TERM], [], or ~[KILL STOP] when most signals are in the set.
std::string FormatSigset(uint64_t mask);
std::string FormatSaFlags(uint64_t v);
// {sa_handler=SIG_DFL, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f...}
std::string FormatSigaction(const KernelSigaction& a);
// How an ioctl's third argument prints.
enum class IoctlArg {
  kNone,        // not printed: ioctl(0, FIOCLEX)
  kDecimal,     // TCSBRK, 0
  kHex,         // unknown requests: 0x5
  kPointer,     // an address strace does not decode here: NULL, 0x7ffd...
  kTcxonc,      // TCOOFF...
  kTcflsh,      // TCIFLUSH...
  kIntIn,       // [1], read before the call
  kIntOut,      // [1], written by the call
  kTermiosIn,   // struct termios, read
  kTermiosOut,  // struct termios, written
  kWinsizeIn,   // struct winsize, read
  kWinsizeOut,  // struct winsize, written
};
IoctlArg ClassifyIoctl(uint32_t cmd);
// The ioctl request: TCGETS, or _IOC(_IOC_READ, 0x54, 0x1, 0x8).
std::string FormatIoctlCmd(uint32_t cmd);
// The third argument for the kinds that need no memory (kDecimal, kHex,
// kTcxonc, kTcflsh); a pointer for the others.
std::string FormatIoctlValue(uint32_t cmd, uint64_t arg);
// {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|..., c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|..., ...}
std::string FormatTermios(const KernelTermios& t);
std::string FormatWinsize(const KernelWinsize& w);

// ---- Structs -------------------------------------------------------------

// strace's abbreviated stat: {st_mode=S_IFREG|0644, st_size=123, ...}; for
// devices st_rdev=makedev(0x88, 0x1) instead of the size.
std::string FormatStat(const struct stat& st);
// {stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0,
//  stx_mode=S_IFREG|0644, stx_size=123, ...}
std::string FormatStatx(const struct statx& sx);
std::string FormatTimespec(const KernelTimespec& ts);
// struct timeval has the timespec layout; only the field name differs.
std::string FormatTimeval(const KernelTimespec& tv);
std::string FormatTimezone(const KernelTimezone& tz);
// {sysname="Linux", nodename="vm", ...}
std::string FormatUtsname(const struct utsname& u);
std::string FormatSysinfo(const struct sysinfo& si);
// A CPU mask as sched_getaffinity prints it: [0 1].
std::string FormatCpuSet(std::string_view bytes);
// Seconds since the epoch as strace annotates them: 2026-11-23T11:51:22+0000 (local time).
std::string FormatIsoTime(int64_t secs);

// One element of an iovec array, with the data to show (already limited
// by the caller to what the call transferred), or nullopt to show the
// address.
struct IovecView {
  uint64_t base = 0;
  uint64_t len = 0;
  std::optional<std::string> data;  // at most kMaxStrLen bytes
  bool data_truncated = false;      // more bytes than `data` holds
};
// [{iov_base="abc", iov_len=3}, ...]; `more` appends ", ..." for arrays
// longer than kMaxStrLen elements.
std::string FormatIovecs(std::span<const IovecView> iov, bool more);

// ---- Results and lines ---------------------------------------------------

// How a successful result prints: decimal, hex (mmap, brk), octal (umask),
// or "?" (exit: the call does not return).
enum class ResultStyle { kDecimal, kHex, kOctal, kNone };

// " = 3", " = 0x7f12000", " = -1 ENOENT (No such file or directory)",
// " = ? ERESTARTSYS (To be restarted if SA_RESTART is set)". `note` is
// strace's annotation of a success: " = 0x1 (flags FD_CLOEXEC)".
std::string FormatResult(int64_t ret, ResultStyle style = ResultStyle::kDecimal,
                         std::string_view note = {});
std::string FormatResult(int64_t ret, bool hex);
// True when `ret` is an error (-4095..-1), as the kernel ABI defines.
inline bool IsError(int64_t ret) { return ret < 0 && ret >= -4095; }

// The full line: `call` (such as `close(3)`), padded to kResultColumn, then
// `result` (from FormatResult) and a newline.
std::string FormatLine(std::string_view call, std::string_view result);

// execve("/bin/ls", ["ls", "-l"], 0x7ffd... /* 41 vars */) = 0, for the
// exec that starts the program. `argv` holds at most kMaxStrLen strings;
// `argv_more` says there were more.
std::string FormatExecve(std::string_view path, std::span<const std::string> argv, bool argv_more,
                         uint64_t envp, size_t envc, int64_t ret);
// "+++ exited with 0 +++\n"
std::string FormatExited(int code);
// "+++ killed by SIGSEGV (core dumped) +++\n"
std::string FormatKilled(int sig, bool core_dumped);
// "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10} ---\n"
// for a fault signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) raised by the
// kernel at `addr`.
std::string FormatFaultSignal(int sig, int code, uint64_t addr);

}  // namespace husk::strace
