import test from "ava";
import { EFAULT, EINVAL } from "../errno.js";
import { BpfError } from "../errors.js";
import { parseElf } from "../bpf/elf.js";
import { bpfSys } from "./bpf_sys.js";
import { compileBpfSnippet, PROLOGUE } from "./test_util.js";
import { BpfObject, openAndLoad } from "./skeleton.js";
import { ETH_HLEN, PKT_V4 } from "./test_run.js";
import { bootBpfKernel } from "./testing.js";
import { SKB } from "../bpf/verifier/ctx_access.js";

function load(k: ReturnType<typeof bootBpfKernel>["kernel"], name: string, src: string): BpfObject {
  const o = openAndLoad(k, compileBpfSnippet(name, src).bytes, { objectName: name });
  if (!(o instanceof BpfObject)) throw o;
  return o;
}

test("PKT_V4 is byte for byte the selftests' pkt_v4 (compiled by clang from the same initializer)", (t) => {
  const b = compileBpfSnippet(
    "pkt_v4_oracle",
    `#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#define MAGIC_BYTES 123
struct ipv4_packet { struct ethhdr eth; struct iphdr iph; struct tcphdr tcp; } __attribute__((packed));
struct ipv4_packet pkt_v4 = {
	.eth.h_proto = __bpf_constant_htons(0x0800),
	.iph.ihl = 5,
	.iph.protocol = 6,
	.iph.tot_len = __bpf_constant_htons(MAGIC_BYTES),
	.tcp.urg_ptr = 123,
	.tcp.doff = 5,
};
`,
  );
  const elf = parseElf(b.bytes);
  const sym = elf.symbol("pkt_v4")!;
  const data = elf.sectionData(elf.sections[sym.shndx]).subarray(Number(sym.value), Number(sym.value) + sym.size);
  t.is(sym.size, 54);
  t.deepEqual(PKT_V4, new Uint8Array(data));
});

test("tc test_run: __sk_buff from the packet, ctx_in/ctx_out, data_out, repeat, and the kernel's EINVAL cases", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const o = load(
      k,
      "test_run_tc",
      `${PROLOGUE}
__u32 seen_len, seen_proto, seen_ifindex, seen_mark, runs;
SEC("tc") int p(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return 1;
	seen_len = skb->len;
	seen_proto = skb->protocol;
	seen_ifindex = skb->ifindex;
	seen_mark = skb->mark;
	runs++;
	skb->mark = 42;
	skb->cb[1] = 7;
	eth->h_dest[0] = 0xaa;
	return bpf_ntohs(eth->h_proto) + skb->len;
}
`,
    );
    const p = o.program("p");
    const ctxIn = new Uint8Array(SKB.size);
    new DataView(ctxIn.buffer).setUint32(SKB.mark, 5, true);
    const r = p.testRun({ dataIn: PKT_V4, ctxIn, repeat: 3 });
    t.is(r.retval, 0x0800 + 54, "h_proto + len");
    t.is(o.bss!.runs, 3, "repeat");
    t.is(o.bss!.seen_len, 54);
    t.is(o.bss!.seen_proto, 8, "ETH_P_IP in network order read as u32 on a little-endian CPU");
    t.is(o.bss!.seen_ifindex, 1, "the loopback device");
    t.is(o.bss!.seen_mark, 42, "repeated runs share the skb: the first run's write is seen");
    p.testRun({ dataIn: PKT_V4, ctxIn });
    t.is(o.bss!.seen_mark, 5, "from ctx_in");
    const ctxOut = new DataView(r.ctxOut!.buffer);
    t.is(ctxOut.getUint32(SKB.mark, true), 42);
    t.is(ctxOut.getUint32(SKB.cb + 4, true), 7);
    t.is(r.dataOut![0], 0xaa, "packet writes come back in data_out");
    t.deepEqual(r.dataOut!.subarray(1), PKT_V4.subarray(1));
    const e1 = t.throws(() => p.testRun({ dataIn: PKT_V4.subarray(0, ETH_HLEN - 1) }), { instanceOf: BpfError });
    t.is(e1?.errno, EINVAL);
    const badCtx = new Uint8Array(SKB.size);
    badCtx[SKB.len] = 1;
    const e2 = t.throws(() => p.testRun({ dataIn: PKT_V4, ctxIn: badCtx }), { instanceOf: BpfError });
    t.is(e2?.message, "test_run: __sk_buff field at offset 0 cannot be set from ctx_in");
    o.destroy();
  } finally {
    k.close();
  }
});

