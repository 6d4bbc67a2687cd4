import test from "ava";
import { describeHost, parseCpuModel } from "./host.js";

test("parseCpuModel: x86 model name, arm64 implementer/part, nothing", (t) => {
  const x86 =
    "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
  t.is(parseCpuModel(x86), "AMD EPYC 7B13");
  const arm = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd0c\n";
  t.is(parseCpuModel(arm), "arm64 implementer 0x41 part 0xd0c");
  t.is(parseCpuModel(""), undefined);
});

test("describeHost: cores, memory, versions and the date of the run", (t) => {
  const date = new Date("2026-01-02T03:04:05.000Z");
  const h = describeHost(date);
  t.true(Number.isInteger(h.cores) && h.cores >= 1);
  t.true(h.totalMemoryBytes > 2 ** 26);
  t.is(h.node, process.version);
  t.regex(h.unicorn, /^2\.\d+\.\d+$/);
  t.is(h.date, "2026-01-02T03:04:05.000Z");
  t.true(h.cpuModel.length > 0 && h.cpuModel !== "unknown");
  t.regex(h.os, /^linux /);
});
