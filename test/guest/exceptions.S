# exceptions: every vector that software can raise, from long mode (and from
# compatibility mode and CPL 3 where the vector needs it): vector, error code,
# saved RIP (fault: the instruction; trap: the next one), and for some the
# stack the handler ran on.
.include "lib/defs.inc"

.set UNMAPPED, 0x100001000          # above 4 GiB: PDPTE 4 is not present
.set NONCANON, 0x8000000000000000

    .text
    .code64
    .globl main
main:
    PRINTLN "exceptions: damselfly guest test"

    # ---- #DE
    xor %edx, %edx
    xor %ecx, %ecx
    mov $1, %eax
    TRY_BEGIN 1f
de_insn:
    div %ecx
1:  TRY_END
    CHECK_EXC "#DE div by zero", $0, $0, $de_insn
    mov $0x80000000, %eax           # idiv overflow: -2^31 / -1
    cdq
    mov $-1, %ecx
    TRY_BEGIN 1f
de2_insn:
    idiv %ecx
1:  TRY_END
    CHECK_EXC "#DE idiv overflow", $0, $0, $de2_insn

    # ---- #DB: single-step trap after the instruction that follows popf
    mov $0xFFFF0FF0, %eax
    mov %rax, %dr6
    TRY_BEGIN 1f
    pushfq
    orq $0x100, (%rsp)
    popfq
    nop                             # runs, then #DB
db_after:
    nop
    nop
1:  TRY_END
    CHECK_EXC "#DB single-step", $1, $0, $db_after
    mov %dr6, %rax
    and $0x4000, %eax
    CHECK "#DB single-step: dr6.bs", %rax, $0x4000
    mov $0xFFFF0FF0, %eax
    mov %rax, %dr6
    TRY_BEGIN 1f
    .byte 0xF1                      # int1 / icebp
icebp_after:
    nop
1:  TRY_END
    CHECK_SOFT CHECK_EXC "#DB int1 (icebp)", $1, $0, $icebp_after

    # ---- #BP: a trap, RIP after the instruction
    TRY_BEGIN 1f
    int3
bp_after:
    nop
1:  TRY_END
    CHECK_EXC "#BP int3", $3, $0, $bp_after
    TRY_BEGIN 1f
    int $3
bp2_after:
    nop
1:  TRY_END
    CHECK_EXC "#BP int 3 (CD 03)", $3, $0, $bp2_after

    # ---- #UD
    TRY_BEGIN 1f
ud_insn:
    ud2
1:  TRY_END
    CHECK_EXC "#UD ud2", $6, $0, $ud_insn
    mov $0x7F, %al
    add $1, %al                     # OF = 1
    TRY_BEGIN 1f
into64_insn:
    .byte 0xCE                      # into: invalid in 64-bit mode
1:  TRY_END
    CHECK_EXC "#UD into in 64-bit mode", $6, $0, $into64_insn

    # ---- #OF and #BR in compatibility mode
    pushq $KCODE32
    lea compat_tests(%rip), %rax
    push %rax
    lretq
back_from_compat:
    CHECK_EXC "#BR bound (compat mode)", $5, $0, $bound_insn
    mov of_vector(%rip), %rax
    mov %rax, exc_vector(%rip)
    mov of_rip(%rip), %rax
    mov %rax, exc_rip(%rip)
    movq $0, exc_error(%rip)
    CHECK_EXC "#OF into (compat mode)", $4, $0, $into_after
    mov of_cs(%rip), %rax
    CHECK "#OF into: saved cs is the compat segment", %rax, $KCODE32

    # ---- #NM
    mov %cr0, %rax
    or $0x8, %rax                   # TS
    mov %rax, %cr0
    TRY_BEGIN 1f
nm_x87:
    fld1
1:  TRY_END
    CHECK_EXC "#NM x87 with cr0.ts", $7, $0, $nm_x87
    TRY_BEGIN 1f
nm_sse:
    addps %xmm0, %xmm1
1:  TRY_END
    CHECK_EXC "#NM sse with cr0.ts", $7, $0, $nm_sse
    TRY_BEGIN 1f
