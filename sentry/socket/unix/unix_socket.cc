// AF_UNIX sockets: creation, names (bind, autobind, lookup), connections
// (listen, connect, accept, shutdown, close), options and readiness. The
// data path (send, recv) is in transfer.cc.
#include "sentry/socket/unix/unix_socket.h"

#include <linux/sockios.h>
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/un.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "sentry/socket/unix/endpoint.h"
#include "sentry/socket/unix/names.h"
#include "vfs/vfs.h"

namespace husk::socket {
namespace {

// sockfs's inode numbers and device (fstat(2) of a socket).
std::atomic<uint64_t> g_next_ino{1};
constexpr dev_t kSockfsDev = 0x8;

template <class T>
std::vector<uint8_t> Bytes(const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  return std::vector<uint8_t>(p, p + sizeof(T));
}

// The kernel's struct sock_timeval / timeval for SO_RCVTIMEO and
// SO_SNDTIMEO (the same 16 bytes on x86-64, old or new option).
struct SockTimeval {
  int64_t sec;
  int64_t usec;
};

Result<std::optional<timespec>> DecodeTimeout(std::span<const uint8_t> value) {
  if (value.size() < sizeof(SockTimeval)) return Errno(EINVAL);
  SockTimeval tv;
  memcpy(&tv, value.data(), sizeof(tv));
  if (tv.usec < 0 || tv.usec >= 1000000) return Errno(EDOM);
  // A negative time makes every wait end at once; zero waits forever.
  if (tv.sec < 0) return std::optional<timespec>(timespec{0, 0});
  if (tv.sec == 0 && tv.usec == 0) return std::optional<timespec>();
  return std::optional<timespec>(timespec{tv.sec, tv.usec * 1000});
}

std::vector<uint8_t> EncodeTimeout(const std::optional<timespec>& t) {
  SockTimeval tv{0, 0};
  if (t) tv = {t->tv_sec, t->tv_nsec / 1000};
  return Bytes(tv);
}

bool HasCap(const Caller& c, int cap) {
  return c.task == nullptr || c.task->creds().HasCapability(cap);
}

std::shared_ptr<Endpoint> NewEndpoint(const std::shared_ptr<UnixNamespace>& ns, int type) {
  return std::make_shared<Endpoint>(ns, type);
}

Result<int> CheckType(int type, int protocol) {
  if (protocol != 0 && protocol != PF_UNIX) return Errno(EPROTONOSUPPORT);
  switch (type) {
    case SOCK_STREAM:
    case SOCK_DGRAM:
    case SOCK_SEQPACKET:
      return type;
    case SOCK_RAW:  // BSD has it; Linux makes it a datagram socket
      return SOCK_DGRAM;
    default:
      return Errno(ESOCKTNOSUPPORT);
  }
}

}  // namespace

std::shared_ptr<UnixNamespace> NewUnixNamespace() { return std::make_shared<UnixNamespace>(); }

Caller CurrentCaller() {
  Caller c;
  c.scm = c.peer = Ucred{0, 0, 0};
  auto* t = dynamic_cast<kernel::Task*>(vfs::CurrentWaiter());
  if (t == nullptr) return c;
  c.task = t;
  const vfs::Credentials& cr = t->creds();
  c.scm = Ucred{t->pid(), cr.uid, cr.gid};
  c.peer = Ucred{t->pid(), cr.euid, cr.egid};
  return c;
}

void UnchargeLocked(Endpoint& owner, Message& m) {
  if (m.sender) {
    Endpoint& s = *m.sender;
    const size_t before = s.wmem;
    s.wmem -= m.charge;
    m.charge = 0;
    const size_t limit = static_cast<size_t>(s.sndbuf);
    // Blocked writers wait for the buffer to drop below its size; POLLOUT
    // for it to drop to a quarter (unix_writable).
    if ((before >= limit && s.wmem < limit) || (before * 4 > limit && s.wmem * 4 <= limit)) {
      s.queue.NotifyAll();
    }
  }
  for (auto& w : owner.peer_wake) {
    if (auto s = w.lock()) s->queue.NotifyAll();
  }
  owner.peer_wake.clear();
  owner.peer_wait.NotifyAll();
}

void AddPeerWakeLocked(Endpoint& other, const std::shared_ptr<Endpoint>& self) {
  std::erase_if(other.peer_wake, [](const std::weak_ptr<Endpoint>& w) { return w.expired(); });
  for (const auto& w : other.peer_wake) {
    if (w.lock() == self) return;
  }
  other.peer_wake.push_back(self);
}

Deadline MakeDeadline(bool nonblock, const std::optional<timespec>& timeout) {
  Deadline d;
  if (nonblock) {
    d.nonblock = true;
    return d;
  }
  if (!timeout) return d;
  d.timed = true;
  if (timeout->tv_sec == 0 && timeout->tv_nsec == 0) {
    d.nonblock = true;
    return d;
  }
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t ns = now.tv_nsec + timeout->tv_nsec;
  d.deadline = timespec{now.tv_sec + timeout->tv_sec + ns / 1000000000, ns % 1000000000};
  return d;
}

Result<void> WaitFor(Endpoint& ep, vfs::WaitQueue& q, const Deadline& d,
                     absl::FunctionRef<bool()> ready) {
  if (d.nonblock) return Errno(EAGAIN);
  vfs::Waiter* w = vfs::CurrentWaiter();
  if (w == nullptr) return Errno(EAGAIN);
  auto r = w->Block({&q}, [&] {
    absl::MutexLock lock(&ep.ns->mu);
    return ready();
  }, d.deadline);
  if (r) return Ok();
  if (r.error() == Errno(ETIMEDOUT)) return Errno(EAGAIN);
  if (r.error() == Errno(ERESTARTSYS) && d.timed) return Errno(EINTR);
  return r.error();
}

// ---- Creation and release

UnixSocket::UnixSocket(std::shared_ptr<Endpoint> ep, bool nonblock)
    : FileDescription(vfs::Path{}, O_RDWR | (nonblock ? O_NONBLOCK : 0)), ep_(std::move(ep)),
      ino_(g_next_ino++) {
  const Caller c = CurrentCaller();
  uid_ = c.peer.uid;
  gid_ = c.peer.gid;
  clock_gettime(CLOCK_REALTIME, &time_);
}

UnixSocket::~UnixSocket() { Release(ep_, false); }

int UnixSocket::type() const { return ep_->type; }

Result<std::shared_ptr<UnixSocket>> NewUnixSocket(const std::shared_ptr<UnixNamespace>& ns,
                                                  int type, int protocol, bool nonblock) {
  type = TRY(CheckType(type, protocol));
  return std::make_shared<UnixSocket>(NewEndpoint(ns, type), nonblock);
}

Result<std::pair<std::shared_ptr<UnixSocket>, std::shared_ptr<UnixSocket>>> NewUnixSocketPair(
    const std::shared_ptr<UnixNamespace>& ns, int type, int protocol, bool nonblock) {
  type = TRY(CheckType(type, protocol));
  auto a = NewEndpoint(ns, type);
  auto b = NewEndpoint(ns, type);
  const Caller c = CurrentCaller();
  {
    absl::MutexLock lock(&ns->mu);
    a->peer = b;
    b->peer = a;
    a->state = b->state = State::kEstablished;
    a->peercred = b->peercred = c.peer;
  }
  return std::pair{std::make_shared<UnixSocket>(a, nonblock),
                   std::make_shared<UnixSocket>(b, nonblock)};
}

UnixSocket* AsUnixSocket(vfs::FileDescription* file) { return dynamic_cast<UnixSocket*>(file); }

// unix_release_sock: the file is closed (or, `embryo`, a connection that
// was never accepted goes with its listener). The peer of a connection
// sees a hang-up, and a reset if data it sent was never read; what was
// queued here is dropped, the files in it with it.
void Release(const std::shared_ptr<Endpoint>& ep, bool embryo) {
  std::deque<Message> garbage;  // destroyed after the lock: they may hold sockets
  std::deque<std::shared_ptr<Endpoint>> embryos;
  std::shared_ptr<Endpoint> peer;
  {
    absl::MutexLock lock(&ep->ns->mu);
    RemoveNameLocked(*ep);
    ep->dead = true;
    ep->shutdown = kShutdownMask;
    ep->state = State::kClose;
    peer = std::move(ep->peer);
    ep->peer = nullptr;
    if (peer && ep->connection()) {
      peer->shutdown = kShutdownMask;
      if (!ep->recv.empty() || embryo) peer->err = ECONNRESET;
      peer->queue.NotifyAll();
      peer->peer_wait.NotifyAll();
    }
    for (auto& m : ep->recv) UnchargeLocked(*ep, m);
    garbage.swap(ep->recv);
    embryos.swap(ep->pending);
    ep->peer_wake.clear();
    ep->queue.NotifyAll();
    ep->peer_wait.NotifyAll();
  }
  for (auto& e : embryos) Release(e, true);
}

// ---- Names

Result<void> UnixSocket::Bind(std::span<const uint8_t> addr) {
  UnixNamespace& ns = *ep_->ns;
  if (addr.size() == kPathOffset && Family(addr) == AF_UNIX) {
    absl::MutexLock lock(&ns.mu);
    return AutobindLocked(*ep_);
  }
  TRY(ValidateAddr(addr));
  if (IsAbstract(addr)) {
    std::string name(reinterpret_cast<const char*>(addr.data()), addr.size());
    absl::MutexLock lock(&ns.mu);
    if (!ep_->addr.empty()) return Errno(EINVAL);
    auto key = std::pair{ep_->type, name};
    if (auto it = ns.abstract.find(key); it != ns.abstract.end() && !it->second.expired()) {
      return Errno(EADDRINUSE);
    }
    ns.abstract[key] = ep_;
    ep_->addr = std::move(name);
    return Ok();
  }
  const std::string path = PathOf(addr);
  const auto key = TRY(MakeSocketNode(path));
  {
    absl::MutexLock lock(&ns.mu);
    if (ep_->addr.empty()) {
      ns.inodes[key] = ep_;
      ep_->inode = key;
      ep_->addr = PathAddr(path);
      return Ok();
    }
  }
  // Bound already: the name just made goes again (Linux makes it first,
  // so an existing name is EADDRINUSE even then).
  RemoveSocketNode(path);
  return Errno(EINVAL);
}

std::string UnixSocket::SockName() {
  absl::MutexLock lock(&ep_->ns->mu);
  return ep_->addr.empty() ? UnnamedAddr() : ep_->addr;
}

Result<std::string> UnixSocket::PeerName() {
  absl::MutexLock lock(&ep_->ns->mu);
  if (!ep_->peer) return Errno(ENOTCONN);
  return ep_->peer->addr.empty() ? UnnamedAddr() : ep_->peer->addr;
}

// ---- Connections

Result<void> UnixSocket::Listen(int backlog) {
  if (!ep_->connection()) return Errno(EOPNOTSUPP);
  const Caller c = CurrentCaller();
  absl::MutexLock lock(&ep_->ns->mu);
  if (ep_->addr.empty()) return Errno(EINVAL);
  if (ep_->state != State::kClose && ep_->state != State::kListen) return Errno(EINVAL);
  if (static_cast<unsigned>(backlog) > static_cast<unsigned>(kSomaxconn)) backlog = kSomaxconn;
  ep_->backlog = backlog;
  ep_->state = State::kListen;
  ep_->peercred = c.peer;  // what connecting sockets see as SO_PEERCRED
  ep_->peer_wait.NotifyAll();  // connectors waiting for a longer backlog
  return Ok();
}

Result<std::shared_ptr<UnixSocket>> UnixSocket::Accept(bool nonblock) {
  if (!ep_->connection()) return Errno(EOPNOTSUPP);
  Endpoint& ep = *ep_;
  std::optional<timespec> timeo;
  {
    absl::MutexLock lock(&ep.ns->mu);
    if (ep.state != State::kListen) return Errno(EINVAL);
    timeo = ep.rcvtimeo;
  }
  const Deadline wait = MakeDeadline((flags() & O_NONBLOCK) != 0, timeo);
  std::shared_ptr<Endpoint> conn;
  for (;;) {
    {
      absl::MutexLock lock(&ep.ns->mu);
      if (ep.err) return Errno(std::exchange(ep.err, 0));
      if (!ep.pending.empty()) {
        conn = std::move(ep.pending.front());
        ep.pending.pop_front();
        ep.peer_wait.NotifyAll();  // room in the backlog
        break;
      }
      // A listener shut down for reading accepts no more (EINVAL, as Linux).
      if ((ep.shutdown & kRcvShutdown) || ep.state != State::kListen) return Errno(EINVAL);
    }
    TRY(WaitFor(ep, ep.queue, wait, [&] {
      return ep.err || !ep.pending.empty() || (ep.shutdown & kRcvShutdown) ||
             ep.state != State::kListen;
    }));
  }
  return std::make_shared<UnixSocket>(std::move(conn), nonblock);
}

Result<void> UnixSocket::Connect(std::span<const uint8_t> addr) {
  if (!ep_->connection()) return ConnectDgram(addr);
  Endpoint& ep = *ep_;
  UnixNamespace& ns = *ep.ns;
  TRY(ValidateAddr(addr));
  const Caller c = CurrentCaller();
  std::optional<timespec> timeo;
  {
    absl::MutexLock lock(&ns.mu);
    if (ep.passcred && ep.addr.empty()) TRY(AutobindLocked(ep));
    timeo = ep.sndtimeo;
  }
  const Deadline wait = MakeDeadline((flags() & O_NONBLOCK) != 0, timeo);
  bool waited_out = false;  // the wait for backlog room timed out
  for (;;) {
    std::shared_ptr<Endpoint> other = TRY(FindOther(c, ns, addr, ep.type));
    {
      absl::MutexLock lock(&ns.mu);
      if (other->dead) continue;  // closed since the lookup: look again
      if (other->state != State::kListen || (other->shutdown & kRcvShutdown)) {
        return Errno(ECONNREFUSED);
      }
      const bool full = other->pending.size() > static_cast<size_t>(other->backlog);
      if (full && (wait.nonblock || waited_out)) return Errno(EAGAIN);
      if (!full) {
        if (ep.state != State::kClose) {
          return Errno(ep.state == State::kEstablished ? EISCONN : EINVAL);
        }
        // The connection's other end, which accept will hand out: it has
        // the listener's name and SO_PASSCRED, and the connector's creds.
        auto conn = NewEndpoint(ep.ns, ep.type);
        conn->state = State::kEstablished;
        conn->peer = ep_;
        conn->peercred = c.peer;
        conn->addr = other->addr;
        conn->passcred = other->passcred;
        ep.peercred = other->peercred;
        ep.state = State::kEstablished;
        ep.peer = conn;
        other->pending.push_back(std::move(conn));
        other->queue.NotifyAll();
        ep.queue.NotifyAll();
        return Ok();
      }
    }
    Endpoint& o = *other;
    auto r = WaitFor(o, o.peer_wait, wait, [&] {
      return o.dead || (o.shutdown & kRcvShutdown) ||
             o.pending.size() <= static_cast<size_t>(o.backlog);
    });
    if (!r) {
      if (r.error() != Errno(EAGAIN)) return r.error();
      waited_out = true;
    }
  }
}

// unix_dgram_connect: the default destination, or none (AF_UNSPEC). A
// new destination drops what the old one sent and was not read.
Result<void> UnixSocket::ConnectDgram(std::span<const uint8_t> addr) {
  Endpoint& ep = *ep_;
  UnixNamespace& ns = *ep.ns;
  if (addr.size() < sizeof(sa_family_t)) return Errno(EINVAL);
  std::deque<Message> garbage;
  const Caller c = CurrentCaller();
  if (Family(addr) != AF_UNSPEC) {
    TRY(ValidateAddr(addr));
    {
      absl::MutexLock lock(&ns.mu);
      if (ep.passcred && ep.addr.empty()) TRY(AutobindLocked(ep));
    }
    for (;;) {
      std::shared_ptr<Endpoint> other = TRY(FindOther(c, ns, addr, ep.type));
      absl::MutexLock lock(&ns.mu);
      if (other->dead) continue;
      if (other->peer && other->peer != ep_) return Errno(EPERM);
      ep.state = other->state = State::kEstablished;
      SetDgramPeerLocked(ep, std::move(other), garbage);
      return Ok();
    }
  }
  absl::MutexLock lock(&ns.mu);
  SetDgramPeerLocked(ep, nullptr, garbage);
  return Ok();
}

void SetDgramPeerLocked(Endpoint& ep, std::shared_ptr<Endpoint> other,
                        std::deque<Message>& garbage) {
  std::shared_ptr<Endpoint> old = std::move(ep.peer);
  ep.peer = other;
  if (!other) ep.state = State::kClose;
  if (old && old != other) {
    DisconnectedLocked(ep, *old, garbage);
    if (!old->peer) old->state = State::kClose;
  }
  ep.queue.NotifyAll();
}

// unix_dgram_disconnected: `ep` no longer sends to `old`; what it had
// queued is dropped, and `old`, if it was connected back, sees a reset.
void DisconnectedLocked(Endpoint& ep, Endpoint& old, std::deque<Message>& garbage) {
  if (ep.recv.empty()) return;
  for (auto& m : ep.recv) UnchargeLocked(ep, m);
  for (auto& m : ep.recv) garbage.push_back(std::move(m));
  ep.recv.clear();
  if (!old.dead && old.peer.get() == &ep) {
    old.err = ECONNRESET;
    old.queue.NotifyAll();
  }
}

Result<void> UnixSocket::Shutdown(int how) {
  if (how < SHUT_RD || how > SHUT_RDWR) return Errno(EINVAL);
  const int mode = how + 1;  // SHUT_RD -> kRcvShutdown, SHUT_WR -> kSendShutdown
  absl::MutexLock lock(&ep_->ns->mu);
  ep_->shutdown |= mode;
  ep_->queue.NotifyAll();
  ep_->peer_wait.NotifyAll();
  if (ep_->peer && ep_->connection()) {
    int peer_mode = 0;
    if (mode & kRcvShutdown) peer_mode |= kSendShutdown;
    if (mode & kSendShutdown) peer_mode |= kRcvShutdown;
    ep_->peer->shutdown |= peer_mode;
    ep_->peer->queue.NotifyAll();
    ep_->peer->peer_wait.NotifyAll();
  }
  return Ok();
}

// ---- Options

Result<void> UnixSocket::SetOption(int level, int name, std::span<const uint8_t> value) {
  if (level != SOL_SOCKET) return Errno(EOPNOTSUPP);
  if (value.size() < sizeof(int)) return Errno(EINVAL);
  int val;
  memcpy(&val, value.data(), sizeof(val));
  const int on = val != 0;
  const Caller c = CurrentCaller();
  Endpoint& ep = *ep_;
  absl::MutexLock lock(&ep.ns->mu);
  switch (name) {
    case SO_REUSEADDR: ep.reuseaddr = on; return Ok();
    case SO_REUSEPORT:
      if (on) return Errno(EOPNOTSUPP);  // only inet sockets share ports
      return Ok();
    case SO_KEEPALIVE: ep.keepalive = on; return Ok();
    case SO_BROADCAST: ep.broadcast = on; return Ok();
    case SO_DONTROUTE: ep.dontroute = on; return Ok();
    case SO_OOBINLINE: ep.oobinline = on; return Ok();
    case SO_PASSCRED: ep.passcred = on; return Ok();
    case SO_SNDBUF:
    case SO_SNDBUFFORCE:
    case SO_RCVBUF:
    case SO_RCVBUFFORCE: {
      const bool force = name == SO_SNDBUFFORCE || name == SO_RCVBUFFORCE;
      if (force && !HasCap(c, CAP_NET_ADMIN)) return Errno(EPERM);
      // Linux doubles the value (for its bookkeeping overhead) after
      // capping it at the maximum, and keeps a minimum.
      uint32_t v = static_cast<uint32_t>(val);
      if (!force) v = std::min<uint32_t>(v, kMaxBuf);
      v = std::min<uint32_t>(v, INT_MAX / 2);
      const bool snd = name == SO_SNDBUF || name == SO_SNDBUFFORCE;
      const int doubled = std::max<int>(static_cast<int>(v) * 2, snd ? kMinSndBuf : kMinRcvBuf);
      (snd ? ep.sndbuf : ep.rcvbuf) = doubled;
      ep.queue.NotifyAll();
      return Ok();
    }
    case SO_PRIORITY:
      if ((val < 0 || val > 6) && !HasCap(c, CAP_NET_RAW) && !HasCap(c, CAP_NET_ADMIN)) {
        return Errno(EPERM);
      }
      ep.priority = val;
      return Ok();
    case SO_LINGER: {
      if (value.size() < sizeof(linger)) return Errno(EINVAL);
      linger l;
      memcpy(&l, value.data(), sizeof(l));
      ep.linger_onoff = l.l_onoff != 0;
      ep.linger_secs = l.l_linger;
      return Ok();
    }
    case SO_RCVTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
      ep.rcvtimeo = TRY(DecodeTimeout(value));
      return Ok();
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
      ep.sndtimeo = TRY(DecodeTimeout(value));
      return Ok();
    case SO_RCVLOWAT:
      if (val < 0) val = INT_MAX;
      ep.rcvlowat = val ? val : 1;
      return Ok();
    // PARTIAL(SO_PEEK_OFF, SO_TIMESTAMP*, SO_ATTACH_FILTER ...): not
    // implemented; they fail as unknown options do.
    default:
      return Errno(ENOPROTOOPT);
  }
}

Result<std::vector<uint8_t>> UnixSocket::GetOption(int level, int name) {
  if (level != SOL_SOCKET) return Errno(EOPNOTSUPP);
  Endpoint& ep = *ep_;
  absl::MutexLock lock(&ep.ns->mu);
  switch (name) {
    case SO_TYPE: return Bytes(ep.type);
    case SO_DOMAIN: return Bytes(int{AF_UNIX});
    case SO_PROTOCOL: return Bytes(int{0});
    case SO_ACCEPTCONN: return Bytes(int{ep.state == State::kListen});
    case SO_ERROR: return Bytes(std::exchange(ep.err, 0));
    case SO_PASSCRED: return Bytes(int{ep.passcred});
    case SO_PEERCRED: return Bytes(ep.peercred.value_or(Ucred{0, UINT32_MAX, UINT32_MAX}));
    case SO_SNDBUF: return Bytes(ep.sndbuf);
    case SO_RCVBUF: return Bytes(ep.rcvbuf);
    case SO_REUSEADDR: return Bytes(ep.reuseaddr);
    case SO_REUSEPORT: return Bytes(int{0});
    case SO_KEEPALIVE: return Bytes(ep.keepalive);
    case SO_BROADCAST: return Bytes(ep.broadcast);
    case SO_DONTROUTE: return Bytes(ep.dontroute);
    case SO_OOBINLINE: return Bytes(ep.oobinline);
    case SO_PRIORITY: return Bytes(ep.priority);
    case SO_LINGER: return Bytes(linger{ep.linger_onoff, ep.linger_secs});
    case SO_RCVTIMEO_OLD:
    case SO_RCVTIMEO_NEW:
      return EncodeTimeout(ep.rcvtimeo);
    case SO_SNDTIMEO_OLD:
    case SO_SNDTIMEO_NEW:
      return EncodeTimeout(ep.sndtimeo);
    case SO_RCVLOWAT: return Bytes(ep.rcvlowat);
    case SO_SNDLOWAT: return Bytes(int{1});
    case SO_PEEK_OFF: return Bytes(int{-1});
    case SO_PASSSEC: return Bytes(int{0});
    default:
      return Errno(ENOPROTOOPT);
  }
}

// ---- The file

bool UnixSocket::RaisesSigpipe(int flags) const {
  return ep_->type == SOCK_STREAM && !(flags & MSG_NOSIGNAL);
}

bool UnixSocket::EpipeRaisesSigpipe() const { return ep_->type == SOCK_STREAM; }

Result<struct stat> UnixSocket::Stat() {
  struct stat st{};
  st.st_mode = S_IFSOCK | 0777;
  st.st_nlink = 1;
  st.st_ino = ino_;
  st.st_dev = kSockfsDev;
  st.st_uid = uid_;
  st.st_gid = gid_;
  st.st_blksize = 4096;
  st.st_atim = st.st_mtim = st.st_ctim = time_;
  return st;
}

vfs::WaitQueue* UnixSocket::ReadinessQueue() { return &ep_->queue; }

// unix_poll and unix_dgram_poll.
short UnixSocket::Readiness(short events) {
  Endpoint& ep = *ep_;
  absl::MutexLock lock(&ep.ns->mu);
  short mask = 0;
  if (ep.err) mask |= POLLERR;
  if (ep.shutdown == kShutdownMask) mask |= POLLHUP;
  if (ep.shutdown & kRcvShutdown) mask |= POLLRDHUP | POLLIN | POLLRDNORM;
  if (!ep.recv.empty() || !ep.pending.empty()) mask |= POLLIN | POLLRDNORM;
  // A connection-based socket that is neither connected nor listening
  // has hung up (a fresh one too).
  if (ep.connection() && ep.state == State::kClose) mask |= POLLHUP;
  bool writable = ep.state != State::kListen && ep.wmem * 4 <= static_cast<size_t>(ep.sndbuf);
  if (writable && ep.type != SOCK_STREAM && (events & (POLLOUT | POLLWRNORM | POLLWRBAND))) {
    // A datagram socket whose destination is not connected back to it and
    // has a full queue waits for that queue to drain.
    Endpoint* other = ep.peer.get();
    if (other && other->peer.get() != &ep && !other->dead &&
        other->recv.size() > static_cast<size_t>(other->backlog)) {
      AddPeerWakeLocked(*other, ep_);
      writable = false;
    }
  }
  if (writable) mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
  return mask & (events | POLLERR | POLLHUP);
}

Result<uint64_t> UnixSocket::Ioctl(vfs::UserMemory& mem, uint64_t cmd, uint64_t arg) {
  int n = 0;
  {
    Endpoint& ep = *ep_;
    absl::MutexLock lock(&ep.ns->mu);
    switch (cmd) {
      case SIOCINQ:
        if (ep.state == State::kListen) return Errno(EINVAL);
        if (ep.type == SOCK_DGRAM) {
          if (!ep.recv.empty()) n = static_cast<int>(ep.recv.front().data.size());
        } else {
          for (const auto& m : ep.recv) n += static_cast<int>(m.remaining());
        }
        break;
      case SIOCOUTQ:
        n = static_cast<int>(ep.wmem);
        break;
      default:
        return Errno(ENOTTY);
    }
  }
  TRY(mem.CopyOut(arg, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&n), sizeof(n))));
  return 0;
}

}  // namespace husk::socket
