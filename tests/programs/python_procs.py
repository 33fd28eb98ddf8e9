# python3 threads, a thread pool, fork + waitpid, signal.alarm,
# subprocess with pipes, input and a timeout (poll on pipes), and a
# multiprocessing pool (fork from a threaded process, POSIX semaphores in
# /dev/shm, pipes between processes).
import concurrent.futures, multiprocessing, os, signal, subprocess, threading, time

lock = threading.Lock()
cond = threading.Condition(lock)
count = [0]
def work():
    for _ in range(1000):
        with lock:
            count[0] += 1
            cond.notify_all()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print("threads", count[0])
with concurrent.futures.ThreadPoolExecutor(4) as ex:
    print("pool", sum(ex.map(lambda x: x * x, range(100))))
pid = os.fork()
if pid == 0:
    os._exit(7)
print("fork", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
hits = []
signal.signal(signal.SIGALRM, lambda s, f: hits.append(s))
signal.alarm(1)
while not hits:
    time.sleep(0.01)
print("alarm", hits)
r = subprocess.run(["/bin/cat"], input=b"through a pipe", capture_output=True, timeout=10)
print("subprocess", r.returncode, r.stdout)
r = subprocess.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], capture_output=True, text=True)
print("subprocess", r.returncode, repr(r.stdout), repr(r.stderr))
try:
    subprocess.run(["/bin/sleep", "5"], timeout=0.5)
except subprocess.TimeoutExpired as e:
    print("timeout expired")
with multiprocessing.Pool(4) as pool:
    print("multiprocessing", sorted(pool.map(abs, range(-50, 50))) == sorted(abs(i) for i in range(-50, 50)),
          sum(pool.map(abs, range(-5, 5))))
