/**
 * BPF_PROG_TEST_RUN (net/bpf/test_run.c): bpf_prog_test_run_skb for tc
 * programs and bpf_prog_test_run_tracing for fentry/fexit/fmod_ret.
 *
 *   tc (sched_cls / sched_act)
 *     data_in (≥ ETH_HLEN) ─► kmalloc'd packet; emulated skb:
 *       ┌─ struct __sk_buff (192 bytes, uapi layout) ─┬─ data ─┬─ data_end ─┬─ data_meta ─┐
 *       │ len = size, protocol = eth->h_proto,        │ u64    │ u64        │ u64         │
 *       │ ifindex = 1 (lo), ctx_in fields copied      │        │            │             │
 *       └─────────────────────────────────────────────┴────────┴────────────┴─────────────┘
 *       (the verifier rewrote the u32 loads of data/data_end/data_meta into
 *        u64 loads of the pointers, as convert_ctx_accesses does)
 *     run `repeat` times on a kernel task (rcu_read_lock + migrate_disable
 *     as bpf_test_run), retval = the program's u32 return value,
 *     duration = virtual ns per run, data_out = the packet, ctx_out = the
 *     writable __sk_buff fields (convert_skb_to___skb)
 *   tracing
 *     no ctx, data or repeat (-EINVAL); calls the simulated kernel's
 *     bpf_prog_test_run_tracing(expected_attach_type, &retval): it calls
 *     bpf_fentry_test1..10 (fentry/fexit; -EFAULT if one returns a wrong
 *     value) or bpf_modify_return_test/2 (fmod_ret, retval =
 *     side_effect << 16 | ret)
 *
 * Only fields of __sk_buff the kernel lets user space set may be non-zero
 * in ctx_in (convert___skb_to_skb): mark, priority, ingress_ifindex,
 * ifindex, cb[], tstamp, wire_len, gso_segs, gso_size, hwtstamp; anything
 * else is -EINVAL.
 */
import { EINVAL, ENOTSUPP } from "../errno.js";
import { BpfError } from "../errors.js";
import type { Kernel } from "../kernel/kernel.js";
import type { BpfProg } from "./prog.js";
import {
  BPF_MODIFY_RETURN,
  BPF_PROG_TYPE_SCHED_ACT,
  BPF_PROG_TYPE_SCHED_CLS,
  BPF_PROG_TYPE_TRACING,
  BPF_TRACE_FENTRY,
  BPF_TRACE_FEXIT,
} from "../bpf/object/uapi.js";
import { SKB } from "../bpf/verifier/ctx_access.js";
import { SKB_DATA_END_PTR_OFF, SKB_DATA_META_PTR_OFF, SKB_DATA_PTR_OFF } from "../bpf/verifier/fixups.js";

/** ETH_HLEN. */
export const ETH_HLEN = 14;
/** Bytes reserved before the packet (NET_SKB_PAD + NET_IP_ALIGN). */
export const TEST_RUN_HEADROOM = 64 + 2;

/** The selftests' pkt_v4: Ethernet + IPv4 (ihl 5, TCP, tot_len 123) + TCP (doff 5, urg_ptr 123), 54 bytes. */
export const PKT_V4: Uint8Array = (() => {
  const b = new Uint8Array(54);
  b[12] = 0x08; // h_proto = htons(ETH_P_IP)
  b[13] = 0x00;
  b[14] = 0x05; // ihl = 5 (version 0, as the selftest leaves it)
  b[16] = 0x00; // tot_len = htons(MAGIC_BYTES = 123)
  b[17] = 0x7b;
  b[23] = 6; // protocol = IPPROTO_TCP
  b[34 + 12] = 0x50; // doff = 5
  b[34 + 18] = 123; // urg_ptr = 123 (host order, as the selftest writes it)
  return b;
})();

/** bpf_test_run_opts. */
export interface TestRunOpts {
  readonly dataIn?: Uint8Array;
  /** Size of the data_out buffer (default: data_in's). */
  readonly dataSizeOut?: number;
  readonly ctxIn?: Uint8Array;
  readonly repeat?: number;
}

/** What the syscall gives back. */
export interface TestRunResult {
  readonly retval: number;
  /** Average virtual ns per run. */
  readonly duration: number;
  readonly dataOut?: Uint8Array;
  readonly ctxOut?: Uint8Array;
}

const CTX_SETTABLE: readonly [number, number][] = [
  [SKB.mark, 4],
  [SKB.priority, 4],
  [SKB.ingress_ifindex, 4],
  [SKB.ifindex, 4],
  [SKB.cb, 20],
  [SKB.tstamp, 8],
  [SKB.wire_len, 4],
  [SKB.gso_segs, 4],
  [SKB.gso_size, 4],
  [SKB.hwtstamp, 8],
];

/** convert___skb_to_skb(): only the settable fields may be non-zero. */
function checkCtxIn(ctx: Uint8Array): void {
  if (ctx.length > SKB.size) {
    for (let i = SKB.size; i < ctx.length; i++) {
      if (ctx[i]) throw new BpfError(EINVAL, `test_run: ctx_in has non-zero bytes past struct __sk_buff (${i})`);
    }
  }
  for (let i = 0; i < Math.min(ctx.length, SKB.size); i++) {
    if (!ctx[i]) continue;
    if (!CTX_SETTABLE.some(([o, n]) => i >= o && i < o + n)) {
      throw new BpfError(EINVAL, `test_run: __sk_buff field at offset ${i} cannot be set from ctx_in`);
    }
  }
}

