# smp: the MP table, INIT-SIPI-SIPI for every AP (one at a time, so the
# output is in MP-table order), each AP reports from long mode; then fixed
# IPIs to each AP and back, an NMI IPI to each AP, and the destination
# shorthands (self, all including self, all excluding self) with counts.
# Works for 1 to 16 CPUs.
.include "lib/defs.inc"

.set MAX_CPUS, 16
.set V_PING,  0x50                  # BSP -> AP
.set V_PONG,  0x51                  # AP -> BSP
.set V_BCAST, 0x52                  # counted per CPU
.set IPI_FIXED, 0x4000              # level assert, fixed, physical
.set SH_SELF, 0x40000
.set SH_ALL,  0x80000
.set SH_OTHERS, 0xC0000

    .text
    .code64
    .globl main
main:
    PRINTLN "smp: damselfly guest test"
    call pic_mask_all
    call lapic_enable
    call mp_parse
    CHECK "mp table: found and checksums valid", %rax, $1
    PRINT "~ mp: floating pointer at "
    PHEX mp_fp_addr(%rip)
    PRINT ", configuration table at "
    PHEX mp_ct_addr(%rip)
    PRINTLN ""
    mov $LAPIC_VER, %edi
    call lapic_read
    PRINT "~ lapic version register "
    PHEX %rax
    PRINTLN ""
    and $0xFF, %eax
    CHECK_RANGE "lapic version is an integrated APIC (0x10..0x15)", %rax, $0x10, $0x15
    mov mp_lapic_addr(%rip), %eax
    mov $LAPIC, %ecx
    CHECK "mp table: local APIC at 0xfee00000", %rax, %rcx
    PRINT "mp table: "
    mov mp_ncpus(%rip), %eax
    PDEC %rax
    PRINTLN " cpus"
    # the CPU list, and the APIC ID -> CPU number map
    lea apic_to_cpu(%rip), %rdi
    mov $256, %ecx
    mov $0xFF, %al
    rep stosb
    xor %ebx, %ebx
1:  cmp mp_ncpus(%rip), %ebx
    jae 3f
    lea mp_apic_ids(%rip), %rax
    movzbl (%rax,%rbx), %ecx
    lea apic_to_cpu(%rip), %rax
    mov %bl, (%rax,%rcx)
    PRINT "mp table: cpu "
    PDEC %rbx
    PRINT " apic id "
    PDEC %rcx
    cmp mp_bsp_id(%rip), %ecx
    jne 2f
    PRINT " (bsp)"
2:  PRINTLN ""
    inc %ebx
    jmp 1b
3:  call lapic_id
    mov mp_bsp_id(%rip), %ecx
    CHECK "bsp: lapic id matches the MP table's BSP", %rax, %rcx
    mov %eax, %ecx
    lea apic_to_cpu(%rip), %rax
    movzbl (%rax,%rcx), %eax
    mov %eax, bsp_cpu(%rip)

    mov $V_PING, %edi
    lea on_ping(%rip), %rsi
    call idt_set_handler
    mov $V_PONG, %edi
    lea on_pong(%rip), %rsi
    call idt_set_handler
    mov $V_BCAST, %edi
    lea on_bcast(%rip), %rsi
    call idt_set_handler
    mov $2, %edi
    lea on_nmi(%rip), %rsi
    call idt_set_handler

    # ---- start the APs
    call smp_boot_aps
    mov mp_ncpus(%rip), %ecx
    dec %ecx
    CHECK "smp: every AP started", %rax, %rcx
    mov aps_online(%rip), %eax
    CHECK "smp: every AP ran ap_main", %rax, %rcx
    sti

    # ---- a fixed IPI to each AP; each answers with one to the BSP
    xor %ebx, %ebx
1:  cmp mp_ncpus(%rip), %ebx
    jae 3f
    cmp bsp_cpu(%rip), %ebx
    je 2f
    lea mp_apic_ids(%rip), %rax
    movzbl (%rax,%rbx), %esi
    movl $0, pongs(%rip)
    mov $(IPI_FIXED | V_PING), %edi
    call lapic_send_ipi
    lea pongs(%rip), %rdi
    mov $1, %esi
    call wait_for
    LOCK_PRINT
    PRINT "ipi: cpu "
    PDEC %rbx
    lea pings(%rip), %rax
    mov (%rax,%rbx,4), %eax
    cmp $1, %eax
    jne 4f
    cmpl $1, pongs(%rip)
    jne 4f
    PRINTLN " got the ping and answered: ok"
    jmp 5f
4:  PRINT " FAIL pings "
    PDEC %rax
    PRINT " pongs "
    mov pongs(%rip), %eax
    PDEC %rax
    PRINTLN ""
    incl fail_count(%rip)
5:  UNLOCK_PRINT
2:  inc %ebx
    jmp 1b
3:
    # ---- an NMI to each AP
    xor %ebx, %ebx
1:  cmp mp_ncpus(%rip), %ebx
    jae 3f
    cmp bsp_cpu(%rip), %ebx
    je 2f
    lea mp_apic_ids(%rip), %rax
    movzbl (%rax,%rbx), %esi
    mov $(IPI_FIXED | 0x400), %edi  # delivery mode NMI
    call lapic_send_ipi
    lea nmis(%rip), %rdi
    lea (%rdi,%rbx,4), %rdi
    mov $1, %esi
    call wait_for
    PRINT "nmi: cpu "
    PDEC %rbx
    lea nmis(%rip), %rax
    mov (%rax,%rbx,4), %eax
    cmp $1, %eax
    jne 4f
    PRINTLN " took the NMI: ok"
    jmp 2f
