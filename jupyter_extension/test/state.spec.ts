/** The Schedule form's reducer, its checks before submitting, and the forms it submits. */
import { IDefinition, INotebookInfo, IParameter, IRules } from '../src/api';
import { initialState, jobForm, reducer, runForm, sweepForm, validate } from '../src/form/state';
import rules from './fixtures/rules.json';

const RULES = rules as IRules;

const TIMES: IParameter = {
  name: 'times',
  type: 'int',
  kind: 'int',
  default: 2,
  default_source: '2',
  nullable: false,
  help: 'how often',
  required: false
};

const INFO: INotebookInfo = {
  path: 'trivial.ipynb',
  name: 'trivial.ipynb',
  job: 'trivial',
  kernel: 'python3',
  cell_index: 0,
  parameters: [TIMES]
};

const DEFINITION: IDefinition = {
  name: 'daily',
  notebook: '/n/trivial.ipynb',
  parameters: { times: 5 },
  schedule: '0 7 * * 1-5',
  timezone: 'Europe/Berlin',
  kernel: null,
  timeout: 90,
  retries: 2,
  notifications: { on_failure: [{ type: 'email', to: ['a@x.org', 'b@x.org'] }] },
  store: null,
  description: '',
  concurrency: 2,
  overlap: 'queue',
  catchup: 'all',
  tags: ['finance', 'nightly']
};

const loaded = (definition?: IDefinition) =>
  reducer(initialState(definition, 'Europe/Paris'), { type: 'loaded', info: INFO, rules: RULES });

describe('initial and loaded state', () => {
  it('a new job: the suggested name and kernel, a daily schedule, the browser zone', () => {
    const state = loaded();
    expect(state.fields).toMatchObject({
      name: 'trivial',
      kernel: 'python3',
      schedule: '0 7 * * *',
      preset: '0 7 * * *',
      timezone: 'Europe/Paris',
      retries: '0'
    });
    expect(state.values).toEqual({ times: '2' });
  });

  it('an edited job: its own fields, values and notification rows', () => {
    const state = loaded(DEFINITION);
    expect(state.fields).toMatchObject({
      name: 'daily',
      kernel: 'python3', // the job sets none: the notebook's
      schedule: '0 7 * * 1-5',
      preset: '0 7 * * 1-5',
      timezone: 'Europe/Berlin',
      retries: '2',
      timeout: '90s'
    });
    expect(state.values).toEqual({ times: '5' });
    expect(state.notify).toEqual([
      { event: 'on_failure', type: 'email', target: 'a@x.org, b@x.org' }
    ]);
  });
});

describe('reducer', () => {
  it('a cron text picks its preset; a preset sets the cron text, custom keeps it', () => {
    let state = reducer(loaded(), { type: 'field', field: 'schedule', value: '5 4 * * *' });
    expect(state.fields.preset).toBe('custom');
    state = reducer(state, { type: 'field', field: 'preset', value: '@hourly' });
    expect(state.fields.schedule).toBe('@hourly');
    state = reducer(state, { type: 'field', field: 'preset', value: 'custom' });
    expect(state.fields.schedule).toBe('@hourly');
  });

  it('a typed value is checked at once and its error cleared when fixed', () => {
    let state = reducer(loaded(), { type: 'value', name: 'times', text: 'x' });
    expect(state.errors['parameters.times']).toBe("parameter 'times' expects int, got 'x'");
    state = reducer(state, { type: 'value', name: 'times', text: '3' });
    expect(state.errors['parameters.times']).toBe('');
  });

  it('notification rows are added with the server events and targets, edited, removed', () => {
    let state = reducer(loaded(), { type: 'notifyAdd' });
    expect(state.notify).toEqual([{ event: 'on_failure', type: 'email', target: '' }]);
    state = reducer(state, { type: 'notifyEdit', index: 0, row: { type: 'webhook' } });
    expect(state.notify[0].type).toBe('webhook');
    state = reducer(state, { type: 'notifyRemove', index: 0 });
    expect(state.notify).toEqual([]);
  });

  it('a failure naming a field shows next to it, any other above the buttons', () => {
    const busy = reducer(loaded(), { type: 'submitting' });
    expect(busy.busy).toBe(true);
    const named = reducer(busy, { type: 'failed', message: 'bad zone', field: 'timezone' });
    expect([named.busy, named.errors, named.general]).toEqual([
      false,
      { timezone: 'bad zone' },
      null
    ]);
    const general = reducer(busy, { type: 'failed', message: 'store down', field: null });
    expect(general.general).toBe('store down');
  });
});

