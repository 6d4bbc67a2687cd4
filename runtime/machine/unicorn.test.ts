/**
 * The koffi binding on its own (no Machine): range-limited code hooks,
 * uc_context save/restore, errors from hooks and from uc_* calls.
 */
import test from "ava";
import { EINVAL } from "../errno.js";
import { MachineError } from "../errors.js";
import { hostAlloc, hostFree, HookError, Unicorn, UnicornContext, UnicornError } from "./unicorn.js";
import { UC_ARM64_REG_X0 } from "./unicorn_consts.js";

const BASE = 0x1000n;
/** mov x0, #1; add x0, x0, #1; add x0, x0, #1 */
const CODE = [0xd2800020, 0x91000400, 0x91000400];

function setup(): { uc: Unicorn; free: () => void } {
  const uc = new Unicorn();
  const blk = hostAlloc(0x1000);
  CODE.forEach((w, i) => blk.view.setUint32(i * 4, w, true));
  uc.memMapPtr(BASE, 7, blk);
  return {
    uc,
    free: () => {
      uc.close();
      hostFree(blk);
    },
  };
}

test("a code hook sees only the instructions of its range; removing it stops it", (t) => {
  const { uc, free } = setup();
  try {
    const seen: bigint[] = [];
    const remove = uc.addCodeHook(BASE + 4n, BASE + 7n, (a) => void seen.push(a));
    uc.emuStart(BASE, BASE + 12n, 0);
    t.is(uc.regRead(UC_ARM64_REG_X0), 3n);
    t.deepEqual(seen, [BASE + 4n]);
    remove();
    uc.emuStart(BASE, BASE + 12n, 0);
    t.deepEqual(seen, [BASE + 4n], "no more calls after removal");
  } finally {
    free();
  }
});

test("uc_context: save, change, restore; use after free is a MachineError", (t) => {
  const { uc, free } = setup();
  try {
    uc.emuStart(BASE, BASE + 12n, 0);
    const ctx = new UnicornContext(uc);
    ctx.save();
    uc.regWrite(UC_ARM64_REG_X0, 99n);
    t.is(uc.regRead(UC_ARM64_REG_X0), 99n);
    ctx.restore();
    t.is(uc.regRead(UC_ARM64_REG_X0), 3n);
    ctx.free();
    const e = t.throws(() => ctx.save(), { instanceOf: MachineError });
    t.is(e?.errno, EINVAL);
    t.regex(e?.message ?? "", /uc_context used after free/);
  } finally {
    free();
  }
});

test("an exception thrown in a code hook comes back from emu_start as a HookError; uc_* failures are UnicornErrors", (t) => {
  const { uc, free } = setup();
  try {
    const remove = uc.addCodeHook(BASE, BASE + 3n, () => {
      throw new Error("boom in code hook");
    });
    const e = t.throws(() => uc.emuStart(BASE, BASE + 12n, 0), { instanceOf: HookError });
    t.regex(e?.message ?? "", /boom in code hook/);
    remove();
    // The instance is still usable.
    uc.emuStart(BASE, BASE + 12n, 0);
    t.is(uc.regRead(UC_ARM64_REG_X0), 3n);
    const blk = hostAlloc(0x1000);
    try {
      const m = t.throws(() => uc.memMapPtr(BASE, 7, blk), { instanceOf: UnicornError });
      t.is(m?.call, "uc_mem_map_ptr");
      t.regex(m?.message ?? "", /UC_ERR_MAP/);
    } finally {
      hostFree(blk);
    }
    t.throws(() => uc.memRead(0x9000n, 4), { instanceOf: UnicornError });
  } finally {
    free();
  }
});
