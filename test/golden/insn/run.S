/* run_case(rec *r, void *code): load the machine state from the record,
 * jump to code (instruction bytes followed by "jmp [rip+0]; .quad harness_return"),
 * then store the state back into the record. Returns 0, or 1 after a fault
 * (the signal handler in gen.c fills the record from the ucontext and
 * redirects RIP to fault_resume). RSP is never loaded: the tested
 * instructions do not use it. */
#include "harness.h"
        .intel_syntax noprefix
        .text
        .globl run_case, harness_return, fault_resume
        .globl g_saved_rsp, g_state, g_code
run_case:
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        mov [rip+g_saved_rsp], rsp
        mov [rip+g_state], rdi
        mov [rip+g_code], rsi
        ldmxcsr [rdi+REC_MXCSR]
        movdqu xmm0,  [rdi+REC_XMM+16*0]
        movdqu xmm1,  [rdi+REC_XMM+16*1]
        movdqu xmm2,  [rdi+REC_XMM+16*2]
        movdqu xmm3,  [rdi+REC_XMM+16*3]
        movdqu xmm4,  [rdi+REC_XMM+16*4]
        movdqu xmm5,  [rdi+REC_XMM+16*5]
        movdqu xmm6,  [rdi+REC_XMM+16*6]
        movdqu xmm7,  [rdi+REC_XMM+16*7]
        movdqu xmm8,  [rdi+REC_XMM+16*8]
        movdqu xmm9,  [rdi+REC_XMM+16*9]
        movdqu xmm10, [rdi+REC_XMM+16*10]
        movdqu xmm11, [rdi+REC_XMM+16*11]
        movdqu xmm12, [rdi+REC_XMM+16*12]
        movdqu xmm13, [rdi+REC_XMM+16*13]
        movdqu xmm14, [rdi+REC_XMM+16*14]
        movdqu xmm15, [rdi+REC_XMM+16*15]
        push qword ptr [rdi+REC_RFLAGS]
        popfq
        mov rax, [rdi+REC_GPR+8*0]
        mov rcx, [rdi+REC_GPR+8*1]
        mov rdx, [rdi+REC_GPR+8*2]
        mov rbx, [rdi+REC_GPR+8*3]
        mov rbp, [rdi+REC_GPR+8*5]
        mov rsi, [rdi+REC_GPR+8*6]
        mov r8,  [rdi+REC_GPR+8*8]
        mov r9,  [rdi+REC_GPR+8*9]
        mov r10, [rdi+REC_GPR+8*10]
        mov r11, [rdi+REC_GPR+8*11]
        mov r12, [rdi+REC_GPR+8*12]
        mov r13, [rdi+REC_GPR+8*13]
        mov r14, [rdi+REC_GPR+8*14]
        mov r15, [rdi+REC_GPR+8*15]
        mov rdi, [rdi+REC_GPR+8*7]
        jmp qword ptr [rip+g_code]
harness_return:
        pushfq
        push rax
        mov rax, [rip+g_state]
        mov [rax+REC_GPR+8*1], rcx
        mov [rax+REC_GPR+8*2], rdx
        mov [rax+REC_GPR+8*3], rbx
        mov [rax+REC_GPR+8*5], rbp
        mov [rax+REC_GPR+8*6], rsi
        mov [rax+REC_GPR+8*7], rdi
        mov [rax+REC_GPR+8*8], r8
        mov [rax+REC_GPR+8*9], r9
        mov [rax+REC_GPR+8*10], r10
        mov [rax+REC_GPR+8*11], r11
        mov [rax+REC_GPR+8*12], r12
        mov [rax+REC_GPR+8*13], r13
        mov [rax+REC_GPR+8*14], r14
        mov [rax+REC_GPR+8*15], r15
        pop rcx
        mov [rax+REC_GPR+8*0], rcx
        pop rcx
        mov [rax+REC_RFLAGS], rcx
        cld
        movdqu [rax+REC_XMM+16*0],  xmm0
        movdqu [rax+REC_XMM+16*1],  xmm1
        movdqu [rax+REC_XMM+16*2],  xmm2
        movdqu [rax+REC_XMM+16*3],  xmm3
        movdqu [rax+REC_XMM+16*4],  xmm4
        movdqu [rax+REC_XMM+16*5],  xmm5
        movdqu [rax+REC_XMM+16*6],  xmm6
        movdqu [rax+REC_XMM+16*7],  xmm7
        movdqu [rax+REC_XMM+16*8],  xmm8
        movdqu [rax+REC_XMM+16*9],  xmm9
        movdqu [rax+REC_XMM+16*10], xmm10
        movdqu [rax+REC_XMM+16*11], xmm11
        movdqu [rax+REC_XMM+16*12], xmm12
        movdqu [rax+REC_XMM+16*13], xmm13
        movdqu [rax+REC_XMM+16*14], xmm14
        movdqu [rax+REC_XMM+16*15], xmm15
        stmxcsr [rax+REC_MXCSR]
        ldmxcsr [rip+g_default_mxcsr]
        mov rsp, [rip+g_saved_rsp]
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        xor eax, eax
        ret
fault_resume:
        cld
        ldmxcsr [rip+g_default_mxcsr]
        mov rsp, [rip+g_saved_rsp]
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        mov eax, 1
        ret

        .data
        .balign 8
g_saved_rsp:     .quad 0
g_state:         .quad 0
g_code:          .quad 0
g_default_mxcsr: .long 0x1f80
        .section .note.GNU-stack,"",@progbits
