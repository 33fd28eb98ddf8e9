// The program half of stress_leaks.sh. Forks once and runs one thread, so
// that whatever the sentry makes only on first use exists already; prints
// "start" and waits for a line on stdin (the script takes its baseline of
// the sentry meanwhile); then
// 1000 fork + _exit + waitpid and 500 threads created and joined 50 at a
// time; prints "done" and waits for a second line (the script looks again);
// then exits 0. Any failure is printed and makes the status 1.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kForks = 1000, kThreads = 500, kBatch = 50 };

static int failures;

static void fail(const char* what, long i) {
  printf("FAIL: %s (iteration %ld)\n", what, i);
  failures++;
}

static void* thread_main(void* arg) { return (void*)((long)arg * 2 + 1); }

static int wait_line(void) {
  char line[64];
  return fgets(line, sizeof line, stdin) != NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  if (pid < 0 || waitpid(pid, NULL, 0) != pid) fail("warm-up fork", -1);
  pthread_t warm;
  if (pthread_create(&warm, NULL, thread_main, NULL) != 0 || pthread_join(warm, NULL) != 0) {
    fail("warm-up thread", -1);
  }
  printf("start\n");
  if (!wait_line()) return 1;

  for (long i = 0; i < kForks && failures < 5; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      fail("fork", i);
      continue;
    }
    if (pid == 0) _exit((int)(i % 100));
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
      fail("waitpid", i);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != i % 100) {
      fail("exit status", i);
    }
  }
  // No child is left to wait for.
  if (waitpid(-1, NULL, WNOHANG) != -1) fail("a child is left", kForks);

  for (long b = 0; b < kThreads / kBatch; b++) {
    pthread_t t[kBatch];
    for (long j = 0; j < kBatch; j++) {
      int rc = pthread_create(&t[j], NULL, thread_main, (void*)(b * kBatch + j));
      if (rc != 0) {
        printf("FAIL: pthread_create: %s\n", strerror(rc));
        return 1;
      }
    }
    for (long j = 0; j < kBatch; j++) {
      void* ret = NULL;
      if (pthread_join(t[j], &ret) != 0 || (long)ret != (b * kBatch + j) * 2 + 1) {
        fail("pthread_join", b * kBatch + j);
      }
    }
  }

  printf("done\n");
  if (!wait_line()) return 1;
  printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
