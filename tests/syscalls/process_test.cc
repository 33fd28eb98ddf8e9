// Process identity and information syscalls: getpid & co, credentials,
// set_tid_address, set_robust_list, arch_prctl, rlimits, uname, sysinfo,
// getcpu, sched_getaffinity, getrandom.

#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/random.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

// A pid that cannot exist (above PID_MAX_LIMIT).
constexpr pid_t kNoSuchPid = INT_MAX;

struct Rlimit64 {
  uint64_t cur;
  uint64_t max;
};

long Prlimit(pid_t pid, int resource, const Rlimit64* new_limit,
             Rlimit64* old_limit) {
  return syscall(SYS_prlimit64, pid, resource, new_limit, old_limit);
}

// ---------------------------------------------------------------- ids

TEST(Getpid, PositiveAndStable) {
  long pid = syscall(SYS_getpid);
  EXPECT_GT(pid, 0);
  EXPECT_EQ(syscall(SYS_getpid), pid);
  EXPECT_EQ(getpid(), pid);
}

TEST(Getppid, DiffersFromPidAndIsStable) {
  // 0 is legitimate when the parent lives outside our pid namespace.
  long ppid = syscall(SYS_getppid);
  EXPECT_GE(ppid, 0);
  EXPECT_NE(ppid, syscall(SYS_getpid));
  EXPECT_EQ(syscall(SYS_getppid), ppid);
}

TEST(Gettid, EqualsPidInSingleThreadedProcess) {
  EXPECT_EQ(syscall(SYS_gettid), syscall(SYS_getpid));
}

TEST(Getuid, RealAndEffectiveAgree) {
  EXPECT_EQ(syscall(SYS_getuid), syscall(SYS_geteuid));
  EXPECT_EQ(syscall(SYS_getgid), syscall(SYS_getegid));
  EXPECT_GE(syscall(SYS_getuid), 0);
  EXPECT_GE(syscall(SYS_getgid), 0);
}

TEST(Getuid, MatchesGetresuid) {
  uid_t r = 1, e = 1, s = 1;
  ASSERT_EQ(syscall(SYS_getresuid, &r, &e, &s), 0);
  EXPECT_EQ(static_cast<long>(r), syscall(SYS_getuid));
  EXPECT_EQ(static_cast<long>(e), syscall(SYS_geteuid));
  EXPECT_EQ(s, e);
  gid_t rg = 1, eg = 1, sg = 1;
  ASSERT_EQ(syscall(SYS_getresgid, &rg, &eg, &sg), 0);
  EXPECT_EQ(static_cast<long>(rg), syscall(SYS_getgid));
  EXPECT_EQ(static_cast<long>(eg), syscall(SYS_getegid));
  EXPECT_EQ(sg, eg);
}

TEST(Getuid, NewFileIsOwnedByEffectiveIds) {
  char tmpl[] = "/tmp/husk_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
  std::string path = std::string(tmpl) + "/owned";
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0600);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(static_cast<long>(st.st_uid), syscall(SYS_geteuid));
  EXPECT_EQ(static_cast<long>(st.st_gid), syscall(SYS_getegid));
  struct stat dst;
  ASSERT_EQ(stat(tmpl, &dst), 0);
  EXPECT_EQ(static_cast<long>(dst.st_uid), syscall(SYS_geteuid));
  close(fd);
  unlink(path.c_str());
  rmdir(tmpl);
}

// ---------------------------------------------------------------- set_tid_address

int g_clear_child_tid = -1;

TEST(SetTidAddress, ReturnsTid) {
  long r = syscall(SYS_set_tid_address, &g_clear_child_tid);
  EXPECT_EQ(r, syscall(SYS_gettid));
  // The kernel only records the pointer; it does not write it now.
  EXPECT_EQ(g_clear_child_tid, -1);
  // Any pointer, even NULL, is accepted.
  EXPECT_EQ(syscall(SYS_set_tid_address, nullptr), syscall(SYS_gettid));
  EXPECT_EQ(syscall(SYS_set_tid_address, &g_clear_child_tid),
            syscall(SYS_gettid));
}

// ---------------------------------------------------------------- robust list

class RobustList : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(syscall(SYS_get_robust_list, 0, &saved_head_, &saved_len_), 0);
  }
  void TearDown() override {
    EXPECT_EQ(syscall(SYS_set_robust_list, saved_head_, saved_len_), 0);
  }
  robust_list_head* saved_head_ = nullptr;
  size_t saved_len_ = 0;
};

