# paging: #PF error codes and CR2, accessed/dirty bits, 2 MiB and 1 GiB pages,
# CR0.WP, U/S and R/W across levels, NX, reserved bits, global pages and CR4.PGE,
# and the TLB: a changed PTE is not seen before INVLPG / a CR3 load.
# Test mappings live at 512 GiB and up (PML4 slot 1), in tables created by
# lib/paging.S with their A bits clear.
.include "lib/defs.inc"

.set P, 1
.set W, 2
.set U, 4
.set A, 0x20
.set D, 0x40
.set PS, 0x80
.set G, 0x100

.set WIN,    0x8000000000           # 4 KiB test pages: WIN + n * 4 KiB
.set WIN2M,  0x8040000000           # a 2 MiB page (PDPT slot 1 of PML4 slot 1)
.set WIN1G,  0x8080000000           # a 1 GiB page (PDPT slot 2)
.set WINUS,  0x80C0000000           # a page whose PDE has U/S = 0 (PDPT slot 3)
.set MARK_PA, 0x200000 + 0x1238     # physical marker for the large pages

# rax = address of the entry for va at level
.macro ENTRY va, level
    mov \va, %rdi
    mov $\level, %esi
    call entry_addr
.endm

# set the PTE of va to (page | flags), then invlpg
.macro SETPTE va, page, flags
    ENTRY \va, 1
    lea \page(%rip), %rcx
    or \flags, %rcx
    mov %rcx, (%rax)
    mov \va, %rax
    invlpg (%rax)
.endm

    .text
    .code64
    .globl main
main:
    PRINTLN "paging: damselfly guest test"
    mov %cr0, %rax
    or $0x10000, %rax               # CR0.WP
    mov %rax, %cr0
    # page contents
    mov $0xAAAAAAAA00000001, %rax
    mov %rax, page_a(%rip)
    mov $0xBBBBBBBB00000002, %rax
    mov %rax, page_b(%rip)
    movb $0xC3, page_code(%rip)     # ret
    mov $0x1122334455667788, %rax
    mov %rax, MARK_PA

    # ---- a 4 KiB mapping, A and D bits on every level
    mov $WIN, %rbx
    SETPTE %rbx, page_a, $(P | W)
    mov (%rbx), %rax
    mov $0xAAAAAAAA00000001, %rcx
    CHECK "4k page: read through the mapping", %rax, %rcx
    ENTRY %rbx, 1
    mov (%rax), %rax
    and $(A | D), %eax
    CHECK "4k page: pte.a set, pte.d clear after a read", %rax, $A
    ENTRY %rbx, 2
    mov (%rax), %rax
    and $A, %eax
    CHECK "4k page: pde.a set", %rax, $A
    ENTRY %rbx, 3
    mov (%rax), %rax
    and $A, %eax
    CHECK "4k page: pdpte.a set", %rax, $A
    ENTRY %rbx, 4
    mov (%rax), %rax
    and $A, %eax
    CHECK "4k page: pml4e.a set", %rax, $A
    movl $0x1234, 8(%rbx)
    ENTRY %rbx, 1
    mov (%rax), %rax
    and $(A | D), %eax
    CHECK "4k page: pte.d set after a write", %rax, $(A | D)
    mov page_a+8(%rip), %eax
    CHECK "4k page: the write reached the physical page", %rax, $0x1234

    # ---- not-present faults: error code and CR2
    mov $WIN + 0x1000, %rbx
    ENTRY %rbx, 1
    movq $0, (%rax)
    invlpg (%rbx)
    TRY_BEGIN 1f
pf_r:
    mov 8(%rbx), %rax
1:  TRY_END
    CHECK_EXC "#PF not present, read: error 0", $14, $0, $pf_r
    lea 8(%rbx), %rax
    CHECK "#PF not present, read: cr2", exc_cr2(%rip), %rax
    TRY_BEGIN 1f
