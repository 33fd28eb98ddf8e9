// AF_UNIX sockets (unix(7)): socket, socketpair, bind (path, abstract and
// autobind names), listen, accept, connect, shutdown, send and receive of
// every kind for stream, datagram and seqpacket sockets, SCM_RIGHTS and
// SCM_CREDENTIALS, socket options, and poll/epoll readiness.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/sockios.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::NowMs;
using husk_test::RunInChild;
using husk_test::SleepMs;
using husk_test::TempDirTest;

constexpr socklen_t kFamilyLen = sizeof(sa_family_t);
constexpr socklen_t kPathOff = offsetof(sockaddr_un, sun_path);

// A sockaddr_un naming `path`, and the length bind/connect take for it.
struct Addr {
  sockaddr_un sun{};
  socklen_t len = 0;
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&sun); }
};

Addr PathAddr(const std::string& path) {
  Addr a;
  a.sun.sun_family = AF_UNIX;
  memcpy(a.sun.sun_path, path.data(), path.size());
  a.len = kPathOff + path.size() + 1;
  return a;
}

// An abstract name (a NUL, then `name` and this process's pid, so that
// runs at the same time do not meet).
Addr AbstractAddr(const std::string& name) {
  Addr a;
  a.sun.sun_family = AF_UNIX;
  const std::string n = name + "." + std::to_string(getpid());
  memcpy(a.sun.sun_path + 1, n.data(), n.size());
  a.len = kPathOff + 1 + n.size();
  return a;
}

struct Pair {
  int a = -1, b = -1;
  explicit Pair(int type) {
    int sv[2];
    if (socketpair(AF_UNIX, type, 0, sv) != 0) abort();
    a = sv[0];
    b = sv[1];
  }
  ~Pair() {
    if (a >= 0) close(a);
    if (b >= 0) close(b);
  }
};

short PollEvents(int fd, short events) {
  pollfd p{fd, events, 0};
  if (poll(&p, 1, 0) < 0) return -1;
  return p.revents;
}

int OpenFdCount() {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) n++;
  }
  return n;
}

// Sends `data` with the files `fds` (SCM_RIGHTS).
ssize_t SendFds(int sock, const std::string& data, const std::vector<int>& fds, int flags = 0) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  std::vector<char> ctl(CMSG_SPACE(fds.size() * sizeof(int)));
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (!fds.empty()) {
    m.msg_control = ctl.data();
    m.msg_controllen = ctl.size();
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  }
  return sendmsg(sock, &m, flags);
}

// What recvmsg returned: the data, the files, the credentials, msg_flags.
struct Received {
  ssize_t n = -1;
  std::string data;
  std::vector<int> fds;
  bool has_creds = false;
  ucred creds{};
  int flags = 0;
};

Received RecvAll(int sock, size_t len, size_t ctl_len = 256, int flags = 0) {
  Received r;
  std::vector<char> buf(len);
  std::vector<char> ctl(ctl_len);
  iovec iov{buf.data(), buf.size()};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl_len ? ctl.data() : nullptr;
  m.msg_controllen = ctl_len;
  r.n = recvmsg(sock, &m, flags);
  if (r.n < 0) return r;
  r.data.assign(buf.data(), std::min<size_t>(r.n, len));
  r.flags = m.msg_flags;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        r.fds.push_back(fd);
      }
    } else if (c->cmsg_type == SCM_CREDENTIALS) {
      r.has_creds = true;
      memcpy(&r.creds, CMSG_DATA(c), sizeof(ucred));
    }
  }
  return r;
}

int GetIntOpt(int fd, int name) {
  int v = -12345;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, SOL_SOCKET, name, &v, &len) != 0) return -12345;
  return v;
}

// A listening stream (or seqpacket) socket bound to `addr`.
int Listener(Addr addr, int type = SOCK_STREAM, int backlog = 16) {
  int s = socket(AF_UNIX, type, 0);
  if (s < 0 || bind(s, addr.sa(), addr.len) != 0 || listen(s, backlog) != 0) abort();
  return s;
}

int Connected(Addr addr, int type = SOCK_STREAM) {
  int c = socket(AF_UNIX, type, 0);
  if (c < 0 || connect(c, addr.sa(), addr.len) != 0) abort();
  return c;
}

void Reap(pid_t pid, int* status = nullptr) {
  int st;
  waitpid(pid, &st, 0);
  if (status) *status = st;
}

// ---- socket(2) and socketpair(2)

TEST(UnixSocket, CreatesEachType) {
  for (int type : {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET}) {
    int s = socket(AF_UNIX, type, 0);
    ASSERT_GE(s, 0) << strerror(errno);
    EXPECT_EQ(GetIntOpt(s, SO_TYPE), type);
    EXPECT_EQ(GetIntOpt(s, SO_DOMAIN), AF_UNIX);
    EXPECT_EQ(GetIntOpt(s, SO_PROTOCOL), 0);
    EXPECT_EQ(GetIntOpt(s, SO_ACCEPTCONN), 0);
    struct stat st;
    ASSERT_EQ(fstat(s, &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    close(s);
  }
  int s = socket(AF_UNIX, SOCK_STREAM, PF_UNIX);
  ASSERT_GE(s, 0);
  close(s);
}

TEST(UnixSocket, RawIsDatagram) {
  int s = socket(AF_UNIX, SOCK_RAW, 0);
  ASSERT_GE(s, 0);
  EXPECT_EQ(GetIntOpt(s, SO_TYPE), SOCK_DGRAM);
  close(s);
}

TEST(UnixSocket, BadArguments) {
  EXPECT_FAILS_WITH(socket(AF_UNIX, SOCK_STREAM | 0x100, 0), EINVAL);
  EXPECT_FAILS_WITH(socket(AF_UNIX, 11, 0), EINVAL);
  EXPECT_FAILS_WITH(socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
  EXPECT_FAILS_WITH(socket(AF_UNIX, SOCK_STREAM, 2), EPROTONOSUPPORT);
  EXPECT_FAILS_WITH(socket(46, SOCK_STREAM, 0), EAFNOSUPPORT);
  EXPECT_FAILS_WITH(socket(-1, SOCK_STREAM, 0), EAFNOSUPPORT);
  int sv[2];
  EXPECT_FAILS_WITH(socketpair(AF_UNIX, SOCK_STREAM | 0x100, 0, sv), EINVAL);
  EXPECT_FAILS_WITH(socketpair(AF_UNIX, SOCK_STREAM, 2, sv), EPROTONOSUPPORT);
  EXPECT_FAILS_WITH(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
  EXPECT_FAILS_WITH(socketpair(AF_UNIX, SOCK_STREAM, 0, static_cast<int*>(BadPtr())), EFAULT);
}

TEST(UnixSocket, NonblockAndCloexecFlags) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  EXPECT_TRUE(fcntl(s, F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(fcntl(s, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fcntl(s, F_GETFL) & O_ACCMODE, O_RDWR);
  close(s);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  for (int fd : sv) {
    EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
    EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    close(fd);
  }
}

TEST(UnixSocket, SocketCallsOnOtherFiles) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  Addr a = PathAddr("/tmp/x");
  char buf[4];
  socklen_t len = sizeof(a.sun);
  int v;
  EXPECT_FAILS_WITH(bind(p[0], a.sa(), a.len), ENOTSOCK);
  EXPECT_FAILS_WITH(listen(p[0], 1), ENOTSOCK);
  EXPECT_FAILS_WITH(accept(p[0], nullptr, nullptr), ENOTSOCK);
  EXPECT_FAILS_WITH(getsockname(p[0], a.sa(), &len), ENOTSOCK);
  EXPECT_FAILS_WITH(getpeername(p[0], a.sa(), &len), ENOTSOCK);
  EXPECT_FAILS_WITH(send(p[1], "x", 1, 0), ENOTSOCK);
  EXPECT_FAILS_WITH(recv(p[0], buf, 1, 0), ENOTSOCK);
  EXPECT_FAILS_WITH(shutdown(p[0], SHUT_RD), ENOTSOCK);
  EXPECT_FAILS_WITH(getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &len), ENOTSOCK);
  EXPECT_FAILS_WITH(setsockopt(p[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), ENOTSOCK);
  const int bad = ClosedFd();
  EXPECT_FAILS_WITH(listen(bad, 1), EBADF);
  EXPECT_FAILS_WITH(shutdown(bad, SHUT_RD), EBADF);
  EXPECT_FAILS_WITH(accept(bad, nullptr, nullptr), EBADF);
  EXPECT_FAILS_WITH(recv(bad, buf, 1, 0), EBADF);
  close(p[0]);
  close(p[1]);
}

// ---- Stream sockets

TEST(UnixStream, PairIsAByteStream) {
  Pair p(SOCK_STREAM);
  ASSERT_EQ(write(p.a, "ab", 2), 2);
  ASSERT_EQ(send(p.a, "cd", 2, 0), 2);
  char buf[16] = {};
  ASSERT_EQ(read(p.b, buf, sizeof(buf)), 4);
  EXPECT_STREQ(buf, "abcd");
  ASSERT_EQ(send(p.b, "back", 4, 0), 4);
  memset(buf, 0, sizeof(buf));
  ASSERT_EQ(recv(p.a, buf, 2, 0), 2);
  EXPECT_STREQ(buf, "ba");
  ASSERT_EQ(recv(p.a, buf, sizeof(buf), 0), 2);
  EXPECT_EQ(std::string(buf, 2), "ck");
}

TEST(UnixStream, ReadvWritev) {
  Pair p(SOCK_STREAM);
  char x[] = "hello ", y[] = "world";
  iovec out[2] = {{x, 6}, {y, 5}};
  ASSERT_EQ(writev(p.a, out, 2), 11);
  char a[3], b[16] = {};
  iovec in[2] = {{a, 3}, {b, sizeof(b)}};
  ASSERT_EQ(readv(p.b, in, 2), 11);
  EXPECT_EQ(std::string(a, 3) + b, "hello world");
}

TEST(UnixStream, PeekLeavesData) {
  Pair p(SOCK_STREAM);
  ASSERT_EQ(send(p.a, "abc", 3, 0), 3);
  ASSERT_EQ(send(p.a, "def", 3, 0), 3);
  char buf[8] = {};
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), MSG_PEEK), 6);
  EXPECT_STREQ(buf, "abcdef");
  memset(buf, 0, sizeof(buf));
  EXPECT_EQ(recv(p.b, buf, 2, 0), 2);
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), MSG_PEEK), 4);
  EXPECT_EQ(std::string(buf, 4), "cdef");
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), 0), 4);
}

