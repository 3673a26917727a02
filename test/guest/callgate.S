# callgate: far CALL/JMP through call gates and far RET (SDM Vol.3A
# §5.8.2–5.8.6; Vol.2A CALL, JMP, RET).
#   32-bit protected mode (before long mode): a 32-bit call gate with DPL 3
#   and 2 parameters, called from ring 3 into ring-0 code: the handler runs on
#   the TSS's SS0:ESP0 with the caller's SS, ESP, the parameters (in order)
#   and CS:EIP pushed; `lret $8` returns to ring 3, restores the caller's
#   stack, releases the parameters and nulls ES (DPL 0 < CPL 3). A call
#   through a gate at the same privilege (nothing copied, no stack switch,
#   the instruction's offset ignored) and a jmp through a gate.
#   Long mode: a 64-bit call gate from ring 3 into 64-bit ring-0 code (RSP
#   from TSS.RSP0, SS a null selector with RPL 0, SS/RSP/CS/RIP in 8-byte
#   slots, nothing copied), `lretq` back; the same gate called and jumped
#   through at ring 0. Faults (vector, error code, RIP at the call, RSP/CS
#   unchanged): gate DPL < CPL, gate DPL < RPL, gate not present, jmp through
#   a gate to a more privileged segment, a 64-bit gate whose upper half has a
#   non-zero type, a 16-bit gate in IA-32e mode, a 64-bit gate to 32-bit code.
#   Also: TSS.RSP0 not 16-byte aligned is used as it is; the 64-bit gate
#   called from compatibility mode at ring 3 and `lretq` back to it; a gate
#   from ring 3 to conforming ring-0 code keeps CPL 3 and the stack (CS.RPL =
#   CPL: `~`, QEMU loads the DPL); more faults in the SDM's order: a null code
#   selector (#GP(0)); a not-present target (#NP(code selector) for call, and
#   for jmp `~`: QEMU raises #GP); privilege (jmp from ring 3) and the 64-bit
#   code requirement are checked before presence (#GP, not #NP); a
#   non-canonical 64-bit entry point is #GP(0) at the call with nothing pushed
#   (`~`: QEMU jumps there and faults on the fetch).
# Before long mode there is no IDT: a fault there triple-faults.
.include "lib/defs.inc"

# Our own GDT: the library's 16 entries, then these.
.set TSS32,     0x80            # 32-bit TSS (legacy protected mode), SS0:ESP0
.set CG32_U,    0x88            # 32-bit gate, DPL 3, 2 params -> KCODE32|3 : gate32_inner
.set CG32_K,    0x90            # 32-bit gate, DPL 0, 2 params -> KCODE32 : gate32_same
.set CG32_J,    0x98            # 32-bit gate, DPL 0 -> KCODE32 : jmp32_target
.set CG32_BACK, 0xA0            # 32-bit gate, DPL 3 -> KCODE32 : back32 (leave ring 3)
.set CG64_U,    0xB0            # 64-bit gate, DPL 3 -> KCODE64 : gate64_rec
.set CG64_K,    0xC0            # 64-bit gate, DPL 0 -> KCODE64 : gate64_rec
.set CG64_NP,   0xD0            # 64-bit gate, DPL 3, P = 0
.set CG64_BAD,  0xE0            # 64-bit gate, DPL 3, upper half type 0xC (must be 0)
.set CG64_J,    0xF0            # 64-bit gate, DPL 3 -> KCODE64 : jmp64_target
.set CG16,      0x100           # 16-bit gate (type 4), DPL 3: no such thing in IA-32e mode
.set CG64_TO32, 0x110           # 64-bit gate, DPL 3 -> KCODE32 (not 64-bit code)
.set KCONF64,   0x120           # 64-bit conforming code, DPL 0
.set CG64_CONF, 0x128           # 64-bit gate, DPL 3 -> KCONF64 : gate64_conf
.set CG64_NULL, 0x138           # 64-bit gate, DPL 3, null code selector
.set KCODE64NP, 0x148           # 64-bit code, DPL 0, P = 0
.set KCODE32NP, 0x150           # 32-bit code, DPL 0, P = 0
.set CG64_NPCS, 0x158           # 64-bit gate, DPL 3 -> KCODE64NP
.set CG64_32NP, 0x168           # 64-bit gate, DPL 3 -> KCODE32NP
.set CG64_NC,   0x178           # 64-bit gate, DPL 3 -> KCODE64 : non-canonical offset
.set CG_GDT_END, 0x188

