# mode: 64
# origin: 0x400000
# ld: --defsym=ext=0x400010
# What stays open for the linker: calls and jumps to global and undefined
# symbols, rip-relative and absolute references across sections, data
# pointing at labels, `sym - .`, symbol types and sizes.
    .text
    .globl gfunc
    .type gfunc, @function
lfunc:
    call ext
    call gfunc
    call lfunc
    jmp ext
    jmp gfunc
    je ext
    mov eax, OFFSET dat
    mov rax, OFFSET dat
    movabs rax, OFFSET dat
    lea rax, [rip+dat]
    lea rax, [rip+ext]
    lea rax, [rip+gfunc]
    lea rax, [rip+lfunc]
    mov eax, [rbx+dat]
    mov eax, dat
    mov rax, [rip+gdat+8]
    push OFFSET ext
    mov al, OFFSET ext - 0x400000
gfunc:
    ret
    .size gfunc, . - gfunc
    .data
dat:
    .long ext, dat, lfunc
    .quad ext + 4, gdat
    .long ext - .
    .long lfunc - .
    .word ext - 0x400000
    .byte ext - 0x400000
    .globl gdat
gdat: .quad 0
    .bss
bss1: .zero 8
