/**
 * bpf_arch_text_poke (arch/arm64/net/bpf_jit_comp.c) and the ftrace-style
 * direct-call patching of kernel function entries.
 *
 * BPF text (a JITed program's entry, or a trampoline's ip_after_call):
 *
 *   prog entry:   [bti c]  mov x9, x30  ┌ nop            ┐ POKE_OFFSET
 *                                       │ bl  tramp       │ short jump
 *                                       └ bl  plt ─► ldr x10, target; br x10
 *                                                        (target beyond ±128 MiB)
 *   patch-site states: NOP ⇄ CALL(near) ⇄ CALL(far via PLT); JUMP (b) for
 *   ip_after_call and freplace. The PLT target is reset to dummy_tramp when
 *   the far call is removed, so the PLT never holds a stale target.
 *
 * Protocol (every step under text_mutex, as the kernel):
 *   1. find the BPF symbol containing ip (__bpf_address_lookup): only BPF text
 *      may be poked here (-ENOTSUPP: kernel functions belong to ftrace);
 *   2. generate old and new instructions (nop, or b/bl to target or PLT);
 *   3. update the PLT target first when a far target comes or goes;
 *   4. lock text_mutex, read the current instruction, -EFAULT unless it is
 *      the expected old one, write the new one (patch_text_nosync: the
 *      icache maintenance, but no kick: image_put handles the lifetime).
 *
 * Kernel function entries (built with -fpatchable-function-entry=2; boot
 * turned the first nop into `mov x9, x30`, kernel/ftrace.ts) are patched
 * the way ftrace installs a direct call, one instruction:
 *
 *   mov x9, x30; nop   ⇄   mov x9, x30; bl tramp      (modify: bl old → bl new)
 *
 * Fault injection: `poke-without-text-mutex` skips the lock,
 * `skip-icache-sync` skips the cache maintenance of every write.
 */
import { aarch64InsnGenBranchImm } from "../a64/gen_branch.js";
import { A64_INSN } from "../a64/insn_table.js";
import { a64Nop } from "../a64/jit_macros.js";
import { EBUSY, EFAULT, EINVAL, ENOTSUPP } from "../errno.js";
import { KernelError } from "../errors.js";
import type { Kernel } from "../kernel/kernel.js";
import { FTRACE_MOV_X9_LR } from "../kernel/ftrace.js";
import { mutexLock, mutexUnlock } from "../kernel/mutex.js";
import type { KGen, Task } from "../kernel/task.js";

export type BpfTextPokeType = "call" | "jump";

/** Instruction index of the patchable nop in a JITed program (no BTI). */
export const POKE_OFFSET = 1;
/** offsetof(struct bpf_plt, target): the 8-byte target after `ldr x10, #8; br x10`. */
export const PLT_TARGET_OFFSET = 8;
const SZ_128M = 128n << 20n;

/** A poke refused or failed: the kernel's errno and why. */
export class TextPokeError extends KernelError {}

/** What bpf_arch_text_poke needs from the kernel. */
export interface TextPokeEnv {
  kernel: Kernel;
  /** The task doing the poke (it may sleep on text_mutex). */
  task: Task;
  /** __bpf_address_lookup(): the BPF symbol containing `addr`. */
  bpfAddressLookup(addr: bigint): { addr: bigint; offset: number; size: number; name: string } | undefined;
  /** Address of dummy_tramp. */
  dummyTramp: bigint;
  /** BTI on: the patch site is one instruction further. */
  bti?: boolean;
}

/** is_long_jump(): beyond the ±128 MiB reach of b/bl. */
export function isLongJump(ip: bigint, target: bigint | undefined): boolean {
  if (target === undefined || target === 0n) return false;
  const off = target - ip;
  return !(off >= -SZ_128M && off < SZ_128M);
}

/** aarch64_insn_gen_branch_imm(): b or bl from `ip` to `target`. */
export function genBranch(ip: bigint, target: bigint, type: BpfTextPokeType): number {
  return aarch64InsnGenBranchImm(type === "call" ? A64_INSN.bl : A64_INSN.b, Number(target - ip));
}

function genBranchOrNop(type: BpfTextPokeType, ip: bigint, addr: bigint | undefined, plt: bigint | undefined): number {
  if (addr === undefined || addr === 0n) return a64Nop();
  const target = isLongJump(ip, addr) ? plt : addr;
  if (target === undefined) throw new TextPokeError(EFAULT, `branch target out of reach: 0x${addr.toString(16)}`);
  return genBranch(ip, target, type);
}

/** The CPU of the poking task (it sees its own write at once). */
function cpuOf(task: Task): number | undefined {
  return task.cpu >= 0 ? task.cpu : undefined;
}

function* withTextMutex<T>(env: TextPokeEnv, body: () => T): KGen<T> {
  const k = env.kernel;
  const locked = !k.faultInject.has("poke-without-text-mutex");
  if (locked) yield* mutexLock(k.textMutex, env.task);
  try {
    return body();
  } finally {
    if (locked) mutexUnlock(k.textMutex, env.task);
  }
}

function writeInsn(env: TextPokeEnv, ip: bigint, insn: number): void {
  const k = env.kernel;
  const synced = !k.faultInject.has("skip-icache-sync");
  if (k.ktrace.active) {
    k.ktrace.emit({
      kind: "poke",
      t: k.sched.now,
      cpu: env.task.cpu,
      pid: env.task.pid,
      addr: ip,
      old: k.machine.memory.read32(ip),
      insn,
      locked: k.textMutex.owner === env.task,
      synced,
      what: k.symbolize(ip) ?? `0x${ip.toString(16)}`,
    });
  }
  k.machine.writeInsn(ip, insn, { by: cpuOf(env.task), sync: synced });
}

