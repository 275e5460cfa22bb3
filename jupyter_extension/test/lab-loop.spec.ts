import { checkRange, countText, daysBefore, parseDay } from '../src/form/backfill';
import { cellsBefore, debugFolder, isOutputPath, outputPath } from '../src/paths';

describe('backfill range', () => {
  it('takes real calendar days only', () => {
    expect(parseDay('2026-03-01')?.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(parseDay('2026-02-30')).toBeNull();
    expect(parseDay('yesterday')).toBeNull();
    expect(parseDay('2026-3-1')).toBeNull();
  });

  it('blames one field', () => {
    const today = '2026-03-10';
    expect(checkRange('2026-03-01', '2026-03-03', today)).toBeNull();
    expect(checkRange('2026-03-03', '2026-03-03', today)).toBeNull();
    expect(checkRange('', '2026-03-03', today)?.field).toBe('from');
    expect(checkRange('2026-03-01', '2026-13-01', today)?.field).toBe('to');
    expect(checkRange('2026-03-05', '2026-03-01', today)).toEqual({
      field: 'from',
      message: 'after 2026-03-01'
    });
    expect(checkRange('2026-03-11', '2026-03-12', today)?.message).toMatch(/future/);
  });

  it('defaults to the days before today and says the count', () => {
    expect(daysBefore(new Date(2026, 2, 10, 15, 0), 3)).toBe('2026-03-07');
    expect(daysBefore(new Date(2026, 2, 1), 1)).toBe('2026-02-28');
    expect(countText(0, null, null)).toBe('no fire time in this range');
    expect(countText(1, 'a', 'a')).toBe('1 run (a)');
    expect(countText(3, 'a', 'c')).toBe('3 runs (a … c)');
  });
});

describe('paths', () => {
  it('names an output after its job and run, in the read-only drive', () => {
    const path = outputPath('report', '20260301T070000000Z-abcd1234');
    expect(path).toBe(
      'nbprod-run:20260301T070000000Z-abcd1234/report run 20260301T070000000Z-abcd1234.ipynb'
    );
    expect(isOutputPath(path)).toBe(true);
    expect(isOutputPath('nbprod-outputs/report/x.ipynb')).toBe(false);
  });

  it('re-runs the cells before the failing one, and takes the folder setting', () => {
    expect(cellsBefore(3)).toEqual([0, 1, 2]);
    expect(cellsBefore(0)).toEqual([]);
    expect(cellsBefore(null)).toEqual([]);
    expect(debugFolder(undefined)).toBe('nbprod-debug');
    expect(debugFolder(' debug/here/ ')).toBe('debug/here');
  });
});
