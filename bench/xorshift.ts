/**
 * The xorshift32 generator (13, 17, 5) the native workloads in ../shared/oracles/native use,
 * shared by the benchmark suites so their op streams match the native runs exactly.
 */
export function xs32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
