import { compareNumbered } from '../migration-file.ts';
import type { DirectoryListing } from './format.ts';

export const NUMBERED = /^(\d+)_?(.*)\.sql$/;

/** The top-level files of a directory whose names start with a number, in numeric order. */
export function numberedFiles(listing: DirectoryListing, pattern = NUMBERED): string[] {
  return listing.files.filter((file) => !file.includes('/') && pattern.test(file)).sort((a, b) => compareNumbered(pattern.exec(a)![1]!, pattern.exec(b)![1]!));
}

export const sameNumber = (a: string, b: string) => /^\d+$/.test(a) && /^\d+$/.test(b) && compareNumbered(a, b) === 0;