.set GATE32,    0x8C00          # P=1, type 0xC (bits 15..8 of the word at +4)
.set GATE16,    0x8400          # P=1, type 4
.set DPL3,      0x6000
.set PARAM_MAGIC1, 0x11111111   # pushed first (deeper)
.set PARAM_MAGIC2, 0x22222222   # pushed second

    .text
    .code32
# edi = descriptor, eax = offset, ecx = code selector, edx = word at +4
# (P, DPL, type, parameter count); a 64-bit gate's upper half is zeroed.
make_gate32:
    mov %ax, (%edi)
    mov %cx, 2(%edi)
    mov %dx, 4(%edi)
    shr $16, %eax
    mov %ax, 6(%edi)
    ret

    .globl start32
start32:
    PRINTLN32 "callgate: damselfly guest test"
    # copy the library's GDT (its TSS descriptors are filled in by now)
    mov $gdt, %esi
    mov $cg_gdt, %edi
    mov $0x80, %ecx
    rep movsb
    # 32-bit TSS: base tss32, limit 0x67, type 9 (available 32-bit TSS)
    mov $tss32, %eax
    mov $cg_gdt + TSS32, %edi
    movw $0x67, (%edi)
    mov %ax, 2(%edi)
    shr $16, %eax
    mov %al, 4(%edi)
    movb $0x89, 5(%edi)
    movb $0, 6(%edi)
    mov %ah, 7(%edi)
    movl $tss32_stack_top, tss32 + 4        # ESP0
    movw $KDATA, tss32 + 8                  # SS0
    movw $0x68, tss32 + 0x66                # I/O map base beyond the limit
    # the gates
    mov $gate32_inner, %eax
    mov $(KCODE32 | 3), %ecx                # RPL 3: ignored, CS gets RPL = new CPL
    mov $(GATE32 | DPL3 | 2), %edx
    mov $cg_gdt + CG32_U, %edi
    call make_gate32
    mov $gate32_same, %eax
    mov $KCODE32, %ecx
    mov $(GATE32 | 2), %edx                 # 2 params: not copied at the same privilege
    mov $cg_gdt + CG32_K, %edi
    call make_gate32
    mov $jmp32_target, %eax
    mov $KCODE32, %ecx
    mov $GATE32, %edx
    mov $cg_gdt + CG32_J, %edi
    call make_gate32
    mov $back32, %eax
    mov $KCODE32, %ecx
    mov $(GATE32 | DPL3), %edx
    mov $cg_gdt + CG32_BACK, %edi
    call make_gate32
    # 64-bit gates (their targets are below 4 GiB: offset 63:32 = 0)
    mov $gate64_rec, %eax
    mov $KCODE64, %ecx
    mov $(GATE32 | DPL3), %edx
    mov $cg_gdt + CG64_U, %edi
    call make_gate32
    mov $gate64_rec, %eax
    mov $KCODE64, %ecx
    mov $GATE32, %edx
    mov $cg_gdt + CG64_K, %edi
    call make_gate32
    mov $gate64_rec, %eax
    mov $KCODE64, %ecx
    mov $(0x0C00 | DPL3), %edx              # P = 0
    mov $cg_gdt + CG64_NP, %edi
    call make_gate32
    mov $gate64_rec, %eax
    mov $KCODE64, %ecx
    mov $(GATE32 | DPL3), %edx
    mov $cg_gdt + CG64_BAD, %edi
    call make_gate32
    movl $0x00000C00, cg_gdt + CG64_BAD + 12 # upper half: type 0xC
    mov $jmp64_target, %eax
    mov $KCODE64, %ecx
    mov $(GATE32 | DPL3), %edx
    mov $cg_gdt + CG64_J, %edi
    call make_gate32
    mov $gate64_rec, %eax
    mov $KCODE64, %ecx
    mov $(GATE16 | DPL3), %edx
    mov $cg_gdt + CG16, %edi
    call make_gate32
    mov $gate64_rec, %eax
    mov $KCODE32, %ecx
    mov $(GATE32 | DPL3), %edx
    mov $cg_gdt + CG64_TO32, %edi
    call make_gate32
    movl $0x0000FFFF, cg_gdt + KCONF64
    movl $0x00AF9E00, cg_gdt + KCONF64 + 4  # P, DPL 0, code, conforming, readable, L
    mov $gate64_conf, %eax
    mov $KCONF64, %ecx
    mov $(GATE32 | DPL3), %edx
    mov $cg_gdt + CG64_CONF, %edi
    call make_gate32
    mov $gate64_rec, %eax
    xor %ecx, %ecx
    mov $(GATE32 | DPL3), %edx
    mov $cg_gdt + CG64_NULL, %edi
    call make_gate32
    movl $0x0000FFFF, cg_gdt + KCODE64NP
    movl $0x00AF1A00, cg_gdt + KCODE64NP + 4    # P = 0, DPL 0, code, L
    movl $0x0000FFFF, cg_gdt + KCODE32NP
    movl $0x00CF1A00, cg_gdt + KCODE32NP + 4    # P = 0, DPL 0, code, D
    mov $gate64_rec, %eax
    mov $KCODE64NP, %ecx
    mov $(GATE32 | DPL3), %edx
    mov $cg_gdt + CG64_NPCS, %edi
    call make_gate32
    mov $gate64_rec, %eax
    mov $KCODE32NP, %ecx
    mov $(GATE32 | DPL3), %edx
    mov $cg_gdt + CG64_32NP, %edi
    call make_gate32
    mov $gate64_rec, %eax
    mov $KCODE64, %ecx
    mov $(GATE32 | DPL3), %edx
    mov $cg_gdt + CG64_NC, %edi
    call make_gate32
    movl $0x00008000, cg_gdt + CG64_NC + 8      # offset 63:32: not canonical
    lgdt cg_gdt_ptr
    ljmp $KCODE32, $1f
