// The inside of an AF_UNIX socket (Linux's struct unix_sock): the endpoint
// a socket file drives, the messages queued on it, and the namespace of
// names (abstract names and bound socket inodes) that connect and sendto
// look up. Only sentry/socket/unix includes this.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <absl/functional/function_ref.h>
#include <absl/synchronization/mutex.h>

#include "sentry/socket/unix/unix_socket.h"
#include "vfs/wait.h"

namespace husk::socket {

// sk_shutdown's bits.
inline constexpr int kRcvShutdown = 1;
inline constexpr int kSendShutdown = 2;
inline constexpr int kShutdownMask = 3;

// Linux's defaults (net.core.wmem_default/rmem_default, wmem_max/rmem_max,
// SOCK_MIN_SNDBUF/SOCK_MIN_RCVBUF on x86-64, net.unix.max_dgram_qlen and
// net.core.somaxconn). The sandbox does not take the host's sysctls.
inline constexpr int kDefaultBuf = 212992;
inline constexpr int kMaxBuf = 212992;
inline constexpr int kMinSndBuf = 4608;
inline constexpr int kMinRcvBuf = 2304;
inline constexpr int kMaxDgramQlen = 10;
inline constexpr int kSomaxconn = 4096;
// What a queued message costs its sender's send buffer beyond its bytes:
// Linux charges an skb's truesize, which for a small message is about this
// (212992 / 768 = 277: a socketpair takes 278 one-byte messages, as on
// Linux).
inline constexpr size_t kMessageOverhead = 768;
// The most one stream write puts in one message (Linux's skb of a head
// page and 32 KiB of fragments): a long write goes in pieces, each charged
// as it is queued.
inline constexpr size_t kStreamChunk = 36544;

class Endpoint;

// One queued message (an skb): a datagram, or a piece of a stream write.
struct Message {
  std::vector<uint8_t> data;
  size_t consumed = 0;  // stream: bytes already read
  // Who sent it: whose send buffer it is charged to, and whose name
  // recvfrom reports.
  std::shared_ptr<Endpoint> sender;
  size_t charge = 0;
  std::vector<std::shared_ptr<vfs::FileDescription>> rights;  // SCM_RIGHTS
  std::optional<Ucred> creds;                                 // SCM_CREDENTIALS

  size_t remaining() const { return data.size() - consumed; }
};

// The names of one network namespace, and the one lock every endpoint in
// it is guarded by. A single lock keeps two-socket operations (connect,
// send, shutdown, close) free of lock-order questions; no operation blocks
// or copies more than one message under it.
class UnixNamespace {
 public:
  absl::Mutex mu;
  // Abstract names, by socket type and the name's bytes (Linux hashes the
  // type in, so each type has its own abstract namespace).
  std::map<std::pair<int, std::string>, std::weak_ptr<Endpoint>> abstract ABSL_GUARDED_BY(mu);
  // Bound filesystem sockets, by the socket inode's (st_dev, st_ino).
  std::map<std::pair<uint64_t, uint64_t>, std::weak_ptr<Endpoint>> inodes ABSL_GUARDED_BY(mu);
};

enum class State { kClose, kListen, kEstablished };

// The socket itself (Linux's struct sock and unix_sock). Its file holds it
// while open; a peer, a listener's accept queue and queued messages hold it
// too, so it lives on (dead) until they let go.
class Endpoint : public std::enable_shared_from_this<Endpoint> {
 public:
  Endpoint(std::shared_ptr<UnixNamespace> ns, int type) : ns(std::move(ns)), type(type) {}

  const std::shared_ptr<UnixNamespace> ns;
  const int type;  // SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET
  // The socket's own wait queue (sk_wq): notified when what its readers,
  // writers, acceptors and pollers wait for changes (data or a connection
  // arrived, room in its send buffer, a shutdown, an error).
  vfs::WaitQueue queue;
  // Notified when room appears in its receive queue or accept backlog, or
  // it goes away (Linux's peer_wait): what datagram senders and connectors
  // blocked on it wait for.
  vfs::WaitQueue peer_wait;

