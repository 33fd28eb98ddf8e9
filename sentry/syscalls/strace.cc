// --strace: turns one finished syscall into strace's line. The generic
// path prints each argument by the kind the table gives it; the switch in
// Formatter::Adjust covers the syscalls strace prints differently from
// their kinds alone. All value formatting is in strace_format.cc.
#include "sentry/syscalls/strace.h"

#include <asm/unistd_64.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "sentry/syscalls/strace_format.h"

namespace husk::syscalls {
namespace {

namespace st = husk::strace;

// eventfd2, signalfd4 and timerfd flags, in strace's order.
constexpr st::Name kEfdFlags[] = {{1, "EFD_SEMAPHORE"}, {02000000, "EFD_CLOEXEC"}, {04000, "EFD_NONBLOCK"}};
constexpr st::Name kSfdFlags[] = {{02000000, "SFD_CLOEXEC"}, {04000, "SFD_NONBLOCK"}};
constexpr st::Name kTfdFlags[] = {{1, "TFD_TIMER_ABSTIME"}, {2, "TFD_TIMER_CANCEL_ON_SET"},
                                  {02000000, "TFD_CLOEXEC"}, {04000, "TFD_NONBLOCK"}};

struct KernelItimerspec {
  st::KernelTimespec interval;
  st::KernelTimespec value;
};
std::string FormatItimerspec(const KernelItimerspec& its) {
  return fmt::format("{{it_interval={}, it_value={}}}", st::FormatTimespec(its.interval),
                     st::FormatTimespec(its.value));
}

// Number of arguments strace prints for each syscall it does not decode,
// from the kernel's SYSCALL_DEFINEn (preadv/pwritev and their v2 forms
// show one 64-bit offset on x86-64, as strace does). Ten per string.
constexpr std::string_view kArgCounts[] = {
    "3331222336",  // 0: read write open close stat fstat lstat poll lseek mmap
    "3214403443",  // 10: mprotect munmap brk rt_sigaction rt_sigprocmask rt_sigreturn ioctl pread64 pwrite64 readv
    "3215053333",  // 20: writev access pipe select sched_yield mremap msync mincore madvise shmget
    "3312022130",  // 30: shmat shmctl dup dup2 pause nanosleep getitimer alarm setitimer getpid
    "4333663323",  // 40: sendfile socket connect accept sendto recvfrom sendmsg recvmsg shutdown bind
    "2334555003",  // 50: listen getsockname getpeername socketpair setsockopt getsockopt clone fork vfork execve
    "1421334124",  // 60: exit wait4 kill uname semget semop semctl shmdt msgget msgsnd
    "5332112232",  // 70: msgrcv msgctl fcntl flock fsync fdatasync truncate ftruncate getdents getcwd
    "1122122123",  // 80: chdir fchdir rename mkdir rmdir creat link unlink symlink readlink
    "2233312221",  // 90: chmod fchmod chown fchown lchown umask gettimeofday getrlimit getrusage sysinfo
    "1403011002",  // 100: times ptrace getuid syslog getgid setuid setgid geteuid getegid setpgid
    "0002222333",  // 110: getppid getpgrp setsid setreuid setregid getgroups setgroups setresuid getresuid setresgid
    "3111122243",  // 120: getresgid getpgid setfsuid setfsgid getsid capget capset rt_sigpending rt_sigtimedwait rt_sigqueueinfo
    "2223112223",  // 130: rt_sigsuspend sigaltstack utime mknod uselib personality ustat statfs fstatfs sysfs
    "2322311122",  // 140: getpriority setpriority sched_setparam sched_getparam sched_setscheduler sched_getscheduler sched_get_priority_max sched_get_priority_min sched_rr_get_interval mlock
    "2100321521",  // 150: munlock mlockall munlockall vhangup modify_ldt pivot_root _sysctl prctl arch_prctl adjtimex
    "2101252214",  // 160: setrlimit chroot sync acct settimeofday mount umount2 swapon swapoff reboot
    "2213232154",  // 170: sethostname setdomainname iopl ioperm create_module init_module delete_module get_kernel_syms query_module quotactl
    "3555330355",  // 180: nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid readahead setxattr lsetxattr
    "5444333222",  // 190: fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr
    "2163312153",  // 200: tkill time futex sched_setaffinity sched_getaffinity set_thread_area io_setup io_destroy io_getevents io_submit
    "3131445310",  // 210: io_cancel get_thread_area lookup_dcookie epoll_create epoll_ctl_old epoll_wait_old remap_file_pages getdents64 set_tid_address restart_syscall
    "4434211222",  // 220: semtimedop fadvise64 timer_create timer_settime timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime clock_getres
    "4144325635",  // 230: clock_nanosleep exit_group epoll_wait epoll_ctl tgkill utimes vserver mbind set_mempolicy get_mempolicy
    "4155234554",  // 240: mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key
    "5320324434",  // 250: keyctl ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat mknodat
    "5343453433",  // 260: fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat
    "6512364446",  // 270: pselect6 ppoll unshare set_robust_list get_robust_list splice tee sync_file_range vmsplice move_pages
    "4632144244",  // 280: utimensat epoll_pwait signalfd timerfd_create eventfd fallocate timerfd_settime timerfd_gettime accept4 signalfd4
    "2132144455",  // 290: eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open recvmmsg
    "2545321423",  // 300: fanotify_init fanotify_mark prlimit64 name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu
    "6653345332",  // 310: process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr renameat2 seccomp getrandom memfd_create
    "5351336554",  // 320: kexec_file_load bpf execveat userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect
    "21564",       // 330: pkey_alloc pkey_free statx io_pgetevents rseq
};
constexpr uint64_t kFirstNewSyscall = 424;
constexpr std::string_view kNewArgCounts[] = {
    "4264352533",  // 424: pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig fsmount fspick
    "2234345654",  // 434: pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 mount_setattr quotactl_fd
    "3421254443",  // 444: landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret process_mrelease futex_waitv set_mempolicy_home_node cachestat fchmodat2 map_shadow_stack
    "4644444336",  // 454: futex_wake futex_wait futex_requeue statmount listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal setxattrat
    "654555",      // 464: getxattrat listxattrat removexattrat open_tree_attr file_getattr file_setattr
};

// The raw argument count for `nr`; 6 (all registers) when unknown.
int RawArgCount(uint64_t nr) {
  auto lookup = [](std::span<const std::string_view> rows, uint64_t i) -> int {
    if (i / 10 >= rows.size() || i % 10 >= rows[i / 10].size()) return 6;
    return rows[i / 10][i % 10] - '0';
  };
  if (nr < kFirstNewSyscall) return lookup(kArgCounts, nr);
  return lookup(kNewArgCounts, nr - kFirstNewSyscall);
}

// Largest output strace-mode reads in one go (getdents64 buffers).
constexpr size_t kMaxRead = 1 << 20;
constexpr int kMaxIovecs = static_cast<int>(st::kMaxStrLen);

// Application memory as the formatter sees it: reads that fail come back
// empty, so the caller prints the address as strace does.
class AppMemory {
 public:
  explicit AppMemory(mm::MemoryManager& mm) : mm_(mm) {}

