# msi: Message Signalled Interrupts (SDM Vol.3A §11.11) raised by the CPUs
# themselves: a dword write of MSI data to the interrupt address range
# 0xFEExxxxx (address bits 19:12 destination ID, bit 3 redirection hint, bit 2
# destination mode; data bits 7:0 vector, 10:8 delivery mode, 14 level, 15
# trigger mode) is delivered to local APICs. A CPU's write inside its own APIC
# page (0xFEE00000-0xFEE00FFF, every CPU's page is there) reaches its APIC
# registers, so destination ID 0 is out of reach; every MSI here goes to an
# address above that page.
#
# Checks: fixed delivery at the vector from data bits 7:0 (pending in the IRR
# while IF=0, the handler sees its ISR bit set and the TMR bit clear, EOI clears
# the ISR bit); the physical broadcast 0xFF reaching every CPU exactly once; a
# physical destination reaching one AP only, an absent APIC ID nobody;
# logical destinations in the flat model (LDR = one bit per CPU); the
# redirection hint with lowest-priority delivery choosing exactly one CPU (which
# one is a `~ ` line); level trigger (TMR set); an MSI written by an AP from its
# handler; NMI delivery mode (data bits 10:8 = 100) to one AP and to all
# (the BSP with IF=0), with nothing delivered at the vector field.
# Run with -smp 2 (works for 2 to 7 CPUs: flat logical mode has 8 bits).
.include "lib/defs.inc"

.set MAX_CPUS, 8
.set LAPIC_LDR, 0x0D0
.set LAPIC_DFR, 0x0E0

.set V_BASE, 0x60                   # slot s counts vector V_BASE + s
.set S_FIXED,  0                    # fixed, physical broadcast
.set S_PHYS,   1                    # physical destination
.set S_LOG,    2                    # logical destinations
.set S_LOWPRI, 3                    # lowest priority with the redirection hint
.set S_RH,     4                    # fixed with the redirection hint
.set S_LEVEL,  5                    # level-triggered
.set S_RELAY,  6                    # its handler sends S_FROMAP to relay_addr
.set S_FROMAP, 7                    # written by an AP
.set S_NMIVEC, 8                    # the vector field of NMI messages (must not arrive)
.set S_NONE,   9                    # destinations nobody has
.set NSLOTS,   10
.set S_NMI,    10                   # NMIs taken (vector 2)
.set NCOUNT,   11

.set MSI_BASE,  0xFEE00000
.set MSI_BCAST, 0xFEEFF000          # physical destination 0xFF
.set A_LOGICAL, 4                   # address bit 2: destination mode
.set A_RH,      8                   # address bit 3: redirection hint
.set D_LOWPRI,  0x100               # data bits 10:8 = 001
.set D_NMI,     0x400               # data bits 10:8 = 100
.set D_LEVEL,   0xC000              # trigger mode level, level asserted

# Sends the MSI (addr, data), waits for the CPUs in `mask` (CPU numbers) to
# count it at `slot` and prints one line: the address, data and `desc`.
.macro ROUND desc, addr, data, slot, mask
    mov \mask, %ecx
    mov \addr, %edi
    mov \data, %esi
    mov $\slot, %edx
    call round
    PRINT "msi "
    PHEX %rdi
    PRINT " data "
    PHEX %rsi
    PRINT ": \desc"
    call verdict
.endm

    .text
    .code64
    .globl main
main:
    PRINTLN "msi: damselfly guest test"
    call pic_mask_all
    call lapic_enable
    call mp_parse
    CHECK "mp table: found", %rax, $1
    mov mp_ncpus(%rip), %eax
    CHECK_RANGE "mp table: 2 to 7 cpus (run with -smp 2)", %rax, $2, $7
    cmp $2, %eax
    jb 9f
    cmp $7, %eax
    ja 9f
    # the APIC ID -> CPU number map
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
    call this_cpu
    mov %eax, bsp_cpu(%rip)

    # flat logical model on the BSP: LDR bit = 1 << CPU number
    mov bsp_cpu(%rip), %ecx
    mov $1, %eax
    shl %cl, %eax
    mov %eax, %r13d                 # the BSP's logical bit
    shl $24, %eax
    mov $LAPIC, %edx
    movl $0xFFFFFFFF, LAPIC_DFR(%rdx)
    mov %eax, LAPIC_LDR(%rdx)
    mov LAPIC_LDR(%rdx), %ecx
    CHECK "bsp: LDR reads back its logical bit in 31:24", %rcx, %rax
    mov LAPIC_DFR(%rdx), %ecx
    mov $0xFFFFFFFF, %eax
    CHECK "bsp: DFR reads 0xffffffff (flat model)", %rcx, %rax

    mov $V_BASE, %ebx
