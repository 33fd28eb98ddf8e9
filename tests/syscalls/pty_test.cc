// Pseudo-terminals (pty(7), termios(3), tty_ioctl(2TTY)): /dev/ptmx and
// devpts, the line discipline between master and slave, controlling
// terminals and job control.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "caps_util.h"
#include "test_util.h"

namespace {

using husk_test::NowMs;
using husk_test::RunInChild;

// A master and its slave (opened without becoming the controlling
// terminal).
struct PtyPair {
  int master = -1;
  int slave = -1;
  std::string name;
  PtyPair() {
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) return;
    if (grantpt(master) != 0 || unlockpt(master) != 0) return;
    const char* n = ptsname(master);
    if (n == nullptr) return;
    name = n;
    slave = open(n, O_RDWR | O_NOCTTY);
  }
  ~PtyPair() {
    if (slave >= 0) close(slave);
    if (master >= 0) close(master);
  }
  bool ok() const { return master >= 0 && slave >= 0; }
};

// Reads from `fd` until `want` bytes came or `ms` passed (the line
// discipline may process input asynchronously, as Linux's does).
std::string ReadSome(int fd, size_t want, int ms = 3000) {
  std::string out;
  const long end = NowMs() + ms;
  while (out.size() < want) {
    const long left = end - NowMs();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
    if (!(p.revents & POLLIN)) break;
    char buf[4096];
    ssize_t n = read(fd, buf, std::min(sizeof(buf), want - out.size()));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Reads from the master until `marker` arrives; what came before it too.
std::string ReadUntil(int fd, const std::string& marker, int ms = 3000) {
  std::string out;
  const long end = NowMs() + ms;
  while (out.find(marker) == std::string::npos) {
    const long left = end - NowMs();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0 || !(p.revents & POLLIN)) break;
    char c;
    if (read(fd, &c, 1) != 1) break;
    out.push_back(c);
  }
  return out;
}

void WriteAll(int fd, const std::string& s) {
  ASSERT_EQ(write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size())) << strerror(errno);
}

void SetLflag(int fd, tcflag_t on, tcflag_t off) {
  termios t;
  ASSERT_EQ(tcgetattr(fd, &t), 0);
  t.c_lflag = (t.c_lflag | on) & ~off;
  ASSERT_EQ(tcsetattr(fd, TCSANOW, &t), 0);
}

volatile sig_atomic_t g_signal = 0;
void Record(int sig) { g_signal = sig; }

// Waits (in a child) for g_signal to become `sig`.
bool AwaitSignal(int sig, int ms = 3000) {
  const long end = NowMs() + ms;
  while (g_signal != sig && NowMs() < end) usleep(1000);
  return g_signal == sig;
}

// --- devpts and /dev/ptmx ---

TEST(Ptmx, OpenptGrantUnlockPtsname) {
  PtyPair p;
  ASSERT_TRUE(p.ok()) << strerror(errno);
  EXPECT_EQ(p.name.rfind("/dev/pts/", 0), 0u) << p.name;
  unsigned n = 99999;
  ASSERT_EQ(ioctl(p.master, TIOCGPTN, &n), 0);
  EXPECT_EQ(p.name, "/dev/pts/" + std::to_string(n));
  EXPECT_TRUE(isatty(p.master));
  EXPECT_TRUE(isatty(p.slave));
  char name[64];
  ASSERT_EQ(ttyname_r(p.slave, name, sizeof(name)), 0);
  EXPECT_EQ(p.name, name);
}

TEST(Ptmx, SlaveNodeIsCharDeviceOwnedByOpener) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  struct stat st;
  ASSERT_EQ(stat(p.name.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 136u + minor(st.st_rdev) / 256);
  EXPECT_EQ(st.st_uid, getuid());
  // mode=620 (with gid=tty) or devpts's default mode=600.
  EXPECT_TRUE((st.st_mode & 07777) == 0620 || (st.st_mode & 07777) == 0600) << std::oct << st.st_mode;
  struct stat fst;
  ASSERT_EQ(fstat(p.slave, &fst), 0);
  EXPECT_EQ(fst.st_rdev, st.st_rdev);
  ASSERT_EQ(fstat(p.master, &fst), 0);
  EXPECT_EQ(fst.st_rdev, makedev(5, 2));
}

TEST(Ptmx, SlaveIsLockedUntilUnlockpt) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(m, 0);
  const std::string name = ptsname(m);
  EXPECT_FAILS_WITH(open(name.c_str(), O_RDWR | O_NOCTTY), EIO);
  int lock = -1;
  ASSERT_EQ(ioctl(m, TIOCGPTLCK, &lock), 0);
  EXPECT_EQ(lock, 1);
  ASSERT_EQ(unlockpt(m), 0);
  ASSERT_EQ(ioctl(m, TIOCGPTLCK, &lock), 0);
  EXPECT_EQ(lock, 0);
  int s = open(name.c_str(), O_RDWR | O_NOCTTY);
  EXPECT_GE(s, 0) << strerror(errno);
  close(s);
  close(m);
}

