/**
 * The Schedule dialog's form: job name, typed parameters, kernel, schedule (presets, cron,
 * description and next fire times from the server), timezone, retries, timeout,
 * notifications, store. Every field is validated again by the server; a 400 answer names
 * the field, and its message is shown next to it.
 */
import * as React from 'react';

import { ApiError, postJSON, requestAPI } from '../handler';
import { ICronPreview, IDefinition, IJob, INotebookInfo, IParameter } from '../tokens';

export const PRESETS: { label: string; cron: string }[] = [
  { label: 'On demand only (no schedule)', cron: '' },
  { label: 'Every hour', cron: '@hourly' },
  { label: 'Every day at 07:00', cron: '0 7 * * *' },
  { label: 'Weekdays at 07:00', cron: '0 7 * * 1-5' },
  { label: 'Every Monday at 07:00', cron: '0 7 * * 1' },
  { label: 'First of the month at 07:00', cron: '0 7 1 * *' },
  { label: 'Every 15 minutes', cron: '*/15 * * * *' },
  { label: 'Custom cron expression', cron: 'custom' }
];

const EVENTS = ['on_failure', 'on_success', 'on_start'];
const TARGET_TYPES = ['email', 'webhook', 'slack'];

interface INotifyRow {
  event: string;
  type: string;
  target: string;
}

export interface IScheduleResult {
  kind: 'run' | 'schedule';
  job: string;
  runId?: string;
}

export interface IScheduleFormProps {
  /** Contents path of the notebook (create mode). */
  path?: string;
  /** The job being edited (edit mode). */
  job?: IJob;
  kernels: { name: string; display: string }[];
  onDone: (result: IScheduleResult) => void;
  onCancel: () => void;
}

/** The text a parameter's input starts with: its default as the user would type it. */
export function defaultText(p: IParameter): string {
  if (p.default === null || p.default === undefined) {
    return p.default_source === 'None' ? '' : p.default_source;
  }
  if (typeof p.default === 'string') {
    return p.default;
  }
  return JSON.stringify(p.default);
}

