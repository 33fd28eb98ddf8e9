// The gofer wire protocol: fixed-layout messages exchanged over a
// SOCK_SEQPACKET socketpair between the sentry (Client) and the gofer (Server).
//
// Every message is one packet: a header, a fixed body chosen by `type`, and
// for some types a variable tail (a name, a link target, directory entries).
// The sentry sends one request at a time per Client and the gofer answers each
// request with exactly one response carrying the same `tag`. Files are named
// by gofer-side handles (Fid), never by host path. Both ends run on the same
// host, so integers are in host byte order.
#pragma once

#include <sys/statfs.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace husk::gofer {

// Gofer-side handle for a walked file, like a 9P fid.
using Fid = uint64_t;

// Upper bound on any message in either direction, header included. Keeps both
// ends' buffers fixed; ReadDir splits large directories to stay below it.
inline constexpr size_t kMaxMessage = 64 * 1024;

// Names at least this long are refused by the host with ENAMETOOLONG anyway
// (PATH_MAX counts the NUL), so the client answers without a round trip.
inline constexpr size_t kMaxWalkName = 4096;

enum class MessageType : uint32_t {
  kAttach = 1,
  kWalk = 2,
  kGetAttr = 3,
  kOpen = 4,
  kReadDir = 5,
  kReadLink = 6,
  kStatFs = 7,
  kClunk = 8,
  // Writes: only on a writable export (EROFS otherwise).
  kCreate = 9,
  kMkDir = 10,
  kSymLink = 11,
  kLink = 12,
  kUnlink = 13,
  kRename = 14,
  kSetAttr = 15,
  kGetXattr = 16,
  kSetXattr = 17,
  kListXattr = 18,
  kRemoveXattr = 19,
  kMkNod = 20,
};

struct RequestHeader {
  uint32_t type;  // MessageType
  uint32_t len;   // whole packet in bytes, header included
  uint64_t tag;   // echoed in the response
};

struct ResponseHeader {
  uint32_t type;   // the request's type
  uint32_t len;    // whole packet in bytes, header included
  uint64_t tag;    // the request's tag
  int32_t error;   // 0, or a positive Linux errno; then nothing follows
  uint32_t reserved;
};

// ---- Request bodies (after RequestHeader) ----

struct AttachRequest {
  uint32_t export_index;
  uint32_t reserved;
};

// Followed by the component name (no NUL): the rest of the packet.
struct WalkRequest {
  Fid dir;
};

// GetAttr, ReadLink, StatFs and Clunk name just a fid.
struct FidRequest {
  Fid fid;
};

struct OpenRequest {
  Fid fid;
  uint32_t flags;  // open(2) flags; see the server for which are accepted
  uint32_t reserved;
};

struct ReadDirRequest {
  Fid fid;
  uint64_t cookie;  // 0 to start, else next_cookie of the previous response
};

// Create: open(2) of a new regular file `name` in `dir` with O_CREAT|O_EXCL.
// Followed by the name. `flags`: the access mode and status flags Open
// accepts. The owner is uid:gid where the gofer may give it (see the server).
struct CreateRequest {
  Fid dir;
  uint32_t flags;
  uint32_t mode;  // permission bits (07777); the gofer applies no umask
  uint32_t uid;
  uint32_t gid;
};

// MkDir: mkdir(2) of `name` in `dir`; followed by the name.
struct MkDirRequest {
  Fid dir;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint32_t reserved;
};

// MkNod: mknod(2) of `name` in `dir`, `mode` holding the type: a FIFO, a
// socket, or a whiteout (character device 0:0). Other device nodes are
// never made on the host (EPERM). Followed by the name.
struct MkNodRequest {
  Fid dir;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint32_t rdev;  // new_encode_dev; only 0 is accepted
};

// SymLink: symlink(2) `name` -> target in `dir`; followed by name_len bytes
// of name, then the target (the rest of the packet).
struct SymLinkRequest {
  Fid dir;
  uint32_t uid;
  uint32_t gid;
  uint32_t name_len;
  uint32_t reserved;
};

// Link: link(2) of the file `target` (a non-directory fid of the same
// export) as `name` in `dir`; followed by the name.
struct LinkRequest {
  Fid dir;
  Fid target;
};

// Unlink: unlinkat(2) of `name` in `dir`; `flags` 0 or AT_REMOVEDIR.
// Followed by the name.
struct UnlinkRequest {
  Fid dir;
  uint32_t flags;
  uint32_t reserved;
};

// Rename: renameat2(2) of `old_name` in `old_dir` to `new_name` in `new_dir`
// (the same export); `flags` 0, RENAME_NOREPLACE or RENAME_EXCHANGE.
// Followed by old_name_len bytes of old name, then the new name.
struct RenameRequest {
  Fid old_dir;
  Fid new_dir;
  uint32_t flags;
  uint32_t old_name_len;
};

// SetAttr: what `mask` names, in this order: owner (chown), mode (chmod),
// size (truncate), times (utimensat; UTIME_NOW and UTIME_OMIT allowed).
enum SetAttrMask : uint32_t {
  kSetAttrUid = 1 << 0,
  kSetAttrGid = 1 << 1,
  kSetAttrMode = 1 << 2,
  kSetAttrSize = 1 << 3,
  kSetAttrAtime = 1 << 4,
  kSetAttrMtime = 1 << 5,
};
inline constexpr uint32_t kSetAttrAll = (1 << 6) - 1;

