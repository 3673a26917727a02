# COM1 output (polled), number formatting, check helpers, exits.
# Every routine preserves all general registers (outputs excepted).
.include "lib/defs.inc"

    .text
# ---------------------------------------------------------------- 32-bit
    .code32
    .globl serial_init32
serial_init32:
    push %eax
    push %edx
    call serial_drain32             # what the firmware left in the FIFO goes out first
    mov $COM1 + 1, %dx
    xor %al, %al
    out %al, %dx                # IER = 0
    mov $COM1 + 3, %dx
    mov $0x80, %al
    out %al, %dx                # LCR: DLAB
    mov $COM1 + 0, %dx
    mov $1, %al
    out %al, %dx                # divisor 1 = 115200 baud
    mov $COM1 + 1, %dx
    xor %al, %al
    out %al, %dx
    mov $COM1 + 3, %dx
    mov $0x03, %al
    out %al, %dx                # 8N1, DLAB off
    mov $COM1 + 2, %dx
    mov $0x07, %al
    out %al, %dx                # FIFO on, both cleared, RX trigger 1 byte
    mov $COM1 + 4, %dx
    mov $0x03, %al
    out %al, %dx                # DTR, RTS (OUT2 off: no IRQ)
    pop %edx
    pop %eax
    ret

    .globl putc32
putc32:                         # al = byte
    push %edx
    push %eax
    mov $COM1 + 5, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    pop %eax
    mov $COM1, %dx
    out %al, %dx
    pop %edx
    ret

    .globl puts32
puts32:                         # esi = NUL-terminated string
    push %esi
    push %eax
1:  lodsb
    test %al, %al
    jz 2f
    call putc32
    jmp 1b
2:  pop %eax
    pop %esi
    ret

    .globl puthex32
puthex32:                       # eax, printed as 0x<hex> without leading zeros
    push %eax
    push %ecx
    push %edx
    mov %eax, %edx
    mov $'0', %al
    call putc32
    mov $'x', %al
    call putc32
    mov $28, %ecx
1:  mov %edx, %eax              # skip leading zero digits (keep the last)
    shr %cl, %eax
    and $0xF, %eax
    jnz 2f
    sub $4, %ecx
    jnz 1b
2:  mov %edx, %eax
    shr %cl, %eax
    and $0xF, %eax
    add $'0', %al
    cmp $'9', %al
    jbe 3f
    add $('a' - '9' - 1), %al
3:  call putc32
    sub $4, %ecx
    jns 2b
    pop %edx
    pop %ecx
    pop %eax
    ret

    .globl putdec32
putdec32:                       # eax unsigned
    push %eax
    push %ecx
    push %edx
    push %ebx
    mov $10, %ebx
    xor %ecx, %ecx
1:  xor %edx, %edx
    div %ebx
    push %edx
    inc %ecx
    test %eax, %eax
    jnz 1b
2:  pop %eax
    add $'0', %al
    call putc32
    loop 2b
    pop %ebx
    pop %edx
    pop %ecx
    pop %eax
    ret

# check_eq32: esi = name; stack: 4(%esp) saved esi, 8 expected, 12 actual
    .globl check_eq32
check_eq32:
    push %eax
    call puts32
    mov 16(%esp), %eax
    cmp 12(%esp), %eax
    jne 1f
    PRINTLN32 ": ok"
    pop %eax
    ret
1:  PRINT32 ": FAIL got "
    call puthex32
    PRINT32 " want "
    mov 12(%esp), %eax
    call puthex32
    PRINTLN32 ""
    incl fail_count
    pop %eax
    ret

    .globl finish32
finish32:
    cmpl $0, fail_count
    jne 1f
    PRINTLN32 "PASS"
    jmp exit_pass32
1:  PRINTLN32 "FAIL"
    jmp exit_fail32

    .globl exit_pass32, exit_fail32
# Wait until the transmitter is empty (LSR.TEMT), at most ~1M polls: QEMU may
# still hold bytes it could not pass on when the guest exits.
    .globl serial_drain32
serial_drain32:
    push %eax
    push %ecx
    push %edx
    mov $COM1 + 5, %dx
    mov $1000000, %ecx
1:  in %dx, %al
    test $0x40, %al
    jnz 2f
    loop 1b
2:  pop %edx
    pop %ecx
    pop %eax
    ret

exit_pass32:
    call serial_drain32
    mov $DEBUG_EXIT, %dx
    xor %eax, %eax
    out %eax, %dx
1:  cli
    hlt
    jmp 1b
exit_fail32:
    call serial_drain32
    mov $DEBUG_EXIT, %dx
    mov $1, %eax
    out %eax, %dx
    jmp 1b

# ---------------------------------------------------------------- 64-bit
    .code64
    .globl putc, puts, puthex, puthex_n, putdec, putdec_signed
putc:                           # al = byte
    push %rdx
    push %rax
    mov $COM1 + 5, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    pop %rax
    mov $COM1, %dx
    out %al, %dx
    pop %rdx
    ret

puts:                           # rsi = NUL-terminated string
    push %rsi
    push %rax
1:  lodsb
    test %al, %al
    jz 2f
    call putc
    jmp 1b
2:  pop %rax
    pop %rsi
    ret