1:  mov $KDATA, %eax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $TSS32, %ax
    ltr %ax

    # ---- same privilege: ring 0 -> ring 0 through a DPL 0 gate
    mov %esp, %ebx
    lcall $CG32_K, $0xDEAD                  # the offset is ignored
same32_ret:
    mov %esp, %ecx
    CHECK32 "call gate 32, same privilege: handler cs", rec_cs, $KCODE32
    CHECK32 "call gate 32, same privilege: handler ss unchanged", rec_ss, $KDATA
    mov %ebx, %eax
    sub $8, %eax
    CHECK32 "call gate 32, same privilege: handler esp (cs:eip only, no params)", rec_esp, %eax
    CHECK32 "call gate 32, same privilege: pushed eip", rec_w0, $same32_ret
    movzwl rec_w1, %eax
    CHECK32 "call gate 32, same privilege: pushed cs", %eax, $KCODE32
    CHECK32 "call gate 32, same privilege: esp after retf", %ecx, %ebx

    # ---- jmp through a gate at the same privilege
    mov %esp, %ebx
    movl $0, jmp_cs
    ljmp $CG32_J, $0xDEAD
    PRINTLN32 "jmp gate 32: FAIL fell through"
    incl fail_count
jmp32_back:
    CHECK32 "jmp gate 32, same privilege: cs", jmp_cs, $KCODE32
    CHECK32 "jmp gate 32, same privilege: esp unchanged", jmp_esp, %ebx

    # ---- ring 3 -> ring 0 through a DPL 3 gate with 2 parameters
    mov %esp, saved_esp
    mov $UDATA, %eax
    mov %ax, %ds
    mov %ax, %es
    pushl $UDATA
    pushl $user32_stack_top
    pushfl
    pushl $UCODE32
    pushl $user32
    iretl
