/**
 * The one canonical BPF instruction formatter, in the kernel verifier-log
 * syntax of kernel/bpf/disasm.c print_bpf_insn() (also what `bpftool prog
 * dump xlated` prints). Errors, logs and golden files all use it.
 *
 *   idx: (code) text                    formatProg() lines
 *   0: (b7) r0 = 1
 *   1: (18) r1 = 0x1234                 ld_imm64 takes slots 1 and 2
 *   3: (79) r2 = *(u64 *)(r10 -8)
 *   4: (2d) if r1 > r2 goto pc+1
 *   5: (85) call bpf_ktime_get_ns#5
 *   6: (95) exit
 *
 * Kernel conventions kept: ALU immediates in signed decimal (`r0 += -1`),
 * jump immediates as u32 hex (`if r1 > 0xffffffff goto pc+3`), offsets with
 * an explicit sign (`(r10 -8)`, `pc+0`), byte swaps always on `r` registers,
 * 32-bit atomics print `atomic_`, 64-bit `atomic64_`.
 *
 * Operands the kernel resolves through callbacks (cb_call, cb_imm) come from
 * {@link FormatOptions}; without them the text is what bpftool prints for the
 * raw instruction: `map[fd:N]` for a map fd, `map[fd:N][0]+off` for a map
 * value, `map[idx:N]`, `map[idx:N]+off`, `subprog[+N]` for a function
 * pointer, `ksym[btf_id:N]` for a kernel variable, `kernel-function` for a
 * kfunc. Opcodes no instruction has print as `BUG_<class>_<code>`, like the
 * kernel's BUG_ld_/BUG_st_ lines.
 */
import { funcIdName } from "./func_ids.js";
import { ldImm64Value, type Insn } from "./insn.js";
import {
  BPF_ADD,
  BPF_AND,
  BPF_ARSH,
  BPF_CMPXCHG,
  BPF_CLASS,
  BPF_DIV,
  BPF_FETCH,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JLE,
  BPF_JLT,
  BPF_JNE,
  BPF_JSET,
  BPF_JSGE,
  BPF_JSGT,
  BPF_JSLE,
  BPF_JSLT,
  BPF_LSH,
  BPF_MOD,
  BPF_MOV,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE,
  BPF_RSH,
  BPF_SUB,
  BPF_XCHG,
  BPF_XOR,
  opInfo,
  type AccessSize,
} from "./opcodes.js";

/** Callbacks that name what the instruction alone cannot (kernel struct bpf_insn_cbs). */
export interface FormatOptions {
  /** Name of the kfunc a `BPF_PSEUDO_KFUNC_CALL` calls (cb_call), e.g. "bpf_throw". */
  kfuncName?: (insn: Insn) => string | undefined;
  /** Text of a ld_imm64 operand (cb_imm), e.g. "map[id:5]"; undefined falls back to the default. */
  immName?: (insn: Insn, fullImm: bigint, next: Insn) => string | undefined;
}

const CLASS_NAMES = ["ld", "ldx", "st", "stx", "alu", "jmp", "jmp32", "alu64"];

const ALU_STRINGS: Record<number, string> = {
  [BPF_ADD]: "+=",
  [BPF_SUB]: "-=",
  [BPF_MUL]: "*=",
  [BPF_DIV]: "/=",
  [BPF_OR]: "|=",
  [BPF_AND]: "&=",
  [BPF_LSH]: "<<=",
  [BPF_RSH]: ">>=",
  [BPF_MOD]: "%=",
  [BPF_XOR]: "^=",
  [BPF_MOV]: "=",
  [BPF_ARSH]: "s>>=",
};

const JMP_STRINGS: Record<number, string> = {
  [BPF_JEQ]: "==",
  [BPF_JGT]: ">",
  [BPF_JLT]: "<",
  [BPF_JGE]: ">=",
  [BPF_JLE]: "<=",
  [BPF_JSET]: "&",
  [BPF_JNE]: "!=",
  [BPF_JSGT]: "s>",
  [BPF_JSLT]: "s<",
  [BPF_JSGE]: "s>=",
  [BPF_JSLE]: "s<=",
};

const ATOMIC_NAMES: Record<number, string> = { [BPF_ADD]: "add", [BPF_AND]: "and", [BPF_OR]: "or", [BPF_XOR]: "xor" };

/** `%+d`: "+0", "-8". */
function signed(n: number): string {
  return n < 0 ? `${n}` : `+${n}`;
}

function hex2(code: number): string {
  return code.toString(16).padStart(2, "0");
}

function u(size: AccessSize): string {
  return `u${size * 8}`;
}

function bug(insn: Insn): string {
  return `BUG_${CLASS_NAMES[BPF_CLASS(insn.code)]}_${hex2(insn.code)}`;
}

function formatAlu(insn: Insn, width: 32 | 64, op: number, x: boolean): string {
  const r = width === 32 ? "w" : "r";
  if (op === BPF_NEG) return `${r}${insn.dst} = -${r}${insn.dst}`;
  const sdiv = (op === BPF_DIV || op === BPF_MOD) && insn.off === 1;
  const opStr = sdiv ? (op === BPF_DIV ? "s/=" : "s%=") : ALU_STRINGS[op];
  if (!x) return `${r}${insn.dst} ${opStr} ${insn.imm}`;
  const movsx = op === BPF_MOV && (insn.off === 8 || insn.off === 16 || insn.off === 32) ? `(s${insn.off})` : "";
  return `${r}${insn.dst} ${opStr} ${movsx}${r}${insn.src}`;
}

