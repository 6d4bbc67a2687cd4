import test from "ava";
import { assembleWords, initAssembler } from "../a64/asm.js";
import { disasmWord, initDisassembler } from "../a64/disasm.js";
import { EEXIST, EFAULT, EINVAL } from "../errno.js";
import { MachineError } from "../errors.js";
import { CTX_PC, CTX_SP } from "./cpu.js";
import { Machine } from "./machine.js";
import { PAGE_SIZE, PROT_NONE, PROT_RW, PROT_RWX } from "./memory.js";
import { HookError, UnicornError } from "./unicorn.js";

const TEXT = 0x4000_0000n;
const DATA = 0x4100_0000n;
const STACK = 0x4200_0000n;

/** A machine with a text, a data and a stack region. */
function makeMachine(cpus = 2): Machine {
  const m = new Machine({ cpus });
  m.map({ name: "text", base: TEXT, size: 16 * PAGE_SIZE, perms: PROT_RWX });
  m.map({ name: "data", base: DATA, size: 4 * PAGE_SIZE, perms: PROT_RW });
  m.map({ name: "stack", base: STACK, size: 4 * PAGE_SIZE, perms: PROT_RW });
  return m;
}

function load(m: Machine, addr: bigint, text: string): void {
  const words = assembleWords(text, addr);
  const bytes = new Uint8Array(new Uint32Array(words).buffer);
  // A fresh load: no CPU can be running it, every CPU drops old translations now.
  m.writeText(addr, bytes, { sync: false });
  m.invalidateText(addr, addr + BigInt(bytes.length));
}

/** Run `cpu` from `pc` with lr = sentinel until it returns. */
function call(m: Machine, cpu: number, pc: bigint, quantum = 100_000): ReturnType<Machine["run"]> {
  const c = m.cpu(cpu);
  c.lr = m.sentinel;
  c.sp = STACK + BigInt(4 * PAGE_SIZE);
  return c.run({ pc, quantum });
}

test.before(async () => {
  await initAssembler();
  await initDisassembler();
});

test("two CPUs see each other's stores", (t) => {
  const m = makeMachine();
  try {
    load(m, TEXT, "str x0, [x1]\nret");
    load(m, TEXT + 0x100n, "ldr x0, [x1]\nret");
    m.cpu(0).setX(0, 0x1234_5678_9abc_def0n);
    m.cpu(0).setX(1, DATA);
    t.deepEqual(call(m, 0, TEXT), { kind: "returned" });
    m.cpu(1).setX(1, DATA);
    t.deepEqual(call(m, 1, TEXT + 0x100n), { kind: "returned" });
    t.is(m.cpu(1).x(0), 0x1234_5678_9abc_def0n);
    t.is(m.memory.read64(DATA), 0x1234_5678_9abc_def0n);
  } finally {
    m.close();
  }
});

test("icache model: a patch by CPU 0 is stale on CPU 1 until its context-synchronising event", (t) => {
  const m = makeMachine();
  try {
    const f = TEXT + 0x1000n;
    // f: mov x0, #1; ret — in its own block, away from the patching code.
    load(m, f, "mov x0, #1\nret");
    // patcher: str w2, [x1]; ret
    load(m, TEXT, "str w2, [x1]\nret");
    t.deepEqual(call(m, 1, f), { kind: "returned" });
    t.is(m.cpu(1).x(0), 1n, "CPU 1 translated the original");

    // CPU 0 (emulated store) replaces `mov x0, #1` with `mov x0, #2`.
    const mov2 = assembleWords("mov x0, #2")[0];
    m.cpu(0).setX(1, f);
    m.cpu(0).setX(2, BigInt(mov2));
    t.deepEqual(call(m, 0, TEXT), { kind: "returned" });
    t.is(m.memory.read32(f), mov2, "memory holds the new instruction");
    t.deepEqual(call(m, 0, f), { kind: "returned" });
    t.is(m.cpu(0).x(0), 2n, "the storing CPU sees its own store");

    t.deepEqual(call(m, 1, f), { kind: "returned" });
    t.is(m.cpu(1).x(0), 1n, "CPU 1 still runs its stale translation");

    // A host-side patch through the machine records the range as pending.
    m.writeInsn(f, assembleWords("mov x0, #3")[0], { by: 0 });
    t.true(m.icache.hasPending(1));
    t.false(m.icache.hasPending(0));
    t.deepEqual(call(m, 0, f), { kind: "returned" });
    t.is(m.cpu(0).x(0), 3n, "the patching CPU sees the patch at once");
    t.deepEqual(call(m, 1, f), { kind: "returned" });
    t.is(m.cpu(1).x(0), 1n, "CPU 1: stale before its context-synchronising event");

    m.contextSync(1);
    t.false(m.icache.hasPending(1));
    t.deepEqual(call(m, 1, f), { kind: "returned" });
    t.is(m.cpu(1).x(0), 3n, "CPU 1: new instruction after the event");
  } finally {
    m.close();
  }
});

