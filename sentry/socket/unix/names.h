// Names of AF_UNIX sockets: sockaddr_un checks, the abstract namespace,
// autobind, and socket inodes in the VFS that bind makes and connect finds.
#pragma once

#include <stddef.h>
#include <sys/un.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"
#include "sentry/socket/unix/endpoint.h"

namespace husk::socket {

inline constexpr size_t kPathOffset = offsetof(struct sockaddr_un, sun_path);

// The sa_family of `addr` (at least sizeof(sa_family_t) bytes).
sa_family_t Family(std::span<const uint8_t> addr);
// unix_validate_addr: AF_UNIX with at least one byte of name, and no
// longer than a sockaddr_un (EINVAL).
Result<void> ValidateAddr(std::span<const uint8_t> addr);
// Whether a valid `addr` is abstract (its name starts with a NUL).
bool IsAbstract(std::span<const uint8_t> addr);
// The path of a valid filesystem `addr`: its name up to the first NUL.
std::string PathOf(std::span<const uint8_t> addr);
// The address getsockname reports for `path`: family, path and its NUL.
std::string PathAddr(std::string_view path);
// An unbound socket's address: the family alone.
std::string UnnamedAddr();

// unix_autobind: an unused abstract name of five hex digits, unless `ep`
// is bound already.
Result<void> AutobindLocked(Endpoint& ep) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ep.ns->mu);
// Takes `ep`'s name out of its namespace (it is closing).
void RemoveNameLocked(Endpoint& ep) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ep.ns->mu);
// unix_find_other: the socket of type `type` that `addr` names. A path
// must lead (following symlinks) to a socket inode the caller may write
// (EACCES), bound by a socket (ECONNREFUSED) of the same type
// (EPROTOTYPE); an abstract name must be bound by a socket of the type.
Result<std::shared_ptr<Endpoint>> FindOther(const Caller& c, UnixNamespace& ns,
                                            std::span<const uint8_t> addr, int type);
// bind's mknod of a socket inode at `path` (EADDRINUSE if the name
// exists); the inode's (st_dev, st_ino).
Result<std::pair<uint64_t, uint64_t>> MakeSocketNode(std::string_view path);
// Unlinks the socket inode MakeSocketNode made (a bind that lost a race).
void RemoveSocketNode(std::string_view path);

}  // namespace husk::socket
