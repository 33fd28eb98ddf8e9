// AF_UNIX sockets (unix(7)), part one: socket, socketpair, stream
// sockets, names (path, abstract, autobind), listen, connect and accept.
// Datagram, seqpacket, SCM_RIGHTS, SCM_CREDENTIALS, options and readiness
// are in unix_socket_msg_test.cc.

#include "unix_socket_util.h"

namespace {

using husk_test::AbstractAddr;
using husk_test::Addr;
using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::Connected;
using husk_test::GetIntOpt;
using husk_test::kFamilyLen;
using husk_test::kPathOff;
using husk_test::Listener;
using husk_test::NoopHandler;
using husk_test::NowMs;
using husk_test::OpenFdCount;
using husk_test::Pair;
using husk_test::PathAddr;
using husk_test::PollEvents;
using husk_test::Reap;
using husk_test::Received;
using husk_test::RecvAll;
using husk_test::RunInChild;
using husk_test::SendFds;
using husk_test::SleepMs;
using husk_test::TempDirTest;

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

TEST_F(UnixNames, RelativePathsFromTheWorkingDirectory) {
  RunInChild([&] {
    ASSERT_EQ(chdir(dir_.c_str()), 0);
    Addr a = PathAddr("rel");
    int l = Listener(a);
    sockaddr_un n{};
    socklen_t len = sizeof(n);
    ASSERT_EQ(getsockname(l, reinterpret_cast<sockaddr*>(&n), &len), 0);
    EXPECT_EQ(len, kPathOff + 4);
    EXPECT_STREQ(n.sun_path, "rel");
    int c = Connected(a);
    int s = accept(l, nullptr, nullptr);
    EXPECT_GE(s, 0);
    struct stat st;
    EXPECT_EQ(stat(Path("rel").c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    close(l);
    close(c);
    close(s);
  });
}

TEST_F(UnixNames, SymlinkToASocket) {
  Addr a = PathAddr(Path("sock"));
  int l = Listener(a);
  ASSERT_EQ(symlink(Path("sock").c_str(), Path("link").c_str()), 0);
  // connect follows the link; bind does not (the name exists).
  Addr link = PathAddr(Path("link"));
  int c = Connected(link);
  int t = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_FAILS_WITH(bind(t, link.sa(), link.len), EADDRINUSE);
  for (int fd : {l, c, t}) close(fd);
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
  auto* bad_len = static_cast<socklen_t*>(BadPtr());
  EXPECT_FAILS_WITH(getsockname(s, reinterpret_cast<sockaddr*>(&out), bad_len), EFAULT);
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

}  // namespace
