// AF_UNIX sockets (unix(7), net/unix/af_unix.c): SOCK_STREAM, SOCK_DGRAM
// and SOCK_SEQPACKET sockets that live entirely in the sentry. A socket is
// named by a path (a socket inode in the VFS), by an abstract name (a
// leading NUL) or not at all; it passes files (SCM_RIGHTS) and credentials
// (SCM_CREDENTIALS). The syscall layer (sentry/syscalls/socket.cc) decodes
// sockaddrs, msghdrs and control messages and calls the UnixSocket here.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "vfs/file.h"

namespace husk::kernel {
class Task;
}

namespace husk::socket {

class Endpoint;
class UnixNamespace;

// One network namespace's AF_UNIX names (the Kernel owns the sandbox's).
std::shared_ptr<UnixNamespace> NewUnixNamespace();

// sizeof(struct sockaddr_un), and the largest address any socket call
// takes (sizeof(struct sockaddr_storage)).
inline constexpr size_t kSockaddrUnSize = 110;
inline constexpr size_t kSockaddrMax = 128;
// The ids a credential Linux cannot map reports (overflowuid/overflowgid).
inline constexpr uint32_t kOverflowId = 65534;

// struct ucred: SCM_CREDENTIALS and SO_PEERCRED.
struct Ucred {
  int32_t pid = 0;
  uint32_t uid = kOverflowId;
  uint32_t gid = kOverflowId;
};
static_assert(sizeof(Ucred) == 12, "struct ucred is 12 bytes");

// A send's arguments besides the data.
struct SendArgs {
  int flags = 0;                // MSG_*
  std::span<const uint8_t> to;  // sendto's address; empty for none
  std::vector<std::shared_ptr<vfs::FileDescription>> rights;  // SCM_RIGHTS
  std::optional<Ucred> creds;  // SCM_CREDENTIALS, already checked by the caller
};

// What a receive returns besides the bytes it copied.
struct RecvResult {
  size_t length = 0;  // the return value (with MSG_TRUNC, a datagram's full length)
  int flags = 0;      // msg_flags: MSG_TRUNC
  std::string from;   // the sender's address (sockaddr_un bytes); empty if unnamed
  std::optional<Ucred> creds;  // with SO_PASSCRED
  std::vector<std::shared_ptr<vfs::FileDescription>> rights;
};

class UnixSocket final : public vfs::FileDescription {
 public:
  UnixSocket(std::shared_ptr<Endpoint> ep, bool nonblock);
  ~UnixSocket() override;

  int type() const;

  // bind(2): a path (a new socket inode; EADDRINUSE if the name exists),
  // an abstract name, or with only the family an autobound abstract name.
  Result<void> Bind(std::span<const uint8_t> addr);
  // listen(2).
  Result<void> Listen(int backlog);
  // accept4(2): the next connection; `nonblock` is the new socket's
  // O_NONBLOCK. Waits unless this socket is non-blocking.
  Result<std::shared_ptr<UnixSocket>> Accept(bool nonblock);
  // connect(2): a stream or seqpacket socket connects to a listener; a
  // datagram socket sets (AF_UNSPEC: clears) its default destination.
  Result<void> Connect(std::span<const uint8_t> addr);
  // shutdown(2): SHUT_RD, SHUT_WR or SHUT_RDWR.
  Result<void> Shutdown(int how);
  // getsockname(2)/getpeername(2): sockaddr_un bytes.
  std::string SockName();
  Result<std::string> PeerName();
  // sendmsg(2) of `data`: the bytes sent. EPIPE does not raise SIGPIPE
  // here; RaisesSigpipe says whether the caller must.
  Result<size_t> Send(const vfs::IoVecs& data, SendArgs args);
  // recvmsg(2) into `dst` with `flags` (MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL,
  // MSG_TRUNC).
  Result<RecvResult> Recv(const vfs::IoVecs& dst, int flags);
  // Whether an EPIPE from a send with `flags` raises SIGPIPE: stream
  // sockets only, unless MSG_NOSIGNAL.
  bool RaisesSigpipe(int flags) const;
  // setsockopt(2)/getsockopt(2) at SOL_SOCKET; the value getsockopt
  // reports in full (the caller truncates it to the buffer).
  Result<void> SetOption(int level, int name, std::span<const uint8_t> value);
  Result<std::vector<uint8_t>> GetOption(int level, int name);

  // vfs::FileDescription: read/write are recv/send with no flags.
  Result<size_t> Read(const vfs::IoVecs& dst) override;
  Result<size_t> Write(const vfs::IoVecs& src) override;
  Result<struct stat> Stat() override;
  short Readiness(short events) override;
  vfs::WaitQueue* ReadinessQueue() override;
  Result<uint64_t> Ioctl(vfs::UserMemory& mem, uint64_t cmd, uint64_t arg) override;
  bool Mappable() const override { return false; }
  bool EpipeRaisesSigpipe() const override;

  const std::shared_ptr<Endpoint>& endpoint() const { return ep_; }

 private:
  Result<void> ConnectDgram(std::span<const uint8_t> addr);

  const std::shared_ptr<Endpoint> ep_;
  const uint64_t ino_;
  uint32_t uid_ = 0, gid_ = 0;  // the creator's, as sockfs reports them
  timespec time_{};
};

// socket(2) for AF_UNIX: `type` without SOCK_NONBLOCK/SOCK_CLOEXEC
// (ESOCKTNOSUPPORT for a type AF_UNIX lacks), `protocol` 0 or PF_UNIX
// (EPROTONOSUPPORT otherwise).
Result<std::shared_ptr<UnixSocket>> NewUnixSocket(const std::shared_ptr<UnixNamespace>& ns,
                                                  int type, int protocol, bool nonblock);
// socketpair(2) for AF_UNIX: two sockets connected to each other.
Result<std::pair<std::shared_ptr<UnixSocket>, std::shared_ptr<UnixSocket>>> NewUnixSocketPair(
    const std::shared_ptr<UnixNamespace>& ns, int type, int protocol, bool nonblock);

// The socket `file` is, or null (ENOTSOCK).
UnixSocket* AsUnixSocket(vfs::FileDescription* file);

}  // namespace husk::socket
