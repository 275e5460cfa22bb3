/**
 * The Schedule dialog's form: job name, typed parameters, kernel, schedule, options and
 * notifications, each a section component; the state is one reducer (form/state.ts). Every
 * field is validated again by the server; a 400 answer names the field, and its message is
 * shown next to it. In Sweep mode (a notebook, not a job being edited) each parameter takes
 * a list of values and *Start sweep* queues one run per combination.
 */
import * as React from 'react';

import { ApiError, IJob, ISweepQueued, NbprodClient } from '../api';
import { combinations } from '../form/sweep';
import {
  IFields,
  Mode,
  initialState,
  jobForm,
  parametersOf,
  reducer,
  runForm,
  sweepForm,
  validate
} from '../form/state';
import { IServer } from '../server';
import { DriftBanner } from './DriftBanner';
import { FieldError } from './schedule/FieldError';
import { IKernel, KernelSelect } from './schedule/KernelSelect';
import { NotificationsSection } from './schedule/NotificationsSection';
import { OptionsSection } from './schedule/OptionsSection';
import { ParameterFields } from './schedule/ParameterFields';
import { ScheduleSection } from './schedule/ScheduleSection';
import { SweepFields } from './schedule/SweepFields';

type Submit = 'run' | 'schedule' | 'sweep';

export interface IScheduleResult {
  kind: Submit;
  job: string;
  runId?: string;
}

export interface IScheduleFormProps {
  server: IServer;
  /** Contents path of the notebook (create mode). */
  path?: string;
  /** The job being edited (edit mode). */
  job?: IJob;
  kernels: IKernel[];
  onDone: (result: IScheduleResult) => void;
  onCancel: () => void;
}

function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

function ModeSwitch(props: { mode: Mode; onChange: (mode: Mode) => void }): JSX.Element {
  const choice = (mode: Mode, label: string) => (
    <label className={`nbprod-mode-choice${props.mode === mode ? ' nbprod-mod-selected' : ''}`}>
      <input
        type="radio"
        name="mode"
        value={mode}
        checked={props.mode === mode}
        onChange={() => props.onChange(mode)}
      />
      {label}
    </label>
  );
  return (
    <div className="nbprod-mode" role="radiogroup">
      {choice('schedule', 'Run or schedule')}
      {choice('sweep', 'Sweep')}
    </div>
  );
}

function SweepButtons(props: {
  busy: boolean;
  count: number;
  onCancel: () => void;
  onSubmit: () => void;
}): JSX.Element {
  return (
    <div className="nbprod-form-buttons">
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-reject"
        onClick={props.onCancel}
        disabled={props.busy}
      >
        Cancel
      </button>
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-accept nbprod-start-sweep"
        onClick={props.onSubmit}
        disabled={props.busy}
      >
        Start sweep ({props.count === 1 ? '1 run' : `${props.count} runs`})
      </button>
    </div>
  );
}

/** After *Start sweep*: the sweep's id and its browse page. */
function SweepDone(props: {
  sweep: ISweepQueued;
  client: NbprodClient;
  onClose: () => void;
  onRuns: () => void;
}): JSX.Element {
  const { sweep } = props;
  return (
    <div className="nbprod-form nbprod-sweep-done" data-sweep-id={sweep.sweep_id}>
      <h2 className="nbprod-form-title">Sweep queued</h2>
      <p>
        Sweep <code className="nbprod-sweep-id">{sweep.sweep_id}</code>: {sweep.count} runs of job{' '}
        <b>{sweep.job}</b> over {sweep.swept.join(', ')}, queued for the workers.
      </p>
      <p>
        <a
          className="nbprod-sweep-link"
          href={props.client.browseSweepUrl(sweep.sweep_id)}
          target="_blank"
          rel="noopener noreferrer"
        >
          Open the sweep&apos;s page (runs and results)
        </a>
      </p>
      <div className="nbprod-form-buttons">
        <button className="jp-Button jp-mod-styled jp-mod-reject" onClick={props.onClose}>
          Close
        </button>
        <button
          className="jp-Button jp-mod-styled jp-mod-accept nbprod-show-runs"
          onClick={props.onRuns}
        >
          Show the runs
        </button>
      </div>
    </div>
  );
}

function Buttons(props: {
  editing: boolean;
  busy: boolean;
  onCancel: () => void;
  onSubmit: (kind: 'run' | 'schedule') => void;
}): JSX.Element {
  return (
    <div className="nbprod-form-buttons">
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-reject"
        onClick={props.onCancel}
        disabled={props.busy}
      >
        Cancel
      </button>
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-accept nbprod-run-now"
        onClick={() => props.onSubmit('run')}
        disabled={props.busy}
      >
        Run now
      </button>
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-accept nbprod-create"
        onClick={() => props.onSubmit('schedule')}
        disabled={props.busy}
      >
        {props.editing ? 'Save (new version)' : 'Create schedule'}
      </button>
    </div>
  );
}

