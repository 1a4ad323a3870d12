export interface BenchLine {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function formatLines(title: string, lines: readonly BenchLine[]): string {
  const width = Math.max(...lines.map((line) => line.name.length));
  const body = lines.map((line) => `  ${line.name.padEnd(width)}  ${format(line.value).padStart(10)} ${line.unit}${line.note ? `  (${line.note})` : ''}`);
  return [title, ...body].join('\n');
}

function format(value: number): string {
  if (Number.isNaN(value)) return '—';
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
}
