// overlay_canary DIR: changes a directory tree in every way the sandbox's
// overlay root must absorb (overwrite, append, create, mkdir, unlink, rmdir,
// truncate), then prints what it sees: every path under DIR, sorted, with
// its type, mode, size and content (or symlink target). overlay_canary.sh
// runs it natively and under the sentry on the same tree, checks that both
// print the same view and that the sentry left the host tree unchanged.
//
// DIR is expected to hold what overlay_canary.sh makes:
//   overwrite.txt  append.txt  remove_me.txt  truncate.txt  link -> overwrite.txt
//   subdir/{a.txt,b.txt}  keep/inner.txt
// Every system call is checked; any failure prints a message and exits 1.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *g_dir;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "overlay_canary: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

// DIR/rel, in a static buffer (one at a time).
static const char *at(const char *rel) {
  static char buf[4096];
  if ((size_t)snprintf(buf, sizeof buf, "%s/%s", g_dir, rel) >= sizeof buf) {
    die("path too long: %s", rel);
  }
  return buf;
}

static void write_all(int fd, const char *data, const char *what) {
  size_t len = strlen(data);
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) die("write %s: %s", what, strerror(errno));
    data += n;
    len -= (size_t)n;
  }
}

// open(rel, flags, mode), write data, close.
static void put(const char *rel, int flags, mode_t mode, const char *data) {
  int fd = open(at(rel), flags, mode);
  if (fd < 0) die("open %s: %s", rel, strerror(errno));
  write_all(fd, data, rel);
  if (close(fd) != 0) die("close %s: %s", rel, strerror(errno));
}

static void check_errno(int ret, int want, const char *what) {
  if (ret != -1 || errno != want) {
    die("%s: got %d (%s), want -1 (%s)", what, ret, ret == -1 ? strerror(errno) : "no error",
        strerror(want));
  }
}

static void change(void) {
  umask(022);
  // Overwrite an existing file from the start.
  put("overwrite.txt", O_WRONLY | O_TRUNC, 0, "overwritten\n");
  // Append to another.
  put("append.txt", O_WRONLY | O_APPEND, 0, "line2\n");
  // A new file, and a new directory with a file in it.
  put("new.txt", O_WRONLY | O_CREAT | O_EXCL, 0640, "brand new\n");
  if (mkdir(at("newdir"), 0750) != 0) die("mkdir newdir: %s", strerror(errno));
  put("newdir/inside.txt", O_WRONLY | O_CREAT | O_EXCL, 0600, "inside\n");
  // Unlink a file; it is gone for open(2) and for a second unlink.
  if (unlink(at("remove_me.txt")) != 0) die("unlink remove_me.txt: %s", strerror(errno));
  check_errno(open(at("remove_me.txt"), O_RDONLY), ENOENT, "open of the unlinked remove_me.txt");
  check_errno(unlink(at("remove_me.txt")), ENOENT, "second unlink of remove_me.txt");
  // Remove a directory: not while it has files, then after unlinking them.
  check_errno(rmdir(at("subdir")), ENOTEMPTY, "rmdir of the non-empty subdir");
  if (unlink(at("subdir/a.txt")) != 0) die("unlink subdir/a.txt: %s", strerror(errno));
  if (unlink(at("subdir/b.txt")) != 0) die("unlink subdir/b.txt: %s", strerror(errno));
  if (rmdir(at("subdir")) != 0) die("rmdir subdir: %s", strerror(errno));
  check_errno(rmdir(at("keep")), ENOTEMPTY, "rmdir of the untouched keep");
  // Truncate a file to its first 4 bytes.
  if (truncate(at("truncate.txt"), 4) != 0) die("truncate truncate.txt: %s", strerror(errno));
  // A name removed and made again is the new file.
  if (unlink(at("keep/inner.txt")) != 0) die("unlink keep/inner.txt: %s", strerror(errno));
  put("keep/inner.txt", O_WRONLY | O_CREAT | O_EXCL, 0644, "reborn\n");
}

// ---- the view ---------------------------------------------------------------

static char **g_paths;
static size_t g_npaths, g_cap;

static void collect(const char *rel) {
  char full[4096];
  snprintf(full, sizeof full, "%s%s%s", g_dir, *rel ? "/" : "", rel);
  DIR *d = opendir(full);
  if (!d) die("opendir %s: %s", full, strerror(errno));
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) {
      if (errno != 0) die("readdir %s: %s", full, strerror(errno));
      break;
    }
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char *child;
    if (asprintf(&child, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < 0) die("out of memory");
    if (g_npaths == g_cap) {
      g_cap = g_cap ? 2 * g_cap : 64;
      g_paths = realloc(g_paths, g_cap * sizeof *g_paths);
      if (!g_paths) die("out of memory");
    }
    g_paths[g_npaths++] = child;
    struct stat st;
    if (lstat(at(child), &st) != 0) die("lstat %s: %s", child, strerror(errno));
    if (S_ISDIR(st.st_mode)) collect(child);
  }
  if (closedir(d) != 0) die("closedir %s: %s", full, strerror(errno));
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// The content of a small file, with newlines and odd bytes escaped.
static void print_content(const char *rel) {
  int fd = open(at(rel), O_RDONLY);
  if (fd < 0) die("open %s for reading: %s", rel, strerror(errno));
  char buf[4096];
  ssize_t n;
  putchar('"');
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)buf[i];
      if (c == '\n') {
        fputs("\\n", stdout);
      } else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
        printf("\\x%02x", c);
      } else {
        putchar(c);
      }
    }
  }
  if (n < 0) die("read %s: %s", rel, strerror(errno));
  putchar('"');
  if (close(fd) != 0) die("close %s: %s", rel, strerror(errno));
}

static void show(void) {
  g_npaths = 0;
  collect("");
  qsort(g_paths, g_npaths, sizeof *g_paths, by_name);
  for (size_t i = 0; i < g_npaths; i++) {
    const char *rel = g_paths[i];
    struct stat st;
    if (lstat(at(rel), &st) != 0) die("lstat %s: %s", rel, strerror(errno));
    const unsigned mode = (unsigned)(st.st_mode & 07777);
    if (S_ISDIR(st.st_mode)) {
      printf("%s dir %04o\n", rel, mode);
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlink(at(rel), target, sizeof target - 1);
      if (n < 0) die("readlink %s: %s", rel, strerror(errno));
      target[n] = '\0';
      printf("%s symlink -> %s\n", rel, target);
    } else if (S_ISREG(st.st_mode)) {
      printf("%s file %04o %lld ", rel, mode, (long long)st.st_size);
      print_content(rel);
      putchar('\n');
    } else {
      printf("%s other %06o\n", rel, (unsigned)st.st_mode);
    }
    free(g_paths[i]);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: overlay_canary DIR\n");
    return 2;
  }
  g_dir = argv[1];
  change();
  show();
  // The symlink follows the overwritten file.
  int fd = open(at("link"), O_RDONLY);
  if (fd < 0) die("open link: %s", strerror(errno));
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n < 0) die("read link: %s", strerror(errno));
  buf[n] = '\0';
  if (close(fd) != 0) die("close link: %s", strerror(errno));
  printf("via link: %s", buf);
  if (fflush(stdout) != 0 || ferror(stdout)) die("stdout: %s", strerror(errno));
  return 0;
}
