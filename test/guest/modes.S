# modes: the operating-mode transitions, each announced and checked:
#   32-bit protected (multiboot) -> 64-bit long mode -> compatibility mode ->
#   64-bit -> compatibility -> 32-bit protected, paging off -> 16-bit
#   protected -> real mode (segment:offset addressing, an IVT interrupt) ->
#   32-bit protected -> exit.
# The same probe bytes (dec eax / REX.W; nop; ret) run in every mode and leave
# a mode-specific EAX: 0xFFFF (16-bit), 0xFFFFFFFF (32-bit), 0 (64-bit).
.include "lib/defs.inc"

.set BLOB, 0x7000                   # the real-mode code runs here (CS = 0x0700)
.set BLOB_SEG, BLOB >> 4
.set RSTACK, 0x6FF0                 # real-mode stack (SS = 0)
.set RVEC, 0x60                     # the IVT vector we install
.set ALIAS_A, 0x12350               # 0x1234:0x0010 = 0x1235:0x0000
.set ALIAS_B, 0x12360               # written flat, read as 0x1000:0x2360

    .text
    .code32
probe32:                            # eax must be 0
    .byte 0x48, 0x90, 0xC3

    .globl start32
start32:
    PRINTLN32 "modes: damselfly guest test"
    PRINTLN32 "mode: protected32 (multiboot entry)"
    mov %cr0, %eax
    and $0x80000001, %eax
    CHECK32 "protected32: cr0.pe=1 cr0.pg=0", %eax, $1
    mov %cs, %eax
    CHECK32 "protected32: cs", %eax, $KCODE32
    xor %eax, %eax
    call probe32
    CHECK32 "protected32: probe", %eax, $0xFFFFFFFF
    jmp enter_long_mode             # -> main

    .code64
probe64:
    .byte 0x48, 0x90, 0xC3

    .globl main
main:
    PRINTLN "mode: long64"
    mov $MSR_EFER, %ecx
    rdmsr
    shr $10, %eax
    and $1, %eax
    CHECK "long64: efer.lma", %rax, $1
    xor %eax, %eax
    call probe64
    CHECK "long64: probe", %rax, $0
    mov $0x123456789, %rax          # 64-bit registers
    shr $32, %rax
    CHECK "long64: 64-bit register", %rax, $1
    # far return into compatibility mode
    pushq $KCODE32
    lea compat1(%rip), %rax
    push %rax
    lretq

    .code32
compat1:
    PRINTLN32 "mode: compat32"
    mov $MSR_EFER, %ecx
    rdmsr
    shr $10, %eax
    and $1, %eax
    CHECK32 "compat32: efer.lma", %eax, $1
    mov %cs, %eax
    CHECK32 "compat32: cs", %eax, $KCODE32
    xor %eax, %eax
    call probe32
    CHECK32 "compat32: probe", %eax, $0xFFFFFFFF
    ljmp $KCODE64, $long2

    .code64
long2:
    PRINTLN "mode: long64 (back from compat32)"
    xor %eax, %eax
    call probe64
    CHECK "long64: probe again", %rax, $0
    # leave long mode: compatibility mode first, then paging off
    pushq $KCODE32
    lea leave_long(%rip), %rax
    push %rax
    lretq

    .code32
leave_long:
    mov %cr0, %eax
    and $~0x80000000, %eax
    mov %eax, %cr0                  # IA-32e mode off (LMA = 0)
    mov $MSR_EFER, %ecx
    rdmsr
    and $~0x100, %eax               # LME off
    wrmsr
    mov $KDATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    PRINTLN32 "mode: protected32 (paging off)"
    mov %cr0, %eax
    and $0x80000001, %eax
    CHECK32 "protected32: cr0.pe=1 cr0.pg=0 again", %eax, $1
    mov $MSR_EFER, %ecx
    rdmsr
    and $0x500, %eax
    CHECK32 "protected32: efer.lme=0 lma=0", %eax, $0
    xor %eax, %eax
    call probe32
    CHECK32 "protected32: probe again", %eax, $0xFFFFFFFF

    # prepare real mode: the blob below 1 MiB, its data cleared, a flat value
    # to read through segment arithmetic, the 16-bit code segment's base
    mov $blob_start, %esi
    mov $BLOB, %edi
    mov $(blob_end - blob_start), %ecx
    rep movsb
    movl $0x5EA15EA1, ALIAS_B
    movl $0, ALIAS_A
    mov $gdt + KCODE16, %edi
    movw $BLOB & 0xFFFF, 2(%edi)    # base 15:0
    movb $BLOB >> 16, 4(%edi)       # base 23:16
    mov $0xFF, %al                  # no device interrupts in real mode
    out %al, $0x21
    out %al, $0xA1
    mov %esp, saved_esp
    lidt real_idt_ptr
    ljmp $KCODE16, $0               # 16-bit protected mode, at the blob's start

