# mode: 64
# origin: 0x1000
# Expressions: GNU as's operators and precedence, symbols assigned with =,
# .equ and .set (and redefined), the location counter, label differences.
A = 3
B = A * 4 + 1
.equ C, (B << 2) | 1
.set D, ~C & 0xff
.set E, -A % 2
.set F, 100 / 7
.set G, 1 + 2 & 3
.set H, 0x10 >> 2 ^ 1
.set I, 1 < 2
.set J, (3 == 3) + (3 != 3) + (2 >= 3) + (2 <= 3)
.set K, 1 && 0 || 1
.set L, 0b1010 + 017 + 0x1f + 'A'
start:
    mov eax, A
    mov eax, B
    mov eax, C
    mov eax, D
    mov eax, E
    mov eax, F
    mov eax, G
    mov eax, H
    mov eax, I
    mov eax, J
    mov eax, K
    mov eax, L
    mov eax, here - start
here:
    mov ecx, . - start
    add rax, (after - start) * 2
    .set count, 0
    .set count, count + 1
    .set count, count + 1
    mov edx, count
    mov DWORD PTR [rbx + A * 4], B
    mov al, [rip + start]
    mov rax, [rip + after + 4]
    cmp BYTE PTR [rip + here], -1
    mov rsi, OFFSET start + 0x10
    mov ebx, OFFSET after
    push OFFSET here
after:
    .long . - start, after - here, A * B
