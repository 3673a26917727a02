# mode: 32
# origin: 0x100000
# 32-bit code as a multiboot entry has it: a header, a stack, the switch to
# long mode; relaxation with alignment in between.
    .align 4
header:
    .long 0x1badb002, 0x00010003, -(0x1badb002 + 0x00010003)
    .long header, start, 0, 0, start
start:
    mov esp, OFFSET stack_top
    push 0
    popf
    push ebx
    push eax
    mov eax, cr4
    or eax, 1 << 5
    mov cr4, eax
    mov ecx, 0xc0000080
    rdmsr
    or eax, 1 << 8
    wrmsr
    test DWORD PTR [esp], 1
    jz .Lskip
    .p2align 6
.Lskip:
    mov eax, [esp+4*2]
    rep stosd
    cld
    jmp start
    .bss
    .align 16
stack:
    .skip 4096
stack_top:
