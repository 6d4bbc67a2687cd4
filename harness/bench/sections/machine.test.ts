import test from "ava";
import { unicornVersion } from "../../../runtime/machine/unicorn.js";
import { BpfError } from "../../../runtime/errors.js";
import { LOOP_OFF, NR_BLOCK } from "./code.js";
import {
  benchMachine,
  blockSwitchResume,
  hypercallLoop,
  loopNoQuantum,
  loopQuantum,
  saveRestoreOnly,
  switchWithSlices,
  TEXT,
} from "./machine.js";

test("each workload reports the work it did and checks that it happened", (t) => {
  const { m, calls } = benchMachine();
  try {
    t.is(loopNoQuantum(m, 1000), 2001, "2 instructions per iteration plus the ret");
    t.is(m.cpu(1).x(0), 0n);
    t.is(loopQuantum(m, 1000, 100), 2001, "20 expired slices, checked inside");
    t.is(loopQuantum(m, 1000, 2001), 2001, "a budget of exactly the loop length returns, not expires");
    t.is(hypercallLoop(m, calls, 37), 37);
    t.is(calls.continue, 37);
    t.is(hypercallLoop(m, calls, 5, true), 5);
    t.is(m.cpu(0).x(0), 5n, "the handler incremented x0 once per round trip");
    t.is(saveRestoreOnly(m.cpu(0), 7), 7);
    t.is(switchWithSlices(m, 9), 9);
    t.is(blockSwitchResume(m, calls, 11), 11);
    t.is(calls.block, 11);
  } finally {
    m.close();
  }
});

test("a broken path throws instead of reporting a number", (t) => {
  const { m, calls } = benchMachine();
  try {
    // The blocking service now continues: the task never stops, its slice ends by quantum.
    m.svc.unregister(NR_BLOCK);
    m.svc.register(NR_BLOCK, "not_blocking", () => "continue");
    const e = t.throws(() => blockSwitchResume(m, calls, 3), { instanceOf: BpfError });
    t.is(e?.message, "machine bench: blocking task stopped: quantum");
  } finally {
    m.close();
  }
});

// Unicorn 2.0.1 compiles its instruction counter into translation blocks: a block
// translated during a count-0 run ignores later budgets. loopNoQuantum therefore runs
// on CPU 1, and loopQuantum's slice check catches the effect.
(unicornVersion() === "2.0.1" ? test : test.skip)(
  "Unicorn 2.0.1: a budget is ignored by blocks translated without one, and the check sees it",
  (t) => {
    const { m } = benchMachine();
    try {
      const c = m.cpu(0);
      c.setX(0, 10n);
      c.lr = m.sentinel;
      c.uc.emuStart(TEXT + BigInt(LOOP_OFF), m.sentinel, 0);
      const e = t.throws(() => loopQuantum(m, 1000, 100), { instanceOf: BpfError });
      t.is(e?.message, "machine bench: quantum 100: 0 slices expired, expected 20");
    } finally {
      m.close();
    }
  },
);
