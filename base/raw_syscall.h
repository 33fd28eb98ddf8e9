// A system call with no libc wrapper around it: no errno, no cancellation,
// no thread-local state. For code that runs where libc must not (a child
// sharing the parent's memory before exec, a process with no libc at all).
#pragma once

namespace husk {

// Returns the kernel's result: -errno on failure.
inline long RawSyscall(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0,
                       long a6 = 0) {
  long ret;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

}  // namespace husk