  // Exactly `len` bytes at `addr`, or nullopt.
  std::optional<std::string> Read(uint64_t addr, size_t len) {
    if (len > kMaxRead) return std::nullopt;
    std::string buf(len, '\0');
    if (CopyIn(addr, buf.data(), len) < len) return std::nullopt;
    return buf;
  }

  template <class T>
  std::optional<T> ReadStruct(uint64_t addr) {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    if (CopyIn(addr, &v, sizeof(T)) < sizeof(T)) return std::nullopt;
    return v;
  }

  // A NUL-terminated string: up to `max` bytes, and whether it was longer.
  struct CString {
    std::string text;
    bool truncated = false;
  };
  std::optional<CString> ReadString(uint64_t addr, size_t max) {
    Result<std::string> s = mm_.CopyInString(addr, max + 1);  // + the NUL
    if (s) return CString{std::move(*s), false};
    if (s.error() != Errno(ENAMETOOLONG)) return std::nullopt;
    std::optional<std::string> head = Read(addr, max);
    if (!head) return std::nullopt;
    return CString{std::move(*head), true};
  }

 private:
  size_t CopyIn(uint64_t addr, void* dst, size_t len) {
    return mm_.CopyInPartial(addr, std::span<uint8_t>(static_cast<uint8_t*>(dst), len));
  }

