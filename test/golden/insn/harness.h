/* Shared record layout between gen.c (C), run.S (asm) and cases.mjs (Node).
 * Keep the three in sync: cases.mjs hard-codes the same offsets. */
#define REC_CODE     0    /* u8[16]  instruction bytes                      */
#define REC_CODELEN  16   /* u32     number of instruction bytes            */
#define REC_MXCSR    20   /* u32                                           */
#define REC_GPR      24   /* u64[16] rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
#define REC_RFLAGS   152  /* u64                                           */
#define REC_FAULT    160  /* u32     0 = none, else signal number           */
#define REC_FLAGS    164  /* u32     reserved                               */
#define REC_XMM      168  /* u8[16][16] xmm0..xmm15, little-endian          */
#define REC_MEM      424  /* u8[128] scratch memory mapped at MEM_BASE      */
#define REC_SIZE     552
#define MEM_SIZE     128
#define MEM_BASE     0x10000000
#define CODE_BASE    0x20000000
