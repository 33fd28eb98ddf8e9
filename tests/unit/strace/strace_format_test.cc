// The --strace formatters against strace 6.1's output for the same values.
// Each expected string was printed by strace for a small program making
// the call (see the comment above each test for the call).
#include "sentry/syscalls/strace_format.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/errno.h"

namespace husk::strace {
namespace {

using namespace std::string_literals;

// ---- Strings -------------------------------------------------------------

// write(1, "hello\n", 6)
TEST(QuoteString, PrintableTextWithNewline) {
  EXPECT_EQ(QuoteString("hello\n"), R"("hello\n")");
}

// write(1, "\0001\177\200\377\t\r\n\v\f\7\10\\\"'?abc\0012\0", 22)
TEST(QuoteString, EscapesLikeStrace) {
  std::string bytes = "\0" "1\x7f\x80\xff\t\r\n\v\f\a\b\\\"'?abc\x01" "2\0"s;
  ASSERT_EQ(bytes.size(), 22u);
  EXPECT_EQ(QuoteString(bytes), R"("\0001\177\200\377\t\r\n\v\f\7\10\\\"'?abc\0012\0")");
}

// write(999, "\18\0017\0010\19\33[m\342\202\254", 14)
TEST(QuoteString, OctalEscapeIsLongOnlyBeforeAnOctalDigit) {
  EXPECT_EQ(QuoteString("\x01" "8\x01" "7\x01" "0\x01" "9\x1b[m\xe2\x82\xac"),
            R"("\18\0017\0010\19\33[m\342\202\254")");
  EXPECT_EQ(QuoteString("\x7f" "1"), R"("\1771")");
  EXPECT_EQ(QuoteString("a\0"s), R"("a\0")");
}

// write(-1, "01234567890123456789012345678901"..., 40)
TEST(QuoteString, LongerThanLimitGetsDots) {
  EXPECT_EQ(QuoteString("0123456789012345678901234567890123456789"),
            R"("01234567890123456789012345678901"...)");
  EXPECT_EQ(QuoteString("01234567890123456789012345678901"),
            R"("01234567890123456789012345678901")");
  EXPECT_EQ(QuoteString("abc", kMaxStrLen, /*truncated=*/true), R"("abc"...)");
  EXPECT_EQ(QuoteString(""), R"("")");
}

// getrandom("\x67\xe2\xa3\xa0\x1b\x4a\xc9\xfa", 8, GRND_NONBLOCK) = 8
TEST(QuoteString, HexForGetrandom) {
  EXPECT_EQ(QuoteString("\x67\xe2\xa3\xa0\x1b\x4a\xc9\xfa", kMaxStrLen, false, Quoting::kHex),
            R"("\x67\xe2\xa3\xa0\x1b\x4a\xc9\xfa")");
  std::string expected = "\"";
  for (int i = 0; i < 32; ++i) expected += "\\x41";
  expected += "\"...";
  EXPECT_EQ(QuoteString(std::string(40, 'A'), kMaxStrLen, false, Quoting::kHex), expected);
}

// ---- Scalars -------------------------------------------------------------

TEST(FormatScalars, HexPointerOctalDirfd) {
  EXPECT_EQ(FormatHex(0), "0");
  EXPECT_EQ(FormatHex(0x20), "0x20");
  EXPECT_EQ(FormatHex(~uint64_t{0}), "0xffffffffffffffff");
  EXPECT_EQ(FormatPointer(0), "NULL");
  EXPECT_EQ(FormatPointer(0x7ffcec494d00), "0x7ffcec494d00");
  EXPECT_EQ(FormatOctal(022), "022");
  EXPECT_EQ(FormatOctal(0), "000");
  EXPECT_EQ(FormatOctal(07), "007");
  EXPECT_EQ(FormatDirfd(AT_FDCWD), "AT_FDCWD");
  EXPECT_EQ(FormatDirfd(7), "7");
}

// ---- open(2) flags and modes ---------------------------------------------

TEST(FormatOpenFlags, CommonCombinations) {
  EXPECT_EQ(FormatOpenFlags(O_RDONLY | O_CLOEXEC), "O_RDONLY|O_CLOEXEC");
  EXPECT_EQ(FormatOpenFlags(O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_APPEND),
            "O_WRONLY|O_CREAT|O_EXCL|O_TRUNC|O_APPEND");
  EXPECT_EQ(FormatOpenFlags(O_RDONLY | O_DIRECTORY), "O_RDONLY|O_DIRECTORY");
  EXPECT_EQ(FormatOpenFlags(3), "O_ACCMODE");
  EXPECT_EQ(FormatOpenFlags(O_RDWR | O_TMPFILE), "O_RDWR|O_TMPFILE");
}

// openat(7, NULL, O_RDWR|O_NONBLOCK|O_NOFOLLOW|O_PATH|O_DIRECTORY|0x40000000)
TEST(FormatOpenFlags, StraceOrderAndUnknownBits) {
  EXPECT_EQ(FormatOpenFlags(O_RDWR | O_NONBLOCK | O_DIRECTORY | O_NOFOLLOW | O_PATH | 0x40000000),
            "O_RDWR|O_NONBLOCK|O_NOFOLLOW|O_PATH|O_DIRECTORY|0x40000000");
  EXPECT_EQ(FormatOpenFlags(O_RDWR | O_SYNC | O_ASYNC | O_DIRECT | O_NOATIME | O_NOCTTY),
            "O_RDWR|O_NOCTTY|O_SYNC|O_DIRECT|O_NOATIME|FASYNC");
  EXPECT_EQ(FormatOpenFlags(0xfffffffc),
            "O_RDONLY|O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_SYNC|O_DIRECT|"
            "O_LARGEFILE|O_NOFOLLOW|O_NOATIME|O_CLOEXEC|O_PATH|O_TMPFILE|FASYNC|0xff80003c");
  EXPECT_EQ(FormatOpenFlags(0x4), "O_RDONLY|0x4");
  EXPECT_EQ(FormatOpenFlags(04000000), "O_RDONLY|__O_SYNC");
  EXPECT_EQ(FormatOpenFlags(020000000), "O_RDONLY|__O_TMPFILE");
  EXPECT_EQ(FormatOpenFlags(0100000), "O_RDONLY|O_LARGEFILE");
}

// dup3(999, 998, 0); dup3(999, 998, O_CLOEXEC|0x3); dup3(999, 998, 0x4 /* O_??? */)
TEST(FormatDup3Flags, ZeroCloexecUnknown) {
  EXPECT_EQ(FormatDup3Flags(0), "0");
  EXPECT_EQ(FormatDup3Flags(O_CLOEXEC), "O_CLOEXEC");
  EXPECT_EQ(FormatDup3Flags(O_CLOEXEC | 3), "O_CLOEXEC|0x3");
  EXPECT_EQ(FormatDup3Flags(4), "0x4 /* O_??? */");
}

// open("/nonexist", O_RDONLY|O_CREAT, 0100644); mkdir("", 020) for 0xffffffff00000010
TEST(FormatMode, OctalOfLow16Bits) {
  EXPECT_EQ(FormatMode(0644), "0644");
  EXPECT_EQ(FormatMode(0), "000");
  EXPECT_EQ(FormatMode(07777), "07777");
  EXPECT_EQ(FormatMode(0100644), "0100644");
  EXPECT_EQ(FormatMode(0777777), "0177777");
  EXPECT_EQ(FormatMode(0xffffffff00000010), "020");
}

TEST(FormatFileMode, TypeSpecialBitsPermissions) {
  EXPECT_EQ(FormatFileMode(S_IFREG | 0644), "S_IFREG|0644");
  EXPECT_EQ(FormatFileMode(S_IFDIR | S_ISVTX | 0777), "S_IFDIR|S_ISVTX|0777");
  EXPECT_EQ(FormatFileMode(S_IFREG | S_ISUID | 0755), "S_IFREG|S_ISUID|0755");
  EXPECT_EQ(FormatFileMode(S_IFLNK | 0777), "S_IFLNK|0777");
  EXPECT_EQ(FormatFileMode(S_IFREG), "S_IFREG|000");
}

// ---- mm ------------------------------------------------------------------

TEST(FormatProt, NamesNoneAndUnknown) {
  EXPECT_EQ(FormatProt(PROT_NONE), "PROT_NONE");
  EXPECT_EQ(FormatProt(PROT_READ | PROT_WRITE), "PROT_READ|PROT_WRITE");
  EXPECT_EQ(FormatProt(PROT_READ | PROT_EXEC), "PROT_READ|PROT_EXEC");
  EXPECT_EQ(FormatProt(0xffffffff),
            "PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM|PROT_GROWSDOWN|PROT_GROWSUP|0xfcfffff0");
  EXPECT_EQ(FormatProt(0x10), "0x10 /* PROT_??? */");
  EXPECT_EQ(FormatProt(0xffffffff00000001), "PROT_READ|0xffffffff00000000");
}

TEST(FormatMmapFlags, TypeThenFlags) {
  EXPECT_EQ(FormatMmapFlags(MAP_PRIVATE | MAP_ANONYMOUS), "MAP_PRIVATE|MAP_ANONYMOUS");
  EXPECT_EQ(FormatMmapFlags(MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE),
            "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE");
  EXPECT_EQ(FormatMmapFlags(MAP_PRIVATE), "MAP_PRIVATE");
  EXPECT_EQ(FormatMmapFlags(0), "MAP_FILE");
  EXPECT_EQ(FormatMmapFlags(3), "MAP_SHARED_VALIDATE");
  EXPECT_EQ(FormatMmapFlags(4), "0x4 /* MAP_??? */");
  EXPECT_EQ(FormatMmapFlags(0x80), "MAP_FILE|0x80");
  EXPECT_EQ(FormatMmapFlags(0x4000000), "MAP_FILE|1<<MAP_HUGE_SHIFT");
}

// mmap(NULL, 0, ..., 0xffffffff, 999, 0)
TEST(FormatMmapFlags, AllBits) {
  EXPECT_EQ(FormatMmapFlags(0xffffffff),
            "0xf /* MAP_??? */|MAP_FIXED|MAP_ANONYMOUS|MAP_32BIT|MAP_NORESERVE|MAP_POPULATE|"
            "MAP_NONBLOCK|MAP_GROWSDOWN|MAP_DENYWRITE|MAP_EXECUTABLE|MAP_LOCKED|MAP_STACK|"
            "MAP_HUGETLB|MAP_SYNC|MAP_FIXED_NOREPLACE|0x3e00680|63<<MAP_HUGE_SHIFT");
  EXPECT_EQ(FormatMmapFlags(0xfffffff0),
            "MAP_FILE|MAP_FIXED|MAP_ANONYMOUS|MAP_32BIT|MAP_NORESERVE|MAP_POPULATE|"
            "MAP_NONBLOCK|MAP_GROWSDOWN|MAP_DENYWRITE|MAP_EXECUTABLE|MAP_LOCKED|MAP_STACK|"
            "MAP_HUGETLB|MAP_SYNC|MAP_FIXED_NOREPLACE|0x3e00680|63<<MAP_HUGE_SHIFT");
}

TEST(FormatMremapFlags, ZeroNamesUnknown) {
  EXPECT_EQ(FormatMremapFlags(0), "0");
  EXPECT_EQ(FormatMremapFlags(1), "MREMAP_MAYMOVE");
  EXPECT_EQ(FormatMremapFlags(5), "MREMAP_MAYMOVE|MREMAP_DONTUNMAP");
  EXPECT_EQ(FormatMremapFlags(0xffffffff),
            "MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP|0xfffffff8");
  EXPECT_EQ(FormatMremapFlags(8), "0x8 /* MREMAP_??? */");
}

TEST(FormatMadvice, NamedAndUnknown) {
  EXPECT_EQ(FormatMadvice(MADV_DONTNEED), "MADV_DONTNEED");
  EXPECT_EQ(FormatMadvice(0), "MADV_NORMAL");
  EXPECT_EQ(FormatMadvice(25), "MADV_COLLAPSE");
  EXPECT_EQ(FormatMadvice(101), "MADV_SOFT_OFFLINE");
  EXPECT_EQ(FormatMadvice(5), "0x5 /* MADV_??? */");
  EXPECT_EQ(FormatMadvice(0xffffffff), "0xffffffff /* MADV_??? */");
}

// ---- file ----------------------------------------------------------------

TEST(FormatWhence, NamedAndUnknown) {
  EXPECT_EQ(FormatWhence(SEEK_SET), "SEEK_SET");
  EXPECT_EQ(FormatWhence(SEEK_HOLE), "SEEK_HOLE");
  EXPECT_EQ(FormatWhence(9), "0x9 /* SEEK_??? */");
}

TEST(FormatAtFlags, GenericSet) {
  EXPECT_EQ(FormatAtFlags(0), "0");
  EXPECT_EQ(FormatAtFlags(AT_EMPTY_PATH), "AT_EMPTY_PATH");
  EXPECT_EQ(FormatAtFlags(AT_REMOVEDIR), "AT_REMOVEDIR");
  EXPECT_EQ(FormatAtFlags(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT),
            "AT_SYMLINK_NOFOLLOW|AT_NO_AUTOMOUNT|AT_EMPTY_PATH");
  EXPECT_EQ(FormatAtFlags(0x8400), "AT_SYMLINK_FOLLOW|AT_RECURSIVE");
  EXPECT_EQ(FormatAtFlags(0x1ff), "AT_SYMLINK_NOFOLLOW|0xff");
  EXPECT_EQ(FormatAtFlags(0x1), "0x1 /* AT_??? */");
  EXPECT_EQ(FormatAtFlags(0x2000), "0x2000 /* AT_??? */");
}

TEST(FormatFaccessatFlags, OwnSet) {
  EXPECT_EQ(FormatFaccessatFlags(0), "0");
  EXPECT_EQ(FormatFaccessatFlags(AT_EACCESS), "AT_EACCESS");
  EXPECT_EQ(FormatFaccessatFlags(0xffffffff),
            "AT_SYMLINK_NOFOLLOW|AT_EACCESS|AT_EMPTY_PATH|0xffffecff");
  EXPECT_EQ(FormatFaccessatFlags(0x800), "0x800 /* AT_??? */");
}

TEST(FormatStatx, FlagsAndMask) {
  EXPECT_EQ(FormatStatxFlags(0), "AT_STATX_SYNC_AS_STAT");
  EXPECT_EQ(FormatStatxFlags(AT_SYMLINK_NOFOLLOW), "AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW");
  EXPECT_EQ(FormatStatxFlags(0x4000), "AT_STATX_DONT_SYNC");
  EXPECT_EQ(FormatStatxFlags(0x6000), "AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC");
  EXPECT_EQ(FormatStatxFlags(0x10000), "AT_STATX_SYNC_AS_STAT|0x10000");
  EXPECT_EQ(FormatStatxFlags(0xffffffff),
            "AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC|AT_SYMLINK_NOFOLLOW|AT_REMOVEDIR|"
            "AT_SYMLINK_FOLLOW|AT_NO_AUTOMOUNT|AT_EMPTY_PATH|AT_RECURSIVE|0xffff00ff");
  EXPECT_EQ(FormatStatxMask(0), "0");
  EXPECT_EQ(FormatStatxMask(0x7ff), "STATX_BASIC_STATS");
  EXPECT_EQ(FormatStatxMask(0x17ff), "STATX_BASIC_STATS|STATX_MNT_ID");
  EXPECT_EQ(FormatStatxMask(0x173f),
            "STATX_TYPE|STATX_MODE|STATX_NLINK|STATX_UID|STATX_GID|STATX_ATIME|STATX_INO|"
            "STATX_SIZE|STATX_BLOCKS|STATX_MNT_ID");
  EXPECT_EQ(FormatStatxMask(0xffffffff), "STATX_ALL|STATX_MNT_ID|STATX_DIOALIGN|0xffffc000");
  EXPECT_EQ(FormatStatxMask(0x4000), "0x4000 /* STATX_??? */");
}

TEST(FormatAccessMode, FokAndBits) {
  EXPECT_EQ(FormatAccessMode(F_OK), "F_OK");
  EXPECT_EQ(FormatAccessMode(R_OK), "R_OK");
  EXPECT_EQ(FormatAccessMode(R_OK | W_OK | X_OK), "R_OK|W_OK|X_OK");
  EXPECT_EQ(FormatAccessMode(0x18), "0x18 /* ?_OK */");
  EXPECT_EQ(FormatAccessMode(0x9), "X_OK|0x8");
}

// newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=46407, ...}, AT_EMPTY_PATH) = 0
TEST(FormatStat, RegularFileShowsSize) {
  struct stat st = {};
  st.st_mode = S_IFREG | 0644;
  st.st_size = 46407;
  EXPECT_EQ(FormatStat(st), "{st_mode=S_IFREG|0644, st_size=46407, ...}");
  st.st_mode = S_IFDIR | 0755;
  st.st_size = 4096;
  EXPECT_EQ(FormatStat(st), "{st_mode=S_IFDIR|0755, st_size=4096, ...}");
}

// stat("/dev/null", {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...})
TEST(FormatStat, DeviceShowsRdev) {
  struct stat st = {};
  st.st_mode = S_IFCHR | 0666;
  st.st_rdev = makedev(1, 3);
  EXPECT_EQ(FormatStat(st), "{st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}");
  st.st_mode = S_IFBLK | 0600;
  st.st_rdev = makedev(7, 0);
  EXPECT_EQ(FormatStat(st), "{st_mode=S_IFBLK|0600, st_rdev=makedev(0x7, 0), ...}");
  st.st_mode = S_IFCHR | 0600;
  st.st_rdev = makedev(0x88, 1);
  EXPECT_EQ(FormatStat(st), "{st_mode=S_IFCHR|0600, st_rdev=makedev(0x88, 0x1), ...}");
}

TEST(FormatStatx, Abbreviated) {
  struct statx sx = {};
  sx.stx_mask = 0x17ff;
  sx.stx_mode = S_IFREG | 0644;
  sx.stx_size = 1221;
  EXPECT_EQ(FormatStatx(sx),
            "{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFREG|0644, "
            "stx_size=1221, ...}");
  sx.stx_attributes = 0x2000;
  sx.stx_mode = S_IFDIR | 0755;
  sx.stx_size = 4096;
  EXPECT_EQ(FormatStatx(sx),
            "{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=STATX_ATTR_MOUNT_ROOT, "
            "stx_mode=S_IFDIR|0755, stx_size=4096, ...}");
}

// ---- fcntl ---------------------------------------------------------------

TEST(FormatFcntl, CommandNames) {
  EXPECT_EQ(FormatFcntlCmd(F_GETFD), "F_GETFD");
  EXPECT_EQ(FormatFcntlCmd(F_DUPFD_CLOEXEC), "F_DUPFD_CLOEXEC");
  EXPECT_EQ(FormatFcntlCmd(F_OFD_SETLKW), "F_OFD_SETLKW");
  EXPECT_EQ(FormatFcntlCmd(0x12), "0x12 /* F_??? */");
  EXPECT_EQ(FormatFcntlCmd(0x12345), "0x12345 /* F_??? */");
}

// fcntl(1, F_GETFD); fcntl(1, F_SETFD, FD_CLOEXEC|0x2); fcntl(1, F_SETFL, O_RDWR|O_NONBLOCK) ...
TEST(FormatFcntl, ArgumentDependsOnCommand) {
  EXPECT_EQ(FormatFcntlArg(F_GETFD, 0x802), std::nullopt);
  EXPECT_EQ(FormatFcntlArg(F_GETFL, 0), std::nullopt);
  EXPECT_EQ(FormatFcntlArg(F_SETFD, FD_CLOEXEC), "FD_CLOEXEC");
  EXPECT_EQ(FormatFcntlArg(F_SETFD, 0), "0");
  EXPECT_EQ(FormatFcntlArg(F_SETFD, 3), "FD_CLOEXEC|0x2");
  EXPECT_EQ(FormatFcntlArg(F_SETFD, 0x802), "0x802 /* FD_??? */");
  EXPECT_EQ(FormatFcntlArg(F_SETFL, O_RDWR | O_NONBLOCK), "O_RDWR|O_NONBLOCK");
  EXPECT_EQ(FormatFcntlArg(F_SETFL, 0), "O_RDONLY");
  EXPECT_EQ(FormatFcntlArg(F_SETFL, 0x100000), "O_RDONLY|__O_SYNC");
  EXPECT_EQ(FormatFcntlArg(F_DUPFD, 10), "10");
  EXPECT_EQ(FormatFcntlArg(F_GETLK, 0x802), "0x802");
  EXPECT_EQ(FormatFcntlArg(F_SETLEASE, 5), "0x5 /* F_??? */");
  EXPECT_EQ(FormatFcntlArg(F_NOTIFY, 5), "DN_ACCESS|DN_CREATE");
  EXPECT_EQ(FormatFcntlArg(F_ADD_SEALS, 5), "F_SEAL_SEAL|F_SEAL_GROW");
  EXPECT_EQ(FormatFcntlArg(1029, 5), "0x5");  // F_CANCELLK
  EXPECT_EQ(FormatFcntlArg(0x12345, 10), "0xa");
}

// fcntl(1, F_GETFL) = 0x8001 (flags O_WRONLY|O_LARGEFILE); fcntl(3, F_GETFL) = 0 (flags O_RDONLY)
TEST(FormatFcntl, GetResultsShowFlags) {
  EXPECT_EQ(FormatFcntlResult(F_GETFL, 0x8001), " = 0x8001 (flags O_WRONLY|O_LARGEFILE)");
  EXPECT_EQ(FormatFcntlResult(F_GETFL, 0x8801),
            " = 0x8801 (flags O_WRONLY|O_NONBLOCK|O_LARGEFILE)");
  EXPECT_EQ(FormatFcntlResult(F_GETFL, 0), " = 0 (flags O_RDONLY)");
  EXPECT_EQ(FormatFcntlResult(F_GETFD, 1), " = 0x1 (flags FD_CLOEXEC)");
  EXPECT_EQ(FormatFcntlResult(F_GETFD, 0), " = 0");
  EXPECT_EQ(FormatFcntlResult(F_DUPFD, 11), " = 11");
  EXPECT_EQ(FormatFcntlResult(F_GETFL, -EBADF), " = -1 EBADF (Bad file descriptor)");
}

// ---- ioctl ---------------------------------------------------------------

TEST(FormatIoctl, RequestNames) {
  EXPECT_EQ(FormatIoctlCmd(0x5401), "TCGETS");
  EXPECT_EQ(FormatIoctlCmd(0x5402), "SNDCTL_TMR_START or TCSETS");
  EXPECT_EQ(FormatIoctlCmd(0x5404), "SNDCTL_TMR_CONTINUE or TCSETSF");
  EXPECT_EQ(FormatIoctlCmd(0x5413), "TIOCGWINSZ");
  EXPECT_EQ(FormatIoctlCmd(0x80045430), "TIOCGPTN");
  EXPECT_EQ(FormatIoctlCmd(0x1234), "_IOC(_IOC_NONE, 0x12, 0x34, 0)");
  EXPECT_EQ(FormatIoctlCmd(0xc0185401), "_IOC(_IOC_READ|_IOC_WRITE, 0x54, 0x1, 0x18)");
  EXPECT_EQ(FormatIoctlCmd(0x5426), "_IOC(_IOC_NONE, 0x54, 0x26, 0)");
}

// ioctl(999, TCSBRK, 16); ioctl(999, TCXONC, TCOOFF); ioctl(0, _IOC(...), 0x5); ioctl(999, FIOCLEX)
TEST(FormatIoctl, ArgumentKinds) {
  EXPECT_EQ(FormatIoctlValue(0x5409, 0x10), "16");
  EXPECT_EQ(FormatIoctlValue(0x540a, 0), "TCOOFF");
  EXPECT_EQ(FormatIoctlValue(0x540b, 0), "TCIFLUSH");
  EXPECT_EQ(FormatIoctlValue(0x1234, 0), "0");
  EXPECT_EQ(FormatIoctlValue(0xc0185401, 5), "0x5");
  EXPECT_EQ(FormatIoctlValue(0x5401, 0), "NULL");
  EXPECT_EQ(FormatIoctlValue(0x5401, 0x10), "0x10");
  EXPECT_EQ(ClassifyIoctl(0x5451), IoctlArg::kNone);
  EXPECT_EQ(ClassifyIoctl(0x5401), IoctlArg::kTermiosOut);
  EXPECT_EQ(ClassifyIoctl(0x5413), IoctlArg::kWinsizeOut);
  EXPECT_EQ(ClassifyIoctl(0x541b), IoctlArg::kIntOut);
}

// ioctl(0, TCGETS, {c_iflag=ICRNL|IXON, ...}) on a pty
TEST(FormatTermios, TypicalTerminal) {
  KernelTermios t;
  t.c_iflag = 0x500;   // ICRNL|IXON
  t.c_oflag = 0x5;     // OPOST|ONLCR
  t.c_cflag = 0xbf;    // B38400|CS8|CREAD
  t.c_lflag = 0x8a3b;  // ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE
  EXPECT_EQ(FormatTermios(t),
            "{c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, "
            "c_cflag=B38400|CS8|CREAD, "
            "c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}");
}

// strace prints a trailing '|' and empty fields for a zeroed termios.
TEST(FormatTermios, ZeroedKeepsStraceQuirks) {
  EXPECT_EQ(FormatTermios(KernelTermios{}),
            "{c_iflag=, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|, c_cflag=B0|CS5|, c_lflag=, ...}");
  KernelTermios t;
  t.c_cflag = 0x10000;
  t.c_oflag = 0x1800;
  t.c_iflag = 0x8000;
  EXPECT_EQ(FormatTermios(t),
            "{c_iflag=0x8000, c_oflag=NL0|CR0|XTABS|BS0|VT0|FF0|, c_cflag=B0|B50<<IBSHIFT|CS5|, "
            "c_lflag=, ...}");
}

TEST(FormatTermios, AllBits) {
  KernelTermios t;
  t.c_iflag = t.c_oflag = t.c_cflag = t.c_lflag = 0xffffffff;
  EXPECT_EQ(FormatTermios(t),
            "{c_iflag=IGNBRK|BRKINT|IGNPAR|PARMRK|INPCK|ISTRIP|INLCR|IGNCR|ICRNL|IUCLC|IXON|IXANY|"
            "IXOFF|IMAXBEL|IUTF8|0xffff8000, c_oflag=NL1|CR3|XTABS|BS1|VT1|FF1|OPOST|OLCUC|ONLCR|"
            "OCRNL|ONOCR|ONLRET|OFILL|OFDEL|0xffff0000, c_cflag=B4000000|B4000000<<IBSHIFT|CS8|"
            "CSTOPB|CREAD|PARENB|PARODD|HUPCL|CLOCAL|CMSPAR|CRTSCTS|0x2ff0e000, c_lflag=ISIG|"
            "ICANON|XCASE|ECHO|ECHOE|ECHOK|ECHONL|NOFLSH|IEXTEN|ECHOCTL|ECHOPRT|ECHOKE|FLUSHO|"
            "PENDIN|TOSTOP|EXTPROC|0xfffe2000, ...}");
}

TEST(FormatWinsize, AllFields) {
  EXPECT_EQ(FormatWinsize({24, 80, 0, 0}), "{ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}");
}

// ---- signals -------------------------------------------------------------

TEST(FormatSignal, NamesRealtimeAndNumbers) {
  EXPECT_EQ(FormatSignal(SIGINT), "SIGINT");
  EXPECT_EQ(FormatSignal(SIGSTKFLT), "SIGSTKFLT");
  EXPECT_EQ(FormatSignal(SIGSYS), "SIGSYS");
  EXPECT_EQ(FormatSignal(32), "SIGRTMIN");
  EXPECT_EQ(FormatSignal(33), "SIGRT_1");
  EXPECT_EQ(FormatSignal(64), "SIGRT_32");
  EXPECT_EQ(FormatSignal(0), "0");
  EXPECT_EQ(FormatSignal(65), "65");
  EXPECT_EQ(FormatSignal(-1), "-1");
}

uint64_t Bit(int sig) { return uint64_t{1} << (sig - 1); }

TEST(FormatSigset, ListsOrComplements) {
  EXPECT_EQ(FormatSigset(0), "[]");
  EXPECT_EQ(FormatSigset(Bit(SIGINT) | Bit(SIGTERM)), "[INT TERM]");
  EXPECT_EQ(FormatSigset(~uint64_t{0}), "~[]");
  EXPECT_EQ(FormatSigset(~uint64_t{0} & ~Bit(SIGKILL) & ~Bit(SIGSTOP)), "~[KILL STOP]");
  EXPECT_EQ(FormatSigset(Bit(32) | Bit(33) | Bit(34) | Bit(35) | Bit(64)),
            "[RTMIN RT_1 RT_2 RT_3 RT_32]");
  EXPECT_EQ(FormatSigset(0x00000000ffffffff),
            "[HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD "
            "CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS RTMIN]");
}

// rt_sigprocmask(0x3 /* SIG_??? */, ...) with the lowest n signals: strace
// switches to ~[...] at 42 signals.
TEST(FormatSigset, ComplementFromTwoThirds) {
  const uint64_t first41 = (uint64_t{1} << 41) - 1;
  const uint64_t first42 = (uint64_t{1} << 42) - 1;
  EXPECT_EQ(FormatSigset(first41).substr(0, 5), "[HUP ");
  EXPECT_EQ(FormatSigset(first42),
            "~[RT_11 RT_12 RT_13 RT_14 RT_15 RT_16 RT_17 RT_18 RT_19 RT_20 RT_21 RT_22 RT_23 "
            "RT_24 RT_25 RT_26 RT_27 RT_28 RT_29 RT_30 RT_31 RT_32]");
}

TEST(FormatSigHow, NamedAndUnknown) {
  EXPECT_EQ(FormatSigHow(SIG_BLOCK), "SIG_BLOCK");
  EXPECT_EQ(FormatSigHow(SIG_SETMASK), "SIG_SETMASK");
  EXPECT_EQ(FormatSigHow(3), "0x3 /* SIG_??? */");
}

TEST(FormatSigaction, DefaultAndRestorer) {
  EXPECT_EQ(FormatSigaction({}), "{sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}");
  KernelSigaction a{1, 0x04000000 | SA_RESTART, 0x1234, Bit(SIGINT) | Bit(SIGTERM)};
  EXPECT_EQ(FormatSigaction(a),
            "{sa_handler=SIG_IGN, sa_mask=[INT TERM], sa_flags=SA_RESTORER|SA_RESTART, "
            "sa_restorer=0x1234}");
  KernelSigaction b{0, 0x04000000, 0, 0};
  EXPECT_EQ(FormatSigaction(b),
            "{sa_handler=SIG_DFL, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=NULL}");
}

TEST(FormatSigaction, HandlerAddressAndAllFlags) {
  KernelSigaction a{0x55b8993a3139, 0xffffffff, 0x1234, ~uint64_t{0}};
  EXPECT_EQ(FormatSigaction(a),
            "{sa_handler=0x55b8993a3139, sa_mask=~[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|"
            "SA_INTERRUPT|SA_NODEFER|SA_RESETHAND|SA_SIGINFO|SA_NOCLDSTOP|SA_NOCLDWAIT|0x3fffff8, "
            "sa_restorer=0x1234}");
  KernelSigaction e{~uint64_t{0}, 0x800, 0, 0};
  EXPECT_EQ(FormatSigaction(e), "{sa_handler=SIG_ERR, sa_mask=[], sa_flags=0x800 /* SA_??? */}");
}

// ---- process and time ----------------------------------------------------

TEST(FormatRlimit, InfinityAndKilobytes) {
  EXPECT_EQ(FormatRlimitResource(RLIMIT_NOFILE), "RLIMIT_NOFILE");
  EXPECT_EQ(FormatRlimitResource(RLIMIT_RTTIME), "RLIMIT_RTTIME");
  EXPECT_EQ(FormatRlimitResource(16), "0x10 /* RLIMIT_??? */");
  EXPECT_EQ(FormatRlimitResource(0xffffffff), "0xffffffff /* RLIMIT_??? */");
  EXPECT_EQ(FormatRlimit({8192 * 1024, ~uint64_t{0}}),
            "{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}");
  EXPECT_EQ(FormatRlimit({1024, 4096}), "{rlim_cur=1024, rlim_max=4*1024}");
  EXPECT_EQ(FormatRlimit({1000, 1023 * 1024}), "{rlim_cur=1000, rlim_max=1023*1024}");
  EXPECT_EQ(FormatRlimit({0, 20000}), "{rlim_cur=0, rlim_max=20000}");
}

TEST(FormatArchPrctlCode, NamedAndUnknown) {
  EXPECT_EQ(FormatArchPrctlCode(0x1002), "ARCH_SET_FS");
  EXPECT_EQ(FormatArchPrctlCode(0x2003), "ARCH_MAP_VDSO_64");
  EXPECT_EQ(FormatArchPrctlCode(0x1000), "0x1000 /* ARCH_??? */");
}

TEST(FormatClock, NamedAndUnknown) {
  EXPECT_EQ(FormatClock(CLOCK_MONOTONIC), "CLOCK_MONOTONIC");
  EXPECT_EQ(FormatClock(CLOCK_TAI), "CLOCK_TAI");
  EXPECT_EQ(FormatClock(12), "0xc /* CLOCK_??? */");
  EXPECT_EQ(FormatClock(0xfffffffe), "0xfffffffe /* CLOCK_??? */");
}

TEST(FormatGrndFlags, NamedAndUnknown) {
  EXPECT_EQ(FormatGrndFlags(0), "0");
  EXPECT_EQ(FormatGrndFlags(1), "GRND_NONBLOCK");
  EXPECT_EQ(FormatGrndFlags(0xff), "GRND_NONBLOCK|GRND_RANDOM|GRND_INSECURE|0xf8");
  EXPECT_EQ(FormatGrndFlags(8), "0x8 /* GRND_??? */");
}

TEST(FormatTime, StructsAndIsoDate) {
  EXPECT_EQ(FormatTimespec({1470, 164277502}), "{tv_sec=1470, tv_nsec=164277502}");
  EXPECT_EQ(FormatTimeval({1795434682, 59790}), "{tv_sec=1795434682, tv_usec=59790}");
  EXPECT_EQ(FormatTimezone({0, 0}), "{tz_minuteswest=0, tz_dsttime=0}");
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(FormatIsoTime(1795434682), "2026-11-23T11:51:22+0000");
}

TEST(FormatUtsname, SysnameAndNodename) {
  struct utsname u = {};
  strcpy(u.sysname, "Linux");
  strcpy(u.nodename, "vm");
  strcpy(u.release, "6.1.0");
  EXPECT_EQ(FormatUtsname(u), R"({sysname="Linux", nodename="vm", ...})");
}

TEST(FormatSysinfo, AllFields) {
  struct sysinfo si = {};
  si.uptime = 1532;
  si.loads[0] = 220096;
  si.loads[1] = 166208;
  si.loads[2] = 80320;
  si.totalram = 25276026880;
  si.freeram = 23558762496;
  si.sharedram = 9097216;
  si.bufferram = 34508800;
  si.procs = 112;
  si.mem_unit = 1;
  EXPECT_EQ(FormatSysinfo(si),
            "{uptime=1532, loads=[220096, 166208, 80320], totalram=25276026880, "
            "freeram=23558762496, sharedram=9097216, bufferram=34508800, totalswap=0, "
            "freeswap=0, procs=112, totalhigh=0, freehigh=0, mem_unit=1}");
}

TEST(FormatCpuSet, ListsCpus) {
  EXPECT_EQ(FormatCpuSet("\x03"), "[0 1]");
  EXPECT_EQ(FormatCpuSet("\x00\x81"s), "[8 15]");
  EXPECT_EQ(FormatCpuSet(""), "[]");
}

// ---- iovecs --------------------------------------------------------------

IovecView Iov(std::string data, uint64_t len, bool truncated = false) {
  IovecView v;
  v.base = 0x1000;
  v.len = len;
  v.data = std::move(data);
  v.data_truncated = truncated;
  return v;
}

// writev(1, [{iov_base="abc", iov_len=3},
//            {iov_base="defghijklmnopqrstuvwxyz012345678"..., iov_len=39}, ...], 3)
TEST(FormatIovecs, DataPerElement) {
  std::vector<IovecView> iov = {Iov("abc", 3), Iov("defghijklmnopqrstuvwxyz012345678", 39, true),
                                Iov("x", 1)};
  EXPECT_EQ(FormatIovecs(iov, false),
            R"([{iov_base="abc", iov_len=3}, {iov_base="defghijklmnopqrstuvwxyz012345678"..., )"
            R"(iov_len=39}, {iov_base="x", iov_len=1}])");
  EXPECT_EQ(FormatIovecs({}, false), "[]");
}

// readv(99, [{iov_base=0x7ffcec494ccc, iov_len=4}, ...], 2) = -1 EBADF
TEST(FormatIovecs, AddressesWithoutData) {
  IovecView v;
  v.base = 0x7ffcec494ccc;
  v.len = 4;
  std::vector<IovecView> iov = {v};
  EXPECT_EQ(FormatIovecs(iov, false), "[{iov_base=0x7ffcec494ccc, iov_len=4}]");
}

TEST(FormatIovecs, MoreThan32ElementsEndWithDots) {
  std::vector<IovecView> iov(32, Iov("ab", 2));
  std::string expected = "[";
  for (int i = 0; i < 32; ++i) expected += R"({iov_base="ab", iov_len=2}, )";
  expected += "...]";
  EXPECT_EQ(FormatIovecs(iov, true), expected);
}

// ---- results and lines ---------------------------------------------------

TEST(FormatResult, ValuesErrorsAndStyles) {
  EXPECT_EQ(FormatResult(3), " = 3");
  EXPECT_EQ(FormatResult(-ENOENT), " = -1 ENOENT (No such file or directory)");
  EXPECT_EQ(FormatResult(-ENOSYS), " = -1 ENOSYS (Function not implemented)");
  EXPECT_EQ(FormatResult(0x7f80f6408000, true), " = 0x7f80f6408000");
  EXPECT_EQ(FormatResult(0, true), " = 0");
  EXPECT_EQ(FormatResult(-ENOMEM, true), " = -1 ENOMEM (Cannot allocate memory)");
  EXPECT_EQ(FormatResult(022, ResultStyle::kOctal), " = 022");
  EXPECT_EQ(FormatResult(0, ResultStyle::kOctal), " = 000");
  EXPECT_EQ(FormatResult(0, ResultStyle::kNone), " = ?");
  EXPECT_EQ(FormatResult(1795434682, ResultStyle::kDecimal, "2026-11-23T11:51:22+0000"),
            " = 1795434682 (2026-11-23T11:51:22+0000)");
}

TEST(FormatResult, RestartCodesShowQuestionMark) {
  EXPECT_EQ(FormatResult(-ERESTARTSYS), " = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
  EXPECT_EQ(FormatResult(-ERESTARTNOINTR), " = ? ERESTARTNOINTR (To be restarted)");
  EXPECT_EQ(FormatResult(-ERESTARTNOHAND), " = ? ERESTARTNOHAND (To be restarted if no handler)");
  EXPECT_EQ(FormatResult(-ERESTART_RESTARTBLOCK),
            " = ? ERESTART_RESTARTBLOCK (Interrupted by signal)");
}

TEST(FormatLine, PadsShortCallsToColumn40) {
  EXPECT_EQ(FormatLine("brk(NULL)", " = 0x55959d99c000"),
            "brk(NULL)                               = 0x55959d99c000\n");
  EXPECT_EQ(FormatLine("set_tid_address(0x7f80f6217a10)", " = 9015"),
            "set_tid_address(0x7f80f6217a10)         = 9015\n");
  EXPECT_EQ(FormatLine("arch_prctl(ARCH_SET_FS, 0x7f80f6217740)", " = 0"),
            "arch_prctl(ARCH_SET_FS, 0x7f80f6217740) = 0\n");
  EXPECT_EQ(FormatLine("openat(AT_FDCWD, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC)", " = 3"),
            "openat(AT_FDCWD, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC) = 3\n");
  EXPECT_EQ(FormatLine("exit_group(0)", " = ?"),
            "exit_group(0)                           = ?\n");
}

TEST(FormatExecve, FirstLine) {
  std::vector<std::string> argv = {"/bin/true"};
  EXPECT_EQ(FormatExecve("/bin/true", argv, false, 0x7ffdff33ace8, 41, 0),
            "execve(\"/bin/true\", [\"/bin/true\"], 0x7ffdff33ace8 /* 41 vars */) = 0\n");
  std::vector<std::string> two = {"a", "b\n"};
  EXPECT_EQ(FormatExecve("/nonexist", two, false, 0x7ffc92c865c0, 1, -ENOENT),
            "execve(\"/nonexist\", [\"a\", \"b\\n\"], 0x7ffc92c865c0 /* 1 var */) = -1 ENOENT "
            "(No such file or directory)\n");
}

TEST(FormatExit, ExitedAndKilled) {
  EXPECT_EQ(FormatExited(0), "+++ exited with 0 +++\n");
  EXPECT_EQ(FormatKilled(SIGSEGV, false), "+++ killed by SIGSEGV +++\n");
  EXPECT_EQ(FormatKilled(SIGSEGV, true), "+++ killed by SIGSEGV (core dumped) +++\n");
  EXPECT_EQ(FormatFaultSignal(SIGSEGV, 1, 0),
            "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---\n");
  EXPECT_EQ(FormatFaultSignal(SIGSEGV, 0x80, 0),
            "--- SIGSEGV {si_signo=SIGSEGV, si_code=SI_KERNEL, si_addr=NULL} ---\n");
}

}  // namespace
}  // namespace husk::strace