TEST_F(RobustList, SetWithCorrectLengthSucceeds) {
  static robust_list_head head;
  head.list.next = &head.list;
  head.futex_offset = 0;
  head.list_op_pending = nullptr;
  EXPECT_EQ(syscall(SYS_set_robust_list, &head, sizeof(head)), 0);
  robust_list_head* got = nullptr;
  size_t len = 0;
  ASSERT_EQ(syscall(SYS_get_robust_list, 0, &got, &len), 0);
  EXPECT_EQ(got, &head);
  EXPECT_EQ(len, sizeof(robust_list_head));
  // Own tid works like 0.
  got = nullptr;
  ASSERT_EQ(syscall(SYS_get_robust_list, syscall(SYS_gettid), &got, &len), 0);
  EXPECT_EQ(got, &head);
}

TEST_F(RobustList, WrongLengthIsEinval) {
  static robust_list_head head;
  EXPECT_FAILS_WITH(syscall(SYS_set_robust_list, &head, 0), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_set_robust_list, &head, sizeof(head) - 1), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_set_robust_list, &head, sizeof(head) + 8), EINVAL);
}

TEST_F(RobustList, GetForNonexistentPidIsEsrch) {
  robust_list_head* got = nullptr;
  size_t len = 0;
  EXPECT_FAILS_WITH(syscall(SYS_get_robust_list, kNoSuchPid, &got, &len), ESRCH);
}

// ---------------------------------------------------------------- arch_prctl

unsigned long ReadFsSelfPointer() {
  unsigned long v;
  asm volatile("mov %%fs:0, %0" : "=r"(v));
  return v;
}

TEST(ArchPrctl, GetFsReturnsTlsBase) {
  unsigned long base = 0;
  ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &base), 0);
  EXPECT_NE(base, 0u);
  // On x86-64 the TCB's first word points to itself.
  EXPECT_EQ(base, ReadFsSelfPointer());
}

TEST(ArchPrctl, SetFsThenRestore) {
  unsigned long old = 0;
  ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &old), 0);
  alignas(64) static unsigned long block[64];
  block[0] = reinterpret_cast<unsigned long>(block);
  block[5] = 0x1234;  // %fs:0x28, where the stack-protector canary lives
  long set_ret = -1, restore_ret = -1, get_ret = -1;
  unsigned long read_val = 0, got = 0;
  unsigned long* gotp = &got;
  // Nothing between the two ARCH_SET_FS calls may touch TLS (errno, canary),
  // so the whole sequence is a single asm block.
  asm volatile(
      "mov %[block], %%rsi\n\t"
      "mov $0x1002, %%edi\n\t"  // ARCH_SET_FS
      "mov %[nr], %%eax\n\t"
      "syscall\n\t"
      "mov %%rax, %[set_ret]\n\t"
      "mov %%fs:0, %[read_val]\n\t"
      "mov %[gotp], %%rsi\n\t"
      "mov $0x1003, %%edi\n\t"  // ARCH_GET_FS
      "mov %[nr], %%eax\n\t"
      "syscall\n\t"
      "mov %%rax, %[get_ret]\n\t"
      "mov %[old], %%rsi\n\t"
      "mov $0x1002, %%edi\n\t"  // ARCH_SET_FS
      "mov %[nr], %%eax\n\t"
      "syscall\n\t"
      "mov %%rax, %[restore_ret]\n\t"
      : [set_ret] "=&r"(set_ret), [read_val] "=&r"(read_val),
        [get_ret] "=&r"(get_ret), [restore_ret] "=&r"(restore_ret)
      : [block] "r"(block), [old] "r"(old), [gotp] "r"(gotp),
        [nr] "i"(SYS_arch_prctl)
      : "rax", "rdi", "rsi", "rcx", "r11", "memory");
  EXPECT_EQ(set_ret, 0);
  EXPECT_EQ(read_val, reinterpret_cast<unsigned long>(block));
  EXPECT_EQ(get_ret, 0);
  EXPECT_EQ(got, reinterpret_cast<unsigned long>(block));
  EXPECT_EQ(restore_ret, 0);
  unsigned long now = 0;
  ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &now), 0);
  EXPECT_EQ(now, old);
  EXPECT_EQ(ReadFsSelfPointer(), old);
}

TEST(ArchPrctl, NonCanonicalFsIsEperm) {
  unsigned long old = 0;
  ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &old), 0);
  // Addresses at or above TASK_SIZE are refused before anything changes.
  EXPECT_FAILS_WITH(syscall(SYS_arch_prctl, ARCH_SET_FS, 0x800000000000UL),
                    EPERM);
  unsigned long now = 0;
  ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &now), 0);
  EXPECT_EQ(now, old);
}

