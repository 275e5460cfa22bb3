/** What the Jobs panel shows of a pipeline and its runs, as plain functions (tested
 * without React): the step chips, whether a run can still be cancelled, its summary line. */
import type { IPipeline, IPipelineRunSummary, StepState } from './api/types';
import { formatTime } from './format';

/** A step as a chip: its name and its state in the run shown (`none`: never ran). */
export interface IStepChip {
  name: string;
  state: StepState | 'none';
}

/** A pipeline run still has steps to stop (the Cancel button). */
export function isActive(run: IPipelineRunSummary | null): boolean {
  return !!run && (run.status === 'queued' || run.status === 'running');
}

/** One chip per step, in the order the run lists them (the order they run), then any step
 * of the current version the run does not know; `none` without a run. */
export function stepChips(pipeline: IPipeline, run: IPipelineRunSummary | null): IStepChip[] {
  const states = run ? run.steps : {};
  const chips: IStepChip[] = Object.entries(states).map(([name, state]) => ({ name, state }));
  for (const step of pipeline.steps) {
    if (!(step.name in states)) {
      chips.push({ name: step.name, state: 'none' });
    }
  }
  return chips;
}

/** `3/3 steps succeeded`: how far a run got. */
export function stepProgress(run: IPipelineRunSummary): string {
  const states = Object.values(run.steps);
  const done = states.filter(state => state === 'succeeded').length;
  return `${done}/${states.length} steps succeeded`;
}

/** The line under a run: when it started, how long it took, what started it. */
export function runLine(run: IPipelineRunSummary): string {
  const parts = [formatTime(run.started_at || run.created_at)];
  if (run.duration_s !== null) {
    parts.push(`${run.duration_s.toFixed(1)} s`);
  }
  if (run.trigger) {
    parts.push(run.trigger);
  }
  return parts.join(' · ');
}
