/**
 * Typed koffi binding of libunicorn.so.2 (Unicorn 2, arm64 only).
 *
 * Every uc_* return code other than UC_ERR_OK becomes an {@link UnicornError}
 * naming the uc_err and the call that failed. Every 64-bit value crosses the
 * binding as a `bigint`: koffi hands back a `number` when a uint64_t fits in
 * 53 bits and a `bigint` otherwise, so everything is normalised here
 * (`0x10014 === 0x10014n` is false, and that bug is silent).
 *
 * Hook callbacks must not throw across the FFI boundary: the wrappers catch,
 * keep the first error, stop the emulation, and {@link Unicorn.emuStart}
 * re-raises it as a {@link HookError} once uc_emu_start has returned.
 */
import koffi from "koffi";
import { EFAULT, EINVAL, ENOMEM } from "../errno.js";
import { MachineError } from "../errors.js";
import {
  UC_ARCH_ARM64,
  UC_CTL_CPU_MODEL_WRITE,
  UC_CTL_TB_FLUSH_WRITE,
  UC_CTL_TB_REMOVE_CACHE_WRITE,
  UC_ERR_NAMES,
  UC_ERR_OK,
  UC_HOOK_CODE,
  UC_HOOK_INTR,
  UC_HOOK_MEM_INVALID,
  UC_HOOK_MEM_READ,
  UC_MODE_ARM,
  UC_CPU_ARM64_MAX,
} from "./unicorn_consts.js";

/** An opaque native pointer as koffi represents it. */
export type NativePointer = unknown;

/** A uc_* call returned an error. */
export class UnicornError extends MachineError {
  /** The uc_err value. */
  readonly code: number;
  /** The uc_err name, e.g. "UC_ERR_MAP". */
  readonly ucErr: string;
  /** The uc_* function that failed. */
  readonly call: string;

  constructor(call: string, code: number, detail?: string) {
    const ucErr = UC_ERR_NAMES[code] ?? `uc_err ${code}`;
    const errno =
      ucErr === "UC_ERR_NOMEM" ? ENOMEM : ucErr.includes("UNMAPPED") || ucErr.includes("PROT") ? EFAULT : EINVAL;
    super(errno, `${call} failed: ${ucErr}${detail ? `: ${detail}` : ""}`);
    this.code = code;
    this.ucErr = ucErr;
    this.call = call;
  }
}

/** A JavaScript exception thrown inside a hook, re-raised after uc_emu_start returned. */
export class HookError extends MachineError {
  constructor(hook: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(EFAULT, `exception in ${hook} hook: ${message}`, { cause });
  }
}

// ---------------------------------------------------------------------------
// The library and its functions, loaded once per process.

interface UcLib {
  uc_version: (major: unknown, minor: unknown) => number;
  uc_open: (arch: number, mode: number, out: unknown[]) => number;
  uc_close: (uc: NativePointer) => number;
  uc_strerror: (code: number) => string;
  uc_ctl: (uc: NativePointer, ctl: number, ...args: unknown[]) => number;
  uc_mem_map_ptr: (uc: NativePointer, addr: bigint, size: number, perms: number, ptr: NativePointer) => number;
  uc_mem_unmap: (uc: NativePointer, addr: bigint, size: number) => number;
  uc_mem_protect: (uc: NativePointer, addr: bigint, size: number, perms: number) => number;
  uc_mem_read: (uc: NativePointer, addr: bigint, buf: Uint8Array, size: number) => number;
  uc_mem_write: (uc: NativePointer, addr: bigint, buf: Uint8Array, size: number) => number;
  uc_reg_read: (uc: NativePointer, reg: number, out: unknown[]) => number;
  uc_reg_write: (uc: NativePointer, reg: number, value: bigint[]) => number;
  uc_reg_read_batch: (uc: NativePointer, regs: Int32Array, vals: BigUint64Array, count: number) => number;
  uc_reg_write_batch: (uc: NativePointer, regs: Int32Array, vals: BigUint64Array, count: number) => number;
  uc_emu_start: (uc: NativePointer, begin: bigint, until: bigint, timeout: bigint, count: number) => number;
  uc_emu_stop: (uc: NativePointer) => number;
  uc_hook_add: (
    uc: NativePointer,
    out: unknown[],
    type: number,
    cb: unknown,
    user: null,
    begin: bigint,
    end: bigint,
  ) => number;
  uc_hook_del: (uc: NativePointer, hh: bigint) => number;
  uc_context_alloc: (uc: NativePointer, out: unknown[]) => number;
  uc_context_save: (uc: NativePointer, ctx: NativePointer) => number;
  uc_context_restore: (uc: NativePointer, ctx: NativePointer) => number;
  uc_context_free: (ctx: NativePointer) => number;
  mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => NativePointer;
  munmap: (addr: NativePointer, len: number) => number;
}