1:  mov %ebx, %edi
    lea on_msi(%rip), %rsi
    call idt_set_handler
    inc %ebx
    cmp $(V_BASE + NSLOTS), %ebx
    jb 1b
    mov $2, %edi
    lea on_nmi(%rip), %rsi
    call idt_set_handler

    # ---- the APs (each sets up its LDR and DFR in ap_main)
    call smp_boot_aps
    mov mp_ncpus(%rip), %ecx
    dec %ecx
    CHECK "smp: every AP started", %rax, %rcx
    mov aps_online(%rip), %eax
    CHECK "smp: every AP set up flat logical mode", %rax, %rcx

    # r12d = every CPU's bit, r13d = the BSP's, r14d/r15d = the first AP's
    # CPU number and APIC ID
    mov mp_ncpus(%rip), %ecx
    mov $1, %r12d
    shl %cl, %r12d
    dec %r12d
    xor %ebx, %ebx
1:  cmp bsp_cpu(%rip), %ebx
    jne 2f
    inc %ebx
    jmp 1b
2:  mov %ebx, %r14d
    lea mp_apic_ids(%rip), %rax
    movzbl (%rax,%rbx), %r15d
    mov %r13d, %eax                 # the relay answers to the BSP's logical bit
    shl $12, %eax
    or $(MSI_BASE | A_LOGICAL), %eax
    mov %eax, relay_addr(%rip)
    sti

    # ---- fixed delivery to every CPU; the BSP looks at it with IF=0 first
    cli
    call clear_counts
    mov $MSI_BCAST, %edi
    mov $(V_BASE + S_FIXED), %esi
    call msi_write
    mov $(LAPIC_IRR + (V_BASE + S_FIXED) / 32 * 16), %edi
    call lapic_read
    bt $((V_BASE + S_FIXED) % 32), %eax
    setc %al
    movzbl %al, %eax
    CHECK "fixed: vector 0x60 (data bits 7:0) pending in the BSP's IRR while IF=0", %rax, $1
    mov bsp_cpu(%rip), %eax
    lea counts + S_FIXED * MAX_CPUS * 4(%rip), %rcx
    mov (%rcx,%rax,4), %eax
    CHECK "fixed: not taken while IF=0", %rax, $0
    sti
    mov $1000, %edi
    call pit_wait_us
    cli
    mov bsp_cpu(%rip), %ebx
    lea counts + S_FIXED * MAX_CPUS * 4(%rip), %rcx
    mov (%rcx,%rbx,4), %eax
    CHECK "fixed: the BSP's handler for vector 0x60 ran once after sti", %rax, $1
    lea isr_seen + S_FIXED * MAX_CPUS * 4(%rip), %rcx
    mov (%rcx,%rbx,4), %eax
    CHECK "fixed: the ISR bit is set in the handler", %rax, $1
    lea tmr_seen + S_FIXED * MAX_CPUS * 4(%rip), %rcx
    mov (%rcx,%rbx,4), %eax
    CHECK "fixed: edge-triggered (data bit 15 = 0): the TMR bit is clear", %rax, $0
    mov $(LAPIC_ISR + (V_BASE + S_FIXED) / 32 * 16), %edi
    call lapic_read
    and $(1 << ((V_BASE + S_FIXED) % 32)), %eax
    CHECK "fixed: EOI cleared the ISR bit", %rax, $0
    mov $(LAPIC_IRR + (V_BASE + S_FIXED) / 32 * 16), %edi
    call lapic_read
    and $(1 << ((V_BASE + S_FIXED) % 32)), %eax
    CHECK "fixed: the IRR bit is clear", %rax, $0
    sti
    mov $S_FIXED, %edi
    mov mp_ncpus(%rip), %esi
    call wait_total
    mov $S_FIXED, %edx
    mov %r12d, %ecx
    call expect
    PRINT "msi 0xfeeff000 data 0x60: physical destination 0xff (broadcast)"
    PRINT ", fixed, edge: every CPU exactly once"
    call verdict
    # every CPU's handler saw its ISR bit set and its TMR bit clear
    mov $1, %r8d
    xor %ebx, %ebx