back32:                                     # CPL 0 again, on SS0:ESP0
    mov %cs, %eax
    mov %eax, back_cs
    mov %esp, back_esp
    mov $KDATA, %eax
    mov %ax, %ds
    mov %ax, %es
    mov saved_esp, %esp
    CHECK32 "call gate 32, ring 3 -> 0: handler cs (rpl = new cpl)", rec_cs, $KCODE32
    CHECK32 "call gate 32, ring 3 -> 0: handler ss = tss.ss0", rec_ss, $KDATA
    CHECK32 "call gate 32, ring 3 -> 0: handler esp = tss.esp0 - 24", rec_esp, $(tss32_stack_top-24)
    CHECK32 "call gate 32, ring 3 -> 0: pushed eip", rec_w0, $user32_ret
    movzwl rec_w1, %eax
    CHECK32 "call gate 32, ring 3 -> 0: pushed cs", %eax, $UCODE32
    CHECK32 "call gate 32, ring 3 -> 0: copied parameter 2 (last pushed)", rec_w2, $PARAM_MAGIC2
    CHECK32 "call gate 32, ring 3 -> 0: copied parameter 1 (first pushed)", rec_w3, $PARAM_MAGIC1
    CHECK32 "call gate 32, ring 3 -> 0: pushed caller esp", rec_w4, $(user32_stack_top-8)
    movzwl rec_w5, %eax
    CHECK32 "call gate 32, ring 3 -> 0: pushed caller ss", %eax, $UDATA
    CHECK32 "retf 8 to ring 3: cs", u_cs, $UCODE32
    CHECK32 "retf 8 to ring 3: ss", u_ss, $UDATA
    CHECK32 "retf 8 to ring 3: esp restored, parameters released", u_esp, $user32_stack_top
    CHECK32 "retf 8 to ring 3: es (dpl 0) nulled", u_es, $0
    CHECK32 "retf 8 to ring 3: ds (dpl 3) kept", u_ds, $UDATA
    CHECK32 "call gate 32 back to ring 0: cs", back_cs, $KCODE32
    CHECK32 "call gate 32 back to ring 0: esp = tss.esp0 - 16", back_esp, $(tss32_stack_top-16)
    jmp enter_long_mode

# Ring 3, 32-bit code; DS = UDATA.
user32:
    pushl $PARAM_MAGIC1
    pushl $PARAM_MAGIC2
    lcall $(CG32_U | 3), $0xBEEF
user32_ret:
    mov %esp, u_esp
    mov %cs, %eax
    mov %eax, u_cs
    mov %ss, %eax
    mov %eax, u_ss
    mov %es, %eax
    mov %eax, u_es
    mov %ds, %eax
    mov %eax, u_ds
    lcall $(CG32_BACK | 3), $0

# Gate handlers (CPL 0, 32-bit): record the frame, return.
gate32_record:
    mov %cs, %eax
    mov %eax, rec_cs
    mov %ss, %eax
    mov %eax, rec_ss
    lea 4(%esp), %eax               # the handler's ESP (below our return address)
    mov %eax, rec_esp
    mov 4(%esp), %eax
    mov %eax, rec_w0
    mov 8(%esp), %eax
    mov %eax, rec_w1
    mov 12(%esp), %eax
    mov %eax, rec_w2
    mov 16(%esp), %eax
    mov %eax, rec_w3
    mov 20(%esp), %eax
    mov %eax, rec_w4
    mov 24(%esp), %eax
    mov %eax, rec_w5
    ret
gate32_same:
    call gate32_record
    lret
gate32_inner:
    call gate32_record
    mov $KDATA, %eax
    mov %ax, %es                    # nulled by the return to ring 3
    lret $8
jmp32_target:
    mov %esp, jmp_esp
    mov %cs, %eax
    mov %eax, jmp_cs
    jmp jmp32_back

# ---------------------------------------------------------------- long mode
    .code64
    .globl main
