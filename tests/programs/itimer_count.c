// Interval timers and their signals:
//  1. SIGALRM from setitimer(ITIMER_REAL, 5 ms) preempts a loop that makes
//     no system call, and the handler runs at least 20 times;
//  2. a SA_RESTART handler interrupting a blocking read of a pipe does not
//     break it: the read goes on and returns the byte a child writes later;
//  3. without SA_RESTART the same read fails with EINTR.
// With the argument "cpu" it checks instead that ITIMER_VIRTUAL and
// ITIMER_PROF (10 ms of CPU time) preempt the loop the same way with
// SIGVTALRM and SIGPROF.
// Prints only facts that are the same on every correct run. A loop that
// waits on a timer gives up after 20 s of wall-clock time (read through the
// vDSO, no system call) and says so.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;
static int go_fd = -1;  // the SA_RESTART handler pokes the child through it

static void on_tick(int sig) {
  (void)sig;
  ticks++;
}

static void on_tick_poke(int sig) {
  (void)sig;
  ticks++;
  if (go_fd >= 0) {
    int saved = errno;
    char c = 'g';
    (void)!write(go_fd, &c, 1);
    errno = saved;
  }
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void handle(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) die("sigaction");
}

static void set_timer(int which, long interval_us) {
  struct itimerval it = {{0, interval_us}, {0, interval_us}};
  if (setitimer(which, &it, NULL) != 0) die("setitimer");
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

// Spins in user mode until `ticks` reaches `want`; 1 if it did, 0 if 20 s
// went by first.
static int spin_until(int want) {
  double deadline = now() + 20;
  volatile unsigned long sink = 0;
  while (ticks < want) {
    for (int i = 0; i < 100000 && ticks < want; i++) sink += (unsigned long)i * i;
    if (now() > deadline) return 0;
  }
  return 1;
}

static void busy_timer(const char* name, int which, int sig, long interval_us) {
  ticks = 0;
  handle(sig, on_tick, 0);
  set_timer(which, interval_us);
  int ok = spin_until(20);
  set_timer(which, 0);
  handle(sig, SIG_IGN, 0);  // a signal still in flight is dropped
  printf("%s: handler ran >= 20 times in a loop without syscalls: %s\n", name,
         ok ? "yes" : "no");
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "cpu") == 0) {
    busy_timer("ITIMER_VIRTUAL", ITIMER_VIRTUAL, SIGVTALRM, 10000);
    busy_timer("ITIMER_PROF", ITIMER_PROF, SIGPROF, 10000);
    return 0;
  }
  busy_timer("ITIMER_REAL", ITIMER_REAL, SIGALRM, 5000);

  // 2. SA_RESTART: a child writes to `data` only once the handler has run
  // (it pokes the child through `go`), so the parent's read is blocked, or
  // about to block, when the signal comes and must be restarted.
  int data[2], go[2];
  if (pipe(data) != 0 || pipe(go) != 0) die("pipe");
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    close(data[0]);
    close(go[1]);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    usleep(100 * 1000);
    if (write(data[1], "x", 1) != 1) _exit(3);
    _exit(0);
  }
  close(data[1]);
  close(go[0]);
  go_fd = go[1];
  ticks = 0;
  handle(SIGALRM, on_tick_poke, SA_RESTART);
  set_timer(ITIMER_REAL, 30000);  // every 30 ms, until the read is done
  char buf[8];
  ssize_t n = read(data[0], buf, sizeof buf);
  int err = errno;
  set_timer(ITIMER_REAL, 0);
  handle(SIGALRM, SIG_IGN, 0);
  go_fd = -1;
  int status = 0;
  if (waitpid(child, &status, 0) != child) die("waitpid");
  printf("SA_RESTART: read returned %zd%s%s, handler ran: %s, child status %d\n", n,
         n < 0 ? " errno " : "", n < 0 ? strerror(err) : "", ticks > 0 ? "yes" : "no",
         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  if (n == 1) printf("SA_RESTART: read got '%c'\n", buf[0]);
  close(data[0]);
  close(go[1]);

  // 3. No SA_RESTART: nothing ever writes to this pipe (the write end is
  // held open), so only the signal can end the read. The timer repeats, in
  // case it fires before the read blocks.
  int idle[2];
  if (pipe(idle) != 0) die("pipe");
  ticks = 0;
  handle(SIGALRM, on_tick, 0);
  set_timer(ITIMER_REAL, 30000);
  errno = 0;
  n = read(idle[0], buf, sizeof buf);
  err = errno;
  set_timer(ITIMER_REAL, 0);
  handle(SIGALRM, SIG_IGN, 0);
  printf("no SA_RESTART: read returned %zd, errno %s, handler ran: %s\n", n,
         err == EINTR ? "EINTR" : strerror(err), ticks > 0 ? "yes" : "no");

  // The timer reads back as disarmed.
  struct itimerval cur;
  if (getitimer(ITIMER_REAL, &cur) != 0) die("getitimer");
  printf("ITIMER_REAL disarmed: %s\n",
         cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 ? "yes" : "no");
  return 0;
}