  mm::MemoryManager& mm_;
};

class Formatter {
 public:
  Formatter(Task& t, uint64_t nr, const SyscallArgs& a, int64_t ret)
      : mem_(t.mm()), nr_(nr), a_(a), ret_(ret), ok_(!st::IsError(ret)) {}

  std::string Line() {
    const SyscallInfo* info = LookupSyscall(nr_);
    std::string name = info ? std::string(info->name) : fmt::format("syscall_{:#x}", nr_);
    std::vector<std::string> args;
    // PARTIAL(strace decodes many of the syscalls the table leaves without
    // kinds; those print their raw registers, as strace does for the calls
    // it does not know). strace 6.1 does not decode rseq either.
    if (info == nullptr || info->args.empty() || nr_ == __NR_rseq) {
      for (int i = 0, n = RawArgCount(info ? nr_ : ~uint64_t{0}); i < n; ++i) {
        args.push_back(st::FormatHex(a_.raw[i]));
      }
    } else {
      std::string_view kinds = info->args;
      for (int i = 0; i < 6 && !kinds.empty(); ++i) {
        size_t comma = kinds.find(',');
        args.push_back(Arg(kinds.substr(0, comma), i));
        kinds = comma == std::string_view::npos ? std::string_view() : kinds.substr(comma + 1);
      }
      Adjust(args);
    }
    std::string call = name + "(";
    for (size_t i = 0; i < args.size(); ++i) {
      if (i > 0) call += ", ";
      call += args[i];
    }
    call += ")";
    return st::FormatLine(call, ResultText());
  }

 private:
  uint32_t u32(int i) const { return a_.u32(i); }

  // The generic printing of argument `i` of kind `kind`.
  std::string Arg(std::string_view kind, int i) {
    const uint64_t v = a_.raw[i];
    if (kind == "fd") return fmt::format("{}", a_.fd(i));
    if (kind == "dirfd") return st::FormatDirfd(a_.fd(i));
    if (kind == "path") return Path(v);
    if (kind == "str") return Str(v);
    if (kind == "buf") return Buffer(v, i + 1 < 6 ? a_.u64(i + 1) : 0);
    if (kind == "obuf") return ok_ ? Buffer(v, static_cast<uint64_t>(ret_)) : st::FormatPointer(v);
    if (kind == "u") return fmt::format("{}", v);
    if (kind == "d") return fmt::format("{}", a_.i64(i));
    if (kind == "x") return st::FormatHex(v);
    if (kind == "ptr") return st::FormatPointer(v);
    if (kind == "oflags") return st::FormatOpenFlags(u32(i));
    if (kind == "mode") return st::FormatMode(v);
    if (kind == "fmode") return st::FormatFileMode(u32(i));  // a mode with its file type (mknod)
    if (kind == "prot") return st::FormatProt(v);
    if (kind == "mflags") return st::FormatMmapFlags(u32(i));
    if (kind == "mremapflags") return st::FormatMremapFlags(v);
    if (kind == "madvice") return st::FormatMadvice(u32(i));
    if (kind == "whence") return st::FormatWhence(u32(i));
    if (kind == "sig") return st::FormatSignal(a_.i32(i));
    if (kind == "sighow") return st::FormatSigHow(u32(i));
    // rt_sigaction and rt_sigprocmask: argument 1 is the new value (read),
    // argument 2 the old one (written by the call).
    if (kind == "sigaction") return Sigaction(v, /*output=*/i == 2);
    if (kind == "sigset") return Sigset(v, /*output=*/i == 2);
    if (kind == "ioctl") return st::FormatIoctlCmd(u32(i));
    if (kind == "fcntlcmd") return st::FormatFcntlCmd(u32(i));
    if (kind == "stat") return Output<struct stat>(v, st::FormatStat);
    if (kind == "iov") return Iovecs(v, i + 1 < 6 ? a_.u64(i + 1) : 0, UINT64_MAX);
    if (kind == "oiov") {
      return Iovecs(v, i + 1 < 6 ? a_.u64(i + 1) : 0,
                    ok_ ? std::optional<uint64_t>(static_cast<uint64_t>(ret_)) : std::nullopt);
    }
    if (kind == "atflags") return st::FormatAtFlags(u32(i));
    if (kind == "amode") return st::FormatAccessMode(u32(i));
    if (kind == "rlimitres") return st::FormatRlimitResource(u32(i));
    if (kind == "archprctl") return st::FormatArchPrctlCode(u32(i));
    if (kind == "clock") return st::FormatClock(u32(i));
    if (kind == "grndflags") return st::FormatGrndFlags(u32(i));
    return st::FormatHex(v);  // a kind this file does not know yet
  }

