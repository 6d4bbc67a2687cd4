/**
 * A bare one-CPU machine for running one JITed program, for the
 * conformance plugin: the parts of the simulated kernel that JITed code
 * touches, without the rest (scheduler, RCU, workqueues, services, log),
 * because the suite starts the plugin once per test and the full kernel
 * costs more start-up time than the whole budget.
 *
 *   0x4000_0000  text (RX)   dummy_tramp, helper stubs (`svc #nr; ret`),
 *                            then the JIT images (64-byte chunks, brk-filled)
 *   0x4400_0000  data (RW)   the program's input memory
 *   0x4800_0000  stack (RW)  16 KiB, SP starts at its top
 *
 * The program is called like a kernel function: x0/x1 = r1/r2, LR = the
 * machine's sentinel, so `ret` from the epilogue ends the run. A helper
 * that unwinds (ubpf's helper 5) sets LR to the sentinel before its stub's
 * `ret`, which ends the whole run with its result.
 *
 * Simplifications: one program, no task, no faults fixed up (the plugin
 * marks no load as BPF_PROBE_MEM), text is never reused.
 */
import { EFAULT, ENOMEM } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import { physMemoryBpf } from "../../runtime/bpf/interp_mem.js";
import type { JitKernel } from "../../runtime/jit/jit.js";
import type { TestHelper } from "../../runtime/jit/diff.js";
import { AARCH64_BREAK_FAULT } from "../../runtime/jit/regs.js";
import { formatFault } from "../../runtime/machine/fault.js";
import { Machine } from "../../runtime/machine/machine.js";
import { PROT_RW, PROT_RX } from "../../runtime/machine/memory.js";

const TEXT_BASE = 0x4000_0000n;
const TEXT_SIZE = 1 << 20;
const DATA_BASE = 0x4400_0000n;
const STACK_BASE = 0x4800_0000n;
const STACK_SIZE = 16 << 10;
const CHUNK = 64;
/** svc numbers of helper stubs: 0x700 + id. */
const SVC_BASE = 0x700;
/** `mov x10, x30; mov x30, x9; ret x10`, the JIT's PLT target when no trampoline is attached. */
const DUMMY_TRAMP = [0xaa1e03ea, 0xaa0903fe, 0xd65f0140];
const RET = 0xd65f03c0;

/** The bare machine and what the JIT needs of it. */
export interface BareMachine {
  readonly machine: Machine;
  readonly kernel: JitKernel;
  /** Helper id → stub address. */
  readonly helpers: ReadonlyMap<number, bigint>;
  /** Address of the data region (input memory goes here). */
  readonly data: bigint;
}

function words(list: readonly number[]): Uint8Array {
  const b = new Uint8Array(list.length * 4);
  const v = new DataView(b.buffer);
  list.forEach((w, i) => v.setUint32(i * 4, w >>> 0, true));
  return b;
}

/** Boot the bare machine with `dataSize` bytes of data and the given helpers. */
export function bootBare(dataSize: number, helpers: Readonly<Record<number, TestHelper>>): BareMachine {
  const machine = new Machine({ cpus: 1 });
  try {
    machine.map({ name: "bpf text", base: TEXT_BASE, size: TEXT_SIZE, perms: PROT_RX });
    const fill = (addr: bigint, bytes: number): void => {
      const view = machine.memory.bytesView(addr, bytes);
      new Uint32Array(view.buffer, view.byteOffset, bytes / 4).fill(AARCH64_BREAK_FAULT);
    };
    const dataBytes = Math.max(4096, Math.ceil(dataSize / 4096) * 4096);
    machine.map({ name: "data", base: DATA_BASE, size: dataBytes, perms: PROT_RW });
    machine.map({ name: "stack", base: STACK_BASE, size: STACK_SIZE, perms: PROT_RW });
    let cursor = TEXT_BASE;
    const place = (code: readonly number[]): bigint => {
      const at = cursor;
      machine.writeText(at, words(code), { sync: false });
      cursor += BigInt(Math.ceil((code.length * 4) / CHUNK) * CHUNK);
      return at;
    };
    const dummyTramp = place(DUMMY_TRAMP);
    const mem = physMemoryBpf(machine.memory);
    const stubs = new Map<number, bigint>();
    for (const [idText, h] of Object.entries(helpers)) {
      const id = Number(idText);
      const nr = SVC_BASE + id;
      machine.svc.register(nr, h.name, (cpu) => {
        const a = cpu.args();
        const ret = BigInt.asUintN(64, h.fn([a[0], a[1], a[2], a[3], a[4]], mem));
        cpu.setX(0, ret);
        if (h.unwind?.(ret)) cpu.lr = machine.sentinel;
        return "continue";
      });
      stubs.set(id, place([(0xd4000001 | (nr << 5)) >>> 0, RET]));
    }
    const sizes = new Map<bigint, number>();
    const kernel: JitKernel = {
      bpfText: {
        alloc(size: number, name: string) {
          const n = Math.ceil(size / CHUNK) * CHUNK;
          if (cursor + BigInt(n) > TEXT_BASE + BigInt(TEXT_SIZE)) {
            throw new BpfError(ENOMEM, `bare text: no room for ${size} bytes (${name})`);
          }
          const addr = cursor;
          cursor += BigInt(n);
          fill(addr, n);
          sizes.set(addr, n);
          return { addr, size: n, name };
        },
        free(addr: bigint) {
          const n = sizes.get(addr);
          if (n === undefined) throw new BpfError(EFAULT, `bare text: free of unknown address 0x${addr.toString(16)}`);
          sizes.delete(addr);
          fill(addr, n);
          machine.invalidateText(addr, addr + BigInt(n));
        },
      },
      machine,
      symbolAddress: (name) => {
        if (name === "dummy_tramp") return dummyTramp;
        throw new BpfError(EFAULT, `bare machine has no symbol ${name}`);
      },
      extable: { add: () => undefined, remove: () => undefined },
      symbolizers: [],
    };
    machine.invalidateText(TEXT_BASE, cursor);
    return { machine, kernel, helpers: stubs, data: DATA_BASE };
  } catch (err) {
    machine.close();
    throw err;
  }
}

/**
 * Call `entry(args...)` on CPU 0 until it returns; a fault becomes a
 * BpfError(EFAULT) with the kernel-style first line of the report.
 */
export function callBare(bare: BareMachine, entry: bigint, args: readonly bigint[], maxInsns = 100_000_000): bigint {
  const c = bare.machine.cpu(0);
  args.forEach((a, i) => c.setX(i, a));
  c.sp = STACK_BASE + BigInt(STACK_SIZE);
  c.lr = bare.machine.sentinel;
  c.pc = entry;
  const quantum = 1_000_000;
  for (let done = 0; done < maxInsns; done += quantum) {
    const r = c.run({ quantum });
    if (r.kind === "returned") return c.x(0);
    if (r.kind === "fault") throw new BpfError(EFAULT, `program faulted: ${formatFault(r.fault).split("\n")[0]}`);
    if (r.kind === "hypercall") throw new BpfError(EFAULT, `unexpected stop in ${r.name}`);
  }
  throw new BpfError(EFAULT, `program did not finish within ${maxInsns} instructions`);
}
