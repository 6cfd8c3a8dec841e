// memprims playground: wires the four panels together. Memory is SharedArrayBuffer-backed
// when the page is cross-origin isolated, plain ArrayBuffer otherwise.
import { VERSION } from '../../src/index.js';
import { byId } from './dom.js';
import { framesPanel } from './frames-panel.js';
import { heapPanel } from './heap-panel.js';
import { memmapPanel } from './memmap-panel.js';
import { pagingPanel } from './paging-panel.js';

const shared = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
const badge = byId('isolation');
badge.textContent = shared ? 'cross-origin isolated · SharedArrayBuffer memory' : 'not cross-origin isolated · ArrayBuffer fallback';
badge.dataset.shared = String(shared);
byId('version').textContent = `memprims ${VERSION}`;

const memmap = memmapPanel(byId('memmap'));
const frames = framesPanel(byId('frames'), shared);
memmap.onMap((map) => frames.load(map));
heapPanel(byId('heap'), shared);
pagingPanel(byId('paging'), shared);

// Start with a real map so the page is never empty.
const select = byId<HTMLSelectElement>('sample');
select.value = 'ovmf-pc-128M';
select.dispatchEvent(new Event('change'));
document.body.dataset.ready = 'true';
