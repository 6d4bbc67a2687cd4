/**
 * Golden disassembly of trampolines: every flag combination on an
 * 11-argument function, 1/8/9/11/12 arguments with fentry+fexit, and
 * bpf_testmod_test_struct_arg_9 (a 16-byte struct on the stack).
 * Regenerate with A64BPF_UPDATE_GOLDEN=1 and review the diff.
 */
import test from "ava";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { initDisassembler } from "../a64/disasm.js";
import { PROJECT_ROOT } from "../paths.js";
import { aapcs64ArgLayout, type ArgType } from "./arg_layout.js";
import { formatTrampoline } from "./dump.js";
import {
  archPrepareBpfTrampoline,
  BPF_TRAMP_F_CALL_ORIG,
  BPF_TRAMP_F_IP_ARG,
  BPF_TRAMP_F_RESTORE_REGS,
  BPF_TRAMP_F_SKIP_FRAME,
  type TrampLink,
  type TrampLinks,
} from "./prepare.js";

const GOLDEN = join(PROJECT_ROOT, "runtime", "tramp", "golden");
const UPDATE = process.env.A64BPF_UPDATE_GOLDEN === "1";

const BASE = 0x4200_1000n;
const FUNC = 0x4100_0400n;
const IM = 0x4400_2000n;
const ENTER = 0x4000_0800n;
const EXIT = 0x4000_0808n;
const TRAMP_ENTER = 0x4000_0840n;
const TRAMP_EXIT = 0x4000_0848n;

function link(i: number, cookie = 0n): TrampLink {
  return {
    prog: 0x4400_3000n + BigInt(i * 0x100),
    bpfFunc: 0x4200_8000n + BigInt(i * 0x1000),
    cookie,
    enter: ENTER,
    exit: EXIT,
  };
}

const scalar = (name: string, typeName: string, size: number): ArgType => ({
  name,
  typeName,
  kind: typeName.endsWith("*") ? "ptr" : "int",
  size,
  align: size,
});
const u64 = (n: string) => scalar(n, "u64", 8);
const fentryTest11: ArgType[] = [
  u64("a"),
  scalar("b", "void *", 8),
  scalar("c", "short", 2),
  scalar("d", "int", 4),
  scalar("e", "void *", 8),
  scalar("f", "char", 1),
  scalar("g", "int", 4),
  scalar("h", "unsigned int", 4),
  scalar("i", "long", 8),
  u64("j"),
  scalar("k", "unsigned long", 8),
];
const structArg9: ArgType[] = [
  u64("a"),
  scalar("b", "void *", 8),
  scalar("c", "short", 2),
  scalar("d", "int", 4),
  scalar("e", "void *", 8),
  scalar("f", "char", 1),
  scalar("g", "short", 2),
  { name: "h", typeName: "struct bpf_testmod_struct_arg_5", kind: "struct", size: 16, align: 8 },
  scalar("i", "long", 8),
];
const longs = (n: number) => Array.from({ length: n }, (_, i) => u64(`a${i}`));

interface Case {
  file: string;
  func: string;
  args: ArgType[];
  links: TrampLinks;
  flags: number;
  bti?: boolean;
}

const fentryOnly = (n = 1): TrampLinks => ({
  fentry: Array.from({ length: n }, (_, i) => link(i)),
  fexit: [],
  fmodRet: [],
});
const both: TrampLinks = { fentry: [link(0)], fexit: [link(1)], fmodRet: [] };
const RESTORE = BPF_TRAMP_F_RESTORE_REGS;
const ORIG = BPF_TRAMP_F_CALL_ORIG | BPF_TRAMP_F_SKIP_FRAME;

const CASES: Case[] = [
  { file: "flags_fentry", func: "fentry_test11", args: fentryTest11, links: fentryOnly(), flags: RESTORE },
  {
    file: "flags_fentry_x2_cookie",
    func: "fentry_test11",
    args: fentryTest11,
    links: { fentry: [link(0, 0x1234_5678_9abc_def0n), link(1)], fexit: [], fmodRet: [] },
    flags: RESTORE,
  },
  {
    file: "flags_fexit",
    func: "fentry_test11",
    args: fentryTest11,
    links: { fentry: [], fexit: [link(0)], fmodRet: [] },
    flags: ORIG,
  },
  { file: "flags_fentry_fexit", func: "fentry_test11", args: fentryTest11, links: both, flags: ORIG },
  {
    file: "flags_fmod_ret_fexit",
    func: "fentry_test11",
    args: fentryTest11,
    links: { fentry: [], fexit: [link(0)], fmodRet: [link(1), link(2)] },
    flags: ORIG,
  },
  {
    file: "flags_fentry_ip_arg",
    func: "fentry_test11",
    args: fentryTest11,
    links: fentryOnly(),
    flags: RESTORE | BPF_TRAMP_F_IP_ARG,
  },
  {
    file: "flags_fexit_ip_arg",
    func: "fentry_test11",
    args: fentryTest11,
    links: both,
    flags: ORIG | BPF_TRAMP_F_IP_ARG,
  },
  { file: "flags_fentry_fexit_bti", func: "fentry_test11", args: fentryTest11, links: both, flags: ORIG, bti: true },
  ...[1, 8, 9, 11, 12].map((n): Case => ({
    file: `args_${n}`,
    func: `f${n}`,
    args: longs(n),
    links: both,
    flags: ORIG,
  })),
  { file: "struct_arg_9", func: "bpf_testmod_test_struct_arg_9", args: structArg9, links: both, flags: ORIG },
];

test.before(async () => {
  await initDisassembler();
  if (UPDATE) mkdirSync(GOLDEN, { recursive: true });
});

for (const c of CASES) {
  test(`golden trampoline: ${c.file}`, (t) => {
    const layout = aapcs64ArgLayout(c.func, c.args);
    const img = archPrepareBpfTrampoline({
      layout,
      flags: c.flags,
      links: c.links,
      funcAddr: FUNC,
      im: IM,
      trampEnter: TRAMP_ENTER,
      trampExit: TRAMP_EXIT,
      bti: c.bti,
    });
    const text = formatTrampoline(img, { func: c.func, base: BASE, flags: c.flags, links: c.links, layout });
    t.false(text.includes(".inst"), "every word decodes");
    const path = join(GOLDEN, `${c.file}.txt`);
    if (UPDATE || !existsSync(path)) {
      if (!UPDATE) t.fail(`missing golden file ${path}: run with A64BPF_UPDATE_GOLDEN=1`);
      writeFileSync(path, text);
    }
    t.is(text, readFileSync(path, "utf8"));
  });
}
