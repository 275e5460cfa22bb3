/** One job of the Jobs panel: name, version, status, schedule, next run, and its actions. */
import * as React from 'react';

import { IJob } from '../../api';
import { formatTime } from '../../format';
import { Badge } from './Badge';

export interface IJobActions {
  run: (job: IJob) => void;
  togglePause: (job: IJob) => void;
  edit: (job: IJob) => void;
  remove: (job: IJob) => void;
  backfill: (job: IJob) => void;
  /** The drift banner of a job whose working copy changed (components/DriftBanner). */
  drift: (job: IJob) => JSX.Element | null;
}

export function JobItem(props: { job: IJob; actions: IJobActions }): JSX.Element {
  const { job, actions } = props;
  return (
    <li className="nbprod-job" data-job={job.name} data-paused={job.paused ? 'true' : 'false'}>
      <div className="nbprod-line">
        <b className="nbprod-job-name">{job.name}</b>
        <span className="nbprod-muted"> v{job.version}</span>
        {job.paused && <span className="nbprod-badge nbprod-paused">paused</span>}
        {job.scheduled_by && (
          <span className="nbprod-badge nbprod-scheduled-by" title="nbprod does not fire it">
            scheduled by {job.scheduled_by === 'airflow' ? 'Airflow' : job.scheduled_by}
          </span>
        )}
        {job.drifted && <span className="nbprod-badge nbprod-drifted">changed</span>}
        <Badge status={job.last_status} />
      </div>
      <div className="nbprod-line nbprod-muted nbprod-job-schedule">
        {job.schedule ? `${job.schedule} (${job.timezone})` : 'on demand'}
      </div>
      <div className="nbprod-line nbprod-next-run">
        next run:{' '}
        <span className="nbprod-next-run-time">
          {job.paused ? 'paused' : formatTime(job.next_run)}
        </span>
      </div>
      <div className="nbprod-actions">
        <button
          className="jp-Button jp-mod-minimal nbprod-job-run"
          onClick={() => actions.run(job)}
        >
          Run now
        </button>
        <button
          className="jp-Button jp-mod-minimal nbprod-job-pause"
          onClick={() => actions.togglePause(job)}
        >
          {job.paused ? 'Resume' : 'Pause'}
        </button>
        <button
          className="jp-Button jp-mod-minimal nbprod-job-edit"
          onClick={() => actions.edit(job)}
        >
          Edit
        </button>
        {job.schedule && (
          <button
            className="jp-Button jp-mod-minimal nbprod-job-backfill"
            title="Run it for a past date range"
            onClick={() => actions.backfill(job)}
          >
            Backfill…
          </button>
        )}
        <button
          className="jp-Button jp-mod-minimal nbprod-job-delete"
          onClick={() => actions.remove(job)}
        >
          Delete
        </button>
      </div>
      {job.drifted && actions.drift(job)}
    </li>
  );
}
