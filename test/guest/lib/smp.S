# Starting the application processors: a real-mode trampoline copied to
# 0x8000 (SIPI vector 0x08), INIT-SIPI-SIPI to one AP at a time, each AP goes
# 16 -> 32 -> 64-bit with the BSP's GDT, page tables and IDT, enables its
# APIC and calls `ap_main` (provided by the program: edi = CPU number in MP
# table order, esi = APIC ID). When ap_main returns the AP counts itself in
# aps_ready and idles with interrupts on (sti; hlt).
.include "lib/defs.inc"

.set TRAMPOLINE, 0x8000
.set MAX_CPUS, 16
.set AP_STACK, 8192

    .text
    .code16
tramp_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    lgdtl tramp_gdtptr - tramp_start
    mov %cr0, %eax
    or $1, %al
    mov %eax, %cr0
    ljmpl $KCODE32, $ap_entry32
    .balign 4
tramp_gdtptr:
    .word 0
    .long 0
tramp_end:

    .code32
ap_entry32:
    mov $KDATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov ap_stack_top, %esp
    call enable_long_mode32
    ljmp $KCODE64, $ap_entry64

    .code64
ap_entry64:
    mov $KDATA, %ax
    mov %ax, %ds
    mov %ax, %ss
    call idt_load
    call lapic_enable
    mov ap_cpu(%rip), %edi
    call lapic_id
    mov %eax, %esi
    movl $1, ap_started(%rip)
    call ap_main
    lock incl aps_ready(%rip)
1:  sti
    hlt
    jmp 1b

# Boot every enabled AP of the MP table (mp_parse first), in table order.
# Returns eax = number of APs that came up. An AP that does not answer within
# a second is reported with a FAIL line.
    .globl smp_boot_aps
smp_boot_aps:
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r12
    push %r13
    # copy the trampoline
    lea tramp_start(%rip), %rsi
    mov $TRAMPOLINE, %edi
    mov $(tramp_end - tramp_start), %ecx
    rep movsb
    mov $(TRAMPOLINE + tramp_gdtptr - tramp_start), %edi
    mov gdt_ptr(%rip), %ax
    mov %ax, (%rdi)
    mov gdt_ptr+2(%rip), %eax
    mov %eax, 2(%rdi)
    xor %r12d, %r12d                # cpu number
    xor %r13d, %r13d                # APs started
1:  cmp mp_ncpus(%rip), %r12d
    jae 9f
    lea mp_apic_ids(%rip), %rax
    movzbl (%rax,%r12), %ebx        # APIC ID
    cmp mp_bsp_id(%rip), %ebx
    je 8f
    mov %r12d, ap_cpu(%rip)
    lea ap_stacks(%rip), %rax
    lea 1(%r12), %ecx
    imul $AP_STACK, %ecx
    add %rcx, %rax
    mov %eax, ap_stack_top(%rip)
    movl $0, ap_started(%rip)
    mov aps_ready(%rip), %edx
    # INIT (assert, level), 10 ms, SIPI, 200 us, SIPI
    mov %ebx, %esi
    mov $0x4500, %edi
    call lapic_send_ipi
    mov $10000, %edi
    call pit_wait_us
    mov %ebx, %esi
    mov $(0x4600 | (TRAMPOLINE >> 12)), %edi
    call lapic_send_ipi
    mov $200, %edi
    call pit_wait_us
    cmpl $0, ap_started(%rip)
    jne 2f
    mov %ebx, %esi
    mov $(0x4600 | (TRAMPOLINE >> 12)), %edi
    call lapic_send_ipi
2:  # wait up to 1 s for the AP to finish ap_main
    mov $1000, %ecx
3:  cmp aps_ready(%rip), %edx
    jne 4f
    mov $1000, %edi
    call pit_wait_us
    loop 3b
    PRINT "smp: FAIL cpu with APIC ID "
    PDEC %rbx
    PRINTLN " did not start"
    incl fail_count(%rip)
    jmp 8f
4:  inc %r13d
8:  inc %r12d
    jmp 1b
9:  mov %r13d, %eax
    pop %r13
    pop %r12
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    ret

    .data
    .balign 4
    .globl aps_ready
ap_cpu:         .long 0
ap_stack_top:   .long 0
ap_started:     .long 0
aps_ready:      .long 0

    .bss
    .balign 16
ap_stacks:      .skip AP_STACK * MAX_CPUS
