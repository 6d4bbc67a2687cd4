/**
 * Memory accesses (kernel/bpf/verifier.c check_mem_access,
 * check_stack_read/write_fixed_off, check_map_access, check_ctx_access,
 * check_ptr_to_btf_access) for LDX, ST, STX and atomics.
 *
 *   pointer type   reads                          writes
 *   fp             bounds [-512, 0); spills       bounds; 8-byte aligned register
 *                  keep pointers; uninit reads     stores are spills, others misc
 *                  are unknown (privileged);       (an irq flag slot written over
 *                  irq flag slots are not data     is no flag any more)
 *   ctx            per program type (ctx_access.ts), only at a fixed offset
 *   map_value      inside value_size, not on a    not into BPF_F_RDONLY_PROG maps
 *                  bpf_spin_lock / bpf_timer
 *   pkt/pkt_meta   allowed (range not tracked)    tc: allowed
 *   ptr_<struct>   PROBE_MEM loads                "only read is supported"
 *   (alloc)        inside the object              inside the object (bpf_obj_new)
 *   mem            inside its size                rdonly not tracked
 *   scalar, _or_null, map_ptr, pkt_end, func: "R%d invalid mem access '%s'"
 *
 * Messages are the kernel's ("invalid write to stack R10 off=-520 size=8",
 * "invalid access to map value, value_size=8 off=8 size=8",
 * "invalid bpf_context access off=%d size=%d",
 * "dereference of modified ctx ptr R%d off=%d disallowed").
 */
import { EACCES, EINVAL } from "../../errno.js";
import { MAX_BPF_STACK } from "../opcodes.js";
import { BPF_F_RDONLY_PROG } from "../object/uapi.js";
import { reject, type Checker } from "./checker.js";
import { checkCtxAccess } from "./ctx_access.js";
import { checkMapSpecialFields } from "./map_fields.js";
import { constScalar, regTypeStr, UNKNOWN_SCALAR, type RegState } from "./reg_state.js";
import type { FuncState, StackSlot } from "./state.js";

/** What is stored by a write: a register (STX) or an immediate (ST). */
export type StoreValue = { readonly reg: RegState } | { readonly imm: bigint };

/** The frame a stack pointer points into. */
export function stackFrame(c: Checker, ptr: RegState): FuncState {
  const f = c.cur.frames[ptr.frameno ?? c.cur.frames.length - 1];
  if (!f) reject(c, `stack pointer into a returned frame`);
  return f;
}

/** Grow the stack depth of the frame's function to cover `off`. */
export function noteStackDepth(c: Checker, frame: FuncState, off: number): void {
  const sp = c.subprogs.find((s) => s.start === frame.subprogStart);
  if (sp && -off > sp.stackDepth) sp.stackDepth = Math.ceil(-off / 8) * 8;
}

/** check_stack_access_within_bounds(). */
export function checkStackBounds(c: Checker, regno: number, off: number, size: number, what: string): void {
  if (off < -MAX_BPF_STACK || off + size > 0 || size < 0) {
    reject(c, `invalid${what} stack R${regno} off=${off} size=${size}`);
  }
}

function slotOf(off: number): number {
  return Math.floor((-off - 1) / 8);
}

/** check_stack_write_fixed_off(). */
export function stackWrite(c: Checker, frame: FuncState, off: number, size: number, v: StoreValue | undefined): void {
  noteStackDepth(c, frame, off);
  if (size === 8 && off % 8 === 0) {
    const k = slotOf(off);
    if (v && "reg" in v) {
      frame.stack.set(k, { kind: "spill", reg: v.reg });
      return;
    }
    if (v && "imm" in v) {
      frame.stack.set(k, v.imm === 0n ? { kind: "zero" } : { kind: "spill", reg: constScalar(v.imm) });
      return;
    }
  }
  const zero = v !== undefined && ("imm" in v ? v.imm === 0n : v.reg.type === "scalar" && v.reg.value === 0n);
  for (let k = slotOf(off + size - 1); k <= slotOf(off); k++) {
    const old = frame.stack.get(k);
    const keepZero = zero && (old?.kind === "zero" || (size === 8 && off % 8 === 0));
    frame.stack.set(k, keepZero ? { kind: "zero" } : { kind: "misc" });
  }
}

/** check_stack_read_fixed_off(): the value read. */
export function stackRead(c: Checker, frame: FuncState, off: number, size: number): RegState {
  noteStackDepth(c, frame, off);
  const first = slotOf(off + size - 1);
  const last = slotOf(off);
  if (first === last) {
    const slot: StackSlot | undefined = frame.stack.get(first);
    if (slot?.kind === "spill") {
      if (size === 8 && off % 8 === 0) return slot.reg;
      if (slot.reg.type !== "scalar") reject(c, "invalid size of register fill");
      if (slot.reg.value === undefined) return UNKNOWN_SCALAR;
      const shift = BigInt(((off % 8) + 8) % 8) * 8n;
      return constScalar((slot.reg.value >> shift) & ((1n << BigInt(size * 8)) - 1n));
    }
    if (slot?.kind === "zero") return constScalar(0n);
    if (slot?.kind === "irq_flag") invalidStackRead(c, off, size);
    return UNKNOWN_SCALAR;
  }
  let allZero = true;
  for (let k = first; k <= last; k++) {
    const kind = frame.stack.get(k)?.kind;
    if (kind === "irq_flag") invalidStackRead(c, off, size);
    if (kind !== "zero") allZero = false;
  }
  return allZero ? constScalar(0n) : UNKNOWN_SCALAR;
}