TEST(ArchPrctl, BadCodeIsEinval) {
  unsigned long v = 0;
  EXPECT_FAILS_WITH(syscall(SYS_arch_prctl, 0x9999, &v), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_arch_prctl, 0, &v), EINVAL);
}

TEST(ArchPrctl, GetFsBadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_arch_prctl, ARCH_GET_FS, nullptr), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_arch_prctl, ARCH_GET_FS, 1UL), EFAULT);
}

// ---------------------------------------------------------------- rlimits

TEST(Getrlimit, NofileAndStackReadable) {
  struct rlimit nofile, stack;
  ASSERT_EQ(syscall(SYS_getrlimit, RLIMIT_NOFILE, &nofile), 0);
  EXPECT_GT(nofile.rlim_cur, 0u);
  EXPECT_LE(nofile.rlim_cur, nofile.rlim_max);
  EXPECT_NE(nofile.rlim_max, RLIM_INFINITY);  // bounded by fs.nr_open
  ASSERT_EQ(syscall(SYS_getrlimit, RLIMIT_STACK, &stack), 0);
  EXPECT_GT(stack.rlim_cur, 0u);
  EXPECT_LE(stack.rlim_cur, stack.rlim_max);
}

TEST(Getrlimit, AgreesWithPrlimit64) {
  for (int res : {RLIMIT_NOFILE, RLIMIT_STACK, RLIMIT_AS, RLIMIT_CORE}) {
    struct rlimit rl;
    ASSERT_EQ(syscall(SYS_getrlimit, res, &rl), 0);
    Rlimit64 r64 = {1, 1};
    ASSERT_EQ(Prlimit(0, res, nullptr, &r64), 0);
    EXPECT_EQ(rl.rlim_cur, r64.cur) << res;
    EXPECT_EQ(rl.rlim_max, r64.max) << res;
  }
}

TEST(Getrlimit, BadResourceIsEinval) {
  struct rlimit rl;
  EXPECT_FAILS_WITH(syscall(SYS_getrlimit, 100, &rl), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_getrlimit, RLIM_NLIMITS, &rl), EINVAL);
}

TEST(Getrlimit, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_getrlimit, RLIMIT_NOFILE, nullptr), EFAULT);
}

class Rlimit : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Prlimit(0, RLIMIT_NOFILE, nullptr, &saved_), 0);
  }
  void TearDown() override {
    EXPECT_EQ(Prlimit(0, RLIMIT_NOFILE, &saved_, nullptr), 0);
  }
  Rlimit64 saved_{};
};

TEST_F(Rlimit, SetSoftBelowHardReadsBack) {
  ASSERT_GE(saved_.max, 100u);
  Rlimit64 want = {100, saved_.max};
  Rlimit64 old = {0, 0};
  ASSERT_EQ(Prlimit(0, RLIMIT_NOFILE, &want, &old), 0);
  // The old value is returned in the same call.
  EXPECT_EQ(old.cur, saved_.cur);
  EXPECT_EQ(old.max, saved_.max);
  Rlimit64 got = {0, 0};
  ASSERT_EQ(Prlimit(0, RLIMIT_NOFILE, nullptr, &got), 0);
  EXPECT_EQ(got.cur, 100u);
  EXPECT_EQ(got.max, saved_.max);
  struct rlimit rl;
  ASSERT_EQ(syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl), 0);
  EXPECT_EQ(rl.rlim_cur, 100u);
}

TEST_F(Rlimit, SetrlimitReadsBack) {
  struct rlimit rl = {50, static_cast<rlim_t>(saved_.max)};
  ASSERT_EQ(syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl), 0);
  Rlimit64 got = {0, 0};
  ASSERT_EQ(Prlimit(0, RLIMIT_NOFILE, nullptr, &got), 0);
  EXPECT_EQ(got.cur, 50u);
}

TEST_F(Rlimit, SoftAboveHardIsEinval) {
  Rlimit64 bad = {saved_.max + 1, saved_.max};
  EXPECT_FAILS_WITH(Prlimit(0, RLIMIT_NOFILE, &bad, nullptr), EINVAL);
  struct rlimit rl = {static_cast<rlim_t>(saved_.max + 1),
                      static_cast<rlim_t>(saved_.max)};
  EXPECT_FAILS_WITH(syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl), EINVAL);
  Rlimit64 got = {0, 0};
  ASSERT_EQ(Prlimit(0, RLIMIT_NOFILE, nullptr, &got), 0);
  EXPECT_EQ(got.cur, saved_.cur);
  EXPECT_EQ(got.max, saved_.max);
}