/**
 * bpf_arch_text_poke(ip, type, old_addr, new_addr). `ip` is a BPF
 * program's start (its patch site is then at POKE_OFFSET) or an
 * instruction inside BPF text (a trampoline's ip_after_call).
 */
export function* bpfArchTextPoke(
  env: TextPokeEnv,
  ip: bigint,
  type: BpfTextPokeType,
  oldAddr: bigint | undefined,
  newAddr: bigint | undefined,
): KGen<void> {
  const sym = env.bpfAddressLookup(ip);
  if (!sym) {
    // Only BPF text is poked here; kernel function entries belong to ftrace.
    throw new TextPokeError(ENOTSUPP, `bpf_arch_text_poke: 0x${ip.toString(16)} is not BPF text`);
  }
  const image = sym.addr;
  const pokingEntry = sym.offset === 0;
  let plt: bigint | undefined;
  let site = ip;
  if (pokingEntry) {
    // The PLT ends the program's symbol: jited_len stops after its `br`, the
    // 8-byte target follows (struct bpf_plt { ldr; br; u64 target; }).
    plt = image + BigInt(sym.size) - BigInt(PLT_TARGET_OFFSET);
    site = image + BigInt((POKE_OFFSET + (env.bti ? 1 : 0)) * 4);
  }
  if ((isLongJump(site, newAddr) || isLongJump(site, oldAddr)) && !pokingEntry) {
    throw new TextPokeError(
      EINVAL,
      `bpf_arch_text_poke: long jump from ${sym.name}+0x${sym.offset.toString(16)}, not a prog entry`,
    );
  }
  const oldInsn = genBranchOrNop(type, site, oldAddr, plt);
  const newInsn = genBranchOrNop(type, site, newAddr, plt);
  const k = env.kernel;
  let pltTarget: bigint | undefined;
  if (newAddr !== undefined && isLongJump(site, newAddr)) pltTarget = newAddr;
  else if (oldAddr !== undefined && isLongJump(site, oldAddr)) pltTarget = env.dummyTramp;
  if (pltTarget !== undefined && plt !== undefined) {
    // WRITE_ONCE(plt->target): a data write (the CPU reads it with ldr).
    k.machine.memory.write64(plt + BigInt(PLT_TARGET_OFFSET), pltTarget);
  }
  if (oldInsn === newInsn) return;
  yield* withTextMutex(env, () => {
    const replaced = k.machine.memory.read32(site);
    if (replaced !== oldInsn) {
      throw new TextPokeError(
        EFAULT,
        `bpf_arch_text_poke: ${sym.name}+0x${(site - image).toString(16)} holds 0x${replaced.toString(16).padStart(8, "0")}, expected 0x${oldInsn.toString(16).padStart(8, "0")}`,
      );
    }
    writeInsn(env, site, newInsn);
  });
}

// ---------------------------------------------------------------------------
// ftrace-style direct calls on kernel function entries.

/** What the two patchable entry instructions hold for a direct call to `tramp` (or none), after ftrace init. */
export function ftraceEntryInsns(func: bigint, tramp: bigint | undefined): [number, number] {
  return [FTRACE_MOV_X9_LR, tramp === undefined ? a64Nop() : genBranch(func + 4n, tramp, "call")];
}

/**
 * register_ftrace_direct / modify_ftrace_direct / unregister_ftrace_direct
 * for one function entry: from `oldTramp` (undefined: not attached) to
 * `newTramp` (undefined: detach). Boot wrote `mov x9, x30` at the entry
 * (kernel/ftrace.ts); only the second instruction changes, nop ⇄ bl, so
 * a CPU racing through the entry sees the old or the new call, never half.
 * The entry must hold exactly the expected old instruction: -EBUSY when
 * another caller owns it, -EFAULT otherwise; -ENOTSUPP when the function
 * has no ftrace location.
 */
export function* ftraceDirectPatch(
  env: TextPokeEnv,
  func: bigint,
  oldTramp: bigint | undefined,
  newTramp: bigint | undefined,
): KGen<void> {
  if (isLongJump(func + 4n, newTramp)) {
    throw new TextPokeError(
      EINVAL,
      `direct call target 0x${newTramp?.toString(16)} beyond ±128 MiB of 0x${func.toString(16)}`,
    );
  }
  const [, old1] = ftraceEntryInsns(func, oldTramp);
  const [, new1] = ftraceEntryInsns(func, newTramp);
  const k = env.kernel;
  yield* withTextMutex(env, () => {
    const name = k.symbolize(func) ?? `0x${func.toString(16)}`;
    const cur0 = k.machine.memory.read32(func);
    const cur1 = k.machine.memory.read32(func + 4n);
    if (cur0 !== FTRACE_MOV_X9_LR || (cur1 !== a64Nop() && cur1 >>> 26 !== 0b100101)) {
      // Not an ftrace location (notrace, or not a function entry): arm64 then
      // falls back to bpf_arch_text_poke, which only pokes BPF text.
      throw new TextPokeError(ENOTSUPP, `${name} is not traceable: no patchable function entry`);
    }
    if (cur1 !== old1) {
      throw new TextPokeError(
        oldTramp === undefined ? EBUSY : EFAULT,
        `ftrace: entry of ${name} holds 0x${cur1.toString(16).padStart(8, "0")} at +4, expected 0x${old1.toString(16).padStart(8, "0")}`,
      );
    }
    writeInsn(env, func + 4n, new1);
  });
}
