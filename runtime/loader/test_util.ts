/**
 * Test helpers for the loader: compile a C snippet for BPF (through the
 * cached progs build) into a temporary directory.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBpfProg, type BpfProgBuild } from "./progs_build.js";

let dir: string | undefined;

/** Compile `src` as `<name>.c` (vmlinux.h and the libbpf headers available). */
export function compileBpfSnippet(name: string, src: string): BpfProgBuild {
  dir ??= mkdtempSync(join(tmpdir(), "a64bpf-obj-test-"));
  const path = join(dir, `${name}.c`);
  writeFileSync(path, src);
  return buildBpfProg(path);
}

/** The usual includes of a selftest program. */
export const PROLOGUE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
char _license[] SEC("license") = "GPL";
`;
