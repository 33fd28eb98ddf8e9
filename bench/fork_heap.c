// fork of a process with a large touched heap: bench_fork_heap [MIB] [N].
// Touches MIB MiB (default 1024) of private anonymous memory, one write per
// page, then N times (default 5) forks a child that exits at once and waits
// for it. Prints the mean and the slowest fork+wait in ms, then the first
// fork+wait alone (the one that write-protects the parent's pages), and the
// parent's peak RSS in MiB. With copy-on-write a fork copies page tables, not
// pages: the time should grow with the mapped size but no page is copied.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double NowMs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  long mib = argc > 1 ? atol(argv[1]) : 1024;
  int n = argc > 2 ? atoi(argv[2]) : 5;
  if (mib <= 0) mib = 1024;
  if (n <= 0) n = 5;
  const size_t len = (size_t)mib << 20;
  char* heap = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (heap == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  for (size_t i = 0; i < len; i += 4096) heap[i] = (char)(i >> 12);

  double total = 0, slowest = 0, first = 0;
  for (int i = 0; i < n; i++) {
    double t0 = NowMs();
    pid_t p = fork();
    if (p == 0) _exit(0);
    if (p < 0 || waitpid(p, NULL, 0) != p) {
      perror("fork");
      return 1;
    }
    double ms = NowMs() - t0;
    if (i == 0) first = ms;
    total += ms;
    if (ms > slowest) slowest = ms;
    // The parent writes a page after each fork, as a real program would:
    // the last holder of a shared page writes it in place.
    heap[(size_t)i * 4096] ^= 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("%.3f ms fork+wait mean (max %.3f, first %.3f) of %ld MiB touched; rss %ld MiB\n",
         total / n, slowest, first, mib, ru.ru_maxrss / 1024);
  return 0;
}
