/** A pipeline run's steps as small chips coloured by state, in the order they run. */
import * as React from 'react';

import { IStepChip } from '../../pipelineView';

export function StepChips(props: { chips: IStepChip[] }): JSX.Element {
  return (
    <span className="nbprod-step-chips">
      {props.chips.map(chip => (
        <span
          key={chip.name}
          className={`nbprod-step-chip nbprod-status-${chip.state}`}
          data-step={chip.name}
          data-state={chip.state}
          title={`${chip.name}: ${chip.state === 'none' ? 'not run' : chip.state}`}
        >
          {chip.name}
        </span>
      ))}
    </span>
  );
}
