/**
 * The linux-user runtime, in assembly for tools/asm: process start-up (a
 * private stack whose low end is the exhaustion limit), linear memory (a
 * PROT_NONE reservation of the maximum size, committed by mprotect as it
 * grows, so the base never moves), buffered stdout, the `sys` imports and
 * the trap handler. Compiled code calls into it with the wasm calling
 * convention (arguments at [rsp+8+8i], results written back there) or, for
 * the helpers, with registers as documented per routine.
 */
import { Trap, trapMessageData } from './ops.js';

/** Bytes of the wasm stack; its lowest 64 KiB stay free for the runtime (the trap handler, syscalls). */
export const STACK_BYTES = 8 << 20;

/**
 * `main` is called on the new stack and may return; then the process exits
 * with status 0 after flushing.
 */
export function runtime(main: string): string {
  return `
  .text
_start:
  mov eax, 9
  xor edi, edi
  mov esi, ${STACK_BYTES}
  mov edx, 3
  mov r10d, 0x4022
  mov r8, -1
  xor r9d, r9d
  syscall
  lea rsp, [rax+${STACK_BYTES}]
  lea rcx, [rax+65536]
  mov qword ptr [rip+__stack_limit], rcx
  call ${main}
  xor edi, edi
  jmp __exit

# exit(edi) after flushing stdout.
__exit:
  push rdi
  call __flush
  pop rdi
  mov eax, 231
  syscall
  hlt

# __mem_new(rdi = memory object, esi = initial pages, edx = max pages <= 65536): reserve max, commit initial.
__mem_new:
  push rdi
  push rsi
  mov qword ptr [rdi+16], rdx
  mov rsi, rdx
  shl rsi, 16
  add rsi, 4096
  call __reserve
  pop rsi
  pop rdi
  cmp rax, -4096
  ja __oom
  mov qword ptr [rdi], rax
  mov qword ptr [rdi+8], 0
  call __mem_grow
  cmp eax, -1
  je __oom
  ret
# __reserve(rsi = bytes) -> rax: address space nothing may touch yet (PROT_NONE, MAP_NORESERVE), or -errno.
__reserve:
  xor edi, edi
  xor edx, edx
  mov r10d, 0x4022
  mov r8, -1
  xor r9d, r9d
  mov eax, 9
  syscall
  ret
__oom:
  mov edi, 99
  jmp __exit

# __mem_grow(rdi = memory object, esi = delta pages) -> eax = old size in pages, or -1.
__mem_grow:
  mov r8, qword ptr [rdi+8]
  shr r8, 16
  mov r10d, esi
  add r10, r8
  cmp r10, qword ptr [rdi+16]
  ja 1f
  mov eax, r8d
  test esi, esi
  jz 2f
  mov r9, rdi
  mov rdi, r8
  shl rdi, 16
  add rdi, qword ptr [r9]
  mov esi, esi
  shl rsi, 16
  mov edx, 3
  mov eax, 10
  syscall
  test rax, rax
  jnz 1f
  shl r10, 16
  mov qword ptr [r9+8], r10
  mov eax, r8d
2:
  ret
1:
  mov eax, -1
  ret

# __table_new(rdi = table object, esi = initial elements, edx = maximum elements): like a memory,
# the entries are reserved whole (PROT_NONE) so they never move, and committed as the table grows.
__table_new:
  push rdi
  push rsi
  mov qword ptr [rdi+16], rdx
  lea rsi, [rdx*8+4096]
  call __reserve
  pop rsi
  pop rdi
  cmp rax, -4096
  ja __oom
  mov qword ptr [rdi], rax
  mov qword ptr [rdi+8], 0
  xor edx, edx
  call __table_grow
  cmp eax, -1
  je __oom
  ret

# __table_grow(rdi = table object, esi = delta, rdx = reference for the new entries) -> eax = old size,
# or -1 beyond the maximum or when mprotect fails. Preserves every other register, so that compiled
# code can call it from the middle of an operator.
__table_grow:
  push rcx
  push rdx
  push rsi
  push rdi
  push r8
  push r9
  push r11
  mov r9, rdi
  mov r8, qword ptr [rdi+8]
  mov esi, esi
  add rsi, r8
  cmp rsi, qword ptr [r9+16]
  ja 1f
  mov rdi, qword ptr [r9]
  shl rsi, 3
  add rsi, 4095
  and rsi, -4096
  mov edx, 3
  mov eax, 10
  syscall
  test rax, rax
  jnz 1f
  mov rdi, qword ptr [r9]
  lea rdi, [rdi+r8*8]
  mov ecx, dword ptr [rsp+32]
  add qword ptr [r9+8], rcx
  mov rax, qword ptr [rsp+40]
  rep stosq
  mov eax, r8d
  jmp 2f
1:
  mov eax, -1
2:
  pop r11
  pop r9
  pop r8
  pop rdi
  pop rsi
  pop rdx
  pop rcx
  ret

# __wasm_wait32/64(rdi = the cell's address, rsi = expected value, rdx = timeout in ns, negative for
# none) -> eax = 0 woken, 1 not equal, 2 timed out: memory.atomic.wait on a private futex. The kernel
# compares the cell and sleeps atomically; wait64 compares the whole cell first and then sleeps on its
# low half, which is atomic only because this target has a single thread. EINTR counts as woken.
# Clobbers rcx, rdx, rsi, r10, r11 (compiled code spills its cached values first).
__wasm_wait64:
  cmp qword ptr [rdi], rsi
  je __wasm_wait32
  mov eax, 1
  ret
__wasm_wait32:
  sub rsp, 24
  xor r10d, r10d
  test rdx, rdx
  js 1f
  mov rax, rdx
  xor edx, edx
  mov ecx, 1000000000
  div rcx
  mov qword ptr [rsp], rax
  mov qword ptr [rsp+8], rdx
  mov r10, rsp
1:
  mov edx, esi
  mov esi, 128
  mov eax, 202
  syscall
  add rsp, 24
  mov ecx, eax
  mov eax, 1
  cmp ecx, -11
  je 2f
  mov eax, 2
  cmp ecx, -110
  je 2f
  xor eax, eax
2:
  ret

# __wasm_notify(rdi = the cell's address, esi = count) -> eax = waiters woken. Counts of 2^31 and
# more mean all, which the futex spells INT_MAX. Clobbers rcx, rdx, rsi, r11.
__wasm_notify:
  mov edx, 0x7fffffff
  cmp esi, edx
  cmovb edx, esi
  mov esi, 129
  mov eax, 202
  syscall
  ret

# __put(rsi = bytes, rdx = length <= 4096): append to the stdout buffer.
__put:
  mov rax, qword ptr [rip+__out_len]
  add rax, rdx
  cmp rax, 4096
  jbe 1f
  push rsi
  push rdx
  call __flush
  pop rdx
  pop rsi
1:
  lea rdi, [rip+__out_buf]
  add rdi, qword ptr [rip+__out_len]
  mov rcx, rdx
  rep movsb
  add qword ptr [rip+__out_len], rdx
  ret

# __put_hex(rdi): 16 hex digits.
__put_hex:
  sub rsp, 24
  mov ecx, 16
1:
  mov eax, edi
  and eax, 15
  cmp eax, 10
  jb 2f
  add eax, 39
2:
  add eax, 48
  mov byte ptr [rsp+rcx-1], al
  shr rdi, 4
  dec ecx
  jnz 1b
  mov rsi, rsp
  mov edx, 16
  call __put
  add rsp, 24
  ret

# __put_dec(rdi): unsigned decimal.
__put_dec:
  sub rsp, 40
  mov rax, rdi
  lea rsi, [rsp+32]
  mov ecx, 10
1:
  xor edx, edx
  div rcx
  add edx, 48
  dec rsi
  mov byte ptr [rsi], dl
  test rax, rax
  jnz 1b
  lea rdx, [rsp+32]
  sub rdx, rsi
  call __put
  add rsp, 40
  ret

# __put_str(rsi = NUL-terminated string).
__put_str:
  xor edx, edx
1:
  cmp byte ptr [rsi+rdx], 0
  je 2f
  inc rdx
  jmp 1b
2:
  jmp __put

# __flush: write the whole stdout buffer to fd 1.
__flush:
  lea rsi, [rip+__out_buf]
  mov rdx, qword ptr [rip+__out_len]
1:
  test rdx, rdx
  jz 2f
  mov edi, 1
  mov eax, 1
  push rsi
  push rdx
  syscall
  pop rdx
  pop rsi
  test rax, rax
  jle 2f
  add rsi, rax
  sub rdx, rax
  jmp 1b
2:
  mov qword ptr [rip+__out_len], 0
  ret

# sys.write(fd, buf, len) -> i32, in the wasm convention; r15 is the caller's memory base.
__sys_write:
  mov edi, dword ptr [rsp+8]
  mov esi, dword ptr [rsp+16]
  add rsi, r15
  mov edx, dword ptr [rsp+24]
  mov eax, 1
  syscall
  mov dword ptr [rsp+8], eax
  ret

# sys.exit(code)
__sys_exit:
  mov edi, dword ptr [rsp+8]
  and edi, 255
  jmp __exit

# A function that does nothing: spectest's print_*.
__nop:
  ret

# __wasm_trap(edi = kind, esi = function index or -1 for instantiation).
# With a resume point set (the spec driver), prints "trap KIND FUNC" on stdout and resumes there;
# otherwise writes "wasm trap: MESSAGE in function N" to stderr and exits with 100 + kind.
__wasm_trap:
  mov r12d, edi
  mov r13d, esi
  mov rax, qword ptr [rip+__trap_resume]
  test rax, rax
  jz 1f
  lea rsi, [rip+__s_trap]
  call __put_str
  mov edi, r12d
  call __put_dec
  lea rsi, [rip+__s_space]
  call __put_str
  mov edi, r13d
  call __put_dec
  lea rsi, [rip+__s_nl]
  call __put_str
  call __flush
  mov rsp, qword ptr [rip+__trap_rsp]
  mov rax, qword ptr [rip+__trap_resume]
  mov qword ptr [rip+__trap_resume], 0
  jmp rax
1:
  and rsp, -16
  call __flush
  lea rsi, [rip+__s_wasmtrap]
  call __put_str
  lea rax, [rip+__trapmsgs]
  mov rsi, qword ptr [rax+r12*8]
  call __put_str
  lea rsi, [rip+__s_infunc]
  call __put_str
  movsxd rdi, r13d
  call __put_dec
  lea rsi, [rip+__s_nl]
  call __put_str
  mov edi, 2
  lea rsi, [rip+__out_buf]
  mov rdx, qword ptr [rip+__out_len]
  mov eax, 1
  syscall
  mov qword ptr [rip+__out_len], 0
  lea edi, [r12+100]
  jmp __exit

  .data
  .balign 8
__stack_limit: .quad 0
__trap_resume: .quad 0
__trap_rsp: .quad 0
__out_len: .quad 0
${trapMessageData()}
__s_trap: .asciz " trap "
__s_space: .asciz " "
__s_nl: .asciz "\\n"
__s_wasmtrap: .asciz "wasm trap: "
__s_infunc: .asciz " in function "
__out_buf: .zero 4096
`;
}

export { Trap };