TEST(Ptmx, TiocgptpeerOpensTheSlave) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(m, 0);
  ASSERT_EQ(unlockpt(m), 0);
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(s, 0) << strerror(errno);
  char name[64];
  ASSERT_EQ(ttyname_r(s, name, sizeof(name)), 0);
  EXPECT_STREQ(name, ptsname(m));
  EXPECT_EQ(fcntl(s, F_GETFD), FD_CLOEXEC);
  close(s);
  close(m);
}

TEST(Ptmx, NodeGoesWithTheMaster) {
  std::string name;
  {
    PtyPair p;
    ASSERT_TRUE(p.ok());
    name = p.name;
    struct stat st;
    EXPECT_EQ(stat(name.c_str(), &st), 0);
  }
  // Another test's pty may have taken the index meanwhile; ours is gone.
  struct stat st;
  if (stat(name.c_str(), &st) == 0) GTEST_SKIP() << "index reused";
  EXPECT_EQ(errno, ENOENT);
}

TEST(Ptmx, SlaveIoctlsNotOnMaster) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  unsigned n;
  EXPECT_FAILS_WITH(ioctl(p.slave, TIOCGPTN, &n), ENOTTY);
}

// --- the line discipline ---

TEST(LineDiscipline, DefaultTermiosIsCookedWithEcho) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  termios t;
  ASSERT_EQ(tcgetattr(p.slave, &t), 0);
  EXPECT_EQ(t.c_iflag, static_cast<tcflag_t>(ICRNL | IXON));
  EXPECT_EQ(t.c_oflag, static_cast<tcflag_t>(OPOST | ONLCR));
  EXPECT_EQ(t.c_lflag, static_cast<tcflag_t>(ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN));
  EXPECT_EQ(t.c_cc[VINTR], 3);
  EXPECT_EQ(t.c_cc[VERASE], 0x7f);
  EXPECT_EQ(t.c_cc[VEOF], 4);
  EXPECT_EQ(t.c_cc[VMIN], 1);
  EXPECT_EQ(cfgetospeed(&t), static_cast<speed_t>(B38400));
  // The master reports the slave's settings.
  termios m;
  ASSERT_EQ(tcgetattr(p.master, &m), 0);
  EXPECT_EQ(m.c_lflag, t.c_lflag);
}

TEST(LineDiscipline, TcsetattrRoundTrip) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  termios t;
  ASSERT_EQ(tcgetattr(p.slave, &t), 0);
  cfmakeraw(&t);
  t.c_cc[VMIN] = 3;
  ASSERT_EQ(tcsetattr(p.slave, TCSAFLUSH, &t), 0);
  termios u;
  ASSERT_EQ(tcgetattr(p.master, &u), 0);
  EXPECT_EQ(u.c_lflag, t.c_lflag);
  EXPECT_EQ(u.c_iflag, t.c_iflag);
  EXPECT_EQ(u.c_cc[VMIN], 3);
  EXPECT_TRUE(u.c_cflag & CS8);
}

TEST(LineDiscipline, CanonicalReadIsOneLine) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  WriteAll(p.master, "one\ntwo\n");
  char buf[64];
  ssize_t n = read(p.slave, buf, sizeof(buf));
  ASSERT_EQ(n, 4);
  EXPECT_EQ(std::string(buf, 4), "one\n");
  n = read(p.slave, buf, sizeof(buf));
  ASSERT_EQ(n, 4);
  EXPECT_EQ(std::string(buf, 4), "two\n");
}

TEST(LineDiscipline, CanonicalShortReadKeepsTheRest) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  WriteAll(p.master, "abcdef\n");
  char buf[64];
  ASSERT_EQ(read(p.slave, buf, 3), 3);
  EXPECT_EQ(std::string(buf, 3), "abc");
  ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "def\n");
}

TEST(LineDiscipline, EraseAndKillEditTheLine) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  WriteAll(p.master, "hel\x7flo\n");
  char buf[64];
  ssize_t n = read(p.slave, buf, sizeof(buf));
  ASSERT_EQ(n, 5);
  EXPECT_EQ(std::string(buf, 5), "helo\n");
  // ECHOE rubs the character out on the screen.
  EXPECT_EQ(ReadSome(p.master, 11), "hel\b \blo\r\n");
  WriteAll(p.master, "junk\x15ok\n");
  n = read(p.slave, buf, sizeof(buf));
  ASSERT_EQ(n, 3);
  EXPECT_EQ(std::string(buf, 3), "ok\n");
}