function valueText(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

const INT_RE = /^[+-]?[0-9]+(_[0-9]+)*$/;
const BOOL_WORDS = ['true', 'false', 'yes', 'no', 'on', 'off', '1', '0'];

/** The same checks as the server's `-p NAME VALUE` parsing, for instant feedback. */
export function checkValue(p: IParameter, text: string): string | null {
  const base = p.type.split('[')[0].replace('Optional', '').trim();
  if (p.nullable && ['none', 'null', '~'].includes(text.trim().toLowerCase())) {
    return null;
  }
  const bad = `parameter '${p.name}' expects ${p.type}, got '${text}'`;
  if (base === 'int' && !INT_RE.test(text.trim())) {
    return bad;
  }
  if (base === 'float' && (text.trim() === '' || isNaN(Number(text)))) {
    return bad;
  }
  if (base === 'bool' && !BOOL_WORDS.includes(text.trim().toLowerCase())) {
    return bad;
  }
  return null;
}

function notifyRows(definition?: IDefinition): INotifyRow[] {
  const rows: INotifyRow[] = [];
  const notifications = definition?.notifications || {};
  for (const event of Object.keys(notifications)) {
    for (const target of notifications[event] || []) {
      const value =
        target.type === 'email'
          ? ([] as string[]).concat(target.to || []).join(', ')
          : target.url || '';
      rows.push({ event, type: target.type, target: value });
    }
  }
  return rows;
}

function notificationsOf(rows: INotifyRow[]): Record<string, unknown[]> {
  const result: Record<string, unknown[]> = {};
  for (const row of rows) {
    if (!row.target.trim()) {
      continue;
    }
    const target =
      row.type === 'email'
        ? {
            type: 'email',
            to: row.target
              .split(',')
              .map(s => s.trim())
              .filter(Boolean)
          }
        : { type: row.type, url: row.target.trim() };
    (result[row.event] = result[row.event] || []).push(target);
  }
  return result;
}

function presetOf(cron: string): string {
  const found = PRESETS.find(p => p.cron === cron);
  return found ? found.cron : 'custom';
}

export function formatTime(iso: string | null): string {
  if (!iso) {
    return '—';
  }
  // The server's wall-clock time in the job's timezone, as written (not the browser's).
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?(\.\d+)?(.*)$/.exec(iso);
  if (!match) {
    return iso;
  }
  const zone = match[5] === 'Z' || match[5] === '+00:00' ? ' UTC' : ` ${match[5]}`;
  return `${match[1]} ${match[2]}${zone}`;
}

export function ScheduleForm(props: IScheduleFormProps): JSX.Element {
  const editing = !!props.job;
  const definition = props.job?.definition;
  const [info, setInfo] = React.useState<INotebookInfo | null>(null);
  const [loadError, setLoadError] = React.useState<string | null>(null);
  const [name, setName] = React.useState(definition?.name || '');
  const [values, setValues] = React.useState<Record<string, string>>({});
  const [kernel, setKernel] = React.useState(definition?.kernel || '');
  const [schedule, setSchedule] = React.useState(
    definition?.schedule || (editing ? '' : '0 7 * * *')
  );
  const [preset, setPreset] = React.useState(
    presetOf(definition?.schedule || (editing ? '' : '0 7 * * *'))
  );
  const [timezone, setTimezone] = React.useState(
    definition?.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  );
  const [timezones, setTimezones] = React.useState<string[]>([]);
  const [retries, setRetries] = React.useState(String(definition?.retries ?? 0));
  const [timeout, setTimeout_] = React.useState(
    definition?.timeout ? `${definition.timeout}s` : ''
  );
  const [store, setStore] = React.useState(definition?.store || '');
  const [notify, setNotify] = React.useState<INotifyRow[]>(notifyRows(definition));
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [general, setGeneral] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const [preview, setPreview] = React.useState<ICronPreview | null>(null);

  // The notebook's typed parameters (or the edited job's notebook's).
  React.useEffect(() => {
    const query = editing
      ? `job=${encodeURIComponent(props.job!.name)}`
      : `path=${encodeURIComponent(props.path || '')}`;
    requestAPI<INotebookInfo>(`parameters?${query}`)
      .then(data => {
        setInfo(data);
        if (!editing) {
          setName(data.job);
          setKernel(data.kernel);
        } else if (!definition?.kernel) {
          setKernel(data.kernel);
        }
        const initial: Record<string, string> = {};
        for (const p of data.parameters) {
          const given = definition?.parameters?.[p.name];
          initial[p.name] = given !== undefined ? valueText(given) : defaultText(p);
        }
        setValues(initial);
      })
      .catch((error: ApiError) => setLoadError(error.message));
    requestAPI<{ timezones: string[] }>('timezones')
      .then(data => setTimezones(data.timezones))
      .catch(() => setTimezones([]));
  }, []);

  // Description and next fire times, computed by the server in the chosen timezone.
  React.useEffect(() => {
    const handle = window.setTimeout(() => {
      const query = `schedule=${encodeURIComponent(schedule)}&timezone=${encodeURIComponent(timezone)}&count=3`;
      requestAPI<ICronPreview>(`cron?${query}`)
        .then(data => {
          setPreview(data);
          setErrors(e => ({ ...e, schedule: '', timezone: '' }));
        })
        .catch((error: ApiError) => {
          setPreview(null);
          setErrors(e => ({ ...e, [error.field || 'schedule']: error.message }));
        });
    }, 250);
    return () => window.clearTimeout(handle);
  }, [schedule, timezone]);

  const setValue = (p: IParameter, text: string) => {
    setValues(v => ({ ...v, [p.name]: text }));
    const problem = checkValue(p, text);
    setErrors(e => ({ ...e, [`parameters.${p.name}`]: problem || '' }));
  };

  /** Only the values that differ from the notebook's defaults are sent. */
  const changedParameters = (): Record<string, string> => {
    const result: Record<string, string> = {};
    for (const p of info?.parameters || []) {
      const text = values[p.name] ?? '';
      const given = definition?.parameters?.[p.name] !== undefined;
      if (given || text !== defaultText(p) || p.required) {
        result[p.name] = text;
      }
    }
    return result;
  };

  const localErrors = (): Record<string, string> => {
    const found: Record<string, string> = {};
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name) || name.endsWith('.')) {
      found.name = "use letters, digits, '.', '_' or '-', starting with a letter or digit";
    }
    for (const p of info?.parameters || []) {
      const problem = checkValue(p, values[p.name] ?? '');
      if (problem) {
        found[`parameters.${p.name}`] = problem;
      }
    }
    if (retries.trim() && !/^\d+$/.test(retries.trim())) {
      found.retries = "'retries' must be a whole number >= 0";
    }
    return found;
  };

  const submit = async (kind: 'run' | 'schedule') => {
    setGeneral(null);
    const found = localErrors();
    if (Object.keys(found).length) {
      setErrors(found);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      if (kind === 'run') {
        const body = editing
          ? { parameters: changedParameters() }
          : {
              path: props.path,
              name,
              parameters: changedParameters(),
              kernel,
              timeout,
              store
            };
        const endpoint = editing ? `jobs/${encodeURIComponent(name)}/runs` : 'runs';
        const run = await postJSON<{ run_id: string }>(endpoint, body);
        props.onDone({ kind, job: name, runId: run.run_id });
      } else {
        const body: Record<string, unknown> = {
          name,
          parameters: changedParameters(),
          kernel,
          schedule,
          timezone,
          retries: retries.trim() || '0',
          timeout,
          notifications: notificationsOf(notify),
          store
        };
        if (!editing) {
          body.path = props.path;
        }
        await postJSON(
          editing ? `jobs/${encodeURIComponent(name)}` : 'jobs',
          body,
          editing ? 'PUT' : 'POST'
        );
        props.onDone({ kind, job: name });
      }
    } catch (error) {
      const e = error as ApiError;
      if (e.field) {
        setErrors({ [e.field]: e.message });
      } else {
        setGeneral(e.message);
      }
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (field: string) =>
    errors[field] ? (
      <div className="nbprod-field-error" data-field={field}>
        {errors[field]}
      </div>
    ) : null;

  if (loadError) {
    return (
      <div className="nbprod-form">
        <div className="nbprod-general-error">{loadError}</div>
        <div className="nbprod-form-buttons">
          <button className="jp-Button jp-mod-styled jp-mod-reject" onClick={props.onCancel}>
            Close
          </button>
        </div>
      </div>
    );
  }
  if (!info) {
    return <div className="nbprod-form nbprod-loading">Loading…</div>;
  }
  return (
    <form
      className="nbprod-form"
      onSubmit={event => {
        event.preventDefault();
      }}
    >
      <h2 className="nbprod-form-title">
        {editing ? `Edit job ${name}` : `Schedule ${info.name}`}
      </h2>
      <label className="nbprod-row">
        <span>Job name</span>
        <input
          name="name"
          className="jp-mod-styled"
          value={name}
          disabled={editing}
          onChange={e => setName(e.target.value)}
        />
      </label>
      {fieldError('name')}
      {fieldError('path')}

      <fieldset className="nbprod-parameters">
        <legend>Parameters</legend>
        {info.parameters.length === 0 && (
          <div className="nbprod-muted">This notebook has no cell tagged “parameters”.</div>
        )}
        {info.parameters.map(p => (
          <div className="nbprod-param" key={p.name} data-param={p.name}>
            <label className="nbprod-row">
              <span>
                {p.name} <code className="nbprod-type">{p.type}</code>
                {p.required && <b> *</b>}
              </span>
              {p.type === 'bool' ? (
                <input
                  type="checkbox"
                  name={`param-${p.name}`}
                  checked={['true', 'yes', 'on', '1'].includes(
                    (values[p.name] || '').toLowerCase()
                  )}
                  onChange={e => setValue(p, e.target.checked ? 'true' : 'false')}
                />
              ) : (
                <input
                  name={`param-${p.name}`}
                  className="jp-mod-styled"
                  value={values[p.name] ?? ''}
                  placeholder={p.default_source}
                  onChange={e => setValue(p, e.target.value)}
                />
              )}
            </label>
            {p.help && <div className="nbprod-help">{p.help}</div>}
            {fieldError(`parameters.${p.name}`)}
          </div>
        ))}
        {fieldError('parameters')}
      </fieldset>

      <label className="nbprod-row">
        <span>Kernel</span>
        <select
          name="kernel"
          className="jp-mod-styled"
          value={kernel}
          onChange={e => setKernel(e.target.value)}
        >
          {props.kernels.map(k => (
            <option key={k.name} value={k.name}>
              {k.display}
            </option>
          ))}
          {kernel && !props.kernels.find(k => k.name === kernel) && (
            <option value={kernel}>{kernel}</option>
          )}
        </select>
      </label>
      {fieldError('kernel')}

      <fieldset className="nbprod-schedule">
        <legend>Schedule</legend>
        <label className="nbprod-row">
          <span>Preset</span>
          <select
            name="preset"
            className="jp-mod-styled"
            value={preset}
            onChange={e => {
              setPreset(e.target.value);
              if (e.target.value !== 'custom') {
                setSchedule(e.target.value);
              }
            }}
          >
            {PRESETS.map(p => (
              <option key={p.label} value={p.cron}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        <label className="nbprod-row">
          <span>Cron</span>
          <input
            name="schedule"
            className="jp-mod-styled"
            value={schedule}
            placeholder="m h dom mon dow"
            onChange={e => {
              setSchedule(e.target.value);
              setPreset(presetOf(e.target.value));
            }}
          />
        </label>
        {fieldError('schedule')}
        <label className="nbprod-row">
          <span>Timezone</span>
          <input
            name="timezone"
            className="jp-mod-styled"
            list="nbprod-timezones"
            value={timezone}
            onChange={e => setTimezone(e.target.value)}
          />
          <datalist id="nbprod-timezones">
            {timezones.map(z => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </label>
        {fieldError('timezone')}
        {preview && (
          <div className="nbprod-preview">
            <div className="nbprod-cron-description">{preview.description}</div>
            {preview.next.length > 0 && (
              <ol className="nbprod-next-runs">
                {preview.next.map(t => (
                  <li key={t}>{formatTime(t)}</li>
                ))}
              </ol>
            )}
          </div>
        )}
      </fieldset>

      <fieldset className="nbprod-options">
        <legend>Options</legend>
        <label className="nbprod-row">
          <span>Retries</span>
          <input
            name="retries"
            className="jp-mod-styled"
            type="number"
            min={0}
            value={retries}
            onChange={e => setRetries(e.target.value)}
          />
        </label>
        {fieldError('retries')}
        <label className="nbprod-row">
          <span>Timeout</span>
          <input
            name="timeout"
            className="jp-mod-styled"
            value={timeout}
            placeholder="none (e.g. 30m, 2h)"
            onChange={e => setTimeout_(e.target.value)}
          />
        </label>
        {fieldError('timeout')}
        <label className="nbprod-row">
          <span>Store</span>
          <input
            name="store"
            className="jp-mod-styled"
            value={store}
            placeholder="the configured store (or s3://bucket/prefix)"
            onChange={e => setStore(e.target.value)}
          />
        </label>
        {fieldError('store')}
        <div className="nbprod-notify">
          <span>Notifications</span>
          {notify.map((row, index) => (
            <div className="nbprod-notify-row" key={index}>
              <select
                className="jp-mod-styled"
                value={row.event}
                onChange={e =>
                  setNotify(n =>
                    n.map((r, i) => (i === index ? { ...r, event: e.target.value } : r))
                  )
                }
              >
                {EVENTS.map(ev => (
                  <option key={ev} value={ev}>
                    {ev.replace('on_', 'on ')}
                  </option>
                ))}
              </select>
              <select
                className="jp-mod-styled"
                value={row.type}
                onChange={e =>
                  setNotify(n =>
                    n.map((r, i) => (i === index ? { ...r, type: e.target.value } : r))
                  )
                }
              >
                {TARGET_TYPES.map(t => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
              <input
                className="jp-mod-styled"
                value={row.target}
                placeholder={row.type === 'email' ? 'a@example.org, b@…' : 'https://…'}
                onChange={e =>
                  setNotify(n =>
                    n.map((r, i) => (i === index ? { ...r, target: e.target.value } : r))
                  )
                }
              />
              <button
                type="button"
                className="jp-Button jp-mod-minimal"
                title="Remove"
                onClick={() => setNotify(n => n.filter((_, i) => i !== index))}
              >
                ✕
              </button>
            </div>
          ))}
          <button
            type="button"
            className="jp-Button jp-mod-minimal nbprod-add-notify"
            onClick={() =>
              setNotify(n => [...n, { event: 'on_failure', type: 'email', target: '' }])
            }
          >
            + Add notification
          </button>
          {fieldError('notifications')}
        </div>
      </fieldset>

      {general && <div className="nbprod-general-error">{general}</div>}
      <div className="nbprod-form-buttons">
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          onClick={props.onCancel}
          disabled={busy}
        >
          Cancel
        </button>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept nbprod-run-now"
          onClick={() => submit('run')}
          disabled={busy}
        >
          Run now
        </button>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept nbprod-create"
          onClick={() => submit('schedule')}
          disabled={busy}
        >
          {editing ? 'Save (new version)' : 'Create schedule'}
        </button>
      </div>
    </form>
  );
}