pf_w:
    movb $1, 0x7FF(%rbx)
1:  TRY_END
    CHECK_EXC "#PF not present, write: error W", $14, $2, $pf_w
    lea 0x7FF(%rbx), %rax
    CHECK "#PF not present, write: cr2", exc_cr2(%rip), %rax
    TRY_BEGIN 1f
    call *%rbx
1:  TRY_END
    CHECK_EXC "#PF not present, fetch: error I", $14, $0x10, %rbx
    CHECK "#PF not present, fetch: cr2", exc_cr2(%rip), %rbx
    mov %rbx, %rdi
    call run_user_read
    CHECK_EXC "#PF not present, user read: error U", $14, $4, $user_read

    # ---- protection faults
    mov $WIN + 0x2000, %rbx          # supervisor, read-only
    SETPTE %rbx, page_ro, $P
    TRY_BEGIN 1f
pf_wp:
    movl $5, (%rbx)
1:  TRY_END
    CHECK_EXC "#PF supervisor write, read-only page, cr0.wp=1: error P|W", $14, $3, $pf_wp
    mov %cr0, %rax
    and $~0x10000, %rax
    mov %rax, %cr0
    TRY movl $5, (%rbx)
    CHECK "supervisor write, read-only page, cr0.wp=0: no fault", exc_vector(%rip), $NO_EXCEPTION
    mov page_ro(%rip), %eax
    CHECK "supervisor write, cr0.wp=0: the write happened", %rax, $5
    mov %cr0, %rax
    or $0x10000, %rax
    mov %rax, %cr0
    mov %rbx, %rdi
    call run_user_read
    CHECK_EXC "#PF user read of a supervisor page: error P|U", $14, $5, $user_read
    mov %rbx, %rdi
    call run_user_write
    CHECK_EXC "#PF user write to a supervisor page: error P|W|U", $14, $7, $user_write

    mov $WIN + 0x3000, %rbx          # user, read-only
    SETPTE %rbx, page_ro, $(P | U)
    mov %rbx, %rdi
    call run_user_read
    CHECK "user read of a user read-only page: no fault", exc_vector(%rip), $0x80
    mov %rbx, %rdi
    call run_user_write
    CHECK_EXC "#PF user write to a read-only user page: error P|W|U", $14, $7, $user_write
    mov $WIN + 0x3000, %rbx
    SETPTE %rbx, page_ro, $(P | U | W)
    mov %rbx, %rdi
    call run_user_write
    CHECK "user write to a writable user page: no fault", exc_vector(%rip), $0x80

    # U/S and R/W are combined over all levels: a PDE with U/S = 0
    mov $WINUS, %rbx
    SETPTE %rbx, page_ro, $(P | W | U)
    ENTRY %rbx, 2
    andq $~U, (%rax)
    invlpg (%rbx)
    mov %rbx, %rdi
    call run_user_read
    CHECK_EXC "#PF user read, pte.u=1 but pde.u=0: error P|U", $14, $5, $user_read
    ENTRY %rbx, 2
    orq $U, (%rax)
    andq $~W, (%rax)
    invlpg (%rbx)
    TRY_BEGIN 1f
pf_pdew:
    movl $6, (%rbx)
1:  TRY_END
    CHECK_EXC "#PF supervisor write, pte.w=1 but pde.w=0: error P|W", $14, $3, $pf_pdew

    # ---- NX (EFER.NXE is on when CPUID offers it)
    mov $WIN + 0x4000, %rbx
    ENTRY %rbx, 1
    lea page_code(%rip), %rcx
    or $P, %rcx
    bts $63, %rcx
    mov %rcx, (%rax)
    invlpg (%rbx)
    TRY_BEGIN 1f
    call *%rbx
