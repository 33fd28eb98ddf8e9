#include "gofer/protocol/client.h"

#include <sys/stat.h>

#include <cstring>

#include "gofer/protocol/channel.h"
#include "gofer/protocol/wire.h"

namespace husk::gofer {
namespace {

// The gofer is less trusted than the sentry: only a plain errno may come
// through. Anything else (0, negative, or a kernel-internal restart code that
// would change the sentry's own control flow) is EIO.
Errno GoferErrno(int32_t value) {
  return (value > 0 && value < ERESTARTSYS) ? Errno(value) : Errno(EIO);
}

Attr ToAttr(const WireAttr& w) {
  Attr a;
  a.dev = w.dev;
  a.ino = w.ino;
  a.nlink = w.nlink;
  a.mode = w.mode;
  a.uid = w.uid;
  a.gid = w.gid;
  a.rdev = w.rdev;
  a.size = w.size;
  a.blksize = w.blksize;
  a.blocks = w.blocks;
  a.atime = {w.atime_sec, w.atime_nsec};
  a.mtime = {w.mtime_sec, w.mtime_nsec};
  a.ctime = {w.ctime_sec, w.ctime_nsec};
  return a;
}

// Decodes a reply body that must be exactly one T.
template <class T>
Result<T> Exactly(std::span<const std::byte> body) {
  WireReader reader(body);
  T value;
  if (!reader.Read(&value) || reader.remaining() != 0) return Errno(EIO);
  return value;
}

// readlink(2) never yields an empty target or one containing NUL.
Result<std::string> LinkTarget(std::span<const std::byte> bytes) {
  std::string target(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (target.empty() || target.find('\0') != std::string::npos) return Errno(EIO);
  return target;
}

Result<std::pair<Fid, Attr>> DecodeWalk(std::span<const std::byte> body,
                                        std::string* link_target = nullptr) {
  WireReader reader(body);
  WalkResponse w;
  if (!reader.Read(&w)) return Errno(EIO);
  Attr attr = ToAttr(w.attr);
  if (reader.remaining() != 0) {
    if (!S_ISLNK(attr.mode)) return Errno(EIO);
    std::string target = TRY(LinkTarget(body.subspan(sizeof(WalkResponse))));
    if (link_target != nullptr) *link_target = std::move(target);
  }
  return std::pair{w.fid, attr};
}

// A name the gofer can make: one component, short enough for the host.
Result<void> CheckName(std::string_view name) {
  if (!IsValidComponent(name)) return Errno(EINVAL);
  if (name.size() >= kMaxWalkName) return Errno(ENAMETOOLONG);
  return Ok();
}

// A reply that must be exactly a WalkResponse (no link target after it).
Result<std::pair<Fid, Attr>> DecodeNew(std::span<const std::byte> body) {
  WalkResponse w = TRY(Exactly<WalkResponse>(body));
  return std::pair{w.fid, ToAttr(w.attr)};
}

// Room for a request's tail after its header and body.
constexpr size_t TailRoom(size_t body) { return kMaxMessage - sizeof(RequestHeader) - body; }

}  // namespace

Client::Client(ScopedFd sock) : sock_(std::move(sock)), recv_buf_(kMaxMessage) {}

Result<std::pair<Fid, Attr>> Client::Attach(uint32_t export_index) {
  Reply reply = TRY(Call(MessageType::kAttach, AttachRequest{export_index, 0}));
  return DecodeWalk(reply.body);
}

Result<std::pair<Fid, Attr>> Client::Walk(Fid dir, std::string_view name,
                                          std::string* link_target) {
  if (!IsValidComponent(name)) return Errno(EINVAL);
  if (name.size() >= kMaxWalkName) return Errno(ENAMETOOLONG);
  Reply reply = TRY(Call(MessageType::kWalk, WalkRequest{dir}, name));
  return DecodeWalk(reply.body, link_target);
}

Result<Attr> Client::GetAttr(Fid fid) {
  Reply reply = TRY(Call(MessageType::kGetAttr, FidRequest{fid}));
  return ToAttr(TRY(Exactly<WireAttr>(reply.body)));
}

Result<ScopedFd> Client::Open(Fid fid, int flags) {
  Reply reply = TRY(Call(MessageType::kOpen, OpenRequest{fid, static_cast<uint32_t>(flags), 0}));
  if (!reply.body.empty() || reply.fds.size() != 1) return Errno(EIO);
  return std::move(reply.fds[0]);
}

Result<std::vector<DirEntry>> Client::ReadDir(Fid fid) {
  std::vector<DirEntry> entries;
  uint64_t cookie = 0;
  for (;;) {
    auto [next, eof] = TRY(ReadDirPage(fid, cookie, &entries));
    if (eof) return entries;
    cookie = next;
  }
}

Result<std::pair<uint64_t, bool>> Client::ReadDirPage(Fid fid, uint64_t cookie,
                                                      std::vector<DirEntry>* out) {
  Reply reply = TRY(Call(MessageType::kReadDir, ReadDirRequest{fid, cookie}));
  WireReader reader(reply.body);
  ReadDirResponse page;
  if (!reader.Read(&page) || page.eof > 1) return Errno(EIO);
  // An empty page that is not the last would make ReadDir loop forever.
  if (page.count == 0 && !page.eof) return Errno(EIO);
  for (uint32_t i = 0; i < page.count; ++i) {
    WireDirent dirent;
    std::string_view name;
    if (!reader.Read(&dirent) || !reader.ReadBytes(dirent.name_len, &name)) return Errno(EIO);
    if (!IsValidComponent(name)) return Errno(EIO);
    out->push_back(DirEntry{dirent.ino, dirent.type, std::string(name)});
  }
  if (reader.remaining() != 0) return Errno(EIO);
  return std::pair{page.next_cookie, page.eof == 1};
}

Result<std::string> Client::ReadLink(Fid fid) {
  Reply reply = TRY(Call(MessageType::kReadLink, FidRequest{fid}));
  return LinkTarget(reply.body);
}

Result<struct statfs> Client::StatFs(Fid fid) {
  Reply reply = TRY(Call(MessageType::kStatFs, FidRequest{fid}));
  return Exactly<WireStatFs>(reply.body);
}

Result<Created> Client::Create(Fid dir, std::string_view name, int flags, mode_t mode,
                               Owner owner) {
  TRY(CheckName(name));
  CreateRequest req = {dir, static_cast<uint32_t>(flags), mode & 07777, owner.uid, owner.gid};
  Reply reply = TRY(Call(MessageType::kCreate, req, name));
  if (reply.fds.size() != 1) return Errno(EIO);
  auto [fid, attr] = TRY(DecodeNew(reply.body));
  if (!S_ISREG(attr.mode)) return Errno(EIO);
  return Created{fid, attr, std::move(reply.fds[0])};
}

Result<std::pair<Fid, Attr>> Client::MkDir(Fid dir, std::string_view name, mode_t mode,
                                           Owner owner) {
  TRY(CheckName(name));
  Reply reply = TRY(Call(MessageType::kMkDir, MkDirRequest{dir, mode & 07777, owner.uid, owner.gid, 0},
                         name));
  return DecodeNew(reply.body);
}

Result<std::pair<Fid, Attr>> Client::MkNod(Fid dir, std::string_view name, mode_t mode,
                                           uint32_t rdev, Owner owner) {
  TRY(CheckName(name));
  Reply reply = TRY(Call(MessageType::kMkNod,
                         MkNodRequest{dir, mode & (S_IFMT | 07777), owner.uid, owner.gid, rdev},
                         name));
  auto made = TRY(DecodeNew(reply.body));
  if ((made.second.mode & S_IFMT) != (mode & S_IFMT)) return Errno(EIO);
  return made;
}

Result<std::pair<Fid, Attr>> Client::SymLink(Fid dir, std::string_view name,
                                             std::string_view target, Owner owner) {
  TRY(CheckName(name));
  if (target.empty()) return Errno(ENOENT);
  if (target.size() >= kMaxWalkName) return Errno(ENAMETOOLONG);
  SymLinkRequest req = {dir, owner.uid, owner.gid, static_cast<uint32_t>(name.size()), 0};
  Reply reply = TRY(Call(MessageType::kSymLink, req, std::string(name) + std::string(target)));
  return DecodeNew(reply.body);
}

Result<std::pair<Fid, Attr>> Client::Link(Fid dir, std::string_view name, Fid target) {
  TRY(CheckName(name));
  Reply reply = TRY(Call(MessageType::kLink, LinkRequest{dir, target}, name));
  return DecodeNew(reply.body);
}

Result<void> Client::Unlink(Fid dir, std::string_view name, int flags) {
  TRY(CheckName(name));
  Reply reply = TRY(Call(MessageType::kUnlink, UnlinkRequest{dir, static_cast<uint32_t>(flags), 0},
                         name));
  if (!reply.body.empty()) return Errno(EIO);
  return Ok();
}

Result<void> Client::Rename(Fid old_dir, std::string_view old_name, Fid new_dir,
                            std::string_view new_name, unsigned flags) {
  TRY(CheckName(old_name));
  TRY(CheckName(new_name));
  RenameRequest req = {old_dir, new_dir, flags, static_cast<uint32_t>(old_name.size())};
  Reply reply = TRY(Call(MessageType::kRename, req, std::string(old_name) + std::string(new_name)));
  if (!reply.body.empty()) return Errno(EIO);
  return Ok();
}

Result<Attr> Client::SetAttr(Fid fid, const AttrChange& c) {
  SetAttrRequest req = {fid,          c.mask,        c.mode,        c.uid,
                        c.gid,        c.size,        c.atime.tv_sec, c.atime.tv_nsec,
                        c.mtime.tv_sec, c.mtime.tv_nsec};
  Reply reply = TRY(Call(MessageType::kSetAttr, req));
  return ToAttr(TRY(Exactly<WireAttr>(reply.body)));
}

Result<std::string> Client::GetXattr(Fid fid, std::string_view name) {
  if (name.size() >= TailRoom(sizeof(FidRequest))) return Errno(ERANGE);
  Reply reply = TRY(Call(MessageType::kGetXattr, FidRequest{fid}, name));
  return std::string(reinterpret_cast<const char*>(reply.body.data()), reply.body.size());
}

Result<void> Client::SetXattr(Fid fid, std::string_view name, std::string_view value, int flags) {
  if (name.size() + value.size() > TailRoom(sizeof(SetXattrRequest))) return Errno(E2BIG);
  SetXattrRequest req = {fid, static_cast<uint32_t>(flags), static_cast<uint32_t>(name.size())};
  Reply reply = TRY(Call(MessageType::kSetXattr, req, std::string(name) + std::string(value)));
  if (!reply.body.empty()) return Errno(EIO);
  return Ok();
}

Result<std::vector<std::string>> Client::ListXattr(Fid fid) {
  Reply reply = TRY(Call(MessageType::kListXattr, FidRequest{fid}));
  std::string_view list(reinterpret_cast<const char*>(reply.body.data()), reply.body.size());
  std::vector<std::string> names;
  while (!list.empty()) {
    size_t end = list.find('\0');
    if (end == std::string_view::npos || !IsServedXattrName(list.substr(0, end))) return Errno(EIO);
    names.emplace_back(list.substr(0, end));
    list.remove_prefix(end + 1);
  }
  return names;
}

Result<void> Client::RemoveXattr(Fid fid, std::string_view name) {
  if (name.size() >= TailRoom(sizeof(FidRequest))) return Errno(ERANGE);
  Reply reply = TRY(Call(MessageType::kRemoveXattr, FidRequest{fid}, name));
  if (!reply.body.empty()) return Errno(EIO);
  return Ok();
}

void Client::Clunk(Fid fid) {
  if (closing_.load(std::memory_order_relaxed)) return;
  (void)Call(MessageType::kClunk, FidRequest{fid});
}

void Client::Close() { closing_.store(true); }

template <class Body>
Result<Client::Reply> Client::Call(MessageType type, const Body& body, std::string_view tail) {
  static_assert(kIsWireType<Body>);
  return Transact(type, std::as_bytes(std::span(&body, 1)), tail);
}

Result<Client::Reply> Client::Transact(MessageType type, std::span<const std::byte> body,
                                       std::string_view tail) {
  size_t len = sizeof(RequestHeader) + body.size() + tail.size();
  if (len > kMaxMessage) return Errno(EINVAL);  // only a caller bug gets here
  absl::MutexLock lock(&mu_);
  if (broken_) return Errno(EIO);
  RequestHeader header = {static_cast<uint32_t>(type), static_cast<uint32_t>(len), next_tag_++};
  const iovec parts[] = {
      {&header, sizeof(header)},
      {const_cast<std::byte*>(body.data()), body.size()},
      {const_cast<char*>(tail.data()), tail.size()},
  };
  if (!SendPacket(sock_.get(), parts)) return Broken();
  Result<ReceivedPacket> packet = ReceivePacket(sock_.get(), recv_buf_.span());
  if (!packet || packet->size == 0 || packet->truncated) return Broken();
  return ParseReply(type, header.tag, packet->size, std::move(packet->fds));
}

Result<Client::Reply> Client::ParseReply(MessageType type, uint64_t tag, size_t size,
                                         std::vector<ScopedFd> fds) {
  WireReader reader(std::span<const std::byte>(recv_buf_.span()).first(size));
  ResponseHeader header;
  // A reply to another request means the stream is out of step: stop using it.
  if (!reader.Read(&header) || header.len != size || header.tag != tag ||
      header.type != static_cast<uint32_t>(type)) {
    return Broken();
  }
  if (header.error != 0) return GoferErrno(header.error);
  std::string_view body = reader.TakeRest();
  const auto* begin = reinterpret_cast<const std::byte*>(body.data());
  return Reply{std::vector<std::byte>(begin, begin + body.size()), std::move(fds)};
}

Errno Client::Broken() {
  broken_ = true;
  return Errno(EIO);
}

}  // namespace husk::gofer
