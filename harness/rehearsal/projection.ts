import { round } from './numbers.ts';

/** A measurement at one size: rows in the table and milliseconds a lock was held. */
export interface SizePoint {
  rows: number;
  ms: number;
}

/** `ms = fixedMs + perMillionRowsMs × rows / 1e6`, by least squares. */
export interface LinearFit {
  fixedMs: number;
  perMillionRowsMs: number;
  at(rows: number): number;
}

export function fitLine(points: readonly SizePoint[]): LinearFit {
  if (points.length === 0) throw new Error('a fit needs at least one point');
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.rows, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.ms, 0) / n;
  const sxx = points.reduce((sum, p) => sum + (p.rows - meanX) ** 2, 0);
  const sxy = points.reduce((sum, p) => sum + (p.rows - meanX) * (p.ms - meanY), 0);
  // one size (or all the same): no slope to learn, the time is taken as proportional to rows;
  // a slope below zero is noise around a time that does not grow with rows: the mean
  const fitted = sxx === 0 ? (meanX === 0 ? 0 : meanY / meanX) : sxy / sxx;
  const slope = Math.max(0, fitted);
  const intercept = sxx === 0 ? 0 : slope === fitted ? meanY - slope * meanX : meanY;
  return { fixedMs: intercept, perMillionRowsMs: slope * 1e6, at: (rows) => Math.max(0, intercept + slope * rows) };
}

/** How well the line through the smaller sizes predicts the largest one (the projection's own check). */
export interface ProjectionCheck {
  rows: number;
  measuredMs: number;
  projectedMs: number;
  /** |projected − measured| / measured. */
  error: number;
  /** Over several rounds of measurement: how many, and the worst round's error (the figures above are the median round's). */
  rounds?: number;
  worstError?: number;
}

/** A lock held at each size, the line through them, and what it says at PROD's size. */
export interface Projection {
  relation: string;
  mode: string;
  points: SizePoint[];
  fit: { fixedMs: number; perMillionRowsMs: number };
  check?: ProjectionCheck;
  prodRows: number;
  lockHeldMs: number;
}

export function project(relation: string, mode: string, points: readonly SizePoint[], prodRows: number): Projection {
  const sorted = [...points].sort((a, b) => a.rows - b.rows);
  const fit = fitLine(sorted);
  const projection: Projection = { relation, mode, points: sorted.map((p) => ({ rows: p.rows, ms: round(p.ms) })), fit: { fixedMs: round(fit.fixedMs), perMillionRowsMs: round(fit.perMillionRowsMs) }, prodRows, lockHeldMs: round(fit.at(prodRows)) };
  if (sorted.length >= 3) {
    const largest = sorted.at(-1)!;
    const projectedMs = fitLine(sorted.slice(0, -1)).at(largest.rows);
    projection.check = { rows: largest.rows, measuredMs: round(largest.ms), projectedMs: round(projectedMs), error: largest.ms === 0 ? 0 : round(Math.abs(projectedMs - largest.ms) / largest.ms, 3) };
  }
  return projection;
}

