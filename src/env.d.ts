/// <reference types="vite/client" />
/** WGSL sources are imported as strings with Vite's `?raw` suffix. */
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}
