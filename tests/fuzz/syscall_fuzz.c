// Random syscalls with hostile arguments, run under the sentry: the sentry
// must answer every one with a result or an errno and never crash. Only
// calls that cannot wreck the fuzzer itself are made (no munmap, no exit, no
// arch_prctl, no blocking sleeps); pointers are random, NULL, kernel
// addresses, unmapped or PROT_NONE pages, or real buffers with random sizes.
// Prints "ok N" at the end; any other end is a failure.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <unistd.h>

static uint64_t state = 0x9e3779b97f4a7c15ull * 6ull;

static uint64_t Next(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

static char* buffer;
static char* none_page;

static uint64_t Arg(void) {
  switch (Next() % 12) {
    case 0: return 0;
    case 1: return (uint64_t)-1;
    case 2: return Next();
    case 3: return Next() % 64;
    case 4: return (uint64_t)(buffer + Next() % 4096);
    case 5: return (uint64_t)none_page;
    case 6: return 0xffffffffff600000ull;  // vsyscall page
    case 7: return 0x7ffffffff000ull - Next() % 8192;
    case 8: return (uint64_t)(int32_t)Next();
    case 9: return (uint64_t)"/tmp";
    case 10: return (uint64_t)"/usr/../etc/./passwd";
    default: return 4096;
  }
}

static const long kCalls[] = {
    SYS_read, SYS_write, SYS_open, SYS_close, SYS_stat, SYS_fstat, SYS_lstat, SYS_lseek,
    SYS_mmap, SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_ioctl, SYS_pread64, SYS_pwrite64,
    SYS_readv, SYS_writev, SYS_access, SYS_madvise, SYS_dup, SYS_dup2, SYS_getpid, SYS_uname,
    SYS_fcntl, SYS_getcwd, SYS_readlink, SYS_umask, SYS_gettimeofday, SYS_getrlimit,
    SYS_sysinfo, SYS_getuid, SYS_getppid, SYS_time, SYS_sched_getaffinity, SYS_clock_gettime,
    SYS_clock_getres, SYS_openat, SYS_newfstatat, SYS_readlinkat, SYS_faccessat, SYS_dup3,
    SYS_preadv, SYS_pwritev, SYS_prlimit64, SYS_getcpu, SYS_getrandom, SYS_statx,
    SYS_faccessat2, SYS_getdents64, SYS_getxattr, SYS_listxattr, SYS_rt_sigpending,
    SYS_get_robust_list, SYS_getresuid, SYS_mkdir, SYS_rmdir, SYS_unlink, SYS_symlink,
    SYS_chdir, SYS_fchdir, SYS_truncate, SYS_ftruncate, 500, 1000, -1,
};

int main(int argc, char** argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 200000;
  // A 1 MiB buffer ending in a guard page: an output with a huge count
  // stops at the guard (EFAULT) instead of overwriting the fuzzer.
  const size_t kBuffer = 1 << 20;
  buffer = mmap(NULL, kBuffer + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffer == MAP_FAILED || mprotect(buffer + kBuffer, 4096, PROT_NONE) != 0) return 2;
  none_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffer == MAP_FAILED || none_page == MAP_FAILED) return 2;
  // Random writes go to /dev/null; the verdict goes to the saved stdout.
  const int out = 200;
  if (dup2(1, out) != out) return 2;
  int null_fd = open("/dev/null", O_RDWR);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0) return 2;
  for (long i = 0; i < iterations; ++i) {
    long nr = kCalls[Next() % (sizeof(kCalls) / sizeof(kCalls[0]))];
    uint64_t a[6];
    for (int j = 0; j < 6; ++j) a[j] = Arg();
    if (nr == SYS_mmap) a[3] &= ~(uint64_t)(MAP_FIXED | MAP_FIXED_NOREPLACE);
    // madvise(DONTNEED) on the fuzzer's own stack or data would zero it (as
    // Linux does, even when the range has holes): only the buffer.
    if (nr == SYS_madvise) {
      a[0] = (uint64_t)buffer + (Next() % 256) * 4096;
      a[1] = Next() % (buffer + kBuffer - (char*)a[0] + 1);
    }
    if (nr == SYS_dup2 || nr == SYS_dup3) a[1] = 10 + a[1] % 50;  // keep stdio
    if (nr == SYS_close) a[0] = 10 + a[0] % 90;
    // Output iovecs would point wherever the buffer's bytes say, which may
    // by then be real pointers of the fuzzer's own: aim them at the buffer.
    if (nr == SYS_readv || nr == SYS_preadv) {
      struct iovec* iov = (struct iovec*)(buffer + 8192);
      for (int k = 0; k < 4; ++k) iov[k] = (struct iovec){buffer + Next() % 4096, Next() % 8192};
      a[1] = (uint64_t)iov;
      a[2] = Next() % 6;
    }
    if (nr == SYS_read || nr == SYS_readv || nr == SYS_pread64 || nr == SYS_preadv) {
      if (a[0] == 0) a[0] = 3;  // never block on stdin
    }
    syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
  dprintf(out, "ok %ld\n", iterations);
  return 0;
}
