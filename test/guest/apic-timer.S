# apic-timer: the local APIC timer in one-shot, periodic and TSC-deadline
# modes, its divide configurations, masking, stopping, and the ISR/EOI cycle.
# Implementation-independent facts are normal lines; measured counts (QEMU's
# timer runs on the host clock) are `~ ` lines. Windows are timed with PIT
# channel 2.
.include "lib/defs.inc"

.set V_TIMER, 0x40
.set ONESHOT, 0
.set PERIODIC, 0x20000
.set DEADLINE, 0x40000
.set MASKED, 0x10000
.set DIV1, 0xB

.macro LAPIC_W reg, val
    mov $\reg, %edi
    mov \val, %esi
    call lapic_write
.endm
.macro LAPIC_R reg
    mov $\reg, %edi
    call lapic_read
.endm

    .text
    .code64
    .globl main
main:
    PRINTLN "apic-timer: damselfly guest test"
    call pic_mask_all
    call lapic_enable
    mov $V_TIMER, %edi
    lea on_timer(%rip), %rsi
    call idt_set_handler

    # ---- the current count runs down from the initial count
    LAPIC_W LAPIC_TDCR, $DIV1
    LAPIC_W LAPIC_LVTT, $(MASKED | V_TIMER)
    LAPIC_W LAPIC_TICR, $0xFFFFFFFF
    LAPIC_R LAPIC_TCCR
    mov %eax, %ebx
    mov $100, %edi
    call pit_wait_us
    LAPIC_R LAPIC_TCCR
    mov %eax, %r12d
    cmp %r12d, %ebx
    CHECK_CC "current count decreases (masked one-shot, divide by 1)", a
    mov $0xFFFFFFFF, %ecx
    CHECK_RANGE "current count starts at or below the initial count", %rbx, $1, %rcx
    LAPIC_R LAPIC_TICR
    mov $0xFFFFFFFF, %ecx
    CHECK "initial count reads back", %rax, %rcx
    LAPIC_W LAPIC_TICR, $0
    LAPIC_R LAPIC_TCCR
    CHECK "initial count 0 stops the timer: current count 0", %rax, $0

    # ---- one-shot: exactly one interrupt, then the count stays 0
    movl $0, ticks(%rip)
    movl $0, isr_seen(%rip)
    LAPIC_W LAPIC_LVTT, $(ONESHOT | V_TIMER)
    LAPIC_R LAPIC_LVTT
    CHECK "lvt timer reads back", %rax, $V_TIMER
    sti
    LAPIC_W LAPIC_TICR, $100000     # 100 us at 1 GHz
    mov $1, %edi
    call wait_ticks                 # the first one, then 10 ms for a wrong second
    mov $10000, %edi
    call pit_wait_us
    cli
    mov ticks(%rip), %eax
    CHECK "one-shot: exactly one interrupt", %rax, $1
    mov last_vec(%rip), %eax
    CHECK "one-shot: delivered at the lvt vector", %rax, $V_TIMER
    mov isr_seen(%rip), %eax
    CHECK "one-shot: isr bit set in the handler", %rax, $1
    mov $LAPIC_ISR + 0x20, %edi     # vector 0x40: ISR word 2, bit 0
    call lapic_read
    and $1, %eax
    CHECK "one-shot: isr bit clear after eoi", %rax, $0
    LAPIC_R LAPIC_TCCR
    CHECK "one-shot: current count 0 after expiry", %rax, $0

    # ---- periodic: interrupts keep coming; the count reloads
    movl $0, ticks(%rip)
    LAPIC_W LAPIC_LVTT, $(PERIODIC | V_TIMER)
    sti
    LAPIC_W LAPIC_TICR, $1000000    # 1 ms at 1 GHz
    mov $3, %edi
    call wait_ticks
    cli
    mov ticks(%rip), %eax
    CHECK_RANGE "periodic: interrupts keep coming (3 arrive)", %rax, $3, $1000
    movl $0, ticks(%rip)
    sti
    mov $20000, %edi
    call pit_wait_us
    cli
    mov ticks(%rip), %eax
    PRINT "~ periodic 1 ms: "
    PDEC %rax
    PRINTLN " interrupts in 20 ms"
    LAPIC_R LAPIC_TCCR
    CHECK_RANGE "periodic: current count reloads (0 < count <= initial)", %rax, $1, $1000000

    # ---- masking stops the interrupts but not the count
    LAPIC_W LAPIC_LVTT, $(MASKED | PERIODIC | V_TIMER)
    call drain
    movl $0, ticks(%rip)
    LAPIC_R LAPIC_TCCR
    mov %eax, %ebx
    sti
    mov $5000, %edi
    call pit_wait_us
    cli
    mov ticks(%rip), %eax
    CHECK "masked: no interrupts in 5 ms", %rax, $0
    LAPIC_R LAPIC_TCCR
    cmp %eax, %ebx
    CHECK_CC "masked: the current count still changes", ne
    # unmask: it fires again
    LAPIC_W LAPIC_LVTT, $(PERIODIC | V_TIMER)
    sti
    mov $1, %edi
    call wait_ticks
    cli
    mov ticks(%rip), %eax
    CHECK_RANGE "unmasked again: interrupts resume", %rax, $1, $1000
    # stop with initial count 0
    LAPIC_W LAPIC_TICR, $0
    call drain
    movl $0, ticks(%rip)
    sti
    mov $5000, %edi
    call pit_wait_us
    cli
    mov ticks(%rip), %eax
    CHECK "initial count 0: no more interrupts", %rax, $0

    # ---- divide configuration: the count rate per divisor, against the TSC
    LAPIC_W LAPIC_LVTT, $(MASKED | V_TIMER)
    xor %r15d, %r15d                # index
