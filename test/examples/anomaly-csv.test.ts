import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CSV, main, makeSensorCsv } from '../../examples/anomaly-csv.js';

describe('examples/anomaly-csv.ts', () => {
  it('the shipped sensors.csv is what makeSensorCsv() writes', () => {
    expect(readFileSync(DEFAULT_CSV, 'utf8')).toBe(makeSensorCsv());
  });

  it('finds the faults in sensors.csv: ROC AUC above 0.9 on the rows it did not train on', async () => {
    const r = await main({ epochs: 40, quiet: true });
    expect(r.auc).toBeGreaterThan(0.9);
    expect(r.precision).toBeGreaterThan(0.5);
    expect(r.flagged.every((i) => i >= 600)).toBe(true);
  });

  it('works on a CSV without labels (no evaluation), and names a broken one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aelab-ex-'));
    const plain = join(dir, 'plain.csv');
    writeFileSync(
      plain,
      readFileSync(DEFAULT_CSV, 'utf8')
        .split('\n')
        .map((l) => l.split(',').slice(0, 8).join(','))
        .join('\n'),
    );
    const r = await main({ csv: plain, epochs: 5, quiet: true });
    expect(r.auc).toBeNull();
    expect(r.threshold).toBeGreaterThan(0);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\n3,x\n');
    await expect(main({ csv: bad, quiet: true })).rejects.toThrow(/bad\.csv:3: column 'b' is not a number: "x"/);
    await expect(main({ csv: plain, label: 'fault', quiet: true })).rejects.toThrow(/no column 'fault' \(columns: s1, /);
  });
});
