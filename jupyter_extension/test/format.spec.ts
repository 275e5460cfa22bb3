import { errorLine } from '../src/format';

describe('errorLine', () => {
  it("names the failing cell as the server does (the author's count)", () => {
    const error = { ename: 'ValueError', evalue: 'boom', cell_index: 6, cell_number: 3 };
    expect(errorLine({ ...error, cell_label: 'cell 3' })).toBe('ValueError: boom (cell 3)');
    expect(errorLine({ ...error, cell_number: null, cell_label: 'injected parameters' })).toBe(
      'ValueError: boom (injected parameters)'
    );
  });

  it('shows the line alone for a run that did not stop in a cell, or an older server', () => {
    expect(
      errorLine({ ename: 'Lost', evalue: 'worker gone', cell_index: null, cell_label: null })
    ).toBe('Lost: worker gone');
    expect(errorLine({ ename: 'KeyError', evalue: "'x'", cell_index: 4 })).toBe("KeyError: 'x'");
  });
});
