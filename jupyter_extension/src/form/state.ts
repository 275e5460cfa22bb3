/**
 * The Schedule form's state and its reducer: the fields, the parameter texts, the
 * notification rows, the errors shown next to each field, and the forms submitted (pure
 * functions, so the component only wires inputs to actions and calls the client).
 */
import { IDefinition, IJobForm, INotebookInfo, IRules, IRunForm } from '../api';
import { INotifyRow, notificationsOf, notifyRows } from './notifications';
import { checkValue, initialTexts, submittedTexts } from './parameters';
import { CUSTOM, presetOf } from './schedule';

export interface IFields {
  name: string;
  kernel: string;
  schedule: string;
  preset: string;
  timezone: string;
  retries: string;
  timeout: string;
  store: string;
}

export interface IFormState {
  /** The notebook's parameters and the server's rules, once both are loaded. */
  info: INotebookInfo | null;
  rules: IRules | null;
  loadError: string | null;
  fields: IFields;
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
}

export type Action =
  | { type: 'loaded'; info: INotebookInfo; rules: IRules }
  | { type: 'loadFailed'; message: string }
  | { type: 'field'; field: keyof IFields; value: string }
  | { type: 'value'; name: string; text: string }
  | { type: 'notifyAdd' }
  | { type: 'notifyEdit'; index: number; row: Partial<INotifyRow> }
  | { type: 'notifyRemove'; index: number }
  | { type: 'fieldErrors'; errors: Record<string, string> }
  | { type: 'invalid'; errors: Record<string, string> }
  | { type: 'submitting' }
  | { type: 'failed'; message: string; field: string | null }
  | { type: 'done' };

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
      store: definition?.store || ''
    },
    values: {},
    notify: notifyRows(definition?.notifications),
    errors: {},
    general: null,
    busy: false,
    given: definition?.parameters || {},
    editing
  };
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
      return { ...state, info, rules, fields, values: initialTexts(info.parameters, state.given) };
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
      return { ...state, fields };
    }
    case 'value': {
      const parameter = state.info?.parameters.find(p => p.name === action.name);
      const problem =
        parameter && state.rules ? checkValue(parameter, action.text, state.rules.values) : null;
      return {
        ...state,
        values: { ...state.values, [action.name]: action.text },
        errors: { ...state.errors, [`parameters.${action.name}`]: problem || '' }
      };
    }
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
      return { ...state, errors: action.errors, general: null };
    case 'submitting':
      return { ...state, errors: {}, general: null, busy: true };
    case 'failed':
      return action.field
        ? { ...state, busy: false, errors: { [action.field]: action.message } }
        : { ...state, busy: false, general: action.message };
    case 'done':
      return { ...state, busy: false };
  }
}

/** The errors found before anything is sent (the server checks everything again). */
export function validate(state: IFormState): Record<string, string> {
  const found: Record<string, string> = {};
  const rules = state.rules;
  if (!rules) {
    return found;
  }
  if (!new RegExp(rules.job_name.pattern).test(state.fields.name)) {
    found.name = rules.job_name.message;
  }
  for (const p of state.info?.parameters || []) {
    const problem = checkValue(p, state.values[p.name] ?? '', rules.values);
    if (problem) {
      found[`parameters.${p.name}`] = problem;
    }
  }
  const retries = state.fields.retries.trim();
  if (retries && !/^\d+$/.test(retries)) {
    found.retries = "'retries' must be a whole number >= 0";
  }
  return found;
}

export function parametersOf(state: IFormState): Record<string, string> {
  return submittedTexts(state.info?.parameters || [], state.values, state.given);
}

/** `POST /runs`: one run of the notebook at `path`. */
export function runForm(state: IFormState, path: string): IRunForm {
  const { name, kernel, timeout, store } = state.fields;
  return { path, name, parameters: parametersOf(state), kernel, timeout, store };
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
    store: f.store
  };
  if (path !== undefined) {
    form.path = path;
  }
  return form;
}
