/**
 * `.kconfig` externs (libbpf.c bpf_object__read_kconfig_mem,
 * set_kcfg_value_tri/num/str, bpf_object__resolve_externs): the values a
 * program sees for `extern int LINUX_KERNEL_VERSION __kconfig;` and
 * `extern bool CONFIG_X __kconfig __weak;`.
 *
 * The simulated kernel's configuration is this table: an arm64 v6.16
 * kernel with BPF, the JIT, BTF (vmlinux and modules), ftrace direct calls
 * and no BTI/PAC in the kernel. Values are y / n / m / numbers / strings as
 * in /proc/config.gz. A strong extern that is not here is an error
 * ("extern 'X' (strong): not resolved", -ESRCH); a weak one reads as zero.
 */
import { EINVAL, ESRCH } from "../../errno.js";
import type { Btf } from "../btf/btf.js";
import { ObjectError } from "./errors.js";
import type { ObjExtern } from "./model.js";

/** KERNEL_VERSION(6, 16, 0). */
export const LINUX_KERNEL_VERSION = (6 << 16) | (16 << 8) | 0;

/** The simulated kernel's .config, as libbpf reads it. */
export const KCONFIG: Readonly<Record<string, string>> = {
  CONFIG_64BIT: "y",
  CONFIG_ARM64: "y",
  CONFIG_SMP: "y",
  CONFIG_NR_CPUS: "256",
  CONFIG_HZ: "250",
  CONFIG_PREEMPT: "y",
  CONFIG_BPF: "y",
  CONFIG_BPF_SYSCALL: "y",
  CONFIG_BPF_JIT: "y",
  CONFIG_BPF_JIT_ALWAYS_ON: "y",
  CONFIG_BPF_EVENTS: "y",
  CONFIG_DEBUG_INFO_BTF: "y",
  CONFIG_DEBUG_INFO_BTF_MODULES: "y",
  CONFIG_FUNCTION_TRACER: "y",
  CONFIG_DYNAMIC_FTRACE: "y",
  CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS: "y",
  CONFIG_DYNAMIC_FTRACE_WITH_ARGS: "y",
  CONFIG_TASKS_RCU: "y",
  CONFIG_TASKS_TRACE_RCU: "y",
  CONFIG_ARM64_BTI_KERNEL: "n",
  CONFIG_ARM64_PTR_AUTH_KERNEL: "n",
  CONFIG_ARM64_LSE_ATOMICS: "y",
  CONFIG_MODULES: "y",
  CONFIG_NET: "y",
  CONFIG_NET_CLS_ACT: "y",
};

/** Extra values libbpf provides itself. */
function builtin(name: string): string | undefined {
  if (name === "LINUX_KERNEL_VERSION") return String(LINUX_KERNEL_VERSION);
  if (name === "LINUX_HAS_BPF_COOKIE") return "y";
  if (name === "LINUX_HAS_SYSCALL_WRAPPER") return "y";
  return undefined;
}

/** The bytes of extern `ext` (kcfgSize of them), or undefined for a missing weak one (zero). */
export function kconfigValue(
  btf: Btf,
  ext: ObjExtern,
  overrides: Readonly<Record<string, string>> = {},
): Uint8Array | undefined {
  const raw = overrides[ext.name] ?? builtin(ext.name) ?? KCONFIG[ext.name];
  if (raw === undefined) {
    if (ext.weak) return undefined;
    throw new ObjectError(ESRCH, `extern '${ext.name}' (strong): not resolved`);
  }
  const varT = btf.type(ext.btfId);
  const t = btf.resolved(varT.kind === "var" ? varT.type : ext.btfId);
  const out = new Uint8Array(ext.kcfgSize);
  if (t.kind === "array") {
    const s = raw.replace(/^"|"$/g, "");
    if (s.length + 1 > ext.kcfgSize)
      throw new ObjectError(EINVAL, `extern (kcfg) '${ext.name}': value '${s}' is too long`);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  let v: bigint;
  if (raw === "y") v = 1n;
  else if (raw === "n") v = 0n;
  else if (raw === "m") v = 2n;
  else if (/^-?(0x[0-9a-f]+|\d+)$/i.test(raw)) v = BigInt(raw);
  else throw new ObjectError(EINVAL, `extern (kcfg) '${ext.name}': value '${raw}' is not a number`);
  const isBool = t.kind === "int" && t.bool;
  if (isBool && v > 1n)
    throw new ObjectError(EINVAL, `extern (kcfg) '${ext.name}': value '${raw}' isn't boolean compatible`);
  let x = BigInt.asUintN(ext.kcfgSize * 8, v);
  for (let i = 0; i < ext.kcfgSize; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}
