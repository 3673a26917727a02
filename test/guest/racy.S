# racy: every CPU, released together from a barrier, runs ITER rounds of
#   - an unlocked increment of a shared counter (load, add, store: updates
#     get lost when CPUs interleave), and
#   - a locked append of its CPU number to a shared log (lock xadd claims a
#     slot: the log records the order in which the CPUs won).
# The BSP then prints the final counter and a hash of the log. Both depend on
# how the CPUs interleaved: on QEMU (host threads) they are `~ ` lines; on the
# deterministic emulator they must be the same for one seed and differ
# between seeds (checked by the emulator's own tests).
.include "lib/defs.inc"

.set MAX_CPUS, 16
.set ITER, 4096
.set V_GO, 0x60
.set LOG_MAX, ITER * MAX_CPUS

    .text
    .code64
    .globl main
main:
    PRINTLN "racy: damselfly guest test"
    call pic_mask_all
    call lapic_enable
    call mp_parse
    CHECK "mp table: found", %rax, $1
    mov $V_GO, %edi
    lea race(%rip), %rsi
    call idt_set_handler
    call smp_boot_aps
    mov mp_ncpus(%rip), %ecx
    dec %ecx
    CHECK "racy: every AP started", %rax, %rcx
    PRINT "racy: "
    mov mp_ncpus(%rip), %eax
    PDEC %rax
    PRINT " cpus, "
    PDEC $ITER
    PRINTLN " rounds each"
    # go: a fixed IPI to all including self; the BSP races in its handler too
    mov $(0x80000 | 0x4000 | V_GO), %edi
    xor %esi, %esi
    sti
    call lapic_send_ipi
    # wait for all (the BSP's own share ran in the handler already)
1:  mov done(%rip), %eax
    cmp mp_ncpus(%rip), %eax
    je 2f
    pause
    jmp 1b
2:  cli
    # results
    mov log_next(%rip), %eax
    mov mp_ncpus(%rip), %ecx
    imul $ITER, %ecx
    CHECK "racy: log has ncpus * rounds entries", %rax, %rcx
    # per-CPU entries, hash (FNV-1a 32 over the log bytes), switches
    lea counts(%rip), %rdi
    xor %eax, %eax
    mov $MAX_CPUS, %ecx
    rep stosl
    mov $0x811C9DC5, %r8d           # hash
    xor %r9d, %r9d                  # number of times the winner changed
    mov $0xFF, %r10d                # previous
    xor %ebx, %ebx
    lea race_log(%rip), %rsi
3:  cmp log_next(%rip), %ebx
    jae 5f
    movzbl (%rsi,%rbx), %eax
    lea counts(%rip), %rdx
    incl (%rdx,%rax,4)
    xor %eax, %r8d
    imul $0x01000193, %r8d
    cmp %r10d, %eax
    je 4f
    inc %r9d
    mov %eax, %r10d
4:  inc %ebx
    jmp 3b
5:  xor %ebx, %ebx
    mov $1, %r11d
6:  cmp mp_ncpus(%rip), %ebx
    jae 7f
    lea counts(%rip), %rdx
    cmpl $ITER, (%rdx,%rbx,4)
    je 8f
    xor %r11d, %r11d
8:  inc %ebx
    jmp 6b
7:  CHECK "racy: every cpu logged exactly its rounds", %r11, $1
    mov counter(%rip), %eax
    mov mp_ncpus(%rip), %ecx
    imul $ITER, %ecx
    CHECK_RANGE "racy: counter between 2 and ncpus * rounds", %rax, $2, %rcx
    PRINT "~ racy: counter "
    PDEC %rax
    PRINT " of "
    PDEC %rcx
    PRINT " (lost updates "
    sub %rax, %rcx
    PDEC %rcx
    PRINTLN ")"
    PRINT "~ racy: log hash "
    PHEX %r8
    PRINT ", winner changes "
    PDEC %r9
    PRINTLN ""
    PRINT "~ racy: log starts "
    xor %ebx, %ebx
9:  cmp $64, %ebx
    jae 10f
    cmp log_next(%rip), %ebx
    jae 10f
    movzbl (%rsi,%rbx), %eax
    cmp $10, %eax
    jb 11f
    add $('a' - 10 - '0'), %eax
11: add $'0', %eax
    call putc
    inc %ebx
    jmp 9b
10: PRINTLN ""
    ret

    .globl ap_main
ap_main:
    ret

# The race, in the V_GO handler on every CPU (interrupts off).
race:
    call lapic_id
    mov %eax, %ecx
    xor %r12d, %r12d                # CPU number = index in the MP table
1:  lea mp_apic_ids(%rip), %rax
    movzbl (%rax,%r12), %eax
    cmp %eax, %ecx
    je 2f
    inc %r12d
    jmp 1b
2:  lock incl arrived(%rip)
3:  mov arrived(%rip), %eax
    cmp mp_ncpus(%rip), %eax
    je 4f
    pause
    jmp 3b
4:  mov $ITER, %ecx
    lea race_log(%rip), %rdi
5:  mov counter(%rip), %eax         # the unlocked increment
    add $1, %eax
    mov %eax, counter(%rip)
    mov $1, %eax                    # the locked append
    lock xadd %eax, log_next(%rip)
    mov %r12b, (%rdi,%rax)
    dec %ecx
    jnz 5b
    lock incl done(%rip)
    jmp lapic_eoi

    .data
    .balign 4
arrived:  .long 0
done:     .long 0
counter:  .long 0
log_next: .long 0

    .bss
    .balign 4096
counts:   .skip 4 * MAX_CPUS
race_log: .skip LOG_MAX
