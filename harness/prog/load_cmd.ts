/**
 * `a64bpf prog load FILE [--prog NAME] [--log-level N]` and
 * `a64bpf prog dump xlated FILE [--prog NAME] [--no-source]`: bpftool's
 * `prog load` and `prog dump xlated` for BPF ELF objects, on a freshly
 * booted simulated kernel (bpf_testmod loaded).
 *
 *   prog load      one line per loaded program, as `bpftool prog show` prints it:
 *                  "12: sched_cls  name tc_prog  tag 14bc6a2a9acafd07  gpl"
 *                  "\txlated 400B  jited 812B  map_ids 1,2"
 *                  then the verifier log when --log-level is given;
 *                  a failure prints libbpf's lines and the verifier log
 *                  (between "-- BEGIN PROG LOAD LOG --" and "-- END PROG LOAD LOG --")
 *   dump xlated    the instructions after the verifier's rewrites, with map
 *                  ids, function prototypes and BTF source lines
 */
import { parseArgs } from "node:util";
import { ObjectError } from "../../runtime/bpf/object/errors.js";
import { PROG_TYPE_NAMES } from "../../runtime/bpf/object/uapi.js";
import { bpfSys } from "../../runtime/loader/bpf_sys.js";
import type { ProgIo } from "./dump_jited.js";
import { dumpXlated, loadElf } from "./elf.js";

/** Print a load failure the way libbpf does (with the verifier log). */
function reportFailure(err: unknown, io: ProgIo): number {
  if (!(err instanceof ObjectError)) throw err;
  io.err(`${err.message}\n`);
  const log = (err.cause as { log?: string } | undefined)?.log;
  if (log) io.err(`-- BEGIN PROG LOAD LOG --\n${log}-- END PROG LOAD LOG --\n`);
  return 1;
}

/** `prog load FILE [--prog NAME] [--log-level N]`. */
export async function loadCommand(argv: readonly string[], io: ProgIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { prog: { type: "string" }, "log-level": { type: "string" } },
  });
  if (positionals.length !== 1) {
    io.err("usage: a64bpf prog load FILE [--prog NAME] [--log-level 1|2]\n");
    return 2;
  }
  const logLevel = values["log-level"] === undefined ? undefined : Number(values["log-level"]);
  let loaded;
  try {
    loaded = loadElf(positionals[0], { prog: values.prog, logLevel });
  } catch (err) {
    return reportFailure(err, io);
  }
  try {
    const sys = bpfSys(loaded.kernel);
    for (const p of loaded.progs) {
      const type = PROG_TYPE_NAMES[p.type] ?? `type ${p.type}`;
      const gpl = loaded.obj.model.license && /GPL/.test(loaded.obj.model.license) ? "  gpl" : "";
      io.out(`${p.id}: ${type}  name ${p.name}  tag ${p.tag}${gpl}\n`);
      const maps = p.verifier.usedMaps.map((fd) => sys.findMap(fd)?.id).filter((x) => x !== undefined);
      io.out(`\txlated ${p.xlated.length * 8}B  jited ${p.jited.subprogs.reduce((n, f) => n + f.size, 0)}B`);
      io.out(maps.length ? `  map_ids ${maps.join(",")}\n` : "\n");
      if (logLevel) {
        const log = loaded.obj.programs.find((x) => x.prog === p)?.log ?? "";
        io.out(log);
      }
    }
    return 0;
  } finally {
    loaded.close();
  }
}

/** `prog dump xlated FILE [--prog NAME] [--no-source]`. */
export async function dumpXlatedCommand(argv: readonly string[], io: ProgIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { prog: { type: "string" }, "no-source": { type: "boolean" } },
  });
  if (positionals.length !== 1) {
    io.err("usage: a64bpf prog dump xlated FILE [--prog NAME] [--no-source]\n");
    return 2;
  }
  let loaded;
  try {
    loaded = loadElf(positionals[0], { prog: values.prog });
  } catch (err) {
    return reportFailure(err, io);
  }
  try {
    loaded.progs.forEach((p, i) => {
      if (loaded.progs.length > 1) io.out(`${i ? "\n" : ""}${p.name}:\n`);
      io.out(dumpXlated(p, { source: !values["no-source"] }));
    });
    return 0;
  } finally {
    loaded.close();
  }
}
