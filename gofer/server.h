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
// and never through /proc. Writes (server_write.cc) follow the same rule:
// each acts on ONE component in a directory fid's fd, with the *at call
// that does not follow a final symlink (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, or
// the call never follows one: mkdirat, unlinkat, renameat2, symlinkat,
// linkat without AT_SYMLINK_FOLLOW), or on a fid's own O_PATH fd with
// AT_EMPTY_PATH, and only on a writable export (EROFS otherwise).
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
    // The parent directory's identity, so a Rename can find the fids it
    // moves (each walk of a directory has an fd of its own).
    dev_t parent_dev;
    ino_t parent_ino;
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
  // server_write.cc
  Result<Response> Create(WireReader& in);
  Result<Response> MkDir(WireReader& in);
  Result<Response> MkNod(WireReader& in);
  Result<Response> SymLink(WireReader& in);
  Result<Response> Link(WireReader& in);
  Result<Response> Unlink(WireReader& in);
  Result<Response> Rename(WireReader& in);
  Result<Response> SetAttr(WireReader& in);
  Result<Response> GetXattr(WireReader& in);
  Result<Response> SetXattr(WireReader& in);
  Result<Response> ListXattr(WireReader& in);
  Result<Response> RemoveXattr(WireReader& in);

  // A new fid for `name` in `dir` (a walk); its attributes in `*st`, and a
  // symlink's target in `*target` when that is given.
  Result<Fid> WalkFrom(const Node& dir, std::string name, struct stat* st,
                       std::string* target = nullptr);
  // `fid` as a directory of a writable export that names may be added to
  // or removed from: ENOTDIR, EROFS.
  Result<const Node*> WritableDir(Fid fid) const;
  // Walks to the file just made as `name` in `dir` and gives it the owner
  // the sentry asked for, where the host lets the gofer (server_write.cc).
  Result<Response> WalkToNew(const Node& dir, std::string name, uint32_t uid, uint32_t gid,
                             const struct stat* made = nullptr);
  // chmod(2) of the file `node` holds.
  Result<void> ChmodNode(const Node& node, mode_t mode);
  // After a rename, fids of the names it moved follow them.
  void Renamed(const Node& old_dir, const std::string& old_name, const Node& new_dir,
               const std::string& new_name, bool exchange);
  // An fd of a regular file or directory to read or change its extended
  // attributes with (O_PATH fds cannot).
  Result<ScopedFd> XattrFd(const Node& node);

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
