# hello: a banner, the multiboot command line and memory map, exit 0.
# Also the boot-time benchmark's kernel: keep it short.
.include "lib/defs.inc"

    .text
    .code64
    .globl main
main:
    PRINTLN "hello: damselfly guest test kernel"
    mov mb_info(%rip), %ebx
    mov (%rbx), %r12d                   # flags

    # command line (flag bit 2): "KERNEL-PATH ARGS" as QEMU and GRUB pass it;
    # the path depends on how the kernel was named, so only ARGS is compared.
    test $4, %r12d
    jz 3f
    mov 16(%rbx), %esi
    PRINT "~ cmdline: "
    call puts
    PRINTLN ""
1:  lodsb                               # skip the path
    test %al, %al
    jz 2f
    cmp $' ', %al
    jne 1b
    jmp 4f
2:  dec %rsi
4:  PRINT "cmdline args: "
    call puts
    PRINTLN ""
    jmp 5f
3:  FAIL "cmdline", "flag bit 2 clear"
5:
    # boot loader name (flag bit 9): implementation-specific
    test $0x200, %r12d
    jz 1f
    PRINT "~ boot loader: "
    mov 64(%rbx), %esi
    call puts
    PRINTLN ""
1:
    # mem_lower / mem_upper (flag bit 0)
    test $1, %r12d
    jz 2f
    PRINT "~ mem_lower "
    mov 4(%rbx), %eax
    call putdec
    PRINT " KiB, mem_upper "
    mov 8(%rbx), %eax
    call putdec
    PRINTLN " KiB"
    mov 4(%rbx), %eax
    CHECK_RANGE "mem_lower (KiB)", %rax, $600, $640
    jmp 3f
2:  FAIL "mem_lower", "flag bit 0 clear"
3:
    # memory map (flag bit 6)
    test $0x40, %r12d
    jz 9f
    mov 48(%rbx), %esi                  # mmap_addr
    mov 44(%rbx), %r13d                 # mmap_length
    add %rsi, %r13                      # end
    xor %r14, %r14                      # usable bytes at/above 1 MiB
    xor %r15, %r15                      # 1: an entry covers the image
    xor %ebp, %ebp                      # entries
1:  cmp %r13, %rsi
    jae 6f
    inc %ebp
    PRINT "~ mmap "
    mov 4(%rsi), %rax
    call puthex
    PRINT " + "
    mov 12(%rsi), %rax
    call puthex
    PRINT " type "
    mov 20(%rsi), %eax
    call putdec
    PRINTLN ""
    cmpl $1, 20(%rsi)
    jne 5f
    mov 4(%rsi), %rax                   # base
    mov 12(%rsi), %rdx                  # length
    cmp $0x100000, %rax
    jb 4f
    add %rdx, %r14
4:  cmp $0x100000, %rax                 # covers [1 MiB, __bss_end)?
    ja 5f
    add %rax, %rdx
    lea __bss_end(%rip), %rcx
    cmp %rcx, %rdx
    jb 5f
    mov $1, %r15d
5:  mov (%rsi), %eax                    # size field excludes itself
    lea 4(%rsi,%rax), %rsi
    jmp 1b
6:  CHECK "mmap: usable ram holds the image", %r15, $1
    shr $20, %r14
    CHECK_RANGE "mmap: usable ram above 1 MiB (MiB)", %r14, $200, $256
    jmp 10f
9:  FAIL "mmap", "flag bit 6 clear"
10: ret