1:  cmp mp_ncpus(%rip), %ebx
    jae 2f
    lea isr_seen + S_FIXED * MAX_CPUS * 4(%rip), %rcx
    cmpl $1, (%rcx,%rbx,4)
    jne 3f
    lea tmr_seen + S_FIXED * MAX_CPUS * 4(%rip), %rcx
    cmpl $0, (%rcx,%rbx,4)
    je 4f
3:  xor %r8d, %r8d
4:  inc %ebx
    jmp 1b
2:  CHECK "broadcast: every CPU's handler saw its ISR bit set and TMR bit clear", %r8, $1

    # ---- physical destinations: each AP alone (its APIC ID in bits 19:12)
    xor %ebx, %ebx
1:  cmp mp_ncpus(%rip), %ebx
    jae 3f
    cmp bsp_cpu(%rip), %ebx
    je 2f
    lea mp_apic_ids(%rip), %rax
    movzbl (%rax,%rbx), %eax
    test %eax, %eax                 # ID 0 would be the writer's own APIC page
    jz 2f
    shl $12, %eax
    or $MSI_BASE, %eax
    mov $1, %r8d
    mov %ebx, %ecx
    shl %cl, %r8d
    ROUND "physical destination one AP's APIC ID: that AP only", %eax, $(V_BASE + S_PHYS), S_PHYS, %r8d
2:  inc %ebx
    jmp 1b
3:  ROUND "physical destination 0xf (no such APIC ID): no CPU", $(MSI_BASE | 0xF000), $(V_BASE + S_NONE), S_NONE, $0

    # ---- logical destinations (address bit 2), flat model
    mov %r13d, %eax
    shl $12, %eax
    or $(MSI_BASE | A_LOGICAL), %eax
    ROUND "logical destination the BSP's bit: the BSP only", %eax, $(V_BASE + S_LOG), S_LOG, %r13d
    xor %ebx, %ebx
1:  cmp mp_ncpus(%rip), %ebx
    jae 3f
    cmp bsp_cpu(%rip), %ebx
    je 2f
    mov $1, %r8d
    mov %ebx, %ecx
    shl %cl, %r8d
    mov %r8d, %eax
    shl $12, %eax
    or $(MSI_BASE | A_LOGICAL), %eax
    ROUND "logical destination one AP's bit: that AP only", %eax, $(V_BASE + S_LOG), S_LOG, %r8d
2:  inc %ebx
    jmp 1b
