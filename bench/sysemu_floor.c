// sysemu_floor [N] [--regs]: the floor of the ptrace platform on this machine.
//
// Forks a child that makes itself a tracee (PTRACE_TRACEME, then stops
// itself with SIGSTOP) and then runs nothing but raw `syscall` instructions
// of getppid in an endless inline-asm loop. The tracer resumes it with
// PTRACE_SYSEMU and waits for the next syscall-entry stop, N times (default
// 200000), and prints the mean cost of one round trip (resume + wait) in
// nanoseconds. The syscalls are never executed (that is what SYSEMU means),
// so the child cannot exit by itself: the tracer kills it after N stops.
//
// With --regs the tracer also does the least a real emulator must do on every
// stop: PTRACE_GETREGS, put a result in rax, PTRACE_SETREGS.
//
// Output (one line, stdout):  "<ns per round trip> ns/stop sysemu N=<N>"
// bench/run.sh parses the first field.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_SYSEMU
#define PTRACE_SYSEMU 31
#endif

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noreturn)) static void child(void) {
  if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(100);
  kill(getpid(), SIGSTOP);
  for (;;) {
    long rax = SYS_getppid;
    __asm__ volatile("syscall" : "+a"(rax) : : "rcx", "r11", "memory");
  }
}

static pid_t g_child;

static void die(const char* what) {
  fprintf(stderr, "sysemu_floor: %s: %s\n", what, strerror(errno));
  if (g_child > 0) kill(g_child, SIGKILL);
  exit(1);
}

// Resumes the child with PTRACE_SYSEMU and waits for its next syscall stop.
static void round_trip(int regs) {
  if (regs) {
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, g_child, 0, &r) != 0) die("PTRACE_GETREGS");
    r.rax = (unsigned long long)getpid();
    if (ptrace(PTRACE_SETREGS, g_child, 0, &r) != 0) die("PTRACE_SETREGS");
  }
  if (ptrace(PTRACE_SYSEMU, g_child, 0, 0) != 0) die("PTRACE_SYSEMU");
  int status;
  if (waitpid(g_child, &status, __WALL) != g_child) die("waitpid");
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80)) {
    fprintf(stderr, "sysemu_floor: unexpected wait status %#x\n", status);
    kill(g_child, SIGKILL);
    exit(1);
  }
}

int main(int argc, char** argv) {
  long n = 200000;
  int regs = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--regs") == 0) {
      regs = 1;
      continue;
    }
    char* end;
    n = strtol(argv[i], &end, 10);
    if (*end != '\0' || n <= 0) {
      fprintf(stderr, "usage: %s [N>0] [--regs]\n", argv[0]);
      return 2;
    }
  }

  g_child = fork();
  if (g_child < 0) die("fork");
  if (g_child == 0) child();

  int status;
  if (waitpid(g_child, &status, __WALL) != g_child) die("waitpid");
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
    fprintf(stderr, "sysemu_floor: child did not stop (status %#x)\n", status);
    kill(g_child, SIGKILL);
    return 1;
  }
  if (ptrace(PTRACE_SETOPTIONS, g_child, 0,
             PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) != 0)
    die("PTRACE_SETOPTIONS");

  // First stop: the child is still in its SIGSTOP; the first SYSEMU takes it
  // to its first syscall. Then a short warm-up.
  long warm = n / 100 < 1000 ? n / 100 : 1000;
  for (long i = 0; i < warm + 1; i++) round_trip(regs);

  long long t0 = now_ns();
  for (long i = 0; i < n; i++) round_trip(regs);
  long long t1 = now_ns();

  kill(g_child, SIGKILL);
  waitpid(g_child, &status, __WALL);

  printf("%.1f ns/stop sysemu%s N=%ld\n", (double)(t1 - t0) / (double)n,
         regs ? "+regs" : "", n);
  return 0;
}
