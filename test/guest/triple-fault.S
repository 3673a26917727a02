# triple-fault: print, then fault with an empty IDT: #UD cannot be delivered
# (#GP), nor can that (#DF), nor that: shutdown. With QEMU's -no-reboot the
# machine exits with status 0 and the transcript ends with the "faulting now"
# line. Without it the machine resets and boots the kernel again; a byte of
# CMOS NVRAM (0x7F, which neither QEMU nor SeaBIOS use, kept over a reset)
# tells the second boot, which prints `rebooted`, clears the byte and passes.
.include "lib/defs.inc"

.set NVRAM_BYTE, 0x7F
.set MAGIC, 0xA5

    .text
    .code64
    .globl main
main:
    PRINTLN "triple-fault: damselfly guest test"
    mov $NVRAM_BYTE, %al
    call cmos_read
    cmp $MAGIC, %al
    je second_boot
    mov $NVRAM_BYTE, %al
    mov $MAGIC, %ah
    call cmos_write
    mov $NVRAM_BYTE, %al
    call cmos_read
    movzbl %al, %eax
    CHECK "cmos: nvram byte 0x7f holds the boot mark", %rax, $MAGIC
    cmpl $0, fail_count(%rip)
    jne 1f
    PRINTLN "triple-fault: faulting now (a shutdown, or a reset and a second boot)"
    call serial_drain
    lidt empty_idt(%rip)
    ud2
1:  PRINTLN "triple-fault: FAIL still running after the fault"
    incl fail_count(%rip)
    ret

second_boot:
    PRINTLN "rebooted"
    mov $NVRAM_BYTE, %al
    xor %ah, %ah
    call cmos_write
    mov $NVRAM_BYTE, %al
    call cmos_read
    movzbl %al, %eax
    CHECK "cmos: boot mark cleared", %rax, $0
    ret

cmos_read:                          # al = index -> al
    out %al, $CMOS_IDX
    in $CMOS_DATA, %al
    ret
cmos_write:                         # al = index, ah = value
    out %al, $CMOS_IDX
    mov %ah, %al
    out %al, $CMOS_DATA
    ret

    .data
    .balign 8
empty_idt:
    .word 0
    .quad 0