3:  mov %r12d, %eax
    shl $12, %eax
    or $(MSI_BASE | A_LOGICAL), %eax
    ROUND "logical destination every CPU's bit: every CPU exactly once", %eax, $(V_BASE + S_LOG), S_LOG, %r12d
    ROUND "logical destination 0x80 (no CPU's bit): no CPU", $(MSI_BASE | 0x80000 | A_LOGICAL), $(V_BASE + S_NONE), S_NONE, $0

    # ---- the redirection hint (address bit 3): one CPU of the logical set
    mov %r12d, %ebx
    shl $12, %ebx
    or $(MSI_BASE | A_LOGICAL | A_RH), %ebx
    mov %ebx, %edi
    mov $(D_LOWPRI | (V_BASE + S_LOWPRI)), %esi
    mov $S_LOWPRI, %edx
    call one_round
    call print_addr_data
    PRINT ": lowest priority, redirection hint, logical destination every CPU: exactly one CPU"
    cmp $1, %eax
    sete %al
    movzbl %al, %eax
    call verdict
    PRINT "~ msi lowest priority, every TPR 0: taken by cpu "
    PDEC %rcx
    PRINTLN ""
    mov $LAPIC, %eax                # the BSP's TPR above the others (still below class 6)
    movl $0x40, LAPIC_TPR(%rax)
    call one_round
    mov $LAPIC, %r8d
    movl $0, LAPIC_TPR(%r8)
    call print_addr_data
    PRINT ": lowest priority, redirection hint, the BSP's TPR 0x40: exactly one CPU"
    cmp $1, %eax
    sete %al
    movzbl %al, %eax
    call verdict
    PRINT "~ msi lowest priority, the BSP's TPR 0x40: taken by cpu "
    PDEC %rcx
    PRINTLN ""
    # fixed delivery mode with RH=1: the SDM directs it to the lowest-priority
    # processor of the logical set; QEMU ignores the hint (soft check)
    mov $(V_BASE + S_RH), %esi
    mov $S_RH, %edx
    call one_round
    CHECK_SOFT CHECK "msi fixed, redirection hint, logical destination every CPU: exactly one CPU", %rax, $1
    PRINT "~ msi fixed with the redirection hint: "
    PDEC %rax
    PRINT " cpu(s), the first cpu "
    PDEC %rcx
    PRINTLN ""

    # ---- level trigger (data bit 15 = 1, bit 14 = 1: assert) to the BSP
    mov %r13d, %eax
    shl $12, %eax
    or $(MSI_BASE | A_LOGICAL), %eax
    ROUND "level-triggered, logical destination the BSP's bit: the BSP only", %eax, $(D_LEVEL | (V_BASE + S_LEVEL)), S_LEVEL, %r13d
    mov bsp_cpu(%rip), %ebx
    lea isr_seen + S_LEVEL * MAX_CPUS * 4(%rip), %rcx
    mov (%rcx,%rbx,4), %eax
    CHECK "level: the ISR bit is set in the handler", %rax, $1
    lea tmr_seen + S_LEVEL * MAX_CPUS * 4(%rip), %rcx
    mov (%rcx,%rbx,4), %eax
    CHECK "level: the TMR bit is set in the handler", %rax, $1
    mov $(LAPIC_ISR + (V_BASE + S_LEVEL) / 32 * 16), %edi
    call lapic_read
    and $(1 << ((V_BASE + S_LEVEL) % 32)), %eax
    CHECK "level: EOI cleared the ISR bit", %rax, $0

    # ---- an AP writes an MSI (from its handler) to the BSP's logical bit
    call clear_counts
    mov %r15d, %edi
    shl $12, %edi
    or $MSI_BASE, %edi
    mov $(V_BASE + S_RELAY), %esi
    call msi_write
    mov $S_FROMAP, %edi
    mov $1, %esi
    call wait_total
    mov %r14d, %ecx                 # the AP took the request...
    mov $1, %eax
    shl %cl, %eax
    mov %eax, %ecx
    mov $S_RELAY, %edx
    call expect
    mov %eax, %r8d
    mov $S_FROMAP, %edx             # ...and the BSP alone got the AP's MSI
    mov %r13d, %ecx
    call expect
    and %r8d, %eax
    PRINT "msi "
    PHEX relay_addr(%rip)
    PRINT " data 0x67 written by an AP in its handler: the BSP only"
    call verdict

    # ---- NMI delivery mode (data bits 10:8 = 100) to one AP
    mov %r15d, %eax
    shl $12, %eax
    or $MSI_BASE, %eax
    mov %r14d, %ecx
    mov $1, %r8d
    shl %cl, %r8d
    ROUND "NMI, physical destination one AP: that AP's NMI handler only", %eax, $(D_NMI | (V_BASE + S_NMIVEC)), S_NMI, %r8d
    mov totals + S_NMIVEC * 4(%rip), %eax
    CHECK "nmi: nothing delivered at the vector in data bits 7:0", %rax, $0
    # ... and broadcast, taken by the BSP with IF=0
    cli
    call clear_counts
    mov $MSI_BCAST, %edi
    mov $(D_NMI | (V_BASE + S_NMIVEC)), %esi
    call msi_write
    mov $1000, %edi
    call pit_wait_us
    mov bsp_cpu(%rip), %eax
    lea counts + S_NMI * MAX_CPUS * 4(%rip), %rcx
    mov (%rcx,%rax,4), %eax
    CHECK "nmi broadcast: the BSP takes it with IF=0", %rax, $1
    mov $(LAPIC_IRR + (V_BASE + S_NMIVEC) / 32 * 16), %edi
    call lapic_read
    and $(1 << ((V_BASE + S_NMIVEC) % 32)), %eax
    CHECK "nmi broadcast: nothing pending in the BSP's IRR at the vector field", %rax, $0
    sti
    mov $S_NMI, %edi
    mov mp_ncpus(%rip), %esi
    call wait_total
    mov $S_NMI, %edx
    mov %r12d, %ecx
    call expect
    PRINT "msi 0xfeeff000 data 0x468: NMI, physical destination 0xff (broadcast): every CPU's NMI handler exactly once"
    call verdict
    mov totals + S_NMIVEC * 4(%rip), %eax
    CHECK "nmi broadcast: nothing delivered at the vector in data bits 7:0", %rax, $0
