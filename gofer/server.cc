#include "gofer/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <optional>

#include "base/log.h"
#include "gofer/protocol/channel.h"
#include "gofer/server_util.h"

namespace husk::gofer {
namespace {

// The largest getdents64 record: header (19 bytes), NAME_MAX bytes and a NUL,
// rounded up to 8.
constexpr size_t kMaxDirentRecord = (19 + NAME_MAX + 1 + 7) & ~size_t{7};

// Room for directory entries in one ReadDir reply.
constexpr size_t kReadDirBudget =
    kMaxMessage - sizeof(ResponseHeader) - sizeof(ReadDirResponse);

// The fixed part of a getdents64 record (struct linux_dirent64).
struct Dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  uint16_t d_reclen;
  uint8_t d_type;
  char d_name[];
};

bool PeerClosed(int sock) {
  pollfd p = {sock, POLLIN, 0};
  return ::poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLERR)) != 0;
}

bool WantsWrite(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC); }

}  // namespace

Server::Server(ScopedFd sock, std::vector<ServedExport> exports)
    : sock_(std::move(sock)),
      exports_(std::move(exports)),
      packet_buf_(kMaxMessage),
      dirent_buf_(kReadDirBudget) {}

int Server::Serve() {
  for (;;) {
    Result<ReceivedPacket> packet = ReceivePacket(sock_.get(), packet_buf_.span());
    if (!packet) {
      HUSK_ERROR("gofer: recvmsg: {}", ErrnoName(packet.error().value()));
      return 1;
    }
    // SOCK_SEQPACKET reads 0 bytes both at EOF and for an empty packet;
    // only the hangup tells them apart.
    if (packet->size == 0 && PeerClosed(sock_.get())) return 0;
    // Fds sent to the gofer are never used; packet->fds closes them.
    Result<void> sent = HandlePacket(packet_buf_.span().first(packet->size), packet->truncated);
    if (!sent) {
      int err = sent.error().value();
      if (err == EPIPE || err == ECONNRESET) return 0;
      HUSK_ERROR("gofer: sendmsg: {}", ErrnoName(err));
      return 1;
    }
  }
}

Result<void> Server::HandlePacket(std::span<const std::byte> packet, bool truncated) {
  WireReader in(packet);
  RequestHeader header = {};
  Result<Response> response = Errno(EINVAL);
  // A malformed packet still gets an answer (with whatever tag could be
  // read), so the client sees EINVAL or a mismatch instead of hanging.
  if (in.Read(&header) && !truncated && header.len == packet.size()) {
    response = Dispatch(static_cast<MessageType>(header.type), in);
  }
  return SendReply(header, response);
}

Result<Server::Response> Server::Dispatch(MessageType type, WireReader& in) {
  switch (type) {
    case MessageType::kAttach: return Attach(in);
    case MessageType::kWalk: return Walk(in);
    case MessageType::kGetAttr: return GetAttr(in);
    case MessageType::kOpen: return Open(in);
    case MessageType::kReadDir: return ReadDir(in);
    case MessageType::kReadLink: return ReadLink(in);
    case MessageType::kStatFs: return StatFs(in);
    case MessageType::kClunk: return Clunk(in);
    case MessageType::kCreate: return Create(in);
    case MessageType::kMkDir: return MkDir(in);
    case MessageType::kMkNod: return MkNod(in);
    case MessageType::kSymLink: return SymLink(in);
    case MessageType::kLink: return Link(in);
    case MessageType::kUnlink: return Unlink(in);
    case MessageType::kRename: return Rename(in);
    case MessageType::kSetAttr: return SetAttr(in);
    case MessageType::kGetXattr: return GetXattr(in);
    case MessageType::kSetXattr: return SetXattr(in);
    case MessageType::kListXattr: return ListXattr(in);
    case MessageType::kRemoveXattr: return RemoveXattr(in);
  }
  return Errno(EINVAL);
}

Result<void> Server::SendReply(const RequestHeader& request, const Result<Response>& response) {
  ResponseHeader header = {request.type, sizeof(ResponseHeader), request.tag, 0, 0};
  std::span<const std::byte> body;
  int fd = -1;
  if (response) {
    body = response->body.bytes();
    fd = response->fd.get();
    header.len += static_cast<uint32_t>(body.size());
  } else {
    header.error = response.error().value();
  }
  const iovec parts[] = {
      {&header, sizeof(header)},
      {const_cast<std::byte*>(body.data()), body.size()},
  };
  return SendPacket(sock_.get(), parts, fd);
}

