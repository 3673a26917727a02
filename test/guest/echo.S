# echo: an interactive COM1 echo for the terminal-console test (test/console.test.ts).
# Not a hardware check and not in runs.json: it never exits, it waits for keys.
# Letters come back upper-cased so the test can tell the guest's echo from any
# local echo of the terminal; Ctrl-C is answered with a line of its own, so the
# test sees it reached the guest instead of killing the emulator; other control
# bytes come back in caret notation (^A) so they are visible on the screen.
# Lines end in "\r\n" as on any serial console: COM1 may go to a file or a socket,
# where nothing turns "\n" into a new line at column 0.
.include "lib/defs.inc"

    .text
    .code64
    .globl main
main:
    PRINT "echo: damselfly console echo; type, and it comes back upper-cased\r\n"
1:  mov $COM1 + 5, %dx
    in %dx, %al
    test $1, %al                        # LSR.DR
    jz 1b                               # polled: the UART's IRQ is off (MCR.OUT2)
    mov $COM1, %dx
    in %dx, %al
    cmp $0x03, %al
    je 3f
    cmp $'\r', %al
    je 4f
    cmp $' ', %al
    jb 5f
    cmp $'a', %al
    jb 2f
    cmp $'z', %al
    ja 2f
    sub $0x20, %al
2:  call putc
    jmp 1b
3:  PRINT "\r\n^C received\r\n"
    jmp 1b
4:  PRINT "\r\n"
    jmp 1b
5:  mov %al, %cl
    mov $'^', %al
    call putc
    mov %cl, %al
    add $0x40, %al
    call putc
    jmp 1b
