/** General-purpose register numbers in ModRM/REX encoding order (SDM Vol.2A §2.1.5). */
export const enum R {
  AX = 0, CX, DX, BX, SP, BP, SI, DI, R8, R9, R10, R11, R12, R13, R14, R15,
}

/** Segment registers in ModRM.reg / prefix order (SDM Vol.2A §3.4.2). */
export const enum Seg { ES = 0, CS, SS, DS, FS, GS, None = 7 }

export const GPR64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
export const GPR32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
export const GPR16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
/** Byte registers by decoded code: 0..15 as with REX, 16..19 are AH CH DH BH (no REX). */
export const GPR8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b', 'ah', 'ch', 'dh', 'bh'];
export const SEGS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
