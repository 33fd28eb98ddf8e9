// getppid_loop [N]: the syscall round-trip benchmark.
//
// Calls getppid through syscall(SYS_getppid) N times (default 200000) and
// prints the mean cost of one call in nanoseconds. The clock is read with
// clock_gettime(CLOCK_MONOTONIC), which goes through the vDSO and so is not
// trapped by a sandbox: only the loop is measured, not the program's start-up.
//
// Output (one line, stdout):  "<ns per call> ns/call getppid N=<N>"
// bench/run.sh parses the first field.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
  long n = 200000;
  if (argc > 1) {
    char* end;
    n = strtol(argv[1], &end, 10);
    if (*end != '\0' || n <= 0) {
      fprintf(stderr, "usage: %s [N>0]\n", argv[0]);
      return 2;
    }
  }

  // Warm up: fault in the pages, let the sandbox settle its caches.
  long warm = n / 100 < 1000 ? n / 100 : 1000;
  for (long i = 0; i < warm; i++) syscall(SYS_getppid);

  long long t0 = now_ns();
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  long long t1 = now_ns();

  printf("%.1f ns/call getppid N=%ld\n", (double)(t1 - t0) / (double)n, n);
  return 0;
}