1:  cmp $8, %r15d
    jae 3f
    lea div_codes(%rip), %rax
    movzbl (%rax,%r15), %esi
    mov $LAPIC_TDCR, %edi
    call lapic_write
    LAPIC_R LAPIC_TDCR
    lea div_codes(%rip), %rcx
    movzbl (%rcx,%r15), %ecx
    and $0xB, %eax
    cmp %ecx, %eax
    je 2f
    FAIL "divide configuration", "did not read back"
2:  call count_rate
    lea div_rates(%rip), %rcx
    mov %rax, (%rcx,%r15,8)
    PRINT "~ divide by "
    mov $1, %ecx
    lea div_shift(%rip), %rdx
    push %rcx
    movzbl (%rdx,%r15), %ecx
    pop %rdx
    shl %cl, %edx
    PDEC %rdx
    PRINT ": "
    imul $1000000, %rax
    shr $20, %rax
    PDEC %rax
    PRINTLN " counts per million TSC ticks"
    inc %r15d
    jmp 1b
3:  LAPIC_W LAPIC_TICR, $0
    # each divisor halves the rate: 2 * rate(n) within +-25% of rate(n - 1)
    mov $1, %r15d
    mov $1, %r14d
4:  cmp $8, %r15d
    jae 6f
    lea div_rates(%rip), %rax
    mov -8(%rax,%r15,8), %rcx       # previous
    mov (%rax,%r15,8), %rdx
    add %rdx, %rdx                  # 2 * this
    mov %rcx, %r9
    shr $2, %r9
    lea (%rcx,%r9), %r8             # previous * 5/4
    sub %r9, %rcx                   # previous * 3/4
    cmp %rcx, %rdx
    jb 7f
    cmp %r8, %rdx
    jbe 8f
7:  xor %r14d, %r14d
8:  inc %r15d
    jmp 4b
6:  CHECK "divide configurations: each halves the count rate (+-25%)", %r14, $1

    # ---- TSC-deadline mode
    mov $1, %eax
    cpuid
    bt $24, %ecx
    jc 1f
    PRINTLN "~ tsc-deadline: unsupported (CPUID.1:ECX[24] clear)"
    ret