main:
    # ---- same privilege: ring 0 -> ring 0 through a 64-bit DPL 0 gate
    movq $0, g_rsp(%rip)
    mov %rsp, %rbx
    lcall *ptr_cg64k(%rip)
same64_ret:
    mov %rsp, %rcx
    CHECK "call gate 64, same privilege: handler cs", g_cs(%rip), $KCODE64
    CHECK "call gate 64, same privilege: handler ss unchanged", g_ss(%rip), $KDATA
    lea -16(%rbx), %rax
    CHECK "call gate 64, same privilege: handler rsp (8-byte cs:rip)", g_rsp(%rip), %rax
    lea same64_ret(%rip), %rax
    CHECK "call gate 64, same privilege: pushed rip", g_w0(%rip), %rax
    movzwl g_w1(%rip), %eax
    CHECK "call gate 64, same privilege: pushed cs", %rax, $KCODE64
    CHECK "call gate 64, same privilege: rsp after retfq", %rcx, %rbx

    # ---- jmp through a 64-bit gate at the same privilege
    mov %rsp, %rbx
    movq $0, jmp_cs(%rip)
    ljmp *ptr_cg64j(%rip)
    FAIL "jmp gate 64", "fell through"
jmp64_back:
    CHECK "jmp gate 64, same privilege: cs", jmp_cs(%rip), $KCODE64
    CHECK "jmp gate 64, same privilege: rsp unchanged", jmp_esp(%rip), %rbx

    # ---- ring 3 -> ring 0 through a 64-bit DPL 3 gate
    movq $0, g_rsp(%rip)
    xor %r12d, %r12d
    xor %r13d, %r13d
    lea user64(%rip), %rdi
    call run_user
    call kernel_segs
    CHECK "call gate 64, ring 3 -> 0: back by int 0x80", exc_vector(%rip), $0x80
    CHECK "call gate 64, ring 3 -> 0: handler cs", g_cs(%rip), $KCODE64
    CHECK "call gate 64, ring 3 -> 0: handler ss is null with rpl 0", g_ss(%rip), $0
    lea kstack0_top - 32(%rip), %rax
    CHECK "call gate 64, ring 3 -> 0: handler rsp = tss.rsp0 - 32", g_rsp(%rip), %rax
    lea user64_ret(%rip), %rax
    CHECK "call gate 64, ring 3 -> 0: pushed rip", g_w0(%rip), %rax
    movzwl g_w1(%rip), %eax
    CHECK "call gate 64, ring 3 -> 0: pushed cs", %rax, $UCODE64
    lea user_stack_top(%rip), %rax
    CHECK "call gate 64, ring 3 -> 0: pushed rsp (no parameters)", g_w2(%rip), %rax
    movzwl g_w3(%rip), %eax
    CHECK "call gate 64, ring 3 -> 0: pushed ss", %rax, $UDATA
    lea user_stack_top(%rip), %rax
    CHECK "retfq to ring 3: rsp restored", %r13, %rax
    CHECK "retfq to ring 3: cs", %r14, $UCODE64
    CHECK "retfq to ring 3: ss", %r15, $UDATA
    CHECK "retfq to ring 3: es (dpl 0) nulled", %rbx, $0

    # ---- the same with TSS.RSP0 not 16-byte aligned: used as it is (only
    # interrupt delivery aligns the new RSP)
    lea kstack0_top - 8(%rip), %rax
    mov %rax, tss + 4(%rip)
    movq $0, g_rsp(%rip)
    lea user64(%rip), %rdi
    call run_user
    call kernel_segs
    lea kstack0_top(%rip), %rax
    mov %rax, tss + 4(%rip)
    CHECK "call gate 64, rsp0 = 8 mod 16: back by int 0x80", exc_vector(%rip), $0x80
    lea kstack0_top - 8 - 32(%rip), %rax
    CHECK "call gate 64, rsp0 = 8 mod 16: handler rsp = tss.rsp0 - 32", g_rsp(%rip), %rax
    lea user_stack_top(%rip), %rax
    CHECK "call gate 64, rsp0 = 8 mod 16: pushed rsp", g_w2(%rip), %rax

    # ---- from compatibility mode at ring 3 through the 64-bit gate, lretq
    # back to compatibility mode
    movq $0, g_rsp(%rip)
    xor %ebp, %ebp
    TRY_BEGIN 1f
    lea user_compat(%rip), %rdi
    lea user_stack_top(%rip), %rsi
    mov $UCODE32, %edx
    call enter_user