test("icache model: a patch without cache maintenance stays stale everywhere", (t) => {
  const m = makeMachine();
  try {
    const f = TEXT + 0x2000n;
    load(m, f, "mov x0, #7\nret");
    t.deepEqual(call(m, 0, f), { kind: "returned" });
    t.deepEqual(call(m, 1, f), { kind: "returned" });
    m.writeInsn(f, assembleWords("mov x0, #8")[0], { by: 0, sync: false });
    m.kickAllCpusSync();
    call(m, 0, f);
    call(m, 1, f);
    t.is(m.cpu(0).x(0), 7n);
    t.is(m.cpu(1).x(0), 7n);
  } finally {
    m.close();
  }
});

test("LSE ldadd and casal execute under the MAX CPU model", (t) => {
  const m = makeMachine(1);
  try {
    // ldadd x0, x3, [x1]; casal x4, x2, [x1]; ret (raw words: keystone has no LSE)
    const words = [0xf8200023, 0xc8e4fc22, 0xd65f03c0];
    t.is(disasmWord(words[0]), "ldadd x0, x3, [x1]");
    t.is(disasmWord(words[1]), "casal x4, x2, [x1]");
    m.writeText(TEXT, new Uint8Array(new Uint32Array(words).buffer));
    m.memory.write64(DATA, 5n);
    const c = m.cpu(0);
    c.setX(0, 10n);
    c.setX(1, DATA);
    c.setX(2, 99n);
    c.setX(4, 15n);
    t.deepEqual(call(m, 0, TEXT), { kind: "returned" });
    t.is(c.x(3), 5n, "ldadd returns the old value");
    t.is(c.x(4), 15n, "casal returns the old value (compare succeeded)");
    t.is(m.memory.read64(DATA), 99n, "casal stored the new value");
  } finally {
    m.close();
  }
});

test("a hypercall handler reads and modifies registers, and can block and resume", (t) => {
  const m = makeMachine();
  try {
    let calls = 0;
    m.svc.register(40, "add_and_double", (cpu) => {
      calls++;
      const [a, b] = cpu.args();
      cpu.setX(0, (a + b) * 2n);
      return "continue";
    });
    m.svc.register(41, "block_me", (cpu) => {
      cpu.setX(0, 1000n);
      return "stop";
    });
    // service stubs, then a caller
    load(m, TEXT + 0x800n, "svc #40\nret\nsvc #41\nret");
    load(
      m,
      TEXT,
      [
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "mov x0, #3",
        "mov x1, #4",
        `bl #${Number(TEXT + 0x800n)}`,
        "mov x19, x0",
        `bl #${Number(TEXT + 0x808n)}`,
        "add x0, x0, x19",
        "ldp x29, x30, [sp], #16",
        "ret",
      ].join("\n"),
    );
    const r1 = call(m, 0, TEXT);
    t.deepEqual(r1, { kind: "hypercall", nr: 41, name: "block_me" });
    t.is(calls, 1);
    // Blocked: move the task to CPU 1, as a scheduler would.
    const ctx = m.cpu(0).saveContext();
    t.is(ctx[CTX_PC], TEXT + 0x80cn, "PC is past the svc, on the stub's ret");
    t.is(m.cpu(0).x(19), 14n);
    ctx[0] = 1000n;
    m.cpu(1).loadContext(ctx);
    t.deepEqual(m.cpu(1).run({ quantum: 1000 }), { kind: "returned" });
    t.is(m.cpu(1).x(0), 1014n);
  } finally {
    m.close();
  }
});