TEST(UnixStream, DontwaitAndNonblockGiveEagain) {
  Pair p(SOCK_STREAM);
  char buf[4];
  EXPECT_FAILS_WITH(recv(p.b, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
  ASSERT_EQ(fcntl(p.b, F_SETFL, O_NONBLOCK), 0);
  EXPECT_FAILS_WITH(read(p.b, buf, sizeof(buf)), EAGAIN);
}

TEST(UnixStream, WaitallWaitsForEverything) {
  Pair p(SOCK_STREAM);
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < 4; i++) {
      SleepMs(20);
      if (send(p.a, "ab", 2, 0) != 2) _exit(1);
    }
    _exit(0);
  }
  char buf[8];
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), MSG_WAITALL), 8);
  EXPECT_EQ(std::string(buf, 8), "abababab");
  Reap(pid);
}

TEST(UnixStream, BlockedReaderWakesOnData) {
  Pair p(SOCK_STREAM);
  pid_t pid = fork();
  if (pid == 0) {
    SleepMs(50);
    _exit(send(p.a, "z", 1, 0) == 1 ? 0 : 1);
  }
  char c = 0;
  EXPECT_EQ(recv(p.b, &c, 1, 0), 1);
  EXPECT_EQ(c, 'z');
  Reap(pid);
}

TEST(UnixStream, ShutdownWriteGivesEofAndEpipe) {
  Pair p(SOCK_STREAM);
  ASSERT_EQ(send(p.a, "x", 1, 0), 1);
  ASSERT_EQ(shutdown(p.a, SHUT_WR), 0);
  char buf[4];
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), 0), 1);
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), 0), 0);
  EXPECT_FAILS_WITH(send(p.a, "y", 1, MSG_NOSIGNAL), EPIPE);
  // The other direction still works.
  ASSERT_EQ(send(p.b, "q", 1, 0), 1);
  EXPECT_EQ(recv(p.a, buf, sizeof(buf), 0), 1);
}

TEST(UnixStream, EpipeRaisesSigpipe) {
  Pair p(SOCK_STREAM);
  close(p.b);
  p.b = -1;
  for (int use_write : {0, 1}) {
    pid_t pid = fork();
    if (pid == 0) {
      signal(SIGPIPE, SIG_DFL);
      if (use_write) (void)!write(p.a, "x", 1);
      else (void)send(p.a, "x", 1, 0);
      _exit(0);
    }
    int st;
    Reap(pid, &st);
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE) << "status " << st;
  }
  // MSG_NOSIGNAL: only the error.
  RunInChild([&] {
    signal(SIGPIPE, SIG_DFL);
    EXPECT_FAILS_WITH(send(p.a, "x", 1, MSG_NOSIGNAL), EPIPE);
  });
}

TEST(UnixStream, ShutdownReadEndsReadsAndPeerWrites) {
  Pair p(SOCK_STREAM);
  ASSERT_EQ(send(p.a, "x", 1, 0), 1);
  ASSERT_EQ(shutdown(p.b, SHUT_RD), 0);
  char buf[4];
  // What was queued is still read, then end-of-file.
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), 0), 1);
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), 0), 0);
  EXPECT_FAILS_WITH(send(p.a, "y", 1, MSG_NOSIGNAL), EPIPE);
}

TEST(UnixStream, ShutdownArguments) {
  Pair p(SOCK_STREAM);
  EXPECT_FAILS_WITH(shutdown(p.a, -1), EINVAL);
  EXPECT_FAILS_WITH(shutdown(p.a, 3), EINVAL);
  // Linux's unix sockets shut down even when not connected.
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_EQ(shutdown(s, SHUT_RDWR), 0);
  close(s);
}

TEST(UnixStream, PeerCloseIsHangupAndEof) {
  Pair p(SOCK_STREAM);
  close(p.b);
  p.b = -1;
  const short ev = PollEvents(p.a, POLLIN | POLLOUT | POLLRDHUP);
  EXPECT_EQ(ev, POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
  char buf[4];
  EXPECT_EQ(recv(p.a, buf, sizeof(buf), 0), 0);
}

TEST(UnixStream, CloseWithUnreadDataResetsPeer) {
  Pair p(SOCK_STREAM);
  ASSERT_EQ(send(p.a, "lost", 4, 0), 4);
  close(p.b);
  p.b = -1;
  EXPECT_TRUE(PollEvents(p.a, POLLIN) & POLLERR);
  char buf[4];
  EXPECT_FAILS_WITH(recv(p.a, buf, sizeof(buf), 0), ECONNRESET);
  EXPECT_EQ(recv(p.a, buf, sizeof(buf), 0), 0);
  EXPECT_EQ(GetIntOpt(p.a, SO_ERROR), 0);
}

TEST(UnixStream, FullBufferBlocksWriters) {
  Pair p(SOCK_STREAM);
  std::vector<char> chunk(65536, 'x');
  size_t total = 0;
  for (;;) {
    ssize_t n = send(p.a, chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n < 0) {
      EXPECT_EQ(errno, EAGAIN);
      break;
    }
    total += n;
    ASSERT_LT(total, 64u << 20) << "the send buffer never fills";
  }
  EXPECT_GT(total, 100000u);
  EXPECT_EQ(PollEvents(p.a, POLLOUT), 0);
  int outq = -1;
  EXPECT_EQ(ioctl(p.a, SIOCOUTQ, &outq), 0);
  EXPECT_GT(outq, 0);
  int inq = -1;
  EXPECT_EQ(ioctl(p.b, FIONREAD, &inq), 0);
  EXPECT_EQ(static_cast<size_t>(inq), total);
  // A blocked writer goes on once the reader drains the buffer.
  pid_t pid = fork();
  if (pid == 0) _exit(send(p.a, "end", 3, 0) == 3 ? 0 : 1);
  SleepMs(50);
  std::vector<char> buf(total + 3);
  size_t got = 0;
  while (got < total + 3) {
    ssize_t n = recv(p.b, buf.data() + got, buf.size() - got, 0);
    ASSERT_GT(n, 0);
    got += n;
  }
  EXPECT_EQ(std::string(buf.data() + total, 3), "end");
  int st;
  Reap(pid, &st);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  EXPECT_TRUE(PollEvents(p.a, POLLOUT) & POLLOUT);
}

TEST(UnixStream, UnconnectedSocket) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  char buf[4];
  EXPECT_FAILS_WITH(recv(s, buf, 1, MSG_DONTWAIT), EINVAL);
  EXPECT_FAILS_WITH(read(s, buf, 1), EINVAL);
  EXPECT_FAILS_WITH(send(s, "x", 1, 0), ENOTCONN);
  EXPECT_FAILS_WITH(write(s, "x", 1), ENOTCONN);
  sockaddr_un sun;
  socklen_t len = sizeof(sun);
  EXPECT_FAILS_WITH(getpeername(s, reinterpret_cast<sockaddr*>(&sun), &len), ENOTCONN);
  // Neither connected nor listening: a hang-up, and writable.
  EXPECT_EQ(PollEvents(s, POLLIN | POLLOUT), POLLOUT | POLLHUP);
  Addr a = PathAddr("/nonexistent/x");
  EXPECT_FAILS_WITH(sendto(s, "x", 1, 0, a.sa(), a.len), EOPNOTSUPP);
  close(s);
  Pair p(SOCK_STREAM);
  EXPECT_FAILS_WITH(sendto(p.a, "x", 1, 0, a.sa(), a.len), EISCONN);
}