1:  TRY_END
    CHECK_EXC "#PF fetch from an NX page: error P|I", $14, $0x11, %rbx
    CHECK "#PF fetch from an NX page: cr2", exc_cr2(%rip), %rbx
    mov page_code(%rip), %eax       # data reads of an NX page are fine
    CHECK "NX page: data read allowed", %rax, $0xC3
    ENTRY %rbx, 1
    btrq $63, (%rax)
    invlpg (%rbx)
    TRY call *%rbx
    CHECK "after clearing NX: the page executes", exc_vector(%rip), $NO_EXCEPTION

    # ---- a reserved bit (bit 51: above MAXPHYADDR for any MAXPHYADDR < 52)
    mov $0x80000008, %eax
    cpuid
    and $0xFF, %eax
    PRINT "~ MAXPHYADDR "
    PDEC %rax
    PRINTLN ""
    mov $WIN + 0x5000, %rbx
    ENTRY %rbx, 1
    lea page_a(%rip), %rcx
    or $(P | W), %rcx
    bts $51, %rcx
    mov %rcx, (%rax)
    invlpg (%rbx)
    TRY_BEGIN 1f
pf_rsvd:
    mov (%rbx), %rax
1:  TRY_END
    CHECK_EXC "#PF reserved bit 51 in a PTE", $14, $-1, $pf_rsvd
    mov exc_error(%rip), %rax
    and $0x8, %eax
    CHECK "#PF reserved bit 51 in a PTE: error has RSVD", %rax, $8
    CHECK_SOFT CHECK "#PF reserved bit 51 in a PTE: error is P|RSVD", exc_error(%rip), $9
    mov %rbx, %rdi                  # PS in a PML4E is reserved
    mov $4, %esi
    call entry_addr
    orq $PS, (%rax)
    invlpg (%rbx)
    TRY_BEGIN 1f
pf_rsvd2:
    mov (%rbx), %rax
1:  TRY_END
    CHECK_EXC "#PF PS set in a PML4E", $14, $-1, $pf_rsvd2
    mov exc_error(%rip), %rax
    and $0x8, %eax
    CHECK "#PF PS set in a PML4E: error has RSVD", %rax, $8
    CHECK_SOFT CHECK "#PF PS set in a PML4E: error is P|RSVD", exc_error(%rip), $9
    mov %rbx, %rdi
    mov $4, %esi
    call entry_addr
    andq $~PS, (%rax)
    mov %cr3, %rax
    mov %rax, %cr3

    # ---- a 2 MiB page onto physical 0x200000
    mov $WIN2M, %rbx
    ENTRY %rbx, 2
    movq $(0x200000 | P | W | PS), (%rax)
    invlpg (%rbx)
    mov 0x1238(%rbx), %rax
    mov $0x1122334455667788, %rcx
    CHECK "2m page: read through the mapping", %rax, %rcx
    ENTRY %rbx, 2
    mov (%rax), %rax
    and $(A | D), %eax
    CHECK "2m page: pde.a set, pde.d clear after a read", %rax, $A
    movl $0x99, 0x1FFFF0(%rbx)
    mov 0x3FFFF0, %eax
    CHECK "2m page: a write at offset 0x1ffff0 reaches 0x3ffff0", %rax, $0x99
    ENTRY %rbx, 2
    mov (%rax), %rax
    and $(A | D), %eax
    CHECK "2m page: pde.d set after a write", %rax, $(A | D)

    # ---- a 1 GiB page onto physical 0
    mov $0x80000001, %eax
    cpuid
    bt $26, %edx
    jc 2f
    FAIL "1g page", "CPUID.80000001H:EDX.Page1GB is clear"
    jmp 3f
2:  mov $WIN1G, %rbx
    ENTRY %rbx, 3
    movq $(P | W | PS), (%rax)
    invlpg (%rbx)
    mov MARK_PA(%rbx), %rax
    mov $0x1122334455667788, %rcx
    CHECK "1g page: read through the mapping", %rax, %rcx
    movl $0x77, 0x3FFFF4(%rbx)
    mov 0x3FFFF4, %eax
    CHECK "1g page: a write reaches the physical address", %rax, $0x77
    ENTRY %rbx, 3
    mov (%rax), %rax
    and $(A | D), %eax
    CHECK "1g page: pdpte.a and pdpte.d set", %rax, $(A | D)