describe('validate', () => {
  it('the job name by the server pattern, the values, the retries', () => {
    let state = reducer(loaded(), { type: 'field', field: 'name', value: 'bad name.' });
    state = reducer(state, { type: 'value', name: 'times', text: 'often' });
    state = reducer(state, { type: 'field', field: 'retries', value: '-1' });
    expect(validate(state)).toEqual({
      name: RULES.job_name.message,
      'parameters.times': "parameter 'times' expects int, got 'often'",
      retries: "'retries' must be a whole number >= 0"
    });
    expect(validate(loaded())).toEqual({});
    expect(validate(reducer(loaded(), { type: 'field', field: 'name', value: 'ends.' }))).toEqual({
      name: RULES.job_name.message
    });
  });
});

describe('submitted forms', () => {
  it('run now: the notebook, the changed values and the options', () => {
    const state = reducer(loaded(), { type: 'value', name: 'times', text: '3' });
    expect(runForm(state, 'trivial.ipynb')).toEqual({
      path: 'trivial.ipynb',
      name: 'trivial',
      parameters: { times: '3' },
      kernel: 'python3',
      timeout: '',
      store: '',
      report_mode: false
    });
  });

  it('report mode: off for a new job, the edited job’s own, sent by every form', () => {
    expect(loaded().reportMode).toBe(false);
    expect(loaded({ ...DEFINITION, report_mode: true }).reportMode).toBe(true);
    const state = reducer(
      reducer(loaded(), { type: 'failed', message: 'must be true or false', field: 'report_mode' }),
      { type: 'reportMode', value: true }
    );
    expect(state.errors.report_mode).toBe(''); // the server's verdict was about the old value
    expect(runForm(state, 'trivial.ipynb').report_mode).toBe(true);
    expect(jobForm(state, 'trivial.ipynb').report_mode).toBe(true);
    expect(sweepForm(state, 'trivial.ipynb').report_mode).toBe(true);
    const off = reducer(loaded({ ...DEFINITION, report_mode: true }), {
      type: 'reportMode',
      value: false
    });
    expect(jobForm(off).report_mode).toBe(false); // an edit can turn it off
  });

  it('a schedule: every field, notifications as event → targets, path only to create', () => {
    let state = reducer(loaded(DEFINITION), { type: 'notifyAdd' });
    state = reducer(state, {
      type: 'notifyEdit',
      index: 1,
      row: { type: 'slack', target: ' https://hooks/x ' }
    });
    state = reducer(state, { type: 'field', field: 'retries', value: ' ' });
    const form = jobForm(state);
    expect(form).toEqual({
      name: 'daily',
      parameters: { times: '5' },
      kernel: 'python3',
      schedule: '0 7 * * 1-5',
      timezone: 'Europe/Berlin',
      retries: '0',
      timeout: '90s',
      notifications: {
        on_failure: [
          { type: 'email', to: ['a@x.org', 'b@x.org'] },
          { type: 'slack', url: 'https://hooks/x' }
        ]
      },
      store: '',
      concurrency: '2',
      overlap: 'queue',
      catchup: 'all',
      tags: ['finance', 'nightly'],
      description: '',
      report_mode: false
    });
    expect(jobForm(loaded(), 'trivial.ipynb')).toMatchObject({
      path: 'trivial.ipynb',
      concurrency: '1',
      overlap: 'skip', // the server's defaults, first of its choices
      catchup: 'latest',
      tags: []
    });
  });
});
