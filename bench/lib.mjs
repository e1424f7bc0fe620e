// Small helpers shared by the benchmark scripts: statistics, formatting and timing.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** { min, median, max, n } of a list of numbers (median of an even count: mean of the middle two). */
export function stats(samples) {
  const values = samples.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (values.length === 0) return null;
  const mid = values.length >> 1;
  const median = values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return { min: values[0], median, max: values[values.length - 1], n: values.length };
}

/** A number with `digits` significant digits at most, without exponent notation. */
export function num(value, digits = 3) {
  if (!Number.isFinite(value)) return '—';
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toFixed(decimals);
}

/** "min / **median** / max unit" for a stats object. */
export function spread(s, unit, digits = 3) {
  if (!s) return 'not measured';
  return `${num(s.min, digits)} / **${num(s.median, digits)}** / ${num(s.max, digits)} ${unit}`;
}

export function bytes(n) {
  if (!Number.isFinite(n)) return '—';
  return `${n.toLocaleString('en-US')} B`;
}

export function kib(n) {
  return `${(n / 1024).toFixed(1)} KiB`;
}

export function mib(n) {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** Size of `path` after `gzip -9` (no name or time stamp in the header). */
export function nowNs() {
  return process.hrtime.bigint();
}

/** Microseconds per call: `runs` timed runs of `iterations` calls of `fn`, after `warmup` calls. */
export function timePerOp(fn, { iterations, runs, warmup = iterations }) {
  for (let i = 0; i < warmup; i++) fn(i);
  const perOp = [];
  for (let r = 0; r < runs; r++) {
    const start = nowNs();
    for (let i = 0; i < iterations; i++) fn(i);
    perOp.push(Number(nowNs() - start) / 1000 / iterations);
  }
  return perOp;
}

/** The machine, as /proc tells it. */
export function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU';
  const mhz = /^cpu MHz\s*:\s*([\d.]+)$/m.exec(cpuinfo)?.[1];
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const memKb = Number(/^MemTotal:\s*(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const flags = /^flags\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  const features = ['aes', 'sha_ni', 'avx2'].filter((f) => flags.includes(f));
  return {
    model: mhz ? `${model} @ ${Math.round(Number(mhz))} MHz` : model,
    cores,
    memory: `${(memKb / 1048576).toFixed(1)} GiB`,
    features,
  };
}

const STARTED = Date.now();
export function log(...args) {
  console.error(`[bench +${((Date.now() - STARTED) / 1000).toFixed(1)}s]`, ...args);
}