function runOnTask(k: Kernel, fn: bigint, args: bigint[]): bigint {
  return k.call(fn, args, { comm: "test_run" });
}

/** bpf_prog_test_run_skb(). */
function testRunSkb(k: Kernel, prog: BpfProg, opts: TestRunOpts): TestRunResult {
  const data = opts.dataIn;
  if (!data || data.length < ETH_HLEN)
    throw new BpfError(EINVAL, `test_run: data_in of ${data?.length ?? 0} bytes (need ${ETH_HLEN})`);
  if (opts.ctxIn) checkCtxIn(opts.ctxIn);
  const repeat = Math.max(1, opts.repeat ?? 1);
  const mem = k.machine.memory;
  const buf = k.slab.kzalloc(TEST_RUN_HEADROOM + data.length + 320);
  const skb = k.slab.kzalloc(SKB.size + 24);
  try {
    const pkt = buf + BigInt(TEST_RUN_HEADROOM);
    mem.writeBytes(pkt, data);
    const w32 = (off: number, v: number) => mem.write32(skb + BigInt(off), v >>> 0);
    if (opts.ctxIn) mem.writeBytes(skb, opts.ctxIn.subarray(0, SKB.size));
    w32(SKB.len, data.length);
    w32(SKB.protocol, data[12] | (data[13] << 8)); // eth_type_trans: h_proto, network order
    if (!opts.ctxIn || new DataView(opts.ctxIn.buffer, opts.ctxIn.byteOffset).getUint32(SKB.ifindex, true) === 0) {
      w32(SKB.ifindex, 1); // the loopback device
    }
    w32(SKB.wire_len, mem.read32(skb + BigInt(SKB.wire_len)) || data.length);
    mem.write64(skb + BigInt(SKB_DATA_PTR_OFF), pkt);
    mem.write64(skb + BigInt(SKB_DATA_END_PTR_OFF), pkt + BigInt(data.length));
    mem.write64(skb + BigInt(SKB_DATA_META_PTR_OFF), pkt);
    const t0 = k.sched.now;
    let ret = 0n;
    for (let i = 0; i < repeat; i++) ret = runOnTask(k, prog.bpfFunc, [skb]);
    const duration = Number((k.sched.now - t0) / BigInt(repeat));
    const len = mem.read32(skb + BigInt(SKB.len));
    const outLen = Math.min(len, opts.dataSizeOut ?? len);
    const dataOut = mem.readBytes(pkt, outLen);
    let ctxOut: Uint8Array | undefined;
    if (opts.ctxIn) {
      const all = mem.readBytes(skb, SKB.size);
      ctxOut = new Uint8Array(opts.ctxIn.length);
      ctxOut.set(opts.ctxIn.subarray(0, Math.min(opts.ctxIn.length, SKB.size)));
      for (const [o, n] of CTX_SETTABLE) if (o + n <= ctxOut.length) ctxOut.set(all.subarray(o, o + n), o);
    }
    return { retval: Number(ret & 0xffffffffn), duration, dataOut, ctxOut };
  } finally {
    k.slab.kfree(skb);
    k.slab.kfree(buf);
  }
}

/** bpf_prog_test_run_tracing(). */
function testRunTracing(k: Kernel, prog: BpfProg, opts: TestRunOpts): TestRunResult {
  if (opts.ctxIn || opts.dataIn || (opts.repeat ?? 0) > 1) {
    throw new BpfError(EINVAL, "test_run: tracing programs take no ctx, data or repeat");
  }
  const eat = prog.expectedAttachType;
  if (eat !== BPF_TRACE_FENTRY && eat !== BPF_TRACE_FEXIT && eat !== BPF_MODIFY_RETURN) {
    throw new BpfError(ENOTSUPP, "test_run: only fentry, fexit and fmod_ret tracing programs can be test-run");
  }
  const out = k.slab.kzalloc(8);
  try {
    const err = Number(
      BigInt.asIntN(32, runOnTask(k, k.symbolAddress("bpf_prog_test_run_tracing"), [BigInt(eat), out])),
    );
    if (err < 0) throw new BpfError(-err, `test_run: bpf_prog_test_run_tracing returned ${err}`);
    return { retval: k.machine.memory.read32(out), duration: 0 };
  } finally {
    k.slab.kfree(out);
  }
}

/** BPF_PROG_TEST_RUN for `prog`; a failure is a BpfError with the kernel's errno (the syscall's -errno). */
export function bpfProgTestRun(k: Kernel, prog: BpfProg, opts: TestRunOpts = {}): TestRunResult {
  switch (prog.type) {
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
      return testRunSkb(k, prog, opts);
    case BPF_PROG_TYPE_TRACING:
      return testRunTracing(k, prog, opts);
    default:
      throw new BpfError(ENOTSUPP, `test_run: program type ${prog.type} has no test_run`);
  }
}
