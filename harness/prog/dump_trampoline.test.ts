import test from "ava";
import { runProg } from "./main.js";

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runProg(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

test("prog dump jited --trampoline: the trampoline of tracing_struct_many_args on struct_arg_9, annotated", async (t) => {
  const r = await run(
    "dump",
    "jited",
    "--trampoline",
    "bpf_testmod_test_struct_arg_9",
    "--object",
    "selftests/progs/tracing_struct_many_args.c",
  );
  t.is(r.code, 0, r.err);
  t.regex(r.out, /^bpf_trampoline_\d+:$/m);
  t.regex(r.out, /; flags CALL_ORIG\|SKIP_FRAME; 9 args, 10 ctx slots, 24 bytes of stacked args/);
  t.regex(r.out, /; arg struct bpf_testmod_struct_arg_5 h: \[sp\+0\] -> ctx\[7\.\.8\]/);
  t.regex(r.out, /ldr x10, \[x29, #0x20\]\s+; h from the caller's stack/);
  t.regex(r.out, /nop\s+; im->ip_after_call/);
});

test("prog dump jited --trampoline: placeholder programs, IP_ARG; unknown function", async (t) => {
  const r = await run("dump", "jited", "--trampoline", "bpf_fentry_test1", "--fexit", "1", "--ip-arg");
  t.is(r.code, 0, r.err);
  t.regex(r.out, /; flags CALL_ORIG\|SKIP_FRAME\|IP_ARG; 1 args, 1 ctx slots/);
  t.regex(r.out, /ctx\[-2\] = traced function ip/);
  const bad = await run("dump", "jited", "--trampoline", "no_such_func");
  t.is(bad.code, 1);
  t.regex(bad.err, /no BTF for function no_such_func/);
});
