#include "sentry/kernel/credentials.h"

#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>

#include "sentry/kernel/kernel.h"

namespace husk::kernel {
namespace {

using vfs::Credentials;

// The capabilities a change of the filesystem uid to or from 0 takes from
// or gives to the effective set (capabilities(7)).
constexpr uint64_t kFsCaps = CapBit(CAP_CHOWN) | CapBit(CAP_DAC_OVERRIDE) |
                             CapBit(CAP_DAC_READ_SEARCH) | CapBit(CAP_FOWNER) |
                             CapBit(CAP_FSETID) | CapBit(CAP_LINUX_IMMUTABLE) |
                             CapBit(CAP_MAC_OVERRIDE) | CapBit(CAP_MKNOD);

// The value PR_SET_DUMPABLE's setting takes on a credential change:
// /proc/sys/fs/suid_dumpable's default, SUID_DUMP_DISABLE.
constexpr int kSuidDumpable = 0;

bool AnyRoot(const Credentials& c) { return c.uid == 0 || c.euid == 0 || c.suid == 0; }

// capabilities(7), "Effect of user ID changes on capabilities" (Linux's
// cap_emulate_setxuid), after setuid, setreuid or setresuid.
void FixCapsForUidChange(const Credentials& old, Credentials& c) {
  if (AnyRoot(old) && !AnyRoot(c)) {
    if (!old.keep_caps) c.cap_permitted = c.cap_effective = 0;
    c.cap_ambient = 0;
  }
  if (old.euid == 0 && c.euid != 0) c.cap_effective = 0;
  if (old.euid != 0 && c.euid == 0) c.cap_effective = c.cap_permitted;
}

}  // namespace

Result<Credentials> SetUid(const Credentials& old, uint32_t uid) {
  if (uid == kNoId) return Errno(EINVAL);
  Credentials c = old;
  if (old.HasCapability(CAP_SETUID)) {
    c.uid = c.suid = uid;
  } else if (uid != old.uid && uid != old.suid) {
    return Errno(EPERM);
  }
  c.euid = c.fsuid = uid;
  FixCapsForUidChange(old, c);
  return c;
}

Result<Credentials> SetReUid(const Credentials& old, uint32_t ruid, uint32_t euid) {
  const bool capable = old.HasCapability(CAP_SETUID);
  Credentials c = old;
  if (ruid != kNoId) {
    if (ruid != old.uid && ruid != old.euid && !capable) return Errno(EPERM);
    c.uid = ruid;
  }
  if (euid != kNoId) {
    if (euid != old.uid && euid != old.euid && euid != old.suid && !capable) return Errno(EPERM);
    c.euid = euid;
  }
  // setreuid(2): setting the real id, or the effective id to something
  // other than the old real id, also sets the saved id.
  if (ruid != kNoId || (euid != kNoId && euid != old.uid)) c.suid = c.euid;
  c.fsuid = c.euid;
  FixCapsForUidChange(old, c);
  return c;
}

Result<Credentials> SetResUid(const Credentials& old, uint32_t ruid, uint32_t euid, uint32_t suid) {
  // A call that changes nothing leaves even the fsuid alone.
  if ((ruid == kNoId || ruid == old.uid) &&
      (euid == kNoId || (euid == old.euid && euid == old.fsuid)) &&
      (suid == kNoId || suid == old.suid)) {
    return old;
  }
  // Unprivileged, each id may become any of the current three.
  auto is_new = [&](uint32_t id) {
    return id != kNoId && id != old.uid && id != old.euid && id != old.suid;
  };
  if ((is_new(ruid) || is_new(euid) || is_new(suid)) && !old.HasCapability(CAP_SETUID)) {
    return Errno(EPERM);
  }
  Credentials c = old;
  if (ruid != kNoId) c.uid = ruid;
  if (euid != kNoId) c.euid = euid;
  if (suid != kNoId) c.suid = suid;
  c.fsuid = c.euid;
  FixCapsForUidChange(old, c);
  return c;
}

Result<Credentials> SetGid(const Credentials& old, uint32_t gid) {
  if (gid == kNoId) return Errno(EINVAL);
  Credentials c = old;
  if (old.HasCapability(CAP_SETGID)) {
    c.gid = c.sgid = gid;
  } else if (gid != old.gid && gid != old.sgid) {
    return Errno(EPERM);
  }
  c.egid = c.fsgid = gid;
  return c;
}

Result<Credentials> SetReGid(const Credentials& old, uint32_t rgid, uint32_t egid) {
  const bool capable = old.HasCapability(CAP_SETGID);
  Credentials c = old;
  if (rgid != kNoId) {
    if (rgid != old.gid && rgid != old.egid && !capable) return Errno(EPERM);
    c.gid = rgid;
  }
  if (egid != kNoId) {
    if (egid != old.gid && egid != old.egid && egid != old.sgid && !capable) return Errno(EPERM);
    c.egid = egid;
  }
  if (rgid != kNoId || (egid != kNoId && egid != old.gid)) c.sgid = c.egid;
  c.fsgid = c.egid;
  return c;
}

Result<Credentials> SetResGid(const Credentials& old, uint32_t rgid, uint32_t egid, uint32_t sgid) {
  if ((rgid == kNoId || rgid == old.gid) &&
      (egid == kNoId || (egid == old.egid && egid == old.fsgid)) &&
      (sgid == kNoId || sgid == old.sgid)) {
    return old;
  }
  auto is_new = [&](uint32_t id) {
    return id != kNoId && id != old.gid && id != old.egid && id != old.sgid;
  };
  if ((is_new(rgid) || is_new(egid) || is_new(sgid)) && !old.HasCapability(CAP_SETGID)) {
    return Errno(EPERM);
  }
  Credentials c = old;
  if (rgid != kNoId) c.gid = rgid;
  if (egid != kNoId) c.egid = egid;
  if (sgid != kNoId) c.sgid = sgid;
  c.fsgid = c.egid;
  return c;
}

Credentials SetFsUid(const Credentials& old, uint32_t fsuid) {
  Credentials c = old;
  if (fsuid == kNoId || fsuid == old.fsuid) return c;
  if (fsuid != old.uid && fsuid != old.euid && fsuid != old.suid && !old.HasCapability(CAP_SETUID)) {
    return c;
  }
  c.fsuid = fsuid;
  if (old.fsuid == 0 && fsuid != 0) c.cap_effective &= ~kFsCaps;
  if (old.fsuid != 0 && fsuid == 0) c.cap_effective |= c.cap_permitted & kFsCaps;
  return c;
}

Credentials SetFsGid(const Credentials& old, uint32_t fsgid) {
  Credentials c = old;
  if (fsgid == kNoId || fsgid == old.fsgid) return c;
  if (fsgid != old.gid && fsgid != old.egid && fsgid != old.sgid && !old.HasCapability(CAP_SETGID)) {
    return c;
  }
  c.fsgid = fsgid;
  return c;
}

Result<Credentials> SetGroups(const Credentials& old, std::vector<uint32_t> groups) {
  if (!old.HasCapability(CAP_SETGID)) return Errno(EPERM);
  if (std::ranges::find(groups, kNoId) != groups.end()) return Errno(EINVAL);
  std::ranges::sort(groups);
  Credentials c = old;
  c.groups = std::move(groups);
  return c;
}

Result<Credentials> SetCapabilities(const Credentials& old, uint64_t effective, uint64_t permitted,
                                    uint64_t inheritable) {
  effective &= kAllCaps;
  permitted &= kAllCaps;
  inheritable &= kAllCaps;
  auto subset = [](uint64_t a, uint64_t b) { return (a & ~b) == 0; };
  // Without CAP_SETPCAP, inheritable gains only what is permitted.
  if (!old.HasCapability(CAP_SETPCAP) &&
      !subset(inheritable, old.cap_inheritable | old.cap_permitted)) {
    return Errno(EPERM);
  }
  if (!subset(inheritable, old.cap_inheritable | old.cap_bounding)) return Errno(EPERM);
  if (!subset(permitted, old.cap_permitted)) return Errno(EPERM);
  if (!subset(effective, permitted)) return Errno(EPERM);
  Credentials c = old;
  c.cap_effective = effective;
  c.cap_permitted = permitted;
  c.cap_inheritable = inheritable;
  c.cap_ambient &= permitted & inheritable;
  return c;
}

Result<Credentials> DropBoundingCapability(const Credentials& old, uint64_t cap) {
  if (!old.HasCapability(CAP_SETPCAP)) return Errno(EPERM);
  if (cap > static_cast<uint64_t>(kCapLastCap)) return Errno(EINVAL);
  Credentials c = old;
  c.cap_bounding &= ~CapBit(static_cast<int>(cap));
  return c;
}

Result<Credentials> SetAmbient(const Credentials& old, uint64_t op, uint64_t cap) {
  Credentials c = old;
  if (op == PR_CAP_AMBIENT_CLEAR_ALL) {
    c.cap_ambient = 0;
    return c;
  }
  if (cap > static_cast<uint64_t>(kCapLastCap)) return Errno(EINVAL);
  const uint64_t bit = CapBit(static_cast<int>(cap));
  if (op == PR_CAP_AMBIENT_RAISE) {
    // Only what is both permitted and inheritable can be ambient.
    if (!(old.cap_permitted & bit) || !(old.cap_inheritable & bit)) return Errno(EPERM);
    c.cap_ambient |= bit;
  } else if (op == PR_CAP_AMBIENT_LOWER) {
    c.cap_ambient &= ~bit;
  } else {
    return Errno(EINVAL);
  }
  return c;
}

void CommitCredentials(Task& t, Credentials creds) {
  const Credentials& old = t.creds();
  const bool privilege_changed = old.euid != creds.euid || old.egid != creds.egid ||
                                 old.fsuid != creds.fsuid || old.fsgid != creds.fsgid ||
                                 (creds.cap_permitted & ~old.cap_permitted) != 0;
  absl::MutexLock lock(&t.kernel().mu());
  if (privilege_changed) {
    t.thread_group().dumpable = kSuidDumpable;
    t.pdeath_signal = 0;
  }
  t.creds() = std::move(creds);
}

void ExecTaskState(Task& t, std::string_view filename) {
  const Credentials& old = t.creds();
  Credentials c = old;
  // capabilities(7), "Transformation of capabilities during execve()", for
  // a file with no capabilities. PARTIAL(file capabilities): every file has
  // none, and set-user-ID and set-group-ID bits are not honoured, so the
  // ids stay and ambient capabilities are kept.
  //
  // Root's special case: the file's sets count as full, so root's permitted
  // set becomes its bounding and inheritable sets, and effective root gets
  // them effective.
  c.cap_permitted = (old.uid == 0 || old.euid == 0) ? (old.cap_bounding | old.cap_inheritable) : 0;
  const bool file_effective = old.euid == 0;
  // With no_new_privs nothing may be gained: permitted stays within what
  // it was.
  if ((c.cap_permitted & ~old.cap_permitted) != 0 && t.no_new_privs) {
    c.euid = c.uid;
    c.egid = c.gid;
    c.cap_permitted &= old.cap_permitted;
  }
  c.suid = c.fsuid = c.euid;
  c.sgid = c.fsgid = c.egid;
  c.cap_permitted |= c.cap_ambient;
  c.cap_effective = file_effective ? c.cap_permitted : c.cap_ambient;
  c.keep_caps = false;
  // Effective ids that differ from the real ones make the process
  // non-dumpable (begin_new_exec) and the exec a secure one (AT_SECURE),
  // as does a non-root real user ending up with capabilities beyond its
  // ambient ones.
  const bool other_ids = old.euid != old.uid || old.egid != old.gid;
  const bool secure =
      other_ids || (c.uid != 0 && (file_effective || (c.cap_permitted & ~c.cap_ambient) != 0));

  size_t slash = filename.rfind('/');
  std::string_view base = slash == std::string_view::npos ? filename : filename.substr(slash + 1);
  std::string name(base.substr(0, kTaskNameMax));

  {
    absl::MutexLock lock(&t.kernel().mu());
    t.name = std::move(name);
    // Dumpable unless the ids differ from the real ones; a secure exec also
    // forgets the parent-death signal. PARTIAL(dumpable): an unreadable
    // program does not make the process non-dumpable.
    t.thread_group().dumpable = other_ids ? kSuidDumpable : 1;
    if (secure) t.pdeath_signal = 0;
  }
  // As in Linux, the new credentials come last: a gain of permitted
  // capabilities (root regaining what capset dropped) makes the process
  // non-dumpable again.
  CommitCredentials(t, std::move(c));
}

// --- Kernel members for credentials and prctl state ---

void Kernel::InheritTaskState(Task& parent, Task& child, uint64_t clone_flags) {
  absl::MutexLock lock(&mu_);
  child.name = parent.name;
  child.no_new_privs = parent.no_new_privs;
  child.pdeath_signal = 0;
  // A thread, or a CLONE_PARENT child, shares its creator's parent.
  child.parent_thread =
      (clone_flags & (CLONE_THREAD | CLONE_PARENT)) ? parent.parent_thread : &parent;
  if (!(clone_flags & CLONE_THREAD)) child.thread_group().dumpable = parent.thread_group().dumpable;
}

void Kernel::ParentThreadExitedLocked(Task& t) {
  ThreadGroup& tg = t.thread_group();
  // Children pass to another thread of the process; when none is left, to
  // a reaper process (parent_thread null: its last thread is their parent).
  // PARTIAL(pdeathsig): in Linux one particular thread of the reaper
  // becomes the parent, and its exit alone sends the signal.
  const bool last = tg.tasks.empty();
  Task* heir = last ? nullptr : tg.tasks.front();
  for (auto& child : tg.children) {
    for (Task* c : child->tasks) {
      if (!last && c->parent_thread != &t) continue;
      if (c->pdeath_signal != 0) {
        siginfo_t si{};
        si.si_signo = c->pdeath_signal;
        si.si_code = SI_USER;
        si.si_pid = tg.pid();
        si.si_uid = t.creds().uid;
        SendToGroupLocked(*child, si);
      }
      c->parent_thread = heir;
    }
  }
}

std::optional<vfs::Credentials> Kernel::TaskCredentials(int tid) {
  absl::MutexLock lock(&mu_);
  Task* t = FindTaskLocked(tid);
  if (t == nullptr) return std::nullopt;
  return t->creds();
}

}  // namespace husk::kernel
