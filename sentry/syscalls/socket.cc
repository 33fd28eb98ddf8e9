// Socket syscalls (net/socket.c, net/core/scm.c): socket, socketpair,
// bind, listen, accept, accept4, connect, getsockname, getpeername,
// sendto, recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg, shutdown,
// setsockopt and getsockopt. They copy sockaddrs, msghdrs and control
// messages in and out; the sockets are sentry/socket/unix's.
#include <sys/socket.h>
#include <sys/uio.h>

#include <climits>
#include <cstring>
#include <vector>

#include "sentry/kernel/kernel.h"
#include "sentry/socket/unix/unix_socket.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

using socket::UnixSocket;

constexpr int kSockTypeMask = 0xf;
constexpr int kSockMax = 11;         // SOCK_MAX: types above are EINVAL
constexpr int kMaxFamily = 46;       // NPROTO: families at or above are EAFNOSUPPORT
// A msghdr's iovec array: EMSGSIZE past UIO_MAXIOV; a send's buffers must
// be readable in full.
constexpr IovecRules kMsgIovecs{Errno(EMSGSIZE), /*whole_source=*/true};
constexpr uint32_t kUioMaxIov = IOV_MAX;  // UIO_MAXIOV: messages per sendmmsg/recvmmsg
constexpr size_t kScmMaxFd = 253;    // SCM_MAX_FD: files one message may pass
constexpr size_t kOptmemMax = 131072;  // net.core.optmem_max: the largest control buffer
constexpr size_t kCmsgHdr = sizeof(cmsghdr);

size_t CmsgAlign(size_t n) { return (n + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1); }

// The socket `fd` is, with the file kept alive while the call runs.
struct SocketRef {
  std::shared_ptr<vfs::FileDescription> file;
  UnixSocket* sock;
};

Result<SocketRef> GetSocket(Task& t, int fd) {
  auto file = TRY(t.fds().Get(fd));
  UnixSocket* s = socket::AsUnixSocket(file.get());
  if (s == nullptr) return Errno(ENOTSOCK);
  return SocketRef{std::move(file), s};
}

// move_addr_to_kernel: at most a sockaddr_storage; none for length 0.
Result<std::vector<uint8_t>> CopyInAddr(Task& t, uint64_t addr, int64_t len) {
  if (len < 0 || static_cast<uint64_t>(len) > socket::kSockaddrMax) return Errno(EINVAL);
  std::vector<uint8_t> out(static_cast<size_t>(len));
  if (len > 0) TRY(t.mm().CopyIn(addr, out));
  return out;
}

// move_addr_to_user: as much of `name` as the buffer (length at
// `len_addr`) holds, and its full length written back.
Result<void> CopyOutAddr(Task& t, std::string_view name, uint64_t addr, uint64_t len_addr) {
  int len = TRY(CopyInStruct<int>(t, len_addr));
  const int full = static_cast<int>(name.size());
  if (len > full) len = full;
  if (len < 0) return Errno(EINVAL);
  if (len > 0) {
    TRY(t.mm().CopyOut(addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(name.data()),
                                                       static_cast<size_t>(len))));
  }
  return CopyOutStruct(t, len_addr, full);
}


// scm_check_creds: one may send only the credentials setuid/setgid could
// give one, and one's own pid (EPERM), without the capabilities.
Result<void> CheckCreds(Task& t, const socket::Ucred& c) {
  if (c.uid == UINT32_MAX || c.gid == UINT32_MAX) return Errno(EINVAL);
  const vfs::Credentials& cr = t.creds();
  const bool pid_ok = c.pid == t.pid() || cr.HasCapability(CAP_SYS_ADMIN);
  const bool uid_ok = c.uid == cr.uid || c.uid == cr.euid || c.uid == cr.suid ||
                      cr.HasCapability(CAP_SETUID);
  const bool gid_ok = c.gid == cr.gid || c.gid == cr.egid || c.gid == cr.sgid ||
                      cr.HasCapability(CAP_SETGID);
  if (!pid_ok || !uid_ok || !gid_ok) return Errno(EPERM);
  return Ok();
}