nm_wait:
    fwait
1:  TRY_END
    CHECK_EXC "#NM fwait with cr0.ts and cr0.mp", $7, $0, $nm_wait
    clts
    TRY fld1
    CHECK "#NM none after clts", exc_vector(%rip), $NO_EXCEPTION
    fninit

    # ---- #DF: #PF while delivering #PF (no IST for #PF, RSP unmapped);
    # the #DF gate uses IST1
    mov %rsp, %rbx
    mov $UNMAPPED, %rcx
    TRY_BEGIN 1f
    mov %rcx, %rsp
    push %rax
1:  TRY_END
    CHECK_EXC "#DF page fault while delivering a page fault", $8, $0, $-1
    mov exc_frame(%rip), %rax
    lea ist1_top(%rip), %rcx
    sub %rax, %rcx                  # bytes below the IST1 top
    CHECK_RANGE "#DF ran on the IST1 stack", %rcx, $1, $512
    mov $UNMAPPED - 8, %rax
    CHECK "#DF cr2", exc_cr2(%rip), %rax

    # ---- #TS: an IST gate whose IST slot lies beyond the TSS limit
    mov $TSS2_SEL, %ax
    ltr %ax
    mov $0x41, %edi
    mov $0x8E, %esi
    mov $7, %edx
    call idt_set_attr
    TRY_BEGIN 1f
ts_insn:
    int $0x41
1:  TRY_END
    CHECK_EXC "#TS IST7 beyond the TSS limit", $10, $TSS2_SEL, $ts_insn
    mov $0x41, %edi
    mov $0x8E, %esi
    xor %edx, %edx
    call idt_set_attr
    andb $~0x02, gdt + TSS_SEL + 5(%rip)    # busy -> available, then reload
    mov $TSS_SEL, %ax
    ltr %ax

    # ---- #NP
    mov $0x42, %edi
    mov $0x0E, %esi                 # P = 0
    xor %edx, %edx
    call idt_set_attr
    TRY_BEGIN 1f
np_insn:
    int $0x42
1:  TRY_END
    CHECK_EXC "#NP gate not present (int 0x42)", $11, $-1, $np_insn
    CHECK_SOFT CHECK "#NP gate not present: error code (IDT index 0x42, IDT bit)", exc_error(%rip), $(0x42 * 8 + 2)
    mov $0x42, %edi
    mov $0x8E, %esi
    call idt_set_attr
    mov $NPDATA, %eax
    TRY_BEGIN 1f
np2_insn:
    mov %ax, %ds
1:  TRY_END
    CHECK_EXC "#NP not-present segment into ds", $11, $NPDATA, $np2_insn
    mov $KDATA, %eax
    mov %ax, %ds

    # ---- #SS
    mov $NPDATA, %eax
    TRY_BEGIN 1f
ss_insn:
    mov %ax, %ss
1:  TRY_END
    CHECK_EXC "#SS not-present segment into ss", $12, $NPDATA, $ss_insn
    mov $NONCANON, %rbp
    TRY_BEGIN 1f
ss2_insn:
    mov (%rbp), %rax
1:  TRY_END
    CHECK_SOFT CHECK_EXC "#SS non-canonical stack reference", $12, $0, $ss2_insn

    # ---- #GP
    mov $NONCANON, %rax
    TRY_BEGIN 1f
gp_insn:
    mov (%rax), %rax
1:  TRY_END
    CHECK_EXC "#GP non-canonical address", $13, $0, $gp_insn
    mov $0x0FF0, %eax               # index 510: beyond the GDT limit
    TRY_BEGIN 1f
gp2_insn:
    mov %ax, %es
1:  TRY_END
    CHECK_EXC "#GP selector beyond the GDT limit", $13, $0x0FF0, $gp2_insn
    mov $TSS_SEL, %eax
    TRY_BEGIN 1f
gp3_insn:
    mov %ax, %es