// ---- Names

class UnixNames : public TempDirTest {};

TEST_F(UnixNames, BindPathMakesSocketInode) {
  const mode_t old = umask(022);
  const std::string path = Path("sock");
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  Addr a = PathAddr(path);
  ASSERT_EQ(bind(s, a.sa(), a.len), 0) << strerror(errno);
  umask(old);
  struct stat st;
  ASSERT_EQ(lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  sockaddr_un out{};
  socklen_t len = sizeof(out);
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&out), &len), 0);
  EXPECT_EQ(len, kPathOff + path.size() + 1);
  EXPECT_EQ(out.sun_family, AF_UNIX);
  EXPECT_STREQ(out.sun_path, path.c_str());
  // A full-size addrlen: the name still ends at its NUL.
  int s2 = socket(AF_UNIX, SOCK_DGRAM, 0);
  Addr b = PathAddr(Path("sock2"));
  ASSERT_EQ(bind(s2, b.sa(), sizeof(sockaddr_un)), 0);
  len = sizeof(out);
  ASSERT_EQ(getsockname(s2, reinterpret_cast<sockaddr*>(&out), &len), 0);
  EXPECT_EQ(len, b.len);
  close(s);
  close(s2);
  // The file outlives the socket.
  EXPECT_EQ(lstat(path.c_str(), &st), 0);
}

TEST_F(UnixNames, BindErrors) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  Addr a = PathAddr(Path("sock"));
  ASSERT_EQ(bind(s, a.sa(), a.len), 0);
  // A name that exists, even for a bound socket.
  int t = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_FAILS_WITH(bind(t, a.sa(), a.len), EADDRINUSE);
  EXPECT_FAILS_WITH(bind(s, a.sa(), a.len), EADDRINUSE);
  // A new name for a bound socket: EINVAL, and no file is left.
  Addr b = PathAddr(Path("other"));
  EXPECT_FAILS_WITH(bind(s, b.sa(), b.len), EINVAL);
  EXPECT_NE(access(Path("other").c_str(), F_OK), 0);
  Addr c = PathAddr(Path("missing/sock"));
  EXPECT_FAILS_WITH(bind(t, c.sa(), c.len), ENOENT);
  ASSERT_EQ(close(open(Path("file").c_str(), O_CREAT | O_WRONLY, 0600)), 0);
  Addr d = PathAddr(Path("file/sock"));
  EXPECT_FAILS_WITH(bind(t, d.sa(), d.len), ENOTDIR);
  EXPECT_FAILS_WITH(bind(t, a.sa(), 0), EINVAL);
  EXPECT_FAILS_WITH(bind(t, a.sa(), sizeof(sockaddr_un) + 1), EINVAL);
  EXPECT_FAILS_WITH(bind(t, a.sa(), 200), EINVAL);
  EXPECT_FAILS_WITH(bind(t, static_cast<sockaddr*>(BadPtr()), a.len), EFAULT);
  Addr e = PathAddr(Path("e"));
  e.sun.sun_family = AF_INET;
  EXPECT_FAILS_WITH(bind(t, e.sa(), e.len), EINVAL);
  close(s);
  close(t);
}

TEST_F(UnixNames, BindNeedsWritableDirectory) {
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(Path("ro").c_str(), 0555), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(65534), 0);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    Addr a = PathAddr(Path("ro/sock"));
    EXPECT_FAILS_WITH(bind(s, a.sa(), a.len), EACCES);
  });
}

TEST_F(UnixNames, PathIsFreeAgainAfterUnlink) {
  Addr a = PathAddr(Path("sock"));
  int s = Listener(a);
  ASSERT_EQ(unlink(Path("sock").c_str()), 0);
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_FAILS_WITH(connect(c, a.sa(), a.len), ENOENT);
  int s2 = Listener(a);
  int c2 = Connected(a);
  int conn = accept(s2, nullptr, nullptr);
  EXPECT_GE(conn, 0);
  // The old socket has no connection waiting.
  ASSERT_EQ(fcntl(s, F_SETFL, O_NONBLOCK), 0);
  EXPECT_FAILS_WITH(accept(s, nullptr, nullptr), EAGAIN);
  for (int fd : {s, c, s2, c2, conn}) close(fd);
}

TEST(UnixAbstract, BindAndName) {
  Addr a = AbstractAddr("husk-abs");
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_EQ(bind(s, a.sa(), a.len), 0);
  sockaddr_un out{};
  socklen_t len = sizeof(out);
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&out), &len), 0);
  EXPECT_EQ(len, a.len);
  EXPECT_EQ(memcmp(&out, &a.sun, a.len), 0);
  int t = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_FAILS_WITH(bind(t, a.sa(), a.len), EADDRINUSE);
  // Each socket type has its own abstract names.
  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  EXPECT_EQ(bind(d, a.sa(), a.len), 0);
  // A name with a trailing NUL is another name.
  Addr longer = a;
  longer.len++;
  EXPECT_EQ(bind(t, longer.sa(), longer.len), 0);
  EXPECT_FAILS_WITH(bind(s, longer.sa(), longer.len), EINVAL);
  close(s);
  // The name is free once its socket is closed.
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_EQ(bind(u, a.sa(), a.len), 0);
  for (int fd : {t, d, u}) close(fd);
}

TEST(UnixAbstract, Autobind) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), kFamilyLen), 0);
  sockaddr_un out{};
  socklen_t len = sizeof(out);
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&out), &len), 0);
  ASSERT_EQ(len, kPathOff + 6);
  EXPECT_EQ(out.sun_path[0], '\0');
  for (int i = 1; i < 6; i++) EXPECT_TRUE(isxdigit(out.sun_path[i])) << out.sun_path[i];
  // Bound already: autobind does nothing, another name is EINVAL.
  EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), kFamilyLen), 0);
  Addr b = AbstractAddr("husk-after-autobind");
  EXPECT_FAILS_WITH(bind(s, b.sa(), b.len), EINVAL);
  // Others can send to the autobound name.
  int c = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_EQ(sendto(c, "hi", 2, 0, reinterpret_cast<sockaddr*>(&out), len), 2);
  char buf[4];
  EXPECT_EQ(recv(s, buf, sizeof(buf), 0), 2);
  close(s);
  close(c);
}

TEST(UnixAbstract, UnboundNameIsTheFamily) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un out;
  memset(&out, 0x55, sizeof(out));
  socklen_t len = sizeof(out);
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&out), &len), 0);
  EXPECT_EQ(len, kFamilyLen);
  EXPECT_EQ(out.sun_family, AF_UNIX);
  // A short buffer gets a part, and the full length.
  len = 1;
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&out), &len), 0);
  EXPECT_EQ(len, kFamilyLen);
  len = sizeof(out);
  EXPECT_FAILS_WITH(getsockname(s, static_cast<sockaddr*>(BadPtr()), &len), EFAULT);
  EXPECT_FAILS_WITH(getsockname(s, reinterpret_cast<sockaddr*>(&out), static_cast<socklen_t*>(BadPtr())), EFAULT);
  len = -1;
  EXPECT_FAILS_WITH(getsockname(s, reinterpret_cast<sockaddr*>(&out), &len), EINVAL);
  close(s);
}

// ---- listen, connect and accept

class UnixConnect : public TempDirTest {};

