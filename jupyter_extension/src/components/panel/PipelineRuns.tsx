/**
 * A pipeline's newest runs (the expanded pipeline of the Jobs panel): status, step chips,
 * the browse page of each run, Cancel for an active one. Reloaded whenever `refreshKey`
 * changes (the panel's latest run of the pipeline changed).
 */
import * as React from 'react';

import { ApiError, IPipeline, IPipelineRunSummary } from '../../api';
import { isActive, runLine, stepChips, stepProgress } from '../../pipelineView';
import { Badge } from './Badge';
import { StepChips } from './StepChips';

export interface IPipelineRunActions {
  /** The pipeline's newest runs. */
  recent: (pipeline: IPipeline) => Promise<IPipelineRunSummary[]>;
  cancel: (run: IPipelineRunSummary) => void;
  browseUrl: (run: IPipelineRunSummary) => string;
}

export function PipelineRuns(props: {
  pipeline: IPipeline;
  refreshKey: string;
  actions: IPipelineRunActions;
}): JSX.Element {
  const { pipeline, actions } = props;
  const [runs, setRuns] = React.useState<IPipelineRunSummary[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    let current = true;
    actions.recent(pipeline).then(
      found => {
        if (current) {
          setRuns(found);
          setError(null);
        }
      },
      e => {
        if (current) {
          setError((e as ApiError).message);
        }
      }
    );
    return () => {
      current = false;
    };
  }, [pipeline.name, props.refreshKey]);

  if (error) {
    return <div className="nbprod-general-error">{error}</div>;
  }
  if (runs === null) {
    return <div className="nbprod-muted">loading…</div>;
  }
  if (runs.length === 0) {
    return <div className="nbprod-muted">No runs yet.</div>;
  }
  return (
    <ul className="nbprod-pipeline-runs">
      {runs.map(run => (
        <li
          key={run.run_id}
          className="nbprod-pipeline-run"
          data-run-id={run.run_id}
          data-status={run.status}
        >
          <div className="nbprod-line">
            <Badge status={run.status} /> <StepChips chips={stepChips(pipeline, run)} />
          </div>
          <div className="nbprod-line nbprod-muted" title={run.run_id}>
            {runLine(run)} · {stepProgress(run)}
          </div>
          <div className="nbprod-actions">
            {isActive(run) && (
              <button
                className="jp-Button jp-mod-minimal nbprod-pipeline-run-cancel"
                onClick={() => actions.cancel(run)}
              >
                Cancel
              </button>
            )}
            <a
              className="jp-Button jp-mod-minimal nbprod-pipeline-run-browse"
              href={actions.browseUrl(run)}
              target="_blank"
              rel="noopener noreferrer"
            >
              Browse
            </a>
          </div>
        </li>
      ))}
    </ul>
  );
}
