# 64-bit IDT: a 16-byte stub for every vector, one common entry that saves the
# general registers and dispatches to
#   1. a handler installed with idt_set_handler (called with rdi = frame), else
#   2. the armed TRY (record the exception, resume at the TRY target), else
#   3. the fatal path: print vector, error code, RIP, CR2 and exit with 1.
.include "lib/defs.inc"

    .text
    .code64
    .balign 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .byte 0x68                  # push imm32: the vector (the CPU pushed an error code)
    .long vec
    .else
    .byte 0x6A, 0               # push $0: no error code
    .byte 0x68                  # push imm32: the vector
    .long vec
    .endif
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call dispatch
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq

dispatch:                       # rdi = frame
    movzbl F_VEC(%rdi), %eax
    lea handler_table(%rip), %rcx
    mov (%rcx,%rax,8), %rcx
    test %rcx, %rcx
    jz 1f
    jmp *%rcx
1:  mov try_rip(%rip), %rcx
    test %rcx, %rcx
    jz fatal
    mov %eax, exc_vector(%rip)
    mov F_ERR(%rdi), %rax
    mov %rax, exc_error(%rip)
    mov F_RIP(%rdi), %rax
    mov %rax, exc_rip(%rip)
    mov F_CS(%rdi), %rax
    mov %rax, exc_cs(%rip)
    mov F_RFLAGS(%rdi), %rax
    mov %rax, exc_rflags(%rip)
    mov F_RSP(%rdi), %rax
    mov %rax, exc_rsp(%rip)
    mov F_SS(%rdi), %rax
    mov %rax, exc_ss(%rip)
    mov %cr2, %rax
    mov %rax, exc_cr2(%rip)
    mov %rdi, exc_frame(%rip)
    incl exc_count(%rip)
    # resume at the TRY target
    mov %rcx, F_RIP(%rdi)
    mov try_rsp(%rip), %rax
    mov %rax, F_RSP(%rdi)
    mov try_cs(%rip), %rax
    mov %rax, F_CS(%rdi)
    mov try_rflags(%rip), %rax
    mov %rax, F_RFLAGS(%rdi)
    movq $KDATA, F_SS(%rdi)
    movq $0, try_rip(%rip)
    ret

fatal:
    mov %rdi, %rbx
    PRINT "unexpected exception: vector "
    mov F_VEC(%rbx), %rax
    call puthex
    PRINT " error "
    mov F_ERR(%rbx), %rax
    call puthex
    PRINT " rip "
    mov F_RIP(%rbx), %rax
    call puthex
    PRINT " cr2 "
    mov %cr2, %rax
    call puthex
    PRINT " cs "
    mov F_CS(%rbx), %rax
    call puthex
    PRINT " rsp "
    mov F_RSP(%rbx), %rax
    call puthex
    PRINTLN ""
    PRINTLN "FAIL"
    jmp exit_fail

# Fill the IDT: interrupt gates to the stubs, DPL 0, IST 0; #DF on IST1;
# vector 0x80 has DPL 3 (a way back from user mode under TRY). Then lidt.
    .globl idt_init, idt_load
idt_init:
    push %rax
    push %rcx
    push %rdx
    push %rdi
    lea idt(%rip), %rdi
    lea isr_stubs(%rip), %rdx
    xor %ecx, %ecx
1:  mov %edx, %eax
    mov %ax, (%rdi)                 # offset 15:0
    movw $KCODE64, 2(%rdi)
    movw $0x8E00, 4(%rdi)           # P, DPL 0, type E (interrupt gate), IST 0
    shr $16, %eax
    mov %ax, 6(%rdi)                # offset 31:16
    mov %rdx, %rax
    shr $32, %rax
    mov %eax, 8(%rdi)               # offset 63:32
    movl $0, 12(%rdi)
    add $16, %rdx
    add $16, %rdi
    inc %ecx
    cmp $256, %ecx
    jb 1b
    lea idt(%rip), %rdi
    movb $1, 8 * 16 + 4(%rdi)       # #DF: IST1
    movb $0xEE, 0x80 * 16 + 5(%rdi) # 0x80: DPL 3
    lea spurious(%rip), %rax
    mov %rax, handler_table + 8 * SPURIOUS_VEC(%rip)
    pop %rdi
    pop %rdx
    pop %rcx
    pop %rax
idt_load:
    lidt idt_ptr(%rip)
    ret

spurious:
    ret

# edi = vector, rsi = handler (0 to remove). The handler runs on the
# interrupted stack (or IST) with rdi = frame, may change the frame, and
# must `ret`; it sends any EOI itself.
    .globl idt_set_handler
idt_set_handler:
    push %rax
    lea handler_table(%rip), %rax
    mov %rsi, (%rax,%rdi,8)
    pop %rax
    ret

# edi = vector, esi = byte 5 of the gate (P | DPL << 5 | type), edx = IST
    .globl idt_set_attr
idt_set_attr:
    push %rax
    push %rdi
    shl $4, %edi
    lea idt(%rip), %rax
    add %rdi, %rax
    mov %sil, 5(%rax)
    mov %dl, 4(%rax)
    pop %rdi
    pop %rax
    ret

