/**
 * The Jobs panel (left sidebar): job definitions and recent runs with live status and
 * progress, refreshing by itself. Every action calls the REST API.
 */
import * as React from 'react';

import { ApiError, browseRunUrl, postJSON, requestAPI } from '../handler';
import { IJob, IRun } from '../tokens';
import { formatTime } from '../format';

export interface IJobsPanelActions {
  edit: (job: IJob) => void;
  openOutput: (run: IRun, atFailingCell: boolean) => Promise<void>;
  confirm: (title: string, body: string) => Promise<boolean>;
}

export interface IJobsPanelProps {
  actions: IJobsPanelActions;
  refreshSeconds: () => number;
  /** Incremented by the owner to ask for an immediate refresh. */
  signal: { connect: (fn: () => void) => void; disconnect: (fn: () => void) => void };
}

const ACTIVE = ['queued', 'starting', 'running'];

function Badge(props: { status: string | null }): JSX.Element {
  const status = props.status || 'never run';
  return (
    <span className={`nbprod-badge nbprod-status-${status.replace(/ /g, '-')}`}>{status}</span>
  );
}

function Progress(props: { run: IRun }): JSX.Element | null {
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

export function JobsPanel(props: IJobsPanelProps): JSX.Element {
  const [jobs, setJobs] = React.useState<IJob[]>([]);
  const [runs, setRuns] = React.useState<IRun[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const [message, setMessage] = React.useState<string | null>(null);
  const [updated, setUpdated] = React.useState<Date | null>(null);

  const refresh = React.useCallback(async () => {
    try {
      const [j, r] = await Promise.all([
        requestAPI<{ jobs: IJob[] }>('jobs'),
        requestAPI<{ runs: IRun[] }>('runs?limit=25')
      ]);
      setJobs(j.jobs);
      setRuns(r.runs);
      setError(null);
      setUpdated(new Date());
    } catch (e) {
      setError((e as ApiError).message);
    }
  }, []);

  React.useEffect(() => {
    let timer = 0;
    let alive = true;
    const loop = async () => {
      await refresh();
      if (alive) {
        timer = window.setTimeout(loop, props.refreshSeconds() * 1000);
      }
    };
    loop();
    const now = () => void refresh();
    props.signal.connect(now);
    return () => {
      alive = false;
      window.clearTimeout(timer);
      props.signal.disconnect(now);
    };
  }, []);

  const act = async (what: () => Promise<unknown>, done?: string) => {
    setMessage(null);
    try {
      await what();
      if (done) {
        setMessage(done);
      }
    } catch (e) {
      setMessage((e as ApiError).message);
    }
    await refresh();
  };

  return (
    <div className="nbprod-jobs-panel">
      <div className="nbprod-panel-header">
        <h2>Jobs</h2>
        <button
          className="jp-Button jp-mod-minimal nbprod-refresh"
          title="Refresh"
          onClick={() => void refresh()}
        >
          ⟳
        </button>
      </div>
      {error && <div className="nbprod-general-error">{error}</div>}
      {message && <div className="nbprod-message">{message}</div>}

      <h3>Scheduled jobs</h3>
      {jobs.length === 0 && (
        <div className="nbprod-muted">No jobs yet: open a notebook and click Schedule.</div>
      )}
      <ul className="nbprod-jobs">
        {jobs.map(job => (
          <li
            key={job.name}
            className="nbprod-job"
            data-job={job.name}
            data-paused={job.paused ? 'true' : 'false'}
          >
            <div className="nbprod-line">
              <b className="nbprod-job-name">{job.name}</b>
              <span className="nbprod-muted"> v{job.version}</span>
              {job.paused && <span className="nbprod-badge nbprod-paused">paused</span>}
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
                onClick={() =>
                  act(
                    () => postJSON(`jobs/${encodeURIComponent(job.name)}/runs`),
                    `queued a run of ${job.name}`
                  )
                }
              >
                Run now
              </button>
              <button
                className="jp-Button jp-mod-minimal nbprod-job-pause"
                onClick={() =>
                  act(() =>
                    postJSON(
                      `jobs/${encodeURIComponent(job.name)}/${job.paused ? 'resume' : 'pause'}`
                    )
                  )
                }
              >
                {job.paused ? 'Resume' : 'Pause'}
              </button>
              <button
                className="jp-Button jp-mod-minimal nbprod-job-edit"
                onClick={() => props.actions.edit(job)}
              >
                Edit
              </button>
              <button
                className="jp-Button jp-mod-minimal nbprod-job-delete"
                onClick={async () => {
                  if (
                    await props.actions.confirm(
                      `Delete job ${job.name}?`,
                      'Its definition and every version are removed; past runs stay.'
                    )
                  ) {
                    await act(
                      () =>
                        requestAPI(`jobs/${encodeURIComponent(job.name)}`, { method: 'DELETE' }),
                      `deleted ${job.name}`
                    );
                  }
                }}
              >
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>

      <h3>Recent runs</h3>
      {runs.length === 0 && <div className="nbprod-muted">No runs yet.</div>}
      <ul className="nbprod-runs">
        {runs.map(run => (
          <li
            key={run.run_id}
            className="nbprod-run"
            data-run-id={run.run_id}
            data-job={run.job}
            data-status={run.status}
          >
            <div className="nbprod-line">
              <b>{run.job}</b> <Badge status={run.status} /> <Progress run={run} />
            </div>
            <div className="nbprod-line nbprod-muted" title={run.run_id}>
              {formatTime(run.started_at)}
              {run.duration_s !== null ? ` · ${run.duration_s.toFixed(1)} s` : ''}
              {run.trigger ? ` · ${run.trigger}` : ''}
            </div>
            {run.error && (
              <div className="nbprod-line nbprod-run-error">
                {run.error.ename}: {run.error.evalue}
              </div>
            )}
            <div className="nbprod-actions">
              {ACTIVE.includes(run.status) && (
                <button
                  className="jp-Button jp-mod-minimal nbprod-run-cancel"
                  disabled={run.cancel_requested}
                  onClick={() =>
                    act(() => postJSON(`runs/${encodeURIComponent(run.run_id)}/cancel`))
                  }
                >
                  {run.cancel_requested ? 'Cancelling…' : 'Cancel'}
                </button>
              )}
              {!ACTIVE.includes(run.status) && run.output && (
                <button
                  className="jp-Button jp-mod-minimal nbprod-run-open"
                  onClick={() => act(() => props.actions.openOutput(run, false))}
                >
                  Open
                </button>
              )}
              {run.error && run.error.cell_index !== null && (
                <button
                  className="jp-Button jp-mod-minimal nbprod-run-failing-cell"
                  onClick={() => act(() => props.actions.openOutput(run, true))}
                >
                  Failing cell
                </button>
              )}
              <a
                className="jp-Button jp-mod-minimal nbprod-run-browse"
                href={browseRunUrl(run.run_id, run.error?.cell_index)}
                target="_blank"
                rel="noopener noreferrer"
              >
                Browse
              </a>
            </div>
          </li>
        ))}
      </ul>
      {updated && (
        <div className="nbprod-muted nbprod-updated">updated {updated.toLocaleTimeString()}</div>
      )}
    </div>
  );
}
