/**
 * A loaded program: struct bpf_prog with its aux data (include/linux/bpf.h,
 * include/linux/filter.h), in emulated memory where JITed code and the
 * trampoline can see it.
 *
 *   struct bpf_prog (kmalloc'd, layout in kernel_structs.ts)
 *     type, expected_attach_type, len, jited_len, tag[8], bpf_func, insnsi[len]
 *   + host side: the xlated instructions, the JITed image(s), the attach
 *     target, the verifier's facts (subprograms, exception boundary,
 *     get_func_ip), BTF and line info for dumps, the run state that
 *     __bpf_prog_enter/exit use (registered in k.bpfRun)
 *
 * free() undoes everything: JIT text and ksyms, bpfRun registration, the
 * struct itself.
 */
import type { Kernel } from "../kernel/kernel.js";
import type { FuncModel } from "../tramp/func_model.js";
import type { TrampProg } from "../tramp/trampoline.js";
import { bpfJitFree, type JitedProg } from "../jit/jit.js";
import type { Btf } from "../bpf/btf/btf.js";
import type { BtfFuncProto } from "../bpf/btf/types.js";
import { encodeInsns } from "../bpf/codec.js";
import type { Insn } from "../bpf/insn.js";
import {
  BPF_PROG_BPF_FUNC_OFF,
  BPF_PROG_INSNSI_OFF,
  BPF_PROG_JITED_LEN_OFF,
  BPF_PROG_LEN_OFF,
  BPF_PROG_TAG_OFF,
  bpfProgSize,
} from "../bpf/kernel_structs.js";
import type { VerifierResult, VerifierLineInfo } from "../bpf/verifier/env.js";

/** What a tracing or extension program attaches to (prog->aux->attach_btf / dst_prog). */
export type ProgAttach =
  | {
      readonly kind: "kernel";
      readonly funcName: string;
      readonly addr: bigint;
      readonly btf: Btf;
      readonly btfObjId: number;
      readonly btfId: number;
      readonly proto: BtfFuncProto;
      readonly model: FuncModel;
    }
  | {
      readonly kind: "prog";
      readonly funcName: string;
      readonly target: BpfProg;
      /** Index of the target function among the target program's subprograms. */
      readonly subprog: number;
      readonly btfId: number;
      readonly proto: BtfFuncProto;
      readonly model: FuncModel;
    };

/** A function of the program (BTF func_info), by its first instruction. */
export interface ProgFunc {
  readonly start: number;
  readonly name: string;
  readonly btfId: number;
  readonly global: boolean;
}

/** A loaded program. */
export class BpfProg {
  readonly k: Kernel;
  readonly name: string;
  readonly type: number;
  readonly expectedAttachType: number;
  readonly sleepable: boolean;
  /** The instructions as loaded (after libbpf's relocation). */
  readonly origInsns: readonly Insn[];
  /** After the verifier's rewrites (`prog dump xlated`). */
  readonly xlated: readonly Insn[];
  readonly verifier: VerifierResult;
  readonly jited: JitedProg;
  /** struct bpf_prog *. */
  readonly addr: bigint;
  readonly attach: ProgAttach | undefined;
  readonly btf: Btf | undefined;
  readonly funcs: readonly ProgFunc[];
  readonly lineInfo: readonly VerifierLineInfo[];
  /** fd and id, set when installed. */
  fd = -1;
  id = 0;
  #freed = false;

  constructor(
    k: Kernel,
    p: {
      name: string;
      type: number;
      expectedAttachType: number;
      sleepable: boolean;
      origInsns: readonly Insn[];
      verifier: VerifierResult;
      jited: JitedProg;
      attach: ProgAttach | undefined;
      btf: Btf | undefined;
      funcs: readonly ProgFunc[];
    },
  ) {
    this.k = k;
    this.name = p.name;
    this.type = p.type;
    this.expectedAttachType = p.expectedAttachType;
    this.sleepable = p.sleepable;
    this.origInsns = p.origInsns;
    this.verifier = p.verifier;
    this.xlated = p.verifier.insns;
    this.jited = p.jited;
    this.attach = p.attach;
    this.btf = p.btf;
    this.funcs = p.funcs;
    this.lineInfo = p.verifier.lineInfo;
    const mem = k.machine.memory;
    this.addr = k.slab.kzalloc(bpfProgSize(this.xlated.length));
    mem.write32(this.addr + 4n, this.type);
    mem.write32(this.addr + 8n, this.expectedAttachType);
    mem.write32(this.addr + BigInt(BPF_PROG_LEN_OFF), this.xlated.length);
    mem.write32(this.addr + BigInt(BPF_PROG_JITED_LEN_OFF), this.jited.size);
    mem.writeBytes(this.addr + BigInt(BPF_PROG_TAG_OFF), Buffer.from(this.jited.tag, "hex"));
    mem.write64(this.addr + BigInt(BPF_PROG_BPF_FUNC_OFF), this.jited.bpfFunc);
    mem.writeBytes(this.addr + BigInt(BPF_PROG_INSNSI_OFF), encodeInsns(this.xlated));
    k.bpfRun.registerProg({ addr: this.addr, name: this.name, sleepable: this.sleepable });
  }

  /** prog->bpf_func. */
  get bpfFunc(): bigint {
    return this.jited.bpfFunc;
  }

  /** The tag as bpftool prints it (16 hex digits). */
  get tag(): string {
    return this.jited.tag;
  }

  /** The subprogram whose function is `name` (BTF func_info), as index into jited.subprogs. */
  subprogIndex(name: string): number | undefined {
    const f = this.funcs.find((x) => x.name === name);
    if (!f) return undefined;
    const i = this.jited.subprogs.findIndex((s) => s.start === f.start);
    return i < 0 ? undefined : i;
  }

  /** The program as a trampoline links it. */
  trampProg(): TrampProg {
    return {
      name: this.name,
      prog: this.addr,
      bpfFunc: this.bpfFunc,
      sleepable: this.sleepable,
      callGetFuncIp: this.verifier.callGetFuncIp,
    };
  }

  get freed(): boolean {
    return this.#freed;
  }

  /** bpf_prog_put() → __bpf_prog_put_noref: free the JIT image, the registration and the struct. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    bpfJitFree(this.jited, { kernel: this.k });
    this.k.bpfRun.unregisterProg(this.addr);
    this.k.slab.kfree(this.addr);
  }
}
