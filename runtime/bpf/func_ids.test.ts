import test from "ava";
import { readFileSync } from "node:fs";
import * as F from "./func_ids.js";

test("helper names match the uapi enum bpf_func_id of the installed linux/bpf.h", (t) => {
  // Debian's linux-libc-dev headers (an independent copy of the uapi list); they may be older than
  // mainline, so they cover a prefix of our table.
  const header = readFileSync("/usr/include/linux/bpf.h", "utf8");
  const names = [...header.matchAll(/^\s*FN\(([a-z_0-9]+)(?:, (\d+))?[,)]/gm)].map((m) => m[1]);
  t.true(names.length >= 200, `helpers in the header: ${names.length}`);
  t.deepEqual(F.BPF_FUNC_NAMES.slice(0, names.length), names);
  t.is(F.__BPF_FUNC_MAX_ID, 212);
});

test("funcIdName follows kernel func_id_name()", (t) => {
  t.is(F.funcIdName(0), "bpf_unspec");
  t.is(F.funcIdName(1), "bpf_map_lookup_elem");
  t.is(F.funcIdName(211), "bpf_cgrp_storage_delete");
  t.is(F.funcIdName(212), "unknown");
  t.is(F.funcIdName(-1), "unknown");
});

test("the named helper ids agree with the table", (t) => {
  const named = Object.entries(F).filter(([k]) => k.startsWith("BPF_FUNC_") && k !== "BPF_FUNC_NAMES");
  t.true(named.length >= 14);
  for (const [k, v] of named) t.is(F.BPF_FUNC[k.slice("BPF_FUNC_".length)], v as number, k);
});
