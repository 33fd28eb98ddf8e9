// /proc/[pid] and /proc/[pid]/task/[tid] (fs/proc/base.c, array.c,
// task_mmu.c, fd.c): a process's or a thread's files, made from the
// kernel's snapshots when read.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <bit>
#include <functional>

#include <fmt/format.h>

#include "vfs/anon_inode.h"
#include "vfs/proc/internal.h"

namespace husk::vfs::proc {
namespace {

using Place = ProcSource::Place;

// Which process (and thread) a node of /proc/[pid] is about.
struct PidRef {
  ProcFsRef fs;
  int pid = 0;
  int tid = 0;  // 0: the process's own directory
  int64_t start_ns = 0;
  std::string key;  // "12" or "12/task/13", for inode numbers

  ProcSource& src() const { return *fs->src; }
  uint64_t Ino(std::string_view name) const { return InoOf(key + "/" + std::string(name)); }
  bool Alive() const { return src().Alive(pid, start_ns, tid); }
  Result<ProcessInfo> Info(bool times = false) const {
    auto p = src().Process(pid, tid, times);
    if (!p || p->start_ns != start_ns) return Errno(ESRCH);
    return std::move(*p);
  }
  // A process's files belong to its effective ids, root's if it is not
  // dumpable (Linux's task_dump_owner).
  std::pair<uint32_t, uint32_t> Owner() const {
    auto p = src().Process(pid, tid);
    if (!p || p->dumpable != 1) return {0, 0};
    return {p->creds.euid, p->creds.egid};
  }
  // ptrace_may_access for the reading task.
  Result<void> MayAccess() const {
    ProcessInfo p = TRY(Info());
    return proc::MayAccess(src().CurrentCaller(), pid, p.creds, p.dumpable);
  }
};

// A file of a process: its text comes from `gen`, writes go to `put`;
// `check` is what open(2) checks beyond the mode (ptrace access).
class PidFile final : public SynthFile {
 public:
  using Gen = std::function<Result<std::string>(const PidRef&)>;
  using Put = std::function<Result<size_t>(const PidRef&, std::string_view)>;
  PidFile(PidRef ref, std::string_view name, mode_t perm, Gen gen, Put put, bool check)
      : SynthFile(ref.fs->fs, ref.Ino(name), perm), ref_(std::move(ref)), gen_(std::move(gen)),
        put_(std::move(put)), check_(check) {}

  Result<std::string> Generate() override { return gen_(ref_); }
  Result<size_t> Write(std::string_view data) override {
    if (!put_) return Errno(EINVAL);
    return put_(ref_, data);
  }
  Result<void> MayOpen(int) override {
    if (!ref_.Alive()) return Errno(ESRCH);
    if (check_) TRY(ref_.MayAccess());
    return Ok();
  }

 protected:
  std::pair<uint32_t, uint32_t> Owner() override { return ref_.Owner(); }

 private:
  PidRef ref_;
  Gen gen_;
  Put put_;
  bool check_;
};

// What a magic link leads to: the path of an open file, or for a file
// with none (a pipe), a name whose open reopens it.
class ReopenInode final : public Inode {
 public:
  ReopenInode(std::shared_ptr<FileDescription> file, mode_t type)
      : Inode(type), file_(std::move(file)) {}
  Result<struct stat> Stat() override { return file_->Stat(); }
  Result<std::shared_ptr<FileDescription>> Open(const Path&, int flags) override {
    return file_->Reopen(flags);
  }
  // O_TRUNC of a host file reopened through /proc (shell's > /dev/stdout):
  // PARTIAL(reopen): it is left as it is.
  Result<void> Truncate(uint64_t) override { return Ok(); }

 private:
  std::shared_ptr<FileDescription> file_;
};

// The text a file's link shows (Linux's d_path, or d_dname for files
// with no path).
std::string FileName(const ProcFs& fs, const Caller& caller, FileDescription& file) {
  if (file.path().valid()) {
    std::string name = fs.vfs.PathOf(caller.root.valid() ? caller.root : fs.vfs.Root(), file.path());
    if (file.path().dentry->inode()->Unlinked()) name += " (deleted)";
    return name;
  }
  std::string anon = file.AnonName();
  if (!anon.empty()) return anon;
  auto st = file.Stat();
  if (!st) return "anon_inode:[unknown]";
  switch (st->st_mode & S_IFMT) {
    case S_IFIFO: return fmt::format("pipe:[{}]", st->st_ino);
    case S_IFSOCK: return fmt::format("socket:[{}]", st->st_ino);
    case S_IFCHR: {
      // A host device handed to the sandbox as stdio: its usual name.
      const unsigned maj = major(st->st_rdev), min = minor(st->st_rdev);
      if (maj >= 136 && maj <= 143) return fmt::format("/dev/pts/{}", (maj - 136) * 256 + min);
      if (maj == 4) return fmt::format("/dev/tty{}", min);
      if (maj == 5 && min == 0) return "/dev/tty";
      if (maj == 5 && min == 1) return "/dev/console";
      static constexpr const char* kMem[] = {nullptr, nullptr, nullptr, "null", nullptr,
                                             "zero", nullptr, "full", "random", "urandom"};
      if (maj == 1 && min < std::size(kMem) && kMem[min]) return fmt::format("/dev/{}", kMem[min]);
      return fmt::format("/dev/char/{}:{}", maj, min);
    }
  }
  // A host file handed to the sandbox: its host path is not the sandbox's
  // to know.
  if (st->st_dev != AnonInodeStat().st_dev) return fmt::format("host:[{}]", st->st_ino);
  return "anon_inode:[unknown]";
}

Result<std::optional<Path>> JumpTo(const ProcFs& fs, std::shared_ptr<FileDescription> file,
                                   const std::string& name, const std::shared_ptr<Mount>& mount) {
  if (file->path().valid()) return std::optional<Path>(file->path());
  auto st = TRY(file->Stat());
  mode_t type = st.st_mode & S_IFMT;
  if (type == 0 || type == S_IFDIR || type == S_IFLNK) type = S_IFREG;  // anon inodes have none
  (void)fs;
  auto dentry = std::make_shared<Dentry>(nullptr, name,
                                         std::make_shared<ReopenInode>(std::move(file), type));
  return std::optional<Path>(Path{mount, std::move(dentry)});
}

// exe, cwd, root.
class PlaceLink final : public SynthLink {
 public:
  PlaceLink(PidRef ref, std::string_view name, Place which)
      : SynthLink(ref.fs->fs, ref.Ino(name)), ref_(std::move(ref)), which_(which) {}

