/**
 * `a64bpf prog dump jited --trampoline <func>`: the BPF trampoline of a
 * kernel function, disassembled and annotated with its frame offsets.
 *
 *   --object FILE        attach the object's programs (.o, or .c built like
 *                        selftests/progs) and dump the trampoline they get
 *   --fentry N --fexit N --fmod-ret N
 *                        without --object: attach N placeholder programs of
 *                        each kind (default one fentry)
 *   --ip-arg             placeholder programs call bpf_get_func_ip (IP_ARG)
 *   --module FILE.c      load a C module first (repeatable)
 *
 * The listing is the image in emulated memory; the annotations come from
 * the builder, and the two are checked to be the same words.
 */
import { Command } from "commander";
import { resolve } from "node:path";
import { initAssembler } from "../../runtime/a64/asm.js";
import { initDisassembler } from "../../runtime/a64/disasm.js";
import { ENOENT, EFAULT } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import { bpfSys } from "../../runtime/loader/bpf_sys.js";
import { buildBpfProg } from "../../runtime/loader/progs_build.js";
import { BpfObject } from "../../runtime/loader/skeleton.js";
import { bootBpfKernel } from "../../runtime/loader/testing.js";
import { asmRaw } from "../../runtime/kernel/testing.js";
import { formatTrampoline } from "../../runtime/tramp/dump.js";
import { btfDistillFuncProto } from "../../runtime/tramp/func_model.js";
import { bpfTracingProgAttach, type TrampKind, type TrampTarget } from "../../runtime/tramp/trampoline.js";
import type { ProgIo } from "./dump_jited.js";

interface Opts {
  trampoline: string;
  object?: string;
  fentry: string;
  fexit: string;
  fmodRet: string;
  ipArg?: boolean;
  module: string[];
}

/** Run the command; argv excludes "prog dump jited". */
export async function dumpTrampolineCommand(argv: readonly string[], io: ProgIo): Promise<number> {
  const collect = (v: string, prev: string[]) => [...prev, v];
  const cmd = new Command("a64bpf prog dump jited")
    .requiredOption("--trampoline <func>", "kernel function whose trampoline to dump")
    .option("--object <file>", "attach this BPF object's programs")
    .option("--fentry <n>", "placeholder fentry programs", "0")
    .option("--fexit <n>", "placeholder fexit programs", "0")
    .option("--fmod-ret <n>", "placeholder fmod_ret programs", "0")
    .option("--ip-arg", "placeholder programs use bpf_get_func_ip")
    .option("--module <file.c>", "load a C module first (repeatable)", collect, [])
    .exitOverride();
  cmd.parse([...argv], { from: "user" });
  const o = cmd.opts<Opts>();
  await initDisassembler();
  const { kernel: k, images } = bootBpfKernel({ cpus: 1 });
  try {
    for (const m of o.module) images.loadModule([resolve(m)]);
    const sys = bpfSys(k);
    let obj: BpfObject | undefined;
    if (o.object) {
      const path = resolve(o.object);
      obj = BpfObject.open(path.endsWith(".c") ? buildBpfProg(path).bytes : path);
      obj.load(k);
      const err = obj.attach();
      if (err) throw new BpfError(-err, `failed to attach ${o.object}: ${err}`);
    } else {
      await initAssembler();
      const f = images.func(o.trampoline);
      const target: TrampTarget = {
        kind: "kernel",
        name: f.name,
        addr: f.addr,
        model: btfDistillFuncProto(f.btf, f.name),
        btfObjId: f.btfObjId,
        btfId: f.btfId,
      };
      const counts: [TrampKind, number][] = [
        ["fentry", Number(o.fentry)],
        ["fexit", Number(o.fexit)],
        ["fmod_ret", Number(o.fmodRet)],
      ];
      if (counts.every(([, n]) => n === 0)) counts[0][1] = 1;
      for (const [kind, n] of counts) {
        for (let i = 0; i < n; i++) {
          const name = `${kind}_${i}`;
          const prog = k.slab.kzalloc(64);
          k.bpfRun.registerProg({ addr: prog, name, sleepable: false });
          const bpfFunc = asmRaw(k, name, "mov x0, #0\nret");
          k.runKthread("attach", (task) =>
            bpfTracingProgAttach(
              sys.trampolines,
              task,
              { name, prog, bpfFunc, sleepable: false, callGetFuncIp: o.ipArg },
              kind,
              target,
            ),
          );
        }
      }
    }
    const tr = sys.trampolines.all().find((t) => t.target.name === o.trampoline && t.curImage);
    if (!tr?.curImage?.built) throw new BpfError(ENOENT, `no trampoline attached to ${o.trampoline}`);
    const { img, spec } = tr.curImage.built;
    const mem = k.machine.memory;
    for (let i = 0; i < img.words.length; i++) {
      if (mem.read32(tr.curImage.image + BigInt(4 * i)) !== img.words[i]) {
        throw new BpfError(EFAULT, `trampoline image differs from its build at +0x${(4 * i).toString(16)}`);
      }
    }
    io.out(`${tr.curImage.ksym}:\n`);
    io.out(
      formatTrampoline(img, {
        func: o.trampoline,
        base: tr.curImage.image,
        flags: spec.flags,
        links: spec.links,
        layout: spec.layout,
      }),
    );
    obj?.destroy();
    return 0;
  } finally {
    k.close();
  }
}