1:  TRY_END
    call kernel_segs
    CHECK "call gate 64 from compat mode: back by int 0x80", exc_vector(%rip), $0x80
    CHECK "call gate 64 from compat mode: handler cs", g_cs(%rip), $KCODE64
    CHECK "call gate 64 from compat mode: handler ss is null", g_ss(%rip), $0
    lea kstack0_top - 32(%rip), %rax
    CHECK "call gate 64 from compat mode: handler rsp = tss.rsp0 - 32", g_rsp(%rip), %rax
    lea user_compat_ret(%rip), %rax
    CHECK "call gate 64 from compat mode: pushed rip", g_w0(%rip), %rax
    movzwl g_w1(%rip), %eax
    CHECK "call gate 64 from compat mode: pushed cs", %rax, $UCODE32
    lea user_stack_top(%rip), %rax
    CHECK "call gate 64 from compat mode: pushed rsp", g_w2(%rip), %rax
    movzwl g_w3(%rip), %eax
    CHECK "call gate 64 from compat mode: pushed ss", %rax, $UDATA
    mov %ebp, %ebp                  # low halves (written in compatibility mode)
    mov %ecx, %ecx
    mov %edx, %edx
    lea user_stack_top(%rip), %rax
    CHECK "retfq to compat mode: esp restored", %rbp, %rax
    CHECK "retfq to compat mode: cs", %rcx, $UCODE32
    CHECK "retfq to compat mode: ss", %rdx, $UDATA

    # ---- ring 3 through a gate to conforming ring-0 code: CPL stays 3, no
    # stack switch, CS gets RPL 3
    movq $0, g_rsp(%rip)
    lea user_conf(%rip), %rdi
    call run_user
    call kernel_segs
    CHECK "call gate 64 to conforming code: back by int 0x80", exc_vector(%rip), $0x80
    CHECK_SOFT CHECK "call gate 64 to conforming code: handler cs has rpl = cpl 3", g_cs(%rip), $(KCONF64 | 3)
    CHECK "call gate 64 to conforming code: handler ss unchanged", g_ss(%rip), $UDATA
    lea user_stack_top - 16(%rip), %rax
    CHECK "call gate 64 to conforming code: handler rsp (user stack)", g_rsp(%rip), %rax
    lea user_conf_ret(%rip), %rax
    CHECK "call gate 64 to conforming code: pushed rip", g_w0(%rip), %rax
    movzwl g_w1(%rip), %eax
    CHECK "call gate 64 to conforming code: pushed cs", %rax, $UCODE64
    lea user_stack_top(%rip), %rax
    CHECK "call gate 64 to conforming code: rsp after retfq", %r13, %rax
    CHECK "call gate 64 to conforming code: cs after retfq", %r14, $UCODE64

    # ---- faults
    lea user_gp_dpl(%rip), %rdi
    call run_user
    call kernel_segs
    lea user_gp_dpl(%rip), %rax
    CHECK_EXC "#GP call gate dpl 0 < cpl 3", $13, $CG64_K, %rax
    CHECK "#GP call gate dpl < cpl: saved cs", exc_cs(%rip), $UCODE64
    lea user_stack_top(%rip), %rax
    CHECK "#GP call gate dpl < cpl: rsp unchanged", exc_rsp(%rip), %rax

    TRY_BEGIN 1f
gp_rpl_insn:
    lcall *ptr_cg64k3(%rip)