// __scm_send: SCM_RIGHTS and SCM_CREDENTIALS from a control buffer.
Result<void> ParseControl(Task& t, std::span<const uint8_t> ctl, socket::SendArgs& args) {
  size_t off = 0;
  while (off + kCmsgHdr <= ctl.size()) {
    cmsghdr h;
    memcpy(&h, ctl.data() + off, kCmsgHdr);
    if (h.cmsg_len < kCmsgHdr || h.cmsg_len > ctl.size() - off) return Errno(EINVAL);
    if (h.cmsg_level == SOL_SOCKET) {
      const uint8_t* data = ctl.data() + off + kCmsgHdr;
      switch (h.cmsg_type) {
        case SCM_RIGHTS: {
          const size_t num = (h.cmsg_len - kCmsgHdr) / sizeof(int);
          if (num > kScmMaxFd || args.rights.size() + num > kScmMaxFd) return Errno(EINVAL);
          for (size_t i = 0; i < num; ++i) {
            int fd;
            memcpy(&fd, data + i * sizeof(int), sizeof(int));
            if (fd < 0) return Errno(EBADF);
            args.rights.push_back(TRY(t.fds().Get(fd)));
          }
          break;
        }
        case SCM_CREDENTIALS: {
          if (h.cmsg_len != kCmsgHdr + sizeof(socket::Ucred)) return Errno(EINVAL);
          socket::Ucred c;
          memcpy(&c, data, sizeof(c));
          TRY(CheckCreds(t, c));
          args.creds = c;
          break;
        }
        default:
          return Errno(EINVAL);
      }
    }
    off += CmsgAlign(h.cmsg_len);
  }
  return Ok();
}

// Fills a recvmsg's control buffer as put_cmsg and scm_detach_fds do:
// what does not fit is cut (MSG_CTRUNC); files that do not fit are closed.
class ControlWriter {
 public:
  ControlWriter(Task& t, uint64_t addr, uint64_t len, bool cloexec)
      : t_(t), start_(addr), addr_(addr), left_(addr ? len : 0), cloexec_(cloexec) {}

  void Put(int level, int type, std::span<const uint8_t> data) {
    if (addr_ == 0 || left_ < kCmsgHdr) {
      flags_ |= MSG_CTRUNC;
      return;
    }
    uint64_t len = kCmsgHdr + data.size();
    if (left_ < len) {
      flags_ |= MSG_CTRUNC;
      len = left_;
    }
    if (!Header(len, level, type)) return;
    if (!t_.mm().CopyOut(addr_ + kCmsgHdr, data.first(len - kCmsgHdr))) return;
    Advance(kCmsgHdr + CmsgAlign(data.size()));
  }

  void PutRights(std::vector<std::shared_ptr<vfs::FileDescription>> files) {
    const size_t fdmax = left_ > kCmsgHdr ? (left_ - kCmsgHdr) / sizeof(int) : 0;
    const size_t n = std::min(files.size(), fdmax);
    size_t i = 0;
    for (; i < n; ++i) {
      auto fd = InstallFd(t_, files[i], cloexec_);
      if (!fd) break;
      const int v = static_cast<int>(*fd);
      if (!CopyOutStruct(t_, addr_ + kCmsgHdr + i * sizeof(int), v)) {
        (void)t_.fds().Close(v);
        break;
      }
    }
    if (i > 0 && Header(kCmsgHdr + i * sizeof(int), SOL_SOCKET, SCM_RIGHTS)) {
      Advance(kCmsgHdr + CmsgAlign(i * sizeof(int)));
    }
    if (i < files.size()) flags_ |= MSG_CTRUNC;
  }

  uint64_t used() const { return addr_ - start_; }
  int flags() const { return flags_; }

 private:
  bool Header(uint64_t len, int level, int type) {
    cmsghdr h{};
    h.cmsg_len = len;
    h.cmsg_level = level;
    h.cmsg_type = type;
    return static_cast<bool>(CopyOutStruct(t_, addr_, h));
  }
  void Advance(uint64_t space) {
    space = std::min(space, left_);
    addr_ += space;
    left_ -= space;
  }

  Task& t_;
  const uint64_t start_;
  uint64_t addr_;
  uint64_t left_;
  const bool cloexec_;
  int flags_ = 0;
};

// An EPIPE from a stream socket also raises SIGPIPE, unless MSG_NOSIGNAL.
Result<uint64_t> SentResult(Task& t, UnixSocket& s, int flags, Result<size_t> r) {
  if (!r) {
    if (r.error() == Errno(EPIPE) && s.RaisesSigpipe(flags)) (void)SignalSelf(t, SIGPIPE);
    return r.error();
  }
  return *r;
}

