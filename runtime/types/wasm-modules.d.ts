/**
 * Declarations for keystone-wasm and capstone-wasm: their packages ship
 * typings that their "exports" map does not expose to NodeNext resolution.
 * Only what runtime/a64/{asm,disasm}.ts uses.
 */
declare module "keystone-wasm" {
  export class Keystone {
    constructor(arch: number, mode: number);
    asm(data: string, options?: { address?: number | bigint }): Uint8Array;
    errNo(): number;
    close(): void;
  }
  export const Const: { KS_ARCH_ARM64: number; KS_MODE_LITTLE_ENDIAN: number };
  export function loadKeystone(args?: Record<string, unknown>): Promise<void>;
}

declare module "capstone-wasm" {
  export interface Insn {
    id: number;
    address: number | bigint;
    size: number;
    bytes: Uint8Array;
    mnemonic: string;
    opStr: string;
  }
  export class Capstone {
    constructor(arch: number, mode: number);
    disasm(data: number[] | Uint8Array, options?: { address?: number | bigint; count?: number }): Insn[];
    close(): void;
  }
  export const Const: { CS_ARCH_ARM64: number; CS_MODE_ARM: number };
  export function loadCapstone(args?: Record<string, unknown>): Promise<void>;
}