test("faults: unmapped, protected and brk #0x100 memory give structured faults", (t) => {
  const m = makeMachine();
  try {
    // Read of an unmapped address.
    load(m, TEXT, "ldr x0, [x1]\nret");
    m.cpu(1).setX(1, 0xdead_0000n);
    const r1 = call(m, 1, TEXT);
    t.is(r1.kind, "fault");
    if (r1.kind !== "fault") return;
    t.is(r1.fault.kind, "read_unmapped");
    t.is(r1.fault.cpu, 1);
    t.is(r1.fault.pc, TEXT);
    t.is(r1.fault.address, 0xdead_0000n);

    // Fetch from a protected page (freed text).
    const page = TEXT + 0x3000n;
    load(m, page, "mov x0, #1\nret");
    t.deepEqual(call(m, 0, page), { kind: "returned" });
    m.protect(page, PAGE_SIZE, PROT_NONE);
    const r2 = call(m, 0, page);
    t.is(r2.kind, "fault");
    if (r2.kind !== "fault") return;
    t.is(r2.fault.kind, "fetch_prot");
    t.is(r2.fault.pc, page);
    t.is(r2.fault.cpu, 0);

    // Write to a read-only page.
    m.protect(page, PAGE_SIZE, PROT_RWX & ~2);
    load(m, TEXT + 0x100n, "str x0, [x1]\nret");
    m.cpu(0).setX(1, page);
    const r3 = call(m, 0, TEXT + 0x100n);
    t.true(r3.kind === "fault" && r3.fault.kind === "write_prot" && r3.fault.address === page);

    // brk #0x100: the JIT fill word.
    load(m, TEXT + 0x200n, "brk #0x100");
    const r4 = call(m, 1, TEXT + 0x200n);
    t.true(r4.kind === "fault" && r4.fault.kind === "break_fault" && r4.fault.pc === TEXT + 0x200n);

    // Undefined instruction.
    m.writeInsn(TEXT + 0x300n, 0);
    m.invalidateText(TEXT + 0x300n, TEXT + 0x304n);
    const r5 = call(m, 0, TEXT + 0x300n);
    t.true(r5.kind === "fault" && r5.fault.kind === "undefined_instruction" && r5.fault.pc === TEXT + 0x300n);

    // The machine stays usable after faults.
    load(m, TEXT + 0x400n, "mov x0, #42\nret");
    t.deepEqual(call(m, 1, TEXT + 0x400n), { kind: "returned" });
    t.is(m.cpu(1).x(0), 42n);
  } finally {
    m.close();
  }
});

test("faults carry a frame-record backtrace", (t) => {
  const m = makeMachine(1);
  try {
    load(
      m,
      TEXT,
      [
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        `bl #${Number(TEXT + 0x100n)}`,
        "ldp x29, x30, [sp], #16",
        "ret",
      ].join("\n"),
    );
    load(m, TEXT + 0x100n, "stp x29, x30, [sp, #-16]!\nmov x29, sp\nbrk #0x100");
    m.symbolizer = (a) => (a >= TEXT && a < TEXT + 0x100n ? `outer+0x${(a - TEXT).toString(16)}/0x100` : undefined);
    const r = call(m, 0, TEXT);
    t.is(r.kind, "fault");
    if (r.kind !== "fault") return;
    t.is(r.fault.backtrace[0].pc, TEXT + 0x108n);
    t.is(r.fault.backtrace[1].pc, TEXT + 0xcn, "return address into outer");
    t.is(r.fault.backtrace[1].symbol, "outer+0xc/0x100");
  } finally {
    m.close();
  }
});

test("a JS exception inside a hook surfaces as a typed error from run", (t) => {
  const m = makeMachine(1);
  try {
    m.svc.register(7, "throws", () => {
      throw new Error("handler exploded");
    });
    load(m, TEXT, "svc #7\nret");
    const err = t.throws(() => call(m, 0, TEXT), { instanceOf: HookError });
    t.regex(err?.message ?? "", /exception in interrupt hook: handler exploded/);
    // still usable
    load(m, TEXT + 0x40n, "mov x0, #5\nret");
    t.deepEqual(call(m, 0, TEXT + 0x40n), { kind: "returned" });
    t.is(m.cpu(0).x(0), 5n);
  } finally {
    m.close();
  }
});

