/**
 * The program tag (kernel/bpf/core.c: bpf_prog_calc_tag): the first
 * BPF_TAG_SIZE (8) bytes of the SHA-1 of the instructions as loaded, with
 * the map fds of ld_imm64 instructions zeroed, because fds are not stable
 * across loads:
 *
 *   ld_imm64 with src BPF_PSEUDO_MAP_FD or BPF_PSEUDO_MAP_VALUE:
 *     first slot imm = 0, and the second slot's imm = 0 when that slot is a
 *     plain second half (code, regs and off all zero)
 *
 * `bpftool prog` prints it as 16 hex digits; the ksym of a JITed program is
 * bpf_prog_<tag>_<name>.
 */
import { createHash } from "node:crypto";
import { encodeInsns } from "../bpf/codec.js";
import type { Insn } from "../bpf/insn.js";
import { BPF_TAG_SIZE } from "../bpf/kernel_structs.js";
import { BPF_DW, BPF_IMM, BPF_LD, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from "../bpf/opcodes.js";

const LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW;

/** bpf_prog_calc_tag(): the 8-byte tag of `insns`. */
export function bpfProgCalcTag(insns: readonly Insn[]): Uint8Array {
  const masked: Insn[] = new Array<Insn>(insns.length);
  let wasLdMap = false;
  for (let i = 0; i < insns.length; i++) {
    let insn = insns[i];
    if (!wasLdMap && insn.code === LD_IMM64 && (insn.src === BPF_PSEUDO_MAP_FD || insn.src === BPF_PSEUDO_MAP_VALUE)) {
      wasLdMap = true;
      insn = { ...insn, imm: 0 };
    } else if (wasLdMap && insn.code === 0 && insn.dst === 0 && insn.src === 0 && insn.off === 0) {
      wasLdMap = false;
      insn = { ...insn, imm: 0 };
    } else {
      wasLdMap = false;
    }
    masked[i] = insn;
  }
  const bytes = encodeInsns(masked);
  return new Uint8Array(createHash("sha1").update(bytes).digest().subarray(0, BPF_TAG_SIZE));
}

/** The tag as bpftool prints it: 16 lowercase hex digits. */
export function tagHex(tag: Uint8Array): string {
  let s = "";
  for (const b of tag) s += b.toString(16).padStart(2, "0");
  return s;
}
