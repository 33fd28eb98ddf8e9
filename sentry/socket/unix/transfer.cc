// The data path of AF_UNIX sockets: send and receive for stream sockets
// (unix_stream_sendmsg, unix_stream_read_generic: a byte stream, messages
// glued unless their credentials differ or files come with them) and for
// datagram and seqpacket sockets (unix_dgram_sendmsg, unix_dgram_recvmsg:
// one message per send, truncated to the reader's buffer).
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "sentry/socket/unix/endpoint.h"
#include "sentry/socket/unix/names.h"
#include "sentry/socket/unix/unix_socket.h"

namespace husk::socket {
namespace {

// Gathers `n` bytes of `src` from byte `skip` on.
std::vector<uint8_t> Gather(const vfs::IoVecs& src, size_t skip, size_t n) {
  std::vector<uint8_t> out(n);
  size_t done = 0;
  for (const iovec& v : src) {
    if (done == n) break;
    if (skip >= v.iov_len) {
      skip -= v.iov_len;
      continue;
    }
    const size_t k = std::min(v.iov_len - skip, n - done);
    memcpy(out.data() + done, static_cast<const uint8_t*>(v.iov_base) + skip, k);
    done += k;
    skip = 0;
  }
  return out;
}

// Scatters `data` into `dst` from byte `skip` on.
void Scatter(const vfs::IoVecs& dst, size_t skip, std::span<const uint8_t> data) {
  size_t done = 0;
  for (const iovec& v : dst) {
    if (done == data.size()) break;
    if (skip >= v.iov_len) {
      skip -= v.iov_len;
      continue;
    }
    const size_t k = std::min(v.iov_len - skip, data.size() - done);
    memcpy(static_cast<uint8_t*>(v.iov_base) + skip, data.data() + done, k);
    done += k;
    skip = 0;
  }
}

bool SameCreds(const std::optional<Ucred>& a, const std::optional<Ucred>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->pid == b->pid && a->uid == b->uid && a->gid == b->gid);
}

// sock_alloc_send_pskb's wait: until the send buffer has room, failing
// with a pending error (which it clears) or EPIPE once sending is shut down.
Result<void> WaitForRoom(Endpoint& ep, const Deadline& d) {
  for (;;) {
    {
      absl::MutexLock lock(&ep.ns->mu);
      if (ep.err) return Errno(std::exchange(ep.err, 0));
      if (ep.shutdown & kSendShutdown) return Errno(EPIPE);
      if (ep.wmem < static_cast<size_t>(ep.sndbuf)) return Ok();
    }
    TRY(WaitFor(ep, ep.queue, d, [&] {
      return ep.err || (ep.shutdown & kSendShutdown) || ep.wmem < static_cast<size_t>(ep.sndbuf);
    }));
  }
}

// A message of `data` from `sender` (charged once it is queued).
Message NewMessage(std::vector<uint8_t> data, const std::shared_ptr<Endpoint>& sender) {
  Message m;
  m.data = std::move(data);
  m.sender = sender;
  return m;
}

void QueueLocked(Endpoint& to, Endpoint& from, Message m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(to.ns->mu) {
  m.charge = m.data.size() + kMessageOverhead;
  from.wmem += m.charge;
  to.recv.push_back(std::move(m));
  to.queue.NotifyAll();
}

// The credentials a received message reports under SO_PASSCRED: a message
// sent before anyone asked for them has none (Linux's pid 0 and overflow
// ids).
Ucred ReportedCreds(const Message& m) { return m.creds.value_or(Ucred{}); }

Result<size_t> SendStream(const std::shared_ptr<Endpoint>& self, const vfs::IoVecs& data,
                          SendArgs& args) {
  Endpoint& ep = *self;
  // PARTIAL(MSG_OOB): no out-of-band byte (CONFIG_AF_UNIX_OOB).
  if (args.flags & MSG_OOB) return Errno(EOPNOTSUPP);
  const size_t len = vfs::TotalLength(data);
  const Caller c = CurrentCaller();
  std::optional<timespec> timeo;
  {
    absl::MutexLock lock(&ep.ns->mu);
    if (!args.to.empty()) return Errno(ep.state == State::kEstablished ? EISCONN : EOPNOTSUPP);
    if (!ep.peer) return Errno(ENOTCONN);
    if (ep.shutdown & kSendShutdown) return Errno(EPIPE);
    timeo = ep.sndtimeo;
  }
  const Deadline d = MakeDeadline(args.flags & MSG_DONTWAIT, timeo);
  size_t sent = 0;
  bool rights_sent = false;
  while (sent < len) {
    auto room = WaitForRoom(ep, d);
    if (!room) {
      if (sent) return sent;
      return room.error();
    }
    size_t size;
    {
      absl::MutexLock lock(&ep.ns->mu);
      size = std::min<size_t>(len - sent, std::min<size_t>(ep.sndbuf / 2 - 64, kStreamChunk));
    }
    Message m = NewMessage(Gather(data, sent, size), self);
    // Files go with the first piece only.
    if (!rights_sent) m.rights = std::move(args.rights);
    rights_sent = true;
    m.creds = args.creds;
    std::deque<Message> garbage;
    absl::MutexLock lock(&ep.ns->mu);
    std::shared_ptr<Endpoint> peer = ep.peer;
    if (!peer || peer->dead || (peer->shutdown & kRcvShutdown)) {
      garbage.push_back(std::move(m));
      if (sent) return sent;
      return Errno(EPIPE);
    }
    if (!m.creds && (ep.passcred || peer->passcred)) m.creds = c.scm;
    QueueLocked(*peer, ep, std::move(m));
    sent += size;
  }
  return sent;
}

// unix_dgram_sendmsg, which seqpacket sockets share.
Result<size_t> SendDgram(const std::shared_ptr<Endpoint>& self, const vfs::IoVecs& data,
                         SendArgs& args) {
  Endpoint& ep = *self;
  UnixNamespace& ns = *ep.ns;
  if (ep.type == SOCK_SEQPACKET) {
    absl::MutexLock lock(&ns.mu);
    if (ep.err) return Errno(std::exchange(ep.err, 0));
    if (ep.state != State::kEstablished) return Errno(ENOTCONN);
    args.to = {};  // a seqpacket socket sends to its peer whatever the address
  }
  if (args.flags & MSG_OOB) return Errno(EOPNOTSUPP);
  if (!args.to.empty()) TRY(ValidateAddr(args.to));
  const Caller c = CurrentCaller();
  const size_t len = vfs::TotalLength(data);
  std::optional<timespec> timeo;
  {
    absl::MutexLock lock(&ns.mu);
    if (ep.passcred && ep.addr.empty()) TRY(AutobindLocked(ep));
    if (len + 32 > static_cast<size_t>(ep.sndbuf)) return Errno(EMSGSIZE);
    timeo = ep.sndtimeo;
  }
  const Deadline d = MakeDeadline(args.flags & MSG_DONTWAIT, timeo);
  TRY(WaitForRoom(ep, d));
  Message m = NewMessage(Gather(data, 0, len), self);
  m.rights = std::move(args.rights);
  m.creds = args.creds;
  std::deque<Message> garbage;  // dropped after the lock
  garbage.push_back(std::move(m));
  std::shared_ptr<Endpoint> other;
  bool lookup = true;
  for (;;) {
    if (lookup) {
      if (!args.to.empty()) {
        other = TRY(FindOther(c, ns, args.to, ep.type));
      } else {
        absl::MutexLock lock(&ns.mu);
        other = ep.peer;
        if (!other) return Errno(ENOTCONN);
      }
      lookup = false;
    }
    {
      absl::MutexLock lock(&ns.mu);
      if (other->peer && other->peer != self) return Errno(EPERM);  // connected elsewhere
      if (other->dead) {
        if (ep.type == SOCK_SEQPACKET) return Errno(EPIPE);
        if (ep.peer == other) {
          // The destination is gone: the socket is no longer connected.
          ep.peer = nullptr;
          ep.state = State::kClose;
          DisconnectedLocked(ep, *other, garbage);
          return Errno(ECONNREFUSED);
        }
        if (args.to.empty()) return Errno(ECONNRESET);
        lookup = true;  // the name may have a new owner
        continue;
      }
      if (other->shutdown & kRcvShutdown) return Errno(EPIPE);
      const bool full = other.get() != &ep && other->peer != self &&
                        other->recv.size() > static_cast<size_t>(other->backlog);
      if (!full) {
        Message& msg = garbage.front();
        if (!msg.creds && (ep.passcred || other->passcred)) msg.creds = c.scm;
        QueueLocked(*other, ep, std::move(msg));
        garbage.pop_front();
        return len;
      }
      if (d.nonblock) {
        // POLLOUT comes back once the receiver drains its queue.
        AddPeerWakeLocked(*other, self);
        return Errno(EAGAIN);
      }
    }
    Endpoint& o = *other;
    TRY(WaitFor(o, o.peer_wait, d, [&] {
      return o.dead || (o.shutdown & kRcvShutdown) ||
             o.recv.size() <= static_cast<size_t>(o.backlog);
    }));
  }
}

Result<RecvResult> RecvStream(Endpoint& ep, const vfs::IoVecs& dst, int flags, bool nonblock) {
  std::optional<timespec> timeo;
  int lowat;
  {
    absl::MutexLock lock(&ep.ns->mu);
    if (ep.state != State::kEstablished) return Errno(EINVAL);
    timeo = ep.rcvtimeo;
    lowat = ep.rcvlowat;
  }
  // PARTIAL(MSG_OOB): no out-of-band byte is ever pending.
  if (flags & MSG_OOB) return Errno(EINVAL);
  const bool peek = flags & MSG_PEEK;
  size_t size = vfs::TotalLength(dst);
  const size_t target = (flags & MSG_WAITALL) ? size : std::min<size_t>(lowat, size);
  const Deadline d = MakeDeadline(nonblock || (flags & MSG_DONTWAIT), timeo);
  RecvResult res;
  std::deque<Message> garbage;  // consumed messages, dropped after the lock
  size_t copied = 0;
  bool check_creds = false;
  std::optional<Ucred> creds;
  for (;;) {
    bool wait = false;
    std::optional<Errno> err;
    {
      absl::MutexLock lock(&ep.ns->mu);
      size_t idx = 0;
      for (;;) {
        if (idx >= ep.recv.size()) {
          if (copied >= target) break;
          if (ep.err) {
            err = Errno(std::exchange(ep.err, 0));
            break;
          }
          if (ep.shutdown & kRcvShutdown) break;
          if (d.nonblock) {
            err = Errno(EAGAIN);
            break;
          }
          wait = true;
          break;
        }
        Message& m = ep.recv[idx];
        // Never glue bytes of writers with different credentials.
        if (check_creds) {
          if (!SameCreds(m.creds, creds)) break;
        } else if (ep.passcred) {
          creds = m.creds;
          res.creds = ReportedCreds(m);
          check_creds = true;
        }
        res.from = m.sender ? m.sender->addr : std::string();
        const size_t chunk = std::min(m.remaining(), size);
        Scatter(dst, copied, std::span<const uint8_t>(m.data).subspan(m.consumed, chunk));
        copied += chunk;
        size -= chunk;
        if (!peek) {
          m.consumed += chunk;
          if (!m.rights.empty()) res.rights = std::move(m.rights);
          if (m.remaining()) break;
          UnchargeLocked(ep, m);
          garbage.push_back(std::move(m));
          ep.recv.pop_front();
          if (!res.rights.empty()) break;  // a read ends with the write that carried files
        } else {
          if (!m.rights.empty()) {
            res.rights = m.rights;
            break;
          }
          if (++idx >= ep.recv.size()) break;  // a peek never waits for more
        }
        if (size == 0) break;
      }
    }
    if (!wait) {
      if (copied == 0 && err) return *err;
      break;
    }
    auto r = WaitFor(ep, ep.queue, d, [&] {
      return !ep.recv.empty() || ep.err || (ep.shutdown & kRcvShutdown) || ep.dead;
    });
    if (!r) {
      if (copied) break;
      return r.error();
    }
  }
  res.length = copied;
  return res;
}

Result<RecvResult> RecvDgram(Endpoint& ep, const vfs::IoVecs& dst, int flags, bool nonblock) {
  std::optional<timespec> timeo;
  {
    absl::MutexLock lock(&ep.ns->mu);
    if (ep.type == SOCK_SEQPACKET && ep.state != State::kEstablished) return Errno(ENOTCONN);
    timeo = ep.rcvtimeo;
  }
  if (flags & MSG_OOB) return Errno(EOPNOTSUPP);
  const Deadline d = MakeDeadline(nonblock || (flags & MSG_DONTWAIT), timeo);
  RecvResult res;
  std::deque<Message> garbage;
  for (;;) {
    {
      absl::MutexLock lock(&ep.ns->mu);
      if (ep.err) return Errno(std::exchange(ep.err, 0));
      if (!ep.recv.empty()) {
        Message& m = ep.recv.front();
        const size_t size = vfs::TotalLength(dst);
        const size_t n = std::min(size, m.data.size());
        if (size < m.data.size()) res.flags |= MSG_TRUNC;
        Scatter(dst, 0, std::span<const uint8_t>(m.data).first(n));
        res.length = (flags & MSG_TRUNC) ? m.data.size() : n;
        res.from = m.sender ? m.sender->addr : std::string();
        if (ep.passcred) res.creds = ReportedCreds(m);
        if (flags & MSG_PEEK) {
          res.rights = m.rights;  // a peek passes copies of the files
        } else {
          res.rights = std::move(m.rights);
          UnchargeLocked(ep, m);
          garbage.push_back(std::move(m));
          ep.recv.pop_front();
        }
        return res;
      }
      // A seqpacket socket whose peer is gone reads end-of-file even when
      // it would not wait; a datagram socket only when it would.
      if (d.nonblock) {
        if (ep.type == SOCK_SEQPACKET && (ep.shutdown & kRcvShutdown)) return res;
        return Errno(EAGAIN);
      }
      if (ep.shutdown & kRcvShutdown) return res;
      if (ep.type == SOCK_SEQPACKET && ep.state != State::kEstablished) return Errno(ENOTCONN);
    }
    TRY(WaitFor(ep, ep.queue, d, [&] {
      return !ep.recv.empty() || ep.err || (ep.shutdown & kRcvShutdown) || ep.dead;
    }));
  }
}

}  // namespace

Result<size_t> UnixSocket::Send(const vfs::IoVecs& data, SendArgs args) {
  if (flags() & O_NONBLOCK) args.flags |= MSG_DONTWAIT;
  if (ep_->type == SOCK_STREAM) return SendStream(ep_, data, args);
  return SendDgram(ep_, data, args);
}

Result<RecvResult> UnixSocket::Recv(const vfs::IoVecs& dst, int flags) {
  const bool nonblock = (this->flags() & O_NONBLOCK) != 0;
  if (ep_->type == SOCK_STREAM) return RecvStream(*ep_, dst, flags, nonblock);
  return RecvDgram(*ep_, dst, flags, nonblock);
}

Result<size_t> UnixSocket::Read(const vfs::IoVecs& dst) {
  RecvResult r = TRY(Recv(dst, 0));
  return r.length;
}

Result<size_t> UnixSocket::Write(const vfs::IoVecs& src) { return Send(src, SendArgs{}); }

}  // namespace husk::socket
