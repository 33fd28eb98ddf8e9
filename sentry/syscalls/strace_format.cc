// strace-format printing of values, flags and structs. The name tables list
// names in the order strace prints them (found by running strace 6.1 on
// every bit); values are the x86-64 kernel's, written as numbers because
// glibc's headers differ from the kernel's for some (O_LARGEFILE is 0 in
// glibc on x86-64) and lack others (__O_SYNC).
#include "sentry/syscalls/strace_format.h"

#include <fcntl.h>
#include <sys/sysmacros.h>

#include <bit>
#include <csignal>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "base/errno.h"

namespace husk::strace {
namespace {

constexpr Name kOpenFlags[] = {
    {0100, "O_CREAT"},         {0200, "O_EXCL"},          {0400, "O_NOCTTY"},
    {01000, "O_TRUNC"},        {02000, "O_APPEND"},       {04000, "O_NONBLOCK"},
    {04010000, "O_SYNC"},      {010000, "O_DSYNC"},       {04000000, "__O_SYNC"},
    {040000, "O_DIRECT"},      {0100000, "O_LARGEFILE"},  {0400000, "O_NOFOLLOW"},
    {01000000, "O_NOATIME"},   {02000000, "O_CLOEXEC"},   {010000000, "O_PATH"},
    {020200000, "O_TMPFILE"},  {020000000, "__O_TMPFILE"}, {0200000, "O_DIRECTORY"},
    {020000, "FASYNC"},
};
constexpr std::string_view kAccModes[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};

constexpr Name kProt[] = {
    {0x1, "PROT_READ"}, {0x2, "PROT_WRITE"}, {0x4, "PROT_EXEC"}, {0x8, "PROT_SEM"},
    {0x01000000, "PROT_GROWSDOWN"}, {0x02000000, "PROT_GROWSUP"},
};

constexpr Name kMapTypes[] = {
    {0, "MAP_FILE"}, {1, "MAP_SHARED"}, {2, "MAP_PRIVATE"}, {3, "MAP_SHARED_VALIDATE"},
};
constexpr Name kMapFlags[] = {
    {0x10, "MAP_FIXED"},        {0x20, "MAP_ANONYMOUS"},    {0x40, "MAP_32BIT"},
    {0x4000, "MAP_NORESERVE"},  {0x8000, "MAP_POPULATE"},   {0x10000, "MAP_NONBLOCK"},
    {0x100, "MAP_GROWSDOWN"},   {0x800, "MAP_DENYWRITE"},   {0x1000, "MAP_EXECUTABLE"},
    {0x2000, "MAP_LOCKED"},     {0x20000, "MAP_STACK"},     {0x40000, "MAP_HUGETLB"},
    {0x80000, "MAP_SYNC"},      {0x100000, "MAP_FIXED_NOREPLACE"},
};
constexpr int kMapHugeShift = 26;
constexpr uint64_t kMapHugeMask = 0x3f;

constexpr Name kMremapFlags[] = {
    {1, "MREMAP_MAYMOVE"}, {2, "MREMAP_FIXED"}, {4, "MREMAP_DONTUNMAP"},
};

constexpr Name kMadvice[] = {
    {0, "MADV_NORMAL"},         {1, "MADV_RANDOM"},          {2, "MADV_SEQUENTIAL"},
    {3, "MADV_WILLNEED"},       {4, "MADV_DONTNEED"},        {8, "MADV_FREE"},
    {9, "MADV_REMOVE"},         {10, "MADV_DONTFORK"},       {11, "MADV_DOFORK"},
    {12, "MADV_MERGEABLE"},     {13, "MADV_UNMERGEABLE"},    {14, "MADV_HUGEPAGE"},
    {15, "MADV_NOHUGEPAGE"},    {16, "MADV_DONTDUMP"},       {17, "MADV_DODUMP"},
    {18, "MADV_WIPEONFORK"},    {19, "MADV_KEEPONFORK"},     {20, "MADV_COLD"},
    {21, "MADV_PAGEOUT"},       {22, "MADV_POPULATE_READ"},  {23, "MADV_POPULATE_WRITE"},
    {24, "MADV_DONTNEED_LOCKED"}, {25, "MADV_COLLAPSE"},     {100, "MADV_HWPOISON"},
    {101, "MADV_SOFT_OFFLINE"},
};

constexpr Name kWhence[] = {
    {0, "SEEK_SET"}, {1, "SEEK_CUR"}, {2, "SEEK_END"}, {3, "SEEK_DATA"}, {4, "SEEK_HOLE"},
};

constexpr Name kAtFlags[] = {
    {0x100, "AT_SYMLINK_NOFOLLOW"}, {0x200, "AT_REMOVEDIR"},  {0x400, "AT_SYMLINK_FOLLOW"},
    {0x800, "AT_NO_AUTOMOUNT"},     {0x1000, "AT_EMPTY_PATH"}, {0x8000, "AT_RECURSIVE"},
};
constexpr Name kFaccessatFlags[] = {
    {0x100, "AT_SYMLINK_NOFOLLOW"}, {0x200, "AT_EACCESS"}, {0x1000, "AT_EMPTY_PATH"},
};
constexpr uint32_t kStatxSyncMask = 0x6000;
constexpr Name kStatxSync[] = {
    {0x2000, "AT_STATX_FORCE_SYNC"}, {0x4000, "AT_STATX_DONT_SYNC"},
};
constexpr Name kStatxMask[] = {
    {0xfff, "STATX_ALL"},   {0x7ff, "STATX_BASIC_STATS"}, {0x1, "STATX_TYPE"},
    {0x2, "STATX_MODE"},    {0x4, "STATX_NLINK"},         {0x8, "STATX_UID"},
    {0x10, "STATX_GID"},    {0x20, "STATX_ATIME"},        {0x40, "STATX_MTIME"},
    {0x80, "STATX_CTIME"},  {0x100, "STATX_INO"},         {0x200, "STATX_SIZE"},
    {0x400, "STATX_BLOCKS"}, {0x800, "STATX_BTIME"},      {0x1000, "STATX_MNT_ID"},
    {0x2000, "STATX_DIOALIGN"},
};
constexpr Name kStatxAttributes[] = {
    {0x4, "STATX_ATTR_COMPRESSED"},  {0x10, "STATX_ATTR_IMMUTABLE"},
    {0x20, "STATX_ATTR_APPEND"},     {0x40, "STATX_ATTR_NODUMP"},
    {0x800, "STATX_ATTR_ENCRYPTED"}, {0x1000, "STATX_ATTR_AUTOMOUNT"},
    {0x2000, "STATX_ATTR_MOUNT_ROOT"}, {0x100000, "STATX_ATTR_VERITY"},
    {0x200000, "STATX_ATTR_DAX"},
};

constexpr Name kAccessMode[] = {{4, "R_OK"}, {2, "W_OK"}, {1, "X_OK"}};
constexpr Name kGrndFlags[] = {{1, "GRND_NONBLOCK"}, {2, "GRND_RANDOM"}, {4, "GRND_INSECURE"}};

constexpr Name kClocks[] = {
    {0, "CLOCK_REALTIME"},          {1, "CLOCK_MONOTONIC"},
    {2, "CLOCK_PROCESS_CPUTIME_ID"}, {3, "CLOCK_THREAD_CPUTIME_ID"},
    {4, "CLOCK_MONOTONIC_RAW"},     {5, "CLOCK_REALTIME_COARSE"},
    {6, "CLOCK_MONOTONIC_COARSE"},  {7, "CLOCK_BOOTTIME"},
    {8, "CLOCK_REALTIME_ALARM"},    {9, "CLOCK_BOOTTIME_ALARM"},
    {10, "CLOCK_SGI_CYCLE"},        {11, "CLOCK_TAI"},
};

constexpr Name kArchPrctl[] = {
    {0x1001, "ARCH_SET_GS"},          {0x1002, "ARCH_SET_FS"},
    {0x1003, "ARCH_GET_FS"},          {0x1004, "ARCH_GET_GS"},
    {0x1011, "ARCH_GET_CPUID"},       {0x1012, "ARCH_SET_CPUID"},
    {0x1021, "ARCH_GET_XCOMP_SUPP"},  {0x1022, "ARCH_GET_XCOMP_PERM"},
    {0x1023, "ARCH_REQ_XCOMP_PERM"},  {0x1024, "ARCH_GET_XCOMP_GUEST_PERM"},
    {0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"}, {0x2001, "ARCH_MAP_VDSO_X32"},
    {0x2002, "ARCH_MAP_VDSO_32"},     {0x2003, "ARCH_MAP_VDSO_64"},
};

constexpr Name kRlimits[] = {
    {0, "RLIMIT_CPU"},        {1, "RLIMIT_FSIZE"},       {2, "RLIMIT_DATA"},
    {3, "RLIMIT_STACK"},      {4, "RLIMIT_CORE"},        {5, "RLIMIT_RSS"},
    {6, "RLIMIT_NPROC"},      {7, "RLIMIT_NOFILE"},      {8, "RLIMIT_MEMLOCK"},
    {9, "RLIMIT_AS"},         {10, "RLIMIT_LOCKS"},      {11, "RLIMIT_SIGPENDING"},
    {12, "RLIMIT_MSGQUEUE"},  {13, "RLIMIT_NICE"},       {14, "RLIMIT_RTPRIO"},
    {15, "RLIMIT_RTTIME"},
};

constexpr Name kFcntlCmds[] = {
    {0, "F_DUPFD"},          {1, "F_GETFD"},            {2, "F_SETFD"},
    {3, "F_GETFL"},          {4, "F_SETFL"},            {5, "F_GETLK"},
    {6, "F_SETLK"},          {7, "F_SETLKW"},           {8, "F_SETOWN"},
    {9, "F_GETOWN"},         {10, "F_SETSIG"},          {11, "F_GETSIG"},
    {12, "F_GETLK64"},       {13, "F_SETLK64"},         {14, "F_SETLKW64"},
    {15, "F_SETOWN_EX"},     {16, "F_GETOWN_EX"},       {17, "F_GETOWNER_UIDS"},
    {36, "F_OFD_GETLK"},     {37, "F_OFD_SETLK"},       {38, "F_OFD_SETLKW"},
    {1024, "F_SETLEASE"},    {1025, "F_GETLEASE"},      {1026, "F_NOTIFY"},
    {1029, "F_CANCELLK"},    {1030, "F_DUPFD_CLOEXEC"}, {1031, "F_SETPIPE_SZ"},
    {1032, "F_GETPIPE_SZ"},  {1033, "F_ADD_SEALS"},     {1034, "F_GET_SEALS"},
};
constexpr Name kFdFlags[] = {{1, "FD_CLOEXEC"}};
constexpr Name kLeases[] = {{0, "F_RDLCK"}, {1, "F_WRLCK"}, {2, "F_UNLCK"}};
constexpr Name kDnotify[] = {
    {0x1, "DN_ACCESS"}, {0x2, "DN_MODIFY"}, {0x4, "DN_CREATE"},       {0x8, "DN_DELETE"},
    {0x10, "DN_RENAME"}, {0x20, "DN_ATTRIB"}, {0x80000000, "DN_MULTISHOT"},
};
constexpr Name kSeals[] = {
    {0x1, "F_SEAL_SEAL"},  {0x2, "F_SEAL_SHRINK"}, {0x4, "F_SEAL_GROW"},
    {0x8, "F_SEAL_WRITE"}, {0x10, "F_SEAL_FUTURE_WRITE"},
};

constexpr Name kSigHow[] = {{0, "SIG_BLOCK"}, {1, "SIG_UNBLOCK"}, {2, "SIG_SETMASK"}};

// Signal names without "SIG", indexed by number; 32 and up are real-time.
constexpr std::string_view kSignalNames[] = {
    "",     "HUP",  "INT",    "QUIT", "ILL",    "TRAP", "ABRT",  "BUS",  "FPE",
    "KILL", "USR1", "SEGV",   "USR2", "PIPE",   "ALRM", "TERM",  "STKFLT", "CHLD",
    "CONT", "STOP", "TSTP",   "TTIN", "TTOU",   "URG",  "XCPU",  "XFSZ", "VTALRM",
    "PROF", "WINCH", "IO",    "PWR",  "SYS",
};
constexpr int kSigRtMin = 32;
constexpr int kMaxSignal = 64;

constexpr Name kSaFlags[] = {
    {0x04000000, "SA_RESTORER"}, {0x08000000, "SA_ONSTACK"},  {0x10000000, "SA_RESTART"},
    {0x20000000, "SA_INTERRUPT"}, {0x40000000, "SA_NODEFER"}, {0x80000000, "SA_RESETHAND"},
    {0x4, "SA_SIGINFO"},         {0x1, "SA_NOCLDSTOP"},       {0x2, "SA_NOCLDWAIT"},
};
constexpr uint64_t kSaRestorer = 0x04000000;

// Terminal ioctls (include/uapi/asm-generic/ioctls.h) with strace's names,
// including its ambiguous OSS aliases. PARTIAL(strace names hundreds more
// requests, of every driver; the others print as _IOC(...) here).
struct IoctlInfo {
  uint32_t cmd;
  std::string_view name;
  IoctlArg arg;
};
constexpr IoctlInfo kIoctls[] = {
    {0x5401, "TCGETS", IoctlArg::kTermiosOut},
    {0x5402, "SNDCTL_TMR_START or TCSETS", IoctlArg::kTermiosIn},
    {0x5403, "SNDCTL_TMR_STOP or TCSETSW", IoctlArg::kTermiosIn},
    {0x5404, "SNDCTL_TMR_CONTINUE or TCSETSF", IoctlArg::kTermiosIn},
    {0x5405, "TCGETA", IoctlArg::kPointer},
    {0x5406, "TCSETA", IoctlArg::kPointer},
    {0x5407, "TCSETAW", IoctlArg::kPointer},
    {0x5408, "TCSETAF", IoctlArg::kPointer},
    {0x5409, "TCSBRK", IoctlArg::kDecimal},
    {0x540a, "TCXONC", IoctlArg::kTcxonc},
    {0x540b, "TCFLSH", IoctlArg::kTcflsh},
    {0x540c, "TIOCEXCL", IoctlArg::kNone},
    {0x540d, "TIOCNXCL", IoctlArg::kNone},
    {0x540e, "TIOCSCTTY", IoctlArg::kDecimal},
    {0x540f, "TIOCGPGRP", IoctlArg::kIntOut},
    {0x5410, "TIOCSPGRP", IoctlArg::kIntIn},
    {0x5411, "TIOCOUTQ", IoctlArg::kIntOut},
    {0x5412, "TIOCSTI", IoctlArg::kPointer},
    {0x5413, "TIOCGWINSZ", IoctlArg::kWinsizeOut},
    {0x5414, "TIOCSWINSZ", IoctlArg::kWinsizeIn},
    {0x5415, "TIOCMGET", IoctlArg::kPointer},
    {0x5416, "TIOCMBIS", IoctlArg::kPointer},
    {0x5417, "TIOCMBIC", IoctlArg::kPointer},
    {0x5418, "TIOCMSET", IoctlArg::kPointer},
    {0x5419, "TIOCGSOFTCAR", IoctlArg::kPointer},
    {0x541a, "TIOCSSOFTCAR", IoctlArg::kPointer},
    {0x541b, "FIONREAD", IoctlArg::kIntOut},
    {0x541c, "TIOCLINUX", IoctlArg::kHex},
    {0x541d, "TIOCCONS", IoctlArg::kNone},
    {0x541e, "TIOCGSERIAL", IoctlArg::kHex},
    {0x541f, "TIOCSSERIAL", IoctlArg::kNone},
    {0x5420, "TIOCPKT", IoctlArg::kIntIn},
    {0x5421, "FIONBIO", IoctlArg::kIntIn},
    {0x5422, "TIOCNOTTY", IoctlArg::kNone},
    {0x5423, "TIOCSETD", IoctlArg::kIntIn},
    {0x5424, "TIOCGETD", IoctlArg::kIntOut},
    {0x5425, "TCSBRKP", IoctlArg::kDecimal},
    {0x5427, "TIOCSBRK", IoctlArg::kNone},
    {0x5428, "TIOCCBRK", IoctlArg::kNone},
    {0x5429, "TIOCGSID", IoctlArg::kIntOut},
    {0x542e, "TIOCGRS485", IoctlArg::kHex},
    {0x542f, "TIOCSRS485", IoctlArg::kHex},
    {0x5432, "TCGETX", IoctlArg::kHex},
    {0x5433, "TCSETX", IoctlArg::kHex},
    {0x5434, "TCSETXF", IoctlArg::kHex},
    {0x5435, "TCSETXW", IoctlArg::kHex},
    {0x5437, "TIOCVHANGUP", IoctlArg::kNone},
    {0x5441, "TIOCGPTPEER", IoctlArg::kHex},
    {0x5450, "FIONCLEX", IoctlArg::kNone},
    {0x5451, "FIOCLEX", IoctlArg::kNone},
    {0x5452, "FIOASYNC", IoctlArg::kIntIn},
    {0x5453, "TIOCSERCONFIG", IoctlArg::kHex},
    {0x5454, "TIOCSERGWILD", IoctlArg::kHex},
    {0x5455, "TIOCSERSWILD", IoctlArg::kHex},
    {0x5456, "TIOCGLCKTRMIOS", IoctlArg::kPointer},
    {0x5457, "TIOCSLCKTRMIOS", IoctlArg::kPointer},
    {0x5458, "TIOCSERGSTRUCT", IoctlArg::kHex},
    {0x5459, "TIOCSERGETLSR", IoctlArg::kHex},
    {0x545a, "TIOCSERGETMULTI", IoctlArg::kHex},
    {0x545b, "TIOCSERSETMULTI", IoctlArg::kHex},
    {0x545c, "TIOCMIWAIT", IoctlArg::kHex},
    {0x545d, "TIOCGICOUNT", IoctlArg::kHex},
    {0x5460, "FIOQSIZE", IoctlArg::kHex},
    {0x80045430, "TIOCGPTN", IoctlArg::kIntOut},
    {0x40045431, "TIOCSPTLCK", IoctlArg::kIntIn},
};

constexpr Name kTcxonc[] = {{0, "TCOOFF"}, {1, "TCOON"}, {2, "TCIOFF"}, {3, "TCION"}};
constexpr Name kTcflsh[] = {{0, "TCIFLUSH"}, {1, "TCOFLUSH"}, {2, "TCIOFLUSH"}};

constexpr Name kTermiosIflag[] = {
    {0x1, "IGNBRK"},  {0x2, "BRKINT"},  {0x4, "IGNPAR"},   {0x8, "PARMRK"},   {0x10, "INPCK"},
    {0x20, "ISTRIP"}, {0x40, "INLCR"},  {0x80, "IGNCR"},   {0x100, "ICRNL"},  {0x200, "IUCLC"},
    {0x400, "IXON"},  {0x800, "IXANY"}, {0x1000, "IXOFF"}, {0x2000, "IMAXBEL"}, {0x4000, "IUTF8"},
};
// c_oflag delay fields: mask and the names of its values, printed first.
struct DelayField {
  uint32_t mask;
  Name values[4];
};
constexpr DelayField kTermiosOflagDelays[] = {
    {0x100, {{0, "NL0"}, {0x100, "NL1"}}},
    {0x600, {{0, "CR0"}, {0x200, "CR1"}, {0x400, "CR2"}, {0x600, "CR3"}}},
    {0x1800, {{0, "TAB0"}, {0x800, "TAB1"}, {0x1000, "TAB2"}, {0x1800, "XTABS"}}},
    {0x2000, {{0, "BS0"}, {0x2000, "BS1"}}},
    {0x4000, {{0, "VT0"}, {0x4000, "VT1"}}},
    {0x8000, {{0, "FF0"}, {0x8000, "FF1"}}},
};
constexpr Name kTermiosOflag[] = {
    {0x1, "OPOST"},  {0x2, "OLCUC"},  {0x4, "ONLCR"}, {0x8, "OCRNL"},
    {0x10, "ONOCR"}, {0x20, "ONLRET"}, {0x40, "OFILL"}, {0x80, "OFDEL"},
};
constexpr uint32_t kCbaud = 0x100f;
constexpr int kIbshift = 16;
constexpr uint32_t kCsize = 0x30;
constexpr Name kBauds[] = {
    {0, "B0"},          {1, "B50"},         {2, "B75"},         {3, "B110"},
    {4, "B134"},        {5, "B150"},        {6, "B200"},        {7, "B300"},
    {8, "B600"},        {9, "B1200"},       {10, "B1800"},      {11, "B2400"},
    {12, "B4800"},      {13, "B9600"},      {14, "B19200"},     {15, "B38400"},
    {0x1000, "BOTHER"}, {0x1001, "B57600"}, {0x1002, "B115200"}, {0x1003, "B230400"},
    {0x1004, "B460800"}, {0x1005, "B500000"}, {0x1006, "B576000"}, {0x1007, "B921600"},
    {0x1008, "B1000000"}, {0x1009, "B1152000"}, {0x100a, "B1500000"}, {0x100b, "B2000000"},
    {0x100c, "B2500000"}, {0x100d, "B3000000"}, {0x100e, "B3500000"}, {0x100f, "B4000000"},
};
constexpr Name kCsizes[] = {{0, "CS5"}, {0x10, "CS6"}, {0x20, "CS7"}, {0x30, "CS8"}};
constexpr Name kTermiosCflag[] = {
    {0x40, "CSTOPB"}, {0x80, "CREAD"},  {0x100, "PARENB"},       {0x200, "PARODD"},
    {0x400, "HUPCL"}, {0x800, "CLOCAL"}, {0x40000000, "CMSPAR"}, {0x80000000, "CRTSCTS"},
};
constexpr Name kTermiosLflag[] = {
    {0x1, "ISIG"},     {0x2, "ICANON"},   {0x4, "XCASE"},    {0x8, "ECHO"},
    {0x10, "ECHOE"},   {0x20, "ECHOK"},   {0x40, "ECHONL"},  {0x80, "NOFLSH"},
    {0x8000, "IEXTEN"}, {0x200, "ECHOCTL"}, {0x400, "ECHOPRT"}, {0x800, "ECHOKE"},
    {0x1000, "FLUSHO"}, {0x4000, "PENDIN"}, {0x100, "TOSTOP"}, {0x10000, "EXTPROC"},
};

// si_code names of the fault signals, indexed by code.
constexpr std::string_view kSegvCodes[] = {"", "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR",
                                           "SEGV_PKUERR", "SEGV_ACCADI", "SEGV_ADIDERR",
                                           "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR"};
constexpr std::string_view kBusCodes[] = {"", "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR",
                                          "BUS_MCEERR_AR", "BUS_MCEERR_AO"};
constexpr std::string_view kIllCodes[] = {"", "ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR",
                                          "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG",
                                          "ILL_COPROC", "ILL_BADSTK"};
constexpr std::string_view kFpeCodes[] = {"", "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV",
                                          "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES",
                                          "FPE_FLTINV", "FPE_FLTSUB"};
constexpr std::string_view kTrapCodes[] = {"", "TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH",
                                           "TRAP_HWBKPT"};

// The name of `v` among `names`, or empty.
std::string_view Lookup(uint64_t v, std::span<const Name> names) {
  for (const Name& n : names) {
    if (n.value == v) return n.name;
  }
  return {};
}

// Appends "name|" style pieces joined by '|'.
void Append(std::string& out, std::string_view piece) {
  if (!out.empty()) out += '|';
  out += piece;
}

bool IsOctalDigit(char c) { return c >= '0' && c <= '7'; }

}  // namespace

std::string QuoteString(std::string_view bytes, size_t limit, bool truncated, Quoting quoting) {
  const size_t n = std::min(bytes.size(), limit);
  std::string out = "\"";
  out.reserve(n * 2 + 5);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (quoting == Quoting::kHex) {
      out += fmt::format("\\x{:02x}", c);
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\t': out += "\\t"; continue;
      case '\n': out += "\\n"; continue;
      case '\v': out += "\\v"; continue;
      case '\f': out += "\\f"; continue;
      case '\r': out += "\\r"; continue;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (i + 1 < n && IsOctalDigit(bytes[i + 1])) {
      // A following digit would extend a short escape: "\0001" is "\0" "1".
      out += fmt::format("\\{:03o}", c);
    } else {
      out += fmt::format("\\{:o}", c);
    }
  }
  out += '"';
  if (truncated || bytes.size() > limit) out += "...";
  return out;
}

std::string FormatHex(uint64_t v) { return v == 0 ? "0" : fmt::format("{:#x}", v); }

std::string FormatPointer(uint64_t v) { return v == 0 ? "NULL" : fmt::format("{:#x}", v); }

std::string FormatOctal(uint64_t v) {
  // printf("%#03o"): a leading 0, at least three digits.
  std::string s = v == 0 ? "0" : fmt::format("0{:o}", v);
  if (s.size() < 3) s.insert(0, 3 - s.size(), '0');
  return s;
}

std::string FormatFlags(uint64_t v, std::span<const Name> names, std::string_view zero,
                        std::string_view unknown) {
  if (v == 0) return std::string(zero);
  std::string out;
  uint64_t rest = v;
  for (const Name& n : names) {
    if (n.value != 0 && (rest & n.value) == n.value) {
      Append(out, n.name);
      rest &= ~n.value;
    }
  }
  if (rest != 0) {
    if (out.empty() && !unknown.empty()) return fmt::format("{:#x} /* {} */", rest, unknown);
    Append(out, fmt::format("{:#x}", rest));
  }
  return out;
}

std::string FormatValue(uint64_t v, std::span<const Name> names, std::string_view unknown) {
  std::string_view name = Lookup(v, names);
  if (!name.empty()) return std::string(name);
  return fmt::format("{:#x} /* {} */", v, unknown);
}

std::string FormatDirfd(int fd) { return fd == -100 ? "AT_FDCWD" : fmt::format("{}", fd); }

std::string FormatOpenFlags(uint32_t v) {
  std::string out(kAccModes[v & 3]);
  if (uint32_t rest = v & ~3u; rest != 0) out += "|" + FormatFlags(rest, kOpenFlags, "", "");
  return out;
}

std::string FormatDup3Flags(uint32_t v) { return FormatFlags(v, kOpenFlags, "0", "O_???"); }

std::string FormatMode(uint64_t v) { return FormatOctal(v & 0177777); }

std::string FormatFileMode(uint32_t mode) {
  std::string out;
  switch (mode & S_IFMT) {
    case 0: break;
    case S_IFREG: out = "S_IFREG|"; break;
    case S_IFDIR: out = "S_IFDIR|"; break;
    case S_IFCHR: out = "S_IFCHR|"; break;
    case S_IFBLK: out = "S_IFBLK|"; break;
    case S_IFIFO: out = "S_IFIFO|"; break;
    case S_IFLNK: out = "S_IFLNK|"; break;
    case S_IFSOCK: out = "S_IFSOCK|"; break;
    default: out = fmt::format("{:#o}|", mode & S_IFMT);
  }
  if (mode & S_ISUID) out += "S_ISUID|";
  if (mode & S_ISGID) out += "S_ISGID|";
  if (mode & S_ISVTX) out += "S_ISVTX|";
  return out + FormatOctal(mode & 0777);
}

std::string FormatProt(uint64_t v) { return FormatFlags(v, kProt, "PROT_NONE", "PROT_???"); }

std::string FormatMmapFlags(uint64_t v) {
  std::string out = FormatValue(v & 0xf, kMapTypes, "MAP_???");
  const uint64_t huge = (v >> kMapHugeShift) & kMapHugeMask;
  const uint64_t rest = v & ~uint64_t{0xf} & ~(kMapHugeMask << kMapHugeShift);
  if (rest != 0) out += "|" + FormatFlags(rest, kMapFlags, "", "");
  if (huge != 0) out += fmt::format("|{}<<MAP_HUGE_SHIFT", huge);
  return out;
}

std::string FormatMremapFlags(uint64_t v) {
  return FormatFlags(v, kMremapFlags, "0", "MREMAP_???");
}

std::string FormatMadvice(uint32_t v) { return FormatValue(v, kMadvice, "MADV_???"); }

std::string FormatWhence(uint32_t v) { return FormatValue(v, kWhence, "SEEK_???"); }

std::string FormatAtFlags(uint32_t v) { return FormatFlags(v, kAtFlags, "0", "AT_???"); }

std::string FormatFaccessatFlags(uint32_t v) {
  return FormatFlags(v, kFaccessatFlags, "0", "AT_???");
}

std::string FormatStatxFlags(uint32_t v) {
  std::string out = FormatFlags(v & kStatxSyncMask, kStatxSync, "AT_STATX_SYNC_AS_STAT", "");
  if (uint32_t rest = v & ~kStatxSyncMask; rest != 0) {
    out += "|" + FormatFlags(rest, kAtFlags, "", "");
  }
  return out;
}

std::string FormatStatxMask(uint32_t v) { return FormatFlags(v, kStatxMask, "0", "STATX_???"); }

std::string FormatAccessMode(uint32_t v) { return FormatFlags(v, kAccessMode, "F_OK", "?_OK"); }

std::string FormatGrndFlags(uint32_t v) { return FormatFlags(v, kGrndFlags, "0", "GRND_???"); }

std::string FormatClock(uint32_t v) { return FormatValue(v, kClocks, "CLOCK_???"); }

std::string FormatArchPrctlCode(uint32_t v) { return FormatValue(v, kArchPrctl, "ARCH_???"); }

std::string FormatRlimitResource(uint32_t v) { return FormatValue(v, kRlimits, "RLIMIT_???"); }

std::string FormatRlimValue(uint64_t v) {
  if (v == ~uint64_t{0}) return "RLIM64_INFINITY";
  if (v > 1024 && v % 1024 == 0) return fmt::format("{}*1024", v / 1024);
  return fmt::format("{}", v);
}

std::string FormatRlimit(const KernelRlimit& r) {
  return fmt::format("{{rlim_cur={}, rlim_max={}}}", FormatRlimValue(r.rlim_cur),
                     FormatRlimValue(r.rlim_max));
}

std::string FormatFcntlCmd(uint32_t v) { return FormatValue(v, kFcntlCmds, "F_???"); }

std::optional<std::string> FormatFcntlArg(uint32_t cmd, uint64_t arg) {
  switch (cmd) {
    case F_GETFD: case F_GETFL: case F_GETOWN: case F_GETSIG: case F_GETLEASE:
    case F_GETPIPE_SZ: case F_GET_SEALS:
      return std::nullopt;
    case F_DUPFD: case F_DUPFD_CLOEXEC: case F_SETOWN: case F_SETSIG: case F_SETPIPE_SZ:
      return fmt::format("{}", static_cast<int>(arg));
    case F_SETFD: return FormatFdFlags(arg);
    case F_SETFL: return FormatOpenFlags(static_cast<uint32_t>(arg));
    case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK:
    case F_OFD_SETLKW: case 12: case 13: case 14:  // F_{GET,SET}LK{,W}64
    case F_SETOWN_EX: case F_GETOWN_EX: case 17:   // F_GETOWNER_UIDS
      // PARTIAL(strace decodes struct flock / f_owner_ex on success): the address.
      return FormatPointer(arg);
    case F_SETLEASE: return FormatValue(static_cast<uint32_t>(arg), kLeases, "F_???");
    case F_NOTIFY: return FormatFlags(static_cast<uint32_t>(arg), kDnotify, "0", "DN_???");
    case F_ADD_SEALS: return FormatFlags(static_cast<uint32_t>(arg), kSeals, "0", "F_SEAL_???");
  }
  return FormatHex(arg);
}

std::string FormatFcntlResult(uint32_t cmd, int64_t ret) {
  if (!IsError(ret) && cmd == F_GETFL) {
    return FormatResult(ret, ResultStyle::kHex,
                        "flags " + FormatOpenFlags(static_cast<uint32_t>(ret)));
  }
  if (!IsError(ret) && cmd == F_GETFD && ret != 0) {
    return FormatResult(ret, ResultStyle::kHex, "flags " + FormatFdFlags(ret));
  }
  return FormatResult(ret);
}

std::string FormatFdFlags(uint64_t v) { return FormatFlags(v, kFdFlags, "0", "FD_???"); }

std::string FormatSigHow(uint32_t v) { return FormatValue(v, kSigHow, "SIG_???"); }

namespace {
// "INT", "RTMIN", "RT_3": a signal's name in a set.
std::string SignalShortName(int sig) {
  if (sig < kSigRtMin) return std::string(kSignalNames[sig]);
  if (sig == kSigRtMin) return "RTMIN";
  return fmt::format("RT_{}", sig - kSigRtMin);
}
}  // namespace

std::string FormatSignal(int sig) {
  if (sig < 1 || sig > kMaxSignal) return fmt::format("{}", sig);
  return "SIG" + SignalShortName(sig);
}

std::string FormatSigset(uint64_t mask) {
  // strace shows the complement once two thirds of the signals are in the set.
  const bool invert = std::popcount(mask) >= kMaxSignal * 2 / 3;
  const uint64_t shown = invert ? ~mask : mask;
  std::string out = invert ? "~[" : "[";
  bool first = true;
  for (int sig = 1; sig <= kMaxSignal; ++sig) {
    if (!(shown & (uint64_t{1} << (sig - 1)))) continue;
    if (!first) out += ' ';
    first = false;
    out += SignalShortName(sig);
  }
  return out + "]";
}

std::string FormatSaFlags(uint64_t v) { return FormatFlags(v, kSaFlags, "0", "SA_???"); }

std::string FormatSigaction(const KernelSigaction& a) {
  std::string handler;
  switch (a.handler) {
    case 0: handler = "SIG_DFL"; break;
    case 1: handler = "SIG_IGN"; break;
    case ~uint64_t{0}: handler = "SIG_ERR"; break;
    default: handler = FormatHex(a.handler);
  }
  std::string out = fmt::format("{{sa_handler={}, sa_mask={}, sa_flags={}", handler,
                                FormatSigset(a.mask), FormatSaFlags(a.flags));
  if (a.flags & kSaRestorer) out += ", sa_restorer=" + FormatPointer(a.restorer);
  return out + "}";
}

IoctlArg ClassifyIoctl(uint32_t cmd) {
  for (const IoctlInfo& i : kIoctls) {
    if (i.cmd == cmd) return i.arg;
  }
  return IoctlArg::kHex;
}

std::string FormatIoctlCmd(uint32_t cmd) {
  for (const IoctlInfo& i : kIoctls) {
    if (i.cmd == cmd) return std::string(i.name);
  }
  // _IOC(dir, type, nr, size), as include/uapi/asm-generic/ioctl.h packs them.
  constexpr std::string_view kDirs[] = {"_IOC_NONE", "_IOC_WRITE", "_IOC_READ",
                                        "_IOC_READ|_IOC_WRITE"};
  return fmt::format("_IOC({}, {}, {}, {})", kDirs[cmd >> 30], FormatHex((cmd >> 8) & 0xff),
                     FormatHex(cmd & 0xff), FormatHex((cmd >> 16) & 0x3fff));
}

std::string FormatIoctlValue(uint32_t cmd, uint64_t arg) {
  switch (ClassifyIoctl(cmd)) {
    case IoctlArg::kDecimal: return fmt::format("{}", static_cast<int>(arg));
    case IoctlArg::kTcxonc: return FormatValue(static_cast<uint32_t>(arg), kTcxonc, "TC???");
    case IoctlArg::kTcflsh: return FormatValue(static_cast<uint32_t>(arg), kTcflsh, "TC???");
    case IoctlArg::kHex: return FormatHex(arg);
    default: return FormatPointer(arg);
  }
}

std::string FormatTermios(const KernelTermios& t) {
  // strace joins these fields with a trailing '|' even when nothing follows.
  std::string oflag;
  for (const DelayField& d : kTermiosOflagDelays) {
    oflag += std::string(Lookup(t.c_oflag & d.mask, d.values)) + "|";
  }
  oflag += FormatFlags(t.c_oflag & ~0xff00u, kTermiosOflag, "", "");

  std::string cflag = std::string(Lookup(t.c_cflag & kCbaud, kBauds)) + "|";
  if (uint32_t ibaud = (t.c_cflag >> kIbshift) & kCbaud; ibaud != 0) {
    cflag += std::string(Lookup(ibaud, kBauds)) + "<<IBSHIFT|";
  }
  cflag += std::string(Lookup(t.c_cflag & kCsize, kCsizes)) + "|";
  const uint32_t cflag_fields = kCbaud | (kCbaud << kIbshift) | kCsize;
  cflag += FormatFlags(t.c_cflag & ~cflag_fields, kTermiosCflag, "", "");

  return fmt::format("{{c_iflag={}, c_oflag={}, c_cflag={}, c_lflag={}, ...}}",
                     FormatFlags(t.c_iflag, kTermiosIflag, "", ""), oflag, cflag,
                     FormatFlags(t.c_lflag, kTermiosLflag, "", ""));
}

std::string FormatWinsize(const KernelWinsize& w) {
  return fmt::format("{{ws_row={}, ws_col={}, ws_xpixel={}, ws_ypixel={}}}", w.ws_row, w.ws_col,
                     w.ws_xpixel, w.ws_ypixel);
}

std::string FormatStat(const struct stat& st) {
  std::string out = "{st_mode=" + FormatFileMode(st.st_mode) + ", ";
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    out += fmt::format("st_rdev=makedev({}, {})", FormatHex(major(st.st_rdev)),
                       FormatHex(minor(st.st_rdev)));
  } else {
    out += fmt::format("st_size={}", st.st_size);
  }
  return out + ", ...}";
}

std::string FormatStatx(const struct statx& sx) {
  return fmt::format("{{stx_mask={}, stx_attributes={}, stx_mode={}, stx_size={}, ...}}",
                     FormatStatxMask(sx.stx_mask),
                     FormatFlags(sx.stx_attributes, kStatxAttributes, "0", "STATX_ATTR_???"),
                     FormatFileMode(sx.stx_mode), sx.stx_size);
}

std::string FormatTimespec(const KernelTimespec& ts) {
  return fmt::format("{{tv_sec={}, tv_nsec={}}}", ts.tv_sec, ts.tv_nsec);
}

std::string FormatTimeval(const KernelTimespec& tv) {
  return fmt::format("{{tv_sec={}, tv_usec={}}}", tv.tv_sec, tv.tv_nsec);
}

std::string FormatTimezone(const KernelTimezone& tz) {
  return fmt::format("{{tz_minuteswest={}, tz_dsttime={}}}", tz.tz_minuteswest, tz.tz_dsttime);
}

namespace {
// A fixed-size char field up to its NUL.
std::string_view CField(const char* field, size_t size) {
  return std::string_view(field, strnlen(field, size));
}
}  // namespace

std::string FormatUtsname(const struct utsname& u) {
  return fmt::format("{{sysname={}, nodename={}, ...}}",
                     QuoteString(CField(u.sysname, sizeof(u.sysname)), sizeof(u.sysname)),
                     QuoteString(CField(u.nodename, sizeof(u.nodename)), sizeof(u.nodename)));
}

std::string FormatSysinfo(const struct sysinfo& si) {
  return fmt::format(
      "{{uptime={}, loads=[{}, {}, {}], totalram={}, freeram={}, sharedram={}, bufferram={}, "
      "totalswap={}, freeswap={}, procs={}, totalhigh={}, freehigh={}, mem_unit={}}}",
      si.uptime, si.loads[0], si.loads[1], si.loads[2], si.totalram, si.freeram, si.sharedram,
      si.bufferram, si.totalswap, si.freeswap, si.procs, si.totalhigh, si.freehigh, si.mem_unit);
}

std::string FormatCpuSet(std::string_view bytes) {
  std::string out = "[";
  bool first = true;
  for (size_t i = 0; i < bytes.size() * 8; ++i) {
    if (!(static_cast<unsigned char>(bytes[i / 8]) & (1u << (i % 8)))) continue;
    if (!first) out += ' ';
    first = false;
    out += fmt::format("{}", i);
  }
  return out + "]";
}

std::string FormatIsoTime(int64_t secs) {
  const time_t t = static_cast<time_t>(secs);
  struct tm tm;
  if (localtime_r(&t, &tm) == nullptr) return fmt::format("{}", secs);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm);
  return std::string(buf, n);
}

