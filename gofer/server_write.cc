// The gofer's write operations: making, linking, removing and renaming
// names, changing attributes, and extended attributes. Each follows the
// confinement rule of Server (server.h): one component in a directory
// fid's fd, never following a final symlink, or the fid's own O_PATH fd.
#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_*
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <string_view>
#include <vector>

#include "gofer/server.h"
#include "gofer/server_util.h"

namespace husk::gofer {
namespace {

// fchmodat2(2), Linux 6.6: the only chmod that takes an O_PATH fd
// (AT_EMPTY_PATH) and so needs no name lookup at all.
constexpr long kSysFchmodat2 = 452;

// Room for an attribute value or list in one reply.
constexpr size_t kXattrBudget = kMaxMessage - sizeof(ResponseHeader);

// The tail of a request as one new name: exactly one real component.
Result<std::string> ReadName(WireReader& in) {
  std::string name(in.TakeRest());
  if (!IsValidComponent(name)) return Errno(EINVAL);
  return name;
}

// The tail of a request as `first_len` bytes and then the rest.
Result<std::pair<std::string, std::string>> ReadTwo(WireReader& in, uint32_t first_len) {
  std::string_view first;
  if (!in.ReadBytes(first_len, &first)) return Errno(EINVAL);
  return std::pair{std::string(first), std::string(in.TakeRest())};
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Result<const Server::Node*> Server::WritableDir(Fid fid) const {
  const Node* dir = TRY(Lookup(fid));
  if (dir->type != S_IFDIR) return Errno(ENOTDIR);
  if (!exports_[dir->export_index].writable) return Errno(EROFS);
  return dir;
}

// The new file becomes uid:gid, as Linux gives it the creator's filesystem
// ids, except that a set-group-ID directory gives its own group (which the
// host has done already). chown(2) clears the set-user-ID and set-group-ID
// bits, so they are put back as the file was made.
Result<Server::Response> Server::WalkToNew(const Node& dir, std::string name, uint32_t uid,
                                           uint32_t gid, const struct stat* made) {
  struct stat st;
  Fid fid = TRY(WalkFrom(dir, std::move(name), &st));
  // The name was replaced on the host between the two calls: the fid is
  // not the file this request made.
  if (made != nullptr && !SameFile(st, *made)) {
    fids_.erase(fid);
    return Errno(ESTALE);
  }
  const Node node = fids_.at(fid);
  Result<struct stat> dir_st = StatFd(dir.fd->get());
  if (dir_st && (dir_st->st_mode & S_ISGID)) gid = st.st_gid;
  if (st.st_uid != uid || st.st_gid != gid) {
    // PARTIAL(gofer-owner): a gofer without CAP_CHOWN on the host cannot
    // give files away; they keep the gofer's ids.
    if (::fchownat(node.fd->get(), "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISLNK(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID))) {
        (void)ChmodNode(node, st.st_mode & 07777);
      }
      st = TRY(StatFd(node.fd->get()));
    }
  }
  return With(WalkResponse{fid, ToWire(st)});
}

Result<void> Server::ChmodNode(const Node& node, mode_t mode) {
  if (::syscall(kSysFchmodat2, node.fd->get(), "", mode, AT_EMPTY_PATH) == 0) return Ok();
  if (errno != ENOSYS && errno != EINVAL) return Errno(errno);
  // An older host: fchmod(2) on a real open of the file.
  Result<ScopedFd> file = Reopen(node, O_RDONLY);
  if (!file && node.type == S_IFREG) file = Reopen(node, O_WRONLY);
  if (!file) return file.error();
  if (::fchmod(file->get(), mode) != 0) return Errno(errno);
  return Ok();
}

namespace {

// Host files a sandbox writes never become set-user-ID or set-group-ID
// programs: a sandboxed root could otherwise leave a set-user-ID root
// binary for the host's other users to run (the effect of mounting the
// export nosuid, kept in the files themselves). A directory's set-group-ID
// bit only passes its group on, and stays.
mode_t NoSetId(mode_t mode, bool directory) {
  return directory ? mode : mode & ~static_cast<mode_t>(S_ISUID | S_ISGID);
}

}  // namespace

Result<Server::Response> Server::Create(WireReader& in) {
  CreateRequest req = TRY(ReadBody<CreateRequest>(in, /*tail_allowed=*/true));
  std::string name = TRY(ReadName(in));
  const int flags = static_cast<int>(req.flags);
  if ((flags & ~kAllowedOpenFlags) != 0 || (flags & O_ACCMODE) == O_ACCMODE ||
      (flags & O_DIRECTORY) || (req.mode & ~07777u) != 0) {
    return Errno(EINVAL);
  }
  const Node dir = *TRY(WritableDir(req.dir));
  if (fids_.size() >= kMaxFids) return Errno(ENFILE);
  // O_EXCL: a new file or EEXIST, even for a symlink (dangling or not) at
  // the name. A new file opens whatever its mode, as open(2) lets the
  // creator; O_TRUNC has nothing to do.
  ScopedFd fd = TRY(OpenAt(dir.fd->get(), name.c_str(), (flags & ~O_TRUNC) | O_CREAT | O_EXCL,
                           NoSetId(req.mode, false)));
  struct stat made;
  if (::fstat(fd.get(), &made) != 0) return Errno(errno);
  Response response = TRY(WalkToNew(dir, std::move(name), req.uid, req.gid, &made));
  response.fd = std::move(fd);
  return response;
}

Result<Server::Response> Server::MkDir(WireReader& in) {
  MkDirRequest req = TRY(ReadBody<MkDirRequest>(in, /*tail_allowed=*/true));
  std::string name = TRY(ReadName(in));
  if ((req.mode & ~07777u) != 0) return Errno(EINVAL);
  const Node dir = *TRY(WritableDir(req.dir));
  if (fids_.size() >= kMaxFids) return Errno(ENFILE);
  if (::mkdirat(dir.fd->get(), name.c_str(), req.mode) != 0) return Errno(errno);
  return WalkToNew(dir, std::move(name), req.uid, req.gid);
}

// FIFOs, sockets and whiteouts: the sandbox's FIFOs are the sentry's own
// pipes and its sockets are named by the node's identity, so the host node
// is just a name, and a 0:0 character device has no driver.
// PARTIAL(gofer-devices): a real device node on the host could reach the
// host's devices, so none is made (EPERM).
Result<Server::Response> Server::MkNod(WireReader& in) {
  MkNodRequest req = TRY(ReadBody<MkNodRequest>(in, /*tail_allowed=*/true));
  std::string name = TRY(ReadName(in));
  const mode_t type = req.mode & S_IFMT;
  if ((req.mode & ~(S_IFMT | 07777u)) != 0) return Errno(EINVAL);
  if (type == S_IFBLK || (type == S_IFCHR && req.rdev != 0)) return Errno(EPERM);
  if (type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR) return Errno(EINVAL);
  const Node dir = *TRY(WritableDir(req.dir));
  if (fids_.size() >= kMaxFids) return Errno(ENFILE);
  if (::mknodat(dir.fd->get(), name.c_str(), NoSetId(req.mode, false), 0) != 0) return Errno(errno);
  return WalkToNew(dir, std::move(name), req.uid, req.gid);
}

Result<Server::Response> Server::SymLink(WireReader& in) {
  SymLinkRequest req = TRY(ReadBody<SymLinkRequest>(in, /*tail_allowed=*/true));
  auto [name, target] = TRY(ReadTwo(in, req.name_len));
  if (!IsValidComponent(name)) return Errno(EINVAL);
  // The target is only text: the gofer never follows it.
  if (target.empty() || target.find('\0') != std::string::npos) return Errno(EINVAL);
  if (target.size() >= PATH_MAX) return Errno(ENAMETOOLONG);
  const Node dir = *TRY(WritableDir(req.dir));
  if (fids_.size() >= kMaxFids) return Errno(ENFILE);
  if (::symlinkat(target.c_str(), dir.fd->get(), name.c_str()) != 0) return Errno(errno);
  return WalkToNew(dir, std::move(name), req.uid, req.gid);
}

Result<Server::Response> Server::Link(WireReader& in) {
  LinkRequest req = TRY(ReadBody<LinkRequest>(in, /*tail_allowed=*/true));
  std::string name = TRY(ReadName(in));
  const Node dir = *TRY(WritableDir(req.dir));
  const Node target = *TRY(Lookup(req.target));
  if (target.export_index != dir.export_index) return Errno(EXDEV);
  if (target.type == S_IFDIR) return Errno(EPERM);
  if (fids_.size() >= kMaxFids) return Errno(ENFILE);
  // The file the fid holds, without a name lookup; linkat(2) allows that
  // with CAP_DAC_READ_SEARCH only (ENOENT otherwise, as for a file with no
  // names left).
  if (::linkat(target.fd->get(), "", dir.fd->get(), name.c_str(), AT_EMPTY_PATH) != 0) {
    if (errno != ENOENT && errno != EPERM) return Errno(errno);
    // By its name, then: without AT_SYMLINK_FOLLOW a symlink there is
    // linked itself, and a file put there on the host meanwhile is
    // unlinked again below.
    if (::linkat(target.parent->get(), target.name.c_str(), dir.fd->get(), name.c_str(), 0) != 0) {
      return Errno(errno);
    }
    struct stat linked;
    if (::fstatat(dir.fd->get(), name.c_str(), &linked, AT_SYMLINK_NOFOLLOW) != 0 ||
        linked.st_dev != target.dev || linked.st_ino != target.ino) {
      ::unlinkat(dir.fd->get(), name.c_str(), 0);
      return Errno(ESTALE);
    }
  }
  struct stat st;
  Fid fid = TRY(WalkFrom(dir, std::move(name), &st));
  return With(WalkResponse{fid, ToWire(st)});
}

Result<Server::Response> Server::Unlink(WireReader& in) {
  UnlinkRequest req = TRY(ReadBody<UnlinkRequest>(in, /*tail_allowed=*/true));
  std::string name = TRY(ReadName(in));
  if (req.flags != 0 && req.flags != AT_REMOVEDIR) return Errno(EINVAL);
  const Node* dir = TRY(WritableDir(req.dir));
  if (::unlinkat(dir->fd->get(), name.c_str(), static_cast<int>(req.flags)) != 0) {
    return Errno(errno);
  }
  return Response{};
}

Result<Server::Response> Server::Rename(WireReader& in) {
  RenameRequest req = TRY(ReadBody<RenameRequest>(in, /*tail_allowed=*/true));
  auto [old_name, new_name] = TRY(ReadTwo(in, req.old_name_len));
  if (!IsValidComponent(old_name) || !IsValidComponent(new_name)) return Errno(EINVAL);
  // PARTIAL(gofer-whiteout): RENAME_WHITEOUT makes a device node on the
  // host, which the gofer does not do.
  if ((req.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0 ||
      req.flags == (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
    return Errno(EINVAL);
  }
  const Node old_dir = *TRY(WritableDir(req.old_dir));
  const Node new_dir = *TRY(WritableDir(req.new_dir));
  if (old_dir.export_index != new_dir.export_index) return Errno(EXDEV);
  if (::renameat2(old_dir.fd->get(), old_name.c_str(), new_dir.fd->get(), new_name.c_str(),
                  req.flags) != 0) {
    return Errno(errno);
  }
  Renamed(old_dir, old_name, new_dir, new_name, (req.flags & RENAME_EXCHANGE) != 0);
  return Response{};
}

// A fid of a non-directory is reopened by its parent and name (Reopen), so
// those must follow the file. A fid of the name a rename replaced keeps
// the old name, and its reopen fails the identity check (ESTALE).
void Server::Renamed(const Node& old_dir, const std::string& old_name, const Node& new_dir,
                     const std::string& new_name, bool exchange) {
  auto at = [](const Node& node, const Node& dir, const std::string& name) {
    return node.parent_dev == dir.dev && node.parent_ino == dir.ino && node.name == name;
  };
  std::vector<Node*> moved, swapped;
  for (auto& [fid, node] : fids_) {
    if (node.export_index != old_dir.export_index || node.fd == node.parent) continue;  // roots
    if (at(node, old_dir, old_name)) {
      moved.push_back(&node);
    } else if (exchange && at(node, new_dir, new_name)) {
      swapped.push_back(&node);
    }
  }
  auto place = [](Node* node, const Node& dir, const std::string& name) {
    node->parent = dir.fd;
    node->parent_dev = dir.dev;
    node->parent_ino = dir.ino;
    node->name = name;
  };
  for (Node* node : moved) place(node, new_dir, new_name);
  for (Node* node : swapped) place(node, old_dir, old_name);
}

Result<Server::Response> Server::SetAttr(WireReader& in) {
  SetAttrRequest req = TRY(ReadBody<SetAttrRequest>(in));
  if ((req.mask & ~kSetAttrAll) != 0 || (req.mode & ~07777u) != 0) return Errno(EINVAL);
  const Node* node = TRY(Lookup(req.fid));
  if (!exports_[node->export_index].writable) return Errno(EROFS);
  const int fd = node->fd->get();
  if (req.mask & (kSetAttrUid | kSetAttrGid)) {
    uid_t uid = (req.mask & kSetAttrUid) ? req.uid : static_cast<uid_t>(-1);
    gid_t gid = (req.mask & kSetAttrGid) ? req.gid : static_cast<gid_t>(-1);
    if (::fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
      return Errno(errno);
    }
  }
  if (req.mask & kSetAttrMode) {
    // Linux has no mode bits of a symlink to change (fchmodat(2)).
    if (node->type == S_IFLNK) return Errno(EOPNOTSUPP);
    TRY(ChmodNode(*node, NoSetId(req.mode, node->type == S_IFDIR)));
  }
  if (req.mask & kSetAttrSize) {
    if (node->type == S_IFDIR) return Errno(EISDIR);
    if (node->type != S_IFREG || req.size > static_cast<uint64_t>(INT64_MAX)) {
      return Errno(EINVAL);
    }
    ScopedFd file = TRY(Reopen(*node, O_WRONLY));
    if (::ftruncate(file.get(), static_cast<off_t>(req.size)) != 0) return Errno(errno);
  }
  if (req.mask & (kSetAttrAtime | kSetAttrMtime)) {
    timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    if (req.mask & kSetAttrAtime) times[0] = {req.atime_sec, req.atime_nsec};
    if (req.mask & kSetAttrMtime) times[1] = {req.mtime_sec, req.mtime_nsec};
    if (::utimensat(fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return Errno(errno);
  }
  return With(ToWire(TRY(StatFd(fd))));
}

// Extended attributes live on regular files and directories; Linux allows
// no "user." attributes on other files (symlinks, devices, FIFOs).
Result<ScopedFd> Server::XattrFd(const Node& node) {
  if (node.type != S_IFREG && node.type != S_IFDIR) return Errno(EPERM);
  return Reopen(node, O_RDONLY);
}

Result<Server::Response> Server::GetXattr(WireReader& in) {
  FidRequest req = TRY(ReadBody<FidRequest>(in, /*tail_allowed=*/true));
  std::string name(in.TakeRest());
  const Node* node = TRY(Lookup(req.fid));
  if (!IsServedXattrName(name)) return Errno(EOPNOTSUPP);
  if (node->type != S_IFREG && node->type != S_IFDIR) return Errno(ENODATA);
  ScopedFd fd = TRY(XattrFd(*node));
  std::string value(kXattrBudget, '\0');
  ssize_t n = ::fgetxattr(fd.get(), name.c_str(), value.data(), value.size());
  if (n < 0) return Errno(errno == ERANGE ? E2BIG : errno);
  value.resize(static_cast<size_t>(n));
  Response response;
  response.body.WriteBytes(value);
  return response;
}

Result<Server::Response> Server::ListXattr(WireReader& in) {
  FidRequest req = TRY(ReadBody<FidRequest>(in));
  const Node* node = TRY(Lookup(req.fid));
  Response response;
  if (node->type != S_IFREG && node->type != S_IFDIR) return response;
  ScopedFd fd = TRY(XattrFd(*node));
  std::string names(kXattrBudget, '\0');
  ssize_t n = ::flistxattr(fd.get(), names.data(), names.size());
  if (n < 0) return Errno(errno == ERANGE ? E2BIG : errno);
  // Only the names this protocol serves.
  for (size_t at = 0; at < static_cast<size_t>(n);) {
    size_t end = names.find('\0', at);
    if (end == std::string::npos || end >= static_cast<size_t>(n)) break;
    std::string_view name(names.data() + at, end - at);
    if (IsServedXattrName(name)) {
      response.body.WriteBytes(name);
      response.body.WriteBytes(std::string_view("\0", 1));
    }
    at = end + 1;
  }
  return response;
}

Result<Server::Response> Server::SetXattr(WireReader& in) {
  SetXattrRequest req = TRY(ReadBody<SetXattrRequest>(in, /*tail_allowed=*/true));
  auto [name, value] = TRY(ReadTwo(in, req.name_len));
  if ((req.flags & ~static_cast<uint32_t>(XATTR_CREATE | XATTR_REPLACE)) != 0) {
    return Errno(EINVAL);
  }
  const Node* node = TRY(Lookup(req.fid));
  if (!exports_[node->export_index].writable) return Errno(EROFS);
  if (!IsServedXattrName(name)) return Errno(EOPNOTSUPP);
  ScopedFd fd = TRY(XattrFd(*node));
  if (::fsetxattr(fd.get(), name.c_str(), value.data(), value.size(),
                  static_cast<int>(req.flags)) != 0) {
    return Errno(errno);
  }
  return Response{};
}

Result<Server::Response> Server::RemoveXattr(WireReader& in) {
  FidRequest req = TRY(ReadBody<FidRequest>(in, /*tail_allowed=*/true));
  std::string name(in.TakeRest());
  const Node* node = TRY(Lookup(req.fid));
  if (!exports_[node->export_index].writable) return Errno(EROFS);
  if (!IsServedXattrName(name)) return Errno(EOPNOTSUPP);
  ScopedFd fd = TRY(XattrFd(*node));
  if (::fremovexattr(fd.get(), name.c_str()) != 0) return Errno(errno);
  return Response{};
}

}  // namespace husk::gofer
