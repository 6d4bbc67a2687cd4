/**
 * The special fields of map values, as the verifier polices them
 * (kernel/bpf/verifier.c check_map_field_pointer / process_timer_func,
 * the btf_record part of check_map_access, check_map_prog_compatibility).
 *
 *   bpf_timer_*(&v->timer, ...)  R1: a map value at a constant offset whose map
 *                                has BTF and a `struct bpf_timer` exactly there
 *       not constant offset      "R%d doesn't have constant offset. bpf_timer has to be at the constant offset"
 *       map without BTF          "map '%s' has to have BTF in order to use bpf_timer"
 *       no timer in the value    "map '%s' has no valid bpf_timer"
 *       elsewhere                "off %lld doesn't point to 'struct bpf_timer' that is at %d"
 *   load/store on a field        "%s cannot be accessed directly by load/store" (bpf_spin_lock,
 *                                bpf_timer)
 *   map use by a program type    socket filter (spin lock) and kprobe / tracepoint /
 *                                perf_event / raw_tp programs: "... progs cannot use %s yet"
 *
 * The fields come from the map's BTF (btf_record.ts); bpf_spin_lock's own
 * checks are spin_lock.ts.
 */
import { EACCES, EINVAL } from "../../errno.js";
import {
  BPF_PROG_TYPE_KPROBE,
  BPF_PROG_TYPE_PERF_EVENT,
  BPF_PROG_TYPE_RAW_TRACEPOINT,
  BPF_PROG_TYPE_SOCKET_FILTER,
  BPF_PROG_TYPE_TRACEPOINT,
} from "../object/uapi.js";
import { mapBtfRecord, specialFieldAt } from "./btf_record.js";
import { regs, reject, type Checker } from "./checker.js";
import type { VerifierMap } from "./reg_state.js";

/** process_timer_func() / check_map_field_pointer(BPF_TIMER) for argument R`regno`. */
export function processTimerFunc(c: Checker, regno: number): void {
  const r = regs(c)[regno];
  if (r.varOff) {
    reject(c, `R${regno} doesn't have constant offset. bpf_timer has to be at the constant offset`, EINVAL);
  }
  const map = r.map!;
  if (!map.btf) reject(c, `map '${map.name}' has to have BTF in order to use bpf_timer`, EINVAL);
  const rec = mapBtfRecord(map);
  if (rec?.timerOff === undefined || rec.invalid) reject(c, `map '${map.name}' has no valid bpf_timer`, EINVAL);
  if (rec.timerOff !== r.off) {
    reject(c, `off ${r.off} doesn't point to 'struct bpf_timer' that is at ${rec.timerOff}`, EINVAL);
  }
}

/** is_tracing_prog_type(). */
function isTracingProgType(t: number): boolean {
  return [
    BPF_PROG_TYPE_KPROBE,
    BPF_PROG_TYPE_TRACEPOINT,
    BPF_PROG_TYPE_PERF_EVENT,
    BPF_PROG_TYPE_RAW_TRACEPOINT,
  ].includes(t);
}

/** check_map_prog_compatibility(), the special-field part: may this program use `map`? */
export function checkMapProgCompatibility(c: Checker, map: VerifierMap): void {
  const rec = mapBtfRecord(map);
  if (!rec) return;
  if (rec.spinLockOff !== undefined) {
    if (c.progType === BPF_PROG_TYPE_SOCKET_FILTER)
      reject(c, "socket filter progs cannot use bpf_spin_lock yet", EINVAL);
    if (isTracingProgType(c.progType)) reject(c, "tracing progs cannot use bpf_spin_lock yet", EINVAL);
  }
  if (rec.timerOff !== undefined && isTracingProgType(c.progType)) {
    reject(c, "tracing progs cannot use bpf_timer yet", EINVAL);
  }
}

/** check_map_access(): a load or store may not touch a special field. */
export function checkMapSpecialFields(c: Checker, map: VerifierMap, off: number, size: number): void {
  const f = specialFieldAt(mapBtfRecord(map), off, size);
  if (f) reject(c, `${f.name} cannot be accessed directly by load/store`, EACCES);
}