  // Where strace's printing depends on more than one argument's kind.
  void Adjust(std::vector<std::string>& args) {
    auto set = [&](size_t i, std::string s) {
      if (i < args.size()) args[i] = std::move(s);
    };
    auto keep = [&](size_t n) {
      if (args.size() > n) args.resize(n);
    };
    constexpr uint32_t kCreat = 0100, kTmpfile = 020000000;  // O_CREAT, __O_TMPFILE
    switch (nr_) {
      case __NR_open:
        if (!(u32(1) & (kCreat | kTmpfile))) keep(2);  // the mode only matters then
        break;
      case __NR_openat:
        if (!(u32(2) & (kCreat | kTmpfile))) keep(3);
        break;
      case __NR_dup3: set(2, st::FormatDup3Flags(u32(2))); break;
      // eventfd, timerfd and signalfd flags, named as strace 6.x does.
      case __NR_eventfd2: set(1, st::FormatFlags(u32(1), kEfdFlags, "0", "EFD_???")); break;
      case __NR_signalfd4: set(3, st::FormatFlags(u32(3), kSfdFlags, "0", "SFD_???")); break;
      case __NR_timerfd_create: set(1, st::FormatFlags(u32(1), kTfdFlags, "0", "TFD_???")); break;
      case __NR_timerfd_settime:
        set(1, st::FormatFlags(u32(1), kTfdFlags, "0", "TFD_???"));
        set(2, Input<KernelItimerspec>(a_.ptr(2), FormatItimerspec));
        set(3, Output<KernelItimerspec>(a_.ptr(3), FormatItimerspec));
        break;
      case __NR_timerfd_gettime: set(1, Output<KernelItimerspec>(a_.ptr(1), FormatItimerspec)); break;
      case __NR_pidfd_open: {
        // strace 6.1 names PIDFD_NONBLOCK (O_NONBLOCK) only.
        constexpr uint32_t kNonblock = 04000;
        const uint32_t f = u32(1), rest = f & ~kNonblock;
        std::string flags = (f & kNonblock) ? "PIDFD_NONBLOCK" : "";
        if (rest != 0) {
          flags += flags.empty() ? fmt::format("{:#x} /* PIDFD_??? */", rest) : fmt::format("|{:#x}", rest);
        }
        set(1, f == 0 ? "0" : flags);
        break;
      }
      case __NR_mremap:
        if ((a_.u64(3) & 3) != 3) keep(4);  // new_address with MREMAP_MAYMOVE|MREMAP_FIXED
        break;
      case __NR_fcntl:
        if (auto arg = st::FormatFcntlArg(u32(1), a_.u64(2))) {
          set(2, *arg);
        } else {
          keep(2);
        }
        break;
      case __NR_ioctl: AdjustIoctl(args); break;
      case __NR_getrandom:
        set(0, ok_ ? Buffer(a_.ptr(0), static_cast<uint64_t>(ret_), st::Quoting::kHex)
                   : st::FormatPointer(a_.ptr(0)));
        break;
      case __NR_getcwd: set(0, ok_ ? Path(a_.ptr(0)) : st::FormatPointer(a_.ptr(0))); break;
      case __NR_getrlimit: set(1, Output<st::KernelRlimit>(a_.ptr(1), st::FormatRlimit)); break;
      case __NR_setrlimit: set(1, Input<st::KernelRlimit>(a_.ptr(1), st::FormatRlimit)); break;
      case __NR_prlimit64:
        set(0, fmt::format("{}", a_.i32(0)));
        set(2, Input<st::KernelRlimit>(a_.ptr(2), st::FormatRlimit));
        set(3, Output<st::KernelRlimit>(a_.ptr(3), st::FormatRlimit));
        break;
      case __NR_uname:
        set(0, Output<struct utsname>(a_.ptr(0), st::FormatUtsname));
        break;
      case __NR_sysinfo:
        set(0, Output<struct sysinfo>(a_.ptr(0), st::FormatSysinfo));
        break;
      case __NR_clock_gettime:
      case __NR_clock_getres:
        set(1, Output<st::KernelTimespec>(a_.ptr(1), st::FormatTimespec));
        break;
      case __NR_gettimeofday:
        set(0, Output<st::KernelTimespec>(a_.ptr(0), st::FormatTimeval));
        set(1, Output<st::KernelTimezone>(a_.ptr(1), st::FormatTimezone));
        break;
      case __NR_time:
        set(0, Output<int64_t>(a_.ptr(0), [](int64_t s) {
              return fmt::format("[{} /* {} */]", s, st::FormatIsoTime(s));
            }));
        break;
      case __NR_sched_getaffinity:
        set(0, fmt::format("{}", a_.i32(0)));
        set(1, fmt::format("{}", u32(1)));
        set(2, CpuSet(a_.ptr(2)));
        break;
      case __NR_getcpu:
        set(0, Output<uint32_t>(a_.ptr(0), [](uint32_t v) { return fmt::format("[{}]", v); }));
        set(1, Output<uint32_t>(a_.ptr(1), [](uint32_t v) { return fmt::format("[{}]", v); }));
        break;
      case __NR_getdents64: set(1, Dirents(a_.ptr(1))); break;
      case __NR_set_tid_address: set(0, st::FormatHex(a_.ptr(0))); break;
      case __NR_arch_prctl: AdjustArchPrctl(args); break;
      case __NR_statx:
        set(2, st::FormatStatxFlags(u32(2)));
        set(3, st::FormatStatxMask(u32(3)));
        set(4, Output<struct statx>(a_.ptr(4), st::FormatStatx));
        break;
      case __NR_exit:
      case __NR_exit_group: set(0, fmt::format("{}", a_.i32(0))); break;
      case __NR_faccessat2: set(3, st::FormatFaccessatFlags(u32(3))); break;
      case __NR_truncate:
      case __NR_ftruncate: set(1, fmt::format("{}", a_.u64(1))); break;
      case __NR_readv:
      case __NR_writev:
      case __NR_preadv:
      case __NR_pwritev: set(2, fmt::format("{}", a_.u64(2))); break;
      case __NR_preadv2:
      case __NR_pwritev2:  // one 64-bit offset: pos_h is not shown
        set(2, fmt::format("{}", a_.u64(2)));
        if (args.size() > 4) args.erase(args.begin() + 4);
        break;
    }
  }

