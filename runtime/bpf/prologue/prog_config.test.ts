import test from "ava";
import { EINVAL } from "../../errno.js";
import { BpfError } from "../../errors.js";
import {
  BpfLoaderError,
  BPF_LOADER_ERRNO__CONFIG,
  BPF_LOADER_ERRNO__EVENTNAME,
  BPF_LOADER_ERRNO__GROUP,
  BPF_LOADER_ERRNO__PROGCONF_TERM,
} from "./loader_errno.js";
import { parsePerfProbeArg, synthesizePerfProbeArg } from "./perf_probe_arg.js";
import { parseProgConfig, PERF_BPF_PROBE_GROUP } from "./prog_config.js";

test("perf probe arguments: name, fields, type and @user in perf's order", (t) => {
  t.deepEqual(parsePerfProbeArg("page->flags"), {
    name: "flags",
    var: "page",
    fields: [{ name: "flags", ref: true }],
    userAccess: false,
  });
  t.deepEqual(parsePerfProbeArg("v=obj->inner->val:u32"), {
    name: "v",
    var: "obj",
    fields: [
      { name: "inner", ref: true },
      { name: "val", ref: true },
    ],
    type: "u32",
    userAccess: false,
  });
  t.deepEqual(parsePerfProbeArg("obj->embedded.ival").fields, [
    { name: "embedded", ref: true },
    { name: "ival", ref: false },
  ]);
  const arr = parsePerfProbeArg("obj->arr[0x2]");
  t.deepEqual(arr.fields, [
    { name: "arr", ref: true },
    { name: "[0x2]", ref: true, index: 2 },
  ]);
  t.is(arr.name, "arr", "named after the last non-index field");
  t.deepEqual(parsePerfProbeArg("p[3].x").fields, [
    { name: "[3]", ref: true, index: 3 },
    { name: "x", ref: false },
  ]);
  t.deepEqual(parsePerfProbeArg("param->sched_priority:s32@user"), {
    name: "sched_priority",
    var: "param",
    fields: [{ name: "sched_priority", ref: true }],
    type: "s32",
    userAccess: true,
  });
  t.false(parsePerfProbeArg("x@users").userAccess, "@user must be the whole tail");
  t.deepEqual(parsePerfProbeArg("x"), { var: "x", fields: [], userAccess: false }, "a bare variable stays unnamed");
  t.deepEqual(parsePerfProbeArg("%x1:u32"), { var: "%x1", fields: [], type: "u32", userAccess: false });
  t.deepEqual(parsePerfProbeArg("@jiffies"), { var: "@jiffies", fields: [], userAccess: false }, "@sym is a symbol");
  t.is(parsePerfProbeArg("+8(%x0)").var, "+8(%x0)", "raw fetch args are kept whole");
  for (const s of ["page->flags", "obj->embedded.ival", "obj->arr[2]", "x:u8"])
    t.is(synthesizePerfProbeArg(parsePerfProbeArg(s)), s);
});

test("perf probe arguments: semantic errors are EINVAL", (t) => {
  const cases: [string, RegExp][] = [
    ["obj->arr[]", /array index must be a number$/],
    ["obj->arr[x]", /array index must be a number$/],
    ["a-b", /argument parse error: -b$/],
    ["a->", /argument parse error: ->$/],
    ["a.", /argument parse error: \.$/],
    ["n=", /empty argument: n=$/],
  ];
  for (const [text, message] of cases) {
    const err = t.throws(() => parsePerfProbeArg(text), { instanceOf: BpfError, message });
    t.is(err?.errno, EINVAL, text);
  }
});

test('config string: event, function and arguments (SEC("lock_page=__lock_page page->flags"))', (t) => {
  const ev = parseProgConfig("lock_page=__lock_page page->flags");
  t.is(ev.group, PERF_BPF_PROBE_GROUP);
  t.is(ev.event, "lock_page");
  t.deepEqual(ev.point, { function: "__lock_page", line: 0, offset: 0, retprobe: false });
  t.deepEqual(ev.args.map(synthesizePerfProbeArg), ["page->flags"]);
  t.false(ev.uprobes);
  const full = parseProgConfig(
    "module=kprobe_testmod;inlines=no;force=on;perf_bpf_probe:fetch=kprobe_target+0x0 obj->inner->val x",
  );
  t.deepEqual(
    { target: full.target, noInlines: full.noInlines, forceAdd: full.forceAdd, event: full.event, n: full.args.length },
    { target: "kprobe_testmod", noInlines: true, forceAdd: true, event: "fetch", n: 2 },
  );
  t.is(parseProgConfig("r=f%return").point.retprobe, true);
  t.is(parseProgConfig("o=f+16").point.offset, 16);
  t.is(parseProgConfig("l=f:12").point.line, 12);
  t.is(parseProgConfig("s=f@kernel/sched/core.c").point.file, "kernel/sched/core.c");
  t.is(parseProgConfig("e=f   a \t b").args.length, 2, "any blanks separate arguments");
  t.true(parseProgConfig("exec=/bin/sh;u=main").uprobes);
});

test("config string: perf's errors — CONFIG, PROGCONF_TERM, GROUP, EVENTNAME", (t) => {
  const code = (s: string): number | undefined =>
    t.throws(() => parseProgConfig(s), { instanceOf: BpfLoaderError })?.errno;
  t.is(code("e=f+x"), BPF_LOADER_ERRNO__CONFIG, "non-digit offset");
  t.is(code("e=f%entry"), BPF_LOADER_ERRNO__CONFIG, "%entry is not supported");
  t.is(code("e=f:3+4"), BPF_LOADER_ERRNO__CONFIG, "offset with line number");
  t.is(code("e=f%return x"), BPF_LOADER_ERRNO__CONFIG, "local variable in a kretprobe");
  t.is(code("1e=f"), BPF_LOADER_ERRNO__CONFIG, "event names follow C naming");
  t.is(code("e=f a->"), BPF_LOADER_ERRNO__CONFIG, "argument parse error");
  t.is(code("e=file.c"), BPF_LOADER_ERRNO__CONFIG, "a file needs a line");
  t.is(code(""), BPF_LOADER_ERRNO__CONFIG);
  t.is(code("color=red;e=f"), BPF_LOADER_ERRNO__PROGCONF_TERM);
  t.is(code("kprobes:e=f"), BPF_LOADER_ERRNO__GROUP);
  t.is(code("f page->flags"), BPF_LOADER_ERRNO__EVENTNAME);
  t.is(code("__lock_page"), BPF_LOADER_ERRNO__EVENTNAME);
  t.is(
    t.throws(() => parseProgConfig("e=f+x"))?.message,
    "invalid config string: 'e=f+x' is not a valid config string: there is non-digit character in offset",
  );
  t.is(
    t.throws(() => parseProgConfig("f"))?.message,
    "no event name found in config string: 'f': event name is missing. Section name should be 'key=value'",
  );
  t.throws(() => parseProgConfig("force=maybe;e=f"), {
    instanceOf: BpfError,
    message: "invalid boolean in config term: force=maybe",
  });
});

test("config string: a term without '=' is skipped with perf's warning", (t) => {
  const seen: string[] = [];
  const ev = parseProgConfig("junk;e=f x", { warn: (m) => seen.push(m) });
  t.is(ev.event, "e");
  t.deepEqual(ev.warnings, ["WARNING: invalid config in BPF object: junk", "\tShould be 'key=value'."]);
  t.deepEqual(seen, ev.warnings);
});