1:  TRY_END
    CHECK_EXC "#GP call gate dpl 0 < rpl 3 (cpl 0)", $13, $CG64_K, $gp_rpl_insn

    lea user_null(%rip), %rdi
    call run_user
    call kernel_segs
    lea user_null(%rip), %rax
    CHECK_EXC "#GP call gate with a null code selector", $13, $0, %rax

    lea user_np(%rip), %rdi
    call run_user
    call kernel_segs
    lea user_np(%rip), %rax
    CHECK_EXC "#NP call gate not present", $11, $CG64_NP, %rax
    lea user_stack_top(%rip), %rax
    CHECK "#NP call gate not present: rsp unchanged", exc_rsp(%rip), %rax

    lea user_jmp(%rip), %rdi
    call run_user
    call kernel_segs
    lea user_jmp(%rip), %rax
    CHECK_EXC "#GP jmp through a gate to a more privileged segment", $13, $KCODE64, %rax
    CHECK "#GP jmp to a more privileged segment: saved cs", exc_cs(%rip), $UCODE64

    lea user_bad(%rip), %rdi
    call run_user
    call kernel_segs
    lea user_bad(%rip), %rax
    CHECK_EXC "#GP 64-bit call gate with a non-zero upper type", $13, $CG64_BAD, %rax

    TRY_BEGIN 1f
npcs_insn:
    lcall *ptr_cg64npcs(%rip)
1:  TRY_END
    CHECK_EXC "#NP call through a gate to a not-present code segment", $11, $KCODE64NP, $npcs_insn

    TRY_BEGIN 1f
npcsj_insn:
    ljmp *ptr_cg64npcs(%rip)
1:  TRY_END
    CHECK_SOFT CHECK_EXC "#NP jmp through a gate to a not-present code segment", $11, $KCODE64NP, $npcsj_insn

    lea user_jmp_np(%rip), %rdi
    call run_user
    call kernel_segs
    lea user_jmp_np(%rip), %rax
    CHECK_EXC "#GP (not #NP) jmp from ring 3 through a gate to a not-present ring-0 segment", $13, $KCODE64NP, %rax

    TRY_BEGIN 1f
np32_insn:
    lcall *ptr_cg64to32np(%rip)
1:  TRY_END
    CHECK_EXC "#GP (not #NP) 64-bit call gate to not-present 32-bit code", $13, $KCODE32NP, $np32_insn

    mov %rsp, %rbx
    TRY_BEGIN 1f
nc_insn:
    lcall *ptr_cg64nc(%rip)
1:  TRY_END
    CHECK_SOFT CHECK_EXC "#GP(0) 64-bit call gate with a non-canonical offset", $13, $0, $nc_insn
    CHECK_SOFT CHECK "64-bit call gate with a non-canonical offset: rsp unchanged", exc_rsp(%rip), %rbx

    TRY_BEGIN 1f
gp16_insn:
    lcall *ptr_cg16(%rip)
1:  TRY_END
    CHECK_EXC "#GP 16-bit call gate in ia-32e mode", $13, $CG16, $gp16_insn

    TRY_BEGIN 1f
gp32_insn:
    lcall *ptr_cg64to32(%rip)
1:  TRY_END
    CHECK_EXC "#GP 64-bit call gate to 32-bit code", $13, $KCODE32, $gp32_insn
    ret

kernel_segs:
    push %rax
    mov $KDATA, %eax
    mov %ax, %ds
    mov %ax, %es
    pop %rax
    ret

# Ring 3 (run_user: RSP = user_stack_top, DS = ES = UDATA).
user64:
    lcall *ptr_cg64u(%rip)
user64_ret:
    mov %rsp, %r13
    mov %cs, %r14d
    mov %ss, %r15d
    mov %es, %ebx
    int $0x80
user_conf:
    lcall *ptr_cg64conf(%rip)
user_conf_ret:
    mov %rsp, %r13
    mov %cs, %r14d
    int $0x80
user_gp_dpl:
    lcall *ptr_cg64k(%rip)
    int $0x80
user_null:
    lcall *ptr_cg64null(%rip)
    int $0x80
user_np:
    lcall *ptr_cg64np(%rip)
    int $0x80
user_jmp:
    ljmp *ptr_cg64j(%rip)
    int $0x80
user_jmp_np:
    ljmp *ptr_cg64npcs(%rip)
    int $0x80
