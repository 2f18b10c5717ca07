import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchRoot } from './test-sandbox';

/**
 * Writes `content` (JSON unless a string) to a new file in a folder of its own under the test sandbox (which its
 * teardown removes) and answers its path: a test that writes a tokens file or a config leaves nothing in /tmp.
 */
export function scratchFile(name: string, content: unknown): string {
  const file = join(mkdtempSync(join(scratchRoot(), 'scratch-')), name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