TEST(LineDiscipline, WordErase) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  WriteAll(p.master, "foo bar  \x17" "baz\n");
  char buf[64];
  ssize_t n = read(p.slave, buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, n), "foo baz\n");
}

TEST(LineDiscipline, EofAtLineStartReadsZero) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  WriteAll(p.master, "ab\x04");
  char buf[64];
  ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 2);
  EXPECT_EQ(std::string(buf, 2), "ab");
  WriteAll(p.master, "\x04");
  EXPECT_EQ(read(p.slave, buf, sizeof(buf)), 0);
}

TEST(LineDiscipline, IcrnlMakesCrANewline) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  WriteAll(p.master, "x\r");
  char buf[64];
  ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 2);
  EXPECT_EQ(std::string(buf, 2), "x\n");
}

TEST(LineDiscipline, OnlcrOnOutput) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  WriteAll(p.slave, "a\nb");
  EXPECT_EQ(ReadSome(p.master, 4), "a\r\nb");
  termios t;
  ASSERT_EQ(tcgetattr(p.slave, &t), 0);
  t.c_oflag &= ~OPOST;
  ASSERT_EQ(tcsetattr(p.slave, TCSANOW, &t), 0);
  WriteAll(p.slave, "c\nd");
  EXPECT_EQ(ReadSome(p.master, 3), "c\nd");
}

TEST(LineDiscipline, EchoCtlShowsControlCharacters) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  WriteAll(p.master, "a\x01z\n");
  char buf[64];
  ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 4);
  EXPECT_EQ(ReadSome(p.master, 6), "a^Az\r\n");
}

TEST(LineDiscipline, NoEchoWithoutEcho) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  SetLflag(p.slave, 0, ECHO);
  WriteAll(p.master, "secret\n");
  char buf[64];
  ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 7);
  WriteAll(p.slave, "!");
  EXPECT_EQ(ReadUntil(p.master, "!"), "!");
}

TEST(LineDiscipline, EchonlEchoesOnlyNewline) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  SetLflag(p.slave, ECHONL, ECHO);
  WriteAll(p.master, "pw\n");
  char buf[64];
  ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 3);
  WriteAll(p.slave, "!");
  EXPECT_EQ(ReadUntil(p.master, "!"), "\r\n!");
}

TEST(LineDiscipline, RawModeReadsBytesAsTheyCome) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  termios t;
  ASSERT_EQ(tcgetattr(p.slave, &t), 0);
  cfmakeraw(&t);
  ASSERT_EQ(tcsetattr(p.slave, TCSANOW, &t), 0);
  WriteAll(p.master, "ab\r\x03");
  EXPECT_EQ(ReadSome(p.slave, 4), "ab\r\x03");
}

TEST(LineDiscipline, VminZeroVtimeZeroDoesNotWait) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  termios t;
  ASSERT_EQ(tcgetattr(p.slave, &t), 0);
  cfmakeraw(&t);
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 0;
  ASSERT_EQ(tcsetattr(p.slave, TCSANOW, &t), 0);
  char buf[8];
  EXPECT_EQ(read(p.slave, buf, sizeof(buf)), 0);
}

TEST(LineDiscipline, VtimeTimesOut) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  termios t;
  ASSERT_EQ(tcgetattr(p.slave, &t), 0);
  cfmakeraw(&t);
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 2;  // 0.2 s
  ASSERT_EQ(tcsetattr(p.slave, TCSANOW, &t), 0);
  char buf[8];
  const long start = NowMs();
  EXPECT_EQ(read(p.slave, buf, sizeof(buf)), 0);
  const long took = NowMs() - start;
  EXPECT_GE(took, 150);
  EXPECT_LT(took, 2000);
}

TEST(LineDiscipline, VminWaitsForThatMany) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  termios t;
  ASSERT_EQ(tcgetattr(p.slave, &t), 0);
  cfmakeraw(&t);
  t.c_cc[VMIN] = 3;
  t.c_cc[VTIME] = 0;
  ASSERT_EQ(tcsetattr(p.slave, TCSANOW, &t), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    usleep(100000);
    (void)!write(p.master, "x", 1);
    usleep(100000);
    (void)!write(p.master, "yz", 2);
    _exit(0);
  }
  char buf[8];
  EXPECT_EQ(read(p.slave, buf, sizeof(buf)), 3);
  EXPECT_EQ(std::string(buf, 3), "xyz");
  waitpid(pid, nullptr, 0);
}