test("64-bit values round-trip as bigint above and below 2^53", (t) => {
  const m = makeMachine(1);
  try {
    const c = m.cpu(0);
    for (const v of [0n, 1n, 0x10014n, (1n << 53n) - 1n, 1n << 53n, 0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n]) {
      c.setX(5, v);
      const got = c.x(5);
      t.is(typeof got, "bigint");
      t.is(got, v);
      m.memory.write64(DATA + 8n, v);
      t.is(m.memory.read64(DATA + 8n), v);
    }
    const ctx = c.saveContext();
    ctx[CTX_SP] = 0xffff_8000_0000_0000n;
    c.loadContext(ctx);
    t.is(c.sp, 0xffff_8000_0000_0000n);
  } finally {
    m.close();
  }
});

test("bad input: typed errors, machine stays usable", (t) => {
  const m = makeMachine();
  try {
    const overlap = t.throws(() => m.map({ name: "dup", base: TEXT + 0x1000n, size: PAGE_SIZE, perms: PROT_RW }), {
      instanceOf: MachineError,
    });
    t.is(overlap?.errno, EEXIST);
    t.regex(overlap?.message ?? "", /overlapping region: dup .* overlaps text/);
    const unaligned = t.throws(() => m.map({ name: "odd", base: 0x5000_0010n, size: PAGE_SIZE, perms: PROT_RW }), {
      instanceOf: MachineError,
    });
    t.is(unaligned?.errno, EINVAL);
    // Outside the 64-bit address space: refused before any CPU is asked.
    for (const base of [-0x1000n, 1n << 64n]) {
      const e = t.throws(() => m.map({ name: "far", base, size: PAGE_SIZE, perms: PROT_RW }), {
        instanceOf: MachineError,
      });
      t.is(e?.errno, EINVAL);
      t.regex(e?.message ?? "", /region outside the 64-bit address space: far/);
    }
    // CPU 1 refuses the mapping (its Unicorn already has that page): CPU 0's
    // mapping is undone and the region is forgotten — nothing half-mapped.
    const HALF = 0x5100_0000n;
    const stray = m.map({ name: "stray", base: 0x5200_0000n, size: PAGE_SIZE, perms: PROT_RW });
    m.cpu(1).uc.memMapPtr(HALF, PROT_RW, stray.block);
    const before = m.memory.regions.length;
    t.throws(() => m.map({ name: "half", base: HALF, size: PAGE_SIZE, perms: PROT_RW }), { instanceOf: UnicornError });
    t.is(m.memory.regions.length, before);
    t.false(m.memory.regions.some((r) => r.name === "half"));
    t.throws(() => m.cpu(0).uc.memUnmap(HALF, PAGE_SIZE), { instanceOf: UnicornError }, "CPU 0 no longer maps it");
    m.cpu(1).uc.memUnmap(HALF, PAGE_SIZE);
    // The same range maps cleanly afterwards.
    const again = m.map({ name: "half", base: HALF, size: PAGE_SIZE, perms: PROT_RW });
    m.memory.write64(again.base, 5n);
    t.is(m.memory.read64(again.base), 5n);
    const outside = t.throws(() => m.memory.write64(0x7777_0000n, 1n), { instanceOf: MachineError });
    t.is(outside?.errno, EFAULT);
    t.regex(outside?.message ?? "", /host access outside mapped memory: 0x77770000/);
    t.throws(() => m.memory.read32(DATA + BigInt(4 * PAGE_SIZE) - 2n), { instanceOf: MachineError });
    const cpu = t.throws(() => m.cpu(2), { instanceOf: MachineError });
    t.regex(cpu?.message ?? "", /CPU index out of range: 2 \(machine has 2 CPUs\)/);
    t.throws(() => m.svc.register(70000, "big", () => "continue"), { instanceOf: MachineError });

    load(m, TEXT, "svc #4242\nret");
    const r = call(m, 0, TEXT);
    t.true(r.kind === "fault" && r.fault.kind === "unknown_hypercall" && r.fault.detail === "svc #4242");

    load(m, TEXT + 0x40n, "mov x0, #9\nret");
    t.deepEqual(call(m, 1, TEXT + 0x40n), { kind: "returned" });
    t.is(m.cpu(1).x(0), 9n);
  } finally {
    m.close();
  }
});

test("machines can be created and closed repeatedly", (t) => {
  for (let i = 0; i < 5; i++) {
    const m = makeMachine(2);
    load(m, TEXT, "mov x0, #1\nret");
    t.deepEqual(call(m, i % 2, TEXT), { kind: "returned" });
    m.close();
    t.throws(() => m.run(0, { quantum: 1 }), { instanceOf: MachineError });
  }
});