TEST_F(UnixConnect, ConnectAndAccept) {
  Addr a = PathAddr(Path("srv"));
  int l = Listener(a);
  EXPECT_EQ(GetIntOpt(l, SO_ACCEPTCONN), 1);
  EXPECT_EQ(PollEvents(l, POLLIN | POLLOUT), 0);
  int c = Connected(a);
  // The connection waits for accept; its data with it.
  EXPECT_EQ(PollEvents(l, POLLIN), POLLIN);
  ASSERT_EQ(send(c, "early", 5, 0), 5);
  sockaddr_un peer{};
  socklen_t len = sizeof(peer);
  int s = accept(l, reinterpret_cast<sockaddr*>(&peer), &len);
  ASSERT_GE(s, 0) << strerror(errno);
  EXPECT_EQ(len, kFamilyLen);  // the client is unnamed
  char buf[8] = {};
  EXPECT_EQ(recv(s, buf, sizeof(buf), 0), 5);
  EXPECT_STREQ(buf, "early");
  // The client's peer and the accepted socket's own name are the listener's.
  sockaddr_un n{};
  len = sizeof(n);
  ASSERT_EQ(getpeername(c, reinterpret_cast<sockaddr*>(&n), &len), 0);
  EXPECT_EQ(len, a.len);
  EXPECT_STREQ(n.sun_path, a.sun.sun_path);
  len = sizeof(n);
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&n), &len), 0);
  EXPECT_EQ(len, a.len);
  len = sizeof(n);
  ASSERT_EQ(getpeername(s, reinterpret_cast<sockaddr*>(&n), &len), 0);
  EXPECT_EQ(len, kFamilyLen);
  EXPECT_EQ(GetIntOpt(s, SO_ACCEPTCONN), 0);
  ASSERT_EQ(send(s, "reply", 5, 0), 5);
  EXPECT_EQ(recv(c, buf, sizeof(buf), 0), 5);
  // Connected once is enough.
  EXPECT_FAILS_WITH(connect(c, a.sa(), a.len), EISCONN);
  for (int fd : {l, c, s}) close(fd);
}

TEST_F(UnixConnect, NamedClientIsSeenByAccept) {
  Addr a = PathAddr(Path("srv"));
  Addr ca = PathAddr(Path("cli"));
  int l = Listener(a);
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_EQ(bind(c, ca.sa(), ca.len), 0);
  ASSERT_EQ(connect(c, a.sa(), a.len), 0);
  sockaddr_un peer{};
  socklen_t len = sizeof(peer);
  int s = accept(l, reinterpret_cast<sockaddr*>(&peer), &len);
  ASSERT_GE(s, 0);
  EXPECT_EQ(len, ca.len);
  EXPECT_STREQ(peer.sun_path, ca.sun.sun_path);
  for (int fd : {l, c, s}) close(fd);
}

TEST_F(UnixConnect, ConnectErrors) {
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  Addr missing = PathAddr(Path("missing"));
  EXPECT_FAILS_WITH(connect(c, missing.sa(), missing.len), ENOENT);
  // A regular file, and a socket inode nobody listens on.
  ASSERT_EQ(close(open(Path("file").c_str(), O_CREAT | O_WRONLY, 0600)), 0);
  Addr file = PathAddr(Path("file"));
  EXPECT_FAILS_WITH(connect(c, file.sa(), file.len), ECONNREFUSED);
  Addr bound = PathAddr(Path("bound"));
  int b = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_EQ(bind(b, bound.sa(), bound.len), 0);
  EXPECT_FAILS_WITH(connect(c, bound.sa(), bound.len), ECONNREFUSED);
  close(b);
  EXPECT_FAILS_WITH(connect(c, bound.sa(), bound.len), ECONNREFUSED);
  ASSERT_EQ(mknod(Path("node").c_str(), S_IFSOCK | 0600, 0), 0);
  Addr node = PathAddr(Path("node"));
  EXPECT_FAILS_WITH(connect(c, node.sa(), node.len), ECONNREFUSED);
  // Another type of socket.
  Addr srv = PathAddr(Path("srv"));
  int l = Listener(srv);
  int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  EXPECT_FAILS_WITH(connect(q, srv.sa(), srv.len), EPROTOTYPE);
  EXPECT_FAILS_WITH(connect(c, srv.sa(), 0), EINVAL);
  EXPECT_FAILS_WITH(connect(c, srv.sa(), kPathOff), EINVAL);
  EXPECT_FAILS_WITH(connect(c, static_cast<sockaddr*>(BadPtr()), srv.len), EFAULT);
  // A listener does not connect.
  EXPECT_FAILS_WITH(connect(l, srv.sa(), srv.len), EINVAL);
  for (int fd : {c, l, q}) close(fd);
}

TEST_F(UnixConnect, AbstractTypesDoNotMeet) {
  Addr a = AbstractAddr("husk-types");
  int l = Listener(a);
  int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  EXPECT_FAILS_WITH(connect(q, a.sa(), a.len), ECONNREFUSED);
  int c = Connected(a);
  for (int fd : {l, q, c}) close(fd);
}

TEST_F(UnixConnect, ConnectNeedsWritePermission) {
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  Addr a = PathAddr(Path("srv"));
  int l = Listener(a);
  ASSERT_EQ(chmod(Path("srv").c_str(), 0555), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(65534), 0);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_FAILS_WITH(connect(c, a.sa(), a.len), EACCES);
  });
  ASSERT_EQ(chmod(Path("srv").c_str(), 0777), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(65534), 0);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_EQ(connect(c, a.sa(), a.len), 0) << strerror(errno);
  });
  close(l);
}

TEST_F(UnixConnect, ListenErrors) {
  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  Addr a = PathAddr(Path("d"));
  ASSERT_EQ(bind(d, a.sa(), a.len), 0);
  EXPECT_FAILS_WITH(listen(d, 1), EOPNOTSUPP);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_FAILS_WITH(listen(s, 1), EINVAL);  // not bound
  Pair p(SOCK_STREAM);
  EXPECT_FAILS_WITH(listen(p.a, 1), EINVAL);  // connected
  EXPECT_FAILS_WITH(accept(d, nullptr, nullptr), EOPNOTSUPP);
  EXPECT_FAILS_WITH(accept(s, nullptr, nullptr), EINVAL);
  close(d);
  close(s);
}

TEST_F(UnixConnect, FullBacklogIsEagainWhenNonblocking) {
  Addr a = PathAddr(Path("srv"));
  int l = Listener(a, SOCK_STREAM, 0);
  int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_EQ(connect(c1, a.sa(), a.len), 0);
  int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_FAILS_WITH(connect(c2, a.sa(), a.len), EAGAIN);
  // A blocking connect waits for accept to make room.
  pid_t pid = fork();
  if (pid == 0) {
    int c3 = socket(AF_UNIX, SOCK_STREAM, 0);
    _exit(connect(c3, a.sa(), a.len) == 0 ? 0 : 1);
  }
  SleepMs(50);
  int s1 = accept(l, nullptr, nullptr);
  EXPECT_GE(s1, 0);
  int st;
  Reap(pid, &st);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  for (int fd : {l, c1, c2, s1}) close(fd);
}

