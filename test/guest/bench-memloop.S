# bench-memloop: the system-mode half of `npm run bench`'s memloop benchmark
# (test/bench/README.md), not a hardware test (not in runs.json). Builds its
# own 4-level page tables with 4 KiB pages only — 0..16 MiB identity-mapped
# (the image, stacks, IDT), the BENCH_BYTES buffer at virtual 0x10000000 on
# physical 16 MiB — loads CR3 and runs memloop (test/bench/memloop.inc, the
# same code the user-mode program runs) at CPL 0, interrupts off. Checks its
# result, then PASS and exit 0 (status 1), as the test programs do.
.include "lib/defs.inc"
.include "../bench/memloop.inc"

.set BUF_VA, 0x10000000
.set BUF_PHYS, 0x1000000
.set IDENT_BYTES, 0x1000000
.set PTE_PWAD, 0x63                 # P | W | A | D: no walk has to set A or D
.set PDE_PWA, 0x23                  # P | W | A

    .text
    .code64
    .globl main
main:
    PRINTLN "bench-memloop: damselfly guest benchmark"
    lea __bss_end(%rip), %rax
    CHECK_RANGE "image below 16 MiB", %rax, $0x100000, $IDENT_BYTES
    # PTEs: 0..16 MiB identity, then the buffer
    lea bench_pt(%rip), %rdi
    xor %ecx, %ecx
1:  mov %rcx, %rax
    shl $12, %rax
    or $PTE_PWAD, %rax
    mov %rax, (%rdi,%rcx,8)
    inc %ecx
    cmp $(IDENT_BYTES >> 12), %ecx
    jb 1b
    lea bench_buf_pt(%rip), %rdi
    xor %ecx, %ecx
2:  mov %rcx, %rax
    shl $12, %rax
    add $BUF_PHYS, %rax
    or $PTE_PWAD, %rax
    mov %rax, (%rdi,%rcx,8)
    inc %ecx
    cmp $(BENCH_BYTES >> 12), %ecx
    jb 2b
    # PDEs for both, then the PDPTE and PML4E above them
    lea bench_pd(%rip), %rdi
    lea bench_pt(%rip), %rax
    or $PDE_PWA, %rax
    xor %ecx, %ecx
3:  mov %rax, (%rdi,%rcx,8)
    add $0x1000, %rax
    inc %ecx
    cmp $(IDENT_BYTES >> 21), %ecx
    jb 3b
    lea bench_buf_pt(%rip), %rax
    or $PDE_PWA, %rax
    mov $(BUF_VA >> 21), %ecx
4:  mov %rax, (%rdi,%rcx,8)
    add $0x1000, %rax
    inc %ecx
    cmp $((BUF_VA + BENCH_BYTES) >> 21), %ecx
    jb 4b
    lea bench_pd(%rip), %rax
    or $PDE_PWA, %rax
    mov %rax, bench_pdpt(%rip)
    lea bench_pdpt(%rip), %rax
    or $PDE_PWA, %rax
    mov %rax, bench_pml4(%rip)
    lea bench_pml4(%rip), %rax
    mov %rax, %cr3

    mov $BUF_VA, %edi
    call memloop
    mov $BENCH_EXPECT, %ecx
    CHECK "memloop result", %rax, %rcx
    ret

    .bss
    .balign 4096
bench_pml4:   .skip 4096
bench_pdpt:   .skip 4096
bench_pd:     .skip 4096
bench_pt:     .skip (IDENT_BYTES >> 12) * 8
bench_buf_pt: .skip (BENCH_BYTES >> 12) * 8