test("tracing test_run: -EFAULT when a bpf_fentry_test* returns the wrong value; fmod_ret's retval", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const o = load(
      k,
      "test_run_fmod",
      `${PROLOGUE}
int seen_a = 0;
SEC("fentry/bpf_fentry_test1") int BPF_PROG(fe, int a) { seen_a = a; return 0; }
SEC("fmod_ret/bpf_fentry_test1") int BPF_PROG(fm, int a, int ret) { return 100; }
SEC("fmod_ret/bpf_modify_return_test") int BPF_PROG(fm2, int a, int *b, int ret) { return ret + 1000; }
`,
    );
    t.is(o.attach(), 0);
    const e = t.throws(() => o.program("fe").testRun(), { instanceOf: BpfError });
    t.is(e?.errno, EFAULT, "bpf_fentry_test1(1) returned 100, not 2");
    t.is(o.bss!.seen_a, 1);
    // fm2 returns 0 + 1000 (ret is 0 before the original runs): non-zero, so bpf_modify_return_test(1, &b)
    // is skipped (no side effect) and returns 1000. bpf_modify_return_test2(1, &b, 3, 4, 5, 6, 7) runs:
    // b = 3, 1 + 3 + 3 + 4 + 5 + 6 + 7 = 29, one side effect. retval = (1 << 16) | (1000 + 29).
    const r = o.program("fm2").testRun();
    t.is(r.retval, (1 << 16) | (1000 + 29));
    t.is(t.throws(() => o.program("fe").testRun({ repeat: 2 }), { instanceOf: BpfError })?.errno, EINVAL);
    o.destroy();
  } finally {
    k.close();
  }
});

test("helpers: trace_printk to the trace pipe, probe_read_kernel faults, CPU id, map helpers' errnos from BPF", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const o = load(
      k,
      "test_run_helpers",
      `${PROLOGUE}
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
long r_read, r_full, r_noexist, r_del, r_update_again;
__u64 dst = 0x1122334455667788, cpu = 99, t0;
SEC("tc") int p(struct __sk_buff *skb)
{
	__u32 k1 = 1, k2 = 2;
	__u64 v = 5;
	bpf_printk("len=%d proto=0x%x", skb->len, bpf_ntohs(skb->protocol));
	r_read = bpf_probe_read_kernel(&dst, sizeof(dst), (void *)16);
	cpu = bpf_get_smp_processor_id();
	t0 = bpf_ktime_get_ns();
	bpf_map_update_elem(&h, &k1, &v, BPF_NOEXIST);
	r_noexist = bpf_map_update_elem(&h, &k1, &v, BPF_NOEXIST);
	r_full = bpf_map_update_elem(&h, &k2, &v, BPF_ANY);
	r_update_again = bpf_map_update_elem(&h, &k1, &v, BPF_EXIST);
	r_del = bpf_map_delete_elem(&h, &k2);
	return 0;
}
`,
    );
    o.program("p").testRun({ dataIn: PKT_V4 });
    const pipe = bpfSys(k).tracePipe;
    t.is(pipe.length, 1);
    t.regex(pipe[0], /^test_run-\d+ \[00\d\] bpf_trace_printk: len=54 proto=0x800$/);
    t.is(o.bss!.r_read, -BigInt(EFAULT));
    t.is(o.data!.dst, 0n, "the destination is zeroed on a fault");
    t.true(o.data!.cpu === 0n || o.data!.cpu === 1n);
    t.is(o.bss!.r_noexist, -17n, "-EEXIST");
    t.is(o.bss!.r_full, -7n, "-E2BIG");
    t.is(o.bss!.r_update_again, 0n);
    t.is(o.bss!.r_del, -2n, "-ENOENT");
    o.destroy();
  } finally {
    k.close();
  }
});