interface Protos {
  intr: ReturnType<typeof koffi.pointer>;
  mem: ReturnType<typeof koffi.pointer>;
  memAccess: ReturnType<typeof koffi.pointer>;
  code: ReturnType<typeof koffi.pointer>;
}

let lib: UcLib | undefined;
let protos: Protos | undefined;

function load(): { lib: UcLib; protos: Protos } {
  if (lib && protos) return { lib, protos };
  let uc: ReturnType<typeof koffi.load>;
  try {
    uc = koffi.load("libunicorn.so.2");
  } catch (err) {
    throw new MachineError(
      EINVAL,
      "cannot load libunicorn.so.2: install the Debian package libunicorn2 (npm run bootstrap)",
      {
        cause: err,
      },
    );
  }
  const libc = koffi.load("libc.so.6");
  lib = {
    uc_version: uc.func("unsigned int uc_version(_Out_ unsigned int *major, _Out_ unsigned int *minor)"),
    uc_open: uc.func("int uc_open(int arch, int mode, _Out_ void **uc)"),
    uc_close: uc.func("int uc_close(void *uc)"),
    uc_strerror: uc.func("const char *uc_strerror(int code)"),
    uc_ctl: uc.func("int uc_ctl(void *uc, int ctl, ...)"),
    uc_mem_map_ptr: uc.func("int uc_mem_map_ptr(void *uc, uint64_t address, size_t size, uint32_t perms, void *ptr)"),
    uc_mem_unmap: uc.func("int uc_mem_unmap(void *uc, uint64_t address, size_t size)"),
    uc_mem_protect: uc.func("int uc_mem_protect(void *uc, uint64_t address, size_t size, uint32_t perms)"),
    uc_mem_read: uc.func("int uc_mem_read(void *uc, uint64_t address, _Out_ uint8_t *bytes, size_t size)"),
    uc_mem_write: uc.func("int uc_mem_write(void *uc, uint64_t address, const uint8_t *bytes, size_t size)"),
    uc_reg_read: uc.func("int uc_reg_read(void *uc, int regid, _Out_ uint64_t *value)"),
    uc_reg_write: uc.func("int uc_reg_write(void *uc, int regid, const uint64_t *value)"),
    // vals is `void **`: an array of addresses of 8-byte slots (see RegBatch).
    uc_reg_read_batch: uc.func("int uc_reg_read_batch(void *uc, const int *regs, const uint64_t *vals, int count)"),
    uc_reg_write_batch: uc.func("int uc_reg_write_batch(void *uc, const int *regs, const uint64_t *vals, int count)"),
    uc_emu_start: uc.func("int uc_emu_start(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)"),
    uc_emu_stop: uc.func("int uc_emu_stop(void *uc)"),
    uc_hook_add: uc.func(
      "int uc_hook_add(void *uc, _Out_ size_t *hh, int type, void *callback, void *user_data, uint64_t begin, uint64_t end, ...)",
    ),
    uc_hook_del: uc.func("int uc_hook_del(void *uc, size_t hh)"),
    uc_context_alloc: uc.func("int uc_context_alloc(void *uc, _Out_ void **context)"),
    uc_context_save: uc.func("int uc_context_save(void *uc, void *context)"),
    uc_context_restore: uc.func("int uc_context_restore(void *uc, void *context)"),
    uc_context_free: uc.func("int uc_context_free(void *context)"),
    mmap: libc.func("void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)"),
    munmap: libc.func("int munmap(void *addr, size_t len)"),
  } as unknown as UcLib;
  protos = {
    intr: koffi.pointer(koffi.proto("void a64bpf_uc_hook_intr(void *uc, uint32_t intno, void *user)")),
    mem: koffi.pointer(
      koffi.proto("bool a64bpf_uc_hook_mem(void *uc, int type, uint64_t address, int size, int64_t value, void *user)"),
    ),
    memAccess: koffi.pointer(
      koffi.proto(
        "void a64bpf_uc_hook_memaccess(void *uc, int type, uint64_t address, int size, int64_t value, void *user)",
      ),
    ),
    code: koffi.pointer(koffi.proto("void a64bpf_uc_hook_code(void *uc, uint64_t address, uint32_t size, void *user)")),
  };
  return { lib, protos };
}

