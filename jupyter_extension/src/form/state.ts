/**
 * The Schedule form's state and its reducer: the fields, the parameter texts (and in Sweep
 * mode their lists of values), the notification rows, the errors shown next to each field,
 * and the forms submitted (pure functions, so the component only wires inputs to actions
 * and calls the client).
 *
 * Errors are kept per field and each is cleared only by that field: a field the form
 * checks (the name, the values, retries, concurrency) when its check passes, the schedule
 * and timezone when the server's preview accepts them, any other field the server blamed
 * when it is changed (the verdict was about the old value; the server checks again on
 * submit). Another field's error, a submission, or a failure naming another field leave
 * it standing.
 */
import {
  IDefinition,
  IJobForm,
  INotebookInfo,
  IRules,
  IRunForm,
  ISweepForm,
  ISweepQueued,
  ParameterTexts
} from '../api';
import { INotifyRow, notificationsOf, notifyRows } from './notifications';
import { checkValue, initialTexts, submittedTexts } from './parameters';
import { CUSTOM, presetOf } from './schedule';
import { SweepValues, checkSweep, checkValues, initialSweep, sweepParameters } from './sweep';

export interface IFields {
  name: string;
  kernel: string;
  schedule: string;
  preset: string;
  timezone: string;
  retries: string;
  timeout: string;
  store: string;
  concurrency: string;
  overlap: string;
  catchup: string;
  /** Comma-separated. */
  tags: string;
  description: string;
}

export type Mode = 'schedule' | 'sweep';

export interface IFormState {
  /** The notebook's parameters and the server's rules, once both are loaded. */
  info: INotebookInfo | null;
  rules: IRules | null;
  loadError: string | null;
  fields: IFields;
  /** Report mode: the output notebook hides its code cells' source. */
  reportMode: boolean;
  /** Parameter name → text. */
  values: Record<string, string>;
  notify: INotifyRow[];
  /** Field (`name`, `parameters.<name>`, …) → message; '' or absent: no error. */
  errors: Record<string, string>;
  /** An error that names no field. */
  general: string | null;
  busy: boolean;
  /** The values the edited job sets (they are always submitted). */
  given: Record<string, unknown>;
  editing: boolean;
  mode: Mode;
  /** Sweep mode: each parameter's values. */
  sweep: SweepValues;
  /** The sweep queued (the dialog then shows its id and page). */
  swept: ISweepQueued | null;
}

export type Action =
  | { type: 'loaded'; info: INotebookInfo; rules: IRules }
  | { type: 'loadFailed'; message: string }
  | { type: 'field'; field: keyof IFields; value: string }
  | { type: 'reportMode'; value: boolean }
  | { type: 'value'; name: string; text: string }
  | { type: 'notifyAdd' }
  | { type: 'notifyEdit'; index: number; row: Partial<INotifyRow> }
  | { type: 'notifyRemove'; index: number }
  | { type: 'fieldErrors'; errors: Record<string, string> }
  | { type: 'invalid'; errors: Record<string, string> }
  | { type: 'submitting' }
  | { type: 'failed'; message: string; field: string | null }
  | { type: 'done' }
  | { type: 'mode'; mode: Mode }
  | { type: 'sweepValues'; name: string; texts: string[] }
  | { type: 'swept'; sweep: ISweepQueued };

/** A new job starts as a daily 07:00 schedule; an edited one as it is. */
export function initialState(definition?: IDefinition, browserZone = 'UTC'): IFormState {
  const editing = !!definition;
  const schedule = definition ? definition.schedule || '' : '0 7 * * *';
  return {
    info: null,
    rules: null,
    loadError: null,
    fields: {
      name: definition?.name || '',
      kernel: definition?.kernel || '',
      schedule,
      preset: presetOf(schedule),
      timezone: definition?.timezone || browserZone,
      retries: String(definition?.retries ?? 0),
      timeout: definition?.timeout ? `${definition.timeout}s` : '',
      store: definition?.store || '',
      concurrency: String(definition?.concurrency ?? 1),
      overlap: definition?.overlap || '',
      catchup: definition?.catchup || '',
      tags: (definition?.tags || []).join(', '),
      description: definition?.description || ''
    },
    reportMode: definition?.report_mode ?? false,
    values: {},
    notify: notifyRows(definition?.notifications),
    errors: {},
    general: null,
    busy: false,
    given: definition?.parameters || {},
    editing,
    mode: 'schedule',
    sweep: {},
    swept: null
  };
}