TEST(LineDiscipline, FionreadCountsCompleteLines) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  SetLflag(p.slave, 0, ECHO);
  WriteAll(p.master, "abc");
  husk_test::SleepMs(50);
  int n = -1;
  ASSERT_EQ(ioctl(p.slave, FIONREAD, &n), 0);
  EXPECT_EQ(n, 0);
  WriteAll(p.master, "d\n");
  pollfd pf{p.slave, POLLIN, 0};
  ASSERT_EQ(poll(&pf, 1, 3000), 1);
  ASSERT_EQ(ioctl(p.slave, FIONREAD, &n), 0);
  EXPECT_EQ(n, 5);
  char buf[8];
  ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 5);
}

TEST(LineDiscipline, TcflushDropsInput) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  SetLflag(p.slave, 0, ECHO);
  WriteAll(p.master, "old\n");
  pollfd pf{p.slave, POLLIN, 0};
  ASSERT_EQ(poll(&pf, 1, 3000), 1);
  ASSERT_EQ(tcflush(p.slave, TCIFLUSH), 0);
  WriteAll(p.master, "new\n");
  char buf[8];
  ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "new\n");
  EXPECT_FAILS_WITH(ioctl(p.slave, TCFLSH, 7), EINVAL);
}

TEST(LineDiscipline, LnextQuotesTheNextCharacter) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  WriteAll(p.master, "a\x16\x03" "b\x16\x7f\n");
  char buf[16];
  ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 5);
  EXPECT_EQ(std::string(buf, 5), "a\x03" "b\x7f\n");
}

TEST(LineDiscipline, TcflowStopsOutput) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  int nb = open(p.name.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
  ASSERT_GE(nb, 0);
  ASSERT_EQ(tcflow(p.slave, TCOOFF), 0);
  EXPECT_FAILS_WITH(write(nb, "x", 1), EAGAIN);
  pollfd pf{nb, POLLOUT, 0};
  EXPECT_EQ(poll(&pf, 1, 0), 0);
  ASSERT_EQ(tcflow(p.slave, TCOON), 0);
  EXPECT_EQ(write(nb, "y", 1), 1);
  EXPECT_EQ(ReadSome(p.master, 1), "y");
  EXPECT_FAILS_WITH(tcflow(p.slave, 9), EINVAL);
  close(nb);
}

TEST(LineDiscipline, IxonCtrlSCtrlQ) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  int nb = open(p.name.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
  ASSERT_GE(nb, 0);
  WriteAll(p.master, "\x13");
  pollfd pf{nb, POLLOUT, 0};
  const long end = NowMs() + 3000;
  while (poll(&pf, 1, 0) == 1 && NowMs() < end) usleep(1000);
  EXPECT_FAILS_WITH(write(nb, "x", 1), EAGAIN);
  WriteAll(p.master, "\x11");
  EXPECT_EQ(poll(&pf, 1, 3000), 1);
  EXPECT_EQ(write(nb, "y", 1), 1);
  EXPECT_EQ(ReadSome(p.master, 1), "y");
  close(nb);
}

TEST(LineDiscipline, PacketModePrefixesData) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  int on = 1;
  ASSERT_EQ(ioctl(p.master, TIOCPKT, &on), 0);
  WriteAll(p.slave, "x");
  std::string got = ReadSome(p.master, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], TIOCPKT_DATA);
  EXPECT_EQ(got[1], 'x');
}

TEST(LineDiscipline, ExclusiveRefusesNewOpens) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(ioctl(p.slave, TIOCEXCL), 0);
  RunInChild([&] {
    // Without CAP_SYS_ADMIN.
    husk_test::Caps c = husk_test::GetCaps();
    c.effective &= ~(uint64_t{1} << CAP_SYS_ADMIN);
    ASSERT_EQ(husk_test::SetCaps(c), 0);
    EXPECT_FAILS_WITH(open(p.name.c_str(), O_RDWR | O_NOCTTY), EBUSY);
  });
  ASSERT_EQ(ioctl(p.slave, TIOCNXCL), 0);
  int fd = open(p.name.c_str(), O_RDWR | O_NOCTTY);
  EXPECT_GE(fd, 0);
  close(fd);
}

TEST(LineDiscipline, TiocstiOnTheControllingTerminal) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    char c = 'q';
    if (ioctl(p.slave, TIOCSTI, &c) != 0) {
      // dev.tty.legacy_tiocsti=0 turns it off.
      ASSERT_EQ(errno, EIO);
      return;
    }
    c = '\n';
    ASSERT_EQ(ioctl(p.slave, TIOCSTI, &c), 0);
    char buf[8];
    ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 2);
    EXPECT_EQ(buf[0], 'q');
  });
}

