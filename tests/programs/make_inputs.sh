#!/usr/bin/env bash
# Creates the input files of the programs.* tests in OUTDIR (the build
# directory; not /tmp, which the sandbox does not share with the host):
#   big.bin            50,000,000 deterministic pseudo-random bytes
#   not_executable     a regular file without x permission
#   not_elf            a text file with x permission but no #! line
#   truncated_header.elf  the first 40 bytes of an ELF (header cut short)
#   truncated_phdrs.elf   an ELF cut in the middle of its program headers
#   elf32              a minimal but complete 32-bit i386 ELF executable
# Idempotent: existing files of the right size are kept.
set -eu
out=${1:?usage: make_inputs.sh OUTDIR}
mkdir -p "$out"
cd "$out"

big_size=50000000
if [ ! -f big.bin ] || [ "$(stat -c %s big.bin)" != "$big_size" ]; then
  if command -v python3 >/dev/null 2>&1; then
    python3 -c '
import random, sys
r = random.Random(20240601)
w = sys.stdout.buffer
left = '"$big_size"'
while left:
    n = min(left, 1 << 20)
    w.write(r.getrandbits(8 * n).to_bytes(n, "little"))
    left -= n
' >big.bin.tmp
  else
    # No python: a deterministic but less interesting pattern.
    yes 'husk programs test big file line' | head -c "$big_size" >big.bin.tmp
  fi
  mv big.bin.tmp big.bin
fi

printf 'just data, no x bit\n' >not_executable
chmod 644 not_executable

printf 'echo this is not an ELF and has no #! line\n' >not_elf
chmod 755 not_elf

# Truncated ELFs, cut from a real executable.
elf=/bin/true
head -c 40 "$elf" >truncated_header.elf
head -c 200 "$elf" >truncated_phdrs.elf  # e_phoff=64, phnum*56 > 136
chmod 755 truncated_header.elf truncated_phdrs.elf

# A minimal ELF32 (i386) executable: exit(42) via int 0x80.
{
  # e_ident: magic, ELFCLASS32, ELFDATA2LSB, EV_CURRENT, SYSV ABI, padding
  printf '\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00'
  printf '\x02\x00'                  # e_type ET_EXEC
  printf '\x03\x00'                  # e_machine EM_386
  printf '\x01\x00\x00\x00'          # e_version
  printf '\x54\x80\x04\x08'          # e_entry 0x08048054
  printf '\x34\x00\x00\x00'          # e_phoff 52
  printf '\x00\x00\x00\x00'          # e_shoff
  printf '\x00\x00\x00\x00'          # e_flags
  printf '\x34\x00'                  # e_ehsize 52
  printf '\x20\x00'                  # e_phentsize 32
  printf '\x01\x00'                  # e_phnum 1
  printf '\x00\x00\x00\x00\x00\x00'  # e_shentsize, e_shnum, e_shstrndx
  # Program header: PT_LOAD of the whole file at 0x08048000, r-x.
  printf '\x01\x00\x00\x00'          # p_type PT_LOAD
  printf '\x00\x00\x00\x00'          # p_offset
  printf '\x00\x80\x04\x08'          # p_vaddr
  printf '\x00\x80\x04\x08'          # p_paddr
  printf '\x60\x00\x00\x00'          # p_filesz 96
  printf '\x60\x00\x00\x00'          # p_memsz 96
  printf '\x05\x00\x00\x00'          # p_flags R|X
  printf '\x00\x10\x00\x00'          # p_align
  # mov eax, 1; mov ebx, 42; int 0x80
  printf '\xb8\x01\x00\x00\x00\xbb\x2a\x00\x00\x00\xcd\x80'
} >elf32
chmod 755 elf32
[ "$(stat -c %s elf32)" = 96 ]
