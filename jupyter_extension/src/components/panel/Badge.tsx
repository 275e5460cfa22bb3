import * as React from 'react';

import { IRun } from '../../api';

/** A run or job status as a coloured badge. */
export function Badge(props: { status: string | null }): JSX.Element {
  const status = props.status || 'never run';
  return (
    <span className={`nbprod-badge nbprod-status-${status.replace(/ /g, '-')}`}>{status}</span>
  );
}

/** Cells done of the run's total, as a bar and a count. */
export function Progress(props: { run: IRun }): JSX.Element | null {
  const { cells_done, cells_total } = props.run.progress;
  if (!cells_total) {
    return null;
  }
  const percent = Math.round((100 * cells_done) / cells_total);
  return (
    <span className="nbprod-progress" title={`${cells_done} of ${cells_total} cells`}>
      <span className="nbprod-progress-bar">
        <span style={{ width: `${percent}%` }} />
      </span>
      <span className="nbprod-progress-text">
        {cells_done}/{cells_total}
      </span>
    </span>
  );
}