TEST(Devpts, ListsTheSlaves) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  const std::string n = p.name.substr(strlen("/dev/pts/"));
  DIR* d = opendir("/dev/pts");
  ASSERT_NE(d, nullptr);
  bool ptmx = false, ours = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name == std::string("ptmx")) ptmx = true;
    if (e->d_name == n) {
      ours = true;
      EXPECT_EQ(e->d_type, DT_CHR);
    }
  }
  closedir(d);
  EXPECT_TRUE(ptmx);
  EXPECT_TRUE(ours);
  struct statfs sf;
  ASSERT_EQ(statfs("/dev/pts", &sf), 0);
  EXPECT_EQ(sf.f_type, 0x1cd1);  // DEVPTS_SUPER_MAGIC
}

// --- readiness and the ends closing ---

TEST(PtyPoll, Readiness) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  pollfd pf[2] = {{p.master, POLLIN | POLLOUT, 0}, {p.slave, POLLIN | POLLOUT, 0}};
  ASSERT_EQ(poll(pf, 2, 0), 2);
  EXPECT_EQ(pf[0].revents, POLLOUT);
  EXPECT_EQ(pf[1].revents, POLLOUT);
  WriteAll(p.master, "par");  // no line yet
  WriteAll(p.slave, "x");
  ASSERT_EQ(ReadUntil(p.master, "x").back(), 'x');
  pf[1].revents = 0;
  ASSERT_EQ(poll(&pf[1], 1, 0), 1);
  EXPECT_EQ(pf[1].revents, POLLOUT);
  WriteAll(p.master, "\n");
  pf[1].events = POLLIN;
  EXPECT_EQ(poll(&pf[1], 1, 3000), 1);
  EXPECT_EQ(pf[1].revents, POLLIN);
  WriteAll(p.slave, "y");
  pf[0].events = POLLIN;
  EXPECT_EQ(poll(&pf[0], 1, 3000), 1);
  EXPECT_EQ(pf[0].revents, POLLIN);
}

TEST(PtyClose, MasterCloseHangsUpTheSlave) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  close(p.master);
  p.master = -1;
  char buf[8];
  EXPECT_EQ(read(p.slave, buf, sizeof(buf)), 0);
  EXPECT_FAILS_WITH(write(p.slave, "x", 1), EIO);
  termios t;
  EXPECT_FAILS_WITH(tcgetattr(p.slave, &t), EIO);
  pollfd pf{p.slave, POLLIN, 0};
  ASSERT_EQ(poll(&pf, 1, 0), 1);
  EXPECT_TRUE(pf.revents & POLLHUP);
  EXPECT_TRUE(pf.revents & POLLIN);
}

TEST(PtyClose, SlaveCloseGivesMasterEio) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  WriteAll(p.slave, "bye");
  close(p.slave);
  p.slave = -1;
  EXPECT_EQ(ReadSome(p.master, 3), "bye");
  char buf[8];
  EXPECT_FAILS_WITH(read(p.master, buf, sizeof(buf)), EIO);
  pollfd pf{p.master, POLLIN, 0};
  ASSERT_EQ(poll(&pf, 1, 0), 1);
  EXPECT_EQ(pf.revents, POLLHUP);
}

TEST(PtyClose, MasterWaitsForASlaveNeverOpened) {
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
  ASSERT_GE(m, 0);
  char buf[8];
  EXPECT_FAILS_WITH(read(m, buf, sizeof(buf)), EAGAIN);
  pollfd pf{m, POLLIN | POLLOUT, 0};
  ASSERT_EQ(poll(&pf, 1, 0), 1);
  EXPECT_EQ(pf.revents, POLLOUT);
  close(m);
}

// --- controlling terminal and job control ---

TEST(Ctty, DevTtyWithoutOneIsEnxio) {
  RunInChild([] {
    ASSERT_GE(setsid(), 0);
    EXPECT_FAILS_WITH(open("/dev/tty", O_RDWR), ENXIO);
  });
}

TEST(Ctty, TiocscttyByASessionLeader) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    // Not a session leader: EPERM.
    EXPECT_FAILS_WITH(ioctl(p.slave, TIOCSCTTY, 0), EPERM);
    ASSERT_GE(setsid(), 0);
    int pgrp;
    EXPECT_FAILS_WITH(ioctl(p.slave, TIOCGPGRP, &pgrp), ENOTTY);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0) << strerror(errno);
    EXPECT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);  // already ours
    EXPECT_EQ(tcgetpgrp(p.slave), getpid());
    EXPECT_EQ(tcgetsid(p.slave), getpid());
    // The master answers too.
    EXPECT_EQ(tcgetpgrp(p.master), getpid());
    int fd = open("/dev/tty", O_RDWR);
    ASSERT_GE(fd, 0) << strerror(errno);
    struct stat st;
    ASSERT_EQ(fstat(fd, &st), 0);
    EXPECT_EQ(st.st_rdev, makedev(5, 0));
    ASSERT_EQ(write(fd, "via tty", 7), 7);
    EXPECT_EQ(ReadSome(p.master, 7), "via tty");
    close(fd);
  });
}