export function ScheduleForm(props: IScheduleFormProps): JSX.Element {
  const { client } = props.server;
  const editing = !!props.job;
  const [state, dispatch] = React.useReducer(reducer, undefined, () =>
    initialState(props.job?.definition, browserZone())
  );
  const { fields, errors } = state;
  const setField = (field: keyof IFields, value: string) =>
    dispatch({ type: 'field', field, value });

  // The notebook's typed parameters (or the edited job's notebook's) and the server's rules.
  React.useEffect(() => {
    const info = props.job
      ? client.jobParameters(props.job.name)
      : client.notebookParameters(props.path || '');
    Promise.all([info, props.server.rules()])
      .then(([info, rules]) => dispatch({ type: 'loaded', info, rules }))
      .catch((error: ApiError) => dispatch({ type: 'loadFailed', message: error.message }));
  }, []);

  const submit = async (kind: Submit) => {
    const found = validate(state, kind);
    if (Object.keys(found).length) {
      dispatch({ type: 'invalid', errors: found });
      return;
    }
    dispatch({ type: 'submitting' });
    const name = fields.name;
    try {
      if (kind === 'sweep') {
        const sweep = await client.createSweep(sweepForm(state, props.path || ''));
        dispatch({ type: 'swept', sweep });
      } else if (kind === 'run') {
        const run = editing
          ? await client.runJob(name, parametersOf(state))
          : await client.runNotebook(runForm(state, props.path || ''));
        dispatch({ type: 'done' });
        props.onDone({ kind, job: name, runId: run.run_id });
      } else {
        if (editing) {
          await client.updateJob(name, jobForm(state));
        } else {
          await client.createJob({ ...jobForm(state), path: props.path || '' });
        }
        dispatch({ type: 'done' });
        props.onDone({ kind, job: name });
      }
    } catch (error) {
      const e = error as ApiError;
      dispatch({ type: 'failed', message: e.message, field: e.field });
    }
  };

  if (state.loadError) {
    return (
      <div className="nbprod-form">
        <div className="nbprod-general-error">{state.loadError}</div>
        <div className="nbprod-form-buttons">
          <button className="jp-Button jp-mod-styled jp-mod-reject" onClick={props.onCancel}>
            Close
          </button>
        </div>
      </div>
    );
  }
  if (!state.info || !state.rules) {
    return <div className="nbprod-form nbprod-loading">Loading…</div>;
  }
  if (state.swept) {
    const sweep = state.swept;
    return (
      <SweepDone
        sweep={sweep}
        client={client}
        onClose={props.onCancel}
        onRuns={() => props.onDone({ kind: 'sweep', job: sweep.job })}
      />
    );
  }
  const sweeping = state.mode === 'sweep';
  return (
    <form className="nbprod-form" onSubmit={event => event.preventDefault()}>
      <h2 className="nbprod-form-title">
        {editing
          ? `Edit job ${fields.name}`
          : `${sweeping ? 'Sweep' : 'Schedule'} ${state.info.name}`}
      </h2>
      {props.job && <DriftBanner client={client} job={props.job.name} />}
      {!editing && (
        <ModeSwitch mode={state.mode} onChange={mode => dispatch({ type: 'mode', mode })} />
      )}
      <label className="nbprod-row">
        <span>Job name</span>
        <input
          name="name"
          className="jp-mod-styled"
          value={fields.name}
          disabled={editing}
          onChange={e => setField('name', e.target.value)}
        />
      </label>
      <FieldError errors={errors} field="name" />
      <FieldError errors={errors} field="path" />
      {sweeping ? (
        <SweepFields
          parameters={state.info.parameters}
          values={state.sweep}
          syntax={state.rules.values}
          errors={errors}
          onChange={(name, texts) => dispatch({ type: 'sweepValues', name, texts })}
        />
      ) : (
        <ParameterFields
          parameters={state.info.parameters}
          values={state.values}
          syntax={state.rules.values}
          errors={errors}
          onChange={(name, text) => dispatch({ type: 'value', name, text })}
        />
      )}
      <KernelSelect
        kernels={props.kernels}
        value={fields.kernel}
        onChange={value => setField('kernel', value)}
      />
      <FieldError errors={errors} field="kernel" />
      {!sweeping && (
        <ScheduleSection
          client={client}
          schedule={fields.schedule}
          preset={fields.preset}
          timezone={fields.timezone}
          errors={errors}
          onChange={setField}
          onErrors={found => dispatch({ type: 'fieldErrors', errors: found })}
        />
      )}
      <OptionsSection
        fields={fields}
        errors={errors}
        rules={state.rules}
        onChange={setField}
        reportMode={state.reportMode}
        onReportMode={value => dispatch({ type: 'reportMode', value })}
        sweep={sweeping}
      >
        <NotificationsSection
          rows={state.notify}
          rules={state.rules}
          errors={errors}
          dispatch={dispatch}
        />
      </OptionsSection>
      {state.general && <div className="nbprod-general-error">{state.general}</div>}
      {sweeping ? (
        <SweepButtons
          busy={state.busy}
          count={combinations(state.info.parameters, state.sweep)}
          onCancel={props.onCancel}
          onSubmit={() => void submit('sweep')}
        />
      ) : (
        <Buttons editing={editing} busy={state.busy} onCancel={props.onCancel} onSubmit={submit} />
      )}
    </form>
  );
}
