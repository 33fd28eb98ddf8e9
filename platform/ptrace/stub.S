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
// syscall in the stub (mmap, munmap, mprotect, close, clock_gettime of the
// thread's own CPU clock): `syscall` then `int3`. husk_stub_map_fd
// receives a host fd, maps it and closes it. The stub's seccomp filter only allows syscalls made from
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

// husk_stub_map_fd: receives a donated host fd and maps it in one trip
// through the sentry (three injected syscalls would be three). On entry
// rdi/rsi/rdx are recvmsg's arguments (the donor socket, the header in the
// scratch page, 0); r12, r13, r14, r15 and rbp are mmap's address, length,
// protection, flags and offset; r8 is the address of the int in the
// scratch page where the fd's number arrives (the sentry stores -1 there
// first, so a message without an fd maps nothing: mmap fails with EBADF).
// It stops with int3 at husk_stub_map_fd_unreceived with recvmsg's result
// if that was not one byte, else at husk_stub_map_fd_done with mmap's
// result, the fd closed.
  .globl husk_stub_map_fd
husk_stub_map_fd:
  mov $47, %eax  // recvmsg
  syscall
  cmp $1, %rax
  jne husk_stub_map_fd_failed
  movslq (%r8), %rbx
  mov %r12, %rdi
  mov %r13, %rsi
  mov %r14, %rdx
  mov %r15, %r10
  mov %rbx, %r8
  mov %rbp, %r9
  mov $9, %eax  // mmap
  syscall
  mov %rax, %r12
  mov %rbx, %rdi
  mov $3, %eax  // close
  syscall
  mov %r12, %rax
  int3
  .globl husk_stub_map_fd_done
husk_stub_map_fd_done:
husk_stub_map_fd_failed:
  int3
  .globl husk_stub_map_fd_unreceived
husk_stub_map_fd_unreceived:

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

// Signal delivery without a trip through the sentry for the FP state
// (platform.h, SignalTrampolines). Offsets are into the x86-64 rt_sigframe:
// 8 + 40 is uc_mcontext, whose r8 is at +0, rcx at +112, fpstate at +184
// and first reserved word at +192.
//
// husk_stub_sigenter: a handler's entry. rsp is at the frame, eax holds the
// components to save and r8d those to reset, edx is 0. Saves the
// interrupted FP state into the frame's XSAVE area (XSTATE_BV's FP and SSE
// bits then always set, without touching RFLAGS), resets it, and enters
// the handler with rdx = &uc, rax = 0 and rcx, r8 as interrupted.
  .globl husk_stub_sigenter
husk_stub_sigenter:
  mov 232(%rsp), %rcx
  xsave64 (%rcx)
  movq 512(%rcx), %xmm0
  por husk_stub_fpsse(%rip), %xmm0
  movq %xmm0, 512(%rcx)
  mov %r8d, %eax
  xrstor64 husk_stub_fpinit(%rip)
  mov 160(%rsp), %rcx
  mov 48(%rsp), %r8
  lea 8(%rsp), %rdx
  mov $0, %eax
  jmp *240(%rsp)

// husk_stub_sigreturn: the end of rt_sigreturn. rcx points at the frame's
// XSAVE area, r9d holds the components to load from it and r8d those to
// reset, edx is 0; rsp is at {rax, rdx, rcx, r8, r9} and an IRET frame
// {rip, cs, rflags, rsp, ss}; every other register is already restored.
  .globl husk_stub_sigreturn
husk_stub_sigreturn:
  mov %r9d, %eax
  xrstor64 (%rcx)
  mov %r8d, %eax
  xrstor64 husk_stub_fpinit(%rip)
  mov 0(%rsp), %rax
  mov 8(%rsp), %rdx
  mov 16(%rsp), %rcx
  mov 24(%rsp), %r8
  mov 32(%rsp), %r9
  lea 40(%rsp), %rsp
  iretq

  .balign 16
husk_stub_fpsse:
  .quad 3, 0
// An XSAVE area with every component in its initial state (XSTATE_BV 0)
// but MXCSR, which XRSTOR loads from memory: 0x1f80.
  .balign 64
husk_stub_fpinit:
  .fill 24, 1, 0
  .long 0x1f80
  .fill 576 - 28, 1, 0

  .balign 4096
  .globl husk_stub_scratch
husk_stub_scratch:
  .fill 4096, 1, 0xcc
  .globl husk_stub_end
husk_stub_end:

  .section .note.GNU-stack, "", @progbits