TEST(Ctty, AnotherSessionsTerminalIsEperm) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    setsid();
    if (ioctl(p.slave, TIOCSCTTY, 0) != 0) _exit(1);
    (void)!write(sync[1], "x", 1);
    pause();
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(sync[0], &c, 1), 1);
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    EXPECT_FAILS_WITH(ioctl(p.slave, TIOCSCTTY, 0), EPERM);
    // The master still tells who has it.
    EXPECT_EQ(tcgetsid(p.master), owner);
  });
  kill(owner, SIGKILL);
  waitpid(owner, nullptr, 0);
  close(sync[0]);
  close(sync[1]);
}

TEST(Ctty, OpenWithoutNocttyAcquires) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    int fd = open(p.name.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(tcgetsid(fd), getpid());
    close(fd);
  });
}

TEST(Ctty, NocttyDoesNotAcquire) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    int fd = open(p.name.c_str(), O_RDWR | O_NOCTTY);
    ASSERT_GE(fd, 0);
    EXPECT_FAILS_WITH(tcgetsid(fd), ENOTTY);
    close(fd);
  });
}

TEST(Ctty, TiocnottyGivesItUp) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    signal(SIGHUP, SIG_IGN);  // the leader's TIOCNOTTY hangs up its group
    ASSERT_EQ(ioctl(p.slave, TIOCNOTTY), 0);
    EXPECT_FAILS_WITH(open("/dev/tty", O_RDWR), ENXIO);
    EXPECT_FAILS_WITH(ioctl(p.slave, TIOCNOTTY), ENOTTY);
  });
}

TEST(Ctty, SetsidDropsIt) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    pid_t pid = fork();
    if (pid == 0) {
      // The child has it until its own setsid.
      int fd = open("/dev/tty", O_RDWR);
      if (fd < 0) _exit(1);
      close(fd);
      if (setsid() < 0) _exit(2);
      fd = open("/dev/tty", O_RDWR);
      _exit(fd < 0 && errno == ENXIO ? 0 : 3);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  });
}

TEST(Ctty, ProcStatShowsTheTerminal) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    FILE* f = fopen("/proc/self/stat", "r");
    ASSERT_NE(f, nullptr);
    char buf[1024];
    ASSERT_NE(fgets(buf, sizeof(buf), f), nullptr);
    fclose(f);
    // Fields after "(comm)": state ppid pgrp session tty_nr tpgid.
    const char* rest = strrchr(buf, ')');
    ASSERT_NE(rest, nullptr);
    char state;
    int ppid, pgrp, session, tty_nr, tpgid;
    ASSERT_EQ(sscanf(rest + 2, "%c %d %d %d %d %d", &state, &ppid, &pgrp, &session, &tty_nr, &tpgid), 6);
    struct stat st;
    ASSERT_EQ(fstat(p.slave, &st), 0);
    const unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
    EXPECT_EQ(tty_nr, static_cast<int>((min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12)));
    EXPECT_EQ(tpgid, getpid());
    EXPECT_EQ(session, getpid());
  });
}

TEST(JobControl, CtrlCSendsSigintToTheForegroundGroup) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    g_signal = 0;
    signal(SIGINT, Record);
    setsid();
    if (ioctl(p.slave, TIOCSCTTY, 0) != 0) _exit(1);
    (void)!write(sync[1], "x", 1);
    _exit(AwaitSignal(SIGINT) ? 0 : 2);
  }
  char c;
  ASSERT_EQ(read(sync[0], &c, 1), 1);
  WriteAll(p.master, "abc\x03");
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // Echoed as ^C (the echo of "abc" may be flushed with the output); the
  // line typed so far is flushed.
  const std::string echo = ReadUntil(p.master, "^C");
  EXPECT_TRUE(echo == "^C" || echo == "abc^C") << echo;
  WriteAll(p.master, "\n");
  char buf[8];
  EXPECT_EQ(read(p.slave, buf, sizeof(buf)), 1);
  close(sync[0]);
  close(sync[1]);
}

TEST(JobControl, CtrlCKillsByDefault) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    setsid();
    if (ioctl(p.slave, TIOCSCTTY, 0) != 0) _exit(1);
    (void)!write(sync[1], "x", 1);
    char buf[8];
    (void)!read(p.slave, buf, sizeof(buf));
    _exit(3);
  }
  char c;
  ASSERT_EQ(read(sync[0], &c, 1), 1);
  WriteAll(p.master, "\x03");
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << status;
  close(sync[0]);
  close(sync[1]);
}