user_bad:
    lcall *ptr_cg64bad(%rip)
    int $0x80

    .code32
user_compat:                        # ring 3, compatibility mode
    lcall $(CG64_U | 3), $0xBEEF
user_compat_ret:
    mov %esp, %ebp
    mov %cs, %ecx
    mov %ss, %edx
    int $0x80
    .code64

# 64-bit gate handler (CPL 0): record the frame, return.
gate64_rec:
    mov %rsp, g_rsp(%rip)
    mov (%rsp), %rax
    mov %rax, g_w0(%rip)
    mov 8(%rsp), %rax
    mov %rax, g_w1(%rip)
    mov 16(%rsp), %rax
    mov %rax, g_w2(%rip)
    mov 24(%rsp), %rax
    mov %rax, g_w3(%rip)
    mov %cs, %eax
    mov %rax, g_cs(%rip)
    mov %ss, %eax
    mov %rax, g_ss(%rip)
    mov $KDATA, %eax
    mov %ax, %es                    # nulled by a return to ring 3
    lretq
gate64_conf:                        # CPL 3 here
    mov %rsp, g_rsp(%rip)
    mov (%rsp), %rax
    mov %rax, g_w0(%rip)
    mov 8(%rsp), %rax
    mov %rax, g_w1(%rip)
    mov %cs, %eax
    mov %rax, g_cs(%rip)
    mov %ss, %eax
    mov %rax, g_ss(%rip)
    lretq
jmp64_target:
    mov %rsp, jmp_esp(%rip)
    mov %cs, %eax
    mov %rax, jmp_cs(%rip)
    jmp jmp64_back

    .data
    .balign 8
cg_gdt_ptr:
    .word CG_GDT_END - 1
    .quad cg_gdt
# far pointers m16:32; the offsets are ignored for a gate
ptr_cg64u:      .long 0xDEADBEEF
                .word CG64_U | 3
ptr_cg64k:      .long 0xDEADBEEF
                .word CG64_K
ptr_cg64k3:     .long 0xDEADBEEF
                .word CG64_K | 3
ptr_cg64np:     .long 0xDEADBEEF
                .word CG64_NP | 3
ptr_cg64bad:    .long 0xDEADBEEF
                .word CG64_BAD | 3
ptr_cg64j:      .long 0xDEADBEEF
                .word CG64_J | 3
ptr_cg64conf:   .long 0xDEADBEEF
                .word CG64_CONF | 3
ptr_cg64null:   .long 0xDEADBEEF
                .word CG64_NULL | 3
ptr_cg64npcs:   .long 0xDEADBEEF
                .word CG64_NPCS
ptr_cg64to32np: .long 0xDEADBEEF
                .word CG64_32NP
ptr_cg64nc:     .long 0xDEADBEEF
                .word CG64_NC
ptr_cg16:       .long 0xDEADBEEF
                .word CG16
ptr_cg64to32:   .long 0xDEADBEEF
                .word CG64_TO32

    .bss
    .balign 16
cg_gdt:     .skip CG_GDT_END
    .balign 16
tss32:      .skip 0x68
saved_esp:  .skip 4
back_cs:    .skip 4
back_esp:   .skip 4
u_esp:      .skip 4
u_cs:       .skip 4
u_ss:       .skip 4
u_es:       .skip 4
u_ds:       .skip 4
rec_cs:     .skip 4
rec_ss:     .skip 4
rec_esp:    .skip 4
rec_w0:     .skip 4
rec_w1:     .skip 4
rec_w2:     .skip 4
rec_w3:     .skip 4
rec_w4:     .skip 4
rec_w5:     .skip 4
    .balign 8
jmp_cs:     .skip 8
jmp_esp:    .skip 8
g_rsp:      .skip 8
g_w0:       .skip 8
g_w1:       .skip 8
g_w2:       .skip 8
g_w3:       .skip 8
g_cs:       .skip 8
g_ss:       .skip 8
    .balign 16
    .skip 4096
tss32_stack_top:
    .skip 4096
user32_stack_top:
