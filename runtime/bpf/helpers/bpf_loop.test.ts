import test from "ava";
import { E2BIG, EINVAL } from "../../errno.js";
import { BpfObject, openAndLoad } from "../../loader/skeleton.js";
import { bootBpfKernel } from "../../loader/testing.js";
import { PKT_V4 } from "../../loader/test_run.js";
import { compileBpfSnippet, PROLOGUE } from "../../loader/test_util.js";
import { BPF_FUNC_loop } from "../func_ids.js";
import type { Insn } from "../insn.js";
import { bpfInterp, INTERP_STACK_SIZE } from "../interp.js";
import { FlatMemory } from "../interp_mem.js";
import { STACK_TOP } from "../interp_test_util.js";
import { bpfLoop, interpBpfLoop, interpFuncAddr, type CallbackCall } from "./bpf_loop.js";
import { BPF_MAX_LOOPS } from "./protos.js";

/** Drive bpfLoop with a callback given as a function of the index; returns the result and the calls made. */
function drive(args: bigint[], cb: (i: number) => bigint): { ret: bigint; calls: CallbackCall[] } {
  const calls: CallbackCall[] = [];
  const loop = bpfLoop(args);
  for (let r = loop.next(); ;) {
    if (r.done) return { ret: r.value, calls };
    calls.push(r.value);
    r = loop.next(cb(calls.length - 1));
  }
}

test("bpf_loop semantics: flags, the BPF_MAX_LOOPS limit, u32 nr_loops, early stop, callback arguments", (t) => {
  t.deepEqual(
    drive([3n, 0x1000n, 0x2000n, 1n], () => 0n),
    { ret: -BigInt(EINVAL), calls: [] },
  );
  t.deepEqual(
    drive([BigInt(BPF_MAX_LOOPS + 1), 0x1000n, 0n, 0n], () => 0n),
    { ret: -BigInt(E2BIG), calls: [] },
  );
  t.is(
    drive([BigInt(BPF_MAX_LOOPS), 0x1000n, 0n, 0n], (i) => (i === 2 ? 1n : 0n)).ret,
    3n,
    "the limit itself is allowed",
  );
  const all = drive([(1n << 32n) + 3n, 0x1000n, 0x2000n, 0n], () => 0n);
  t.is(all.ret, 3n, "nr_loops is a u32");
  t.deepEqual(
    all.calls.map((c) => [c.fn, ...c.args]),
    [0n, 1n, 2n].map((i) => [0x1000n, i, 0x2000n, 0n, 0n, 0n]),
  );
  t.is(drive([10n, 0x1000n, 0n, 0n], (i) => (i === 4 ? 7n : 0n)).ret, 5n, "nonzero stops: calls made");
  t.is(drive([0n, 0x1000n, 0n, 0n], () => 1n).ret, 0n);
});

/**
 * The program both engines run: a stack ctx { sum, stop_at } updated by a
 * callback, and a nested bpf_loop inside another callback.
 *   ret = sum * 100 + calls made
 */
const SRC = `${PROLOGUE}
struct ctx_t { __u64 sum; __u32 stop_at; };
static int inner(__u32 i, struct ctx_t *c) { c->sum += 1000; return 0; }
static int cb(__u32 i, struct ctx_t *c)
{
	c->sum += i * 3 + 1;
	if (i == 2)
		bpf_loop(2, inner, c, 0);
	return i == c->stop_at;
}
SEC("tc") int loop_sum(struct __sk_buff *skb)
{
	struct ctx_t c = { .sum = 0, .stop_at = 7 };
	long n = bpf_loop(10, cb, &c, 0);
	return c.sum * 100 + n;
}
SEC("tc") int loop_flags(struct __sk_buff *skb)
{
	struct ctx_t c = { .sum = 0, .stop_at = 100 };
	return bpf_loop(10, cb, &c, 1);
}
`;
// i = 0..7 add 3i+1 (92), the nested loop at i == 2 adds 2000; 8 calls.
const EXPECTED_SUM = 92n + 2000n;

/** Run `insns` on the reference interpreter with bpf_loop as its only helper. */
function interp(insns: readonly Insn[]): bigint {
  const mem = new FlatMemory();
  mem.map(STACK_TOP - BigInt(INTERP_STACK_SIZE), new Uint8Array(INTERP_STACK_SIZE), { name: "stack" });
  const opts = {
    mem,
    stack: STACK_TOP,
    pseudoLd: interpFuncAddr(insns),
    helper: (id: number, call: Parameters<typeof interpBpfLoop>[1]): bigint => {
      if (id !== BPF_FUNC_loop) throw new Error(`unexpected helper ${id}`);
      return interpBpfLoop({ prog: insns, opts }, call);
    },
  };
  return bpfInterp(insns, opts).r0;
}

test("bpf_loop on both engines: the JITed program on the kernel and the interpreter give the kernel's answer", async (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const o = openAndLoad(k, compileBpfSnippet("bpf_loop_both", SRC).bytes, { objectName: "bpf_loop_both" });
    if (!(o instanceof BpfObject)) throw o;
    const sum = o.program("loop_sum");
    const jit = BigInt(sum.testRun({ dataIn: PKT_V4 }).retval);
    t.is(jit, EXPECTED_SUM * 100n + 8n, "JIT");
    const xlated = sum.prog!.verifier.insns;
    t.is(BigInt.asUintN(32, interp(xlated)), jit, "interpreter on the verified instructions");
    const flags = o.program("loop_flags");
    t.is(flags.testRun({ dataIn: PKT_V4 }).retval, (-EINVAL >>> 0) as number, "flags != 0: -EINVAL");
    t.is(BigInt.asUintN(32, interp(flags.prog!.verifier.insns)), BigInt(-EINVAL >>> 0));
    t.is(k.bugs.reports.length, 0);
  } finally {
    k.close();
  }
});
