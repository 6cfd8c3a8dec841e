// esbuild loaders: '.bin' files import as Uint8Array ('binary'), '.txt' as string ('text').
declare module '*.bin' {
  const bytes: Uint8Array;
  export default bytes;
}
declare module '*.txt' {
  const text: string;
  export default text;
}