Result<Server::Response> Server::Attach(WireReader& in) {
  AttachRequest req = TRY(ReadBody<AttachRequest>(in));
  if (req.export_index >= exports_.size()) return Errno(ENOENT);
  const ServedExport& exp = exports_[req.export_index];
  struct stat st = TRY(StatFd(exp.root->get()));
  // The root is its own parent: Reopen uses openat(root, ".").
  Fid fid = TRY(AddFid(Node{exp.root, exp.root, ".", req.export_index, st.st_dev, st.st_ino,
                            st.st_mode & S_IFMT, st.st_dev, st.st_ino}));
  return With(WalkResponse{fid, ToWire(st)});
}

Result<Server::Response> Server::Walk(WireReader& in) {
  WalkRequest req = TRY(ReadBody<WalkRequest>(in, /*tail_allowed=*/true));
  std::string name(in.TakeRest());
  // The confinement rule (see Server): exactly one real component.
  if (!IsValidComponent(name)) return Errno(EINVAL);
  const Node* dir = TRY(Lookup(req.dir));
  struct stat st;
  std::string target;
  Fid fid = TRY(WalkFrom(*dir, std::move(name), &st, &target));
  Response response = With(WalkResponse{fid, ToWire(st)});
  response.body.WriteBytes(target);
  return response;
}

Result<Fid> Server::WalkFrom(const Node& dir, std::string name, struct stat* st_out,
                             std::string* target) {
  if (fids_.size() >= kMaxFids) return Errno(ENFILE);  // before opening anything
  // O_PATH: no I/O access, and no open side effects on devices or FIFOs.
  // O_NOFOLLOW: a symlink is held as the link itself. A non-directory `dir`
  // (including a symlink) fails here with ENOTDIR.
  ScopedFd fd = TRY(OpenAt(dir.fd->get(), name.c_str(), O_PATH));
  struct stat st = TRY(StatFd(fd.get()));
  // A symlink's target comes with the walk: path walks follow most links
  // they meet, and this spares them a ReadLink round trip.
  if (S_ISLNK(st.st_mode) && target != nullptr) {
    *target = ReadLinkFd(fd.get()).value_or("");
    st = TRY(StatFd(fd.get()));  // reading the link may have set its atime
  }
  Node node{std::make_shared<const ScopedFd>(std::move(fd)), dir.fd, std::move(name),
            dir.export_index, st.st_dev, st.st_ino, st.st_mode & S_IFMT, dir.dev, dir.ino};
  *st_out = st;
  return AddFid(std::move(node));
}

Result<Server::Response> Server::GetAttr(WireReader& in) {
  FidRequest req = TRY(ReadBody<FidRequest>(in));
  const Node* node = TRY(Lookup(req.fid));
  struct stat st = TRY(StatFd(node->fd->get()));
  return With(ToWire(st));
}

Result<Server::Response> Server::Open(WireReader& in) {
  OpenRequest req = TRY(ReadBody<OpenRequest>(in));
  const Node* node = TRY(Lookup(req.fid));
  int flags = static_cast<int>(req.flags);
  if (std::optional<Errno> refused = OpenRefusal(*node, flags)) return *refused;
  Response response;
  response.fd = TRY(Reopen(*node, flags));
  return response;
}

// Why an open is refused, for what the host cannot decide: the protocol's
// flag set, read-only exports, and which file types are served. The order
// follows Linux's do_open(): ENOTDIR, then ELOOP for a symlink, then EROFS.
std::optional<Errno> Server::OpenRefusal(const Node& node, int flags) const {
  if ((flags & ~kAllowedOpenFlags) != 0 || (flags & O_ACCMODE) == O_ACCMODE) {
    return Errno(EINVAL);
  }
  if ((flags & O_DIRECTORY) && node.type != S_IFDIR) return Errno(ENOTDIR);
  if (node.type == S_IFLNK) return Errno(ELOOP);
  // PARTIAL(gofer-special-files): host FIFOs, sockets and device nodes are
  // not served; opening one would block the gofer or reach host devices.
  if (node.type != S_IFREG && node.type != S_IFDIR) return Errno(EPERM);
  // Directories are never opened for writing (the host says EISDIR), and
  // O_TRUNC only truncates regular files, so only they can be EROFS.
  if (node.type == S_IFREG && WantsWrite(flags) && !exports_[node.export_index].writable) {
    return Errno(EROFS);
  }
  return std::nullopt;
}