Result<uint64_t> DoSendmsg(Task& t, UnixSocket& s, uint64_t msg_addr, int flags) {
  const msghdr m = TRY(CopyInStruct<msghdr>(t, msg_addr));
  socket::SendArgs args;
  args.flags = flags;
  std::vector<uint8_t> name;
  int namelen = m.msg_name ? static_cast<int>(m.msg_namelen) : 0;
  if (namelen < 0) return Errno(EINVAL);
  namelen = std::min<int>(namelen, socket::kSockaddrMax);
  if (namelen > 0) name = TRY(CopyInAddr(t, reinterpret_cast<uint64_t>(m.msg_name), namelen));
  args.to = name;
  vfs::IoVecs data =
      TRY(ImportIovecs(t, reinterpret_cast<uint64_t>(m.msg_iov), m.msg_iovlen, /*out=*/false, kMsgIovecs));
  if (m.msg_controllen > INT_MAX || m.msg_controllen > kOptmemMax) return Errno(ENOBUFS);
  if (m.msg_controllen > 0) {
    std::vector<uint8_t> ctl(m.msg_controllen);
    TRY(t.mm().CopyIn(reinterpret_cast<uint64_t>(m.msg_control), ctl));
    TRY(ParseControl(t, ctl, args));
  }
  return SentResult(t, s, flags, s.Send(data, std::move(args)));
}

Result<uint64_t> DoRecvmsg(Task& t, UnixSocket& s, uint64_t msg_addr, int flags) {
  const msghdr m = TRY(CopyInStruct<msghdr>(t, msg_addr));
  vfs::IoVecs dst =
      TRY(ImportIovecs(t, reinterpret_cast<uint64_t>(m.msg_iov), m.msg_iovlen, /*out=*/true, kMsgIovecs));
  socket::RecvResult r = TRY(s.Recv(dst, flags));
  if (m.msg_name != nullptr) {
    TRY(CopyOutAddr(t, r.from, reinterpret_cast<uint64_t>(m.msg_name),
                    msg_addr + offsetof(msghdr, msg_namelen)));
  }
  ControlWriter ctl(t, reinterpret_cast<uint64_t>(m.msg_control), m.msg_controllen,
                    (flags & MSG_CMSG_CLOEXEC) != 0);
  if (r.creds) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&*r.creds);
    ctl.Put(SOL_SOCKET, SCM_CREDENTIALS, std::span<const uint8_t>(bytes, sizeof(*r.creds)));
  }
  if (!r.rights.empty()) {
    if (m.msg_control == nullptr) {
      r.flags |= MSG_CTRUNC;
    } else {
      ctl.PutRights(std::move(r.rights));
    }
  }
  // Linux hands MSG_CMSG_CLOEXEC back in msg_flags too.
  const int out_flags = r.flags | ctl.flags() | (flags & MSG_CMSG_CLOEXEC);
  const size_t controllen = ctl.used();
  TRY(CopyOutStruct(t, msg_addr + offsetof(msghdr, msg_controllen), controllen));
  TRY(CopyOutStruct(t, msg_addr + offsetof(msghdr, msg_flags), out_flags));
  return r.length;
}

Result<uint64_t> DoAccept(Task& t, int fd, uint64_t addr, uint64_t len_addr, int flags) {
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return Errno(EINVAL);
  SocketRef s = TRY(GetSocket(t, fd));
  std::shared_ptr<UnixSocket> conn = TRY(s.sock->Accept((flags & SOCK_NONBLOCK) != 0));
  if (addr != 0) TRY(CopyOutAddr(t, TRY(conn->PeerName()), addr, len_addr));
  return InstallFd(t, std::move(conn), (flags & SOCK_CLOEXEC) != 0);
}

// The flags in socket(2)'s and socketpair(2)'s type, and the family
// checks both make: EINVAL for unknown flags or types, EAFNOSUPPORT for
// families the sandbox does not have.
struct TypeArg {
  int type;
  bool nonblock;
  bool cloexec;
};
Result<TypeArg> DecodeType(int family, int type) {
  const int flags = type & ~kSockTypeMask;
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return Errno(EINVAL);
  if (family < 0 || family >= kMaxFamily) return Errno(EAFNOSUPPORT);
  type &= kSockTypeMask;
  if (type >= kSockMax) return Errno(EINVAL);
  return TypeArg{type, (flags & SOCK_NONBLOCK) != 0, (flags & SOCK_CLOEXEC) != 0};
}

}  // namespace