std::string FormatIovecs(std::span<const IovecView> iov, bool more) {
  std::string out = "[";
  for (size_t i = 0; i < iov.size(); ++i) {
    if (i > 0) out += ", ";
    const IovecView& v = iov[i];
    const std::string base = v.data ? QuoteString(*v.data, kMaxStrLen, v.data_truncated)
                                    : FormatPointer(v.base);
    out += fmt::format("{{iov_base={}, iov_len={}}}", base, v.len);
  }
  if (more) out += iov.empty() ? "..." : ", ...";
  return out + "]";
}

std::string FormatResult(int64_t ret, ResultStyle style, std::string_view note) {
  if (ret >= -ERESTART_RESTARTBLOCK && ret <= -ERESTARTSYS) {
    // Never seen by the application: the call is restarted or fails with EINTR.
    const int e = static_cast<int>(-ret);
    return fmt::format(" = ? {} ({})", ErrnoName(e), ErrnoText(e));
  }
  if (IsError(ret)) {
    const int e = static_cast<int>(-ret);
    return fmt::format(" = -1 {} ({})", ErrnoName(e), ErrnoText(e));
  }
  std::string out;
  switch (style) {
    case ResultStyle::kDecimal: out = fmt::format(" = {}", ret); break;
    case ResultStyle::kHex: out = " = " + FormatHex(static_cast<uint64_t>(ret)); break;
    case ResultStyle::kOctal: out = " = " + FormatOctal(static_cast<uint64_t>(ret)); break;
    case ResultStyle::kNone: return " = ?";
  }
  if (!note.empty()) out += fmt::format(" ({})", note);
  return out;
}