Result<ScopedFd> Server::Reopen(const Node& node, int flags) {
  // A directory reopens through its own O_PATH fd: no name lookup at all,
  // so nothing renamed on the host in the meantime can interfere.
  if (node.type == S_IFDIR) return OpenAt(node.fd->get(), ".", flags);
  // Other files can only be reopened by name in their parent. The name may
  // now be a different file (replaced on the host since the walk): that is
  // still inside the export thanks to O_NOFOLLOW, and the identity check
  // turns it into ESTALE. O_NONBLOCK keeps a FIFO swapped in meanwhile from
  // blocking the gofer.
  ScopedFd fd = TRY(OpenAt(node.parent->get(), node.name.c_str(), flags | O_NONBLOCK));
  struct stat st = TRY(StatFd(fd.get()));
  if (st.st_dev != node.dev || st.st_ino != node.ino) return Errno(ESTALE);
  if (!(flags & O_NONBLOCK)) {
    int status = ::fcntl(fd.get(), F_GETFL);
    if (status < 0 || ::fcntl(fd.get(), F_SETFL, status & ~O_NONBLOCK) != 0) return Errno(errno);
  }
  return fd;
}

Result<Server::Response> Server::ReadDir(WireReader& in) {
  ReadDirRequest req = TRY(ReadBody<ReadDirRequest>(in));
  const Node* node = TRY(Lookup(req.fid));
  // A fresh open per page keeps the gofer stateless between pages. The
  // cookie is a getdents64 d_off: a directory position lseek(2) accepts,
  // like seekdir(3) with a telldir(3) value.
  ScopedFd dir = TRY(OpenAt(node->fd->get(), ".", O_RDONLY | O_DIRECTORY));
  if (::lseek(dir.get(), static_cast<off_t>(req.cookie), SEEK_SET) < 0) return Errno(errno);
  return ReadDirPage(dir.get(), req.cookie);
}

// Packs as many entries as fit in one reply. A wire entry is smaller than
// its getdents64 record, so a getdents64 call given the remaining room never
// returns more than fits.
Result<Server::Response> Server::ReadDirPage(int dir_fd, uint64_t cookie) {
  WireWriter entries;
  ReadDirResponse page = {cookie, 0, 0};
  while (!page.eof && kReadDirBudget - entries.size() >= kMaxDirentRecord) {
    size_t room = kReadDirBudget - entries.size();
    ssize_t n = ::getdents64(dir_fd, dirent_buf_.data(), room);
    if (n < 0) return Errno(errno);
    page.eof = (n == 0);
    for (ssize_t off = 0; off < n;) {
      const auto* d = reinterpret_cast<const Dirent64*>(dirent_buf_.data() + off);
      off += d->d_reclen;
      page.next_cookie = static_cast<uint64_t>(d->d_off);
      std::string_view name(d->d_name);
      if (name == "." || name == "..") continue;
      entries.Write(WireDirent{d->d_ino, static_cast<uint16_t>(name.size()), d->d_type, {}});
      entries.WriteBytes(name);
      ++page.count;
    }
  }
  Response response = With(page);
  response.body.WriteBytes(entries.bytes());
  return response;
}

Result<Server::Response> Server::ReadLink(WireReader& in) {
  FidRequest req = TRY(ReadBody<FidRequest>(in));
  const Node* node = TRY(Lookup(req.fid));
  // readlink(2) on a non-link is EINVAL; readlinkat(fd, "") would say ENOENT.
  if (node->type != S_IFLNK) return Errno(EINVAL);
  std::string target = TRY(ReadLinkFd(node->fd->get()));
  Response response;
  response.body.WriteBytes(target);
  return response;
}

Result<Server::Response> Server::StatFs(WireReader& in) {
  FidRequest req = TRY(ReadBody<FidRequest>(in));
  const Node* node = TRY(Lookup(req.fid));
  struct statfs st;
  if (::fstatfs(node->fd->get(), &st) != 0) return Errno(errno);
  return With(st);
}

Result<Server::Response> Server::Clunk(WireReader& in) {
  FidRequest req = TRY(ReadBody<FidRequest>(in));
  if (fids_.erase(req.fid) == 0) return Errno(EBADF);
  return Response{};
}

Result<const Server::Node*> Server::Lookup(Fid fid) const {
  auto it = fids_.find(fid);
  if (it == fids_.end()) return Errno(EBADF);
  return &it->second;
}

Result<Fid> Server::AddFid(Node node) {
  if (fids_.size() >= kMaxFids) return Errno(ENFILE);
  Fid fid = next_fid_++;
  fids_.emplace(fid, std::move(node));
  return fid;
}


}  // namespace husk::gofer
