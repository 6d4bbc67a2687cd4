/**
 * arm64 register names of perf's probe arguments and their offsets in
 * `struct user_pt_regs` (tools/perf/arch/arm64/util/dwarf-regs.c:
 * get_arch_regstr(), regs_query_register_offset()).
 *
 *   DWARF number   perf name   offset in user_pt_regs
 *   0 .. 29        %x0 .. %x29 8 * n          (regs[n])
 *   30             %lr         240            (regs[30])
 *   31             %sp         248            (sp, right after regs[30])
 *
 * Names carry the `%` of the kprobe_events syntax; there is no `%x30`,
 * `%fp` or `%pc` (perf's table has none). An unknown name gives -EINVAL in
 * perf; here regsQueryRegisterOffset returns undefined and the prologue
 * generator raises the EINVAL.
 */

/** Size of one register slot of user_pt_regs. */
const REG_SIZE = 8;

/** DWARF register number of sp (AAPCS64 DWARF: 31). */
export const DWARF_REG_SP = 31;

/** perf's name of DWARF register `n` ("%x3", "%lr", "%sp"), or undefined (get_arch_regstr). */
export function getArchRegstr(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 0) return undefined;
  if (n <= 29) return `%x${n}`;
  if (n === 30) return "%lr";
  if (n === DWARF_REG_SP) return "%sp";
  return undefined;
}

/** Byte offset of register `name` in struct user_pt_regs, or undefined (regs_query_register_offset). */
export function regsQueryRegisterOffset(name: string): number | undefined {
  const m = /^%x(\d{1,2})$/.exec(name);
  if (m) {
    // "%x07" is not in perf's table: compare the canonical spelling.
    const n = Number(m[1]);
    return n <= 29 && `%x${n}` === name ? n * REG_SIZE : undefined;
  }
  if (name === "%lr") return 30 * REG_SIZE;
  if (name === "%sp") return DWARF_REG_SP * REG_SIZE;
  return undefined;
}