std::string FormatResult(int64_t ret, bool hex) {
  return FormatResult(ret, hex ? ResultStyle::kHex : ResultStyle::kDecimal);
}

std::string FormatLine(std::string_view call, std::string_view result) {
  // " = " starts one column before kResultColumn so '=' lands on it.
  std::string line(call);
  if (line.size() + 1 < kResultColumn) line.append(kResultColumn - 1 - line.size(), ' ');
  line += result;
  line += '\n';
  return line;
}

std::string FormatExecve(std::string_view path, std::span<const std::string> argv, bool argv_more,
                         uint64_t envp, size_t envc, int64_t ret) {
  std::string args = "[";
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) args += ", ";
    args += QuoteString(argv[i]);
  }
  if (argv_more) args += argv.empty() ? "..." : ", ...";
  args += "]";
  std::string call =
      fmt::format("execve({}, {}, {} /* {} var{} */)", QuoteString(path, kMaxPathLen), args,
                  FormatPointer(envp), envc, envc == 1 ? "" : "s");
  return FormatLine(call, FormatResult(ret));
}

std::string FormatExited(int code) { return fmt::format("+++ exited with {} +++\n", code); }

std::string FormatKilled(int sig, bool core_dumped) {
  return fmt::format("+++ killed by {}{} +++\n", FormatSignal(sig),
                     core_dumped ? " (core dumped)" : "");
}

std::string FormatFaultSignal(int sig, int code, uint64_t addr) {
  std::span<const std::string_view> codes;
  switch (sig) {
    case SIGSEGV: codes = kSegvCodes; break;
    case SIGBUS: codes = kBusCodes; break;
    case SIGILL: codes = kIllCodes; break;
    case SIGFPE: codes = kFpeCodes; break;
    case SIGTRAP: codes = kTrapCodes; break;
  }
  std::string code_name;
  if (code == 0x80) {
    code_name = "SI_KERNEL";
  } else if (code > 0 && static_cast<size_t>(code) < codes.size()) {
    code_name = codes[code];
  } else {
    code_name = fmt::format("{}", code);
  }
  return fmt::format("--- {} {{si_signo={}, si_code={}, si_addr={}}} ---\n", FormatSignal(sig),
                     FormatSignal(sig), code_name, FormatPointer(addr));
}

}  // namespace husk::strace
