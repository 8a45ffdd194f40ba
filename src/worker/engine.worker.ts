/**
 * The engine worker: the only caller of comlink.expose. It exposes the studio's use cases (src/app/studio.ts) over
 * the worker boundary; the API type is the protocol (protocol.ts: typeof api).
 */
import * as Comlink from 'comlink';
import { createStudio } from '../app/studio';

/** The studio running in this worker, on the worker's WebGPU. */
export const api = createStudio(() => navigator.gpu);

Comlink.expose(api);
