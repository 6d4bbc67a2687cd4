/**
 * The emulated kernel's layouts of the BPF objects that JITed code reads
 * directly: struct bpf_prog (include/linux/filter.h) and struct bpf_array
 * (include/linux/bpf.h). The JIT bakes these offsets into tail calls; the
 * loader builds programs and prog_array maps with the same ones. They follow
 * an arm64 v6.x build (LP64, CONFIG_SECURITY=y); only the fields JITed code
 * touches are modelled, the rest of each struct is opaque padding here.
 *
 *   struct bpf_prog                        offset  size
 *   ┌──────────────────────────────────────┐
 *   │ u16 pages; u16 jited:1, ...          │   0     4
 *   │ enum bpf_prog_type type              │   4     4
 *   │ enum bpf_attach_type expected_...    │   8     4
 *   │ u32 len                              │  12     4   BPF instructions
 *   │ u32 jited_len                        │  16     4   bytes of JITed code
 *   │ u8 tag[8]                            │  20     8
 *   │ (padding)                            │  28     4
 *   │ struct bpf_prog_stats *stats         │  32     8
 *   │ int *active                          │  40     8
 *   │ bpf_func(ctx, insn)                  │  48     8   ◄── tail calls load this
 *   │ struct bpf_prog_aux *aux             │  56     8
 *   │ struct sock_fprog_kern *orig_prog    │  64     8
 *   │ struct bpf_insn insnsi[]             │  72   8·len
 *   └──────────────────────────────────────┘
 *
 *   struct bpf_array                       offset  size
 *   ┌──────────────────────────────────────┐
 *   │ struct bpf_map map {                 │   0   256
 *   │   const struct bpf_map_ops *ops      │   0     8
 *   │   struct bpf_map *inner_map_meta     │   8     8
 *   │   void *security                     │  16     8
 *   │   enum bpf_map_type map_type         │  24     4
 *   │   u32 key_size                       │  28     4
 *   │   u32 value_size                     │  32     4
 *   │   u32 max_entries                    │  36     4   ◄── tail calls bound the index
 *   │   ... }                              │
 *   │ u32 elem_size                        │ 256     4
 *   │ u32 index_mask                       │ 260     4
 *   │ struct bpf_array_aux *aux            │ 264     8
 *   │ union { value[], ptrs[], pptrs[] }   │ 272         ◄── ptrs[index]: struct bpf_prog *
 *   └──────────────────────────────────────┘
 *
 * Simplification: the offsets are this project's ABI, chosen to match the
 * kernel's arrangement of the fields; sizeof(struct bpf_map) is taken as
 * 256 bytes (cacheline-rounded) rather than measured from a particular build.
 */

/** offsetof(struct bpf_prog, len). */
export const BPF_PROG_LEN_OFF = 12;
/** offsetof(struct bpf_prog, jited_len). */
export const BPF_PROG_JITED_LEN_OFF = 16;
/** offsetof(struct bpf_prog, tag). */
export const BPF_PROG_TAG_OFF = 20;
/** BPF_TAG_SIZE (include/uapi/linux/bpf.h). */
export const BPF_TAG_SIZE = 8;
/** offsetof(struct bpf_prog, bpf_func): the JITed entry point. */
export const BPF_PROG_BPF_FUNC_OFF = 48;
/** offsetof(struct bpf_prog, aux). */
export const BPF_PROG_AUX_OFF = 56;
/** offsetof(struct bpf_prog, insnsi). */
export const BPF_PROG_INSNSI_OFF = 72;

/** offsetof(struct bpf_map, map_type) (= offsetof(struct bpf_array, map.map_type)). */
export const BPF_MAP_MAP_TYPE_OFF = 24;
/** offsetof(struct bpf_map, key_size). */
export const BPF_MAP_KEY_SIZE_OFF = 28;
/** offsetof(struct bpf_map, value_size). */
export const BPF_MAP_VALUE_SIZE_OFF = 32;
/** offsetof(struct bpf_array, map.max_entries). */
export const BPF_ARRAY_MAX_ENTRIES_OFF = 36;
/** sizeof(struct bpf_map) in the emulated kernel. */
export const BPF_MAP_SIZE = 256;
/** offsetof(struct bpf_array, elem_size). */
export const BPF_ARRAY_ELEM_SIZE_OFF = 256;
/** offsetof(struct bpf_array, index_mask). */
export const BPF_ARRAY_INDEX_MASK_OFF = 260;
/** offsetof(struct bpf_array, aux). */
export const BPF_ARRAY_AUX_OFF = 264;
/** offsetof(struct bpf_array, ptrs) (also value[] and pptrs[]). */
export const BPF_ARRAY_PTRS_OFF = 272;

/** BPF_MAP_TYPE_PROG_ARRAY (enum bpf_map_type). */
export const BPF_MAP_TYPE_PROG_ARRAY = 3;

/** sizeof(struct bpf_prog) for a program of `len` instructions (bpf_prog_size()). */
export function bpfProgSize(len: number): number {
  return BPF_PROG_INSNSI_OFF + 8 * len;
}

/** sizeof(struct bpf_array) of a prog_array with `maxEntries` slots. */
export function bpfProgArraySize(maxEntries: number): number {
  return BPF_ARRAY_PTRS_OFF + 8 * maxEntries;
}

/** Address of `ptrs[index]` of the bpf_array at `array`. */
export function bpfArrayPtrAddr(array: bigint, index: number): bigint {
  return array + BigInt(BPF_ARRAY_PTRS_OFF + 8 * index);
}