TEST(JobControl, CtrlZStopsAndCtrlBackslashQuits) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    // The foreground job: a group whose parent is in another group of the
    // session, so that it is not orphaned and SIGTSTP stops it.
    int sync[2];
    ASSERT_EQ(pipe(sync), 0);
    pid_t kid = fork();
    ASSERT_GE(kid, 0);
    if (kid == 0) {
      g_signal = 0;
      signal(SIGQUIT, Record);
      setpgid(0, 0);
      (void)!write(sync[1], "x", 1);
      _exit(AwaitSignal(SIGQUIT, 10000) ? 7 : 2);
    }
    setpgid(kid, kid);
    char c;
    ASSERT_EQ(read(sync[0], &c, 1), 1);
    ASSERT_EQ(tcsetpgrp(p.slave, kid), 0);
    WriteAll(p.master, "\x1a");
    int status;
    ASSERT_EQ(waitpid(kid, &status, WUNTRACED), kid);
    EXPECT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTSTP) << status;
    kill(kid, SIGCONT);
    WriteAll(p.master, "\x1c");
    do {
      ASSERT_EQ(waitpid(kid, &status, 0), kid);
    } while (!WIFSIGNALED(status) && !WIFEXITED(status));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7) << status;
    close(sync[0]);
    close(sync[1]);
  });
}

TEST(JobControl, IsigOffPassesTheCharacter) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  SetLflag(p.slave, 0, ISIG);
  WriteAll(p.master, "\x03\n");
  char buf[8];
  ASSERT_EQ(read(p.slave, buf, sizeof(buf)), 2);
  EXPECT_EQ(buf[0], '\x03');
}

TEST(JobControl, Tcsetpgrp) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    pid_t kid = fork();
    if (kid == 0) {
      setpgid(0, 0);
      pause();
      _exit(0);
    }
    ASSERT_EQ(setpgid(kid, kid), 0);
    ASSERT_EQ(tcsetpgrp(p.slave, kid), 0) << strerror(errno);
    EXPECT_EQ(tcgetpgrp(p.slave), kid);
    EXPECT_EQ(tcgetpgrp(p.master), kid);
    // Now in the background: SIGTTOU ignored lets it take it back.
    signal(SIGTTOU, SIG_IGN);
    EXPECT_EQ(tcsetpgrp(p.slave, getpid()), 0);
    EXPECT_EQ(tcgetpgrp(p.slave), getpid());
    int bad = -1;
    EXPECT_FAILS_WITH(ioctl(p.slave, TIOCSPGRP, &bad), EINVAL);
    EXPECT_FAILS_WITH(tcsetpgrp(p.slave, 999999), ESRCH);
    // A group of another session.
    EXPECT_FAILS_WITH(tcsetpgrp(p.slave, getppid()), EPERM);
    // Not our terminal.
    PtyPair other;
    ASSERT_TRUE(other.ok());
    EXPECT_FAILS_WITH(tcsetpgrp(other.slave, getpid()), ENOTTY);
    kill(kid, SIGKILL);
    waitpid(kid, nullptr, 0);
  });
}

TEST(JobControl, BackgroundReadGetsSigttin) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    pid_t kid = fork();
    if (kid == 0) {
      setpgid(0, 0);  // a background group of the session
      char buf[8];
      (void)!read(p.slave, buf, sizeof(buf));
      _exit(5);
    }
    setpgid(kid, kid);
    int status;
    ASSERT_EQ(waitpid(kid, &status, WUNTRACED), kid);
    EXPECT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTTIN) << status;
    kill(kid, SIGKILL);
    waitpid(kid, nullptr, 0);
  });
}

TEST(JobControl, BackgroundReadWithSigttinIgnoredIsEio) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    pid_t kid = fork();
    if (kid == 0) {
      setpgid(0, 0);
      signal(SIGTTIN, SIG_IGN);
      char buf[8];
      _exit(read(p.slave, buf, sizeof(buf)) < 0 && errno == EIO ? 0 : 1);
    }
    setpgid(kid, kid);
    int status;
    ASSERT_EQ(waitpid(kid, &status, 0), kid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  });
}

TEST(JobControl, BackgroundReadOfAnOrphanedGroupIsEio) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    int result[2];
    ASSERT_EQ(pipe(result), 0);
    pid_t mid = fork();
    ASSERT_GE(mid, 0);
    if (mid == 0) {
      const pid_t parent = getpid();
      pid_t kid = fork();
      if (kid == 0) {
        setpgid(0, 0);
        // Once its parent is gone its group has no link into the session:
        // orphaned, so a background read is EIO instead of a stop.
        const long end = NowMs() + 5000;
        while (getppid() == parent && NowMs() < end) usleep(1000);
        char buf[8];
        const char r = read(p.slave, buf, sizeof(buf)) < 0 && errno == EIO ? 'y' : 'n';
        (void)!write(result[1], &r, 1);
        _exit(0);
      }
      setpgid(kid, kid);
      _exit(0);
    }
    ASSERT_EQ(waitpid(mid, nullptr, 0), mid);
    close(result[1]);
    char r = 0;
    ASSERT_EQ(read(result[0], &r, 1), 1);
    EXPECT_EQ(r, 'y');
    close(result[0]);
  });
}