4:  PRINT " FAIL nmis "
    PDEC %rax
    PRINTLN ""
    incl fail_count(%rip)
2:  inc %ebx
    jmp 1b
3:
    # ---- shorthands: each CPU counts V_BCAST; the expected count per round
    # (self: 1, all including self: N, all excluding self: N - 1)
    mov $(SH_SELF | IPI_FIXED | V_BCAST), %edi
    mov $1, %r12d
    call bcast_round
    CHECK "shorthand self: the BSP only", %rax, $1
    mov $(SH_ALL | IPI_FIXED | V_BCAST), %edi
    mov mp_ncpus(%rip), %r12d
    call bcast_round
    CHECK "shorthand all including self: every CPU once", %rax, $1
    mov $(SH_OTHERS | IPI_FIXED | V_BCAST), %edi
    mov mp_ncpus(%rip), %r12d
    dec %r12d
    call bcast_round
    CHECK "shorthand all excluding self: every AP once, not the BSP", %rax, $1
    cli
    ret

# edi = ICR low, r12d = expected total; sends, waits for the total, then checks
# each CPU's count against the shorthand. Returns rax = 1 if all as expected.
bcast_round:
    push %rbx
    push %rdi
    lea bcasts(%rip), %rdi          # clear the counters
    xor %eax, %eax
    mov $MAX_CPUS, %ecx
    rep stosl
    movl $0, bcast_total(%rip)
    pop %rdi
    push %rdi
    xor %esi, %esi
    call lapic_send_ipi
    lea bcast_total(%rip), %rdi
    mov %r12d, %esi
    call wait_for
    mov $1000, %edi                 # then some time for any extra one
    call pit_wait_us
    pop %rdi
    mov %edi, %r8d
    and $0xC0000, %r8d              # shorthand
    mov $1, %r9d                    # result
    xor %ebx, %ebx
1:  cmp mp_ncpus(%rip), %ebx
    jae 5f
    xor %ecx, %ecx                  # expected count for cpu ebx
    cmp bsp_cpu(%rip), %ebx
    jne 2f
    cmp $SH_OTHERS, %r8d
    je 3f
    mov $1, %ecx
    jmp 3f
2:  cmp $SH_SELF, %r8d
    je 3f
    mov $1, %ecx
3:  lea bcasts(%rip), %rax
    cmp (%rax,%rbx,4), %ecx
    je 4f
    PRINT "shorthand: cpu "
    PDEC %rbx
    PRINT " counted "
    lea bcasts(%rip), %rax
    mov (%rax,%rbx,4), %eax
    PDEC %rax
    PRINT ", expected "
    PDEC %rcx
    PRINTLN ""
    xor %r9d, %r9d
4:  inc %ebx
    jmp 1b
5:  mov %r9, %rax
    pop %rbx
    ret

# Wait (interrupts on) until the dword at rdi equals esi, at most 1 s.
wait_for:
    push %rcx
    push %rdi
    mov %rdi, %rcx
    mov $2000, %edi
1:  cmp (%rcx), %esi
    je 2f
    push %rdi
    mov $500, %edi
    call pit_wait_us
    pop %rdi
    dec %edi
    jnz 1b
2:  pop %rdi
    pop %rcx
    ret

# this CPU's number -> eax
this_cpu:
    push %rcx
    call lapic_id
    mov %eax, %ecx
    lea apic_to_cpu(%rip), %rax
    movzbl (%rax,%rcx), %eax
    pop %rcx
    ret

# ---- on the APs
    .globl ap_main
ap_main:                            # edi = CPU number, esi = APIC ID
    mov %edi, %ebx
    mov %esi, %r12d
    mov $MSR_EFER, %ecx
    rdmsr
    shr $10, %eax
    and $1, %eax
    mov %eax, %r13d
    LOCK_PRINT
    PRINT "cpu "
    PDEC %rbx
    PRINT ": apic id "
    PDEC %r12
    test %r13d, %r13d
    jz 1f
    PRINTLN " online in long mode"
    jmp 2f
1:  PRINTLN " FAIL not in long mode"
    incl fail_count(%rip)
2:  UNLOCK_PRINT
    lock incl aps_online(%rip)
    ret

# ---- interrupt handlers (any CPU)
on_ping:
    call this_cpu
    lea pings(%rip), %rcx
    lock incl (%rcx,%rax,4)
    mov mp_bsp_id(%rip), %esi
    mov $(IPI_FIXED | V_PONG), %edi
    call lapic_send_ipi
    jmp lapic_eoi

on_pong:
    lock incl pongs(%rip)
    jmp lapic_eoi

on_bcast:
    call this_cpu
    lea bcasts(%rip), %rcx
    lock incl (%rcx,%rax,4)
    lock incl bcast_total(%rip)
    jmp lapic_eoi

on_nmi:
    call this_cpu
    lea nmis(%rip), %rcx
    lock incl (%rcx,%rax,4)
    ret

    .data
    .balign 4
bsp_cpu:     .long 0
aps_online:  .long 0
pongs:       .long 0
bcast_total: .long 0
pings:       .skip 4 * MAX_CPUS
nmis:        .skip 4 * MAX_CPUS
bcasts:      .skip 4 * MAX_CPUS

    .bss
apic_to_cpu: .skip 256
