# ioapic-uart: COM1's interrupt through the IOAPIC pin that the MP table gives
# for ISA IRQ 4, with the 8259s masked: THRE and (in loopback) RX interrupts,
# edge and level triggering, Remote IRR and the EOI broadcast, a level
# interrupt re-raised when EOI comes before the source is cleared, and a
# masked entry holding a level interrupt until it is unmasked.
# Output is only printed with the UART's interrupts disabled (every byte
# written would raise another THRE interrupt).
.include "lib/defs.inc"

.set V_EDGE,  0x34
.set V_LEVEL, 0x35
.set RTE_MASK, 0x10000
.set RTE_LEVEL, 0x8000
.set RTE_RIRR, 0x4000
.set IER, COM1 + 1
.set IIR, COM1 + 2
.set MCR, COM1 + 4

    .text
    .code64
    .globl main
main:
    PRINTLN "ioapic-uart: damselfly guest test"
    call pic_mask_all
    call lapic_enable
    call mp_parse
    CHECK "mp table: found", %rax, $1
    mov mp_nioapics(%rip), %eax
    CHECK "mp table: one ioapic", %rax, $1
    mov mp_ioapic_addr(%rip), %eax
    mov $IOAPIC_DEFAULT, %ecx
    CHECK "mp table: ioapic at 0xfec00000", %rax, %rcx
    movzbl mp_isa_bus(%rip), %eax
    cmp $0xFF, %eax
    CHECK_CC "mp table: has an ISA bus", ne
    movzbl mp_irq_pin+4(%rip), %eax
    mov %eax, pin(%rip)
    PRINT "mp table: isa irq 4 -> ioapic pin "
    PDEC %rax
    PRINT ", flags "
    movzbl mp_irq_flags+4(%rip), %eax
    PHEX %rax
    PRINTLN ""
    cmpl $24, pin(%rip)
    jb 1f
    FAIL "isa irq 4", "has no ioapic pin"
    ret
1:
    mov $1, %edi                    # version register
    call ioapic_read
    PRINT "~ ioapic version "
    movzbl %al, %ecx
    PHEX %rcx
    PRINTLN ""
    shr $16, %eax
    and $0xFF, %eax
    inc %eax
    PRINT "ioapic: "
    PDEC %rax
    PRINTLN " redirection entries"
    call lapic_id
    mov %eax, bsp_apic(%rip)
    mov $V_EDGE, %edi
    lea on_uart(%rip), %rsi
    call idt_set_handler
    mov $V_LEVEL, %edi
    lea on_uart(%rip), %rsi
    call idt_set_handler
    mov $MCR, %dx
    mov $0x0B, %al                  # DTR, RTS, OUT2 (the IRQ line's gate on a PC)
    out %al, %dx

    # ---- edge-triggered THRE interrupt
    mov $V_EDGE, %esi
    call set_rte
    call reset
    mov $0x02, %al                  # THRE interrupt on: THR is empty, so it fires
    call set_ier
    call wait_1ms
    xor %al, %al
    call set_ier
    mov count(%rip), %eax
    CHECK "edge: THRE interrupt arrives once", %rax, $1
    mov last_vec(%rip), %eax
    CHECK "edge: at the redirection entry's vector", %rax, $V_EDGE
    mov iir_seen(%rip), %eax
    CHECK "edge: iir in the handler says THRE (fifo on)", %rax, $0xC2
    mov isr_seen(%rip), %eax
    CHECK "edge: lapic isr bit set in the handler", %rax, $1
    mov tmr_seen(%rip), %eax
    CHECK "edge: lapic tmr bit clear (edge)", %rax, $0
    mov $V_EDGE, %edi
    call isr_bit
    CHECK "edge: lapic isr bit clear after eoi", %rax, $0
    mov $IIR, %dx
    in %dx, %al
    movzbl %al, %eax
    CHECK "edge: iir afterwards says nothing pending", %rax, $0xC1

    # ---- level-triggered: Remote IRR until the EOI
    mov $(RTE_LEVEL | V_LEVEL), %esi
    call set_rte
    call reset
    mov $0x02, %al
    call set_ier
    call wait_1ms
    xor %al, %al
    call set_ier
    mov count(%rip), %eax
    CHECK "level: THRE interrupt arrives once", %rax, $1
    mov last_vec(%rip), %eax
    CHECK "level: at the redirection entry's vector", %rax, $V_LEVEL
    mov rte_seen(%rip), %eax
    and $RTE_RIRR, %eax
    CHECK "level: remote irr set in the handler", %rax, $RTE_RIRR
    mov tmr_seen(%rip), %eax
    CHECK "level: lapic tmr bit set (level)", %rax, $1
    call get_rte
    and $RTE_RIRR, %eax
    CHECK "level: remote irr clear after the eoi", %rax, $0

    # ---- level: EOI while the source is still asserted delivers it again
    call reset
    movl $1, skip_clear(%rip)
    mov $0x02, %al
    call set_ier
    call wait_1ms
    xor %al, %al
    call set_ier
    mov count(%rip), %eax
    CHECK "level: eoi before clearing the source: delivered again", %rax, $2
    call get_rte
    and $RTE_RIRR, %eax
    CHECK "level: remote irr clear at the end", %rax, $0

    # ---- a masked level entry holds the interrupt until unmasked
    mov $(RTE_MASK | RTE_LEVEL | V_LEVEL), %esi
    call set_rte
    call reset
    mov $0x02, %al
    call set_ier
    call wait_1ms
    mov count(%rip), %eax
    mov %eax, %ebx
    mov $(RTE_LEVEL | V_LEVEL), %esi
    call set_rte
    call wait_1ms
    xor %al, %al
    call set_ier
    CHECK "masked: nothing while the entry is masked", %rbx, $0
    mov count(%rip), %eax
    CHECK "masked: delivered when unmasked", %rax, $1

    # ---- RX interrupt: a byte sent in loopback mode comes back
    mov $V_EDGE, %esi
    call set_rte
    call reset
    mov $MCR, %dx
    mov $0x1B, %al                  # loopback
    out %al, %dx
    mov $0x01, %al                  # received-data interrupt
    call set_ier
    mov $COM1, %dx
    mov $'Z', %al
    out %al, %dx
    call wait_1ms
    xor %al, %al
    call set_ier
    mov $MCR, %dx
    mov $0x0B, %al
    out %al, %dx
    mov count(%rip), %eax
    CHECK "rx: loopback byte raises one interrupt", %rax, $1
    mov iir_seen(%rip), %eax
    PRINT "~ rx: iir in the handler "
    PHEX %rax
    PRINTLN ""
    and $~0x08, %eax                # 0xCC (character timeout) if the handler ran late
    CHECK "rx: iir says received data (fifo on, 0xc4 or 0xcc)", %rax, $0xC4
    mov rx_byte(%rip), %eax
    CHECK "rx: the byte read in the handler", %rax, $'Z'

    # ---- nothing with IER = 0
    call reset
    call wait_1ms
    mov count(%rip), %eax
    CHECK "ier 0: no interrupt", %rax, $0

    mov $(RTE_MASK | V_EDGE), %esi
    call set_rte
    mov $MCR, %dx
    mov $0x03, %al
    out %al, %dx
    ret

