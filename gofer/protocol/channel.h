// Sending and receiving one SOCK_SEQPACKET packet, optionally carrying host
// fds (SCM_RIGHTS). Shared by the Client and the gofer's Server.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/scoped_fd.h"

namespace husk::gofer {

// At most this many fds are accepted with one packet; extra ones are closed
// by the kernel (MSG_CTRUNC) and reported as truncation.
inline constexpr size_t kMaxPacketFds = 4;

// Sends `parts` as one packet, with `fd` attached when it is >= 0. Never
// raises SIGPIPE: a closed peer is EPIPE.
Result<void> SendPacket(int sock, std::span<const iovec> parts, int fd = -1);

struct ReceivedPacket {
  size_t size = 0;         // bytes stored in the buffer; 0 means the peer closed
  bool truncated = false;  // the packet or its fds did not fit
  std::vector<ScopedFd> fds;  // close-on-exec
};

// A message buffer left uninitialized, so that only the pages messages
// actually fill are ever touched (zeroing 64 KiB up front costs 16 page
// faults of every start-up).
class PacketBuffer {
 public:
  explicit PacketBuffer(size_t size)
      : bytes_(std::make_unique_for_overwrite<std::byte[]>(size)), size_(size) {}
  std::byte* data() { return bytes_.get(); }
  std::span<std::byte> span() { return {bytes_.get(), size_}; }

 private:
  std::unique_ptr<std::byte[]> bytes_;
  size_t size_;
};

// Waits for one packet and stores it in `buf`; retries EINTR.
Result<ReceivedPacket> ReceivePacket(int sock, std::span<std::byte> buf);

}  // namespace husk::gofer