  std::string ResultText() {
    switch (nr_) {
      case __NR_mmap:
      case __NR_mremap:
      case __NR_brk: return st::FormatResult(ret_, st::ResultStyle::kHex);
      case __NR_umask: return st::FormatResult(ret_, st::ResultStyle::kOctal);
      case __NR_exit:
      case __NR_exit_group: return st::FormatResult(ret_, st::ResultStyle::kNone);
      case __NR_fcntl: return st::FormatFcntlResult(u32(1), ret_);
      case __NR_time:
        if (ok_) return st::FormatResult(ret_, st::ResultStyle::kDecimal, st::FormatIsoTime(ret_));
        break;
    }
    return st::FormatResult(ret_);
  }

  // ---- Argument printers ----

  std::string Path(uint64_t addr) { return CStr(addr, st::kMaxPathLen); }
  std::string Str(uint64_t addr) { return CStr(addr, st::kMaxStrLen); }

  std::string CStr(uint64_t addr, size_t limit) {
    if (addr == 0) return "NULL";
    auto s = mem_.ReadString(addr, limit);
    if (!s) return st::FormatPointer(addr);
    return st::QuoteString(s->text, limit, s->truncated);
  }

  // `len` bytes at `addr`, of which strace shows the first kMaxStrLen.
  std::string Buffer(uint64_t addr, uint64_t len, st::Quoting quoting = st::Quoting::kOctal) {
    if (addr == 0) return "NULL";
    const size_t shown = static_cast<size_t>(std::min<uint64_t>(len, st::kMaxStrLen));
    auto data = mem_.Read(addr, shown);
    if (!data) return st::FormatPointer(addr);
    return st::QuoteString(*data, st::kMaxStrLen, len > st::kMaxStrLen, quoting);
  }