TEST_F(UnixConnect, Accept4Flags) {
  Addr a = PathAddr(Path("srv"));
  int l = Listener(a);
  int c = Connected(a);
  EXPECT_FAILS_WITH(accept4(l, nullptr, nullptr, 0x100), EINVAL);
  int s = accept4(l, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  ASSERT_GE(s, 0);
  EXPECT_TRUE(fcntl(s, F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(fcntl(s, F_GETFD), FD_CLOEXEC);
  int c2 = Connected(a);
  int s2 = accept4(l, nullptr, nullptr, 0);
  ASSERT_GE(s2, 0);
  EXPECT_FALSE(fcntl(s2, F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(fcntl(s2, F_GETFD), 0);
  ASSERT_EQ(fcntl(l, F_SETFL, O_NONBLOCK), 0);
  EXPECT_FAILS_WITH(accept(l, nullptr, nullptr), EAGAIN);
  for (int fd : {l, c, s, c2, s2}) close(fd);
}

void NoopHandler(int) {}

TEST_F(UnixConnect, BlockingAcceptIsInterruptedBySignal) {
  Addr a = PathAddr(Path("srv"));
  int l = Listener(a);
  RunInChild([&] {
    struct sigaction sa {};
    sa.sa_handler = NoopHandler;  // no SA_RESTART
    ASSERT_EQ(sigaction(SIGALRM, &sa, nullptr), 0);
    itimerval it{{0, 0}, {0, 100000}};
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    const long start = NowMs();
    EXPECT_FAILS_WITH(accept(l, nullptr, nullptr), EINTR);
    EXPECT_GE(NowMs() - start, 80);
  });
  close(l);
}

TEST_F(UnixConnect, AcceptHonoursReceiveTimeout) {
  Addr a = PathAddr(Path("srv"));
  int l = Listener(a);
  timeval tv{0, 100000};
  ASSERT_EQ(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  const long start = NowMs();
  EXPECT_FAILS_WITH(accept(l, nullptr, nullptr), EAGAIN);
  EXPECT_GE(NowMs() - start, 80);
  close(l);
}

TEST_F(UnixConnect, ClosedListenerResetsWaitingConnections) {
  Addr a = PathAddr(Path("srv"));
  int l = Listener(a);
  int c = Connected(a);
  close(l);
  EXPECT_TRUE(PollEvents(c, POLLIN) & POLLHUP);
  char buf[4];
  EXPECT_FAILS_WITH(recv(c, buf, sizeof(buf), 0), ECONNRESET);
  EXPECT_EQ(recv(c, buf, sizeof(buf), 0), 0);
  EXPECT_FAILS_WITH(send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
  close(c);
}

TEST_F(UnixConnect, ShutdownListenerRefusesConnections) {
  Addr a = PathAddr(Path("srv"));
  int l = Listener(a);
  ASSERT_EQ(shutdown(l, SHUT_RD), 0);
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_FAILS_WITH(connect(c, a.sa(), a.len), ECONNREFUSED);
  EXPECT_FAILS_WITH(accept(l, nullptr, nullptr), EINVAL);
  close(c);
  close(l);
}

TEST_F(UnixConnect, ServerInAnotherProcess) {
  Addr a = PathAddr(Path("srv"));
  int l = Listener(a);
  pid_t pid = fork();
  if (pid == 0) {
    int s = accept(l, nullptr, nullptr);
    char buf[16];
    ssize_t n = recv(s, buf, sizeof(buf), 0);
    if (n <= 0) _exit(1);
    for (ssize_t i = 0; i < n; i++) buf[i] = toupper(buf[i]);
    _exit(send(s, buf, n, 0) == n ? 0 : 2);
  }
  int c = Connected(a);
  // SO_PEERCRED: the listener's process, as it was at listen().
  ucred cr{};
  socklen_t len = sizeof(cr);
  ASSERT_EQ(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len), 0);
  EXPECT_EQ(len, sizeof(cr));
  EXPECT_EQ(cr.pid, getpid());
  EXPECT_EQ(cr.uid, geteuid());
  EXPECT_EQ(cr.gid, getegid());
  ASSERT_EQ(send(c, "hello", 5, 0), 5);
  char buf[8] = {};
  EXPECT_EQ(recv(c, buf, sizeof(buf), MSG_WAITALL), 5);
  EXPECT_STREQ(buf, "HELLO");
  int st;
  Reap(pid, &st);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  close(c);
  close(l);
}

TEST_F(UnixConnect, PeerCredOfAcceptedIsTheConnector) {
  Addr a = PathAddr(Path("srv"));
  int l = Listener(a);
  pid_t pid = fork();
  if (pid == 0) {
    int c = Connected(a);
    char x;
    _exit(recv(c, &x, 1, 0) == 1 ? 0 : 1);
  }
  int s = accept(l, nullptr, nullptr);
  ucred cr{};
  socklen_t len = sizeof(cr);
  ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len), 0);
  EXPECT_EQ(cr.pid, pid);
  EXPECT_EQ(cr.uid, geteuid());
  ASSERT_EQ(send(s, "x", 1, 0), 1);
  Reap(pid);
  close(s);
  close(l);
}

// ---- Datagram sockets

class UnixDgram : public TempDirTest {};

TEST_F(UnixDgram, SendtoKeepsBoundariesAndNamesTheSender) {
  Addr ra = PathAddr(Path("r"));
  Addr sa = PathAddr(Path("s"));
  int r = socket(AF_UNIX, SOCK_DGRAM, 0);
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  int unnamed = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_EQ(bind(r, ra.sa(), ra.len), 0);
  ASSERT_EQ(sendto(unnamed, "one", 3, 0, ra.sa(), ra.len), 3);
  ASSERT_EQ(bind(s, sa.sa(), sa.len), 0);
  ASSERT_EQ(sendto(s, "two!", 4, 0, ra.sa(), ra.len), 4);
  char buf[16];
  sockaddr_un from{};
  socklen_t len = sizeof(from);
  EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len), 3);
  // An unnamed sender: no address.
  EXPECT_EQ(len, 0u);
  close(unnamed);
  len = sizeof(from);
  EXPECT_EQ(recvfrom(r, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len), 4);
  EXPECT_EQ(len, sa.len);
  EXPECT_STREQ(from.sun_path, sa.sun.sun_path);
  close(r);
  close(s);
}

TEST_F(UnixDgram, TruncationAndMsgTrunc) {
  Pair p(SOCK_DGRAM);
  ASSERT_EQ(send(p.a, "abcdef", 6, 0), 6);
  ASSERT_EQ(send(p.a, "ghijkl", 6, 0), 6);
  ASSERT_EQ(send(p.a, "mnopqr", 6, 0), 6);
  Received r = RecvAll(p.b, 3);
  EXPECT_EQ(r.n, 3);
  EXPECT_EQ(r.data, "abc");
  EXPECT_TRUE(r.flags & MSG_TRUNC);
  char buf[2];
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), MSG_TRUNC), 6);  // the real length
  EXPECT_EQ(std::string(buf, 2), "gh");
  r = RecvAll(p.b, 16);
  EXPECT_EQ(r.data, "mnopqr");
  EXPECT_FALSE(r.flags & MSG_TRUNC);
}

