/*
 * Records x87 results on the host for x87-host-vectors.txt (never run by the
 * tests). Reads "op fcw a.se a.sig b.se b.sig" lines (gen.mjs writes them),
 * loads b then a (a is ST0), runs op under fcw with all flags clear and prints
 * the two top registers, FSW and the memory operand afterwards.
 *   gcc -O1 -o host host.c && node gen.mjs add,mul,st64 7 400 | ./host
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
typedef struct __attribute__((packed)) { uint64_t sig; uint16_t se; } f80;
static f80 A, B, R1, R2; static uint16_t SW, CW; static f80 M;
#define PRE "fninit\n fldcw %[cw]\n fldt %[b]\n fldt %[a]\n fnclex\n"
#define POST "fnstsw %[sw]\n fnclex\n fstpt %[r1]\n fstpt %[r2]\n fninit\n"
#define MEMOP(name, ins) if(!strcmp(op,name)){ __asm__ volatile(PRE ins "\n" POST IOM); return; }
#define IOM : [sw]"=m"(SW), [r1]"=m"(R1), [r2]"=m"(R2), [m]"+m"(M) : [cw]"m"(CW), [a]"m"(A), [b]"m"(B) : "memory"
#define IO : [sw]"=m"(SW), [r1]"=m"(R1), [r2]"=m"(R2) : [cw]"m"(CW), [a]"m"(A), [b]"m"(B) : "memory"
#define OP2(name, ins) if(!strcmp(op,name)){ __asm__ volatile(PRE ins "\n" POST IO); return; }
void run(const char*op){
 OP2("add","fadd %%st(1),%%st") OP2("sub","fsub %%st(1),%%st") OP2("subr","fsubr %%st(1),%%st")
 OP2("mul","fmul %%st(1),%%st") OP2("div","fdiv %%st(1),%%st") OP2("divr","fdivr %%st(1),%%st")
 OP2("sqrt","fsqrt") OP2("rndint","frndint") OP2("scale","fscale") OP2("prem","fprem") OP2("prem1","fprem1")
 OP2("xtract","fxtract\n fxch %%st(2)\n fstp %%st(0)") OP2("com","fcom %%st(1)") OP2("ucom","fucom %%st(1)")
 OP2("tst","ftst") OP2("xam","fxam") OP2("chs","fchs") OP2("abs","fabs")
 OP2("f2xm1","f2xm1") OP2("yl2x","fyl2x\n fldz") OP2("yl2xp1","fyl2xp1\n fldz") OP2("patan","fpatan\n fldz")
 OP2("sin","fsin") OP2("cos","fcos") OP2("ptan","fptan\n fxch %%st(2)\n fstp %%st(0)") OP2("sincos","fsincos\n fxch %%st(2)\n fstp %%st(0)")
 MEMOP("st64","fstl %[m]") MEMOP("st32","fsts %[m]") MEMOP("ist16","fists %[m]") MEMOP("ist32","fistl %[m]") MEMOP("ist64","fld %%st(0)\n fistpll %[m]")
 MEMOP("istt16","fld %%st(0)\n fisttps %[m]") MEMOP("istt32","fld %%st(0)\n fisttpl %[m]") MEMOP("istt64","fld %%st(0)\n fisttpll %[m]") MEMOP("bstp","fld %%st(0)\n fbstp %[m]")
 MEMOP("ld64","fldl %[m]") MEMOP("ld32","flds %[m]") MEMOP("bld","fbld %[m]") MEMOP("ild64","fildll %[m]") MEMOP("ild16","filds %[m]") MEMOP("ild32","fildl %[m]")
 MEMOP("ldpi","fldpi") MEMOP("ldl2e","fldl2e") MEMOP("ldl2t","fldl2t") MEMOP("ldlg2","fldlg2") MEMOP("ldln2","fldln2") MEMOP("ld1","fld1") MEMOP("ldz","fldz")
 fprintf(stderr,"bad op %s\n",op); exit(1);
}
int main(){ char op[32]; unsigned cw, ase, bse; unsigned long long as, bs;
 while(scanf("%31s %x %x %llx %x %llx",op,&cw,&ase,&as,&bse,&bs)==6){
  CW=cw; A.se=ase; A.sig=as; B.se=bse; B.sig=bs; M.se=bse; M.sig=as; run(op);
  printf("%s %04x %04x %016llx %04x %016llx -> %04x %016llx %04x %016llx %04x %04x %016llx\n",op,cw,ase,as,bse,bs,R1.se,(unsigned long long)R1.sig,R2.se,(unsigned long long)R2.sig,SW,M.se,(unsigned long long)M.sig);
 } }