  // A struct the call reads: decoded whatever the result.
  template <class T, class F>
  std::string Input(uint64_t addr, F format) {
    if (addr == 0) return "NULL";
    auto v = mem_.ReadStruct<T>(addr);
    return v ? format(*v) : st::FormatPointer(addr);
  }

  // A struct the call writes: decoded only when it succeeded.
  template <class T, class F>
  std::string Output(uint64_t addr, F format) {
    if (addr == 0) return "NULL";
    if (!ok_) return st::FormatPointer(addr);
    return Input<T>(addr, format);
  }

  std::string Sigaction(uint64_t addr, bool output) {
    return output ? Output<st::KernelSigaction>(addr, st::FormatSigaction)
                  : Input<st::KernelSigaction>(addr, st::FormatSigaction);
  }

  std::string Sigset(uint64_t addr, bool output) {
    if (addr == 0) return "NULL";
    // rt_sigprocmask's sigsetsize must be 8; strace shows addresses otherwise.
    if (nr_ == __NR_rt_sigprocmask && a_.u64(3) != sizeof(uint64_t)) return st::FormatPointer(addr);
    return output ? Output<uint64_t>(addr, st::FormatSigset)
                  : Input<uint64_t>(addr, st::FormatSigset);
  }

  // The iovec array at `addr` with `count` elements. `data_limit`: how many
  // bytes of data to show in total (the result for readv, everything for
  // writev), or nullopt to show the buffers' addresses.
  std::string Iovecs(uint64_t addr, uint64_t count, std::optional<uint64_t> data_limit) {
    if (addr == 0) return "NULL";
    const int shown = static_cast<int>(std::min<uint64_t>(count, kMaxIovecs));
    auto raw = mem_.Read(addr, shown * sizeof(iovec));
    if (!raw) return st::FormatPointer(addr);
    std::vector<st::IovecView> views;
    uint64_t remaining = data_limit.value_or(0);
    for (int i = 0; i < shown; ++i) {
      iovec iov;
      memcpy(&iov, raw->data() + i * sizeof(iovec), sizeof(iovec));
      st::IovecView v;
      v.base = reinterpret_cast<uint64_t>(iov.iov_base);
      v.len = iov.iov_len;
      if (data_limit) {
        const uint64_t len = std::min<uint64_t>(v.len, remaining);
        remaining -= len;
        if (v.base != 0 || len == 0) {
          v.data = mem_.Read(v.base, static_cast<size_t>(std::min<uint64_t>(len, st::kMaxStrLen)));
          v.data_truncated = len > st::kMaxStrLen;
        }
      }
      views.push_back(std::move(v));
    }
    return st::FormatIovecs(views, count > static_cast<uint64_t>(kMaxIovecs));
  }

