/**
 * One pipeline of the Jobs panel: name, version, schedule, its latest run's status and
 * step chips, *Run now*, Cancel while the latest run is active, and its newest runs when
 * expanded.
 */
import * as React from 'react';

import { IPipeline } from '../../api';
import { isActive, stepChips } from '../../pipelineView';
import { Badge } from './Badge';
import { IPipelineRunActions, PipelineRuns } from './PipelineRuns';
import { StepChips } from './StepChips';

export interface IPipelineActions extends IPipelineRunActions {
  run: (pipeline: IPipeline) => void;
}

export function PipelineItem(props: {
  pipeline: IPipeline;
  actions: IPipelineActions;
}): JSX.Element {
  const { pipeline, actions } = props;
  const [expanded, setExpanded] = React.useState(false);
  const latest = pipeline.latest_run;
  const refreshKey = latest
    ? `${latest.run_id} ${latest.status} ${JSON.stringify(latest.steps)}`
    : '';
  return (
    <li
      className="nbprod-pipeline"
      data-pipeline={pipeline.name}
      data-status={latest ? latest.status : 'never run'}
    >
      <div className="nbprod-line">
        <b className="nbprod-pipeline-name">{pipeline.name}</b>
        <span className="nbprod-muted"> v{pipeline.version}</span>
        <Badge status={latest ? latest.status : null} />
      </div>
      <div className="nbprod-line nbprod-muted nbprod-pipeline-schedule">
        {pipeline.schedule ? `${pipeline.schedule} (${pipeline.timezone})` : 'on demand'}
      </div>
      <div className="nbprod-line nbprod-pipeline-steps">
        <StepChips chips={stepChips(pipeline, latest)} />
      </div>
      <div className="nbprod-actions">
        <button
          className="jp-Button jp-mod-minimal nbprod-pipeline-run-now"
          onClick={() => actions.run(pipeline)}
        >
          Run now
        </button>
        {isActive(latest) && latest && (
          <button
            className="jp-Button jp-mod-minimal nbprod-pipeline-cancel"
            onClick={() => actions.cancel(latest)}
          >
            Cancel
          </button>
        )}
        <button
          className="jp-Button jp-mod-minimal nbprod-pipeline-expand"
          aria-expanded={expanded}
          onClick={() => setExpanded(!expanded)}
        >
          {expanded ? 'Hide runs' : 'Runs'}
        </button>
      </div>
      {expanded && <PipelineRuns pipeline={pipeline} refreshKey={refreshKey} actions={actions} />}
    </li>
  );
}