9:  cli
    ret

# ---- helpers (the BSP)

# A dword write of esi (MSI data) to the address edi.
msi_write:
    mov %esi, (%rdi)
    ret

# "msi ADDR data DATA" for edi, esi
print_addr_data:
    PRINT "msi "
    PHEX %rdi
    PRINT " data "
    PHEX %rsi
    ret

# The rest of a check line: eax = 1: ": ok", else ": FAIL" (counted).
verdict:
    push %rsi
    lea empty(%rip), %rsi
    call check_true
    pop %rsi
    ret

clear_counts:
    push %rax
    push %rcx
    push %rdi
    lea counters(%rip), %rdi
    mov $(counters_end - counters), %ecx
    xor %eax, %eax
    rep stosb
    pop %rdi
    pop %rcx
    pop %rax
    ret

# Wait (IF as it is) until totals[edi] >= esi, at most 1 s, then 1 ms for any
# extra delivery.
wait_total:
    push %rax
    push %rcx
    push %rdi
    lea totals(%rip), %rax
    lea (%rax,%rdi,4), %rcx
    mov $10000, %eax
1:  cmp %esi, (%rcx)
    jae 2f
    mov $100, %edi
    call pit_wait_us
    dec %eax
    jnz 1b
2:  mov $1000, %edi
    call pit_wait_us
    pop %rdi
    pop %rcx
    pop %rax
    ret

# edx = slot, ecx = CPU mask: rax = 1 if each CPU in the mask counted exactly
# one delivery at the slot and every other CPU none; else a line per CPU off.
expect:
    push %rbx
    push %rcx
    push %r8
    push %r9
    push %r10
    mov $1, %r9d
    xor %ebx, %ebx
1:  cmp mp_ncpus(%rip), %ebx
    jae 3f
    bt %ebx, %ecx
    setc %r10b
    movzbl %r10b, %r10d
    imul $MAX_CPUS, %edx, %eax
    add %ebx, %eax
    lea counts(%rip), %r8
    mov (%r8,%rax,4), %eax
    cmp %r10d, %eax
    je 2f
    PRINT "msi: cpu "
    PDEC %rbx
    PRINT " counted "
    PDEC %rax
    PRINT ", expected "
    PDEC %r10
    PRINTLN ""
    xor %r9d, %r9d
2:  inc %ebx
    jmp 1b
3:  mov %r9d, %eax
    pop %r10
    pop %r9
    pop %r8
    pop %rcx
    pop %rbx
    ret

# ecx -> eax = number of bits set
popcount:
    push %rcx
    xor %eax, %eax
1:  test %ecx, %ecx
    jz 2f
    inc %eax
    lea -1(%rcx), %r11d
    and %r11d, %ecx
    jmp 1b
2:  pop %rcx
    ret

# edi = address, esi = data, edx = slot, ecx = CPU mask: clear, send, wait
# for the mask's CPUs (at most 1 s) and 1 ms more; rax = expect().
# Preserves rdi, rsi.
round:
    call clear_counts
    call msi_write
    push %rdi
    push %rsi
    call popcount
    mov %edx, %edi
    mov %eax, %esi
    call wait_total
    call expect
    pop %rsi
    pop %rdi
    ret

