/**
 * `a64bpf prog load` / `prog dump xlated` / `prog dump jited` on BPF ELF
 * objects: what bpftool prints for loaded programs, with map ids, BTF
 * function prototypes and source lines; load failures print libbpf's
 * lines and the verifier log.
 */
import test from "ava";
import { buildBpfProg } from "../../runtime/loader/progs_build.js";
import { runProg } from "./main.js";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runProg(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

test("prog load prints each loaded program like bpftool prog show", async (t) => {
  const r = await run(["load", buildBpfProg("test_loader_tc").path]);
  t.is(r.code, 0, r.err);
  t.regex(
    r.out,
    /^1: sched_cls {2}name tc_prog {2}tag [0-9a-f]{16} {2}gpl\n\txlated 512B {2}jited \d+B {2}map_ids [1-5](,[1-5]){4}\n$/,
  );
  const v = await run(["load", buildBpfProg("test_loader_tracing").path, "--prog", "fentry1", "--log-level", "1"]);
  t.is(v.code, 0, v.err);
  t.regex(v.out, /^1: tracing {2}name fentry1 /);
  t.regex(v.out, /processed \d+ insns \(limit 1000000\)/, "the verifier log follows");
});

test("prog load of a rejected program prints libbpf's error and the verifier log", async (t) => {
  const r = await run(["load", buildBpfProg("test_loader_tracing").path, "--prog", "past_last_arg"]);
  t.is(r.code, 1);
  t.is(
    r.err,
    [
      "libbpf: prog 'past_last_arg': failed to load: -EACCES: invalid bpf_context access off=8 size=8: insn 0: (79) r1 = *(u64 *)(r1 +8)",
      "-- BEGIN PROG LOAD LOG --",
      "0: R1=ctx() R10=fp0",
      "; past_val = ctx[1]; @ test_loader_tracing.c:69",
      "0: (79) r1 = *(u64 *)(r1 +8)",
      "func 'bpf_fentry_test1' doesn't have 2-th argument",
      "invalid bpf_context access off=8 size=8",
      "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
      "-- END PROG LOAD LOG --",
      "",
    ].join("\n"),
  );
});

test("prog dump xlated shows map ids, function prototypes, source lines and inlined helpers", async (t) => {
  const r = await run(["dump", "xlated", buildBpfProg("test_loader_tc").path]);
  t.is(r.code, 0, r.err);
  const lines = r.out.split("\n");
  t.is(lines[0], "int tc_prog(struct __sk_buff *skb):");
  t.is(lines[1], "; int tc_prog(struct __sk_buff *skb) @ test_loader_tc.c:36");
  t.is(lines[2], "   0: (bf) r6 = r1");
  t.true(lines.includes("  19: (18) r1 = map[id:1]"), "counts is map 1");
  t.true(lines.includes("  21: (85) call bpf_map_lookup_elem#1"));
  t.true(lines.includes("__u64 scale(__u64 v):"), "the static subprogram, appended");
  t.true(lines.includes("int global_sub(__u32 x):"));
  const tr = await run(["dump", "xlated", buildBpfProg("test_loader_tracing").path, "--prog", "fexit2", "--no-source"]);
  t.is(tr.code, 0, tr.err);
  t.regex(tr.out, /: \(79\) r0 = \*\(u64 \*\)\(r1 -8\)\n/, "bpf_get_func_arg_cnt inlined");
  t.regex(tr.out, /: \(79\) r0 = \*\(u64 \*\)\(r1 -16\)\n/, "bpf_get_func_ip inlined");
  t.notRegex(tr.out, /call bpf_get_func/);
  t.notRegex(tr.out, /^;/m, "--no-source");
});

test("prog dump jited of an ELF object: one program, source lines above its BPF and A64 code", async (t) => {
  const r = await run(["dump", "jited", buildBpfProg("test_loader_tc").path, "--prog", "tc_prog"]);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /^bpf_prog_[0-9a-f]{16}_tc_prog:\n; prologue\n/);
  t.regex(r.out, /; int tc_prog\(struct __sk_buff \*skb\) @ test_loader_tc\.c:36\n; 0: \(bf\) r6 = r1\n +[0-9a-f]+:\t/);
  t.regex(r.out, /\nbpf_prog_[0-9a-f]{16}_scale:\n/, "subprograms have their own images");
  t.regex(r.out, /; 19: \(18\) r1 = map\[id:1\]\n/, "maps by id, as in dump xlated");
  t.notRegex(r.out, /map\[fd:/);
  const bad = await run(["dump", "jited", buildBpfProg("test_loader_tc").path, "--prog", "nope"]);
  t.is(bad.code, 1);
  t.regex(bad.err, /no program 'nope'/);
});
