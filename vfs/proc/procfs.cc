// /proc's root and its system-wide files (fs/proc/root.c, meminfo.c,
// stat.c, uptime.c, loadavg.c, version.c, proc_namespace.c, and
// kernel/sysctl.c's /proc/sys).
#include "vfs/proc/procfs.h"

#include <dirent.h>
#include <sys/random.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include <algorithm>

#include <fmt/format.h>

#include "vfs/proc/internal.h"

namespace husk::vfs::proc {
namespace {

constexpr unsigned kProcMinor = 20;

std::string Kb(std::string_view name, uint64_t bytes) {
  return fmt::format("{:<16}{:>8} kB\n", std::string(name) + ":", bytes / 1024);
}

Result<std::string> MeminfoText(ProcSource& src) {
  const SystemInfo s = src.System();
  const uint64_t used = s.mem_total - std::min(s.mem_total, s.mem_free);
  std::string out;
  out += Kb("MemTotal", s.mem_total);
  out += Kb("MemFree", s.mem_free);
  out += Kb("MemAvailable", s.mem_available);
  out += Kb("Buffers", s.buffers);
  out += Kb("Cached", s.cached);
  out += Kb("SwapCached", 0);
  out += Kb("Active", used);
  out += Kb("Inactive", 0);
  out += Kb("Active(anon)", used);
  out += Kb("Inactive(anon)", 0);
  out += Kb("Active(file)", 0);
  out += Kb("Inactive(file)", 0);
  out += Kb("Unevictable", 0);
  out += Kb("Mlocked", 0);
  out += Kb("SwapTotal", s.swap_total);
  out += Kb("SwapFree", s.swap_free);
  out += Kb("Dirty", 0);
  out += Kb("Writeback", 0);
  out += Kb("AnonPages", used - std::min(used, s.shmem));
  out += Kb("Mapped", 0);
  out += Kb("Shmem", s.shmem);
  out += Kb("KReclaimable", 0);
  out += Kb("Slab", 0);
  out += Kb("SReclaimable", 0);
  out += Kb("SUnreclaim", 0);
  out += Kb("KernelStack", 0);
  out += Kb("PageTables", 0);
  out += Kb("NFS_Unstable", 0);
  out += Kb("Bounce", 0);
  out += Kb("WritebackTmp", 0);
  out += Kb("CommitLimit", s.mem_total / 2 + s.swap_total);
  out += Kb("Committed_AS", used);
  out += Kb("VmallocTotal", 34359738367ULL * 1024);
  out += Kb("VmallocUsed", 0);
  out += Kb("VmallocChunk", 0);
  out += Kb("Percpu", 0);
  out += Kb("AnonHugePages", 0);
  out += Kb("ShmemHugePages", 0);
  out += Kb("ShmemPmdMapped", 0);
  out += Kb("FileHugePages", 0);
  out += Kb("FilePmdMapped", 0);
  for (const char* n : {"HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp"}) {
    out += fmt::format("{:<16}{:>8}\n", std::string(n) + ":", 0);
  }
  out += Kb("Hugepagesize", 2048 * 1024);
  out += Kb("Hugetlb", 0);
  return out;
}

// PARTIAL(vmstat): the page counts follow meminfo; no event is counted.
Result<std::string> VmstatText(ProcSource& src) {
  const SystemInfo s = src.System();
  const uint64_t used = (s.mem_total - std::min(s.mem_total, s.mem_free)) / 4096;
  std::string out;
  auto line = [&out](std::string_view name, uint64_t v) { out += fmt::format("{} {}\n", name, v); };
  line("nr_free_pages", s.mem_free / 4096);
  line("nr_inactive_anon", 0);
  line("nr_active_anon", used);
  line("nr_inactive_file", 0);
  line("nr_active_file", 0);
  line("nr_unevictable", 0);
  line("nr_anon_pages", used);
  line("nr_mapped", 0);
  line("nr_file_pages", s.cached / 4096);
  line("nr_dirty", 0);
  line("nr_writeback", 0);
  line("nr_shmem", s.shmem / 4096);
  for (const char* n : {"pgpgin", "pgpgout", "pswpin", "pswpout", "pgalloc_normal", "pgfree",
                        "pgactivate", "pgdeactivate", "pgfault", "pgmajfault"}) {
    line(n, 0);
  }
  return out;
}

// The sandbox's CPU time, spread evenly over its CPUs; the rest of the
// time since boot is idle.
struct CpuTicks {
  uint64_t user = 0, sys = 0, idle = 0;
};

Result<std::string> StatText(ProcSource& src) {
  const SystemInfo s = src.System();
  const int ncpu = std::max(1, CpuCount(src.Cpus()));
  const uint64_t up = static_cast<uint64_t>(std::max<int64_t>(s.uptime_ns, 0) / kNsPerTick);
  CpuTicks all;
  all.user = static_cast<uint64_t>(std::max<int64_t>(s.user_ns, 0) / kNsPerTick);
  all.sys = static_cast<uint64_t>(std::max<int64_t>(s.sys_ns, 0) / kNsPerTick);
  const uint64_t total = up * static_cast<uint64_t>(ncpu);
  all.idle = total - std::min(total, all.user + all.sys);
  auto line = [](std::string_view name, const CpuTicks& c) {
    return fmt::format("{} {} 0 {} {} 0 0 0 0 0 0\n", name, c.user, c.sys, c.idle);
  };
  std::string out = line("cpu ", all);
  const auto cpus = src.Cpus();
  for (size_t byte = 0; byte < cpus.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      if (!(cpus[byte] & (1u << bit))) continue;
      CpuTicks c{all.user / ncpu, all.sys / ncpu, all.idle / ncpu};
      out += line(fmt::format("cpu{}", byte * 8 + bit), c);
    }
  }
  out += "intr 0\nctxt 0\n";
  out += fmt::format("btime {}\n", s.boot_time.tv_sec);
  out += fmt::format("processes {}\n", s.forks);
  out += fmt::format("procs_running {}\n", std::max(1, s.running));
  out += fmt::format("procs_blocked {}\n", s.blocked);
  out += "softirq 0 0 0 0 0 0 0 0 0 0 0\n";
  return out;
}

Result<std::string> UptimeText(ProcSource& src) {
  const SystemInfo s = src.System();
  const int ncpu = std::max(1, CpuCount(src.Cpus()));
  const double up = static_cast<double>(s.uptime_ns) / 1e9;
  const double busy = static_cast<double>(s.user_ns + s.sys_ns) / 1e9;
  const double idle = std::max(0.0, up * ncpu - busy);
  return fmt::format("{:.2f} {:.2f}\n", up, idle);
}

// PARTIAL(load average): no run-queue sampling; the averages are 0.
Result<std::string> LoadavgText(ProcSource& src) {
  const SystemInfo s = src.System();
  return fmt::format("0.00 0.00 0.00 {}/{} {}\n", std::max(1, s.running), s.threads, s.last_pid);
}

Result<std::string> VersionText() {
  utsname u{};
  uname(&u);
  return fmt::format("Linux version {} (husk@husk) (husk sentry) {}\n", u.release, u.version);
}

std::string Escape(std::string_view s) {
  // Linux's mangle(): space, tab, newline and backslash as octal.
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      out += fmt::format("\\{:03o}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

std::string MountPoint(const Vfs& vfs, const Path& root, const Mount& m) {
  return m.mountpoint().valid() ? vfs.PathOf(root, m.mountpoint()) : "/";
}

// Options of a mount as mounts shows them.
std::string MountOptions(const Mount& m) {
  std::string opts = m.read_only() ? "ro" : "rw";
  if (m.fs_type() == "proc" || m.fs_type() == "sysfs") opts += ",nosuid,nodev,noexec";
  return opts + ",relatime";
}

// The text of a file of /proc/sys.
std::shared_ptr<SynthInode> Sysctl(const SynthFs& fs, const std::string& key,
                                   std::function<Result<std::string>()> fn) {
  return std::make_shared<TextFile>(fs, InoOf(key), std::move(fn), 0444);
}
std::shared_ptr<SynthInode> Sysctl(const SynthFs& fs, const std::string& key, std::string value) {
  return Sysctl(fs, key, [value = std::move(value)]() -> Result<std::string> { return value; });
}

std::string RandomUuid() {
  uint8_t b[16];
  (void)getrandom(b, sizeof(b), 0);
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
                     "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}\n",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                     b[12], b[13], b[14], b[15]);
}

// /proc/sys/kernel/hostname: only CAP_SYS_ADMIN may change it, which the
// sandbox's root lacks.
class HostnameFile final : public SynthFile {
 public:
  HostnameFile(const SynthFs& fs, ProcFsRef pfs)
      : SynthFile(fs, InoOf("sys/kernel/hostname"), 0644), pfs_(std::move(pfs)) {}
  Result<std::string> Generate() override { return pfs_->src->System().hostname + "\n"; }
  Result<size_t> Write(std::string_view) override { return Errno(EPERM); }

 private:
  ProcFsRef pfs_;
};

std::shared_ptr<SynthInode> NewSysDir(const ProcFsRef& pfs) {
  const SynthFs& fs = pfs->fs;
  utsname u{};
  uname(&u);
  auto sys = std::make_shared<StaticDir>(fs, InoOf("sys"));

  auto kernel = std::make_shared<StaticDir>(fs, InoOf("sys/kernel"));
  kernel->Add("hostname", std::make_shared<HostnameFile>(fs, pfs));
  kernel->Add("ostype", Sysctl(fs, "sys/kernel/ostype", "Linux\n"));
  kernel->Add("osrelease", Sysctl(fs, "sys/kernel/osrelease", std::string(u.release) + "\n"));
  kernel->Add("version", Sysctl(fs, "sys/kernel/version", std::string(u.version) + "\n"));
  kernel->Add("domainname", Sysctl(fs, "sys/kernel/domainname", "(none)\n"));
  kernel->Add("pid_max", Sysctl(fs, "sys/kernel/pid_max", "4194304\n"));
  kernel->Add("threads-max", Sysctl(fs, "sys/kernel/threads-max", "126329\n"));
  kernel->Add("ngroups_max", Sysctl(fs, "sys/kernel/ngroups_max", "65536\n"));
  kernel->Add("cap_last_cap", Sysctl(fs, "sys/kernel/cap_last_cap", "40\n"));
  kernel->Add("overflowuid", Sysctl(fs, "sys/kernel/overflowuid", "65534\n"));
  kernel->Add("overflowgid", Sysctl(fs, "sys/kernel/overflowgid", "65534\n"));
  kernel->Add("shmmax", Sysctl(fs, "sys/kernel/shmmax", "18446744073692774399\n"));
  kernel->Add("shmall", Sysctl(fs, "sys/kernel/shmall", "18446744073692774399\n"));
  kernel->Add("shmmni", Sysctl(fs, "sys/kernel/shmmni", "4096\n"));
  kernel->Add("core_pattern", Sysctl(fs, "sys/kernel/core_pattern", "core\n"));
  kernel->Add("randomize_va_space", Sysctl(fs, "sys/kernel/randomize_va_space", "2\n"));
  auto random = std::make_shared<StaticDir>(fs, InoOf("sys/kernel/random"));
  random->Add("uuid", Sysctl(fs, "sys/kernel/random/uuid", [] { return Result<std::string>(RandomUuid()); }));
  random->Add("boot_id", Sysctl(fs, "sys/kernel/random/boot_id", RandomUuid()));
  random->Add("entropy_avail", Sysctl(fs, "sys/kernel/random/entropy_avail", "256\n"));
  random->Add("poolsize", Sysctl(fs, "sys/kernel/random/poolsize", "256\n"));
  kernel->Add("random", random);
  sys->Add("kernel", kernel);

  auto vm = std::make_shared<StaticDir>(fs, InoOf("sys/vm"));
  vm->Add("overcommit_memory", Sysctl(fs, "sys/vm/overcommit_memory", "0\n"));
  vm->Add("overcommit_ratio", Sysctl(fs, "sys/vm/overcommit_ratio", "50\n"));
  vm->Add("max_map_count", Sysctl(fs, "sys/vm/max_map_count", "65530\n"));
  vm->Add("mmap_min_addr", Sysctl(fs, "sys/vm/mmap_min_addr", "65536\n"));
  vm->Add("swappiness", Sysctl(fs, "sys/vm/swappiness", "60\n"));
  sys->Add("vm", vm);

  auto fsdir = std::make_shared<StaticDir>(fs, InoOf("sys/fs"));
  fsdir->Add("file-max", Sysctl(fs, "sys/fs/file-max", "9223372036854775807\n"));
  fsdir->Add("nr_open", Sysctl(fs, "sys/fs/nr_open", "1048576\n"));
  fsdir->Add("pipe-max-size", Sysctl(fs, "sys/fs/pipe-max-size", "1048576\n"));
  auto inotify = std::make_shared<StaticDir>(fs, InoOf("sys/fs/inotify"));
  inotify->Add("max_user_watches", Sysctl(fs, "sys/fs/inotify/max_user_watches", "8192\n"));
  inotify->Add("max_user_instances", Sysctl(fs, "sys/fs/inotify/max_user_instances", "128\n"));
  inotify->Add("max_queued_events", Sysctl(fs, "sys/fs/inotify/max_queued_events", "16384\n"));
  fsdir->Add("inotify", inotify);
  sys->Add("fs", fsdir);

  auto net = std::make_shared<StaticDir>(fs, InoOf("sys/net"));
  auto core = std::make_shared<StaticDir>(fs, InoOf("sys/net/core"));
  core->Add("somaxconn", Sysctl(fs, "sys/net/core/somaxconn", "4096\n"));
  net->Add("core", core);
  sys->Add("net", net);
  return sys;
}

// /proc/self and /proc/thread-self.
class SelfLink final : public SynthLink {
 public:
  SelfLink(const ProcFsRef& pfs, bool thread)
      : SynthLink(pfs->fs, InoOf(thread ? "thread-self" : "self")), pfs_(pfs), thread_(thread) {}
  Result<std::string> ReadLink() override {
    const Caller c = pfs_->src->CurrentCaller();
    if (c.pid == 0) return Errno(ENOENT);
    return thread_ ? fmt::format("{}/task/{}", c.pid, c.tid) : std::to_string(c.pid);
  }

 private:
  ProcFsRef pfs_;
  bool thread_;
};

bool ParsePid(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9 || s[0] == '0') return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// /proc: the fixed entries, then a directory per process.
class ProcRoot final : public SynthDir {
 public:
  explicit ProcRoot(ProcFsRef pfs) : SynthDir(pfs->fs, 1), pfs_(pfs), fixed_(pfs->fs, 1) {
    const SynthFs& fs = pfs->fs;
    ProcSource* src = pfs->src.get();
    auto text = [&](const char* name, std::function<Result<std::string>()> fn) {
      fixed_.Add(name, std::make_shared<TextFile>(fs, InoOf(name), std::move(fn)));
    };
    fixed_.Add("self", std::make_shared<SelfLink>(pfs, false));
    fixed_.Add("thread-self", std::make_shared<SelfLink>(pfs, true));
    text("cpuinfo", [src] { return Result<std::string>(src->CpuInfo()); });
    text("meminfo", [src] { return MeminfoText(*src); });
    text("vmstat", [src] { return VmstatText(*src); });
    text("stat", [src] { return StatText(*src); });
    text("uptime", [src] { return UptimeText(*src); });
    text("loadavg", [src] { return LoadavgText(*src); });
    text("version", [] { return VersionText(); });
    text("filesystems", [] {
      return Result<std::string>(
          "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tpipefs\nnodev\tsockfs\n"
          "nodev\toverlay\nnodev\t9p\n");
    });
    text("swaps", [] {
      return Result<std::string>("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
    });
    text("cmdline", [] { return Result<std::string>("husk\n"); });
    fixed_.Add("mounts", std::make_shared<TextLink>(fs, InoOf("mounts"), [] {
                 return Result<std::string>("self/mounts");
               }));
    fixed_.Add("sys", NewSysDir(pfs));
  }

  Result<std::shared_ptr<Inode>> Lookup(std::string_view name) override {
    if (auto fixed = fixed_.Lookup(name)) return fixed;
    int pid;
    if (!ParsePid(name, &pid)) return Errno(ENOENT);
    ProcSource& src = *pfs_->src;
    // A thread's id works too, though readdir does not show it.
    if (auto p = src.Process(pid)) return std::shared_ptr<Inode>(NewPidDir(pfs_, pid, 0, p->start_ns));
    if (auto tgid = src.ThreadGroupOf(pid)) {
      if (auto p = src.Process(*tgid)) {
        return std::shared_ptr<Inode>(NewPidDir(pfs_, *tgid, 0, p->start_ns));
      }
    }
    return Errno(ENOENT);
  }
  Result<std::vector<DirEntry>> List() override {
    std::vector<DirEntry> out = TRY(fixed_.List());
    for (int pid : pfs_->src->Pids()) {
      out.push_back(DirEntry{InoOf(std::to_string(pid)), DT_DIR, std::to_string(pid)});
    }
    return out;
  }

 private:
  ProcFsRef pfs_;
  StaticDir fixed_;
};

}  // namespace

int MountId(const Vfs& vfs, const Mount* m) {
  const auto mounts = vfs.Mounts();
  for (size_t i = 0; i < mounts.size(); ++i) {
    if (mounts[i].get() == m) return 20 + static_cast<int>(i);
  }
  return 1;
}

std::string MountsText(const Vfs& vfs, const Path& root) {
  std::string out;
  for (const auto& m : vfs.Mounts()) {
    out += fmt::format("{} {} {} {} 0 0\n", Escape(m->source()), Escape(MountPoint(vfs, root, *m)),
                       m->fs_type(), MountOptions(*m));
  }
  return out;
}

std::string MountInfoText(const Vfs& vfs, const Path& root) {
  const auto mounts = vfs.Mounts();
  std::string out;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const Mount& m = *mounts[i];
    const int parent = m.mountpoint().valid() ? MountId(vfs, m.mountpoint().mount.get()) : 1;
    dev_t dev = 0;
    if (auto st = m.root()->inode()->Stat()) dev = st->st_dev;
    out += fmt::format("{} {} {}:{} / {} {} - {} {} {}\n", 20 + i, parent, major(dev), minor(dev),
                       Escape(MountPoint(vfs, root, m)), MountOptions(m), m.fs_type(),
                       Escape(m.source()), m.read_only() ? "ro" : "rw");
  }
  return out;
}

int CpuCount(const std::vector<uint8_t>& mask) {
  int n = 0;
  for (uint8_t b : mask) n += __builtin_popcount(b);
  return n;
}

int CpuIds(const std::vector<uint8_t>& mask) {
  for (size_t i = mask.size(); i-- > 0;) {
    if (mask[i]) return static_cast<int>(i * 8) + 32 - __builtin_clz(mask[i]);
  }
  return 1;
}

std::string CpuList(const std::vector<uint8_t>& mask) {
  std::string out;
  const int bits = static_cast<int>(mask.size() * 8);
  auto set = [&](int i) { return (mask[static_cast<size_t>(i / 8)] >> (i % 8)) & 1; };
  for (int i = 0; i < bits;) {
    if (!set(i)) {
      ++i;
      continue;
    }
    int j = i;
    while (j + 1 < bits && set(j + 1)) ++j;
    if (!out.empty()) out += ',';
    out += i == j ? std::to_string(i) : fmt::format("{}-{}", i, j);
    i = j + 1;
  }
  return out;
}

std::string CpuMaskHex(const std::vector<uint8_t>& mask, int bits) {
  // Hex digits, most significant first, a comma between 32-bit words
  // (Linux's bitmap "%*pb").
  const int digits = std::max(1, (bits + 3) / 4);
  std::string out;
  for (int d = digits - 1; d >= 0; --d) {
    const size_t byte = static_cast<size_t>(d / 2);
    unsigned nibble = byte < mask.size() ? (mask[byte] >> ((d % 2) * 4)) & 0xf : 0;
    out += "0123456789abcdef"[nibble];
    if (d % 8 == 0 && d != 0) out += ',';
  }
  return out;
}

}  // namespace husk::vfs::proc

namespace husk::vfs {

std::shared_ptr<Mount> NewProcMount(const Vfs& vfs, std::shared_ptr<proc::ProcSource> source) {
  auto pfs = std::make_shared<proc::ProcFs>(
      proc::ProcFs{proc::SynthFs{makedev(0, proc::kProcMinor), proc::kProcSuperMagic}, vfs,
                   std::move(source), {}});
  auto root = std::make_shared<Dentry>(nullptr, "", std::make_shared<proc::ProcRoot>(pfs));
  auto mount = std::make_shared<Mount>(std::move(root), "proc", "proc", false);
  pfs->mount = mount;
  return mount;
}

}  // namespace husk::vfs
