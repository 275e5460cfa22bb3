/**
 * The Jobs panel (left sidebar): job definitions, pipelines with their latest runs, and recent runs with live status and
 * progress, pushed by the server's event stream (polled when there is none). Every action calls the typed client.
 */
import * as React from 'react';

import {
  ApiError,
  applyChange,
  IJob,
  IPipeline,
  IRules,
  IRun,
  IRunEvent,
  LiveMode,
  LiveUpdates,
  NotFoundError,
  overlay
} from '../api';
import { IServer } from '../server';
import { DriftBanner } from './DriftBanner';
import { IJobActions, JobItem } from './panel/JobItem';
import { IPipelineActions, PipelineItem } from './panel/PipelineItem';
import { IRunActions, RunItem } from './panel/RunItem';

export interface IJobsPanelActions {
  edit: (job: IJob) => void;
  openOutput: (run: IRun, atFailingCell: boolean) => Promise<void>;
  confirm: (title: string, body: string) => Promise<boolean>;
  debug: (run: IRun) => Promise<boolean>;
  backfill: (job: IJob, done: () => void) => void;
}

export interface IJobsPanelProps {
  server: IServer;
  actions: IJobsPanelActions;
  refreshSeconds: () => number;
  /** Emitted by the owner to ask for an immediate refresh. */
  signal: { connect: (fn: () => void) => void; disconnect: (fn: () => void) => void };
}

const RECENT_RUNS = 25;
const PIPELINE_RUNS = 5;

/** The pipelines, none from a server without the pipeline routes (an older nbprod). */
function listPipelines(server: IServer): Promise<IPipeline[]> {
  return server.client.listPipelines().catch(e => {
    if (e instanceof NotFoundError) {
      return [];
    }
    throw e;
  });
}

/** Jobs, runs and the server's rules: reloaded when the server's event stream is ready and
 * after each pushed change (applied at once), or every `refreshSeconds` while there is no
 * stream; and on the signal. */
function usePanelData(props: IJobsPanelProps) {
  const [jobs, setJobs] = React.useState<IJob[]>([]);
  const [runs, setRuns] = React.useState<IRun[]>([]);
  const [pipelines, setPipelines] = React.useState<IPipeline[]>([]);
  const [rules, setRules] = React.useState<IRules | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [updated, setUpdated] = React.useState<Date | null>(null);
  const [mode, setMode] = React.useState<LiveMode>('connecting');
  // Pushed changes by run id, numbered as they arrive; a listing laid over with those newer
  // than its request (see overlay).
  const pushed = React.useRef(new Map<string, { seq: number; event: IRunEvent }>());
  const seq = React.useRef(0);
  const { server } = props;

  const refresh = React.useCallback(async () => {
    const since = seq.current;
    try {
      const [r, j, listed, p] = await Promise.all([
        server.rules(),
        server.client.listJobs(),
        server.client.listRuns({ limit: RECENT_RUNS }),
        listPipelines(server)
      ]);
      setRules(r);
      setJobs(j);
      setPipelines(p);
      setRuns(overlay(listed, pushed.current, since));
      for (const [runId, change] of pushed.current) {
        if (change.seq <= since) {
          pushed.current.delete(runId); // the listing knows it
        }
      }
      setError(null);
      setUpdated(new Date());
    } catch (e) {
      setError((e as ApiError).message);
    }
  }, []);

  const live = React.useMemo(
    () =>
      new LiveUpdates({
        url: server.events.url,
        connect: server.events.connect,
        refresh,
        onRun: event => {
          seq.current += 1;
          pushed.current.set(event.run_id, { seq: seq.current, event });
          setRuns(now =>
            now.map(run => (run.run_id === event.run_id ? applyChange(run, event) : run))
          );
        },
        pollSeconds: props.refreshSeconds,
        onMode: setMode,
        log: message => console.debug(message)
      }),
    []
  );

  React.useEffect(() => {
    live.start();
    const now = () => void live.reload();
    props.signal.connect(now);
    return () => {
      live.stop();
      props.signal.disconnect(now);
    };
  }, []);

  const reload = React.useCallback(() => live.reload(), []);
  return { jobs, runs, pipelines, rules, error, updated, mode, refresh: reload };
}

export function JobsPanel(props: IJobsPanelProps): JSX.Element {
  const { client } = props.server;
  const { jobs, runs, pipelines, rules, error, updated, mode, refresh } = usePanelData(props);
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
    backfill: job => props.actions.backfill(job, () => void refresh()),
    drift: job => (
      <DriftBanner
        client={client}
        job={job.name}
        refreshKey={job.version}
        onUpdated={() => void refresh()}
      />
    ),
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
    debug: run => void act(() => props.actions.debug(run)),
    browseUrl: run => client.browseRunUrl(run.run_id, run.error?.cell_index, rules?.cell_anchor)
  };
  const pipelineActions: IPipelineActions = {
    run: pipeline =>
      void act(async () => {
        const started = await client.runPipeline(pipeline.name);
        setMessage(`started pipeline run ${started.run_id} of ${pipeline.name}`);
      }),
    cancel: run => void act(() => client.cancelPipelineRun(run.run_id)),
    recent: async pipeline => (await client.getPipeline(pipeline.name, PIPELINE_RUNS)).runs,
    browseUrl: run => client.browsePipelineRunUrl(run.run_id)
  };
  const active = (run: IRun) => !!rules && rules.active_statuses.includes(run.status);

  return (
    <div className="nbprod-jobs-panel" data-live={mode}>
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

      {pipelines.length > 0 && (
        <>
          <h3>Pipelines</h3>
          <ul className="nbprod-pipelines">
            {pipelines.map(pipeline => (
              <PipelineItem key={pipeline.name} pipeline={pipeline} actions={pipelineActions} />
            ))}
          </ul>
        </>
      )}

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