/** A job's tags from the comma-separated field. */
export function tagsOf(text: string): string[] {
  return text
    .split(',')
    .map(tag => tag.trim())
    .filter(Boolean);
}

/** Fields the server blamed that the form cannot check: a change clears their error. */
const SERVER_CHECKED: (keyof IFields)[] = [
  'kernel',
  'timeout',
  'store',
  'overlap',
  'catchup',
  'tags',
  'description'
];

/** The form's own check of one field: a message, '' when it passes, null when the form
 * does not check it (the server does). */
function checkField(field: keyof IFields, fields: IFields, rules: IRules | null): string | null {
  const value = fields[field].trim();
  switch (field) {
    case 'name':
      return !rules || new RegExp(rules.job_name.pattern).test(fields.name)
        ? ''
        : rules.job_name.message;
    case 'retries':
      return value && !/^\d+$/.test(value) ? "'retries' must be a whole number >= 0" : '';
    case 'concurrency':
      return value && !/^\d+$/.test(value) ? "'concurrency' must be a whole number >= 1" : '';
    default:
      return null;
  }
}

/** The errors after `field` changed: its own check's verdict, or its server error dropped. */
function recheck(state: IFormState, field: keyof IFields, fields: IFields): Record<string, string> {
  const verdict = checkField(field, fields, state.rules);
  if (verdict !== null) {
    return { ...state.errors, [field]: verdict };
  }
  if (SERVER_CHECKED.includes(field)) {
    return { ...state.errors, [field]: '' };
  }
  return state.errors;
}

export function reducer(state: IFormState, action: Action): IFormState {
  switch (action.type) {
    case 'loaded': {
      const { info, rules } = action;
      const fields = { ...state.fields };
      if (!state.editing) {
        fields.name = info.job;
      }
      if (!state.editing || !fields.kernel) {
        fields.kernel = info.kernel;
      }
      fields.overlap = fields.overlap || rules.job_choices.overlap[0];
      fields.catchup = fields.catchup || rules.job_choices.catchup[0];
      const values = initialTexts(info.parameters, state.given);
      return {
        ...state,
        info,
        rules,
        fields,
        values,
        sweep: initialSweep(info.parameters, values)
      };
    }
    case 'loadFailed':
      return { ...state, loadError: action.message };
    case 'field': {
      const fields = { ...state.fields, [action.field]: action.value };
      if (action.field === 'schedule') {
        fields.preset = presetOf(action.value);
      } else if (action.field === 'preset' && action.value !== CUSTOM) {
        fields.schedule = action.value;
      }
      return { ...state, fields, errors: recheck(state, action.field, fields) };
    }
    case 'reportMode':
      return { ...state, reportMode: action.value, errors: { ...state.errors, report_mode: '' } };
    case 'value': {
      const parameter = state.info?.parameters.find(p => p.name === action.name);
      const problem =
        parameter && state.rules ? checkValue(parameter, action.text, state.rules.values) : null;
      return {
        ...state,
        values: { ...state.values, [action.name]: action.text },
        errors: { ...state.errors, [`parameters.${action.name}`]: problem || '', parameters: '' }
      };
    }
    case 'sweepValues': {
      const parameter = state.info?.parameters.find(p => p.name === action.name);
      const problem =
        parameter && state.rules ? checkValues(parameter, action.texts, state.rules.values) : null;
      const sweep = { ...state.sweep, [action.name]: action.texts };
      const several = Object.values(sweep).some(texts => texts.length > 1);
      return {
        ...state,
        sweep,
        errors: {
          ...state.errors,
          [`parameters.${action.name}`]: problem || '',
          parameters: several ? '' : state.errors.parameters || ''
        }
      };
    }
    case 'mode': {
      // The values' errors belong to the mode they were found in.
      const errors = Object.fromEntries(
        Object.entries(state.errors).filter(([field]) => !field.startsWith('parameters'))
      );
      return { ...state, mode: action.mode, errors, general: null };
    }
    case 'swept':
      return { ...state, busy: false, swept: action.sweep };
    case 'notifyAdd': {
      const event = state.rules?.notification_events.includes('on_failure')
        ? 'on_failure'
        : state.rules?.notification_events[0] || 'on_failure';
      const type = state.rules?.notification_targets[0] || 'email';
      return { ...state, notify: [...state.notify, { event, type, target: '' }] };
    }
    case 'notifyEdit':
      return {
        ...state,
        notify: state.notify.map((r, i) => (i === action.index ? { ...r, ...action.row } : r))
      };
    case 'notifyRemove':
      return { ...state, notify: state.notify.filter((_, i) => i !== action.index) };
    case 'fieldErrors':
      return { ...state, errors: { ...state.errors, ...action.errors } };
    case 'invalid':
      return { ...state, errors: { ...state.errors, ...action.errors }, general: null };
    case 'submitting':
      return { ...state, general: null, busy: true };
    case 'failed':
      return action.field
        ? { ...state, busy: false, errors: { ...state.errors, [action.field]: action.message } }
        : { ...state, busy: false, general: action.message };
    case 'done':
      return { ...state, busy: false };
  }
}

