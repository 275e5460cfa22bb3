/**
 * The Schedule dialog's form: job name, typed parameters, kernel, schedule, options and
 * notifications, each a section component; the state is one reducer (form/state.ts). Every
 * field is validated again by the server; a 400 answer names the field, and its message is
 * shown next to it.
 */
import * as React from 'react';

import { ApiError, IJob } from '../api';
import {
  IFields,
  initialState,
  jobForm,
  parametersOf,
  reducer,
  runForm,
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

export interface IScheduleResult {
  kind: 'run' | 'schedule';
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

  const submit = async (kind: 'run' | 'schedule') => {
    const found = validate(state);
    if (Object.keys(found).length) {
      dispatch({ type: 'invalid', errors: found });
      return;
    }
    dispatch({ type: 'submitting' });
    const name = fields.name;
    try {
      if (kind === 'run') {
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
  return (
    <form className="nbprod-form" onSubmit={event => event.preventDefault()}>
      <h2 className="nbprod-form-title">
        {editing ? `Edit job ${fields.name}` : `Schedule ${state.info.name}`}
      </h2>
      {props.job && <DriftBanner client={client} job={props.job.name} />}
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
      <ParameterFields
        parameters={state.info.parameters}
        values={state.values}
        syntax={state.rules.values}
        errors={errors}
        onChange={(name, text) => dispatch({ type: 'value', name, text })}
      />
      <KernelSelect
        kernels={props.kernels}
        value={fields.kernel}
        onChange={value => setField('kernel', value)}
      />
      <FieldError errors={errors} field="kernel" />
      <ScheduleSection
        client={client}
        schedule={fields.schedule}
        preset={fields.preset}
        timezone={fields.timezone}
        errors={errors}
        onChange={setField}
        onErrors={found => dispatch({ type: 'fieldErrors', errors: found })}
      />
      <OptionsSection fields={fields} errors={errors} onChange={setField}>
        <NotificationsSection
          rows={state.notify}
          rules={state.rules}
          errors={errors}
          dispatch={dispatch}
        />
      </OptionsSection>
      {state.general && <div className="nbprod-general-error">{state.general}</div>}
      <Buttons editing={editing} busy={state.busy} onCancel={props.onCancel} onSubmit={submit} />
    </form>
  );
}
