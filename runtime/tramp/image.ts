/**
 * struct bpf_tramp_image: allocation and the teardown protocol of
 * kernel/bpf/trampoline.c (bpf_tramp_image_alloc, bpf_tramp_image_put and
 * its callbacks), in the kernel's order.
 *
 * What protects what while an old image may still be executing:
 *   rcu_read_lock_trace  sleepable programs           (__bpf_prog_enter_sleepable*)
 *   rcu_read_lock        normal programs              (__bpf_prog_enter*)
 *   percpu_ref (pcref)   the trampoline body around the original call
 *                        (__bpf_tramp_enter .. __bpf_tramp_exit)
 *   RCU-tasks            the few instructions before __bpf_tramp_enter and
 *                        after __bpf_tramp_exit, which no refcount covers
 *
 * Teardown, image with ip_after_call (fexit / fmod_ret):
 *
 *   bpf_tramp_image_put
 *     1. poke ip_after_call: nop → b ip_epilogue   (fexit progs are skipped from now on;
 *                                                   the original may still be running)
 *     2. call_rcu_tasks ──► __bpf_tramp_image_put_rcu_tasks: percpu_ref_kill(pcref)
 *                                                   (tasks preempted before
 *                                                   __bpf_tramp_enter got their ref)
 *     3. pcref hits 0  ──► __bpf_tramp_image_release: call_rcu_tasks
 *                                                   (tasks just past __bpf_tramp_exit)
 *     4.               ──► __bpf_tramp_image_put_rcu: schedule_work
 *     5. kworker       ──► __bpf_tramp_image_put_deferred: ksym del, free text,
 *                                                   percpu_ref_exit, kfree(im)
 *
 * Teardown, fentry-only image (never calls the original, no pcref):
 *
 *     1. call_rcu_tasks_trace ──► __bpf_tramp_image_put_rcu_tasks: call_rcu_tasks
 *                                                   (sleepable progs done)
 *     2.                      ──► __bpf_tramp_image_put_rcu: schedule_work
 *     3. kworker              ──► __bpf_tramp_image_put_deferred: free
 *
 * Fault injection (runtime/kernel/fault_inject.ts) removes single steps:
 * skip-first-rcu-tasks-wait (step 2 / fentry step 1 runs at once),
 * skip-percpu-ref-wait (the free goes on without waiting for pcref),
 * skip-final-rcu-tasks-wait (step 3 / fentry step 2 runs at once),
 * rcu-tasks-as-plain-rcu (every call_rcu_tasks here is call_rcu).
 */
import { ENOMEM } from "../errno.js";
import { KernelError } from "../errors.js";
import { createLogger } from "../log.js";
import type { Kernel } from "../kernel/kernel.js";
import type { KGen, Task } from "../kernel/task.js";
import type { TextAllocator, TextAllocation } from "../kernel/text_alloc.js";
import { PercpuRef } from "../rcu/percpu_ref.js";
import type { TrampImage, TrampSpec } from "./prepare.js";
import { bpfArchTextPoke, type TextPokeEnv } from "./text_poke.js";

const log = createLogger("tramp");

/** sizeof(struct bpf_tramp_image), for the kmalloc that gives `im` its address. */
const BPF_TRAMP_IMAGE_SIZE = 128;

/** A trampoline image (struct bpf_tramp_image). */
export class BpfTrampImage {
  /** Address of the struct in kernel memory (passed to __bpf_tramp_enter/exit). */
  readonly im: bigint;
  readonly text: TextAllocation;
  readonly ksym: string;
  readonly pcref: PercpuRef;
  /** Absolute addresses of the recorded patch points (CALL_ORIG images only). */
  ipAfterCall: bigint | undefined;
  ipEpilogue: bigint | undefined;
  /** Lifecycle, for reports and leak checks. */
  state: "live" | "put" | "killed" | "released" | "freed" = "live";
  /** Called once the image's memory is freed (leak accounting). */
  onFreed: (() => void) | undefined;
  /** What the image was built from, for annotated dumps (prog dump jited --trampoline). */
  built: { img: TrampImage; spec: TrampSpec } | undefined;
  readonly #pool: TextAllocator;

  constructor(im: bigint, text: TextAllocation, ksym: string, pcref: PercpuRef, pool: TextAllocator) {
    this.im = im;
    this.text = text;
    this.ksym = ksym;
    this.pcref = pcref;
    this.#pool = pool;
  }

  get image(): bigint {
    return this.text.addr;
  }

  get pool(): TextAllocator {
    return this.#pool;
  }
}

/**
 * bpf_tramp_image_alloc(key, size): text from `pool`, the ksym
 * bpf_trampoline_<key>, and the percpu_ref whose release starts step 3.
 */
