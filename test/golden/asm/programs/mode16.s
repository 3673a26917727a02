# mode: 16
# origin: 0x7c00
# Real-mode code as a boot sector or the AP trampoline has it: 16-bit
# addressing, far jumps, switches to 32- and 64-bit code, data words.
start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    mov si, OFFSET msg
1:  lodsb
    test al, al
    jz 2f
    mov ah, 0x0e
    int 0x10
    jmp 1b
2:  lgdt [gdtr]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp 0x08:pm
    mov eax, DWORD PTR [bx+si+4]
    mov word ptr [bp-2], 0x1234
    mov [di], al
    les bx, [bx]
    push 0x1234
    pushd 0x12345678
    call start
    loop start
    .code32
pm:
    mov ax, 0x10
    mov ds, ax
    mov esp, 0x90000
    lea eax, [ebx+ecx*4+0x100]
    jmp 0x18:lm
    .code64
lm:
    mov rax, 0x123456789
    jmp lm
    .p2align 3
gdtr:
    .word gdt_end - gdt - 1
    .long gdt
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff
    .quad 0x00cf92000000ffff
    .quad 0x00af9a000000ffff
gdt_end:
msg:
    .asciz "boot\r\n"
    .org start + 510
    .word 0xaa55