3:
    # ---- the TLB: a changed PTE is used only after INVLPG
    mov $WIN + 0x6000, %rbx
    SETPTE %rbx, page_a, $(P | W)
    mov (%rbx), %rax                # fills the TLB
    ENTRY %rbx, 1
    lea page_b(%rip), %rcx
    or $(P | W), %rcx
    mov %rcx, (%rax)                # no invlpg
    mov (%rbx), %rax
    call print_which
    PRINT "~ tlb: read after changing the pte without invlpg saw the "
    call puts
    PRINTLN " page"
    invlpg (%rbx)
    mov (%rbx), %rax
    mov $0xBBBBBBBB00000002, %rcx
    CHECK "tlb: invlpg, then the new translation is used", %rax, %rcx

    # same with a CR3 load instead of INVLPG
    mov $WIN + 0x7000, %rbx
    SETPTE %rbx, page_a, $(P | W)
    mov (%rbx), %rax
    ENTRY %rbx, 1
    lea page_b(%rip), %rcx
    or $(P | W), %rcx
    mov %rcx, (%rax)
    mov %cr3, %rax
    mov %rax, %cr3
    mov (%rbx), %rax
    mov $0xBBBBBBBB00000002, %rcx
    CHECK "tlb: cr3 load flushes a non-global translation", %rax, %rcx

    # ---- global pages: kept over a CR3 load, dropped by toggling CR4.PGE
    mov %cr4, %rax
    or $0x80, %rax                  # PGE
    mov %rax, %cr4
    mov $WIN + 0x8000, %rbx
    SETPTE %rbx, page_a, $(P | W | G)
    mov (%rbx), %rax
    ENTRY %rbx, 1
    lea page_b(%rip), %rcx
    or $(P | W | G), %rcx
    mov %rcx, (%rax)
    mov %cr3, %rax
    mov %rax, %cr3
    mov (%rbx), %rax
    call print_which
    PRINT "~ global page: after a cr3 load the read saw the "
    call puts
    PRINTLN " page"
    mov %cr4, %rax
    and $~0x80, %rax
    mov %rax, %cr4
    or $0x80, %rax
    mov %rax, %cr4
    mov (%rbx), %rax
    mov $0xBBBBBBBB00000002, %rcx
    CHECK "global page: toggling cr4.pge flushes it", %rax, %rcx
    mov %cr4, %rax
    and $~0x80, %rax
    mov %rax, %cr4
    ret

# rax = a value read from page_a or page_b -> rsi = "old" / "new" / "other"
print_which:
    lea s_old(%rip), %rsi
    mov $0xAAAAAAAA00000001, %rcx
    cmp %rcx, %rax
    je 1f
    lea s_new(%rip), %rsi
    mov $0xBBBBBBBB00000002, %rcx
    cmp %rcx, %rax
    je 1f
    lea s_other(%rip), %rsi
1:  ret

# run at CPL 3: read / write (%rdi... moved to rbx)
run_user_read:
    mov %rdi, %rbx
    lea user_read(%rip), %rdi
    jmp run_user
run_user_write:
    mov %rdi, %rbx
    lea user_write(%rip), %rdi
    jmp run_user

user_read:
    mov (%rbx), %eax
    int $0x80
user_write:
    movl $7, (%rbx)
    int $0x80

    .section .rodata
s_old:   .asciz "old"
s_new:   .asciz "new"
s_other: .asciz "unexpected"

    .bss
    .balign 4096
page_a:    .skip 4096
page_b:    .skip 4096
page_ro:   .skip 4096
page_code: .skip 4096
