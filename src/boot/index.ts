/**
 * The boot flow: the seed scenario (boot services → own heap, page tables, ExitBootServices,
 * frame allocator) as one function with step reports, and the bundled real OVMF map.
 *
 * @module
 */
export { bootFlow, type BootFlowOptions, type BootResult } from './boot-flow.js';
export { BootFlowError, type BootFlowErrorCode } from './errors.js';
export { ReservedFramePool } from './frame-pool.js';
export { BOOT_STEP_NAMES, formatSteps, type BootStep } from './steps.js';
export { bundledOvmfMap, bundledOvmfMapBytes, BUNDLED_OVMF_MAP_INFO } from './ovmf-map.js';
export { kernelViewMap } from './kernel-view.js';