struct SetAttrRequest {
  Fid fid;
  uint32_t mask;  // SetAttrMask bits
  uint32_t mode;  // 07777
  uint32_t uid;
  uint32_t gid;
  uint64_t size;
  int64_t atime_sec, atime_nsec;
  int64_t mtime_sec, mtime_nsec;
};

// GetXattr and RemoveXattr: a FidRequest followed by the attribute's name.
// SetXattr: followed by name_len bytes of name, then the value.
struct SetXattrRequest {
  Fid fid;
  uint32_t flags;  // 0, XATTR_CREATE or XATTR_REPLACE
  uint32_t name_len;
};

// ---- Response bodies (after ResponseHeader, when error == 0) ----

// The content of a host struct stat, with explicit padding.
struct WireAttr {
  uint64_t dev;
  uint64_t ino;
  uint64_t nlink;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint32_t reserved;
  uint64_t rdev;
  int64_t size;
  int64_t blksize;
  int64_t blocks;
  int64_t atime_sec, atime_nsec;
  int64_t mtime_sec, mtime_nsec;
  int64_t ctime_sec, ctime_nsec;
};

// Attach and Walk. A walk to a symlink is followed by the link's target as
// the tail (no NUL); to anything else, by nothing.
struct WalkResponse {
  Fid fid;
  WireAttr attr;
};

// GetAttr answers with a bare WireAttr; Open with no body and the host fd as
// SCM_RIGHTS; ReadLink with the target as the tail (no NUL).
//
// Create answers with a WalkResponse for the new file and its host fd
// (SCM_RIGHTS, opened with the request's flags); MkDir, SymLink and Link
// with a WalkResponse for the new name; SetAttr with the WireAttr after the
// change; MkNod like MkDir; Unlink, Rename, SetXattr and RemoveXattr with no body. GetXattr
// answers with the value, ListXattr with the names, each ended by a NUL (as
// listxattr(2) gives them). Only "user." attributes are served.

// Followed by `count` entries, each a WireDirent and then name_len bytes of
// name, packed without padding (read them with memcpy).
struct ReadDirResponse {
  uint64_t next_cookie;
  uint32_t count;
  uint32_t eof;  // 1: no entries after these
};

struct WireDirent {
  uint64_t ino;
  uint16_t name_len;
  uint8_t type;  // DT_*
  uint8_t reserved[5];
};

// StatFs answers with the host's struct statfs as is: both ends are built
// for the same host ABI, and the assert below pins its x86-64 layout.
using WireStatFs = struct statfs;

// Whether `name` may be walked: exactly one real path component, so not
// empty, not "." or "..", and without '/' or NUL. Both ends check it; the
// gofer's check is the one that confines the sentry.
inline bool IsValidComponent(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

// The extended attributes the gofer serves: "user." ones (others are the
// host's security and trust decisions), named within XATTR_NAME_MAX and
// without NUL.
inline bool IsServedXattrName(std::string_view name) {
  return name.size() > 5 && name.size() <= 255 && name.starts_with("user.") &&
         name.find('\0') == std::string_view::npos;
}

// Every message part is copied with memcpy, so it must be plain bytes with no
// hidden padding (sizes equal to the sum of the fields).
template <class T>
inline constexpr bool kIsWireType =
    std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T>;

static_assert(kIsWireType<RequestHeader> && sizeof(RequestHeader) == 16);
static_assert(kIsWireType<ResponseHeader> && sizeof(ResponseHeader) == 24);
static_assert(kIsWireType<AttachRequest> && sizeof(AttachRequest) == 8);
static_assert(kIsWireType<WalkRequest> && sizeof(WalkRequest) == 8);
static_assert(kIsWireType<FidRequest> && sizeof(FidRequest) == 8);
static_assert(kIsWireType<OpenRequest> && sizeof(OpenRequest) == 16);
static_assert(kIsWireType<ReadDirRequest> && sizeof(ReadDirRequest) == 16);
static_assert(kIsWireType<CreateRequest> && sizeof(CreateRequest) == 24);
static_assert(kIsWireType<MkDirRequest> && sizeof(MkDirRequest) == 24);
static_assert(kIsWireType<MkNodRequest> && sizeof(MkNodRequest) == 24);
static_assert(kIsWireType<SymLinkRequest> && sizeof(SymLinkRequest) == 24);
static_assert(kIsWireType<LinkRequest> && sizeof(LinkRequest) == 16);
static_assert(kIsWireType<UnlinkRequest> && sizeof(UnlinkRequest) == 16);
static_assert(kIsWireType<RenameRequest> && sizeof(RenameRequest) == 24);
static_assert(kIsWireType<SetAttrRequest> && sizeof(SetAttrRequest) == 64);
static_assert(kIsWireType<SetXattrRequest> && sizeof(SetXattrRequest) == 16);
static_assert(kIsWireType<WireAttr> && sizeof(WireAttr) == 120);
static_assert(kIsWireType<WalkResponse> && sizeof(WalkResponse) == 128);
static_assert(kIsWireType<ReadDirResponse> && sizeof(ReadDirResponse) == 16);
static_assert(kIsWireType<WireDirent> && sizeof(WireDirent) == 16);
static_assert(kIsWireType<WireStatFs> && sizeof(WireStatFs) == 120);

}  // namespace husk::gofer
