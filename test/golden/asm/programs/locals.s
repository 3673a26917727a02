# mode: 64
# origin: 0x0
# Numeric local labels (1b, 1f), .L locals, forward references to labels and
# to constants, and immediates that are not known where they are written.
    xor ecx, ecx
1:  inc ecx
    cmp ecx, 10
    jne 1b
    jmp 1f
    nop
1:  jmp 2f
2:  loop 2b
    je 1b
    jmp .Lfar
    mov eax, later_const
    mov eax, OFFSET later
    add eax, OFFSET later
    add eax, fwd_diff
    cmp eax, 1
    .fill 200, 1, 0x90
.Lfar:
    ret
later:
    .long 0
later_const = 0x12
fwd_diff = .Lfar - later
