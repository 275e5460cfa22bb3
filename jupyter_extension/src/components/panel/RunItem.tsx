/**
 * One run of the Jobs panel: status, progress, error, and its actions (cancel while the
 * server counts it active, open the output, jump to the failing cell, the browse page).
 */
import * as React from 'react';

import { IRun } from '../../api';
import { errorLine, formatTime } from '../../format';
import { DEBUGGABLE } from '../../paths';
import { Badge, Progress } from './Badge';

export interface IRunActions {
  cancel: (run: IRun) => void;
  open: (run: IRun, atFailingCell: boolean) => void;
  browseUrl: (run: IRun) => string;
  debug: (run: IRun) => void;
}

export function RunItem(props: { run: IRun; active: boolean; actions: IRunActions }): JSX.Element {
  const { run, active, actions } = props;
  return (
    <li className="nbprod-run" data-run-id={run.run_id} data-job={run.job} data-status={run.status}>
      <div className="nbprod-line">
        <b>{run.job}</b> <Badge status={run.status} /> <Progress run={run} />
      </div>
      <div className="nbprod-line nbprod-muted" title={run.run_id}>
        {formatTime(run.started_at)}
        {run.duration_s !== null ? ` · ${run.duration_s.toFixed(1)} s` : ''}
        {run.trigger ? ` · ${run.trigger}` : ''}
      </div>
      {run.error && <div className="nbprod-line nbprod-run-error">{errorLine(run.error)}</div>}
      <div className="nbprod-actions">
        {active && (
          <button
            className="jp-Button jp-mod-minimal nbprod-run-cancel"
            disabled={run.cancel_requested}
            onClick={() => actions.cancel(run)}
          >
            {run.cancel_requested ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        {!active && run.output && (
          <button
            className="jp-Button jp-mod-minimal nbprod-run-open"
            onClick={() => actions.open(run, false)}
          >
            Open
          </button>
        )}
        {run.error && run.error.cell_index !== null && (
          <button
            className="jp-Button jp-mod-minimal nbprod-run-failing-cell"
            title={run.error.cell_label ? `Open the output at ${run.error.cell_label}` : undefined}
            onClick={() => actions.open(run, true)}
          >
            Failing cell
          </button>
        )}
        {DEBUGGABLE.includes(run.status) && (
          <button
            className="jp-Button jp-mod-minimal nbprod-run-debug"
            title="A new notebook from this run's input snapshot and parameters"
            onClick={() => actions.debug(run)}
          >
            Debug
          </button>
        )}
        <a
          className="jp-Button jp-mod-minimal nbprod-run-browse"
          href={actions.browseUrl(run)}
          target="_blank"
          rel="noopener noreferrer"
        >
          Browse
        </a>
      </div>
    </li>
  );
}