TEST(JobControl, BackgroundWriteWithTostopGetsSigttou) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    SetLflag(p.slave, TOSTOP, 0);
    pid_t kid = fork();
    if (kid == 0) {
      setpgid(0, 0);
      (void)!write(p.slave, "x", 1);
      _exit(5);
    }
    setpgid(kid, kid);
    int status;
    ASSERT_EQ(waitpid(kid, &status, WUNTRACED), kid);
    EXPECT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTTOU) << status;
    kill(kid, SIGKILL);
    waitpid(kid, nullptr, 0);
  });
}

TEST(JobControl, BackgroundTcsetpgrpGetsSigttou) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    ASSERT_GE(setsid(), 0);
    ASSERT_EQ(ioctl(p.slave, TIOCSCTTY, 0), 0);
    pid_t kid = fork();
    if (kid == 0) {
      setpgid(0, 0);
      (void)tcsetpgrp(p.slave, getpid());
      _exit(5);
    }
    setpgid(kid, kid);
    int status;
    ASSERT_EQ(waitpid(kid, &status, WUNTRACED), kid);
    EXPECT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTTOU) << status;
    kill(kid, SIGKILL);
    waitpid(kid, nullptr, 0);
  });
}

TEST(JobControl, WinsizeAndSigwinch) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  winsize ws{};
  ASSERT_EQ(ioctl(p.slave, TIOCGWINSZ, &ws), 0);
  EXPECT_EQ(ws.ws_row, 0);
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    g_signal = 0;
    signal(SIGWINCH, Record);
    setsid();
    if (ioctl(p.slave, TIOCSCTTY, 0) != 0) _exit(1);
    (void)!write(sync[1], "x", 1);
    if (!AwaitSignal(SIGWINCH)) _exit(2);
    winsize w{};
    if (ioctl(p.slave, TIOCGWINSZ, &w) != 0) _exit(3);
    _exit(w.ws_row == 24 && w.ws_col == 80 ? 0 : 4);
  }
  char c;
  ASSERT_EQ(read(sync[0], &c, 1), 1);
  ws.ws_row = 24;
  ws.ws_col = 80;
  ASSERT_EQ(ioctl(p.master, TIOCSWINSZ, &ws), 0);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  winsize got{};
  ASSERT_EQ(ioctl(p.slave, TIOCGWINSZ, &got), 0);
  EXPECT_EQ(got.ws_row, 24);
  EXPECT_EQ(got.ws_col, 80);
  close(sync[0]);
  close(sync[1]);
}

TEST(JobControl, MasterCloseSendsSighupToTheSessionLeader) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    g_signal = 0;
    signal(SIGHUP, Record);
    setsid();
    if (ioctl(p.slave, TIOCSCTTY, 0) != 0) _exit(1);
    close(p.master);
    (void)!write(sync[1], "x", 1);
    if (!AwaitSignal(SIGHUP)) _exit(2);
    // No longer its controlling terminal.
    _exit(open("/dev/tty", O_RDWR) < 0 && errno == ENXIO ? 0 : 3);
  }
  char c;
  ASSERT_EQ(read(sync[0], &c, 1), 1);
  close(p.master);
  p.master = -1;
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  close(sync[0]);
  close(sync[1]);
}

TEST(JobControl, SessionLeaderExitHangsUpTheForegroundGroup) {
  PtyPair p;
  ASSERT_TRUE(p.ok());
  RunInChild([&] {
    // Orphans come to us, so that we see how the grandchild ends.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int sync[2];
    ASSERT_EQ(pipe(sync), 0);
    pid_t leader = fork();
    ASSERT_GE(leader, 0);
    if (leader == 0) {
      setsid();
      if (ioctl(p.slave, TIOCSCTTY, 0) != 0) _exit(1);
      pid_t kid = fork();
      if (kid == 0) {
        setpgid(0, 0);
        for (;;) pause();
      }
      setpgid(kid, kid);
      if (tcsetpgrp(p.slave, kid) != 0) _exit(2);
      (void)!write(sync[1], &kid, sizeof(kid));
      _exit(0);
    }
    pid_t kid;
    ASSERT_EQ(read(sync[0], &kid, sizeof(kid)), static_cast<ssize_t>(sizeof(kid)));
    int status;
    ASSERT_EQ(waitpid(leader, &status, 0), leader);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    // The foreground group gets SIGHUP.
    ASSERT_EQ(waitpid(kid, &status, 0), kid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP) << status;
    close(sync[0]);
    close(sync[1]);
  });
}

}  // namespace
