/**
 * btf_check_type_match() (kernel/bpf/btf.c): may an extension program
 * (freplace) replace a global function of another program? Both functions
 * are compared by BTF, as the kernel does before attaching:
 *
 *   ext's func_info[0]            target's FUNC
 *   ─────────────────             ─────────────
 *   global linkage                global linkage      "%s() is not a global function"
 *   N args                        N args              "%s() has %d args while %s() has %d args"
 *   return kind                   same kind           "Return type %s of %s() doesn't match type %s of %s()"
 *   each arg (modifiers skipped):
 *     same kind                                       "arg%d in %s() is %s while %s() has %s"
 *     same size (ints, enums)                         "arg%d in %s() has size %d while %s() has %d"
 *     int / enum                  ok
 *     pointer to struct           same struct name    "arg%d %s(struct %s *) doesn't match %s(struct %s *)"
 *     anything else                                   "arg%d in %s() has unrecognized type" /
 *                                                     "arg%d in %s() is not a pointer to context"
 *
 * The kernel compares `info` words (kind, vlen, kind_flag); this compares
 * the parsed kind and, for ints, enums and composites, size and member
 * count — the same verdicts for the types BTF of global functions has.
 */
import { EINVAL } from "../errno.js";
import { BpfError } from "../errors.js";
import { btfTypeStr, type Btf } from "../bpf/btf/btf.js";
import type { BtfType } from "../bpf/btf/types.js";

/** One side of the comparison: a BTF and a FUNC in it. */
export interface BtfFuncRef {
  readonly btf: Btf;
  readonly funcId: number;
}

/** The parts of btf_type->info the kernel compares: kind, vlen, kind_flag. */
function sameInfo(a: BtfType, b: BtfType): boolean {
  if (a.kind !== b.kind) return false;
  if ((a.kind === "struct" || a.kind === "union") && (b.kind === "struct" || b.kind === "union"))
    return a.members.length === b.members.length;
  if ((a.kind === "enum" || a.kind === "enum64") && (b.kind === "enum" || b.kind === "enum64"))
    return a.values.length === b.values.length && a.signed === b.signed;
  if (a.kind === "func_proto" && b.kind === "func_proto") return a.params.length === b.params.length;
  return true;
}

function sizeOf(t: BtfType): number | undefined {
  return "size" in t ? t.size : undefined;
}

function fail(message: string): never {
  throw new BpfError(EINVAL, message);
}

/**
 * Throw EINVAL with the kernel's message when `ext` (the extension
 * program's main function) cannot replace `target`.
 */
export function btfCheckTypeMatch(ext: BtfFuncRef, target: BtfFuncRef): void {
  const f1 = ext.btf.type(ext.funcId);
  const f2 = target.btf.type(target.funcId);
  if (f1.kind !== "func" || f2.kind !== "func") fail("Program extension requires BTF");
  const fn1 = f1.name;
  const fn2 = f2.name;
  if (f1.linkage !== "global") fail(`${fn1}() is not a global function`);
  if (f2.linkage !== "global") fail(`${fn2}() is not a global function`);
  const p1 = ext.btf.type(f1.type);
  const p2 = target.btf.type(f2.type);
  if (p1.kind !== "func_proto" || p2.kind !== "func_proto") fail("Program extension requires BTF");
  if (p1.params.length !== p2.params.length) {
    fail(`${fn1}() has ${p1.params.length} args while ${fn2}() has ${p2.params.length} args`);
  }
  const r1 = ext.btf.resolved(p1.returnType);
  const r2 = target.btf.resolved(p2.returnType);
  if (!sameInfo(r1, r2)) {
    fail(`Return type ${btfTypeStr(r1)} of ${fn1}() doesn't match type ${btfTypeStr(r2)} of ${fn2}()`);
  }
  for (let i = 0; i < p1.params.length; i++) {
    const t1 = ext.btf.resolved(p1.params[i].type);
    const t2 = target.btf.resolved(p2.params[i].type);
    if (!sameInfo(t1, t2)) fail(`arg${i} in ${fn1}() is ${btfTypeStr(t1)} while ${fn2}() has ${btfTypeStr(t2)}`);
    const s1 = sizeOf(t1);
    const s2 = sizeOf(t2);
    if (s1 !== undefined && s1 !== s2) fail(`arg${i} in ${fn1}() has size ${s1} while ${fn2}() has ${s2}`);
    if (t1.kind === "int" || t1.kind === "enum" || t1.kind === "enum64") continue;
    if (t1.kind !== "ptr" || t2.kind !== "ptr") fail(`arg${i} in ${fn1}() has unrecognized type`);
    const s1t = ext.btf.resolved(t1.type);
    const s2t = target.btf.resolved(t2.type);
    if (s1t.kind !== "struct") fail(`arg${i} in ${fn1}() is not a pointer to context`);
    if (s2t.kind !== "struct") fail(`arg${i} in ${fn2}() is not a pointer to context`);
    if (s1t.name !== s2t.name) {
      fail(`arg${i} ${fn1}(struct ${s1t.name} *) doesn't match ${fn2}(struct ${s2t.name} *)`);
    }
  }
}