function check(call: string, code: number, detail?: string): void {
  if (code !== UC_ERR_OK) throw new UnicornError(call, code, detail);
}

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** The Unicorn library version, e.g. "2.0.1". */
export function unicornVersion(): string {
  const { lib: l } = load();
  const major = [0];
  const minor = [0];
  const v = l.uc_version(major, minor) >>> 0;
  return `${(v >>> 24) & 0xff}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}`;
}

// ---------------------------------------------------------------------------
// Host memory: anonymous mmap, visible to JavaScript through an ArrayBuffer view.

/** A page-aligned block of host memory, shareable by several Unicorn instances. */
export interface HostBlock {
  /** Native pointer, for uc_mem_map_ptr. */
  readonly ptr: NativePointer;
  /** Host virtual address of the block. */
  readonly hostAddress: bigint;
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

const PROT_READ_WRITE = 3;
const MAP_PRIVATE_ANONYMOUS = 0x22;

/** Allocate `size` bytes (rounded up to pages) of zeroed host memory. */
export function hostAlloc(size: number): HostBlock {
  const { lib: l } = load();
  const len = Math.ceil(size / 4096) * 4096;
  const ptr = l.mmap(null, len, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0);
  const hostAddress = koffi.address(ptr);
  if (hostAddress === 0xffffffffffffffffn || hostAddress === 0n) {
    throw new MachineError(ENOMEM, `cannot allocate ${len} bytes of host memory`);
  }
  const ab = koffi.view(ptr, len);
  return { ptr, hostAddress, size: len, bytes: new Uint8Array(ab), view: new DataView(ab) };
}

/** Release a block from {@link hostAlloc}. No Unicorn instance may still map it. */
export function hostFree(block: HostBlock): void {
  load().lib.munmap(block.ptr, block.size);
}

// ---------------------------------------------------------------------------

/** Memory hook event, as Unicorn reports it. */
export interface MemEvent {
  /** uc_mem_type (UC_MEM_READ_UNMAPPED, UC_MEM_FETCH_PROT, ...). */
  type: number;
  address: bigint;
  size: number;
  value: bigint;
}

/** Callbacks a {@link Unicorn} instance can install; each may throw safely. */
export interface UnicornHooks {
  /** Interrupts and exceptions (svc, brk, undefined instructions). */
  intr?: (intno: number) => void;
  /** Invalid memory accesses; return true to retry (after mapping), false to stop with an error. */
  memInvalid?: (ev: MemEvent) => boolean;
}

/**
 * Registers read and written in one FFI call. The value slots live in host
 * memory so that uc_reg_*_batch can take their addresses (`void **vals`).
 */
export class RegBatch {
  readonly ids: Int32Array;
  readonly values: BigUint64Array;
  readonly #ptrs: BigUint64Array;
  readonly #block: HostBlock;