  std::string CpuSet(uint64_t addr) {
    if (addr == 0) return "NULL";
    if (!ok_) return st::FormatPointer(addr);
    auto bytes = mem_.Read(addr, static_cast<size_t>(ret_));
    return bytes ? st::FormatCpuSet(*bytes) : st::FormatPointer(addr);
  }

  // getdents64's buffer: its address and, after success, the entry count.
  std::string Dirents(uint64_t addr) {
    std::string out = st::FormatPointer(addr);
    if (!ok_) return out;
    auto buf = mem_.Read(addr, static_cast<size_t>(ret_));
    if (!buf) return out;
    // struct linux_dirent64: d_ino, d_off (8 bytes each), d_reclen (2), ...
    constexpr size_t kReclenOffset = 16, kMinDirent = 19;
    size_t count = 0;
    for (size_t off = 0; off + kMinDirent <= buf->size();) {
      uint16_t reclen;
      memcpy(&reclen, buf->data() + off + kReclenOffset, sizeof(reclen));
      if (reclen == 0) break;
      ++count;
      off += reclen;
    }
    return fmt::format("{} /* {} entries */", out, count);
  }

  void AdjustIoctl(std::vector<std::string>& args) {
    const uint32_t cmd = u32(1);
    const uint64_t p = a_.u64(2);
    auto int_value = [](int32_t v) { return fmt::format("[{}]", v); };
    std::string arg;
    switch (st::ClassifyIoctl(cmd)) {
      case st::IoctlArg::kNone: args.resize(2); return;
      case st::IoctlArg::kIntIn: arg = Input<int32_t>(p, int_value); break;
      case st::IoctlArg::kIntOut: arg = Output<int32_t>(p, int_value); break;
      case st::IoctlArg::kTermiosIn: arg = Input<st::KernelTermios>(p, st::FormatTermios); break;
      case st::IoctlArg::kTermiosOut: arg = Output<st::KernelTermios>(p, st::FormatTermios); break;
      case st::IoctlArg::kWinsizeIn: arg = Input<st::KernelWinsize>(p, st::FormatWinsize); break;
      case st::IoctlArg::kWinsizeOut: arg = Output<st::KernelWinsize>(p, st::FormatWinsize); break;
      default: arg = st::FormatIoctlValue(cmd, p);
    }
    if (args.size() > 2) args[2] = arg;
  }

  void AdjustArchPrctl(std::vector<std::string>& args) {
    // asm/prctl.h
    constexpr uint32_t kGetFs = 0x1003, kGetGs = 0x1004, kGetCpuid = 0x1011;
    constexpr uint32_t kGetXcompSupp = 0x1021, kGetXcompPerm = 0x1022;
    constexpr uint32_t kReqXcompPerm = 0x1023, kGetXcompGuestPerm = 0x1024;
    constexpr uint32_t kReqXcompGuestPerm = 0x1025;
    switch (u32(0)) {
      case kGetFs:
      case kGetGs:
        if (args.size() > 1) {
          args[1] = Output<uint64_t>(a_.u64(1),
                                     [](uint64_t v) { return "[" + st::FormatHex(v) + "]"; });
        }
        break;
      case kGetCpuid: args.resize(1); break;
      case kGetXcompSupp:
      case kGetXcompPerm:
      case kGetXcompGuestPerm:
        // PARTIAL(strace names the XFEATURE bits on success): the address.
        if (args.size() > 1) args[1] = st::FormatPointer(a_.u64(1));
        break;
      case kReqXcompPerm:
      case kReqXcompGuestPerm:
        // PARTIAL(strace adds the feature's name: "18 /* XFEATURE_XTILE_DATA */").
        if (args.size() > 1) args[1] = fmt::format("{}", a_.u64(1));
        break;
    }
  }

  AppMemory mem_;
  const uint64_t nr_;
  const SyscallArgs& a_;
  const int64_t ret_;
  const bool ok_;
};

}  // namespace

std::string FormatSyscall(Task& t, uint64_t nr, const SyscallArgs& a, int64_t ret) {
  return Formatter(t, nr, a, ret).Line();
}

}  // namespace husk::syscalls