/** check_stack_read_fixed_off() on a special slot (an irq flag): not readable as data. */
function invalidStackRead(c: Checker, off: number, size: number): never {
  reject(c, `invalid read from stack off ${off}+0 size ${size}`);
}

/** A variable-offset stack write: every slot of the frame becomes unknown bytes. */
function stackWriteVar(frame: FuncState): void {
  for (let k = 0; k < MAX_BPF_STACK / 8; k++) frame.stack.set(k, { kind: "misc" });
}

function checkMapValue(c: Checker, ptr: RegState, off: number, size: number, write: boolean): void {
  const map = ptr.map!;
  if (!ptr.varOff && (off < 0 || off + size > map.valueSize)) {
    reject(c, `invalid access to map value, value_size=${map.valueSize} off=${off} size=${size}`);
  }
  if (write && map.flags & BPF_F_RDONLY_PROG) {
    reject(c, `write into map forbidden, value_size=${map.valueSize} off=${off} size=${size}`);
  }
  if (!ptr.varOff) checkMapSpecialFields(c, map, off, size);
}

/**
 * check_mem_access(): an access of `size` bytes at `regno`+`insnOff`.
 * Returns the loaded value for reads.
 */
export function checkMemAccess(
  c: Checker,
  access: { regno: number; insnOff: number; size: number; write: boolean; value?: StoreValue; atomic?: boolean },
): RegState {
  const { regno, insnOff, size, write } = access;
  const ptr = c.cur.frames[c.cur.frames.length - 1].regs[regno];
  const off = ptr.off + insnOff;
  if (
    ptr.maybeNull ||
    ptr.type === "scalar" ||
    ptr.type === "map_ptr" ||
    ptr.type === "pkt_end" ||
    ptr.type === "func"
  ) {
    reject(c, `R${regno} invalid mem access '${regTypeStr(ptr)}'`);
  }
  switch (ptr.type) {
    case "fp": {
      const frame = stackFrame(c, ptr);
      if (ptr.varOff) {
        if (write) stackWriteVar(frame);
        return UNKNOWN_SCALAR;
      }
      checkStackBounds(c, regno, off, size, write ? " write to" : " read from");
      if (write) {
        stackWrite(c, frame, off, size, access.value);
        return UNKNOWN_SCALAR;
      }
      return stackRead(c, frame, off, size);
    }
    case "ctx": {
      if (ptr.off !== 0 || ptr.varOff) reject(c, `dereference of modified ctx ptr R${regno} off=${ptr.off} disallowed`);
      if (access.atomic) reject(c, `BPF_ATOMIC stores into R${regno} ctx is not allowed`);
      const res = checkCtxAccess(
        { progType: c.progType, expectedAttachType: c.input.expectedAttachType, attach: c.input.attach },
        off,
        size,
        write,
      );
      if (!res.ok) {
        if (res.log) c.log.line(res.log);
        reject(c, `invalid bpf_context access off=${off} size=${size}`);
      }
      if (res.convert) c.aux[c.insnIdx].ctxConvert = res.convert;
      return res.reg;
    }
    case "map_value":
      checkMapValue(c, ptr, off, size, write);
      return UNKNOWN_SCALAR;
    case "map_key":
      if (write) reject(c, `R${regno} cannot write into map_key`);
      if (!ptr.varOff && (off < 0 || off + size > ptr.map!.keySize)) {
        reject(c, `invalid access to map key, key_size=${ptr.map!.keySize} off=${off} size=${size}`);
      }
      return UNKNOWN_SCALAR;
    case "pkt":
    case "pkt_meta":
      if (access.atomic) reject(c, `BPF_ATOMIC stores into R${regno} pkt is not allowed`);
      return UNKNOWN_SCALAR;
    case "btf_id":
      if (ptr.alloc) {
        // MEM_ALLOC: the program's own object, read and written within its size.
        if (!ptr.varOff && (off < 0 || off + size > (ptr.memSize ?? 0))) {
          reject(c, `access beyond struct ${ptr.btfName ?? ""} at off ${off} size ${size}`);
        }
        return UNKNOWN_SCALAR;
      }
      if (write || access.atomic) reject(c, "only read is supported", EACCES);
      if (!ptr.varOff && ptr.memSize !== undefined && (off < 0 || off + size > ptr.memSize)) {
        if (ptr.flexOff === undefined || off < ptr.flexOff) {
          reject(c, `access beyond struct ${ptr.btfName ?? ""} at off ${off} size ${size}`);
        }
      }
      c.aux[c.insnIdx].probeMem = true;
      return UNKNOWN_SCALAR;
    case "mem":
      if (!ptr.varOff && ptr.memSize !== undefined && (off < 0 || off + size > ptr.memSize)) {
        reject(c, `invalid access to memory, mem_size=${ptr.memSize} off=${off} size=${size}`);
      }
      return UNKNOWN_SCALAR;
    default:
      reject(c, `R${regno} invalid mem access '${regTypeStr(ptr)}'`, EINVAL);
  }
}