  constructor(ids: readonly number[]) {
    this.ids = Int32Array.from(ids);
    this.#block = hostAlloc(ids.length * 8);
    this.values = new BigUint64Array(this.#block.bytes.buffer, 0, ids.length);
    this.#ptrs = new BigUint64Array(ids.length);
    for (let i = 0; i < ids.length; i++) this.#ptrs[i] = this.#block.hostAddress + BigInt(i * 8);
  }

  /** Read every register into {@link values}. */
  read(uc: Unicorn): void {
    check("uc_reg_read_batch", load().lib.uc_reg_read_batch(uc.handle, this.ids, this.#ptrs, this.ids.length));
  }

  /** Write {@link values} into every register. */
  write(uc: Unicorn): void {
    check("uc_reg_write_batch", load().lib.uc_reg_write_batch(uc.handle, this.ids, this.#ptrs, this.ids.length));
  }

  /** Release the host slots. */
  free(): void {
    hostFree(this.#block);
  }
}

/** An opaque uc_context: the whole CPU state of one instance. */
export class UnicornContext {
  readonly #uc: Unicorn;
  #ptr: NativePointer | null;

  constructor(uc: Unicorn) {
    const out: unknown[] = [null];
    check("uc_context_alloc", load().lib.uc_context_alloc(uc.handle, out));
    this.#uc = uc;
    this.#ptr = out[0];
  }

  /** uc_context_save from the owning instance. */
  save(): void {
    check("uc_context_save", load().lib.uc_context_save(this.#uc.handle, this.#live()));
  }

  /** uc_context_restore into the owning instance. */
  restore(): void {
    check("uc_context_restore", load().lib.uc_context_restore(this.#uc.handle, this.#live()));
  }

  free(): void {
    if (this.#ptr !== null) load().lib.uc_context_free(this.#ptr);
    this.#ptr = null;
  }

  #live(): NativePointer {
    if (this.#ptr === null) throw new MachineError(EINVAL, "uc_context used after free");
    return this.#ptr;
  }
}

/** One Unicorn arm64 instance. */
export class Unicorn {
  readonly handle: NativePointer;
  #closed = false;
  #registered: unknown[] = [];
  #hookError: { hook: string; error: unknown } | undefined;

  /** uc_open(UC_ARCH_ARM64) and select the CPU model (default UC_CPU_ARM64_MAX). */
  constructor(cpuModel: number = UC_CPU_ARM64_MAX) {
    const { lib: l } = load();
    const out: unknown[] = [null];
    check("uc_open", l.uc_open(UC_ARCH_ARM64, UC_MODE_ARM, out));
    this.handle = out[0];
    check("uc_ctl(UC_CTL_CPU_MODEL)", l.uc_ctl(this.handle, UC_CTL_CPU_MODEL_WRITE, "int", cpuModel));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    load().lib.uc_close(this.handle);
    for (const cb of this.#registered) koffi.unregister(cb as Parameters<typeof koffi.unregister>[0]);
    this.#registered = [];
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Map the whole of `block` at `address` (uc_mem_map_ptr). */
  memMapPtr(address: bigint, perms: number, block: HostBlock): void {
    const size = block.size;
    check(
      "uc_mem_map_ptr",
      load().lib.uc_mem_map_ptr(this.handle, address, size, perms, block.ptr),
      `${hex(address)}+${hex(size)}`,
    );
  }

  memUnmap(address: bigint, size: number): void {
    check("uc_mem_unmap", load().lib.uc_mem_unmap(this.handle, address, size), `${hex(address)}+${hex(size)}`);
  }

  memProtect(address: bigint, size: number, perms: number): void {
    check(
      "uc_mem_protect",
      load().lib.uc_mem_protect(this.handle, address, size, perms),
      `${hex(address)}+${hex(size)}`,
    );
  }

  memRead(address: bigint, size: number): Uint8Array {
    const buf = new Uint8Array(size);
    check("uc_mem_read", load().lib.uc_mem_read(this.handle, address, buf, size), `${hex(address)}+${hex(size)}`);
    return buf;
  }

  memWrite(address: bigint, bytes: Uint8Array): void {
    check("uc_mem_write", load().lib.uc_mem_write(this.handle, address, bytes, bytes.length), hex(address));
  }

  regRead(reg: number): bigint {
    const out: unknown[] = [0];
    check("uc_reg_read", load().lib.uc_reg_read(this.handle, reg, out), `reg ${reg}`);
    return BigInt(out[0] as number | bigint);
  }

  regWrite(reg: number, value: bigint): void {
    check("uc_reg_write", load().lib.uc_reg_write(this.handle, reg, [BigInt.asUintN(64, value)]), `reg ${reg}`);
  }

  /**
   * uc_emu_start with an instruction budget (0 = unlimited). A JS error
   * thrown by a hook during the run is re-raised here as a HookError.
   * Returns the raw uc_err so that the caller can turn faults into reports.
   */
  emuStart(begin: bigint, until: bigint, count: number): number {
    this.#hookError = undefined;
    const rc = load().lib.uc_emu_start(this.handle, begin, until, 0n, count);
    const pending = this.#hookError as { hook: string; error: unknown } | undefined;
    if (pending) {
      this.#hookError = undefined;
      throw new HookError(pending.hook, pending.error);
    }
    return rc;
  }

  emuStop(): void {
    check("uc_emu_stop", load().lib.uc_emu_stop(this.handle));
  }

  /** Drop cached translations of [begin, end). */
  removeCache(begin: bigint, end: bigint): void {
    check(
      "uc_ctl(UC_CTL_TB_REMOVE_CACHE)",
      load().lib.uc_ctl(this.handle, UC_CTL_TB_REMOVE_CACHE_WRITE, "uint64_t", begin, "uint64_t", end),
      `${hex(begin)}..${hex(end)}`,
    );
  }

  /** Drop every cached translation and TLB entry. */
  flushTb(): void {
    check("uc_ctl(UC_CTL_TB_FLUSH)", load().lib.uc_ctl(this.handle, UC_CTL_TB_FLUSH_WRITE));
  }

  /** Install the interrupt and invalid-memory hooks. Call once. */
  installHooks(hooks: UnicornHooks): void {
    const { lib: l, protos: p } = load();
    if (hooks.intr) {
      const fn = hooks.intr;
      const cb = koffi.register((_uc: unknown, intno: number) => {
        try {
          fn(intno);
        } catch (error) {
          this.#fail("interrupt", error);
        }
      }, p.intr);
      this.#registered.push(cb);
      check("uc_hook_add(UC_HOOK_INTR)", l.uc_hook_add(this.handle, [0], UC_HOOK_INTR, cb, null, 1n, 0n));
    }
    if (hooks.memInvalid) {
      const fn = hooks.memInvalid;
      const cb = koffi.register(
        (_uc: unknown, type: number, address: number | bigint, size: number, value: number | bigint): boolean => {
          try {
            return fn({ type, address: BigInt.asUintN(64, BigInt(address)), size, value: BigInt(value) });
          } catch (error) {
            this.#fail("memory", error);
            return false;
          }
        },
        p.mem,
      );
      this.#registered.push(cb);
      check("uc_hook_add(UC_HOOK_MEM_INVALID)", l.uc_hook_add(this.handle, [0], UC_HOOK_MEM_INVALID, cb, null, 1n, 0n));
    }
  }

  /**
   * A UC_HOOK_CODE hook over [begin, end]; returns a function that removes it.
   * Code hooks cost a JS call per instruction: use them on small ranges only.
   */
  addCodeHook(begin: bigint, end: bigint, fn: (address: bigint) => void): () => void {
    const { lib: l, protos: p } = load();
    const cb = koffi.register((_uc: unknown, address: number | bigint) => {
      try {
        fn(BigInt(address));
      } catch (error) {
        this.#fail("code", error);
      }
    }, p.code);
    this.#registered.push(cb);
    const out: unknown[] = [0];
    check("uc_hook_add(UC_HOOK_CODE)", l.uc_hook_add(this.handle, out, UC_HOOK_CODE, cb, null, begin, end));
    const hh = BigInt(out[0] as number | bigint);
    return () => {
      check("uc_hook_del", l.uc_hook_del(this.handle, hh));
      koffi.unregister(cb);
      this.#registered = this.#registered.filter((c) => c !== cb);
    };
  }

  /**
   * A UC_HOOK_MEM_READ hook over [begin, end]; returns a function that removes
   * it. Costly: while any read hook exists, every load of emulated code goes
   * through a helper (a load-heavy loop measured 6-7x slower), whatever the
   * range. Install before the code runs: blocks translated earlier do not
   * call it.
   */
  addMemReadHook(begin: bigint, end: bigint, fn: (address: bigint, size: number) => void): () => void {
    const { lib: l, protos: p } = load();
    const cb = koffi.register((_uc: unknown, _type: number, address: number | bigint, size: number) => {
      try {
        fn(BigInt.asUintN(64, BigInt(address)), size);
      } catch (error) {
        this.#fail("memory read", error);
      }
    }, p.memAccess);
    this.#registered.push(cb);
    const out: unknown[] = [0];
    check("uc_hook_add(UC_HOOK_MEM_READ)", l.uc_hook_add(this.handle, out, UC_HOOK_MEM_READ, cb, null, begin, end));
    const hh = BigInt(out[0] as number | bigint);
    return () => {
      check("uc_hook_del", l.uc_hook_del(this.handle, hh));
      koffi.unregister(cb);
      this.#registered = this.#registered.filter((c) => c !== cb);
    };
  }

  #fail(hook: string, error: unknown): void {
    if (!this.#hookError) this.#hookError = { hook, error };
    try {
      load().lib.uc_emu_stop(this.handle);
    } catch {
      // Nothing more can be done inside a callback.
    }
  }
}
