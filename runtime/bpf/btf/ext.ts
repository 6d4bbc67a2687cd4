/**
 * .BTF.ext section parser (tools/lib/bpf/libbpf_internal.h struct
 * btf_ext_header; libbpf btf.c btf_ext_parse_hdr() / btf_ext_setup_info()).
 *
 *   struct btf_ext_header            each info block:
 *     u16 magic 0xeB9F u8 version 1    u32 record_size
 *     u8 flags  u32 hdr_len            then per ELF section:
 *     u32 func_info_off, _len            u32 sec_name_off (BTF string)
 *     u32 line_info_off, _len            u32 num_info
 *     u32 core_relo_off, _len            num_info × record_size bytes
 *     (core_relo only when hdr_len >= 32; offsets relative to the end of the header)
 *
 *   bpf_func_info  { insn_off, type_id }                           ≥ 8 bytes
 *   bpf_line_info  { insn_off, file_name_off, line_off, line_col }  ≥ 16 bytes
 *   bpf_core_relo  { insn_off, type_id, access_str_off, kind }      ≥ 16 bytes
 *
 * insn_off is a byte offset inside the ELF section in object files (libbpf
 * divides by 8 when it loads); it is kept in bytes here. Records larger
 * than the known layout are accepted (newer fields are skipped), smaller
 * ones are refused, as libbpf does.
 */
import { LoaderError } from "../elf.js";
import { btfString } from "./parse.js";
import { BTF_MAGIC } from "./types.js";

/** A bpf_func_info record. */
export interface BtfExtFuncInfo {
  /** Byte offset of the instruction in its ELF section. */
  insnOff: number;
  typeId: number;
}

/** A bpf_line_info record with its file name and source line text. */
export interface BtfExtLineInfo {
  insnOff: number;
  fileName: string;
  line: string;
  lineNum: number;
  lineCol: number;
}

/** enum bpf_core_relo_kind. */
export const BPF_CORE_RELO_KIND_NAMES: readonly string[] = [
  "field_byte_offset",
  "field_byte_size",
  "field_exists",
  "field_signed",
  "field_lshift_u64",
  "field_rshift_u64",
  "type_id_local",
  "type_id_target",
  "type_exists",
  "type_size",
  "enumval_exists",
  "enumval_value",
  "type_matches",
];

/** A bpf_core_relo record. */
export interface BtfExtCoreRelo {
  insnOff: number;
  typeId: number;
  /** Access string, e.g. "0:1:2". */
  accessStr: string;
  kind: number;
}

/** The records of one info block, grouped by ELF section name. */
export interface BtfExt {
  funcInfo: Map<string, BtfExtFuncInfo[]>;
  lineInfo: Map<string, BtfExtLineInfo[]>;
  coreRelos: Map<string, BtfExtCoreRelo[]>;
}

const MIN_HDR = 24;

interface Block {
  name: string;
  off: number;
  len: number;
  minRecord: number;
}

function parseBlock<T>(
  view: DataView,
  base: number,
  block: Block,
  strings: Uint8Array,
  read: (off: number) => T,
): Map<string, T[]> {
  const out = new Map<string, T[]>();
  if (block.len === 0) return out;
  const start = base + block.off;
  const end = start + block.len;
  if (end > view.byteLength)
    throw new LoaderError(`BTF.ext: ${block.name} ${block.off}+${block.len} beyond end of section`);
  if (block.len < 4) throw new LoaderError(`BTF.ext: ${block.name} too short for its record size`);
  const recSize = view.getUint32(start, true);
  if (recSize < block.minRecord || recSize % 4 !== 0) {
    throw new LoaderError(
      `BTF.ext: ${block.name} record size ${recSize} (need a multiple of 4, at least ${block.minRecord})`,
    );
  }
  let p = start + 4;
  while (p < end) {
    if (p + 8 > end) throw new LoaderError(`BTF.ext: ${block.name}: truncated section header at ${p - start}`);
    const secName = btfString(strings, { off: view.getUint32(p, true), what: `BTF.ext: ${block.name} section name` });
    const n = view.getUint32(p + 4, true);
    p += 8;
    if (n === 0) throw new LoaderError(`BTF.ext: ${block.name}: section ${secName} has no records`);
    if (p + n * recSize > end) throw new LoaderError(`BTF.ext: ${block.name}: ${n} records of ${secName} beyond end`);
    const list = out.get(secName) ?? [];
    for (let i = 0; i < n; i++, p += recSize) list.push(read(p));
    out.set(secName, list);
  }
  return out;
}

/**
 * Parse a .BTF.ext section; `strings` is the string section of the
 * matching .BTF (names and line text live there).
 */
export function parseBtfExt(bytes: Uint8Array, strings: Uint8Array): BtfExt {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < MIN_HDR) throw new LoaderError(`BTF.ext: truncated header: ${bytes.length} bytes`);
  const magic = view.getUint16(0, true);
  if (magic !== BTF_MAGIC) throw new LoaderError(`BTF.ext: bad magic 0x${magic.toString(16)}`);
  if (view.getUint8(2) !== 1) throw new LoaderError(`BTF.ext: unsupported version ${view.getUint8(2)}`);
  if (view.getUint8(3) !== 0) throw new LoaderError(`BTF.ext: unsupported flags 0x${view.getUint8(3).toString(16)}`);
  const hdrLen = view.getUint32(4, true);
  if (hdrLen < MIN_HDR || hdrLen > bytes.length) throw new LoaderError(`BTF.ext: invalid header length ${hdrLen}`);
  const u32 = (off: number): number => view.getUint32(off, true);
  const blocks = {
    func: { name: "func_info", off: u32(8), len: u32(12), minRecord: 8 },
    line: { name: "line_info", off: u32(16), len: u32(20), minRecord: 16 },
    core: hdrLen >= 32 ? { name: "core_relo", off: u32(24), len: u32(28), minRecord: 16 } : undefined,
  };
  const what = (s: string) => `BTF.ext: ${s}`;
  const funcInfo = parseBlock(view, hdrLen, blocks.func, strings, (p) => ({ insnOff: u32(p), typeId: u32(p + 4) }));
  const lineInfo = parseBlock(view, hdrLen, blocks.line, strings, (p) => {
    const lineCol = u32(p + 12);
    return {
      insnOff: u32(p),
      fileName: btfString(strings, { off: u32(p + 4), what: what("line_info file name") }),
      line: btfString(strings, { off: u32(p + 8), what: what("line_info line") }),
      lineNum: lineCol >>> 10,
      lineCol: lineCol & 0x3ff,
    };
  });
  const coreRelos = blocks.core
    ? parseBlock(view, hdrLen, blocks.core, strings, (p) => {
        const kind = u32(p + 12);
        if (kind >= BPF_CORE_RELO_KIND_NAMES.length) throw new LoaderError(what(`core_relo: unknown kind ${kind}`));
        return {
          insnOff: u32(p),
          typeId: u32(p + 4),
          accessStr: btfString(strings, { off: u32(p + 8), what: what("core_relo access string") }),
          kind,
        };
      })
    : new Map<string, BtfExtCoreRelo[]>();
  return { funcInfo, lineInfo, coreRelos };
}