# check_exc: rsi = name; stack: 8 saved rsi, 16 rip, 24 error, 32 vector
# (an expected value of -1 matches anything). One line: ok, or what happened.
    .globl check_exc
check_exc:
    push %rax
    call check_begin
    mov exc_vector(%rip), %rax
    cmp 40(%rsp), %rax
    jne 1f
    cmpq $-1, 32(%rsp)
    je 2f
    mov exc_error(%rip), %rax
    cmp 32(%rsp), %rax
    jne 1f
2:  cmpq $-1, 24(%rsp)
    je 3f
    mov exc_rip(%rip), %rax
    cmp 24(%rsp), %rax
    jne 1f
3:  PRINTLN ": ok"
    pop %rax
    ret
1:  cmpq $NO_EXCEPTION, exc_vector(%rip)
    jne 4f
    PRINT ": FAIL no exception"
    jmp 5f
4:  PRINT ": FAIL vector "
    mov exc_vector(%rip), %rax
    call puthex
    PRINT " error "
    mov exc_error(%rip), %rax
    call puthex
    PRINT " rip "
    mov exc_rip(%rip), %rax
    call puthex
5:  PRINT ", want vector "
    mov 40(%rsp), %rax
    call puthex
    PRINT " error "
    mov 32(%rsp), %rax
    call puthex
    PRINT " rip "
    mov 24(%rsp), %rax
    call puthex
    PRINTLN ""
    call check_failed
    pop %rax
    ret

# ---- TRY support (see defs.inc) ----
    .globl try_arm, try_disarm
try_arm:                        # rax = target; caller pushed rax before calling
    push %rax
    mov %rax, try_rip(%rip)
    lea 24(%rsp), %rax          # caller's RSP before TRY_BEGIN
    mov %rax, try_rsp(%rip)
    mov %cs, %eax
    mov %rax, try_cs(%rip)
    pushfq
    pop %rax
    mov %rax, try_rflags(%rip)
    movl $NO_EXCEPTION, exc_vector(%rip)
    movq $0, exc_error(%rip)
    movq $0, exc_rip(%rip)
    movq $0, exc_cr2(%rip)
    pop %rax
    ret

try_disarm:
    movq $0, try_rip(%rip)
    ret

    .code32
    .globl try_arm32, try_disarm32
try_arm32:                      # eax = target; caller pushed eax before calling
    push %eax
    mov %eax, try_rip
    movl $0, try_rip + 4
    lea 12(%esp), %eax
    mov %eax, try_rsp
    movl $0, try_rsp + 4
    mov %cs, %eax
    mov %eax, try_cs
    movl $0, try_cs + 4
    pushfl
    pop %eax
    mov %eax, try_rflags
    movl $0, try_rflags + 4
    movl $NO_EXCEPTION, exc_vector
    movl $0, exc_error
    movl $0, exc_error + 4
    movl $0, exc_rip
    movl $0, exc_rip + 4
    pop %eax
    ret

try_disarm32:
    movl $0, try_rip
    movl $0, try_rip + 4
    ret

    .code64
# iretq to user mode: rdi = RIP, rsi = RSP, edx = CS (UCODE64 or UCODE32).
# Comes back only through an exception under TRY.
    .globl enter_user
enter_user:
    mov $UDATA, %eax
    mov %ax, %ds
    mov %ax, %es
    pushq $UDATA                # SS
    push %rsi                   # RSP
    pushfq
    andq $~0x40000, (%rsp)      # AC off unless the caller sets it in user mode
    push %rdx                   # CS
    push %rdi                   # RIP
    iretq

# rdi = user RIP: runs it at CPL 3 (64-bit code) on user_stack under TRY;
# comes back through the exception it raises (int $0x80 to come back on purpose).
# rbx, rcx, rbp, r8-r15 reach the user code unchanged.
    .globl run_user
run_user:
    TRY_BEGIN 1f
    lea user_stack_top(%rip), %rsi
    mov $UCODE64, %edx
    call enter_user
1:  TRY_END
    ret

    .data
    .balign 8
idt_ptr:
    .word 256 * 16 - 1
    .quad idt
    .globl exc_vector, exc_error, exc_rip, exc_cs, exc_rflags, exc_rsp, exc_cr2, exc_count, exc_frame
    .globl try_rip
exc_vector: .quad NO_EXCEPTION
exc_count:  .quad 0
exc_frame:  .quad 0
exc_error:  .quad 0
exc_rip:    .quad 0
exc_cs:     .quad 0
exc_rflags: .quad 0
exc_rsp:    .quad 0
exc_cr2:    .quad 0
exc_ss:     .quad 0
    .globl exc_ss
try_rip:    .quad 0
try_rsp:    .quad 0
try_cs:     .quad 0
try_rflags: .quad 0

    .bss
    .balign 4096
    .globl idt, handler_table
idt:            .skip 256 * 16
handler_table:  .skip 256 * 8
    .globl user_stack_top
    .skip 4096
user_stack_top:
