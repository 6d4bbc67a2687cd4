import test from "ava";
import { spawnSync } from "node:child_process";
import { EINVAL, ENOTSUPP } from "../../errno.js";
import { BPF_PSEUDO_CALL } from "../opcodes.js";
import { buildBpfProg } from "../../loader/progs_build.js";
import { ObjectError } from "./errors.js";
import { bpfObjectOpen, internalMapName, objectNameFromPath } from "./open.js";
import { parseSecName } from "./sec_def.js";
import { compileBpfSnippet, PROLOGUE } from "../../loader/test_util.js";
import {
  BPF_F_MMAPABLE,
  BPF_F_RDONLY_PROG,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_PROG_ARRAY,
  BPF_MODIFY_RETURN,
  BPF_PROG_TYPE_EXT,
  BPF_PROG_TYPE_SCHED_CLS,
  BPF_PROG_TYPE_TRACING,
  BPF_TRACE_FENTRY,
  BPF_TRACE_FEXIT,
} from "./uapi.js";

test("internal map names follow libbpf (8-char object prefix, 7-char section, custom dot sections whole)", (t) => {
  t.is(internalMapName("my_object_name", ".rodata"), "my_objec.rodata");
  t.is(internalMapName("my_object_name", ".bss"), "my_objec.bss");
  t.is(internalMapName("my_object_name", ".data"), "my_objec.data");
  t.is(internalMapName("fentry_many_args", ".bss"), "fentry_m.bss");
  t.is(internalMapName("ab", ".rodata"), "ab.rodata");
  t.is(internalMapName("obj", ".rodata.str1.1"), ".rodata.str1.1");
  t.is(internalMapName("obj", ".data.a_very_long_custom_name"), ".data.a_very_lo");
  t.is(internalMapName("my-obj", ".bss"), "my_obj.bss", "sanitised to [A-Za-z0-9_.]");
  t.is(objectNameFromPath("/x/fentry_test.bpf.o"), "fentry_test");
  t.is(objectNameFromPath("prog.o"), "prog");
});

test("section names map to libbpf's program types and attach types", (t) => {
  const fentry = parseSecName("fentry/bpf_fentry_test1");
  t.is(fentry.def?.progType, BPF_PROG_TYPE_TRACING);
  t.is(fentry.def?.expectedAttachType, BPF_TRACE_FENTRY);
  t.is(fentry.attachTo, "bpf_fentry_test1");
  t.true(fentry.autoload);
  const sleepable = parseSecName("fentry.s/bpf_fentry_test1");
  t.true(sleepable.def?.sleepable);
  t.is(sleepable.def?.expectedAttachType, BPF_TRACE_FENTRY);
  t.is(parseSecName("fexit/f").def?.expectedAttachType, BPF_TRACE_FEXIT);
  t.is(parseSecName("fmod_ret/f").def?.expectedAttachType, BPF_MODIFY_RETURN);
  const q = parseSecName("?freplace/global_func");
  t.false(q.autoload);
  t.is(q.secName, "freplace/global_func");
  t.is(q.def?.progType, BPF_PROG_TYPE_EXT);
  t.is(q.attachTo, "global_func");
  t.is(parseSecName("tc").def?.progType, BPF_PROG_TYPE_SCHED_CLS);
  t.is(parseSecName("classifier").def?.progType, BPF_PROG_TYPE_SCHED_CLS);
  t.is(parseSecName("fentry").attachTo, undefined, "fentry alone: set the target before load");
  t.is(parseSecName("fentryx/f").def, undefined, "'+' patterns need '/' or an exact match");
  t.is(parseSecName("tcx").def, undefined);
  t.is(parseSecName("kprobe/do_sys_open").def?.sec, "kprobe+");
});

