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
static_assert(kIsWireType<WireAttr> && sizeof(WireAttr) == 120);
static_assert(kIsWireType<WalkResponse> && sizeof(WalkResponse) == 128);
static_assert(kIsWireType<ReadDirResponse> && sizeof(ReadDirResponse) == 16);
static_assert(kIsWireType<WireDirent> && sizeof(WireDirent) == 16);
static_assert(kIsWireType<WireStatFs> && sizeof(WireStatFs) == 120);

}  // namespace husk::gofer
