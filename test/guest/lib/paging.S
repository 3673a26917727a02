# Page-table helpers over the live tables (CR3 = pml4 from lib/start.S):
# entry_addr(va, level) finds or creates the paging-structure entry that maps
# `va` at `level` (4 = PML4E, 3 = PDPTE, 2 = PDE, 1 = PTE), allocating zeroed
# tables from a pool. New upper-level entries are P|W|U with A clear, so
# hardware A-bit updates can be observed.
.include "lib/defs.inc"

.set POOL_PAGES, 32

    .text
    .code64
# rdi = virtual address, esi = level (1..4) -> rax = address of the entry
    .globl entry_addr
entry_addr:
    push %rbx
    push %rcx
    push %rdx
    mov %cr3, %rbx
    and $~0xFFF, %rbx               # table address
    mov $4, %edx                    # current level
1:  mov %edx, %ecx                  # index = (va >> (12 + 9 * (level - 1))) & 511
    dec %ecx
    imul $9, %ecx
    add $12, %ecx
    mov %rdi, %rax
    shr %cl, %rax
    and $511, %eax
    lea (%rbx,%rax,8), %rax         # entry address
    cmp %esi, %edx
    je 3f
    # descend: allocate a table when the entry is not present
    testq $1, (%rax)
    jnz 2f
    push %rax
    call pool_alloc
    mov %rax, %rcx
    pop %rax
    or $7, %rcx                     # P | W | U
    mov %rcx, (%rax)
2:  mov (%rax), %rbx
    btr $63, %rbx
    and $~0xFFF, %rbx
    mov $0x000FFFFFFFFFF000, %rcx
    and %rcx, %rbx
    dec %edx
    jmp 1b
3:  pop %rdx
    pop %rcx
    pop %rbx
    ret

# rax = a zeroed 4 KiB page from the pool (exits with FAIL when it runs out)
    .globl pool_alloc
pool_alloc:
    push %rcx
    push %rdi
    mov pool_next(%rip), %eax
    cmp $POOL_PAGES, %eax
    jae 1f
    incl pool_next(%rip)
    shl $12, %eax
    lea pool(%rip), %rdi
    add %rax, %rdi
    mov %rdi, %rax
    push %rax
    mov $512, %ecx
    xor %eax, %eax
    rep stosq
    pop %rax
    pop %rdi
    pop %rcx
    ret
1:  PRINTLN "paging: FAIL page-table pool exhausted"
    PRINTLN "FAIL"
    jmp exit_fail

    .data
    .balign 4
pool_next: .long 0

    .bss
    .balign 4096
pool: .skip POOL_PAGES * 4096