// PARTIAL(families): only AF_UNIX; the others are EAFNOSUPPORT until the
// netstack comes.
Result<uint64_t> Socket(Task& t, const SyscallArgs& a) {
  const int family = a.i32(0);
  const TypeArg ta = TRY(DecodeType(family, a.i32(1)));
  if (family != AF_UNIX) return Errno(EAFNOSUPPORT);
  auto s = TRY(socket::NewUnixSocket(t.kernel().unix_sockets(), ta.type, a.i32(2), ta.nonblock));
  return InstallFd(t, std::move(s), ta.cloexec);
}

Result<uint64_t> Socketpair(Task& t, const SyscallArgs& a) {
  const int family = a.i32(0);
  const TypeArg ta = TRY(DecodeType(family, a.i32(1)));
  // Linux's inet families have no socketpair; the rest are not here.
  if (family == AF_INET || family == AF_INET6) return Errno(EOPNOTSUPP);
  if (family != AF_UNIX) return Errno(EAFNOSUPPORT);
  auto [s0, s1] =
      TRY(socket::NewUnixSocketPair(t.kernel().unix_sockets(), ta.type, a.i32(2), ta.nonblock));
  const int fd0 = static_cast<int>(TRY(InstallFd(t, std::move(s0), ta.cloexec)));
  auto fd1 = InstallFd(t, std::move(s1), ta.cloexec);
  if (!fd1) {
    (void)t.fds().Close(fd0);
    return fd1.error();
  }
  const int fds[2] = {fd0, static_cast<int>(*fd1)};
  auto r = t.mm().CopyOut(a.ptr(3), std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(fds),
                                                             sizeof(fds)));
  if (!r) {
    (void)t.fds().Close(fds[0]);
    (void)t.fds().Close(fds[1]);
    return r.error();
  }
  return 0;
}

Result<uint64_t> Bind(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  const std::vector<uint8_t> addr = TRY(CopyInAddr(t, a.ptr(1), a.i32(2)));
  TRY(s.sock->Bind(addr));
  return 0;
}

Result<uint64_t> Listen(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  TRY(s.sock->Listen(a.i32(1)));
  return 0;
}

Result<uint64_t> Accept(Task& t, const SyscallArgs& a) {
  return DoAccept(t, a.fd(0), a.ptr(1), a.ptr(2), 0);
}

Result<uint64_t> Accept4(Task& t, const SyscallArgs& a) {
  return DoAccept(t, a.fd(0), a.ptr(1), a.ptr(2), a.i32(3));
}

Result<uint64_t> Connect(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  const std::vector<uint8_t> addr = TRY(CopyInAddr(t, a.ptr(1), a.i32(2)));
  TRY(s.sock->Connect(addr));
  return 0;
}

Result<uint64_t> Getsockname(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  TRY(CopyOutAddr(t, s.sock->SockName(), a.ptr(1), a.ptr(2)));
  return 0;
}

Result<uint64_t> Getpeername(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  TRY(CopyOutAddr(t, TRY(s.sock->PeerName()), a.ptr(1), a.ptr(2)));
  return 0;
}

Result<uint64_t> Sendto(Task& t, const SyscallArgs& a) {
  const uint64_t len = std::min(a.size(2), kMaxRwCount);
  const int flags = a.i32(3);
  vfs::IoVecs data;
  if (len > 0) {
    data = TRY(t.mm().InBuffer(a.ptr(1), len));
    if (vfs::TotalLength(data) < len) return Errno(EFAULT);
  }
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  socket::SendArgs args;
  args.flags = flags;
  std::vector<uint8_t> to;
  if (a.ptr(4) != 0) to = TRY(CopyInAddr(t, a.ptr(4), a.i32(5)));
  args.to = to;
  return SentResult(t, *s.sock, flags, s.sock->Send(data, std::move(args)));
}

Result<uint64_t> Recvfrom(Task& t, const SyscallArgs& a) {
  const uint64_t len = std::min(a.size(2), kMaxRwCount);
  vfs::IoVecs dst;
  if (len > 0) dst = TRY(t.mm().OutBuffer(a.ptr(1), len));
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  socket::RecvResult r = TRY(s.sock->Recv(dst, a.i32(3)));
  if (a.ptr(4) != 0) TRY(CopyOutAddr(t, r.from, a.ptr(4), a.ptr(5)));
  return r.length;
}

