// The RFC 4475 torture corpus as test/conformance/rfc4475/index.json describes it (see its README).
import { readFileSync } from 'node:fs';
import { corpusDir } from './paths.js';

export interface CorpusEntry {
  name: string;
  file: string;
  section: string;
  title: string;
  verdict: 'valid' | 'invalid';
  /** The status the RFC names for a UAS receiving it; null when processed normally or silently dropped. */
  response: number | null;
  sha256: string;
  note: string;
}

export const corpusIndex = (): CorpusEntry[] => JSON.parse(readFileSync(corpusDir + 'index.json', 'utf8')) as CorpusEntry[];

/** The message's bytes, exactly as in the RFC's archive. */
export const corpusMessage = (e: CorpusEntry): Buffer => readFileSync(corpusDir + e.file);
