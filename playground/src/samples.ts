// Real memory maps bundled with the page (copied from the project's real-firmware fixtures).
import linuxLog from './samples/linux-asus-zenbook-efi-debug.txt';
import pc128 from './samples/ovmf-pc-128M-initial.bin';
import pc6g from './samples/ovmf-pc-6G-initial.bin';
import q35 from './samples/ovmf-q35-2G-at_exit.bin';
import shell from './samples/shell-q35-512M-memmap.txt';

export interface Sample {
  id: string;
  label: string;
  /** Raw GetMemoryMap() bytes (descriptor size 48) or text to paste. */
  raw?: Uint8Array;
  text?: string;
}

export const SAMPLES: readonly Sample[] = [
  { id: 'ovmf-pc-128M', label: 'OVMF, QEMU pc, 128 MiB — raw GetMemoryMap() buffer', raw: pc128 },
  { id: 'ovmf-q35-2G', label: 'OVMF, QEMU q35, 2 GiB, at ExitBootServices — raw buffer', raw: q35 },
  { id: 'ovmf-pc-6G', label: 'OVMF, QEMU pc, 6 GiB (unsorted, RAM above 4 GiB) — raw buffer', raw: pc6g },
  { id: 'shell-q35-512M', label: 'UEFI Shell memmap, q35 512 MiB — text', text: shell },
  { id: 'linux-zenbook', label: 'Linux efi=debug log, ASUS ZenBook (AMI) — text', text: linuxLog },
];