test("test_loader_tc.c: programs, subprograms, relocations, maps and global data as libbpf models them", (t) => {
  const build = buildBpfProg("test_loader_tc");
  const obj = bpfObjectOpen(build.bytes, { objectName: "test_loader_tc" });
  t.is(obj.license, "GPL");
  const names = obj.programs.map((p) => `${p.name}@${p.secName}${p.isSubprog ? " (sub)" : ""}`);
  t.deepEqual(names.sort(), ["global_sub@.text (sub)", "scale@.text (sub)", "tc_prog@tc"]);
  const tc = obj.programs.find((p) => p.name === "tc_prog")!;
  t.is(tc.def?.progType, BPF_PROG_TYPE_SCHED_CLS);
  t.true(tc.autoload);
  t.true(tc.global);
  t.false(obj.programs.find((p) => p.name === "scale")!.global, "static function");
  t.true(obj.programs.find((p) => p.name === "global_sub")!.global);
  // The map layout from the C source.
  const maps = Object.fromEntries(obj.maps.map((m) => [m.name, m]));
  t.deepEqual(Object.keys(maps).sort(), ["by_proto", "counts", "test_loa.bss", "test_loa.data", "test_loa.rodata"]);
  t.like(maps.counts, { type: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, kind: "btf" });
  t.like(maps.by_proto, { type: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16, kind: "btf" });
  t.like(maps["test_loa.bss"], {
    valueSize: 12,
    maxEntries: 1,
    kind: "bss",
    realName: ".bss",
    mapFlags: BPF_F_MMAPABLE,
  });
  t.like(maps["test_loa.rodata"], { valueSize: 4, kind: "rodata", mapFlags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE });
  t.deepEqual([...maps["test_loa.data"].initial!], [7, 0, 0, 0], "int data_var = 7");
  t.deepEqual([...maps["test_loa.rodata"].initial!], [3, 0, 0, 0], "multiplier = 3");
  t.deepEqual([...maps["test_loa.bss"].initial!], new Array(12).fill(0));
  // Relocations: counts and by_proto map loads, .bss runs/last_len, two calls into .text.
  const kinds = tc.relos.map((r) => r.kind).sort();
  t.deepEqual(kinds, ["call", "call", "data", "data", "map", "map", "map"]);
  const bss = obj.maps.indexOf(maps["test_loa.bss"]);
  t.deepEqual(
    tc.relos.filter((r) => r.kind === "data").map((r) => (r.kind === "data" ? [r.mapIdx, r.symOff] : [])),
    [
      [bss, 0],
      [bss, 8],
    ],
    "runs at .bss+0, last_len at .bss+8",
  );
  for (const r of tc.relos) {
    if (r.kind === "call") t.is(tc.insns[r.insnIdx].src, BPF_PSEUDO_CALL);
  }
  // BTF.ext: func info at the function start, line info, CO-RE relocs of the three __sk_buff reads.
  t.is(tc.funcInfo.length, 1);
  t.is(tc.funcInfo[0].insnOff, 0);
  t.true(tc.lineInfo.length > 5);
  t.true(tc.lineInfo.some((l) => l.line.includes("bpf_map_lookup_elem(&counts, &key)")));
  t.deepEqual(
    tc.coreRelos.map((r) => r.accessStr),
    ["0:4", "0:0", "0:0"],
    "skb->protocol (member 4), skb->len twice",
  );
});

test("instruction counts agree with llvm-objdump", (t) => {
  const build = buildBpfProg("test_loader_tc");
  const obj = bpfObjectOpen(build.bytes);
  const dump = spawnSync("llvm-objdump-19", ["-d", build.path], { encoding: "utf8" }).stdout;
  for (const p of obj.programs) {
    const body = dump.split(`<${p.name}>:`)[1].split(/\n\n/)[0];
    const slots = body
      .split("\n")
      .filter((l) => /^\s+\d+:/.test(l))
      .reduce((n, l) => n + (l.includes(" ll") ? 2 : 1), 0);
    t.is(p.insns.length, slots, p.name);
  }
});

test("prog arrays with __array(values) get their initial slots from .rel.maps", (t) => {
  const build = compileBpfSnippet(
    "loader_progarray",
    `${PROLOGUE}
int tail(struct __sk_buff *skb);
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jmp_table SEC(".maps") = { .values = { [2] = (void *)&tail } };
SEC("tc") int tail(struct __sk_buff *skb) { return 7; }
SEC("tc") int entry(struct __sk_buff *skb) { bpf_tail_call(skb, &jmp_table, 2); return 1; }
`,
  );
  const obj = bpfObjectOpen(build.bytes, { objectName: "loader_progarray" });
  const m = obj.maps.find((x) => x.name === "jmp_table")!;
  t.is(m.type, BPF_MAP_TYPE_PROG_ARRAY);
  t.is(m.valueSize, 4);
  t.deepEqual([...m.initSlots.entries()], [[2, "tail"]]);
});

test("static programs, unknown map fields and broken ELF are typed errors with libbpf's wording", (t) => {
  const stat = compileBpfSnippet(
    "loader_static",
    `${PROLOGUE}
SEC("tc") static int hidden(struct __sk_buff *skb) { return 0; }
SEC("tc") int visible(struct __sk_buff *skb) { return hidden(skb); }
`,
  );
  const e1 = t.throws(() => bpfObjectOpen(stat.bytes), { instanceOf: ObjectError });
  t.is(e1?.errno, ENOTSUPP);
  t.is(e1?.message, "libbpf: sec 'tc': program 'hidden' is static and not supported");

  const badMap = compileBpfSnippet(
    "loader_badmap",
    `${PROLOGUE}
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(frobnicate, 3);
	__type(key, __u32);
	__type(value, __u32);
} m SEC(".maps");
SEC("tc") int p(struct __sk_buff *skb) { __u32 k = 0; return bpf_map_lookup_elem(&m, &k) != 0; }
`,
  );
  const e2 = t.throws(() => bpfObjectOpen(badMap.bytes), { instanceOf: ObjectError });
  t.is(e2?.message, "libbpf: map 'm': unknown field 'frobnicate'.");

  const good = buildBpfProg("test_loader_tc").bytes;
  const e3 = t.throws(() => bpfObjectOpen(good.subarray(0, 40), { objectName: "t" }), { instanceOf: ObjectError });
  t.is(e3?.errno, EINVAL);
  t.regex(e3!.message, /^libbpf: elf: failed to open t: /);
});
