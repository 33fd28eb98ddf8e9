// Sending and receiving one packet on a SOCK_SEQPACKET or SOCK_DGRAM
// socket, optionally carrying host fds (SCM_RIGHTS). The gofer protocol
// and the platform's fd donor both use it.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/scoped_fd.h"

namespace husk {

// At most this many fds are accepted with one packet; extra ones are closed
// by the kernel (MSG_CTRUNC) and reported as truncation.
inline constexpr size_t kMaxPacketFds = 4;

// Sends `parts` as one packet, with `fd` attached when it is >= 0; `flags`
// are added to MSG_NOSIGNAL (a closed peer is EPIPE, never SIGPIPE).
// Retries EINTR.
Result<void> SendPacket(int sock, std::span<const iovec> parts, int fd = -1, int flags = 0);

struct ReceivedPacket {
  size_t size = 0;         // bytes stored in the buffer; 0 means the peer closed
  bool truncated = false;  // the packet or its fds did not fit
  std::vector<ScopedFd> fds;  // close-on-exec
};

// Waits for one packet (unless `flags` has MSG_DONTWAIT) and stores it in
// `buf`; retries EINTR.
Result<ReceivedPacket> ReceivePacket(int sock, std::span<std::byte> buf, int flags = 0);

}  // namespace husk