1:  TRY_END
    CHECK_EXC "#GP system segment into es", $13, $TSS_SEL, $gp3_insn
    mov $(KDATA | 3), %eax          # RPL 3 > DPL 0 for ss
    TRY_BEGIN 1f
gp4_insn:
    mov %ax, %ss
1:  TRY_END
    CHECK_EXC "#GP ss with RPL != CPL", $13, $KDATA, $gp4_insn
    mov $KDATA, %eax
    mov %ax, %es

    # ---- #PF (more in `paging`)
    mov $UNMAPPED, %rax
    TRY_BEGIN 1f
pf_insn:
    mov (%rax), %rax
1:  TRY_END
    CHECK_EXC "#PF read of a not-present page", $14, $0, $pf_insn
    mov $UNMAPPED, %rax
    CHECK "#PF cr2", exc_cr2(%rip), %rax
    mov $UNMAPPED, %rax
    TRY_BEGIN 1f
pf2_insn:
    movb $1, 5(%rax)
1:  TRY_END
    CHECK_EXC "#PF write to a not-present page", $14, $2, $pf2_insn
    mov $UNMAPPED + 5, %rax
    CHECK "#PF cr2 of the write", exc_cr2(%rip), %rax

    # ---- #MF: unmasked x87 divide by zero, reported at the next waiting insn
    fninit
    fldcw fcw_zm_unmasked(%rip)
    fld1
    fdivs zero_f(%rip)              # 1 / 0 -> ZE pending
    TRY_BEGIN 1f
mf_insn:
    fwait
1:  TRY_END
    CHECK_EXC "#MF x87 divide by zero", $16, $0, $mf_insn
    fnstsw %ax
    and $0x84, %eax                 # ES (summary) and ZE
    CHECK "#MF fsw.es and fsw.ze", %rax, $0x84
    fnclex
    fninit

    # ---- #XM: unmasked SSE divide by zero (CR4.OSXMMEXCPT=1)
    ldmxcsr mxcsr_zm_unmasked(%rip)
    xorps %xmm1, %xmm1
    movss one(%rip), %xmm0
    TRY_BEGIN 1f
xm_insn:
    divss %xmm1, %xmm0