# edi = address, esi = data, edx = slot: clear, send, wait for one delivery
# (at most 1 s) and 1 ms more. rax = number of deliveries, rcx = the first
# CPU that counted one (0xff: none). Preserves rdi, rsi, rdx.
one_round:
    call clear_counts
    call msi_write
    push %rdi
    push %rsi
    push %rbx
    push %r8
    mov %edx, %edi
    mov $1, %esi
    call wait_total
    lea totals(%rip), %rax
    mov (%rax,%rdx,4), %eax
    mov $0xFF, %ecx
    imul $(MAX_CPUS * 4), %edx, %r8d
    lea counts(%rip), %rsi
    add %r8, %rsi
    xor %ebx, %ebx
1:  cmp mp_ncpus(%rip), %ebx
    jae 2f
    cmpl $0, (%rsi,%rbx,4)
    jne 3f
    inc %ebx
    jmp 1b
3:  mov %ebx, %ecx
2:  pop %r8
    pop %rbx
    pop %rsi
    pop %rdi
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
    mov %ebx, %ecx
    mov $1, %r13d
    shl %cl, %r13d                  # its logical bit
    mov %r13d, %eax
    shl $24, %eax
    mov $LAPIC, %edx
    movl $0xFFFFFFFF, LAPIC_DFR(%rdx)
    mov %eax, LAPIC_LDR(%rdx)
    mov LAPIC_LDR(%rdx), %ecx
    mov LAPIC_DFR(%rdx), %r8d
    LOCK_PRINT
    PRINT "cpu "
    PDEC %rbx
    PRINT ": apic id "
    PDEC %r12
    PRINT " online, flat logical destination "
    PHEX %r13
    cmp %eax, %ecx
    jne 1f
    cmp $0xFFFFFFFF, %r8d
    jne 1f
    PRINTLN ": ok"
    lock incl aps_online(%rip)
    jmp 2f
1:  PRINT ": FAIL LDR "
    PHEX %rcx
    PRINT " DFR "
    PHEX %r8
    PRINTLN ""
    incl fail_count(%rip)
2:  UNLOCK_PRINT
    ret

# ---- interrupt handlers (any CPU; rdi = frame, registers are saved)
on_msi:
    mov F_VEC(%rdi), %ebx
    call this_cpu
    lea -V_BASE(%rbx), %edx         # slot
    imul $MAX_CPUS, %edx, %r8d
    add %eax, %r8d                  # index of (slot, cpu)
    lea counts(%rip), %rax
    lock incl (%rax,%r8,4)
    mov %ebx, %esi                  # the vector's ISR/TMR word
    shr $5, %esi
    shl $4, %esi
    mov $LAPIC, %r9d
    mov LAPIC_ISR(%r9,%rsi), %eax
    bt %ebx, %eax
    setc %al
    movzbl %al, %eax
    lea isr_seen(%rip), %r10
    mov %eax, (%r10,%r8,4)
    mov LAPIC_TMR(%r9,%rsi), %eax
    bt %ebx, %eax
    setc %al
    movzbl %al, %eax
    lea tmr_seen(%rip), %r10
    mov %eax, (%r10,%r8,4)
    lea totals(%rip), %rax
    lock incl (%rax,%rdx,4)
    cmp $(V_BASE + S_RELAY), %ebx
    jne 1f
    mov relay_addr(%rip), %edi
    mov $(V_BASE + S_FROMAP), %esi
    call msi_write
1:  jmp lapic_eoi

on_nmi:
    call this_cpu
    lea counts + S_NMI * MAX_CPUS * 4(%rip), %rcx
    lock incl (%rcx,%rax,4)
    lock incl totals + S_NMI * 4(%rip)
    ret

    .section .rodata
empty: .asciz ""

    .data
    .balign 4
bsp_cpu:    .long 0
aps_online: .long 0
relay_addr: .long 0

    .bss
    .balign 4
counters:
counts:     .skip 4 * MAX_CPUS * NCOUNT
isr_seen:   .skip 4 * MAX_CPUS * NSLOTS
tmr_seen:   .skip 4 * MAX_CPUS * NSLOTS
totals:     .skip 4 * NCOUNT
counters_end:
apic_to_cpu: .skip 256