/**
 * The errors that keep `kind` from being sent: the form's own checks, and for a schedule
 * the schedule's and timezone's errors from the server's preview (the server checks
 * everything again).
 */
export function validate(
  state: IFormState,
  kind: 'run' | 'schedule' | 'sweep' = 'schedule'
): Record<string, string> {
  const found: Record<string, string> = {};
  const rules = state.rules;
  if (!rules) {
    return found;
  }
  const own: (keyof IFields)[] =
    kind === 'schedule' ? ['name', 'retries', 'concurrency'] : ['name'];
  for (const field of own) {
    const problem = checkField(field, state.fields, rules);
    if (problem) {
      found[field] = problem;
    }
  }
  if (kind === 'sweep') {
    return { ...found, ...checkSweep(state.info?.parameters || [], state.sweep, rules.values) };
  }
  for (const p of state.info?.parameters || []) {
    const problem = checkValue(p, state.values[p.name] ?? '', rules.values);
    if (problem) {
      found[`parameters.${p.name}`] = problem;
    }
  }
  if (kind === 'schedule') {
    for (const field of ['schedule', 'timezone']) {
      if (state.errors[field]) {
        found[field] = state.errors[field];
      }
    }
  }
  return found;
}

export function parametersOf(state: IFormState): ParameterTexts {
  return submittedTexts(state.info?.parameters || [], state.values, state.given);
}

/** `POST /sweeps`: the notebook at `path` over the values of Sweep mode. */
export function sweepForm(state: IFormState, path: string): ISweepForm {
  const { name, kernel, timeout } = state.fields;
  return {
    path,
    name,
    parameters: sweepParameters(state.info?.parameters || [], state.sweep),
    kernel,
    timeout,
    report_mode: state.reportMode
  };
}

/** `POST /runs`: one run of the notebook at `path`. */
export function runForm(state: IFormState, path: string): IRunForm {
  const { name, kernel, timeout, store } = state.fields;
  return {
    path,
    name,
    parameters: parametersOf(state),
    kernel,
    timeout,
    store,
    report_mode: state.reportMode
  };
}

/** `POST /jobs` (with the notebook's `path`) or `PUT /jobs/{name}` (without). */
export function jobForm(state: IFormState, path?: string): IJobForm {
  const f = state.fields;
  const form: IJobForm = {
    name: f.name,
    parameters: parametersOf(state),
    kernel: f.kernel,
    schedule: f.schedule,
    timezone: f.timezone,
    retries: f.retries.trim() || '0',
    timeout: f.timeout,
    notifications: notificationsOf(state.notify),
    store: f.store,
    concurrency: f.concurrency.trim() || '1',
    overlap: f.overlap,
    catchup: f.catchup,
    tags: tagsOf(f.tags),
    description: f.description,
    report_mode: state.reportMode
  };
  if (path !== undefined) {
    form.path = path;
  }
  return form;
}
