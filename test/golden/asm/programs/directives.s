# mode: 64
# origin: 0x401000
# Data directives, alignment and fill in code and data, strings and escapes.
    .text
    .globl _start
_start:
    mov eax, OFFSET msg
    lea rsi, [rip+msg]
    mov ecx, msg_len
    mov edx, (msg_end - msg) / 2
    ret
    .align 16
aligned16:
    nop
    .p2align 5
aligned32:
    int3
    .balign 8, 0xcc
aligned8:
    .byte 1, 2, 0xff, -1, 'a', '\n'
    .word 0x1234, -2
    .short 7
    .long 0xdeadbeef, -1, msg - _start
    .int 42
    .quad 0x123456789abcdef0, -1, msg
    .ascii "ab\"c\\\t\x41\101"
    .asciz "zero"
    .string "str", "two"
    .fill 3, 2, 0x4142
    .fill 2, 8, 0x11223344
    .fill 4
    .space 5
    .space 3, 0x5a
    .skip 2, 0x33
    .zero 4
    .p2align 3,,4
    .p2align 4,0x90,15
tail:
    .org tail + 0x20, 0xee
end_text:

    .data
    .align 8
msg:
    .ascii "hello, world\n"
msg_end:
    .byte 0
msg_len = msg_end - msg
    .balign 4
table:
    .long _start, aligned16, aligned32, end_text
    .quad table, table + 8, . , . - table
    .word end_text - _start
    .bss
    .align 64
buffer:
    .zero 256
