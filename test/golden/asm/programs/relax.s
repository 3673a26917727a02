# mode: 64
# Branch relaxation: short while the target is within -128..127 bytes of the
# end of the branch, long otherwise; a branch that grows can push another out
# of reach, so sizes settle over several rounds.
start:
    jmp fwd_short
    je fwd_short
    jne fwd_long
    jmp fwd_long
back:
    .fill 0x70, 1, 0x90
fwd_short:
    jb back
    jmp back
    loop fwd_short
    jrcxz back
    .fill 0x7b, 1, 0x90
fwd_long:
    call start
    jmp start
    ja edge
    .fill 0x7f, 1, 0xcc
edge:
    jg edge2
    .fill 0x7d, 1, 0xcc
    jl edge
edge2:
    ret
