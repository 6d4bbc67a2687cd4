/**
 * Where the project lives on disk, for both the TypeScript sources (run
 * through tsx) and the built JavaScript under dist/.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "runtime"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the a64bpf project root");
    dir = up;
  }
}

/** The repository root (holds package.json, runtime/, selftests/). */
export const PROJECT_ROOT: string = findRoot();

/** Build cache (kernel images, compiled BPF objects), keyed by content hash. */
export const CACHE_DIR: string = process.env.A64BPF_CACHE_DIR ?? join(PROJECT_ROOT, ".cache");