TEST_F(UnixDgram, EmptyDatagram) {
  Pair p(SOCK_DGRAM);
  ASSERT_EQ(send(p.a, "", 0, 0), 0);
  EXPECT_EQ(PollEvents(p.b, POLLIN), POLLIN);
  char buf[4];
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), MSG_DONTWAIT), 0);
  EXPECT_FAILS_WITH(recv(p.b, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
}

TEST_F(UnixDgram, ConnectSetsDefaultPeer) {
  Addr ra = PathAddr(Path("r"));
  int r = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_EQ(bind(r, ra.sa(), ra.len), 0);
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  EXPECT_FAILS_WITH(send(s, "x", 1, 0), ENOTCONN);
  ASSERT_EQ(connect(s, ra.sa(), ra.len), 0);
  ASSERT_EQ(send(s, "x", 1, 0), 1);
  char c;
  EXPECT_EQ(recv(r, &c, 1, 0), 1);
  sockaddr_un n{};
  socklen_t len = sizeof(n);
  ASSERT_EQ(getpeername(s, reinterpret_cast<sockaddr*>(&n), &len), 0);
  EXPECT_EQ(len, ra.len);
  // A receiver connected elsewhere takes nothing from others.
  Addr oa = PathAddr(Path("o"));
  int o = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_EQ(bind(o, oa.sa(), oa.len), 0);
  ASSERT_EQ(connect(r, oa.sa(), oa.len), 0);
  EXPECT_FAILS_WITH(send(s, "x", 1, 0), EPERM);
  int t = socket(AF_UNIX, SOCK_DGRAM, 0);
  EXPECT_FAILS_WITH(connect(t, ra.sa(), ra.len), EPERM);
  // AF_UNSPEC disconnects.
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  ASSERT_EQ(connect(s, &unspec, sizeof(unspec)), 0);
  EXPECT_FAILS_WITH(send(s, "x", 1, 0), ENOTCONN);
  EXPECT_FAILS_WITH(connect(s, &unspec, 1), EINVAL);
  Addr missing = PathAddr(Path("missing"));
  EXPECT_FAILS_WITH(sendto(s, "x", 1, 0, missing.sa(), missing.len), ENOENT);
  EXPECT_FAILS_WITH(connect(s, missing.sa(), missing.len), ENOENT);
  for (int fd : {r, s, o, t}) close(fd);
}

TEST_F(UnixDgram, ClosedPeerIsRefusedThenNotConnected) {
  Pair p(SOCK_DGRAM);
  close(p.b);
  p.b = -1;
  EXPECT_EQ(PollEvents(p.a, POLLIN | POLLOUT), POLLOUT);
  EXPECT_FAILS_WITH(send(p.a, "x", 1, 0), ECONNREFUSED);
  EXPECT_FAILS_WITH(send(p.a, "x", 1, 0), ENOTCONN);
}

TEST_F(UnixDgram, QueueLimitOfAReceiverNotConnectedBack) {
  Addr ra = PathAddr(Path("r"));
  int r = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_EQ(bind(r, ra.sa(), ra.len), 0);
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_EQ(connect(s, ra.sa(), ra.len), 0);
  int sent = 0;
  while (send(s, "x", 1, MSG_DONTWAIT) == 1) {
    sent++;
    ASSERT_LT(sent, 10000);
  }
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(sent, 11);  // net.unix.max_dgram_qlen (10), plus one
  EXPECT_EQ(PollEvents(s, POLLOUT), 0);
  char c;
  ASSERT_EQ(recv(r, &c, 1, 0), 1);
  EXPECT_EQ(PollEvents(s, POLLOUT), POLLOUT);
  // A blocked sender goes on once the receiver reads.
  ASSERT_EQ(send(s, "x", 1, MSG_DONTWAIT), 1);
  pid_t pid = fork();
  if (pid == 0) _exit(send(s, "y", 1, 0) == 1 ? 0 : 1);
  SleepMs(50);
  ASSERT_EQ(recv(r, &c, 1, 0), 1);
  int st;
  Reap(pid, &st);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  close(r);
  close(s);
}

TEST_F(UnixDgram, SendBufferLimits) {
  Pair p(SOCK_DGRAM);
  const int sndbuf = GetIntOpt(p.a, SO_SNDBUF);
  std::vector<char> big(sndbuf);
  EXPECT_FAILS_WITH(send(p.a, big.data(), sndbuf - 31, 0), EMSGSIZE);
  EXPECT_EQ(send(p.a, big.data(), sndbuf - 32, 0), sndbuf - 32);
  // The buffer is full until that message is read.
  EXPECT_FAILS_WITH(send(p.a, "x", 1, MSG_DONTWAIT), EAGAIN);
  EXPECT_EQ(recv(p.b, big.data(), big.size(), 0), sndbuf - 32);
  EXPECT_EQ(send(p.a, "x", 1, MSG_DONTWAIT), 1);
}

TEST_F(UnixDgram, ShutdownWrite) {
  Pair p(SOCK_DGRAM);
  ASSERT_EQ(shutdown(p.a, SHUT_WR), 0);
  RunInChild([&] {
    signal(SIGPIPE, SIG_DFL);
    EXPECT_FAILS_WITH(send(p.a, "x", 1, 0), EPIPE);  // and no SIGPIPE
    EXPECT_FAILS_WITH(write(p.a, "x", 1), EPIPE);
  });
  // The peer is not affected.
  EXPECT_EQ(send(p.b, "x", 1, 0), 1);
}

TEST_F(UnixDgram, ShutdownRead) {
  Pair p(SOCK_DGRAM);
  ASSERT_EQ(shutdown(p.b, SHUT_RD), 0);
  char c;
  EXPECT_FAILS_WITH(recv(p.b, &c, 1, MSG_DONTWAIT), EAGAIN);
  EXPECT_EQ(recv(p.b, &c, 1, 0), 0);
  EXPECT_EQ(PollEvents(p.b, POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
  EXPECT_FAILS_WITH(send(p.a, "x", 1, 0), EPIPE);
}

// ---- Seqpacket sockets

TEST(UnixSeqpacket, KeepsBoundaries) {
  Pair p(SOCK_SEQPACKET);
  ASSERT_EQ(send(p.a, "abc", 3, 0), 3);
  ASSERT_EQ(send(p.a, "de", 2, 0), 2);
  Received r = RecvAll(p.b, 2);
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.data, "ab");
  EXPECT_TRUE(r.flags & MSG_TRUNC);
  r = RecvAll(p.b, 16);
  EXPECT_EQ(r.data, "de");
}

TEST(UnixSeqpacket, PeerCloseIsEofAndEpipeWithoutSignal) {
  Pair p(SOCK_SEQPACKET);
  close(p.b);
  p.b = -1;
  EXPECT_EQ(PollEvents(p.a, POLLIN | POLLOUT | POLLRDHUP), POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
  char c;
  EXPECT_EQ(recv(p.a, &c, 1, 0), 0);
  EXPECT_EQ(recv(p.a, &c, 1, MSG_DONTWAIT), 0);
  RunInChild([&] {
    signal(SIGPIPE, SIG_DFL);
    EXPECT_FAILS_WITH(send(p.a, "x", 1, 0), EPIPE);
    EXPECT_FAILS_WITH(write(p.a, "x", 1), EPIPE);
  });
}

TEST(UnixSeqpacket, UnconnectedIsNotConnected) {
  int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  char c;
  EXPECT_FAILS_WITH(recv(s, &c, 1, MSG_DONTWAIT), ENOTCONN);
  EXPECT_FAILS_WITH(send(s, "x", 1, 0), ENOTCONN);
  EXPECT_EQ(PollEvents(s, POLLIN | POLLOUT), POLLOUT | POLLHUP);
  close(s);
}

TEST(UnixSeqpacket, ListenAndAccept) {
  Addr a = AbstractAddr("husk-seqpacket");
  int l = Listener(a, SOCK_SEQPACKET);
  int c = Connected(a, SOCK_SEQPACKET);
  int s = accept(l, nullptr, nullptr);
  ASSERT_GE(s, 0);
  ASSERT_EQ(send(c, "one", 3, 0), 3);
  ASSERT_EQ(send(c, "two", 3, 0), 3);
  char buf[8];
  EXPECT_EQ(recv(s, buf, sizeof(buf), 0), 3);
  EXPECT_EQ(recv(s, buf, sizeof(buf), 0), 3);
  EXPECT_EQ(GetIntOpt(s, SO_TYPE), SOCK_SEQPACKET);
  for (int fd : {l, c, s}) close(fd);
}

// ---- SCM_RIGHTS

TEST(UnixRights, PassesAFile) {
  Pair p(SOCK_STREAM);
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  ASSERT_EQ(SendFds(p.a, "f", {pp[1]}), 1);
  close(pp[1]);
  Received r = RecvAll(p.b, 4);
  ASSERT_EQ(r.n, 1);
  ASSERT_EQ(r.fds.size(), 1u);
  EXPECT_EQ(fcntl(r.fds[0], F_GETFD), 0);
  ASSERT_EQ(write(r.fds[0], "via", 3), 3);
  close(r.fds[0]);
  char buf[4] = {};
  EXPECT_EQ(read(pp[0], buf, sizeof(buf)), 3);
  EXPECT_STREQ(buf, "via");
  EXPECT_EQ(read(pp[0], buf, sizeof(buf)), 0);  // every write end is gone
  close(pp[0]);
}

TEST(UnixRights, BetweenProcesses) {
  Pair p(SOCK_DGRAM);
  pid_t pid = fork();
  if (pid == 0) {
    char tmpl[] = "/tmp/husk_rights_XXXXXX";
    int fd = mkstemp(tmpl);
    unlink(tmpl);
    if (write(fd, "from child", 10) != 10) _exit(1);
    lseek(fd, 0, SEEK_SET);
    _exit(SendFds(p.a, "x", {fd}) == 1 ? 0 : 2);
  }
  int st;
  Reap(pid, &st);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  Received r = RecvAll(p.b, 4, 256, MSG_CMSG_CLOEXEC);
  ASSERT_EQ(r.fds.size(), 1u);
  EXPECT_EQ(fcntl(r.fds[0], F_GETFD), FD_CLOEXEC);
  char buf[16] = {};
  EXPECT_EQ(read(r.fds[0], buf, sizeof(buf)), 10);
  EXPECT_STREQ(buf, "from child");
  close(r.fds[0]);
}

TEST(UnixRights, ShortControlBufferTruncates) {
  Pair p(SOCK_DGRAM);
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  ASSERT_EQ(SendFds(p.a, "x", {pp[0], pp[1], pp[0]}), 1);
  const int before = OpenFdCount();
  Received r = RecvAll(p.b, 4, CMSG_LEN(sizeof(int)));
  ASSERT_EQ(r.n, 1);
  EXPECT_TRUE(r.flags & MSG_CTRUNC);
  ASSERT_EQ(r.fds.size(), 1u);
  EXPECT_EQ(OpenFdCount(), before + 1);  // the others were closed
  close(r.fds[0]);
  // No control buffer at all.
  ASSERT_EQ(SendFds(p.a, "y", {pp[0]}), 1);
  r = RecvAll(p.b, 4, 0);
  ASSERT_EQ(r.n, 1);
  EXPECT_TRUE(r.flags & MSG_CTRUNC);
  EXPECT_EQ(OpenFdCount(), before);
  close(pp[0]);
  close(pp[1]);
}

TEST(UnixRights, UnreceivedFilesAreReleasedOnClose) {
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  {
    Pair p(SOCK_STREAM);
    ASSERT_EQ(SendFds(p.a, "x", {pp[1]}), 1);
    close(pp[1]);
  }
  char c;
  EXPECT_EQ(read(pp[0], &c, 1), 0);  // the last write end went with the sockets
  close(pp[0]);
}

TEST(UnixRights, PeekPassesCopies) {
  Pair p(SOCK_SEQPACKET);
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  ASSERT_EQ(SendFds(p.a, "x", {pp[0]}), 1);
  Received peeked = RecvAll(p.b, 4, 256, MSG_PEEK);
  ASSERT_EQ(peeked.fds.size(), 1u);
  Received r = RecvAll(p.b, 4);
  ASSERT_EQ(r.fds.size(), 1u);
  EXPECT_NE(peeked.fds[0], r.fds[0]);
  for (int fd : {peeked.fds[0], r.fds[0], pp[0], pp[1]}) close(fd);
}

TEST(UnixRights, StreamReadStopsAfterFiles) {
  Pair p(SOCK_STREAM);
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  ASSERT_EQ(send(p.a, "ab", 2, 0), 2);
  ASSERT_EQ(SendFds(p.a, "cd", {pp[0]}), 2);
  ASSERT_EQ(send(p.a, "ef", 2, 0), 2);
  Received r = RecvAll(p.b, 16);
  EXPECT_EQ(r.data, "abcd");
  ASSERT_EQ(r.fds.size(), 1u);
  r = RecvAll(p.b, 16);
  EXPECT_EQ(r.data, "ef");
  EXPECT_TRUE(r.fds.empty());
  close(pp[0]);
  close(pp[1]);
}

TEST(UnixRights, PassesASocket) {
  Pair p(SOCK_STREAM);
  Pair inner(SOCK_STREAM);
  ASSERT_EQ(SendFds(p.a, "s", {inner.a}), 1);
  close(inner.a);
  inner.a = -1;
  Received r = RecvAll(p.b, 4);
  ASSERT_EQ(r.fds.size(), 1u);
  ASSERT_EQ(send(r.fds[0], "through", 7, 0), 7);
  char buf[8] = {};
  EXPECT_EQ(recv(inner.b, buf, sizeof(buf), 0), 7);
  close(r.fds[0]);
}

TEST(UnixRights, BadControlMessages) {
  Pair p(SOCK_DGRAM);
  EXPECT_FAILS_WITH(SendFds(p.a, "x", {ClosedFd()}), EBADF);
  EXPECT_FAILS_WITH(SendFds(p.a, "x", {-1}), EBADF);
  std::vector<int> many(254, p.a);
  EXPECT_FAILS_WITH(SendFds(p.a, "x", many), EINVAL);
  // cmsg_len past the buffer, and an unknown type.
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{const_cast<char*>("x"), 1};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof(ctl);
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = sizeof(ctl) + 8;
  EXPECT_FAILS_WITH(sendmsg(p.a, &m, 0), EINVAL);
  c->cmsg_len = CMSG_LEN(sizeof(int));
  c->cmsg_type = 99;
  EXPECT_FAILS_WITH(sendmsg(p.a, &m, 0), EINVAL);
  // Other levels are not the socket layer's: ignored.
  c->cmsg_level = SOL_IP;
  EXPECT_EQ(sendmsg(p.a, &m, 0), 1);
  m.msg_control = BadPtr();
  EXPECT_FAILS_WITH(sendmsg(p.a, &m, 0), EFAULT);
  EXPECT_FAILS_WITH(sendmsg(p.a, static_cast<msghdr*>(BadPtr()), 0), EFAULT);
  m.msg_control = nullptr;
  m.msg_controllen = 0;
  m.msg_iovlen = 1025;
  EXPECT_FAILS_WITH(sendmsg(p.a, &m, 0), EMSGSIZE);
}

// ---- SCM_CREDENTIALS

TEST(UnixCreds, PasscredReportsTheSender) {
  Pair p(SOCK_DGRAM);
  int on = 1;
  ASSERT_EQ(setsockopt(p.b, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
  EXPECT_EQ(GetIntOpt(p.b, SO_PASSCRED), 1);
  pid_t pid = fork();
  if (pid == 0) _exit(send(p.a, "c", 1, 0) == 1 ? 0 : 1);
  Reap(pid);
  Received r = RecvAll(p.b, 4);
  ASSERT_EQ(r.n, 1);
  ASSERT_TRUE(r.has_creds);
  EXPECT_EQ(r.creds.pid, pid);
  EXPECT_EQ(r.creds.uid, getuid());
  EXPECT_EQ(r.creds.gid, getgid());
  // Without SO_PASSCRED: none.
  Received r2 = [&] {
    Pair q(SOCK_STREAM);
    (void)send(q.a, "d", 1, 0);
    return RecvAll(q.b, 4);
  }();
  EXPECT_FALSE(r2.has_creds);
}

TEST(UnixCreds, ExplicitCredentials) {
  Pair p(SOCK_STREAM);
  int on = 1;
  ASSERT_EQ(setsockopt(p.b, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
  auto send_creds = [&](ucred cr) {
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(ucred))] = {};
    iovec iov{const_cast<char*>("x"), 1};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof(ctl);
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(ucred));
    memcpy(CMSG_DATA(c), &cr, sizeof(cr));
    return sendmsg(p.a, &m, 0);
  };
  ASSERT_EQ(send_creds(ucred{getpid(), getuid(), getgid()}), 1);
  Received r = RecvAll(p.b, 4);
  ASSERT_TRUE(r.has_creds);
  EXPECT_EQ(r.creds.pid, getpid());
  EXPECT_FAILS_WITH(send_creds(ucred{getpid(), static_cast<uid_t>(-1), getgid()}), EINVAL);
  RunInChild([&] {
    ASSERT_EQ(setgid(65534), 0);
    ASSERT_EQ(setuid(65534), 0);
    // Someone else's pid or ids, without privilege.
    EXPECT_FAILS_WITH(send_creds(ucred{getppid(), 65534, 65534}), EPERM);
    EXPECT_FAILS_WITH(send_creds(ucred{getpid(), 0, 65534}), EPERM);
    EXPECT_FAILS_WITH(send_creds(ucred{getpid(), 65534, 0}), EPERM);
    EXPECT_EQ(send_creds(ucred{getpid(), 65534, 65534}), 1);
  });
}

TEST(UnixCreds, StreamDoesNotGlueDifferentSenders) {
  Pair p(SOCK_STREAM);
  int on = 1;
  ASSERT_EQ(setsockopt(p.b, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
  ASSERT_EQ(send(p.a, "ab", 2, 0), 2);
  pid_t pid = fork();
  if (pid == 0) _exit(send(p.a, "cd", 2, 0) == 2 ? 0 : 1);
  Reap(pid);
  Received r = RecvAll(p.b, 16);
  EXPECT_EQ(r.data, "ab");
  EXPECT_EQ(r.creds.pid, getpid());
  r = RecvAll(p.b, 16);
  EXPECT_EQ(r.data, "cd");
  EXPECT_EQ(r.creds.pid, pid);
}

TEST(UnixCreds, PasscredAutobindsOnConnect) {
  Addr a = AbstractAddr("husk-passcred");
  int r = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_EQ(bind(r, a.sa(), a.len), 0);
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  int on = 1;
  ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
  ASSERT_EQ(connect(s, a.sa(), a.len), 0);
  sockaddr_un n{};
  socklen_t len = sizeof(n);
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&n), &len), 0);
  EXPECT_EQ(len, kPathOff + 6);
  close(r);
  close(s);
}

TEST(UnixCreds, SocketpairPeerCred) {
  Pair p(SOCK_STREAM);
  ucred cr{};
  socklen_t len = sizeof(cr);
  ASSERT_EQ(getsockopt(p.a, SOL_SOCKET, SO_PEERCRED, &cr, &len), 0);
  EXPECT_EQ(cr.pid, getpid());
  EXPECT_EQ(cr.uid, geteuid());
  EXPECT_EQ(cr.gid, getegid());
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  len = sizeof(cr);
  ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len), 0);
  EXPECT_EQ(cr.pid, 0);
  EXPECT_EQ(cr.uid, static_cast<uid_t>(-1));
  EXPECT_EQ(cr.gid, static_cast<gid_t>(-1));
  close(s);
}

// ---- Socket options

TEST(UnixOptions, BufferSizesDouble) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  int v = 10000;
  ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
  EXPECT_EQ(GetIntOpt(s, SO_SNDBUF), 20000);
  ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
  EXPECT_EQ(GetIntOpt(s, SO_RCVBUF), 20000);
  v = 1;
  ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
  EXPECT_EQ(GetIntOpt(s, SO_SNDBUF), 4608);
  ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
  EXPECT_EQ(GetIntOpt(s, SO_RCVBUF), 2304);
  close(s);
}