TEST_F(Rlimit, NofileAboveNrOpenIsEperm) {
  // Even root cannot raise RLIMIT_NOFILE beyond fs.nr_open.
  Rlimit64 big = {RLIM64_INFINITY, RLIM64_INFINITY};
  EXPECT_FAILS_WITH(Prlimit(0, RLIMIT_NOFILE, &big, nullptr), EPERM);
}

TEST(Prlimit64, BadResourceIsEinval) {
  Rlimit64 r;
  EXPECT_FAILS_WITH(Prlimit(0, 100, nullptr, &r), EINVAL);
  EXPECT_FAILS_WITH(Prlimit(0, -1, nullptr, &r), EINVAL);
}

TEST(Prlimit64, OwnPidEqualsPidZero) {
  Rlimit64 a = {1, 1}, b = {2, 2};
  ASSERT_EQ(Prlimit(0, RLIMIT_STACK, nullptr, &a), 0);
  ASSERT_EQ(Prlimit(static_cast<pid_t>(syscall(SYS_getpid)), RLIMIT_STACK,
                    nullptr, &b),
            0);
  EXPECT_EQ(a.cur, b.cur);
  EXPECT_EQ(a.max, b.max);
}

TEST(Prlimit64, NoArgumentsSucceeds) {
  EXPECT_EQ(Prlimit(0, RLIMIT_NOFILE, nullptr, nullptr), 0);
}

TEST(Prlimit64, NonexistentPidIsEsrch) {
  Rlimit64 r;
  EXPECT_FAILS_WITH(Prlimit(kNoSuchPid, RLIMIT_NOFILE, nullptr, &r), ESRCH);
}

TEST(Prlimit64, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(Prlimit(0, RLIMIT_NOFILE, nullptr,
                            reinterpret_cast<Rlimit64*>(1)),
                    EFAULT);
  EXPECT_FAILS_WITH(Prlimit(0, RLIMIT_NOFILE,
                            reinterpret_cast<const Rlimit64*>(1), nullptr),
                    EFAULT);
}

// ---------------------------------------------------------------- uname

TEST(Uname, ReportsLinuxX8664) {
  struct utsname u;
  memset(&u, 0x55, sizeof(u));
  ASSERT_EQ(syscall(SYS_uname, &u), 0);
  EXPECT_STREQ(u.sysname, "Linux");
  EXPECT_STREQ(u.machine, "x86_64");
  // Fields are NUL-terminated and release looks like "N.N...".
  EXPECT_LT(strnlen(u.release, sizeof(u.release)), sizeof(u.release));
  EXPECT_LT(strnlen(u.nodename, sizeof(u.nodename)), sizeof(u.nodename));
  EXPECT_LT(strnlen(u.version, sizeof(u.version)), sizeof(u.version));
  ASSERT_GT(strlen(u.release), 2u);
  EXPECT_TRUE(u.release[0] >= '0' && u.release[0] <= '9');
  EXPECT_NE(strchr(u.release, '.'), nullptr);
}

TEST(Uname, NodenameMatchesGethostname) {
  struct utsname u;
  ASSERT_EQ(syscall(SYS_uname, &u), 0);
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host)), 0);
  EXPECT_STREQ(u.nodename, host);
}

TEST(Uname, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_uname, nullptr), EFAULT);
}

// ---------------------------------------------------------------- sysinfo

TEST(Sysinfo, ValuesAreSane) {
  struct sysinfo si;
  memset(&si, 0, sizeof(si));
  ASSERT_EQ(syscall(SYS_sysinfo, &si), 0);
  EXPECT_GT(si.totalram, 0u);
  EXPECT_LE(si.freeram, si.totalram);
  EXPECT_GE(si.mem_unit, 1u);
  EXPECT_LE(si.freeswap, si.totalswap);
  // Linux rounds uptime up, so it is never 0.
  EXPECT_GT(si.uptime, 0);
  EXPECT_GE(si.procs, 1);
}

TEST(Sysinfo, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_sysinfo, nullptr), EFAULT);
}

// ---------------------------------------------------------------- getcpu

TEST(Getcpu, CpuIsInAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_GT(syscall(SYS_sched_getaffinity, 0, sizeof(set), &set), 0);
  unsigned cpu = ~0u, node = ~0u;
  ASSERT_EQ(syscall(SYS_getcpu, &cpu, &node, nullptr), 0);
  ASSERT_LT(cpu, static_cast<unsigned>(CPU_SETSIZE));
  EXPECT_TRUE(CPU_ISSET(cpu, &set)) << cpu;
  EXPECT_NE(node, ~0u);
}

