// 64 threads contending on pthread mutexes, condition variables, barriers
// and a rwlock (all futex-based), then joined. Every line printed is a total
// or checksum that is the same on every correct run, whatever the order in
// which the threads ran.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  kThreads = 64,
  kBarrierRounds = 50,
  kIncrements = 3000,   // per thread, under one mutex
  kItems = 500,         // per producer (kThreads / 2 producers)
  kQueueSize = 8,
  kRwRounds = 400,      // per thread
};

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                        \
    }                                                                 \
  } while (0)

static pthread_barrier_t barrier;

// --- 1. barrier rounds: each round every thread adds (round+1)*(id+1) to the
// round's sum; the one thread that gets PTHREAD_BARRIER_SERIAL_THREAD after
// the second wait checks it.
static pthread_mutex_t round_mu = PTHREAD_MUTEX_INITIALIZER;
static long round_sum[kBarrierRounds];
static int serial_count[kBarrierRounds];
static int round_ok = 1;

static void barrier_rounds(long id) {
  for (int r = 0; r < kBarrierRounds; r++) {
    pthread_mutex_lock(&round_mu);
    round_sum[r] += (long)(r + 1) * (id + 1);
    pthread_mutex_unlock(&round_mu);
    pthread_barrier_wait(&barrier);
    int rc = pthread_barrier_wait(&barrier);
    if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
      pthread_mutex_lock(&round_mu);
      serial_count[r]++;
      if (round_sum[r] != (long)(r + 1) * kThreads * (kThreads + 1) / 2) round_ok = 0;
      pthread_mutex_unlock(&round_mu);
    } else if (rc != 0) {
      round_ok = 0;
    }
  }
}

// --- 2. a shared counter under one mutex.
static pthread_mutex_t counter_mu = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void increments(void) {
  for (int i = 0; i < kIncrements; i++) {
    pthread_mutex_lock(&counter_mu);
    counter++;
    pthread_mutex_unlock(&counter_mu);
  }
}

// --- 3. a bounded queue with two condition variables: even ids produce
// kItems values each, odd ids consume until every item is taken.
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static uint64_t queue[kQueueSize];
static int q_head, q_len;
static long q_taken;           // items claimed by consumers
static uint64_t q_sum, q_xor;  // of consumed values
static long q_consumed;
static int q_max_len;

enum { kProducers = kThreads / 2, kTotalItems = kProducers * kItems };

static uint64_t item_value(long producer, int i) {
  return (uint64_t)producer * 1000003u + (uint64_t)i * 7919u + 1;
}

static void produce(long producer) {
  for (int i = 0; i < kItems; i++) {
    pthread_mutex_lock(&q_mu);
    while (q_len == kQueueSize) pthread_cond_wait(&not_full, &q_mu);
    queue[(q_head + q_len) % kQueueSize] = item_value(producer, i);
    q_len++;
    if (q_len > q_max_len) q_max_len = q_len;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&q_mu);
  }
}

static void consume(void) {
  for (;;) {
    pthread_mutex_lock(&q_mu);
    if (q_taken == kTotalItems) {
      pthread_mutex_unlock(&q_mu);
      return;
    }
    q_taken++;  // this consumer will take one more item
    while (q_len == 0) pthread_cond_wait(&not_empty, &q_mu);
    uint64_t v = queue[q_head];
    q_head = (q_head + 1) % kQueueSize;
    q_len--;
    q_sum += v;
    q_xor ^= v * 0x9e3779b97f4a7c15ull;
    q_consumed++;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&q_mu);
  }
}

// --- 4. a rwlock: writers move 1 from a to b (a + b stays constant and
// version counts writes); readers check the invariant under the read lock.
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_a = 1000000, rw_b, rw_version;
static long rw_bad_reads, rw_reads;
static pthread_mutex_t rw_stats_mu = PTHREAD_MUTEX_INITIALIZER;

static void rwlock_section(long id) {
  long bad = 0, reads = 0;
  for (int i = 0; i < kRwRounds; i++) {
    if ((i + id) % 4 == 0) {
      pthread_rwlock_wrlock(&rw);
      rw_a--;
      rw_b++;
      rw_version++;
      pthread_rwlock_unlock(&rw);
    } else {
      pthread_rwlock_rdlock(&rw);
      if (rw_a + rw_b != 1000000) bad++;
      reads++;
      pthread_rwlock_unlock(&rw);
    }
  }
  pthread_mutex_lock(&rw_stats_mu);
  rw_bad_reads += bad;
  rw_reads += reads;
  pthread_mutex_unlock(&rw_stats_mu);
}

static void* worker(void* arg) {
  long id = (long)arg;
  barrier_rounds(id);
  increments();
  pthread_barrier_wait(&barrier);
  if (id % 2 == 0) {
    produce(id / 2);
  } else {
    consume();
  }
  pthread_barrier_wait(&barrier);
  rwlock_section(id);
  return (void*)(id * 3 + 1);
}

int main(void) {
  pthread_t t[kThreads];
  CHECK(pthread_barrier_init(&barrier, NULL, kThreads) == 0);
  for (long i = 0; i < kThreads; i++) {
    CHECK(pthread_create(&t[i], NULL, worker, (void*)i) == 0);
  }
  long joined = 0, ret_sum = 0;
  for (long i = 0; i < kThreads; i++) {
    void* ret = NULL;
    CHECK(pthread_join(t[i], &ret) == 0);
    joined++;
    ret_sum += (long)ret;
  }
  CHECK(pthread_barrier_destroy(&barrier) == 0);

  int serial_ok = 1;
  for (int r = 0; r < kBarrierRounds; r++) serial_ok &= serial_count[r] == 1;
  printf("threads joined: %ld, return values sum %ld\n", joined, ret_sum);
  printf("barrier rounds: %d, sums right: %s, one serial thread per round: %s\n",
         kBarrierRounds, round_ok ? "yes" : "no", serial_ok ? "yes" : "no");
  printf("counter: %ld (expected %ld)\n", counter, (long)kThreads * kIncrements);

  uint64_t want_sum = 0, want_xor = 0;
  for (long p = 0; p < kProducers; p++) {
    for (int i = 0; i < kItems; i++) {
      uint64_t v = item_value(p, i);
      want_sum += v;
      want_xor ^= v * 0x9e3779b97f4a7c15ull;
    }
  }
  printf("queue: consumed %ld of %d, sum %s, xor %s, left %d, never over capacity: %s\n",
         q_consumed, kTotalItems, q_sum == want_sum ? "right" : "WRONG",
         q_xor == want_xor ? "right" : "WRONG", q_len, q_max_len <= kQueueSize ? "yes" : "no");
  printf("queue checksum: %016llx\n", (unsigned long long)(q_sum ^ q_xor));
  printf("rwlock: writes %ld, reads %ld, a+b %ld, torn reads %ld\n", rw_version, rw_reads,
         rw_a + rw_b, rw_bad_reads);
  return 0;
}