1:  TRY_END
    CHECK_SOFT CHECK_EXC "#XM sse divide by zero", $19, $0, $xm_insn
    stmxcsr mxcsr_tmp(%rip)
    mov mxcsr_tmp(%rip), %eax
    and $0x4, %eax
    CHECK "#XM mxcsr.ze", %rax, $4
    ldmxcsr mxcsr_default(%rip)

    # ---- CPL 3: privileged instructions, gate DPL, stack switch to RSP0
    lea user_hlt(%rip), %rdi
    call run_user
    CHECK_EXC "#GP hlt at CPL 3", $13, $0, $user_hlt
    mov exc_cs(%rip), %rax
    CHECK "#GP from CPL 3: saved cs", %rax, $UCODE64
    mov exc_ss(%rip), %rax
    CHECK "#GP from CPL 3: saved ss", %rax, $UDATA
    lea user_stack_top(%rip), %rcx
    CHECK "#GP from CPL 3: saved rsp", exc_rsp(%rip), %rcx
    mov exc_frame(%rip), %rax
    lea kstack0_top(%rip), %rcx
    sub %rax, %rcx
    CHECK_RANGE "#GP from CPL 3: ran on the TSS RSP0 stack", %rcx, $1, $512

    lea user_movcr(%rip), %rdi
    call run_user
    CHECK_EXC "#GP mov from cr0 at CPL 3", $13, $0, $user_movcr
    lea user_cli(%rip), %rdi
    call run_user
    CHECK_EXC "#GP cli at CPL 3 with IOPL 0", $13, $0, $user_cli
    lea user_out(%rip), %rdi
    call run_user
    CHECK_EXC "#GP out at CPL 3 with IOPL 0, no I/O bitmap", $13, $0, $user_out
    lea user_int40(%rip), %rdi
    call run_user
    CHECK_EXC "#GP int 0x40 at CPL 3 (gate DPL 0)", $13, $-1, $user_int40
    CHECK_SOFT CHECK "#GP int 0x40 at CPL 3: error code", exc_error(%rip), $(0x40 * 8 + 2)
    lea user_int3(%rip), %rdi
    call run_user
    CHECK_EXC "#GP int3 at CPL 3 (gate DPL 0)", $13, $-1, $user_int3
    CHECK_SOFT CHECK "#GP int3 at CPL 3: error code", exc_error(%rip), $(3 * 8 + 2)
    lea user_icebp(%rip), %rdi
    call run_user
    CHECK_SOFT CHECK_EXC "#DB int1 at CPL 3 ignores the gate DPL", $1, $0, $user_icebp_after
    mov $3, %edi                    # int3 gate DPL 3: #BP from user mode
    mov $0xEE, %esi
    xor %edx, %edx
    call idt_set_attr
    lea user_int3(%rip), %rdi
    call run_user
    CHECK_EXC "#BP int3 at CPL 3 (gate DPL 3)", $3, $0, $user_int3_after
    mov exc_cs(%rip), %rax
    CHECK "#BP from CPL 3: saved cs", %rax, $UCODE64
    mov $3, %edi
    mov $0x8E, %esi
    call idt_set_attr
    lea user_int80(%rip), %rdi
    call run_user
    CHECK_EXC "int 0x80 at CPL 3 (gate DPL 3)", $0x80, $0, $user_int80_after

    # ---- #AC: CR0.AM + EFLAGS.AC at CPL 3, misaligned load
    mov %cr0, %rax
    or $0x40000, %rax               # AM
    mov %rax, %cr0
    lea user_ac(%rip), %rdi
    call run_user
    CHECK_SOFT CHECK_EXC "#AC misaligned load at CPL 3", $17, $0, $user_ac_insn
    TRY_BEGIN 1f                    # AC at CPL 0 is never checked
    pushfq
    orl $0x40000, (%rsp)
    popfq
    mov ac_data+1(%rip), %eax
    pushfq
    andl $~0x40000, (%rsp)
    popfq
1:  TRY_END
    CHECK "#AC none at CPL 0", exc_vector(%rip), $NO_EXCEPTION
    mov %cr0, %rax
    and $~0x40000, %rax
    mov %rax, %cr0

    # exceptions counted: each TRY above recorded at most one
    ret

user_hlt:
    hlt
user_movcr:
    mov %cr0, %rax
user_cli:
    cli
user_out:
    out %al, $0x80
user_int40:
    int $0x40
user_int3:
    int3
user_int3_after:
    ud2
user_icebp:
    .byte 0xF1
user_icebp_after:
    ud2
user_int80:
    int $0x80
user_int80_after:
    ud2
user_ac:
    pushfq
    orl $0x40000, (%rsp)
    popfq
    lea ac_data(%rip), %rbx
user_ac_insn:
    mov 1(%rbx), %eax
    int $0x80                       # no #AC: come back this way

# ------------------------------------------------ compatibility mode
    .code32
compat_tests:
    mov $0x7F, %al
    add $1, %al                     # OF = 1
    TRY_BEGIN32 1f
    into
into_after:
    nop
1:  TRY_END32
    mov exc_vector, %eax
    mov %eax, of_vector
    mov exc_rip, %eax
    mov %eax, of_rip
    mov exc_cs, %eax
    mov %eax, of_cs
    mov $100, %eax                  # outside [0, 10]
    TRY_BEGIN32 1f
bound_insn:
    bound %eax, bounds
1:  TRY_END32
    ljmp $KCODE64, $back_from_compat

    .data
    .balign 16
bounds:     .long 0, 10
of_vector:  .quad 0
of_rip:     .quad 0
of_cs:      .quad 0
fcw_zm_unmasked: .word 0x037B
    .balign 4
mxcsr_zm_unmasked: .long 0x1D80
mxcsr_default: .long 0x1F80
mxcsr_tmp:  .long 0
one:        .float 1.0
zero_f:     .float 0.0
    .balign 8
ac_data:    .quad 0, 0

