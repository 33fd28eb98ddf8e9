// The stub's code page: the only code a fresh stub process has mapped.
//
// husk_stub_entry runs in the stub right after clone, with the sentry's
// address space still (copy-on-write) mapped in it. It unmaps everything
// except this page and the vDSO/vvar, then stops with int3 so the sentry
// (its tracer) takes over. It uses no stack, since the stack goes too. The
// two kept ranges (this page and the vDSO/vvar) come in address order:
//   rdi = start of the lower kept range, rsi = its end,
//   rdx = start of the upper kept range, rcx = its end.
//
// husk_stub_syscall is where the sentry points rip to run one real host
// syscall in the stub (mmap, munmap, mprotect, recvmsg, close,
// clock_gettime of the thread's own CPU clock): `syscall`
// then `int3`. The stub's seccomp filter only allows syscalls made from
// this page.
//
// The page after the code, husk_stub_scratch, is the stub's scratch page:
// each stub maps its own page of the platform's scratch memfd there, and
// recvmsg reads a donated host fd's message header from it.

  .section .husk_stub, "ax", @progbits
  .balign 4096
  .globl husk_stub_start
husk_stub_start:
  .globl husk_stub_entry
husk_stub_entry:
  mov %rdx, %r12
  mov %rcx, %r13
  mov %rsi, %r14
  // munmap(0, lower_start)
  mov %rdi, %rsi
  xor %edi, %edi
  mov $11, %eax
  syscall
  // munmap(lower_end, upper_start - lower_end)
  mov %r14, %rdi
  mov %r12, %rsi
  sub %r14, %rsi
  mov $11, %eax
  syscall
  // munmap(upper_end, TASK_SIZE - upper_end)
  mov %r13, %rdi
  movabs $0x7ffffffff000, %rsi
  sub %r13, %rsi
  mov $11, %eax
  syscall
  int3

  .globl husk_stub_syscall
husk_stub_syscall:
  syscall
  int3

// husk_stub_clone: the sentry points rip here to run clone(2) in the stub
// for a new stub process (fork) or stub thread. The parent stops with
// int3 as after any injected syscall; the child, which nobody traces yet,
// sleeps in pause(2) without touching memory until the sentry thread that
// will run it attaches (PTRACE_SEIZE + PTRACE_INTERRUPT) and gives it
// registers.
  .globl husk_stub_clone
husk_stub_clone:
  syscall
  test %rax, %rax
  jz husk_stub_spin
  int3

  .globl husk_stub_spin
husk_stub_spin:
  mov $34, %eax  // pause
  syscall
  jmp husk_stub_spin

  .balign 4096
  .globl husk_stub_scratch
husk_stub_scratch:
  .fill 4096, 1, 0xcc
  .globl husk_stub_end
husk_stub_end:

  .section .note.GNU-stack, "", @progbits
