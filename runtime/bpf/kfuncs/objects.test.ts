import test from "ava";
import { BpfObject, openAndLoad } from "../../loader/skeleton.js";
import { PKT_V4 } from "../../loader/test_run.js";
import { bootBpfKernel } from "../../loader/testing.js";
import { compileBpfSnippet, PROLOGUE } from "../../loader/test_util.js";

/** A tc program that allocates an object, writes and reads it, and drops it (or keeps it on request). */
const SRC = `${PROLOGUE}
extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta) __ksym;
#define bpf_obj_new(type) ((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))
struct foo { __u64 a; __u32 b; __u32 c[5]; };
__u64 seen;
SEC("tc") int objs(struct __sk_buff *skb)
{
	struct foo *f = bpf_obj_new(typeof(*f));
	int r;

	if (!f)
		return 1;
	f->a = 40;
	f->b = 2;
	seen = (__u64)f;
	r = f->a + f->b;
	bpf_obj_drop_impl(f, NULL);
	return r;
}
`;

test("bpf_obj_new / bpf_obj_drop on the JIT: a 32-byte object from the slab, usable, then freed", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const o = openAndLoad(k, compileBpfSnippet("obj_new_drop", SRC).bytes, { objectName: "obj_new_drop" });
    if (!(o instanceof BpfObject)) throw o;
    const p = o.program("objs");
    // The verifier passed the size in R1 (sizeof(struct foo) = 32) before the call.
    const xlated = p.prog!.verifier.insns;
    t.true(
      xlated.some((x) => x.code === 0xb7 && x.dst === 1 && x.imm === 32),
      "r1 = 32 in the rewritten program",
    );
    const live = k.slab.live;
    const r = p.testRun({ dataIn: PKT_V4, repeat: 5 });
    t.is(r.retval, 42);
    const addr = BigInt(o.bss!.seen as number | bigint);
    t.not(addr, 0n);
    t.is(k.slab.ksize(addr), undefined, "freed by bpf_obj_drop_impl");
    t.is(k.slab.live, live, "every run freed its object");
    t.is(k.bugs.reports.length, 0);
  } finally {
    k.close();
  }
});
