# memloop-user: the memloop benchmark as a static Linux x86-64 program, no libc:
# the loop of memloop.inc, then exit(0) if its result is BENCH_EXPECT, else
# exit(1). Built by test/bench/build.sh into test/bench/bin/memloop-user; its
# buffer is the first thing in .bss, linked at 0x10000000, the same virtual
# address the guest version (test/guest/bench-memloop.S) maps it at.
    .text
    .globl _start
_start:
    lea membuf(%rip), %rdi
    call memloop
    xor %edi, %edi
    cmp $BENCH_EXPECT, %eax
    setne %dil
    mov $60, %eax                       # exit
    syscall
    ud2

    .bss
    .balign 4096
membuf: .skip BENCH_BYTES

.include "memloop.inc"
