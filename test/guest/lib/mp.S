# Intel MultiProcessor Specification 1.4 tables: find the floating pointer
# (first KiB of the EBDA, last KiB of base memory, 0xF0000..0xFFFFF), check
# checksums, collect processors, the IOAPIC and the ISA interrupt routing.
.include "lib/defs.inc"

.set MAX_CPUS, 16

    .text
    .code64
# Scan [rsi, rsi + rcx) in 16-byte steps for a valid floating pointer.
# Returns rax = its address or 0.
scan_mpfp:
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    lea (%rsi,%rcx), %rdi
1:  cmp %rdi, %rsi
    jae 4f
    cmpl $0x5F504D5F, (%rsi)        # "_MP_"
    jne 3f
    movzbl 8(%rsi), %ecx            # length in 16-byte units
    shl $4, %ecx
    jz 3f
    xor %edx, %edx
    xor %eax, %eax
2:  add (%rsi,%rax), %dl
    inc %eax
    cmp %ecx, %eax
    jb 2b
    test %dl, %dl
    jnz 3f
    mov %rsi, %rax
    jmp 5f
3:  add $16, %rsi
    jmp 1b
4:  xor %eax, %eax
5:  pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    ret

# Fill the mp_* variables. Returns eax = 1 if a valid configuration table was found.
    .globl mp_parse
mp_parse:
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    # defaults
    movb $0xFF, mp_isa_bus(%rip)
    lea mp_irq_pin(%rip), %rdi
    mov $16, %ecx
    mov $0xFF, %al
    rep stosb
    movl $LAPIC, mp_lapic_addr(%rip)
    movl $0, mp_ncpus(%rip)
    movl $0, mp_nioapics(%rip)
    # 1. EBDA (segment in the BDA at 0x40E)
    movzwl 0x40E, %esi
    shl $4, %esi
    jz 1f
    mov $1024, %ecx
    call scan_mpfp
    test %rax, %rax
    jnz 4f
1:  # 2. last KiB of base memory (KiB count at 0x413)
    movzwl 0x413, %esi
    test %esi, %esi
    jz 2f
    shl $10, %esi
    sub $1024, %esi
    mov $1024, %ecx
    call scan_mpfp
    test %rax, %rax
    jnz 4f
2:  # 3. the BIOS ROM area
    mov $0xF0000, %esi
    mov $0x10000, %ecx
    call scan_mpfp
    test %rax, %rax
    jnz 4f
    xor %eax, %eax
    jmp 9f
4:  mov %rax, mp_fp_addr(%rip)
    mov 4(%rax), %ebx               # configuration table
    test %ebx, %ebx
    jz 8f                           # a default configuration: not supported here
    cmpl $0x504D4350, (%rbx)        # "PCMP"
    jne 8f
    movzwl 4(%rbx), %ecx            # base table length
    xor %edx, %edx
    xor %eax, %eax
5:  add (%rbx,%rax), %dl
    inc %eax
    cmp %ecx, %eax
    jb 5b
    test %dl, %dl
    jnz 8f
    mov %rbx, mp_ct_addr(%rip)
    mov 36(%rbx), %eax
    mov %eax, mp_lapic_addr(%rip)
    movzwl 34(%rbx), %r8d           # entry count
    lea 44(%rbx), %rsi
6:  test %r8d, %r8d
    jz 7f
    dec %r8d
    movzbl (%rsi), %eax
    cmp $0, %eax
    je 10f
    cmp $1, %eax
    je 11f
    cmp $2, %eax
    je 12f
    cmp $3, %eax
    je 13f
    add $8, %rsi                    # 4 (local interrupt) and others: 8 bytes
    jmp 6b
10: # processor: [1] APIC ID, [3] flags (bit 0 enabled, bit 1 BSP)
    testb $1, 3(%rsi)
    jz 15f
    mov mp_ncpus(%rip), %ecx
    cmp $MAX_CPUS, %ecx
    jae 15f
    movzbl 1(%rsi), %eax
    lea mp_apic_ids(%rip), %rdi
    mov %al, (%rdi,%rcx)
    testb $2, 3(%rsi)
    jz 14f
    mov %eax, mp_bsp_id(%rip)
14: incl mp_ncpus(%rip)
15: add $20, %rsi
    jmp 6b
11: # bus: [1] ID, [2..7] type string
    cmpl $0x20415349, 2(%rsi)       # "ISA "
    jne 16f
    movzbl 1(%rsi), %eax
    mov %al, mp_isa_bus(%rip)
16: add $8, %rsi
    jmp 6b
12: # IOAPIC: [1] ID, [3] flags, [4] address (the first usable one is kept)
    testb $1, 3(%rsi)
    jz 17f
    cmpl $0, mp_nioapics(%rip)
    jne 18f
    movzbl 1(%rsi), %eax
    mov %eax, mp_ioapic_id(%rip)
    mov 4(%rsi), %eax
    mov %eax, mp_ioapic_addr(%rip)
18: incl mp_nioapics(%rip)
17: add $8, %rsi
    jmp 6b
13: # I/O interrupt: [1] type, [2] flags, [4] source bus, [5] source IRQ,
    #                [6] dest IOAPIC ID, [7] dest pin
    cmpb $0, 1(%rsi)                # INT (vectored) only
    jne 19f
    mov 4(%rsi), %al
    cmp mp_isa_bus(%rip), %al
    jne 19f
    movzbl 5(%rsi), %ecx
    cmp $16, %ecx
    jae 19f
    lea mp_irq_pin(%rip), %rdi
    mov 7(%rsi), %al
    mov %al, (%rdi,%rcx)
    lea mp_irq_flags(%rip), %rdi
    mov 2(%rsi), %al
    mov %al, (%rdi,%rcx)
    lea mp_irq_ioapic(%rip), %rdi
    mov 6(%rsi), %al
    mov %al, (%rdi,%rcx)
19: add $8, %rsi
    jmp 6b
7:  mov $1, %eax
    jmp 9f
8:  xor %eax, %eax
9:  pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    ret

    .data
    .balign 8
    .globl mp_fp_addr, mp_ct_addr, mp_ncpus, mp_bsp_id, mp_apic_ids, mp_lapic_addr
    .globl mp_nioapics, mp_ioapic_id, mp_ioapic_addr, mp_isa_bus, mp_irq_pin, mp_irq_flags, mp_irq_ioapic
mp_fp_addr:     .quad 0
mp_ct_addr:     .quad 0
mp_ncpus:       .long 0
mp_bsp_id:      .long 0
mp_lapic_addr:  .long 0
mp_nioapics:    .long 0
mp_ioapic_id:   .long 0
mp_ioapic_addr: .long IOAPIC_DEFAULT
mp_apic_ids:    .skip MAX_CPUS
mp_isa_bus:     .byte 0xFF
mp_irq_pin:     .skip 16, 0xFF
mp_irq_flags:   .skip 16
mp_irq_ioapic:  .skip 16
