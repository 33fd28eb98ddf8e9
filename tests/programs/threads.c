// 64 threads contending on a mutex, a condition variable and a barrier,
// joined; then a SIGALRM-driven handler count from setitimer. Prints
// results that are the same on every correct run.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

enum { kThreads = 64, kRounds = 2000 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static long counter;
static int turn;

static void* worker(void* arg) {
  long id = (long)arg;
  for (int i = 0; i < kRounds; i++) {
    pthread_mutex_lock(&mu);
    counter++;
    pthread_mutex_unlock(&mu);
  }
  pthread_barrier_wait(&barrier);
  // Take turns in id order through the condition variable.
  pthread_mutex_lock(&mu);
  while (turn != id) pthread_cond_wait(&cv, &mu);
  turn++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static volatile sig_atomic_t ticks;
static void on_alarm(int sig) {
  (void)sig;
  ticks++;
}

int main(void) {
  pthread_t t[kThreads];
  pthread_barrier_init(&barrier, NULL, kThreads);
  for (long i = 0; i < kThreads; i++) pthread_create(&t[i], NULL, worker, (void*)i);
  for (int i = 0; i < kThreads; i++) pthread_join(t[i], NULL);
  printf("counter %ld turns %d\n", counter, turn);

  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 5000}, {0, 5000}};
  setitimer(ITIMER_REAL, &it, NULL);
  while (ticks < 20) pause();
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("handler ran at least 20 times: %s\n", ticks >= 20 ? "yes" : "no");
  return 0;
}