Result<uint64_t> Sendmsg(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  return DoSendmsg(t, *s.sock, a.ptr(1), a.i32(2));
}

Result<uint64_t> Recvmsg(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  return DoRecvmsg(t, *s.sock, a.ptr(1), a.i32(2));
}

Result<uint64_t> Sendmmsg(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  const uint64_t vec = a.ptr(1);
  const uint32_t vlen = std::min<uint32_t>(a.u32(2), kUioMaxIov);
  const int flags = a.i32(3);
  uint32_t done = 0;
  for (; done < vlen; ++done) {
    const uint64_t entry = vec + done * sizeof(mmsghdr);
    auto r = DoSendmsg(t, *s.sock, entry, flags);
    if (!r) {
      if (done > 0) break;
      return r.error();
    }
    if (!CopyOutStruct(t, entry + offsetof(mmsghdr, msg_len), static_cast<uint32_t>(*r))) {
      if (done > 0) break;
      return Errno(EFAULT);
    }
  }
  return done;
}

// PARTIAL(recvmmsg): an error after some messages is not kept for the
// next call (Linux leaves it in sk_err).
Result<uint64_t> Recvmmsg(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  const uint64_t vec = a.ptr(1);
  const uint32_t vlen = std::min<uint32_t>(a.u32(2), kUioMaxIov);
  int flags = a.i32(3);
  std::optional<timespec> deadline;
  if (a.ptr(4) != 0) {
    const timespec ts = TRY(CopyInStruct<timespec>(t, a.ptr(4)));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return Errno(EINVAL);
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const int64_t ns = now.tv_nsec + ts.tv_nsec;
    deadline = timespec{now.tv_sec + ts.tv_sec + ns / 1000000000, ns % 1000000000};
  }
  auto left_ns = [&] {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (deadline->tv_sec - now.tv_sec) * 1000000000 + (deadline->tv_nsec - now.tv_nsec);
  };
  uint32_t done = 0;
  Result<uint64_t> err = Errno(EAGAIN);
  for (; done < vlen; ++done) {
    const uint64_t entry = vec + done * sizeof(mmsghdr);
    auto r = DoRecvmsg(t, *s.sock, entry, flags & ~MSG_WAITFORONE);
    if (!r) {
      err = r.error();
      break;
    }
    if (!CopyOutStruct(t, entry + offsetof(mmsghdr, msg_len), static_cast<uint32_t>(*r))) {
      err = Errno(EFAULT);
      break;
    }
    if (flags & MSG_WAITFORONE) flags |= MSG_DONTWAIT;
    // Linux looks at the timeout only between messages (recvmmsg(2) BUGS).
    if (deadline && left_ns() <= 0) {
      ++done;
      break;
    }
  }
  if (deadline) {
    const int64_t left = std::max<int64_t>(0, left_ns());
    TRY(CopyOutStruct(t, a.ptr(4), timespec{left / 1000000000, left % 1000000000}));
  }
  if (done == 0 && vlen > 0) return err;
  return done;
}

Result<uint64_t> Shutdown(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  TRY(s.sock->Shutdown(a.i32(1)));
  return 0;
}

Result<uint64_t> Setsockopt(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  const int len = a.i32(4);
  if (len < 0) return Errno(EINVAL);
  // No option here is longer than a struct sock_timeval; a short value is
  // refused before it is read.
  std::vector<uint8_t> value(std::min<size_t>(static_cast<size_t>(len), 64));
  if (value.size() >= sizeof(int) && a.i32(1) == SOL_SOCKET) TRY(t.mm().CopyIn(a.ptr(3), value));
  TRY(s.sock->SetOption(a.i32(1), a.i32(2), value));
  return 0;
}

Result<uint64_t> Getsockopt(Task& t, const SyscallArgs& a) {
  SocketRef s = TRY(GetSocket(t, a.fd(0)));
  const int level = a.i32(1);
  int len = TRY(CopyInStruct<int>(t, a.ptr(4)));
  if (level == SOL_SOCKET && len < 0) return Errno(EINVAL);
  const std::vector<uint8_t> value = TRY(s.sock->GetOption(level, a.i32(2)));
  len = std::min<int>(len, static_cast<int>(value.size()));
  TRY(t.mm().CopyOut(a.ptr(3), std::span<const uint8_t>(value).first(static_cast<size_t>(len))));
  TRY(CopyOutStruct(t, a.ptr(4), len));
  return 0;
}

}  // namespace husk::syscalls