set_ier:                            # al
    push %rdx
    mov $IER, %dx
    out %al, %dx
    pop %rdx
    ret

reset:
    movl $0, count(%rip)
    movl $0, last_vec(%rip)
    movl $0, iir_seen(%rip)
    movl $0, skip_clear(%rip)
    movl $-1, isr_seen(%rip)
    movl $-1, tmr_seen(%rip)
    movl $0, rx_byte(%rip)
    ret

wait_1ms:
    push %rdi
    sti
    mov $1000, %edi
    call pit_wait_us
    cli
    pop %rdi
    ret

# ioapic register edi -> eax / edi <- esi
ioapic_read:
    push %rcx
    mov mp_ioapic_addr(%rip), %ecx
    mov %edi, (%rcx)
    mov 0x10(%rcx), %eax
    pop %rcx
    ret
ioapic_write:
    push %rcx
    mov mp_ioapic_addr(%rip), %ecx
    mov %edi, (%rcx)
    mov %esi, 0x10(%rcx)
    pop %rcx
    ret

# the UART pin's redirection entry: esi = low word; destination = the BSP
set_rte:
    push %rdi
    push %rsi
    mov pin(%rip), %edi
    lea 0x11(,%rdi,2), %edi
    mov bsp_apic(%rip), %esi
    shl $24, %esi
    call ioapic_write
    pop %rsi
    dec %edi
    call ioapic_write
    pop %rdi
    ret
get_rte:                            # eax = low word
    push %rdi
    mov pin(%rip), %edi
    lea 0x10(,%rdi,2), %edi
    call ioapic_read
    pop %rdi
    ret

# eax = lapic ISR / TMR bit of vector edi
isr_bit:
    push %rsi
    mov $LAPIC_ISR, %esi
    jmp 1f
tmr_bit:
    push %rsi
    mov $LAPIC_TMR, %esi
1:  push %rcx
    push %rdi
    mov %edi, %ecx
    shr $5, %edi
    shl $4, %edi
    add %esi, %edi
    call lapic_read
    and $31, %ecx
    shr %cl, %eax
    and $1, %eax
    pop %rdi
    pop %rcx
    pop %rsi
    ret

on_uart:
    incl count(%rip)
    mov F_VEC(%rdi), %rdi
    mov %edi, last_vec(%rip)
    call isr_bit
    mov %eax, isr_seen(%rip)
    call tmr_bit
    mov %eax, tmr_seen(%rip)
    call get_rte
    mov %eax, rte_seen(%rip)
    cmpl $0, skip_clear(%rip)
    je 1f
    decl skip_clear(%rip)
    jmp 2f
1:  mov $IIR, %dx
    in %dx, %al
    movzbl %al, %eax
    mov %eax, iir_seen(%rip)
    and $0x07, %eax                 # 4: data available, 0xC: character timeout
    cmp $4, %eax
    jne 2f
    mov $COM1, %dx
    in %dx, %al
    movzbl %al, %eax
    mov %eax, rx_byte(%rip)
2:  jmp lapic_eoi

    .data
    .balign 4
pin:        .long 0
bsp_apic:   .long 0
count:      .long 0
last_vec:   .long 0
iir_seen:   .long 0
isr_seen:   .long 0
tmr_seen:   .long 0
rte_seen:   .long 0
skip_clear: .long 0
rx_byte:    .long 0
