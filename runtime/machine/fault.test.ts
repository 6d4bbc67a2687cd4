import test from "ava";
import { formatFault, type Fault, type FaultKind } from "./fault.js";

function fault(kind: FaultKind, address?: bigint): Fault {
  return {
    cpu: 1,
    pc: 0x4000_0010n,
    lr: 0x4000_0100n,
    sp: 0x4801_0000n,
    fp: 0x4801_0010n,
    kind,
    address,
    backtrace: [],
  };
}

test("oops headlines follow arm64's __do_kernel_fault: permission, NULL page, paging request", (t) => {
  const first = (f: Fault): string => formatFault(f).split("\n")[0];
  t.is(
    first(fault("read_unmapped", 0x4n)),
    "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000004",
  );
  t.is(
    first(fault("write_unmapped", 0xfffn)),
    "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000fff",
  );
  t.is(
    first(fault("read_unmapped", 0x1000n)),
    "Unable to handle kernel paging request at virtual address 0000000000001000",
  );
  t.is(
    first(fault("fetch_unmapped", 0xdead_0000n)),
    "Unable to handle kernel paging request at virtual address 00000000dead0000",
  );
  t.is(
    first(fault("write_prot", 0x4000_0000n)),
    "Unable to handle kernel write to read-only memory at virtual address 0000000040000000",
  );
  t.is(
    first(fault("fetch_prot", 0x4000_0000n)),
    "Unable to handle kernel execute from non-executable memory at virtual address 0000000040000000",
  );
  t.is(
    first(fault("read_prot", 0x4000_0000n)),
    "Unable to handle kernel read from unreadable memory at virtual address 0000000040000000",
  );
  t.is(
    first({ ...fault("break_fault"), detail: "use-after-free of bpf_prog_x" }),
    "Internal error: Oops - BRK (AARCH64_BREAK_FAULT): use-after-free of bpf_prog_x",
  );
});

test("memory faults carry the abort class and, for data aborts, WnR", (t) => {
  const w = formatFault(fault("write_unmapped", 0x8n)).split("\n");
  t.deepEqual(w.slice(1, 5), [
    "Mem abort info:",
    "  EC = 0x25: DABT (current EL), IL = 32 bits",
    "Data abort info:",
    "  WnR = 1",
  ]);
  const r = formatFault(fault("read_prot", 0x4000_0000n)).split("\n");
  t.is(r[4], "  WnR = 0");
  const i = formatFault(fault("fetch_unmapped", 0x10n)).split("\n");
  t.deepEqual(i.slice(1, 3), ["Mem abort info:", "  EC = 0x21: IABT (current EL), IL = 32 bits"]);
  t.is(i[3], "CPU: 1");
  // Not a memory fault: no abort info.
  t.is(formatFault(fault("undefined_instruction")).split("\n")[1], "CPU: 1");
});
