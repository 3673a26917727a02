# Multiboot v1 entry: 32-bit protected mode -> own GDT -> UART -> `start32`
# (a program may define it; the default goes straight on) -> page tables ->
# long mode -> IDT/TSS -> `main` (64-bit, provided by the program) -> finish.
.include "lib/defs.inc"

.set MB_MAGIC, 0x1BADB002
.set MB_FLAGS, 0x00000003          # page-align modules, want memory info
.set PTE_P, 1
.set PTE_W, 2
.set PTE_U, 4
.set PTE_PWT, 8
.set PTE_PCD, 0x10
.set PTE_PS, 0x80

    .section .multiboot, "a"
    .balign 4
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

    .text
    .code32
    .globl _start
_start:
    cli
    cld
    mov %eax, mb_magic
    mov %ebx, mb_info
    # clear .bss (the loader zero-fills it too, but do not rely on it)
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    call gdt_init32
    lgdt gdt_ptr
    ljmp $KCODE32, $1f
1:  mov $KDATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $stack_top, %esp
    call serial_init32
    cmpl $0x2BADB002, mb_magic
    je 2f
    PRINTLN32 "boot: FAIL not entered by a multiboot loader (EAX != 0x2BADB002)"
    PRINTLN32 "FAIL"
    jmp exit_fail32
2:  jmp start32

# Default start32: nothing to do in 32-bit mode.
    .weak start32
start32:
    jmp enter_long_mode

# Build the GDT's runtime entries (TSS descriptors need the TSS address).
gdt_init32:
    # TSS: base tss, limit 0x67, type 9 (available 64-bit TSS), P=1
    mov $tss, %eax
    mov $gdt + TSS_SEL, %edi
    mov $0x67, %ecx
    call set_tss_desc32
    mov $tss2, %eax
    mov $gdt + TSS2_SEL, %edi
    mov $0x53, %ecx                 # covers RSP0..IST6, not IST7 (0x5C..0x63)
    call set_tss_desc32
    ret

# eax = base, ecx = limit (< 64 KiB), edi = descriptor address
set_tss_desc32:
    mov %cx, (%edi)
    mov %ax, 2(%edi)
    mov %eax, %edx
    shr $16, %edx
    mov %dl, 4(%edi)
    movb $0x89, 5(%edi)
    movb $0, 6(%edi)
    mov %dh, 7(%edi)
    movl $0, 8(%edi)
    movl $0, 12(%edi)
    ret

# Identity-map 0..4 GiB with 2 MiB pages (U/S=1, R/W=1); the APIC/IOAPIC
# region 0xFEC00000..0xFEFFFFFF uncached. Tables are in .bss (zeroed).
    .globl build_page_tables32
build_page_tables32:
    push %edi
    push %ecx
    push %eax
    push %edx
    mov $pml4, %edi
    mov $pdpt, %eax
    or $(PTE_P | PTE_W | PTE_U), %eax
    mov %eax, (%edi)
    # pdpt[0..3] -> pd0..pd3
    mov $pdpt, %edi
    mov $pd, %eax
    or $(PTE_P | PTE_W | PTE_U), %eax
    mov $4, %ecx
1:  mov %eax, (%edi)
    add $0x1000, %eax
    add $8, %edi
    loop 1b
    # 2048 PDEs
    mov $pd, %edi
    xor %edx, %edx                   # physical address >> 21... as a full address
    mov $2048, %ecx
2:  mov %edx, %eax
    or $(PTE_P | PTE_W | PTE_U | PTE_PS), %eax
    cmp $0xFEC00000, %edx
    jb 3f
    cmp $0xFF000000, %edx
    jae 3f
    or $(PTE_PCD | PTE_PWT), %eax
3:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $0x200000, %edx
    add $8, %edi
    loop 2b
    pop %edx
    pop %eax
    pop %ecx
    pop %edi
    ret

# 32-bit protected mode (paging off) -> 64-bit long mode -> main.
    .globl enter_long_mode
enter_long_mode:
    call build_page_tables32
    call enable_long_mode32
    ljmp $KCODE64, $long64

# Turn on PAE, EFER.LME (+NXE where offered), CR0.PG. The caller far-jumps to
# a 64-bit code segment next. CR4.OSFXSR/OSXMMEXCPT and CR0.MP/NE are set so
# that SSE and x87 work the usual way.
    .globl enable_long_mode32
enable_long_mode32:
    push %eax
    push %ecx
    push %edx
    push %ebx
    mov %cr4, %eax
    or $(0x20 | 0x200 | 0x400), %eax       # PAE, OSFXSR, OSXMMEXCPT
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0x80000001, %eax
    cpuid
    mov %edx, %ebx
    mov $MSR_EFER, %ecx
    rdmsr
    or $0x100, %eax                         # LME
    test $(1 << 20), %ebx
    jz 1f
    or $0x800, %eax                         # NXE
1:  wrmsr
    mov %cr0, %eax
    and $~0x4, %eax                         # EM off
    or $(0x80000000 | 0x20 | 0x2 | 0x1), %eax   # PG, NE, MP, PE
    mov %eax, %cr0
    pop %ebx
    pop %edx
    pop %ecx
    pop %eax
    ret

    .code64
long64:
    mov $KDATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $stack_top, %esp
    call idt_init
    call tss_init
    call main
    jmp finish

# TSS fields and ltr (the BSP only).
tss_init:
    lea kstack0_top(%rip), %rax
    mov %rax, tss+4(%rip)                   # RSP0
    lea ist1_top(%rip), %rax
    mov %rax, tss+0x24(%rip)                # IST1: #DF
    lea ist2_top(%rip), %rax
    mov %rax, tss+0x2C(%rip)                # IST2: NMI / spare
    movw $0x68, tss+0x66(%rip)              # I/O map base beyond the limit: no bitmap
    lea kstack0_top(%rip), %rax
    mov %rax, tss2+4(%rip)
    mov $TSS_SEL, %ax
    ltr %ax
    ret

# Print PASS/FAIL by fail_count and exit through the debug-exit port.
    .globl finish
finish:
    cmpl $0, fail_count(%rip)
    jne 1f
    PRINTLN "PASS"
    jmp exit_pass
1:  PRINTLN "FAIL"
    jmp exit_fail

    .data
    .balign 8
    .globl gdt, gdt_ptr, mb_magic, mb_info
gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        # 0x08 KCODE64
    .quad 0x00CF92000000FFFF        # 0x10 KDATA
    .quad 0x00CF9A000000FFFF        # 0x18 KCODE32
    .quad 0x00009A000000FFFF        # 0x20 KCODE16
    .quad 0x000092000000FFFF        # 0x28 KDATA16
    .quad 0x00CFFA000000FFFF        # 0x30 UCODE32
    .quad 0x00CFF2000000FFFF        # 0x38 UDATA
    .quad 0x00AFFA000000FFFF        # 0x40 UCODE64
    .quad 0, 0                      # 0x48 TSS
    .quad 0, 0                      # 0x58 TSS2
    .quad 0x00CF12000000FFFF        # 0x68 NPDATA (P=0)
    .quad 0                         # 0x70 spare
    .quad 0                         # 0x78 spare
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt
mb_magic: .long 0
mb_info:  .long 0

    .bss
    .balign 4096
    .globl pml4, pdpt, pd, tss, tss2, stack_top, kstack0_top, ist1_top, ist2_top
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4 * 4096
tss:    .skip 0x68
        .balign 16
tss2:   .skip 0x68
        .balign 16
        .skip 16384
stack_top:
        .skip 8192
kstack0_top:
        .skip 8192
ist1_top:
        .skip 4096
ist2_top:
