/**
 * The Jobs panel (left sidebar): job definitions and recent runs with live status and
 * progress, refreshing by itself. Every action calls the typed client.
 */
import * as React from 'react';

import { ApiError, IJob, IRules, IRun } from '../api';
import { IServer } from '../server';
import { IJobActions, JobItem } from './panel/JobItem';
import { IRunActions, RunItem } from './panel/RunItem';

export interface IJobsPanelActions {
  edit: (job: IJob) => void;
  openOutput: (run: IRun, atFailingCell: boolean) => Promise<void>;
  confirm: (title: string, body: string) => Promise<boolean>;
}

export interface IJobsPanelProps {
  server: IServer;
  actions: IJobsPanelActions;
  refreshSeconds: () => number;
  /** Emitted by the owner to ask for an immediate refresh. */
  signal: { connect: (fn: () => void) => void; disconnect: (fn: () => void) => void };
}

const RECENT_RUNS = 25;

/** Jobs, runs and the server's rules, refreshed every `refreshSeconds` and on the signal. */
function usePanelData(props: IJobsPanelProps) {
  const [jobs, setJobs] = React.useState<IJob[]>([]);
  const [runs, setRuns] = React.useState<IRun[]>([]);
  const [rules, setRules] = React.useState<IRules | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [updated, setUpdated] = React.useState<Date | null>(null);
  const { server } = props;

  const refresh = React.useCallback(async () => {
    try {
      const [r, j, runs] = await Promise.all([
        server.rules(),
        server.client.listJobs(),
        server.client.listRuns({ limit: RECENT_RUNS })
      ]);
      setRules(r);
      setJobs(j);
      setRuns(runs);
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
    void loop();
    const now = () => void refresh();
    props.signal.connect(now);
    return () => {
      alive = false;
      window.clearTimeout(timer);
      props.signal.disconnect(now);
    };
  }, []);

  return { jobs, runs, rules, error, updated, refresh };
}

export function JobsPanel(props: IJobsPanelProps): JSX.Element {
  const { client } = props.server;
  const { jobs, runs, rules, error, updated, refresh } = usePanelData(props);
  const [message, setMessage] = React.useState<string | null>(null);

  /** Run an action, show its outcome, refresh. */
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

  const jobActions: IJobActions = {
    run: job => void act(() => client.runJob(job.name), `queued a run of ${job.name}`),
    togglePause: job => void act(() => client.setPaused(job.name, !job.paused)),
    edit: job => props.actions.edit(job),
    remove: async job => {
      const sure = await props.actions.confirm(
        `Delete job ${job.name}?`,
        'Its definition and every version are removed; past runs stay.'
      );
      if (sure) {
        await act(() => client.deleteJob(job.name), `deleted ${job.name}`);
      }
    }
  };
  const runActions: IRunActions = {
    cancel: run => void act(() => client.cancelRun(run.run_id)),
    open: (run, atFailingCell) => void act(() => props.actions.openOutput(run, atFailingCell)),
    browseUrl: run => client.browseRunUrl(run.run_id, run.error?.cell_index, rules?.cell_anchor)
  };
  const active = (run: IRun) => !!rules && rules.active_statuses.includes(run.status);

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
          <JobItem key={job.name} job={job} actions={jobActions} />
        ))}
      </ul>

      <h3>Recent runs</h3>
      {runs.length === 0 && <div className="nbprod-muted">No runs yet.</div>}
      <ul className="nbprod-runs">
        {runs.map(run => (
          <RunItem key={run.run_id} run={run} active={active(run)} actions={runActions} />
        ))}
      </ul>
      {updated && (
        <div className="nbprod-muted nbprod-updated">updated {updated.toLocaleTimeString()}</div>
      )}
    </div>
  );
}
