// Helpers the AF_UNIX socket tests share (unix_socket_test.cc,
// unix_socket_msg_test.cc): addresses, socketpairs, SCM_RIGHTS and
// SCM_CREDENTIALS messages, options and poll.
#pragma once

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

namespace husk_test {

inline constexpr socklen_t kFamilyLen = sizeof(sa_family_t);
inline constexpr socklen_t kPathOff = offsetof(sockaddr_un, sun_path);

// A sockaddr_un naming `path`, and the length bind/connect take for it.
struct Addr {
  sockaddr_un sun{};
  socklen_t len = 0;
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&sun); }
};

inline Addr PathAddr(const std::string& path) {
  Addr a;
  a.sun.sun_family = AF_UNIX;
  memcpy(a.sun.sun_path, path.data(), path.size());
  a.len = kPathOff + path.size() + 1;
  return a;
}

// An abstract name (a NUL, then `name` and this process's pid, so that
// runs at the same time do not meet).
inline Addr AbstractAddr(const std::string& name) {
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

inline short PollEvents(int fd, short events) {
  pollfd p{fd, events, 0};
  if (poll(&p, 1, 0) < 0) return -1;
  return p.revents;
}

inline int OpenFdCount() {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) n++;
  }
  return n;
}

// Sends `data` with the files `fds` (SCM_RIGHTS).
inline ssize_t SendFds(int sock, const std::string& data, const std::vector<int>& fds,
                       int flags = 0) {
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

inline Received RecvAll(int sock, size_t len, size_t ctl_len = 256, int flags = 0) {
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

inline int GetIntOpt(int fd, int name) {
  int v = -12345;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, SOL_SOCKET, name, &v, &len) != 0) return -12345;
  return v;
}

// A listening stream (or seqpacket) socket bound to `addr`.
inline int Listener(Addr addr, int type = SOCK_STREAM, int backlog = 16) {
  int s = socket(AF_UNIX, type, 0);
  if (s < 0 || bind(s, addr.sa(), addr.len) != 0 || listen(s, backlog) != 0) abort();
  return s;
}

inline int Connected(Addr addr, int type = SOCK_STREAM) {
  int c = socket(AF_UNIX, type, 0);
  if (c < 0 || connect(c, addr.sa(), addr.len) != 0) abort();
  return c;
}

inline void Reap(pid_t pid, int* status = nullptr) {
  int st;
  waitpid(pid, &st, 0);
  if (status) *status = st;
}

// A signal handler that does nothing (to interrupt a blocking call).
inline void NoopHandler(int) {}

}  // namespace husk_test