TEST(UnixOptions, GenericOptions) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_EQ(GetIntOpt(s, SO_ERROR), 0);
  EXPECT_EQ(GetIntOpt(s, SO_REUSEADDR), 0);
  int on = 1;
  ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)), 0);
  EXPECT_EQ(GetIntOpt(s, SO_REUSEADDR), 1);
  ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)), 0);
  EXPECT_EQ(GetIntOpt(s, SO_KEEPALIVE), 1);
  EXPECT_FAILS_WITH(setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)), EOPNOTSUPP);
  EXPECT_FAILS_WITH(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, 2), EINVAL);
  EXPECT_FAILS_WITH(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, BadPtr(), sizeof(on)), EFAULT);
  EXPECT_FAILS_WITH(setsockopt(s, SOL_SOCKET, 9999, &on, sizeof(on)), ENOPROTOOPT);
  EXPECT_FAILS_WITH(setsockopt(s, IPPROTO_TCP, 1, &on, sizeof(on)), EOPNOTSUPP);
  int v;
  socklen_t len = sizeof(v);
  EXPECT_FAILS_WITH(getsockopt(s, SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT);
  EXPECT_FAILS_WITH(getsockopt(s, IPPROTO_TCP, 1, &v, &len), EOPNOTSUPP);
  EXPECT_FAILS_WITH(getsockopt(s, SOL_SOCKET, SO_TYPE, BadPtr(), &len), EFAULT);
  EXPECT_FAILS_WITH(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, static_cast<socklen_t*>(BadPtr())), EFAULT);
  len = -1;
  EXPECT_FAILS_WITH(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len), EINVAL);
  // A short buffer gets what fits.
  v = 0;
  len = 2;
  ASSERT_EQ(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len), 0);
  EXPECT_EQ(len, 2u);
  EXPECT_EQ(v, SOCK_STREAM);
  close(s);
}

