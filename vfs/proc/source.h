// ProcSource: what procfs asks of the kernel. procfs (vfs/proc) knows
// Linux's file formats and the shape of /proc; the kernel (sentry/kernel/
// proc_source.cc) knows the processes. The kernel answers with snapshots:
// plain data taken under its locks, formatted here without them.
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "vfs/file.h"
#include "vfs/inode.h"

namespace husk::vfs::proc {

// The task reading /proc: "self" is its process, and access checks are
// made with its credentials.
struct Caller {
  int pid = 0;  // 0: no task (the sentry itself)
  int tid = 0;
  Credentials creds;
  Path root;  // paths are shown as this root sees them
};

// One thread.
struct ThreadInfo {
  int tid = 0;
  std::string comm;
  // R running, S sleeping, T stopped (the process is), Z zombie.
  char state = 'R';
  int64_t start_ns = 0;  // since the sandbox's boot
  int64_t user_ns = 0;
  int64_t sys_ns = 0;
  uint64_t pending = 0;  // thread-directed signals
  uint64_t blocked = 0;
  int nice = 0;
  int policy = 0;
  int rt_priority = 0;
  std::vector<uint8_t> cpus;  // the CPUs it may run on, a kernel cpumask
  Credentials creds;
  bool no_new_privs = false;
};

// One process (thread group).
struct ProcessInfo {
  int pid = 0;
  int ppid = 0;
  std::string comm;  // the leader's name (a zombie's: its last thread's)
  int pgid = 0;
  int sid = 0;
  // The controlling terminal (stat's tty_nr, new_encode_dev) and its
  // foreground group (tpgid, -1: none).
  uint32_t tty_nr = 0;
  int tpgid = -1;
  char state = 'R';  // the leader's, or Z for a zombie
  bool zombie = false;
  int64_t start_ns = 0;  // since the sandbox's boot; with the pid, its identity
  int exit_signal = 0;
  int exit_code = 0;  // a zombie's wait status
  int64_t user_ns = 0;
  int64_t sys_ns = 0;
  int64_t children_user_ns = 0;
  int64_t children_sys_ns = 0;
  uint64_t shared_pending = 0;
  uint64_t ignored = 0;  // signals whose action is SIG_IGN
  uint64_t caught = 0;   // signals with a handler
  std::array<rlimit, RLIM_NLIMITS> rlimits{};
  mode_t umask = 022;
  int dumpable = 1;
  int oom_score_adj = 0;
  int fd_slots = 0;  // FDSize
  Credentials creds;  // the leader's (a zombie's: its last thread's)
  // The thread procfs asked about (or the leader); none for a zombie.
  std::optional<ThreadInfo> thread;
  int thread_count = 0;
};

// One mapping of /proc/[pid]/maps.
struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;
  int prot = 0;
  bool shared = false;
  bool growsdown = false;
  uint64_t offset = 0;
  std::shared_ptr<FileDescription> file;  // null: anonymous
  std::string name;                       // "[heap]", "[stack]", "[vdso]", a path
  uint64_t rss = 0;                       // bytes resident
  uint64_t rss_anon = 0;                  // of them, the process's own memory
  uint64_t rss_shmem = 0;                 // of them, shared memory (tmpfs, MAP_SHARED|MAP_ANONYMOUS)
};

// Where exec put things (mm_struct's start_code ... env_end).
struct MemoryLayout {
  uint64_t start_code = 0;
  uint64_t end_code = 0;
  uint64_t start_data = 0;
  uint64_t end_data = 0;
  uint64_t start_brk = 0;
  uint64_t brk = 0;
  uint64_t start_stack = 0;
  uint64_t arg_start = 0;
  uint64_t arg_end = 0;
  uint64_t env_start = 0;
  uint64_t env_end = 0;
};

struct FdEntry {
  std::shared_ptr<FileDescription> file;
  bool cloexec = false;
};

// The sandbox as a whole.
struct SystemInfo {
  timespec boot_time{};  // CLOCK_REALTIME at boot (btime)
  int64_t uptime_ns = 0;
  // Memory, in bytes (MemTotal, MemFree ... of /proc/meminfo).
  uint64_t mem_total = 0;
  uint64_t mem_free = 0;
  uint64_t mem_available = 0;
  uint64_t buffers = 0;
  uint64_t cached = 0;
  uint64_t shmem = 0;
  uint64_t swap_total = 0;
  uint64_t swap_free = 0;
  // CPU time every process of the sandbox has used, live or gone.
  int64_t user_ns = 0;
  int64_t sys_ns = 0;
  int threads = 0;
  int running = 0;  // threads in state R
  int blocked = 0;
  uint64_t forks = 0;  // processes and threads created since boot
  int last_pid = 0;
  std::string hostname;
};

class ProcSource {
 public:
  virtual ~ProcSource() = default;

  virtual Caller CurrentCaller() = 0;
  virtual SystemInfo System() = 0;
  // The sandbox's CPUs, a kernel cpumask as sched_getaffinity(2) gives it.
  virtual std::vector<uint8_t> Cpus() = 0;
  // /proc/cpuinfo's text: the host's, for the sandbox's CPUs.
  virtual std::string CpuInfo() = 0;

  // Processes, zombies too, ascending.
  virtual std::vector<int> Pids() = 0;
  // The process `pid` and its thread `tid` (0: the leader, or the first
  // live thread). Null if there is no such process, or `tid` is not one
  // of its live threads. `times`: fill in the CPU times too (a little
  // dearer).
  virtual std::optional<ProcessInfo> Process(int pid, int tid = 0, bool times = false) = 0;
  // The live threads of process `pid`, ascending.
  virtual std::vector<int> Tids(int pid) = 0;
  // The process live task `tid` belongs to.
  virtual std::optional<int> ThreadGroupOf(int tid) = 0;
  // Whether process `pid` (started at `start_ns`) is still there, and if
  // `tid` is nonzero, its thread `tid` too.
  virtual bool Alive(int pid, int64_t start_ns, int tid) = 0;

  // A live process's memory (ESRCH for a zombie or a gone one).
  virtual Result<std::vector<Mapping>> Mappings(int pid) = 0;
  virtual Result<MemoryLayout> Layout(int pid) = 0;
  // Reads what is readable of [addr, addr+buf.size()): the count.
  virtual Result<size_t> ReadMemory(int pid, uint64_t addr, std::span<uint8_t> buf) = 0;
  virtual Result<size_t> WriteMemory(int pid, uint64_t addr, std::span<const uint8_t> buf) = 0;

  // Its files and places (ENOENT when it has none: a zombie).
  virtual Result<std::vector<int>> Fds(int pid) = 0;
  virtual Result<FdEntry> Fd(int pid, int fd) = 0;
  enum class Place { kCwd, kRoot, kExe };
  virtual Result<Path> PlaceOf(int pid, Place which) = 0;

  // Writes: /proc/[pid]/task/[tid]/comm of a thread of the caller's own
  // process (EINVAL otherwise), /proc/[pid]/oom_score_adj.
  virtual Result<void> SetComm(int pid, int tid, std::string name) = 0;
  virtual Result<void> SetOomScoreAdj(int pid, int value) = 0;
};

}  // namespace husk::vfs::proc