function formatAtomic(insn: Insn, size: 4 | 8): string {
  const mem = `(${u(size)} *)(r${insn.dst} ${signed(insn.off)})`;
  const w = size === 8 ? "64" : "";
  const op = insn.imm;
  if (op === BPF_ADD || op === BPF_AND || op === BPF_OR || op === BPF_XOR) {
    return `lock *${mem} ${ALU_STRINGS[op]} r${insn.src}`;
  }
  if ((op & BPF_FETCH) !== 0 && ATOMIC_NAMES[op & ~BPF_FETCH] !== undefined) {
    return `r${insn.src} = atomic${w}_fetch_${ATOMIC_NAMES[op & ~BPF_FETCH]}(${mem}, r${insn.src})`;
  }
  if (op === BPF_CMPXCHG) return `r0 = atomic${w}_cmpxchg(${mem}, r0, r${insn.src})`;
  if (op === BPF_XCHG) return `r${insn.src} = atomic${w}_xchg(${mem}, r${insn.src})`;
  return bug(insn);
}

function defaultImmName(insn: Insn, full: bigint, next: Insn): string {
  switch (insn.src) {
    case BPF_PSEUDO_MAP_FD:
      return `map[fd:${insn.imm}]`;
    case BPF_PSEUDO_MAP_VALUE:
      return `map[fd:${insn.imm}][0]+${next.imm}`;
    case BPF_PSEUDO_MAP_IDX:
      return `map[idx:${insn.imm}]`;
    case BPF_PSEUDO_MAP_IDX_VALUE:
      return `map[idx:${insn.imm}]+${next.imm}`;
    case BPF_PSEUDO_FUNC:
      return `subprog[${signed(insn.imm)}]`;
    case BPF_PSEUDO_BTF_ID:
      return `ksym[btf_id:${insn.imm}]`;
    default:
      return `0x${full.toString(16)}`;
  }
}

function formatLdImm64(insns: readonly Insn[], i: number, opts: FormatOptions): string {
  const insn = insns[i];
  const full = ldImm64Value(insns, i);
  if (full === undefined) return `r${insn.dst} = <truncated ld_imm64>`;
  const next = insns[i + 1];
  return `r${insn.dst} = ${opts.immName?.(insn, full, next) ?? defaultImmName(insn, full, next)}`;
}

function formatCall(insn: Insn, opts: FormatOptions): string {
  if (insn.src === BPF_PSEUDO_CALL) return `call pc${signed(insn.imm)}`;
  if (insn.src === BPF_PSEUDO_KFUNC_CALL) return `call ${opts.kfuncName?.(insn) ?? "kernel-function"}#${insn.imm}`;
  return `call ${insn.src === 0 ? funcIdName(insn.imm) : "unknown"}#${insn.imm}`;
}

/**
 * The verifier-log text of the instruction at slot `i`, without index and
 * opcode: `r0 = 1`, `if w1 s< w2 goto pc-2`, `call bpf_map_lookup_elem#1`.
 * The second slot of a ld_imm64 on its own formats by its opcode (0x00 is
 * `BUG_ld_00`); formatProg() skips it.
 */
export function formatInsn(insns: readonly Insn[], i: number, opts: FormatOptions = {}): string {
  const insn = insns[i];
  const info = opInfo(insn.code);
  switch (info.kind) {
    case "alu":
      return formatAlu(insn, info.width, info.op, info.x);
    case "end":
      return `r${insn.dst} = ${info.order === "swap" ? "bswap" : info.order}${insn.imm} r${insn.dst}`;
    case "jcond": {
      const r = info.width === 32 ? "w" : "r";
      const rhs = info.x ? `${r}${insn.src}` : `0x${(insn.imm >>> 0).toString(16)}`;
      return `if ${r}${insn.dst} ${JMP_STRINGS[info.op]} ${rhs} goto pc${signed(insn.off)}`;
    }
    case "ja":
      return info.width === 64 ? `goto pc${signed(insn.off)}` : `gotol pc${signed(insn.imm)}`;
    case "call":
      return formatCall(insn, opts);
    case "exit":
      return "exit";
    case "ldimm64":
      return formatLdImm64(insns, i, opts);
    case "ldpkt":
      return info.indirect
        ? `r0 = *(${u(info.size)} *)skb[r${insn.src} + ${insn.imm}]`
        : `r0 = *(${u(info.size)} *)skb[${insn.imm}]`;
    case "ldx":
      return `r${insn.dst} = *(${info.signed ? "s" : "u"}${info.size * 8} *)(r${insn.src} ${signed(insn.off)})`;
    case "st":
      return `*(${u(info.size)} *)(r${insn.dst} ${signed(insn.off)}) = ${insn.imm}`;
    case "stx":
      return `*(${u(info.size)} *)(r${insn.dst} ${signed(insn.off)}) = r${insn.src}`;
    case "atomic":
      return formatAtomic(insn, info.size);
    case "invalid":
      return bug(insn);
  }
}

/** `(code) text`, the kernel's line without the index: `(b7) r0 = 1`. */
export function formatInsnWithCode(insns: readonly Insn[], i: number, opts: FormatOptions = {}): string {
  return `(${hex2(insns[i].code)}) ${formatInsn(insns, i, opts)}`;
}

/**
 * A whole program as `idx: (code) text` lines, each ending in a newline, like
 * a verifier log or `bpftool prog dump xlated`; the second slot of each
 * ld_imm64 is skipped (its index is not printed).
 */
export function formatProg(insns: readonly Insn[], opts: FormatOptions = {}): string {
  let out = "";
  for (let i = 0; i < insns.length; i++) {
    out += `${i}: ${formatInsnWithCode(insns, i, opts)}\n`;
    if (opInfo(insns[i].code).kind === "ldimm64" && i + 1 < insns.length) i++;
  }
  return out;
}
