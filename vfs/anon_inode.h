// The one anonymous inode that epoll instances (and other files with no
// inode of their own) share, as Linux's anon_inodefs: mode 0600 with no
// file type, owned by root, one link.
#pragma once

#include <sys/stat.h>

namespace husk::vfs {

inline struct stat AnonInodeStat() {
  struct stat st {};
  st.st_mode = S_IRUSR | S_IWUSR;
  st.st_nlink = 1;
  st.st_dev = 0x10;  // anon_inodefs's device on a usual boot
  st.st_ino = 1;
  st.st_blksize = 4096;
  return st;
}

}  // namespace husk::vfs