puthex:                         # rax, as 0x<hex> without leading zeros
    push %rax
    push %rcx
    mov %rax, %rcx
    mov $'0', %al
    call putc
    mov $'x', %al
    call putc
    mov %rcx, %rax
    mov $16, %ecx               # count significant digits
1:  cmp $1, %ecx
    je 2f
    push %rcx
    lea -4(,%rcx,4), %ecx
    push %rax
    shr %cl, %rax
    test $0xF, %al
    pop %rax
    pop %rcx
    jnz 2f
    dec %ecx
    jmp 1b
2:  call puthex_n
    pop %rcx
    pop %rax
    ret

puthex_n:                       # rax, exactly ecx hex digits (1..16), no prefix
    push %rax
    push %rcx
    push %rdx
    mov %rax, %rdx
    lea -4(,%rcx,4), %ecx
1:  mov %rdx, %rax
    shr %cl, %rax
    and $0xF, %eax
    add $'0', %al
    cmp $'9', %al
    jbe 2f
    add $('a' - '9' - 1), %al
2:  call putc
    sub $4, %ecx
    jns 1b
    pop %rdx
    pop %rcx
    pop %rax
    ret

putdec:                         # rax unsigned
    push %rax
    push %rcx
    push %rdx
    push %rbx
    mov $10, %ebx
    xor %ecx, %ecx
1:  xor %edx, %edx
    div %rbx
    push %rdx
    inc %ecx
    test %rax, %rax
    jnz 1b
2:  pop %rax
    add $'0', %al
    call putc
    loop 2b
    pop %rbx
    pop %rdx
    pop %rcx
    pop %rax
    ret

putdec_signed:                  # rax signed
    push %rax
    test %rax, %rax
    jns 1f
    push %rax
    mov $'-', %al
    call putc
    pop %rax
    neg %rax
1:  call putdec
    pop %rax
    ret

# ---- checks: print `name: ok` or `name: FAIL ...`, count failures ----
# check_flags (set by the CHECK_TILDE / CHECK_SOFT macros around a check):
#   bit 0: prefix the line with "~ " (implementation-dependent; not compared)
#   bit 1: a failure is reported but not counted (a known QEMU deviation)
    .globl check_begin, check_failed
check_begin:                    # rsi = name
    testb $1, check_flags(%rip)
    jz 1f
    push %rax
    mov $'~', %al
    call putc
    mov $' ', %al
    call putc
    pop %rax
1:  jmp puts

check_failed:
    testb $2, check_flags(%rip)
    jnz 1f
    incl fail_count(%rip)
1:  ret

# check_eq: rsi = name; stack: 8(%rsp) saved rsi, 16 expected, 24 actual
    .globl check_eq, check_range, check_true
check_eq:
    push %rax
    call check_begin
    mov 32(%rsp), %rax          # actual
    cmp 24(%rsp), %rax          # expected
    jne 1f
    PRINTLN ": ok"
    pop %rax
    ret
1:  PRINT ": FAIL got "
    call puthex
    PRINT " want "
    mov 24(%rsp), %rax
    call puthex
    PRINTLN ""
    call check_failed
    pop %rax
    ret

# check_range: rsi = name; stack: 16 hi, 24 lo, 32 actual
check_range:
    push %rax
    call check_begin
    mov 40(%rsp), %rax
    cmp 32(%rsp), %rax
    jb 1f
    cmp 24(%rsp), %rax
    ja 1f
    PRINTLN ": ok"
    pop %rax
    ret
1:  PRINT ": FAIL got "
    call putdec
    PRINT " want ["
    mov 32(%rsp), %rax
    call putdec
    PRINT ", "
    mov 24(%rsp), %rax
    call putdec
    PRINTLN "]"
    call check_failed
    pop %rax
    ret

# check_true: rsi = name, eax = 0/1
check_true:
    call check_begin
    test %eax, %eax
    jz 1f
    PRINTLN ": ok"
    ret
1:  PRINTLN ": FAIL"
    jmp check_failed

# ---- a spin lock for output from several CPUs ----
    .globl print_lock, print_unlock
print_lock:
    push %rax
1:  mov $1, %eax
    xchg %eax, print_lock_word(%rip)
    test %eax, %eax
    jz 2f
    pause
    jmp 1b
2:  pop %rax
    ret
print_unlock:
    movl $0, print_lock_word(%rip)
    ret

    .globl exit_pass, exit_fail
    .globl serial_drain
serial_drain:
    push %rax
    push %rcx
    push %rdx
    mov $COM1 + 5, %dx
    mov $1000000, %ecx
1:  in %dx, %al
    test $0x40, %al
    jnz 2f
    loop 1b
2:  pop %rdx
    pop %rcx
    pop %rax
    ret

exit_pass:
    call serial_drain
    mov $DEBUG_EXIT, %dx
    xor %eax, %eax
    out %eax, %dx
1:  cli
    hlt
    jmp 1b
exit_fail:
    call serial_drain
    mov $DEBUG_EXIT, %dx
    mov $1, %eax
    out %eax, %dx
    jmp 1b

    .data
    .balign 4
    .globl fail_count
fail_count: .long 0
    .globl check_flags
check_flags: .long 0
print_lock_word: .long 0
