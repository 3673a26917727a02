# PIT channel 2 (gated through port 0x61), the TSC, the 8259 pair, the local APIC.
.include "lib/defs.inc"

.set PIT_HZ, 1193182

    .text
    .code64
# Start PIT channel 2 in mode 0 counting down from cx (1..65535), speaker off.
# OUT2 (port 0x61 bit 5) goes high at terminal count.
    .globl pit_start, pit_done, pit_wait, pit_wait_us, pit_read
pit_start:
    push %rax
    push %rdx
    in $PORT61, %al
    and $~0x02, %al                 # speaker data off
    or $0x01, %al                   # gate 2 high
    out %al, $PORT61
    mov $0xB0, %al                  # channel 2, lobyte/hibyte, mode 0, binary
    out %al, $PIT_CMD
    mov %cx, %ax
    out %al, $PIT_CH2
    mov %ah, %al
    out %al, $PIT_CH2
    pop %rdx
    pop %rax
    ret

# ZF=0 (nz) once the count started by pit_start has run out.
pit_done:
    push %rax
    in $PORT61, %al
    test $0x20, %al
    pop %rax
    ret

# Latch and read channel 2's current count into eax.
pit_read:
    mov $0x80, %al                  # latch channel 2
    out %al, $PIT_CMD
    in $PIT_CH2, %al
    mov %al, %ah
    in $PIT_CH2, %al
    xchg %al, %ah
    movzwl %ax, %eax
    ret

# Busy-wait cx PIT ticks (1..65535).
pit_wait:
    call pit_start
1:  call pit_done
    jz 1b
    ret

# Busy-wait rdi microseconds, in pieces of at most 50 ms.
pit_wait_us:
    push %rax
    push %rcx
    push %rdx
    push %rdi
1:  test %rdi, %rdi
    jz 3f
    mov $50000, %eax
    cmp %rax, %rdi
    cmovb %rdi, %rax
    sub %rax, %rdi
    mov $PIT_HZ, %ecx
    mul %rcx
    mov $1000000, %ecx
    div %rcx                        # ticks = us * 1193182 / 1e6
    test %eax, %eax
    jnz 2f
    inc %eax
2:  mov %eax, %ecx
    call pit_wait
    jmp 1b
3:  pop %rdi
    pop %rdx
    pop %rcx
    pop %rax
    ret

    .globl rdtsc64
rdtsc64:                            # rax = TSC
    push %rdx
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    pop %rdx
    ret

# Remap the 8259 pair to vectors 0x20..0x2F and mask every line.
    .globl pic_mask_all
pic_mask_all:
    push %rax
    mov $0x11, %al
    out %al, $0x20
    out %al, $0xA0
    mov $0x20, %al
    out %al, $0x21
    mov $0x28, %al
    out %al, $0xA1
    mov $4, %al
    out %al, $0x21
    mov $2, %al
    out %al, $0xA1
    mov $1, %al
    out %al, $0x21
    out %al, $0xA1
    mov $0xFF, %al
    out %al, $0x21
    out %al, $0xA1
    pop %rax
    ret

# ---- local APIC ----
    .globl lapic_read, lapic_write, lapic_enable, lapic_id, lapic_eoi, lapic_send_ipi
lapic_read:                         # edi = register offset -> eax
    mov $LAPIC, %eax
    mov (%rax,%rdi), %eax
    ret

lapic_write:                        # edi = register offset, esi = value
    push %rax
    mov $LAPIC, %eax
    mov %esi, (%rax,%rdi)
    pop %rax
    ret

lapic_id:                           # eax = this CPU's APIC ID
    mov $LAPIC, %eax
    mov LAPIC_ID(%rax), %eax
    shr $24, %eax
    ret

lapic_eoi:
    push %rax
    mov $LAPIC, %eax
    movl $0, LAPIC_EOI(%rax)
    pop %rax
    ret

# Software-enable this CPU's APIC: spurious vector 0xFF, TPR 0, error LVT
# masked, timer masked.
lapic_enable:
    push %rax
    push %rcx
    push %rdx
    mov $MSR_APIC_BASE, %ecx
    rdmsr
    or $0x800, %eax                 # global enable
    wrmsr
    mov $LAPIC, %eax
    movl $(0x100 | SPURIOUS_VEC), LAPIC_SVR(%rax)
    movl $0, LAPIC_TPR(%rax)
    movl $0x10000, LAPIC_LVTERR(%rax)
    movl $0x10000, LAPIC_LVTT(%rax)
    pop %rdx
    pop %rcx
    pop %rax
    ret

# esi = destination APIC ID, edi = ICR low word; waits for delivery status idle.
lapic_send_ipi:
    push %rax
    push %rsi
    mov $LAPIC, %eax
    shl $24, %esi
    mov %esi, LAPIC_ICRHI(%rax)
    mov %edi, LAPIC_ICRLO(%rax)
1:  testl $0x1000, LAPIC_ICRLO(%rax)
    jz 2f
    pause
    jmp 1b
2:  pop %rsi
    pop %rax
    ret