  Result<std::string> ReadLink() override {
    Path p = TRY(Target());
    const Caller caller = ref_.src().CurrentCaller();
    std::string name = ref_.fs->vfs.PathOf(caller.root.valid() ? caller.root : ref_.fs->vfs.Root(), p);
    if (p.dentry->inode()->Unlinked()) name += " (deleted)";
    return name;
  }
  Result<std::optional<Path>> Jump() override { return std::optional<Path>(TRY(Target())); }
  bool Revalidate() override { return ref_.Alive(); }

 protected:
  std::pair<uint32_t, uint32_t> Owner() override { return ref_.Owner(); }

 private:
  Result<Path> Target() {
    TRY(ref_.MayAccess());
    return ref_.src().PlaceOf(ref_.pid, which_);
  }
  PidRef ref_;
  Place which_;
};

// /proc/[pid]/fd/N.
class FdLink final : public SynthLink {
 public:
  FdLink(PidRef ref, int fd, mode_t perm)
      : SynthLink(ref.fs->fs, ref.Ino(fmt::format("fd/{}", fd)), perm), ref_(std::move(ref)), fd_(fd) {}

  Result<std::string> ReadLink() override {
    auto file = TRY(File());
    return FileName(*ref_.fs, ref_.src().CurrentCaller(), *file);
  }
  Result<std::optional<Path>> Jump() override {
    auto file = TRY(File());
    std::string name = FileName(*ref_.fs, ref_.src().CurrentCaller(), *file);
    return JumpTo(*ref_.fs, std::move(file), name, ref_.fs->mount.lock());
  }
  bool Revalidate() override { return ref_.Alive() && ref_.src().Fd(ref_.pid, fd_).has_value(); }

 protected:
  std::pair<uint32_t, uint32_t> Owner() override { return ref_.Owner(); }

