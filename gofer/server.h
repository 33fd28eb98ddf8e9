// Server: the gofer's request loop and the file operations behind it.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/scoped_fd.h"
#include "gofer/protocol/channel.h"
#include "gofer/protocol/messages.h"
#include "gofer/protocol/wire.h"

namespace husk::gofer {

// One exported host directory tree.
struct ServedExport {
  std::shared_ptr<const ScopedFd> root;  // O_PATH|O_DIRECTORY
  bool writable = false;
};

// Serves one sentry over a SOCK_SEQPACKET socket, one request at a time.
//
// Confinement: a fid only ever comes from an export root or from a walk of
// ONE component (never "", ".", "..", or a name with '/') from another fid,
// opened with O_PATH|O_NOFOLLOW. A symlink is therefore held as the link
// itself and is never traversed, so no fid can name anything outside its
// export. Files are reopened relative to fds we hold, never by host path
// and never through /proc.
class Server {
 public:
  Server(ScopedFd sock, std::vector<ServedExport> exports);

  // Answers requests until the sentry closes its end. Returns the process
  // exit status: 0 when the peer closed, 1 on a socket error.
  int Serve();

 private:
  // What a walk produced; the fid's whole state.
  struct Node {
    std::shared_ptr<const ScopedFd> fd;      // O_PATH|O_NOFOLLOW: the file itself
    std::shared_ptr<const ScopedFd> parent;  // the directory it was walked from
    std::string name;                        // its name there; "." for an export root
    uint32_t export_index;
    // Identity at walk time, so Open notices a file replaced on the host.
    dev_t dev;
    ino_t ino;
    mode_t type;  // S_IFMT bits
  };

  // A successful reply: body after the ResponseHeader, and maybe a host fd.
  struct Response {
    WireWriter body;
    ScopedFd fd;
  };
  template <class Body>
  static Response With(const Body& body) {
    Response response;
    response.body.Write(body);
    return response;
  }

  // Parses one request packet, runs it and sends the reply.
  Result<void> HandlePacket(std::span<const std::byte> packet, bool truncated);
  Result<Response> Dispatch(MessageType type, WireReader& in);
  Result<void> SendReply(const RequestHeader& request, const Result<Response>& response);

  Result<Response> Attach(WireReader& in);
  Result<Response> Walk(WireReader& in);
  Result<Response> GetAttr(WireReader& in);
  Result<Response> Open(WireReader& in);
  Result<Response> ReadDir(WireReader& in);
  Result<Response> ReadLink(WireReader& in);
  Result<Response> StatFs(WireReader& in);
  Result<Response> Clunk(WireReader& in);

  Result<ScopedFd> Reopen(const Node& node, int flags);
  std::optional<Errno> OpenRefusal(const Node& node, int flags) const;
  Result<Response> ReadDirPage(int dir_fd, uint64_t cookie);

  Result<const Node*> Lookup(Fid fid) const;
  // Registers a node; ENFILE once kMaxFids are live.
  Result<Fid> AddFid(Node node);

  ScopedFd sock_;
  std::vector<ServedExport> exports_;
  std::unordered_map<Fid, Node> fids_;
  Fid next_fid_ = 1;
  PacketBuffer packet_buf_;  // one request
  PacketBuffer dirent_buf_;  // getdents64 output (operator new aligns it)
};

// Bound on live fids, so a runaway sentry cannot make the gofer grow without
// limit (each fid also holds a host fd, bounded by RLIMIT_NOFILE).
inline constexpr size_t kMaxFids = 1 << 20;

}  // namespace husk::gofer
