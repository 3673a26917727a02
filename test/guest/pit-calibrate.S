# pit-calibrate: the classic Linux/DragonFly calibration. PIT channel 2 in
# mode 0, gated through port 0x61 (speaker off), counts down 50 ms; the TSC
# and the local APIC timer (divide by 1, masked) are read before and after
# OUT2 (port 0x61 bit 5) goes high. Frequencies go on `~ ` lines (QEMU uses
# the host clock); normal lines hold only facts and wide sanity ranges.
.include "lib/defs.inc"

.set LATCH_50MS, 59659              # 1193182 / 20

    .text
    .code64
    .globl main
main:
    PRINTLN "pit-calibrate: damselfly guest test"
    call pic_mask_all
    call lapic_enable
    mov $LAPIC_TDCR, %edi
    mov $0xB, %esi                  # divide by 1
    call lapic_write
    mov $LAPIC_LVTT, %edi
    mov $0x10000, %esi              # masked one-shot
    call lapic_write

    # ---- PIT channel 2 itself
    mov $LATCH_50MS, %ecx
    call pit_start
    call pit_done
    CHECK_CC "pit: out2 low after programming mode 0", z
    call pit_read
    mov %eax, %ebx
    mov $1000000, %ecx              # read until the count moves
1:  call pit_read
    cmp %eax, %ebx
    jne 5f
    loop 1b
5:  cmp %eax, %ebx
    CHECK_CC "pit: channel 2 counts down (latched reads)", a
    CHECK_RANGE "pit: latched count within the latch", %rbx, $1, $LATCH_50MS
    in $PORT61, %al
    and $0x03, %eax
    CHECK "port 0x61: gate 2 on, speaker data off", %rax, $1
2:  call pit_done
    jz 2b
    call pit_read                   # mode 0 keeps counting after terminal count
    mov %eax, %ebx
    PRINT "~ pit: count after terminal count "
    PHEX %rax
    PRINTLN ""
    mov $1000000, %ecx
6:  call pit_read
    cmp %eax, %ebx
    jne 7f
    loop 6b
7:  cmp %eax, %ebx
    CHECK_CC "pit: mode 0 keeps counting after the terminal count", ne

    # ---- calibrate over 50 ms, twice. A run counts only if both ends are
    # pinned down to 1/256 of the window: the start (PIT count written, APIC
    # count read) and the end (the last poll that saw OUT2 low, to the APIC
    # read after it saw it high) are each bracketed by TSC reads. On QEMU a
    # descheduled thread widens a bracket; such a run is repeated (at most 50).
    xor %r15d, %r15d
3:  mov $50, %r11d                  # attempts left
    movl $0, attempts(%rip)
13: incl attempts(%rip)
    mov $LAPIC_TICR, %edi
    mov $0xFFFFFFFF, %esi
    call lapic_write
    call rdtsc64
    mov %rax, %r12                  # t_s0
    mov $LATCH_50MS, %ecx
    call pit_start
    mov $LAPIC_TCCR, %edi
    call lapic_read
    mov %eax, %r13d                 # apic start
    call rdtsc64
    mov %rax, %r8                   # t_s1
    xor %r14d, %r14d                # polls
    mov %rax, %r9                   # time before this poll
4:  mov %r9, %r10                   # time before the previous poll
    call rdtsc64
    mov %rax, %r9
    inc %r14
    call pit_done
    jz 4b
    mov $LAPIC_TCCR, %edi
    call lapic_read
    sub %eax, %r13d                 # apic ticks
    call rdtsc64                    # t_e
    mov %rax, %rcx
    sub %r12, %rcx                  # whole span
    shr $8, %rcx                    # 1/256 of it
    mov %r8, %rdx
    sub %r12, %rdx                  # start bracket
    mov %rax, %rsi
    sub %r10, %rsi                  # end bracket
    add %r10, %rax
    shr $1, %rax                    # end midpoint
    add %r12, %r8
    shr $1, %r8                     # start midpoint
    sub %r8, %rax
    mov %rax, %r12                  # tsc ticks in 50 ms
    dec %r11d
    jz 14f
    cmp %rcx, %rdx
    ja 13b
    cmp %rcx, %rsi
    ja 13b
14: # Hz = ticks * 1193182 / LATCH; printed in kHz, checked in MHz (rounded)
    mov %r12, %rax
    call to_khz
    mov %rax, %rbx                  # tsc kHz
    mov %r13, %rax
    call to_khz
    mov %rax, %rbp                  # apic kHz
    PRINT "~ calibration "
    lea 1(%r15), %eax
    PDEC %rax
    PRINT ": tsc "
    PDEC %rbx
    PRINT " kHz, lapic timer "
    PDEC %rbp
    PRINT " kHz, "
    PDEC %r14
    PRINT " polls of port 0x61, attempt "
    mov attempts(%rip), %eax
    PDEC %rax
    PRINTLN ""
    mov %rbx, %rax
    call khz_to_mhz
    CHECK_RANGE "tsc frequency in [100, 20000] MHz", %rax, $100, $20000
    mov %rbp, %rax
    call khz_to_mhz
    CHECK_RANGE "lapic timer frequency (divide 1) in [900, 1100] MHz", %rax, $900, $1100
    inc %r15d
    cmp $2, %r15d
    jb 3b
    mov $LAPIC_TICR, %edi
    xor %esi, %esi
    call lapic_write
    # gate off: the count stops
    in $PORT61, %al
    and $~0x03, %al
    out %al, $PORT61
    ret

# rax = ticks counted over LATCH_50MS PIT periods -> rax = kHz (rounded)
to_khz:
    push %rcx
    push %rdx
    mov $1193182, %ecx
    mul %rcx
    mov $LATCH_50MS, %ecx
    div %rcx                        # Hz
    add $500, %rax
    xor %edx, %edx
    mov $1000, %ecx
    div %rcx
    pop %rdx
    pop %rcx
    ret

khz_to_mhz:                         # rax, rounded
    push %rcx
    push %rdx
    add $500, %rax
    xor %edx, %edx
    mov $1000, %ecx
    div %rcx
    pop %rdx
    pop %rcx
    ret

    .data
    .balign 4
attempts: .long 0