TEST(Getcpu, NullArgumentsAllowed) {
  EXPECT_EQ(syscall(SYS_getcpu, nullptr, nullptr, nullptr), 0);
  unsigned cpu = ~0u;
  EXPECT_EQ(syscall(SYS_getcpu, &cpu, nullptr, nullptr), 0);
  EXPECT_NE(cpu, ~0u);
  unsigned node = ~0u;
  EXPECT_EQ(syscall(SYS_getcpu, nullptr, &node, nullptr), 0);
  EXPECT_NE(node, ~0u);
}

TEST(Getcpu, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_getcpu, 1UL, nullptr, nullptr), EFAULT);
}

// ---------------------------------------------------------------- sched_getaffinity

TEST(SchedGetaffinity, ReturnsSizeInBytesWithACpuSet) {
  cpu_set_t set;
  memset(&set, 0, sizeof(set));
  long r = syscall(SYS_sched_getaffinity, 0, sizeof(set), &set);
  ASSERT_GT(r, 0) << strerror(errno);
  EXPECT_EQ(r % static_cast<long>(sizeof(long)), 0);
  EXPECT_LE(r, static_cast<long>(sizeof(set)));
  EXPECT_GE(CPU_COUNT(&set), 1);
}

TEST(SchedGetaffinity, OwnPidEqualsPidZero) {
  cpu_set_t a, b;
  CPU_ZERO(&a);
  CPU_ZERO(&b);
  long ra = syscall(SYS_sched_getaffinity, 0, sizeof(a), &a);
  long rb = syscall(SYS_sched_getaffinity, syscall(SYS_getpid), sizeof(b), &b);
  EXPECT_GT(ra, 0);
  EXPECT_EQ(ra, rb);
  EXPECT_TRUE(CPU_EQUAL(&a, &b));
}

TEST(SchedGetaffinity, SizeNotMultipleOfLongIsEinval) {
  unsigned char buf[256];
  EXPECT_FAILS_WITH(syscall(SYS_sched_getaffinity, 0, 1, buf), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_sched_getaffinity, 0, 0, buf), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_sched_getaffinity, 0, 129, buf), EINVAL);
}

TEST(SchedGetaffinity, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_sched_getaffinity, 0, sizeof(cpu_set_t), nullptr),
                    EFAULT);
}

TEST(SchedGetaffinity, NonexistentPidIsEsrch) {
  cpu_set_t set;
  EXPECT_FAILS_WITH(syscall(SYS_sched_getaffinity, kNoSuchPid, sizeof(set), &set),
                    ESRCH);
}

// ---------------------------------------------------------------- getrandom

TEST(Getrandom, FillsBuffer) {
  unsigned char a[64] = {}, b[64] = {};
  ASSERT_EQ(syscall(SYS_getrandom, a, sizeof(a), 0), 64);
  ASSERT_EQ(syscall(SYS_getrandom, b, sizeof(b), 0), 64);
  EXPECT_NE(memcmp(a, b, sizeof(a)), 0);
  unsigned char zero[64] = {};
  EXPECT_NE(memcmp(a, zero, sizeof(a)), 0);
}

TEST(Getrandom, NonblockSucceeds) {
  unsigned char buf[32];
  EXPECT_EQ(syscall(SYS_getrandom, buf, sizeof(buf), GRND_NONBLOCK), 32);
  EXPECT_EQ(syscall(SYS_getrandom, buf, sizeof(buf), GRND_NONBLOCK | GRND_RANDOM),
            32);
  EXPECT_EQ(syscall(SYS_getrandom, buf, sizeof(buf), GRND_INSECURE), 32);
}

TEST(Getrandom, ZeroLengthReturnsZero) {
  unsigned char buf[1];
  EXPECT_EQ(syscall(SYS_getrandom, buf, 0, 0), 0);
}

TEST(Getrandom, BadFlagsIsEinval) {
  unsigned char buf[8];
  EXPECT_FAILS_WITH(syscall(SYS_getrandom, buf, sizeof(buf), 0x100), EINVAL);
  // GRND_INSECURE and GRND_RANDOM are mutually exclusive.
  EXPECT_FAILS_WITH(
      syscall(SYS_getrandom, buf, sizeof(buf), GRND_INSECURE | GRND_RANDOM),
      EINVAL);
}

TEST(Getrandom, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_getrandom, nullptr, 16, 0), EFAULT);
}

}  // namespace
