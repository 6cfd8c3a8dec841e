/**
 * Errors of the boot-services model: {@link BootServicesError}, whose `code` is the UEFI
 * status name the firmware would return (`OUT_OF_RESOURCES`, `NOT_FOUND`,
 * `INVALID_PARAMETER`, `BUFFER_TOO_SMALL`), or `BOOT_SERVICES_EXITED` for any call made
 * after a successful ExitBootServices. Listed in docs/ERRORS.md, "Boot services and shim".
 *
 * @module
 */
import { MemprimsError } from '../errors.js';

/** Every code a {@link BootServicesError} carries. */
export type BootServicesErrorCode = 'OUT_OF_RESOURCES' | 'NOT_FOUND' | 'INVALID_PARAMETER' | 'BUFFER_TOO_SMALL' | 'BOOT_SERVICES_EXITED';

/**
 * The `EFI_STATUS` value (UEFI 2.10, appendix D) behind each code, as a 64-bit value.
 *
 * @example
 * ```ts
 * import { EFI_STATUS } from 'memprims';
 * EFI_STATUS.NOT_FOUND;        // 0x800000000000000en (EFI_NOT_FOUND)
 * EFI_STATUS.OUT_OF_RESOURCES; // 0x8000000000000009n (EFI_OUT_OF_RESOURCES)
 * ```
 */
export const EFI_STATUS: Readonly<Record<BootServicesErrorCode, bigint>> = Object.freeze({
  INVALID_PARAMETER: 0x8000000000000002n,
  UNSUPPORTED: 0x8000000000000003n,
  BUFFER_TOO_SMALL: 0x8000000000000005n,
  OUT_OF_RESOURCES: 0x8000000000000009n,
  NOT_FOUND: 0x800000000000000en,
  // No status exists for "the boot services table is gone"; real firmware would crash.
  // The model reports EFI_UNSUPPORTED's value so callers still get a number.
  BOOT_SERVICES_EXITED: 0x8000000000000003n,
} as Record<BootServicesErrorCode, bigint>);

/**
 * A boot service failed. `code` is the UEFI status name without the `EFI_` prefix,
 * `status` the full name (`'EFI_NOT_FOUND'`), `statusValue` the 64-bit `EFI_STATUS`.
 * The failing call changed nothing (no descriptor, key or pool list was touched).
 *
 * @example
 * ```ts
 * import { BootServices, BootServicesError, MemoryMap, MemoryType } from 'memprims';
 * const map = new MemoryMap([{ type: MemoryType.Conventional, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 16, attribute: 0xfn }]);
 * const bs = new BootServices(BootServices.memoryForMap(map), map);
 * try {
 *   bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 17 });
 * } catch (e) {
 *   if (e instanceof BootServicesError) console.log(e.code, e.status); // OUT_OF_RESOURCES EFI_OUT_OF_RESOURCES
 * }
 * ```
 */
export class BootServicesError extends MemprimsError {
  declare readonly code: BootServicesErrorCode;
  /** `'EFI_' + code` (for `BOOT_SERVICES_EXITED`: `'EFI_UNSUPPORTED'`). */
  readonly status: string;
  /** The 64-bit EFI_STATUS value (high bit set: an error). */
  readonly statusValue: bigint;

  constructor(code: BootServicesErrorCode, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(code, message, details);
    this.status = code === 'BOOT_SERVICES_EXITED' ? 'EFI_UNSUPPORTED' : `EFI_${code}`;
    this.statusValue = EFI_STATUS[code];
  }
}