back32:                             # from real mode (CS = KCODE32, PE = 1)
    mov $KDATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov saved_esp, %esp
    PRINTLN32 "mode: protected32 (from real mode)"
    mov %cr0, %eax
    and $0x80000001, %eax
    CHECK32 "protected32: cr0.pe=1 from real mode", %eax, $1
    # what the real-mode code recorded
    mov $BLOB, %ebx
    mov (r_cr0 - blob_start)(%ebx), %eax
    and $1, %eax
    CHECK32 "real16: cr0.pe=0", %eax, $0
    mov (r_probe - blob_start)(%ebx), %eax
    CHECK32 "real16: probe", %eax, $0xFFFF
    mov ALIAS_A, %eax
    CHECK32 "real16: write 0x1234:0x0010 lands at 0x12350", %eax, $0xCAFEF00D
    mov (r_alias_a - blob_start)(%ebx), %eax
    CHECK32 "real16: read back as 0x1235:0x0000", %eax, $0xCAFEF00D
    mov (r_alias_b - blob_start)(%ebx), %eax
    CHECK32 "real16: 0x1000:0x2360 reads flat 0x12360", %eax, $0x5EA15EA1
    movzwl (r_int_ran - blob_start)(%ebx), %eax
    CHECK32 "real16: int 0x60 ran the IVT handler", %eax, $0x1234
    movzwl (r_int_ip - blob_start)(%ebx), %eax
    CHECK32 "real16: pushed IP is after the int", %eax, $(after_int - blob_start)
    movzwl (r_int_cs - blob_start)(%ebx), %eax
    CHECK32 "real16: pushed CS", %eax, $BLOB_SEG
    movzwl (r_int_fl - blob_start)(%ebx), %eax
    and $0x0200, %eax
    CHECK32 "real16: IF clear in the handler", %eax, $0
    movzwl (r_int_pushed_fl - blob_start)(%ebx), %eax
    and $0x0200, %eax
    CHECK32 "real16: pushed FLAGS has IF set", %eax, $0x0200
    movzwl (r_ax_after - blob_start)(%ebx), %eax
    CHECK32 "real16: iret returned to the caller", %eax, $0x4321
    jmp finish32

# ------------------------------------------------- copied to 0x7000 and run there
    .code16
blob_start:                         # 16-bit protected mode, CS base = 0x7000
    mov $KDATA16, %ax               # 64 KiB limits for real mode
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov %cr0, %eax
    and $~1, %eax
    mov %eax, %cr0                  # PE off
    ljmp $BLOB_SEG, $(real_entry - blob_start)
real_entry:
    xor %ax, %ax
    mov %ax, %ss
    mov $RSTACK, %sp
    mov $BLOB_SEG, %ax
    mov %ax, %ds
    mov $(s_real - blob_start), %si
    call puts16
    mov %cr0, %eax
    mov %eax, r_cr0 - blob_start
    xor %eax, %eax
    call probe16
    mov %eax, r_probe - blob_start
    # segment:offset addressing
    mov $0x1234, %ax
    mov %ax, %es
    movl $0xCAFEF00D, %es:0x10
    mov $0x1235, %ax
    mov %ax, %fs
    mov %fs:0, %eax
    mov %eax, r_alias_a - blob_start
    mov $0x1000, %ax
    mov %ax, %gs
    mov %gs:0x2360, %eax
    mov %eax, r_alias_b - blob_start
    # an interrupt through the IVT
    xor %ax, %ax
    mov %ax, %es
    movw $(rhandler - blob_start), %es:(RVEC * 4)
    movw $BLOB_SEG, %es:(RVEC * 4 + 2)
    mov $0x4321, %ax
    sti                             # IF=1 at the int (the 8259s are masked)
    int $RVEC
after_int:
    cli
    mov %ax, r_ax_after - blob_start
    mov $(s_back - blob_start), %si
    call puts16
    # back to protected mode
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $KCODE32, $back32

rhandler:
    push %bp
    mov %sp, %bp
    mov 2(%bp), %dx
    mov %dx, %cs:(r_int_ip - blob_start)
    mov 4(%bp), %dx
    mov %dx, %cs:(r_int_cs - blob_start)
    mov 6(%bp), %dx
    mov %dx, %cs:(r_int_pushed_fl - blob_start)
    pushf
    pop %dx
    mov %dx, %cs:(r_int_fl - blob_start)
    movw $0x1234, %cs:(r_int_ran - blob_start)
    pop %bp
    iret

probe16:
    .byte 0x48, 0x90, 0xC3

putc16:                             # al
    push %dx
    push %ax
    mov $COM1 + 5, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    pop %ax
    mov $COM1, %dx
    out %al, %dx
    pop %dx
    ret

puts16:                             # ds:si
    push %si
    push %ax
1:  lodsb
    test %al, %al
    jz 2f
    call putc16
    jmp 1b
2:  pop %ax
    pop %si
    ret

s_real: .asciz "mode: real16\n"
s_back: .asciz "real16: back to protected mode\n"
    .balign 4
r_cr0:      .long 0
r_probe:    .long 0
r_alias_a:  .long 0
r_alias_b:  .long 0
r_int_ran:  .word 0
r_int_ip:   .word 0
r_int_cs:   .word 0
r_int_fl:   .word 0
r_ax_after: .word 0
r_int_pushed_fl: .word 0
blob_end:

    .data
    .balign 8
real_idt_ptr:
    .word 0x3FF
    .long 0
saved_esp: .long 0
