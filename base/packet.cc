#include "base/packet.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace husk {

Result<void> SendPacket(int sock, std::span<const iovec> parts, int fd, int flags) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = const_cast<iovec*>(parts.data());
  msg.msg_iovlen = parts.size();
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  }
  for (;;) {
    if (::sendmsg(sock, &msg, MSG_NOSIGNAL | flags) >= 0) return Ok();
    if (errno != EINTR) return Errno(errno);
  }
}

namespace {

// Takes ownership of every SCM_RIGHTS fd in a received message.
std::vector<ScopedFd> TakeFds(msghdr& msg) {
  std::vector<ScopedFd> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.emplace_back(fd);
    }
  }
  return fds;
}

}  // namespace

Result<ReceivedPacket> ReceivePacket(int sock, std::span<std::byte> buf, int flags) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPacketFds)];
  iovec iov = {buf.data(), buf.size()};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    // MSG_CMSG_CLOEXEC: donated fds must never leak into a child the
    // receiver starts.
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Errno(errno);
  ReceivedPacket packet;
  packet.size = static_cast<size_t>(n);
  packet.truncated = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
  packet.fds = TakeFds(msg);
  return packet;
}

}  // namespace husk