1:  movl $0, ticks(%rip)
    LAPIC_W LAPIC_LVTT, $(DEADLINE | V_TIMER)
    sti
    call rdtsc64
    add $1000000, %rax
    mov %rax, %rdx
    shr $32, %rdx
    mov $MSR_TSC_DEADLINE, %ecx
    wrmsr
    mov $10000, %edi
    call pit_wait_us
    cli
    mov ticks(%rip), %eax
    CHECK_TILDE CHECK "tsc-deadline: exactly one interrupt", %rax, $1
    mov $MSR_TSC_DEADLINE, %ecx
    rdmsr
    shl $32, %rdx
    or %rdx, %rax
    CHECK_TILDE CHECK "tsc-deadline: the msr reads 0 after it fired", %rax, $0
    movl $0, ticks(%rip)
    call rdtsc64
    add $1000000, %rax
    mov %rax, %rdx
    shr $32, %rdx
    mov $MSR_TSC_DEADLINE, %ecx
    wrmsr
    xor %eax, %eax
    xor %edx, %edx
    wrmsr                           # disarm
    sti
    mov $10000, %edi
    call pit_wait_us
    cli
    mov ticks(%rip), %eax
    CHECK_TILDE CHECK "tsc-deadline: writing 0 disarms it", %rax, $0
    movl $0, ticks(%rip)
    sti
    call rdtsc64
    sub $1000, %rax                 # a deadline in the past fires at once
    mov %rax, %rdx
    shr $32, %rdx
    mov $MSR_TSC_DEADLINE, %ecx
    wrmsr
    mov $1000, %edi
    call pit_wait_us
    cli
    mov ticks(%rip), %eax
    CHECK_TILDE CHECK "tsc-deadline: a past deadline fires at once", %rax, $1
    LAPIC_W LAPIC_LVTT, $(MASKED | V_TIMER)
    ret

# The current count's rate against the TSC (counts per TSC tick << 20), from
# two samples SPAN TSC ticks apart. Each sample is bracketed by TSC reads and
# retaken when the bracket is wide (the emulator thread was descheduled).
.set SPAN, 2000000
count_rate:
    push %rbx
    push %rcx
    push %rdx
    push %r8
    push %r9
    push %r10
    push %r11
    mov $10, %r11d                  # attempts
1:  LAPIC_W LAPIC_TICR, $0xFFFFFFFF
    call sample
    mov %rax, %r8                   # tsc 0
    mov %edx, %r9d                  # count 0
    mov %rcx, %r10                  # bracket 0
2:  call rdtsc64
    sub %r8, %rax
    cmp $SPAN, %rax
    jb 2b
    call sample
    sub %r8, %rax                   # tsc ticks
    sub %edx, %r9d                  # counts
    dec %r11d
    jz 3f
    cmp $SPAN / 100, %r10
    ja 1b
    cmp $SPAN / 100, %rcx
    ja 1b
3:  mov %rax, %rcx
    mov %r9, %rax
    shl $20, %rax
    xor %edx, %edx
    div %rcx
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdx
    pop %rcx
    pop %rbx
    ret

# rax = TSC (midpoint), edx = current count, rcx = bracket width in TSC ticks
sample:
    push %rdi
    push %rsi
    call rdtsc64
    mov %rax, %rsi
    mov $LAPIC_TCCR, %edi
    call lapic_read
    mov %eax, %edx
    call rdtsc64
    mov %rax, %rcx
    sub %rsi, %rcx
    mov %rcx, %rax
    shr $1, %rax
    add %rsi, %rax
    pop %rsi
    pop %rdi
    ret

# Wait with interrupts on until ticks >= edi, at most 1 s (timed by the PIT).
wait_ticks:
    push %rcx
    push %rdi
    mov %edi, %ecx
    mov $10000, %edi
1:  cmp ticks(%rip), %ecx
    jbe 2f
    push %rdi
    mov $100, %edi
    call pit_wait_us
    pop %rdi
    dec %edi
    jnz 1b
2:  pop %rdi
    pop %rcx
    ret

# Take any interrupt that was already on its way: 1 ms with interrupts on.
drain:
    push %rdi
    sti
    mov $1000, %edi
    call pit_wait_us
    cli
    pop %rdi
    ret

on_timer:
    incl ticks(%rip)
    mov F_VEC(%rdi), %rax
    mov %eax, last_vec(%rip)
    mov $LAPIC_ISR + 0x20, %edi
    call lapic_read
    and $1, %eax
    mov %eax, isr_seen(%rip)
    jmp lapic_eoi

    .data
div_codes: .byte 0xB, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA
div_shift: .byte 0, 1, 2, 3, 4, 5, 6, 7
    .balign 4
ticks:     .long 0
last_vec:  .long 0
isr_seen:  .long 0
    .balign 8
div_rates: .skip 8 * 8
