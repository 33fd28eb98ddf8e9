#include "sentry/socket/unix/names.h"

#include <time.h>

#include <cstring>

#include <fmt/format.h>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"
#include "vfs/vfs.h"

namespace husk::socket {

sa_family_t Family(std::span<const uint8_t> addr) {
  sa_family_t f = 0;
  memcpy(&f, addr.data(), sizeof(f));
  return f;
}

Result<void> ValidateAddr(std::span<const uint8_t> addr) {
  if (addr.size() <= kPathOffset || addr.size() > kSockaddrUnSize) return Errno(EINVAL);
  if (Family(addr) != AF_UNIX) return Errno(EINVAL);
  return Ok();
}

bool IsAbstract(std::span<const uint8_t> addr) { return addr[kPathOffset] == 0; }

std::string PathOf(std::span<const uint8_t> addr) {
  auto name = addr.subspan(kPathOffset);
  size_t n = 0;
  while (n < name.size() && name[n] != 0) ++n;
  return std::string(reinterpret_cast<const char*>(name.data()), n);
}

std::string PathAddr(std::string_view path) {
  std::string a = UnnamedAddr();
  a.append(path);
  a.push_back('\0');
  return a;
}

std::string UnnamedAddr() {
  const sa_family_t f = AF_UNIX;
  return std::string(reinterpret_cast<const char*>(&f), sizeof(f));
}

Result<void> AutobindLocked(Endpoint& ep) {
  if (!ep.addr.empty()) return Ok();
  UnixNamespace& ns = *ep.ns;
  // Linux starts at a random name; the clock is random enough here.
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint32_t n = static_cast<uint32_t>(now.tv_nsec ^ now.tv_sec) & 0xfffff;
  for (uint32_t tries = 0; tries <= 0xfffff; ++tries) {
    n = (n + 1) & 0xfffff;
    std::string name = UnnamedAddr();
    name.push_back('\0');
    name += fmt::format("{:05x}", n);
    auto key = std::pair{ep.type, name};
    auto it = ns.abstract.find(key);
    if (it != ns.abstract.end() && !it->second.expired()) continue;
    ns.abstract[key] = ep.weak_from_this();
    ep.addr = std::move(name);
    return Ok();
  }
  return Errno(ENOSPC);
}

void RemoveNameLocked(Endpoint& ep) {
  if (ep.addr.empty()) return;
  UnixNamespace& ns = *ep.ns;
  // An accepted socket reports its listener's name but does not own it.
  auto owned = [&](const std::weak_ptr<Endpoint>& w) { return w.lock().get() == &ep; };
  if (ep.inode) {
    if (auto it = ns.inodes.find(*ep.inode); it != ns.inodes.end() && owned(it->second)) {
      ns.inodes.erase(it);
    }
  } else if (ep.addr.size() > kPathOffset && ep.addr[kPathOffset] == '\0') {
    auto key = std::pair{ep.type, ep.addr};
    if (auto it = ns.abstract.find(key); it != ns.abstract.end() && owned(it->second)) {
      ns.abstract.erase(it);
    }
  }
}

Result<std::shared_ptr<Endpoint>> FindOther(const Caller& c, UnixNamespace& ns,
                                            std::span<const uint8_t> addr, int type) {
  if (IsAbstract(addr)) {
    std::string name(reinterpret_cast<const char*>(addr.data()), addr.size());
    absl::MutexLock lock(&ns.mu);
    auto it = ns.abstract.find(std::pair{type, name});
    if (it == ns.abstract.end()) return Errno(ECONNREFUSED);
    auto ep = it->second.lock();
    if (!ep) return Errno(ECONNREFUSED);
    return ep;
  }
  if (c.task == nullptr) return Errno(ENOENT);
  kernel::Task& t = *c.task;
  const std::string path = PathOf(addr);
  vfs::Path p = TRY(t.kernel().vfs().Resolve(t.Lookup(), t.fs().cwd, path, /*follow=*/true));
  const struct stat st = TRY(p.dentry->inode()->Stat());
  TRY(vfs::CheckPermission(st, t.creds(), W_OK));
  if (!S_ISSOCK(st.st_mode)) return Errno(ECONNREFUSED);
  absl::MutexLock lock(&ns.mu);
  auto it = ns.inodes.find(std::pair<uint64_t, uint64_t>{st.st_dev, st.st_ino});
  if (it == ns.inodes.end()) return Errno(ECONNREFUSED);
  auto ep = it->second.lock();
  if (!ep) return Errno(ECONNREFUSED);
  if (ep->type != type) return Errno(EPROTOTYPE);
  return ep;
}

Result<std::pair<uint64_t, uint64_t>> MakeSocketNode(std::string_view path) {
  const Caller c = CurrentCaller();
  if (c.task == nullptr) return Errno(ENOENT);
  kernel::Task& t = *c.task;
  const vfs::Vfs& vfs = t.kernel().vfs();
  auto made = vfs.MakeNode(t.Lookup(), t.fs().cwd, path, S_IFSOCK | 0777, 0, t.fs().umask);
  if (!made) return made.error() == Errno(EEXIST) ? Errno(EADDRINUSE) : made.error();
  auto p = vfs.Resolve(t.Lookup(), t.fs().cwd, path, /*follow=*/false);
  if (!p) return p.error();
  const struct stat st = TRY(p->dentry->inode()->Stat());
  return std::pair<uint64_t, uint64_t>{st.st_dev, st.st_ino};
}

void RemoveSocketNode(std::string_view path) {
  const Caller c = CurrentCaller();
  if (c.task == nullptr) return;
  kernel::Task& t = *c.task;
  auto pn = t.kernel().vfs().ResolveParent(t.Lookup(), t.fs().cwd, path);
  if (!pn || pn->name.empty()) return;
  if (pn->parent.dentry->inode()->Unlink(pn->name)) pn->parent.dentry->ForgetChild(pn->name);
}

}  // namespace husk::socket