 private:
  Result<std::shared_ptr<FileDescription>> File() {
    TRY(ref_.MayAccess());
    auto e = ref_.src().Fd(ref_.pid, fd_);
    if (!e) return Errno(ENOENT);
    return e->file;
  }
  PidRef ref_;
  int fd_;
};

// The mode of /proc/[pid]/fd/N: r and x for reading, w and x for writing.
mode_t FdLinkMode(const FileDescription& f) {
  mode_t m = 0;
  if (f.flags() & O_PATH) return 0;
  if (f.Readable()) m |= S_IRUSR | S_IXUSR;
  if (f.Writable()) m |= S_IWUSR | S_IXUSR;
  return m;
}

bool ParseNumber(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// /proc/[pid]/fdinfo/N.
std::string FdInfoText(const ProcFs& fs, const FdEntry& e) {
  FileDescription& f = *e.file;
  int flags = f.flags();
  if (e.cloexec) flags |= O_CLOEXEC;
  // open(2) on x86-64 always adds O_LARGEFILE (the kernel's 0100000;
  // userspace's is 0); pipes and anon files lack it.
  if (f.path().valid()) flags |= 0100000;
  const int mnt = f.path().valid() ? MountId(fs.vfs, f.path().mount.get()) : 15;
  uint64_t ino = 0;
  if (auto st = f.Stat()) ino = st->st_ino;
  return fmt::format("pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{}\nino:\t{}\n", f.offset(), flags, mnt, ino);
}

// /proc/[pid]/fd and fdinfo.
class FdDir final : public SynthDir {
 public:
  FdDir(PidRef ref, bool info)
      : SynthDir(ref.fs->fs, ref.Ino(info ? "fdinfo" : "fd"), 0500), ref_(std::move(ref)),
        info_(info) {}

  Result<std::shared_ptr<Inode>> Lookup(std::string_view name) override {
    int fd;
    if (!ParseNumber(name, &fd)) return Errno(ENOENT);
    auto e = ref_.src().Fd(ref_.pid, fd);
    if (!e) return Errno(ENOENT);
    if (!info_) return std::shared_ptr<Inode>(std::make_shared<FdLink>(ref_, fd, FdLinkMode(*e->file)));
    PidRef ref = ref_;
    auto gen = [fd](const PidRef& r) -> Result<std::string> {
      auto e = r.src().Fd(r.pid, fd);
      if (!e) return Errno(ENOENT);
      return FdInfoText(*r.fs, *e);
    };
    return std::shared_ptr<Inode>(std::make_shared<PidFile>(ref, fmt::format("fdinfo/{}", fd), 0444,
                                                            gen, nullptr, true));
  }
  Result<std::vector<DirEntry>> List() override {
    TRY(ref_.MayAccess());
    auto fds = TRY(ref_.src().Fds(ref_.pid));
    std::vector<DirEntry> out;
    for (int fd : fds) {
      out.push_back(DirEntry{ref_.Ino(fmt::format("{}/{}", info_ ? "fdinfo" : "fd", fd)),
                             static_cast<uint8_t>(info_ ? DT_REG : DT_LNK), std::to_string(fd)});
    }
    return out;
  }
  bool Revalidate() override { return ref_.Alive(); }

 protected:
  std::pair<uint32_t, uint32_t> Owner() override { return ref_.Owner(); }

 private:
  PidRef ref_;
  bool info_;
};

// /proc/[pid]/task.
class TaskDir final : public SynthDir {
 public:
  explicit TaskDir(PidRef ref) : SynthDir(ref.fs->fs, ref.Ino("task")), ref_(std::move(ref)) {}

  Result<std::shared_ptr<Inode>> Lookup(std::string_view name) override {
    int tid;
    if (!ParseNumber(name, &tid)) return Errno(ENOENT);
    if (ref_.src().ThreadGroupOf(tid) != ref_.pid) return Errno(ENOENT);
    return std::shared_ptr<Inode>(NewPidDir(ref_.fs, ref_.pid, tid, ref_.start_ns));
  }
  Result<std::vector<DirEntry>> List() override {
    std::vector<DirEntry> out;
    for (int tid : ref_.src().Tids(ref_.pid)) {
      out.push_back(DirEntry{InoOf(fmt::format("{}/task/{}", ref_.pid, tid)), DT_DIR,
                             std::to_string(tid)});
    }
    return out;
  }
  bool Revalidate() override { return ref_.Alive(); }

 protected:
  std::pair<uint32_t, uint32_t> Owner() override { return ref_.Owner(); }

 private:
  PidRef ref_;
};

// /proc/[pid]/mem: the process's memory at the file offset.
class MemFile final : public SynthFile {
 public:
  explicit MemFile(PidRef ref) : SynthFile(ref.fs->fs, ref.Ino("mem"), 0600), ref_(std::move(ref)) {}
  Result<std::string> Generate() override { return Errno(EINVAL); }
  Result<std::shared_ptr<FileDescription>> Open(const Path& path, int flags) override;

 protected:
  std::pair<uint32_t, uint32_t> Owner() override { return ref_.Owner(); }

 private:
  PidRef ref_;
};

class MemFileDescription final : public FileDescription {
 public:
  MemFileDescription(Path path, int flags, PidRef ref)
      : FileDescription(std::move(path), flags), ref_(std::move(ref)) {}
  Result<size_t> PRead(const IoVecs& dst, uint64_t offset) override {
    size_t total = 0;
    for (const auto& v : dst) {
      size_t n = TRY(ref_.src().ReadMemory(ref_.pid, offset + total,
                                           std::span<uint8_t>(static_cast<uint8_t*>(v.iov_base), v.iov_len)));
      total += n;
      if (n < v.iov_len) break;
    }
    if (total == 0 && TotalLength(dst) > 0) return Errno(EIO);
    return total;
  }
  Result<size_t> PWrite(const IoVecs& src, uint64_t offset) override {
    size_t total = 0;
    for (const auto& v : src) {
      size_t n = TRY(ref_.src().WriteMemory(
          ref_.pid, offset + total, std::span<const uint8_t>(static_cast<uint8_t*>(v.iov_base), v.iov_len)));
      total += n;
      if (n < v.iov_len) break;
    }
    if (total == 0 && TotalLength(src) > 0) return Errno(EIO);
    return total;
  }
  bool Seekable() const override { return true; }
  bool Mappable() const override { return false; }
  Result<uint64_t> Seek(int64_t offset, int whence) override {
    // Addresses above 2^63 are reachable: the offset is unsigned here.
    absl::MutexLock lock(&pos_mu_);
    if (whence == SEEK_SET) {
      offset_ = static_cast<uint64_t>(offset);
    } else if (whence == SEEK_CUR) {
      offset_ = offset_.load() + static_cast<uint64_t>(offset);
    } else {
      return Errno(EINVAL);
    }
    return offset_.load();
  }

 private:
  PidRef ref_;
};

Result<std::shared_ptr<FileDescription>> MemFile::Open(const Path& path, int flags) {
  if (!ref_.Alive()) return Errno(ESRCH);
  TRY(ref_.MayAccess());
  return std::shared_ptr<FileDescription>(std::make_shared<MemFileDescription>(path, flags, ref_));
}

// --- Text of the files ---

const char* StateName(char s) {
  switch (s) {
    case 'R': return "R (running)";
    case 'S': return "S (sleeping)";
    case 'D': return "D (disk sleep)";
    case 'T': return "T (stopped)";
    case 't': return "t (tracing stop)";
    case 'Z': return "Z (zombie)";
    case 'X': return "X (dead)";
  }
  return "R (running)";
}

// What /proc/[pid]/status and statm say of the address space.
struct VmUsage {
  uint64_t size = 0, rss = 0, anon = 0, file = 0, shmem = 0, data = 0, stack = 0, exe = 0, lib = 0;
};

VmUsage Usage(const std::vector<Mapping>& maps, const std::string& exe) {
  VmUsage u;
  for (const auto& m : maps) {
    const uint64_t len = m.end - m.start;
    u.size += len;
    u.rss += m.rss;
    u.anon += m.rss_anon;
    u.shmem += m.rss_shmem;
    const bool stack = m.growsdown || m.name == "[stack]";
    if (stack) {
      u.stack += len;
    } else if ((m.prot & PROT_WRITE) && !m.shared) {
      u.data += len;
    }
    if ((m.prot & PROT_EXEC) && m.file && !m.shared) {
      if (m.name == exe) {
        u.exe += len;
      } else {
        u.lib += len;
      }
    }
  }
  u.file = u.rss - std::min(u.rss, u.anon + u.shmem);
  return u;
}

std::string ExePath(const PidRef& r) {
  auto p = r.src().PlaceOf(r.pid, Place::kExe);
  if (!p) return "";
  return r.fs->vfs.PathOf(r.fs->vfs.Root(), *p);
}

std::string Hex16(uint64_t v) { return fmt::format("{:016x}", v); }

Result<std::string> StatusText(const PidRef& r) {
  ProcessInfo p = TRY(r.Info());
  const int tid = p.thread ? p.thread->tid : p.pid;
  const Credentials& c = p.thread ? p.thread->creds : p.creds;
  std::string comm = p.thread ? p.thread->comm : p.comm;
  const char state = p.thread ? p.thread->state : p.state;
  std::string out;
  auto line = [&out](std::string_view name, const std::string& value) {
    out += fmt::format("{}:\t{}\n", name, value);
  };
  line("Name", comm);
  line("Umask", fmt::format("{:04o}", p.umask));
  line("State", StateName(state));
  line("Tgid", std::to_string(p.pid));
  line("Ngid", "0");
  line("Pid", std::to_string(tid));
  line("PPid", std::to_string(p.ppid));
  line("TracerPid", "0");
  line("Uid", fmt::format("{}\t{}\t{}\t{}", c.uid, c.euid, c.suid, c.fsuid));
  line("Gid", fmt::format("{}\t{}\t{}\t{}", c.gid, c.egid, c.sgid, c.fsgid));
  line("FDSize", std::to_string(p.fd_slots));
  std::string groups;
  for (size_t i = 0; i < c.groups.size(); ++i) groups += (i ? " " : "") + std::to_string(c.groups[i]);
  line("Groups", groups + " ");
  line("NStgid", std::to_string(p.pid));
  line("NSpid", std::to_string(tid));
  line("NSpgid", std::to_string(p.pgid));
  line("NSsid", std::to_string(p.sid));
  line("Kthread", "0");
  if (!p.zombie) {
    if (auto maps = r.src().Mappings(r.pid)) {
      const VmUsage u = Usage(*maps, ExePath(r));
      auto kb = [&](std::string_view name, uint64_t bytes) {
        line(name, fmt::format("{:>8} kB", bytes / 1024));
      };
      kb("VmPeak", u.size);
      kb("VmSize", u.size);
      kb("VmLck", 0);
      kb("VmPin", 0);
      kb("VmHWM", u.rss);
      kb("VmRSS", u.rss);
      kb("RssAnon", u.anon);
      kb("RssFile", u.file);
      kb("RssShmem", u.shmem);
      kb("VmData", u.data);
      kb("VmStk", u.stack);
      kb("VmExe", u.exe);
      kb("VmLib", u.lib);
      // One page-table page per 2 MiB mapped, and the levels above.
      kb("VmPTE", ((u.size >> 21) + 4) * 4096);
      kb("VmSwap", 0);
      kb("HugetlbPages", 0);
      line("CoreDumping", "0");
      line("THP_enabled", "1");
    }
  }
  line("Threads", std::to_string(p.thread_count));
  const uint64_t pending = p.thread ? p.thread->pending : 0;
  line("SigQ", fmt::format("{}/{}", std::popcount(pending | p.shared_pending),
                           p.rlimits[RLIMIT_SIGPENDING].rlim_cur));
  line("SigPnd", Hex16(pending));
  line("ShdPnd", Hex16(p.shared_pending));
  line("SigBlk", Hex16(p.thread ? p.thread->blocked : 0));
  line("SigIgn", Hex16(p.ignored));
  line("SigCgt", Hex16(p.caught));
  line("CapInh", Hex16(c.cap_inheritable));
  line("CapPrm", Hex16(c.cap_permitted));
  line("CapEff", Hex16(c.cap_effective));
  line("CapBnd", Hex16(c.cap_bounding));
  line("CapAmb", Hex16(c.cap_ambient));
  line("NoNewPrivs", p.thread && p.thread->no_new_privs ? "1" : "0");
  // PARTIAL(seccomp): the sandbox's programs get no filters of their own.
  line("Seccomp", "0");
  line("Seccomp_filters", "0");
  if (p.thread) {
    const auto& cpus = p.thread->cpus;
    line("Cpus_allowed", CpuMaskHex(cpus, CpuIds(r.src().Cpus())));
    line("Cpus_allowed_list", CpuList(cpus));
    line("Mems_allowed", "1");
    line("Mems_allowed_list", "0");
  }
  line("voluntary_ctxt_switches", "0");
  line("nonvoluntary_ctxt_switches", "0");
  return out;
}

// /proc/[pid]/stat (fs/proc/array.c do_task_stat); `whole`: the process's
// line rather than one thread's.
Result<std::string> StatText(const PidRef& r, bool whole) {
  ProcessInfo p = TRY(r.Info(/*times=*/true));
  const bool permitted = MayAccess(r.src().CurrentCaller(), r.pid, p.creds, p.dumpable).has_value();
  const ThreadInfo* t = p.thread ? &*p.thread : nullptr;
  uint64_t vsize = 0, rss = 0;
  MemoryLayout l;
  bool mm = false;
  if (!p.zombie) {
    if (auto maps = r.src().Mappings(r.pid)) {
      for (const auto& m : *maps) {
        vsize += m.end - m.start;
        rss += m.rss;
      }
      if (auto lay = r.src().Layout(r.pid)) {
        l = *lay;
        mm = true;
      }
    }
  }
  const int64_t user = whole || !t ? p.user_ns : t->user_ns;
  const int64_t sys = whole || !t ? p.sys_ns : t->sys_ns;
  const int nice = t ? t->nice : 0;
  const int policy = t ? t->policy : 0;
  const int rt = t ? t->rt_priority : 0;
  const int priority = (policy == 1 || policy == 2) ? -1 - rt : 20 + nice;
  const int64_t start = whole || !t ? p.start_ns : t->start_ns;
  auto addr = [&](uint64_t v) { return mm && permitted ? v : 0; };
  const uint64_t rsslim = p.rlimits[RLIMIT_RSS].rlim_cur;
  std::string out = fmt::format(
      "{} ({}) {} {} {} {} {} {} {} 0 0 0 0 {} {} {} {} {} {} {} 0 {} {} {} {} ",
      whole || !t ? p.pid : t->tid, t ? t->comm : p.comm, t ? t->state : p.state, p.ppid, p.pgid,
      p.sid, p.tty_nr, p.tpgid, p.zombie ? 0x400004 : 0x400000, user / kNsPerTick, sys / kNsPerTick,
      p.children_user_ns / kNsPerTick, p.children_sys_ns / kNsPerTick, priority, nice,
      p.thread_count, start / kNsPerTick, vsize, rss / 4096, rsslim);
  out += fmt::format("{} {} {} 0 0 ", mm ? (permitted ? l.start_code : 1) : 0,
                     mm ? (permitted ? l.end_code : 1) : 0, addr(l.start_stack));
  const uint64_t pending = (t ? t->pending : 0) | (whole ? p.shared_pending : 0);
  out += fmt::format("{} {} {} {} 0 0 0 {} 0 {} {} 0 0 0 ", pending & 0x7fffffff,
                     (t ? t->blocked : 0) & 0x7fffffff, p.ignored & 0x7fffffff,
                     p.caught & 0x7fffffff, p.exit_signal, rt, policy);
  out += fmt::format("{} {} {} {} {} {} {} {}\n", addr(l.start_data), addr(l.end_data),
                     addr(l.start_brk), addr(l.arg_start), addr(l.arg_end), addr(l.env_start),
                     addr(l.env_end), permitted ? p.exit_code : 0);
  return out;
}

Result<std::string> StatmText(const PidRef& r) {
  ProcessInfo p = TRY(r.Info());
  if (p.zombie) return std::string("0 0 0 0 0 0 0\n");
  auto maps = TRY(r.src().Mappings(r.pid));
  const VmUsage u = Usage(maps, ExePath(r));
  return fmt::format("{} {} {} {} 0 {} 0\n", u.size / 4096, u.rss / 4096,
                     (u.file + u.shmem) / 4096, u.exe / 4096, (u.data + u.stack) / 4096);
}

// The first part of a maps line (show_vma_header_prefix), padded for a name.
std::string MapsLine(const Mapping& m) {
  uint64_t dev = 0, ino = 0;
  if (m.file) {
    if (auto st = m.file->Stat()) {
      dev = st->st_dev;
      ino = st->st_ino;
    }
  }
  std::string line = fmt::format("{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ", m.start, m.end,
                                 (m.prot & PROT_READ) ? 'r' : '-', (m.prot & PROT_WRITE) ? 'w' : '-',
                                 (m.prot & PROT_EXEC) ? 'x' : '-', m.shared ? 's' : 'p',
                                 m.file ? m.offset : 0, major(dev), minor(dev), ino);
  std::string name = m.name;
  if (m.file && m.file->path().valid() && m.file->path().dentry->inode()->Unlinked() &&
      !name.ends_with(" (deleted)")) {
    name += " (deleted)";
  }
  if (!name.empty()) {
    // seq_pad: the name starts at column 74.
    line.resize(std::max<size_t>(line.size(), 72), ' ');
    line += ' ';
    line += name;
  }
  return line + "\n";
}

Result<std::string> MapsText(const PidRef& r) {
  ProcessInfo p = TRY(r.Info());
  if (p.zombie) return std::string();
  std::string out;
  for (const auto& m : TRY(r.src().Mappings(r.pid))) out += MapsLine(m);
  return out;
}

Result<std::string> SmapsText(const PidRef& r) {
  ProcessInfo p = TRY(r.Info());
  if (p.zombie) return std::string();
  std::string out;
  auto kb = [&out](std::string_view name, uint64_t bytes) {
    out += fmt::format("{:<16}{:>8} kB\n", std::string(name) + ":", bytes / 1024);
  };
  for (const auto& m : TRY(r.src().Mappings(r.pid))) {
    out += MapsLine(m);
    const uint64_t priv = m.shared ? 0 : m.rss;
    const uint64_t shared = m.shared ? m.rss : 0;
    kb("Size", m.end - m.start);
    kb("KernelPageSize", 4096);
    kb("MMUPageSize", 4096);
    kb("Rss", m.rss);
    kb("Pss", m.rss);
    kb("Pss_Dirty", m.rss_anon);
    kb("Shared_Clean", m.rss_anon ? 0 : shared);
    kb("Shared_Dirty", m.rss_anon ? shared : 0);
    kb("Private_Clean", priv - std::min(priv, m.rss_anon));
    kb("Private_Dirty", std::min(priv, m.rss_anon));
    kb("Referenced", m.rss);
    kb("Anonymous", m.rss_anon);
    for (const char* z : {"KSM", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
                          "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked"}) {
      kb(z, 0);
    }
    out += fmt::format("{:<16}{:>8}\n", "THPeligible:", 0);
    std::string flags;
    if (m.prot & PROT_READ) flags += "rd ";
    if (m.prot & PROT_WRITE) flags += "wr ";
    if (m.prot & PROT_EXEC) flags += "ex ";
    if (m.shared) flags += "sh ";
    flags += "mr mw me ";
    if (m.shared) flags += "ms ";
    if (m.growsdown) flags += "gd ";
    if (!m.shared && (m.prot & PROT_WRITE)) flags += "ac ";
    out += "VmFlags: " + flags + "\n";
  }
  return out;
}

// Up to `len` bytes of process `r`'s memory from `addr`, as much as can be
// read.
Result<std::string> ReadText(const PidRef& r, uint64_t addr, uint64_t len) {
  std::string buf(len, '\0');
  size_t n = TRY(r.src().ReadMemory(
      r.pid, addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size())));
  buf.resize(n);
  return buf;
}

// cmdline: the argument strings; a process that wrote over their end
// (setproctitle) has its text run on into the environment up to a NUL, as
// Linux's get_mm_cmdline allows.
Result<std::string> CmdlineText(const PidRef& r) {
  ProcessInfo p = TRY(r.Info());
  if (p.zombie) return std::string();
  auto lay = r.src().Layout(r.pid);
  if (!lay || lay->arg_end <= lay->arg_start) return std::string();
  std::string buf = TRY(ReadText(r, lay->arg_start, lay->arg_end - lay->arg_start));
  if (buf.empty() || buf.back() == '\0') return buf;
  // The end was overwritten: the text stops at its first NUL, or runs on.
  if (size_t nul = buf.find('\0'); nul != std::string::npos) return buf.substr(0, nul + 1);
  if (lay->env_end > lay->arg_end) {
    std::string more =
        TRY(ReadText(r, lay->arg_end, std::min<uint64_t>(lay->env_end - lay->arg_end, 4096)));
    if (size_t nul = more.find('\0'); nul != std::string::npos) more.resize(nul + 1);
    buf += more;
  }
  return buf;
}

Result<std::string> EnvironText(const PidRef& r) {
  ProcessInfo p = TRY(r.Info());
  if (p.zombie) return std::string();
  auto lay = r.src().Layout(r.pid);
  if (!lay || lay->env_end <= lay->env_start) return std::string();
  return ReadText(r, lay->env_start, lay->env_end - lay->env_start);
}

Result<std::string> CommText(const PidRef& r) {
  ProcessInfo p = TRY(r.Info());
  return (p.thread ? p.thread->comm : p.comm) + "\n";
}

Result<size_t> CommWrite(const PidRef& r, std::string_view data) {
  // Linux's comm_write: at most TASK_COMM_LEN - 1 bytes, taken as they are.
  std::string name(data.substr(0, std::min<size_t>(data.size(), 15)));
  if (size_t nul = name.find('\0'); nul != std::string::npos) name.resize(nul);
  int tid = r.tid;
  if (tid == 0) {
    ProcessInfo p = TRY(r.Info());
    tid = p.thread ? p.thread->tid : r.pid;
  }
  TRY(r.src().SetComm(r.pid, tid, std::move(name)));
  return data.size();
}

Result<std::string> LimitsText(const PidRef& r) {
  ProcessInfo p = TRY(r.Info());
  struct Row {
    const char* name;
    int resource;
    const char* units;
  };
  static constexpr Row kRows[] = {
      {"Max cpu time", RLIMIT_CPU, "seconds"},
      {"Max file size", RLIMIT_FSIZE, "bytes"},
      {"Max data size", RLIMIT_DATA, "bytes"},
      {"Max stack size", RLIMIT_STACK, "bytes"},
      {"Max core file size", RLIMIT_CORE, "bytes"},
      {"Max resident set", RLIMIT_RSS, "bytes"},
      {"Max processes", RLIMIT_NPROC, "processes"},
      {"Max open files", RLIMIT_NOFILE, "files"},
      {"Max locked memory", RLIMIT_MEMLOCK, "bytes"},
      {"Max address space", RLIMIT_AS, "bytes"},
      {"Max file locks", RLIMIT_LOCKS, "locks"},
      {"Max pending signals", RLIMIT_SIGPENDING, "signals"},
      {"Max msgqueue size", RLIMIT_MSGQUEUE, "bytes"},
      {"Max nice priority", RLIMIT_NICE, ""},
      {"Max realtime priority", RLIMIT_RTPRIO, ""},
      {"Max realtime timeout", RLIMIT_RTTIME, "us"},
  };
  auto value = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
  std::string out = fmt::format("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
  for (const Row& row : kRows) {
    const rlimit& l = p.rlimits[row.resource];
    out += fmt::format("{:<25} {:<20} {:<20} ", row.name, value(l.rlim_cur), value(l.rlim_max));
    out += *row.units ? fmt::format("{:<10}\n", row.units) : "\n";
  }
  return out;
}

Result<std::string> OomScoreAdjText(const PidRef& r) {
  ProcessInfo p = TRY(r.Info());
  return fmt::format("{}\n", p.oom_score_adj);
}

Result<size_t> OomScoreAdjWrite(const PidRef& r, std::string_view data) {
  std::string s(data);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  s = s.substr(i);
  bool neg = !s.empty() && s[0] == '-';
  if (neg || (!s.empty() && s[0] == '+')) s = s.substr(1);
  int v = 0;
  if (s.empty() || s.size() > 6 || !ParseNumber(s, &v)) {
    if (s != "0") return Errno(EINVAL);
    v = 0;
  }
  if (neg) v = -v;
  if (v < -1000 || v > 1000) return Errno(EINVAL);
  TRY(r.src().SetOomScoreAdj(r.pid, v));
  return data.size();
}

Result<std::string> PlaceMounts(const PidRef& r, bool info) {
  Path root = TRY(r.src().PlaceOf(r.pid, Place::kRoot));
  return info ? MountInfoText(r.fs->vfs, root) : MountsText(r.fs->vfs, root);
}

// The files of a process (tid 0) or thread directory.
struct Entry {
  const char* name;
  mode_t mode;  // type and permissions
  bool process_only;
  std::function<std::shared_ptr<SynthInode>(const PidRef&)> make;
};

std::shared_ptr<SynthInode> File(const PidRef& r, const char* name, mode_t perm, PidFile::Gen gen,
                                 PidFile::Put put = nullptr, bool check = false) {
  return std::make_shared<PidFile>(r, name, perm, std::move(gen), std::move(put), check);
}

const std::vector<Entry>& Entries() {
  static const std::vector<Entry> kEntries = {
      {"task", S_IFDIR | 0555, true, [](const PidRef& r) { return std::make_shared<TaskDir>(r); }},
      {"fd", S_IFDIR | 0500, false, [](const PidRef& r) { return std::make_shared<FdDir>(r, false); }},
      {"fdinfo", S_IFDIR | 0500, false,
       [](const PidRef& r) { return std::make_shared<FdDir>(r, true); }},
      {"cmdline", S_IFREG | 0444, false, [](const PidRef& r) { return File(r, "cmdline", 0444, CmdlineText); }},
      {"comm", S_IFREG | 0644, false,
       [](const PidRef& r) { return File(r, "comm", 0644, CommText, CommWrite); }},
      {"environ", S_IFREG | 0400, false,
       [](const PidRef& r) { return File(r, "environ", 0400, EnvironText, nullptr, true); }},
      {"exe", S_IFLNK | 0777, false,
       [](const PidRef& r) { return std::make_shared<PlaceLink>(r, "exe", Place::kExe); }},
      {"cwd", S_IFLNK | 0777, false,
       [](const PidRef& r) { return std::make_shared<PlaceLink>(r, "cwd", Place::kCwd); }},
      {"root", S_IFLNK | 0777, false,
       [](const PidRef& r) { return std::make_shared<PlaceLink>(r, "root", Place::kRoot); }},
      {"stat", S_IFREG | 0444, false,
       [](const PidRef& r) {
         const bool whole = r.tid == 0;
         return File(r, "stat", 0444, [whole](const PidRef& r) { return StatText(r, whole); });
       }},
      {"statm", S_IFREG | 0444, false, [](const PidRef& r) { return File(r, "statm", 0444, StatmText); }},
      {"status", S_IFREG | 0444, false, [](const PidRef& r) { return File(r, "status", 0444, StatusText); }},
      {"maps", S_IFREG | 0444, false,
       [](const PidRef& r) { return File(r, "maps", 0444, MapsText, nullptr, true); }},
      {"smaps", S_IFREG | 0444, false,
       [](const PidRef& r) { return File(r, "smaps", 0444, SmapsText, nullptr, true); }},
      {"mem", S_IFREG | 0600, false, [](const PidRef& r) { return std::make_shared<MemFile>(r); }},
      {"limits", S_IFREG | 0444, false, [](const PidRef& r) { return File(r, "limits", 0444, LimitsText); }},
      {"mounts", S_IFREG | 0444, false,
       [](const PidRef& r) {
         return File(r, "mounts", 0444, [](const PidRef& r) { return PlaceMounts(r, false); });
       }},
      {"mountinfo", S_IFREG | 0444, false,
       [](const PidRef& r) {
         return File(r, "mountinfo", 0444, [](const PidRef& r) { return PlaceMounts(r, true); });
       }},
      {"cgroup", S_IFREG | 0444, false,
       [](const PidRef& r) {
         return File(r, "cgroup", 0444, [](const PidRef&) -> Result<std::string> { return std::string("0::/\n"); });
       }},
      {"oom_score_adj", S_IFREG | 0644, false,
       [](const PidRef& r) { return File(r, "oom_score_adj", 0644, OomScoreAdjText, OomScoreAdjWrite); }},
      {"oom_score", S_IFREG | 0444, false,
       [](const PidRef& r) {
         return File(r, "oom_score", 0444, [](const PidRef& r) -> Result<std::string> {
           ProcessInfo p = TRY(r.Info());
           return fmt::format("{}\n", std::clamp(666 + p.oom_score_adj, 0, 2000));
         });
       }},
      {"loginuid", S_IFREG | 0644, false,
       [](const PidRef& r) {
         // No audit login: (uid_t)-1, with no newline, as Linux prints it.
         return File(
             r, "loginuid", 0644,
             [](const PidRef&) -> Result<std::string> { return std::string("4294967295"); },
             [](const PidRef&, std::string_view) -> Result<size_t> { return Errno(EPERM); });
       }},
      {"sessionid", S_IFREG | 0444, false,
       [](const PidRef& r) {
         return File(r, "sessionid", 0444,
                     [](const PidRef&) -> Result<std::string> { return std::string("4294967295"); });
       }},
      // PARTIAL(io accounting): nothing is counted.
      {"io", S_IFREG | 0400, false,
       [](const PidRef& r) {
         return File(
             r, "io", 0400,
             [](const PidRef&) -> Result<std::string> {
               return std::string(
                   "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\n"
                   "cancelled_write_bytes: 0\n");
             },
             nullptr, true);
       }},
      {"schedstat", S_IFREG | 0444, false,
       [](const PidRef& r) {
         return File(r, "schedstat", 0444, [](const PidRef& r) -> Result<std::string> {
           ProcessInfo p = TRY(r.Info(/*times=*/true));
           const ThreadInfo* t = p.thread ? &*p.thread : nullptr;
           const int64_t run = r.tid != 0 && t ? t->user_ns + t->sys_ns : p.user_ns + p.sys_ns;
           return fmt::format("{} 0 0\n", run);
         });
       }},
      {"wchan", S_IFREG | 0444, false,
       [](const PidRef& r) {
         return File(r, "wchan", 0444, [](const PidRef&) -> Result<std::string> { return std::string("0"); });
       }},
      // The sandbox's one user namespace maps every id to itself.
      {"uid_map", S_IFREG | 0644, false,
       [](const PidRef& r) {
         return File(r, "uid_map", 0644, [](const PidRef&) -> Result<std::string> {
           return fmt::format("{:>10} {:>10} {:>10}\n", 0, 0, 4294967295u);
         });
       }},
      {"gid_map", S_IFREG | 0644, false,
       [](const PidRef& r) {
         return File(r, "gid_map", 0644, [](const PidRef&) -> Result<std::string> {
           return fmt::format("{:>10} {:>10} {:>10}\n", 0, 0, 4294967295u);
         });
       }},
      {"setgroups", S_IFREG | 0644, false,
       [](const PidRef& r) {
         return File(r, "setgroups", 0644,
                     [](const PidRef&) -> Result<std::string> { return std::string("allow\n"); });
       }},
  };
  return kEntries;
}

// /proc/[pid] or /proc/[pid]/task/[tid].
class PidDir final : public SynthDir {
 public:
  explicit PidDir(PidRef ref) : SynthDir(ref.fs->fs, InoOf(ref.key)), ref_(std::move(ref)) {}

  Result<std::shared_ptr<Inode>> Lookup(std::string_view name) override {
    for (const auto& e : Entries()) {
      if (e.process_only && ref_.tid != 0) continue;
      if (name == e.name) return std::shared_ptr<Inode>(e.make(ref_));
    }
    return Errno(ENOENT);
  }
  Result<std::vector<DirEntry>> List() override {
    if (!ref_.Alive()) return Errno(ENOENT);
    std::vector<DirEntry> out;
    for (const auto& e : Entries()) {
      if (e.process_only && ref_.tid != 0) continue;
      out.push_back(DirEntry{ref_.Ino(e.name), DirentType(e.mode), e.name});
    }
    return out;
  }
  bool Revalidate() override { return ref_.Alive(); }

 protected:
  std::pair<uint32_t, uint32_t> Owner() override { return ref_.Owner(); }

 private:
  PidRef ref_;
};

}  // namespace

Result<void> MayAccess(const Caller& caller, int pid, const Credentials& target, int dumpable) {
  if (caller.pid == 0 || caller.pid == pid) return Ok();
  const Credentials& me = caller.creds;
  if (me.HasCapability(CAP_SYS_PTRACE)) return Ok();
  const bool same_ids = me.fsuid == target.uid && me.fsuid == target.euid &&
                        me.fsuid == target.suid && me.fsgid == target.gid &&
                        me.fsgid == target.egid && me.fsgid == target.sgid;
  if (!same_ids || dumpable != 1) return Errno(EACCES);
  if ((target.cap_permitted & ~me.cap_permitted) != 0) return Errno(EACCES);
  return Ok();
}

std::shared_ptr<SynthInode> NewPidDir(ProcFsRef fs, int pid, int tid, int64_t start_ns) {
  PidRef ref;
  ref.fs = std::move(fs);
  ref.pid = pid;
  ref.tid = tid;
  ref.start_ns = start_ns;
  ref.key = tid == 0 ? std::to_string(pid) : fmt::format("{}/task/{}", pid, tid);
  return std::make_shared<PidDir>(std::move(ref));
}

}  // namespace husk::vfs::proc