  // --- Guarded by ns->mu.
  State state = State::kClose;
  int shutdown = 0;
  bool dead = false;  // its file was closed (SOCK_DEAD)
  std::shared_ptr<Endpoint> peer;
  // The bound name as sockaddr_un bytes (family and path), empty if none.
  std::string addr;
  std::optional<std::pair<uint64_t, uint64_t>> inode;  // bound to a socket inode
  int err = 0;  // sk_err: reported, and cleared, by the next call that checks
  std::deque<Message> recv;
  std::deque<std::shared_ptr<Endpoint>> pending;  // a listener's unaccepted connections
  int backlog = kMaxDgramQlen;  // sk_max_ack_backlog
  size_t wmem = 0;              // what this endpoint's queued messages are charged
  int sndbuf = kDefaultBuf;
  int rcvbuf = kDefaultBuf;
  bool passcred = false;
  std::optional<Ucred> peercred;  // SO_PEERCRED
  // SO_RCVTIMEO/SO_SNDTIMEO: nullopt waits forever, zero not at all.
  std::optional<timespec> rcvtimeo;
  std::optional<timespec> sndtimeo;
  int rcvlowat = 1;
  // Options kept only to be read back.
  int reuseaddr = 0, keepalive = 0, broadcast = 0, dontroute = 0, oobinline = 0, priority = 0;
  int linger_onoff = 0, linger_secs = 0;
  // Datagram senders whose POLLOUT waits for this endpoint's receive queue
  // to drain (Linux's peer_wake relay).
  std::vector<std::weak_ptr<Endpoint>> peer_wake;

  // Stream and seqpacket sockets connect; datagram sockets do not.
  bool connection() const { return type != SOCK_DGRAM; }
};

// The caller of a socket operation: the task making the syscall, for name
// lookups, bind's mknod and the credentials a message carries.
struct Caller {
  kernel::Task* task = nullptr;  // null outside a task: no filesystem names
  Ucred scm;                     // pid, real uid and gid (SCM_CREDENTIALS)
  Ucred peer;                    // pid, effective uid and gid (SO_PEERCRED)
};
Caller CurrentCaller();

// A message leaves `owner`'s receive queue: its sender's buffer has room
// again (its writers and POLLOUT wake when that crosses their threshold),
// and datagram senders waiting for room in `owner`'s queue wake.
void UnchargeLocked(Endpoint& owner, Message& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(owner.ns->mu);

// Asks `other` to wake `self` (a datagram sender whose POLLOUT or send
// waits for room in `other`'s receive queue) once a message leaves it.
void AddPeerWakeLocked(Endpoint& other, const std::shared_ptr<Endpoint>& self)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(other.ns->mu);

// unix_release_sock: `ep`'s file was closed or, `embryo`, a connection
// nobody accepted goes with its listener.
void Release(const std::shared_ptr<Endpoint>& ep, bool embryo);
// A datagram socket's default destination becomes `other` (null: none).
// Messages the old destination had sent go to `garbage`, which the caller
// drops once the lock is released (they may hold files).
void SetDgramPeerLocked(Endpoint& ep, std::shared_ptr<Endpoint> other, std::deque<Message>& garbage)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(ep.ns->mu);
void DisconnectedLocked(Endpoint& ep, Endpoint& old, std::deque<Message>& garbage)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(ep.ns->mu);

// How long a blocking socket call may wait (SO_RCVTIMEO, SO_SNDTIMEO,
// O_NONBLOCK, MSG_DONTWAIT).
struct Deadline {
  bool nonblock = false;              // not at all: EAGAIN
  std::optional<timespec> deadline;   // CLOCK_MONOTONIC; none: forever
  bool timed = false;                 // a timeout is set: a signal is EINTR, never a restart
};
Deadline MakeDeadline(bool nonblock, const std::optional<timespec>& timeout);
// Waits on `q` (`ep`'s queue or peer_wait) until `ready()` (called with
// the namespace lock held). EAGAIN if `d` does not wait or runs out;
// ERESTARTSYS, or EINTR with a timeout (sock_intr_errno), if a signal
// comes first.
Result<void> WaitFor(Endpoint& ep, vfs::WaitQueue& q, const Deadline& d,
                     absl::FunctionRef<bool()> ready);

}  // namespace husk::socket
