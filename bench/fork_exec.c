// fork+exec+wait of /bin/true and pthread create+join, N times each; prints
// the mean milliseconds of each. Run natively and under a sandbox by
// run.sh-style interleaving (see README).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double NowMs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void* Nothing(void* arg) { return arg; }

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 50;
  if (n <= 0) n = 50;
  double t0 = NowMs();
  for (int i = 0; i < n; i++) {
    pid_t p = fork();
    if (p == 0) {
      execl("/bin/true", "true", (char*)NULL);
      _exit(127);
    }
    if (p < 0 || waitpid(p, NULL, 0) != p) return 1;
  }
  double t1 = NowMs();
  for (int i = 0; i < n; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, Nothing, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
  }
  double t2 = NowMs();
  printf("fork+exec+wait %.3f ms  pthread create+join %.3f ms\n", (t1 - t0) / n, (t2 - t1) / n);
  return 0;
}