TEST(UnixOptions, ReceiveTimeout) {
  Pair p(SOCK_STREAM);
  timeval tv{0, 100000};
  ASSERT_EQ(setsockopt(p.b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  timeval got{};
  socklen_t len = sizeof(got);
  ASSERT_EQ(getsockopt(p.b, SOL_SOCKET, SO_RCVTIMEO, &got, &len), 0);
  EXPECT_EQ(len, sizeof(got));
  EXPECT_EQ(got.tv_sec, 0);
  EXPECT_EQ(got.tv_usec, 100000);
  char c;
  const long start = NowMs();
  EXPECT_FAILS_WITH(recv(p.b, &c, 1, 0), EAGAIN);
  EXPECT_GE(NowMs() - start, 80);
  tv = {0, 1000000};
  EXPECT_FAILS_WITH(setsockopt(p.b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EDOM);
  EXPECT_FAILS_WITH(setsockopt(p.b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(int)), EINVAL);
  // Interrupted with a timeout set: EINTR even with SA_RESTART.
  RunInChild([&] {
    struct sigaction sa {};
    sa.sa_handler = NoopHandler;
    sa.sa_flags = SA_RESTART;
    ASSERT_EQ(sigaction(SIGALRM, &sa, nullptr), 0);
    timeval longer{5, 0};
    ASSERT_EQ(setsockopt(p.b, SOL_SOCKET, SO_RCVTIMEO, &longer, sizeof(longer)), 0);
    itimerval it{{0, 0}, {0, 50000}};
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    char c;
    EXPECT_FAILS_WITH(recv(p.b, &c, 1, 0), EINTR);
  });
}

TEST(UnixOptions, SendTimeout) {
  Pair p(SOCK_DGRAM);
  while (send(p.a, "x", 1, MSG_DONTWAIT) == 1) {
  }
  timeval tv{0, 100000};
  ASSERT_EQ(setsockopt(p.a, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
  const long start = NowMs();
  EXPECT_FAILS_WITH(send(p.a, "x", 1, 0), EAGAIN);
  EXPECT_GE(NowMs() - start, 80);
}

TEST(UnixOptions, BlockingRecvRestartsWithSaRestart) {
  Pair p(SOCK_STREAM);
  RunInChild([&] {
    struct sigaction sa {};
    sa.sa_handler = NoopHandler;
    sa.sa_flags = SA_RESTART;
    ASSERT_EQ(sigaction(SIGALRM, &sa, nullptr), 0);
    pid_t writer = fork();
    if (writer == 0) {
      SleepMs(200);
      _exit(send(p.a, "k", 1, 0) == 1 ? 0 : 1);
    }
    itimerval it{{0, 0}, {0, 50000}};
    ASSERT_EQ(setitimer(ITIMER_REAL, &it, nullptr), 0);
    char c = 0;
    EXPECT_EQ(recv(p.b, &c, 1, 0), 1);
    EXPECT_EQ(c, 'k');
    Reap(writer);
  });
}

// ---- poll and epoll

TEST(UnixPoll, Readiness) {
  Pair p(SOCK_STREAM);
  EXPECT_EQ(PollEvents(p.a, POLLIN | POLLOUT | POLLRDHUP), POLLOUT);
  ASSERT_EQ(send(p.b, "x", 1, 0), 1);
  EXPECT_EQ(PollEvents(p.a, POLLIN | POLLOUT), POLLIN | POLLOUT);
  int n = -1;
  EXPECT_EQ(ioctl(p.a, FIONREAD, &n), 0);
  EXPECT_EQ(n, 1);
  ASSERT_EQ(shutdown(p.b, SHUT_WR), 0);
  EXPECT_EQ(PollEvents(p.a, POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
  close(p.b);
  p.b = -1;
  EXPECT_EQ(PollEvents(p.a, POLLIN | POLLRDHUP), POLLIN | POLLRDHUP | POLLHUP);
}

TEST(UnixPoll, WakesOnDataFromAnotherProcess) {
  Pair p(SOCK_DGRAM);
  pid_t pid = fork();
  if (pid == 0) {
    SleepMs(50);
    _exit(send(p.a, "x", 1, 0) == 1 ? 0 : 1);
  }
  pollfd pf{p.b, POLLIN, 0};
  EXPECT_EQ(poll(&pf, 1, 5000), 1);
  EXPECT_EQ(pf.revents, POLLIN);
  Reap(pid);
}

TEST(UnixPoll, Epoll) {
  Pair p(SOCK_STREAM);
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  ev.data.u32 = 7;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, p.a, &ev), 0);
  epoll_event out[2];
  EXPECT_EQ(epoll_wait(ep, out, 2, 0), 0);
  pid_t pid = fork();
  if (pid == 0) {
    SleepMs(50);
    _exit(send(p.b, "x", 1, 0) == 1 ? 0 : 1);
  }
  ASSERT_EQ(epoll_wait(ep, out, 2, 5000), 1);
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(out[0].data.u32, 7u);
  Reap(pid);
  EXPECT_EQ(epoll_wait(ep, out, 2, 0), 0);  // edge-triggered: reported once
  close(p.b);
  p.b = -1;
  ASSERT_EQ(epoll_wait(ep, out, 2, 1000), 1);
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLIN | EPOLLRDHUP | EPOLLHUP));
  close(ep);
}

TEST(UnixPoll, EpollListener) {
  Addr a = AbstractAddr("husk-epoll-listener");
  int l = Listener(a);
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), 0);
  epoll_event out;
  EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
  int c = Connected(a);
  ASSERT_EQ(epoll_wait(ep, &out, 1, 1000), 1);
  EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLIN));
  int s = accept(l, nullptr, nullptr);
  EXPECT_GE(s, 0);
  EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);
  for (int fd : {l, ep, c, s}) close(fd);
}

// ---- sendmmsg, recvmmsg, and the recv/send argument errors

TEST(UnixMmsg, SendAndReceiveSeveral) {
  Pair p(SOCK_DGRAM);
  char a[] = "one", b[] = "three";
  iovec iov[2] = {{a, 3}, {b, 5}};
  mmsghdr out[2]{};
  out[0].msg_hdr.msg_iov = &iov[0];
  out[0].msg_hdr.msg_iovlen = 1;
  out[1].msg_hdr.msg_iov = &iov[1];
  out[1].msg_hdr.msg_iovlen = 1;
  ASSERT_EQ(sendmmsg(p.a, out, 2, 0), 2);
  EXPECT_EQ(out[0].msg_len, 3u);
  EXPECT_EQ(out[1].msg_len, 5u);
  char r1[8], r2[8];
  iovec in_iov[3] = {{r1, sizeof(r1)}, {r2, sizeof(r2)}};
  mmsghdr in[3]{};
  for (int i = 0; i < 2; i++) {
    in[i].msg_hdr.msg_iov = &in_iov[i];
    in[i].msg_hdr.msg_iovlen = 1;
  }
  ASSERT_EQ(recvmmsg(p.b, in, 2, MSG_DONTWAIT, nullptr), 2);
  EXPECT_EQ(in[0].msg_len, 3u);
  EXPECT_EQ(in[1].msg_len, 5u);
  EXPECT_EQ(std::string(r2, 5), "three");
  EXPECT_FAILS_WITH(recvmmsg(p.b, in, 2, MSG_DONTWAIT, nullptr), EAGAIN);
  // MSG_WAITFORONE: what is there once one arrived.
  ASSERT_EQ(send(p.a, "x", 1, 0), 1);
  EXPECT_EQ(recvmmsg(p.b, in, 2, MSG_WAITFORONE, nullptr), 1);
}

TEST(UnixMmsg, BadBuffers) {
  Pair p(SOCK_STREAM);
  EXPECT_FAILS_WITH(send(p.a, BadPtr(), 4, 0), EFAULT);
  ASSERT_EQ(send(p.a, "abcd", 4, 0), 4);
  EXPECT_FAILS_WITH(recv(p.b, BadPtr(), 4, 0), EFAULT);
  char buf[4];
  EXPECT_EQ(recv(p.b, buf, sizeof(buf), 0), 4);
  EXPECT_FAILS_WITH(recvmsg(p.b, static_cast<msghdr*>(BadPtr()), 0), EFAULT);
}

}  // namespace
