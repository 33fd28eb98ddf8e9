// AF_UNIX sockets (unix(7)), part two: datagram and seqpacket sockets,
// SCM_RIGHTS and SCM_CREDENTIALS, socket options, poll/epoll readiness,
// sendmmsg and recvmmsg.

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
  EXPECT_EQ(r.flags, MSG_CMSG_CLOEXEC);  // handed back, as Linux does
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
  auto* bad_len = static_cast<socklen_t*>(BadPtr());
  EXPECT_FAILS_WITH(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, bad_len), EFAULT);
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

TEST(UnixPoll, ReadingDoesNotRearmAnEdge) {
  Pair p(SOCK_STREAM);
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, p.b, &ev), 0);
  epoll_event out;
  ASSERT_EQ(epoll_wait(ep, &out, 1, 0), 1);
  EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLOUT));
  ASSERT_EQ(send(p.a, "ab", 2, 0), 2);
  ASSERT_EQ(send(p.a, "cd", 2, 0), 2);
  ASSERT_EQ(epoll_wait(ep, &out, 1, 0), 1);
  EXPECT_EQ(out.events, static_cast<uint32_t>(EPOLLIN | EPOLLOUT));
  char buf[2];
  ASSERT_EQ(recv(p.b, buf, 2, 0), 2);
  EXPECT_EQ(epoll_wait(ep, &out, 1, 0), 0);  // no new edge: data was only taken
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
