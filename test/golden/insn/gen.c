/* gen.c — native executor for the damselfly instruction golden data.
 *
 * Usage: gen IN.bin OUT.bin
 *   IN.bin is a sequence of REC_SIZE-byte records (layout in harness.h),
 *   written by cases.mjs. For each record: the instruction bytes are copied
 *   to an RWX page at CODE_BASE followed by "jmp [rip+0]; .quad
 *   harness_return"; the 128-byte scratch memory is copied to MEM_BASE;
 *   run_case (run.S) loads rax..r15 (not rsp), RFLAGS (popfq), xmm0..15 and
 *   MXCSR from the record, executes the instruction, and stores everything
 *   back. Faults (SIGFPE #DE, SIGSEGV, SIGILL, SIGBUS) are caught: the record
 *   gets the register state from the signal context and fault = signo.
 *   OUT.bin receives the updated records, in order.
 * Build: gcc -O1 -o gen gen.c run.S   (x86-64 Linux only)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include "harness.h"

typedef struct {
  uint8_t code[16];
  uint32_t codelen;
  uint32_t mxcsr;
  uint64_t gpr[16];
  uint64_t rflags;
  uint32_t fault;
  uint32_t flags;
  uint8_t xmm[16][16];
  uint8_t mem[MEM_SIZE];
} rec_t;

_Static_assert(__builtin_offsetof(rec_t, codelen) == REC_CODELEN, "layout");
_Static_assert(__builtin_offsetof(rec_t, mxcsr) == REC_MXCSR, "layout");
_Static_assert(__builtin_offsetof(rec_t, gpr) == REC_GPR, "layout");
_Static_assert(__builtin_offsetof(rec_t, rflags) == REC_RFLAGS, "layout");
_Static_assert(__builtin_offsetof(rec_t, fault) == REC_FAULT, "layout");
_Static_assert(__builtin_offsetof(rec_t, xmm) == REC_XMM, "layout");
_Static_assert(__builtin_offsetof(rec_t, mem) == REC_MEM, "layout");
_Static_assert(sizeof(rec_t) == REC_SIZE, "layout");

extern int run_case(rec_t *r, void *code);
extern char harness_return[], fault_resume[];
extern rec_t *g_state;

static const int greg_of[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                REG_R12, REG_R13, REG_R14, REG_R15};

static void on_fault(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  rec_t *r = g_state;
  for (int i = 0; i < 16; i++)
    if (i != 4) r->gpr[i] = (uint64_t)g[greg_of[i]];
  r->rflags = (uint64_t)g[REG_EFL];
  r->fault = (uint32_t)sig;
  if (uc->uc_mcontext.fpregs) {
    memcpy(r->xmm, uc->uc_mcontext.fpregs->_xmm, sizeof r->xmm);
    r->mxcsr = uc->uc_mcontext.fpregs->mxcsr;
    uc->uc_mcontext.fpregs->mxcsr = 0x1f80;
  }
  g[REG_EFL] &= ~(greg_t)0x400; /* DF */
  g[REG_RIP] = (greg_t)fault_resume;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s IN.bin OUT.bin\n", argv[0]);
    return 2;
  }
  uint8_t *code = mmap((void *)CODE_BASE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  uint8_t *mem = mmap((void *)MEM_BASE, 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != (void *)CODE_BASE || mem != (void *)MEM_BASE) {
    perror("mmap fixed");
    return 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);

  FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
  if (!in || !out) {
    perror("open");
    return 1;
  }
  rec_t r;
  long n = 0, faults = 0;
  while (fread(&r, sizeof r, 1, in) == 1) {
    if (r.codelen == 0 || r.codelen > 15) {
      fprintf(stderr, "record %ld: bad code length %u\n", n, r.codelen);
      return 1;
    }
    memset(code, 0xcc, 64);
    memcpy(code, r.code, r.codelen);
    uint8_t *p = code + r.codelen;
    static const uint8_t jmp[6] = {0xff, 0x25, 0, 0, 0, 0}; /* jmp [rip+0] */
    memcpy(p, jmp, 6);
    uint64_t ret = (uint64_t)(uintptr_t)harness_return;
    memcpy(p + 6, &ret, 8);
    memcpy(mem, r.mem, MEM_SIZE);
    r.fault = 0;
    r.rflags &= 0xcd7; /* CF PF AF ZF SF OF DF + fixed bit 1 only */
    r.rflags |= 2;
    if (run_case(&r, code)) faults++;
    memcpy(r.mem, mem, MEM_SIZE);
    if (fwrite(&r, sizeof r, 1, out) != 1) {
      perror("write");
      return 1;
    }
    n++;
  }
  if (fclose(out)) {
    perror("close");
    return 1;
  }
  fclose(in);
  fprintf(stderr, "gen: executed %ld cases (%ld faulted)\n", n, faults);
  return 0;
}
