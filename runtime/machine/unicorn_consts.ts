/**
 * Constants of the Unicorn 2 C API (unicorn/unicorn.h, unicorn/arm64.h),
 * as numbers, for the koffi binding. Values checked against the Debian
 * libunicorn-dev 2.0.1 headers.
 */

export const UC_ARCH_ARM64 = 2;
export const UC_MODE_ARM = 0;

/** enum uc_cpu_arm64 */
export const UC_CPU_ARM64_A57 = 0;
export const UC_CPU_ARM64_A53 = 1;
export const UC_CPU_ARM64_A72 = 2;
export const UC_CPU_ARM64_MAX = 3;

/** enum uc_err, indexed by value. */
export const UC_ERR_NAMES: readonly string[] = [
  "UC_ERR_OK",
  "UC_ERR_NOMEM",
  "UC_ERR_ARCH",
  "UC_ERR_HANDLE",
  "UC_ERR_MODE",
  "UC_ERR_VERSION",
  "UC_ERR_READ_UNMAPPED",
  "UC_ERR_WRITE_UNMAPPED",
  "UC_ERR_FETCH_UNMAPPED",
  "UC_ERR_HOOK",
  "UC_ERR_INSN_INVALID",
  "UC_ERR_MAP",
  "UC_ERR_WRITE_PROT",
  "UC_ERR_READ_PROT",
  "UC_ERR_FETCH_PROT",
  "UC_ERR_ARG",
  "UC_ERR_READ_UNALIGNED",
  "UC_ERR_WRITE_UNALIGNED",
  "UC_ERR_FETCH_UNALIGNED",
  "UC_ERR_HOOK_EXIST",
  "UC_ERR_RESOURCE",
  "UC_ERR_EXCEPTION",
];
export const UC_ERR_OK = 0;
export const UC_ERR_READ_UNMAPPED = 6;
export const UC_ERR_WRITE_UNMAPPED = 7;
export const UC_ERR_FETCH_UNMAPPED = 8;
export const UC_ERR_INSN_INVALID = 10;
export const UC_ERR_MAP = 11;
export const UC_ERR_WRITE_PROT = 12;
export const UC_ERR_READ_PROT = 13;
export const UC_ERR_FETCH_PROT = 14;
export const UC_ERR_ARG = 15;
export const UC_ERR_READ_UNALIGNED = 16;
export const UC_ERR_WRITE_UNALIGNED = 17;
export const UC_ERR_FETCH_UNALIGNED = 18;
export const UC_ERR_EXCEPTION = 21;

/** uc_prot */
export const UC_PROT_NONE = 0;
export const UC_PROT_READ = 1;
export const UC_PROT_WRITE = 2;
export const UC_PROT_EXEC = 4;
export const UC_PROT_ALL = 7;

/** uc_hook_type */
export const UC_HOOK_INTR = 1 << 0;
export const UC_HOOK_CODE = 1 << 2;
export const UC_HOOK_BLOCK = 1 << 3;
export const UC_HOOK_MEM_READ_UNMAPPED = 1 << 4;
export const UC_HOOK_MEM_WRITE_UNMAPPED = 1 << 5;
export const UC_HOOK_MEM_FETCH_UNMAPPED = 1 << 6;
export const UC_HOOK_MEM_READ_PROT = 1 << 7;
export const UC_HOOK_MEM_WRITE_PROT = 1 << 8;
export const UC_HOOK_MEM_FETCH_PROT = 1 << 9;
export const UC_HOOK_MEM_READ = 1 << 10;
export const UC_HOOK_MEM_WRITE = 1 << 11;
export const UC_HOOK_MEM_INVALID =
  UC_HOOK_MEM_READ_UNMAPPED |
  UC_HOOK_MEM_WRITE_UNMAPPED |
  UC_HOOK_MEM_FETCH_UNMAPPED |
  UC_HOOK_MEM_READ_PROT |
  UC_HOOK_MEM_WRITE_PROT |
  UC_HOOK_MEM_FETCH_PROT;

/** uc_mem_type, as passed to memory hooks. */
export const UC_MEM_READ = 16;
export const UC_MEM_WRITE = 17;
export const UC_MEM_FETCH = 18;
export const UC_MEM_READ_UNMAPPED = 19;
export const UC_MEM_WRITE_UNMAPPED = 20;
export const UC_MEM_FETCH_UNMAPPED = 21;
export const UC_MEM_WRITE_PROT = 22;
export const UC_MEM_READ_PROT = 23;
export const UC_MEM_FETCH_PROT = 24;

/** uc_ctl request codes: UC_CTL(type, nr, rw) = type | nr << 26 | rw << 30. */
function ucCtl(type: number, nr: number, rw: number): number {
  return (type | (nr << 26) | (rw << 30)) >>> 0;
}
const UC_CTL_IO_WRITE = 1;
const UC_CTL_CPU_MODEL = 7;
const UC_CTL_TB_REMOVE_CACHE = 9;
const UC_CTL_TB_FLUSH = 10;
export const UC_CTL_CPU_MODEL_WRITE = ucCtl(UC_CTL_CPU_MODEL, 1, UC_CTL_IO_WRITE);
export const UC_CTL_TB_REMOVE_CACHE_WRITE = ucCtl(UC_CTL_TB_REMOVE_CACHE, 2, UC_CTL_IO_WRITE);
export const UC_CTL_TB_FLUSH_WRITE = ucCtl(UC_CTL_TB_FLUSH, 0, UC_CTL_IO_WRITE);

/** Interrupt numbers seen by UC_HOOK_INTR on arm64 (QEMU's EXCP_*). */
export const EXCP_UDEF = 1;
export const EXCP_SWI = 2;
export const EXCP_BKPT = 7;

/** uc_arm64_reg */
export const UC_ARM64_REG_X29 = 1;
export const UC_ARM64_REG_X30 = 2;
export const UC_ARM64_REG_NZCV = 3;
export const UC_ARM64_REG_SP = 4;
/** X0..X28 are consecutive from here. */
export const UC_ARM64_REG_X0 = 199;
export const UC_ARM64_REG_PC = 260;
export const UC_ARM64_REG_TPIDR_EL0 = 262;
export const UC_ARM64_REG_TPIDR_EL1 = 264;
export const UC_ARM64_REG_PSTATE = 265;