export function bpfTrampImageAlloc(k: Kernel, key: bigint, size: number, pool: TextAllocator): BpfTrampImage {
  const ksym = `bpf_trampoline_${key}`;
  const text = pool.alloc(size, ksym);
  let im: bigint;
  try {
    im = k.slab.kzalloc(BPF_TRAMP_IMAGE_SIZE);
  } catch (err) {
    pool.free(text.addr);
    throw new KernelError(ENOMEM, `bpf_tramp_image_alloc: ${(err as Error).message}`);
  }
  // The release callback needs the image: bind it after construction.
  let image: BpfTrampImage | undefined;
  const pcref = new PercpuRef(`${ksym}.pcref`, {
    ncpus: k.machine.cpus.length,
    rcu: k.rcu,
    release: () => {
      if (image) bpfTrampImageRelease(k, image);
    },
  });
  image = new BpfTrampImage(im, text, ksym, pcref, pool);
  pcref.onEvent = (what) =>
    k.ktrace.emit({ kind: what === "kill" ? "ref_kill" : "ref_release", t: k.sched.now, ref: pcref.name });
  k.ktrace.emit({ kind: "image_alloc", t: k.sched.now, image: ksym, addr: text.addr, size: text.size });
  k.bpfRun.registerImage({ addr: im, name: ksym, pcref });
  k.kallsyms.addBpf({ name: ksym, start: text.addr, end: text.addr + BigInt(text.size) });
  return image;
}

/** call_rcu_tasks(), or call_rcu() under the rcu-tasks-as-plain-rcu switch. */
function callRcuTasks(k: Kernel, cb: () => void): void {
  if (k.faultInject.has("rcu-tasks-as-plain-rcu")) k.rcu.call(cb);
  else k.rcuTasks.call(cb);
}

/**
 * Free on a kworker: step 5 (fexit) / step 3 (fentry). Deletes the ksym,
 * frees the text (filled with brk #0x100), percpu_ref_exit, kfree(im).
 */
function bpfTrampImagePutDeferred(k: Kernel, image: BpfTrampImage): void {
  k.kallsyms.removeBpf(image.ksym, image.image);
  image.pool.free(image.text.addr);
  image.pcref.exit();
  k.bpfRun.unregisterImage(image.im);
  k.slab.kfree(image.im);
  image.state = "freed";
  k.ktrace.emit({ kind: "image_free", t: k.sched.now, image: image.ksym, addr: image.image, size: image.text.size });
  image.onFreed?.();
  log.debug({ image: image.ksym, t: k.sched.now.toString() }, "bpf_tramp_image freed");
}

/** __bpf_tramp_image_put_rcu: schedule the free on a workqueue. */
function bpfTrampImagePutRcu(k: Kernel, image: BpfTrampImage): void {
  k.systemWq.queueWork({ name: `${image.ksym} free`, fn: () => bpfTrampImagePutDeferred(k, image) });
}

/**
 * The last wait before the free: call_rcu_tasks, so that no task still
 * executes the trampoline's edge instructions (the one place
 * skip-final-rcu-tasks-wait removes it).
 */
function bpfTrampImageFinalWait(k: Kernel, image: BpfTrampImage): void {
  if (k.faultInject.has("skip-final-rcu-tasks-wait")) bpfTrampImagePutRcu(k, image);
  else callRcuTasks(k, () => bpfTrampImagePutRcu(k, image));
}

/**
 * The first wait of bpf_tramp_image_put(): call_rcu_tasks for an image
 * with fexit progs (tasks preempted before __bpf_tramp_enter), or
 * call_rcu_tasks_trace for a fentry-only one (sleepable progs); the one
 * place skip-first-rcu-tasks-wait removes it.
 */
function bpfTrampImageFirstWait(k: Kernel, image: BpfTrampImage, rcu: "tasks" | "tasks-trace"): void {
  const next = (): void => bpfTrampImagePutRcuTasks(k, image);
  if (k.faultInject.has("skip-first-rcu-tasks-wait")) next();
  else if (rcu === "tasks") callRcuTasks(k, next);
  else k.rcuTasksTrace.call(next);
}

/** __bpf_tramp_image_release: pcref reached zero (fexit step 3). */
function bpfTrampImageRelease(k: Kernel, image: BpfTrampImage): void {
  if (image.state === "released" || image.state === "freed") return;
  image.state = "released";
  bpfTrampImageFinalWait(k, image);
}

/** __bpf_tramp_image_put_rcu_tasks: fexit step 2 (kill pcref) or fentry step 2 (call_rcu_tasks). */
function bpfTrampImagePutRcuTasks(k: Kernel, image: BpfTrampImage): void {
  if (image.ipAfterCall !== undefined) {
    image.state = "killed";
    image.pcref.kill();
    if (k.faultInject.has("skip-percpu-ref-wait")) bpfTrampImageRelease(k, image);
    return;
  }
  bpfTrampImageFinalWait(k, image);
}

/**
 * bpf_tramp_image_put(): retire an image that is no longer reachable from
 * its patch site. Runs in `task` (it pokes text under text_mutex).
 */
export function* bpfTrampImagePut(env: TextPokeEnv & { task: Task }, image: BpfTrampImage): KGen<void> {
  const k = env.kernel;
  image.state = "put";
  k.ktrace.emit({ kind: "image_put", t: k.sched.now, image: image.ksym });
  if (image.ipAfterCall !== undefined && image.ipEpilogue !== undefined) {
    // 1. Skip fexit progs from now on: ip_after_call becomes `b ip_epilogue`.
    yield* bpfArchTextPoke(env, image.ipAfterCall, "jump", undefined, image.ipEpilogue);
    // 2. Wait for tasks preempted before __bpf_tramp_enter, then kill pcref.
    bpfTrampImageFirstWait(k, image, "tasks");
    return;
  }
  // Fentry-only: sleepable progs (RCU-tasks-trace), then the asm (RCU-tasks).
  bpfTrampImageFirstWait(k, image, "tasks-trace");
}
