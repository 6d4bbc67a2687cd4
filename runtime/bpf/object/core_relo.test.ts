import test from "ava";
import { EINVAL } from "../../errno.js";
import { BpfObject } from "../../loader/skeleton.js";
import { PKT_V4 } from "../../loader/test_run.js";
import { bootBpfKernel } from "../../loader/testing.js";
import { essentialName } from "./core_relo.js";
import { ObjectError } from "./errors.js";
import { compileBpfSnippet, PROLOGUE } from "../../loader/test_util.js";

const SRC = `${PROLOGUE}
/* A local view of the kernel's struct: other member order, one member the kernel does not have. */
struct __sk_buff___local {
	__u32 protocol;
	__u32 missing_field;
	__u32 mark;
} __attribute__((preserve_access_index));
/* sk inside an anonymous union, as __bpf_md_ptr() declares it, at another offset than the kernel's. */
struct __sk_buff___anon {
	__u32 len;
	union {
		struct bpf_sock *sk;
		__u64 :64;
	};
} __attribute__((preserve_access_index));
/* The same field seen without the union: the target's anonymous union is searched by name. */
struct __sk_buff___flat {
	struct bpf_sock *sk;
} __attribute__((preserve_access_index));
struct no_such_type___x { int a; } __attribute__((preserve_access_index));
enum bpf_map_type___local { BPF_MAP_TYPE_HASH___local = 99, BPF_MAP_TYPE_ARRAY___local = 98 };

int off_sk_anon, off_sk_flat, sz_sk_anon;
int off_mark, off_protocol, exists_missing, exists_mark, sz_protocol, type_exists, type_missing;
long enum_array, mark_seen;
SEC("tc") int p(struct __sk_buff *ctx)
{
	struct __sk_buff___local *s = (void *)ctx;

	off_sk_anon = bpf_core_field_offset(((struct __sk_buff___anon *)ctx)->sk);
	sz_sk_anon = bpf_core_field_size(((struct __sk_buff___anon *)ctx)->sk);
	off_sk_flat = bpf_core_field_offset(((struct __sk_buff___flat *)ctx)->sk);
	off_mark = bpf_core_field_offset(s->mark);
	off_protocol = bpf_core_field_offset(s->protocol);
	exists_missing = bpf_core_field_exists(s->missing_field);
	exists_mark = bpf_core_field_exists(s->mark);
	sz_protocol = bpf_core_field_size(s->protocol);
	type_exists = bpf_core_type_exists(struct __sk_buff);
	type_missing = bpf_core_type_exists(struct no_such_type___x);
	enum_array = bpf_core_enum_value(enum bpf_map_type___local, BPF_MAP_TYPE_ARRAY___local);
	mark_seen = s->mark;
	return 0;
}
SEC("?tc") int reads_missing(struct __sk_buff *ctx)
{
	struct __sk_buff___local *s = (void *)ctx;
	return s->missing_field;
}
`;

test("essential names drop a ___flavor suffix", (t) => {
  t.is(essentialName("task_struct___old"), "task_struct");
  t.is(essentialName("__sk_buff___local"), "__sk_buff");
  t.is(essentialName("a___b___c"), "a___b");
  t.is(essentialName("plain"), "plain");
  t.is(essentialName("x____y"), "x____y", "four underscores are not a flavor separator");
});

test("CO-RE against the kernel's BTF: field offsets, sizes, existence, types, enum values", (t) => {
  const { kernel: k } = bootBpfKernel();
  try {
    const bytes = compileBpfSnippet("core_relo_test", SRC).bytes;
    const obj = BpfObject.open(bytes, { objectName: "core_relo_test" });
    obj.load(k);
    const ctxIn = new Uint8Array(192);
    new DataView(ctxIn.buffer).setUint32(8, 77, true);
    obj.program("p").testRun({ dataIn: PKT_V4, ctxIn });
    const bss = obj.bss!;
    t.is(bss.off_mark, 8, "struct __sk_buff: mark at 8 in the kernel (2 * 4 locally)");
    t.is(bss.off_protocol, 16);
    t.is(bss.off_sk_anon, 168, "sk through the local anonymous union: the kernel's offset, not the local 8");
    t.is(bss.sz_sk_anon, 8);
    t.is(bss.off_sk_flat, 168, "sk found inside the kernel's anonymous union by name");
    t.is(bss.exists_missing, 0);
    t.is(bss.exists_mark, 1);
    t.is(bss.sz_protocol, 4);
    t.is(bss.type_exists, 1);
    t.is(bss.type_missing, 0);
    t.is(bss.enum_array, 2n, "BPF_MAP_TYPE_ARRAY's kernel value, not the local 98");
    t.is(bss.mark_seen, 77n, "the relocated load reads skb->mark");
    obj.destroy();
    // A read of a field the kernel lacks is poisoned; the verifier rejects the call it became.
    const bad = BpfObject.open(bytes, { objectName: "core_relo_test" });
    bad.program("p").autoload = false;
    bad.program("reads_missing").autoload = true;
    const e = t.throws(() => bad.load(k), { instanceOf: ObjectError });
    t.is(e?.errno, EINVAL);
    t.regex(e!.message, /invalid func unknown#195896080/);
  } finally {
    k.close();
  }
});
