/**
 * What the Schedule dialog gained for issue 15, as pure form logic: an optional parameter
 * left empty submits None, the job fields only YAML had, errors that stay until their own
 * field is fixed, and Sweep mode's values, checks and number of runs.
 */
import { INotebookInfo, IParameter, IRules, ParameterKind } from '../src/api';
import { checkValue, submittedTexts, submittedValue, typeLabel } from '../src/form/parameters';
import {
  IFormState,
  initialState,
  jobForm,
  reducer,
  sweepForm,
  tagsOf,
  validate
} from '../src/form/state';
import {
  boolValues,
  checkSweep,
  checkValues,
  combinationText,
  combinations,
  sweepParameters
} from '../src/form/sweep';
import rules from './fixtures/rules.json';

const RULES = rules as IRules;
const syntax = RULES.values;

function param(name: string, kind: ParameterKind, more: Partial<IParameter> = {}): IParameter {
  return {
    name,
    type: kind,
    kind,
    default: null,
    default_source: '',
    nullable: false,
    help: '',
    required: false,
    ...more
  };
}

const MAX_DEPTH = param('max_depth', 'int', {
  nullable: true,
  default_source: 'None',
  label: 'int?'
});
const LIMIT = param('limit', 'int', {
  nullable: true,
  default: 3,
  default_source: '3',
  label: 'int?'
});
const LR = param('lr', 'float', { default: 0.1, default_source: '0.1' });
const SEED = param('seed', 'int', { default: 0, default_source: '0' });
const FLAG = param('flag', 'bool', { default: false, default_source: 'False' });
const MODEL = param('model', 'str', { default: 'logreg', default_source: '"logreg"' });

const INFO: INotebookInfo = {
  path: 'train.ipynb',
  name: 'train.ipynb',
  job: 'train',
  kernel: 'python3',
  cell_index: 0,
  parameters: [MAX_DEPTH, LIMIT, LR, SEED, FLAG, MODEL]
};

const loaded = (): IFormState =>
  reducer(initialState(undefined, 'UTC'), { type: 'loaded', info: INFO, rules: RULES });

describe('an optional parameter (int | None)', () => {
  it('is labelled like `nbprod params` labels it', () => {
    expect(typeLabel(MAX_DEPTH)).toBe('int?');
    expect(typeLabel(SEED)).toBe('int');
  });

  it('left empty is valid and submits None, never an empty text', () => {
    expect(checkValue(MAX_DEPTH, '', syntax)).toBeNull();
    expect(checkValue(MAX_DEPTH, '  ', syntax)).toBeNull();
    expect(checkValue(SEED, '', syntax)).toBe("parameter 'seed' expects int, got ''");
    expect(submittedValue(MAX_DEPTH, '')).toBeNull();
    expect(submittedValue(SEED, '')).toBe('');
    let state = loaded();
    expect(validate(state)).toEqual({});
    state = reducer(state, { type: 'value', name: 'max_depth', text: '4' });
    state = reducer(state, { type: 'value', name: 'max_depth', text: '' });
    expect(state.errors['parameters.max_depth']).toBe('');
    // Its default is None: nothing to submit; a default that is not None, cleared: None.
    state = reducer(state, { type: 'value', name: 'limit', text: '' });
    expect(jobForm(state).parameters).toEqual({ limit: null });
    expect(submittedTexts([MAX_DEPTH], { max_depth: '' }, { max_depth: 5 })).toEqual({
      max_depth: null
    });
  });
});

describe('the job fields only YAML had', () => {
  it('concurrency, overlap, catch-up, tags and description are submitted', () => {
    let state = loaded();
    const set = (
      field: 'concurrency' | 'overlap' | 'catchup' | 'tags' | 'description',
      value: string
    ) => (state = reducer(state, { type: 'field', field, value }));
    set('concurrency', '3');
    set('overlap', 'queue');
    set('catchup', 'none');
    set('tags', ' nightly, ,finance ');
    set('description', 'the model, retrained');
    expect(jobForm(state)).toMatchObject({
      concurrency: '3',
      overlap: 'queue',
      catchup: 'none',
      tags: ['nightly', 'finance'],
      description: 'the model, retrained'
    });
    expect(tagsOf('')).toEqual([]);
  });

  it('an edited job starts with its own values', () => {
    const state = initialState({
      name: 'j',
      notebook: '/n.ipynb',
      parameters: {},
      schedule: null,
      timezone: 'UTC',
      kernel: null,
      timeout: null,
      retries: 0,
      notifications: {},
      store: null,
      description: 'd',
      concurrency: 4,
      overlap: 'queue',
      catchup: 'all',
      tags: ['a', 'b']
    });
    expect(state.fields).toMatchObject({
      concurrency: '4',
      overlap: 'queue',
      catchup: 'all',
      tags: 'a, b',
      description: 'd'
    });
  });
});

describe('errors stay until their own field is fixed', () => {
  it('a cron error stays while another field is invalid, through a refused submit', () => {
    let state = reducer(loaded(), { type: 'fieldErrors', errors: { schedule: 'bad cron' } });
    state = reducer(state, { type: 'value', name: 'seed', text: 'x' });
    const found = validate(state);
    expect(found).toEqual({
      'parameters.seed': "parameter 'seed' expects int, got 'x'",
      schedule: 'bad cron'
    });
    state = reducer(state, { type: 'invalid', errors: found });
    state = reducer(state, { type: 'value', name: 'seed', text: '1' });
    expect(state.errors).toMatchObject({ 'parameters.seed': '', schedule: 'bad cron' });
    state = reducer(state, { type: 'field', field: 'retries', value: 'x' });
    expect(state.errors).toMatchObject({ schedule: 'bad cron', retries: expect.any(String) });
    state = reducer(state, { type: 'fieldErrors', errors: { schedule: '', timezone: '' } });
    expect(state.errors.schedule).toBe('');
    expect(state.errors.retries).not.toBe('');
  });

  it('a failure naming one field keeps the others; a submission clears none', () => {
    let state = reducer(loaded(), { type: 'fieldErrors', errors: { schedule: 'bad cron' } });
    state = reducer(state, { type: 'submitting' });
    expect(state.errors.schedule).toBe('bad cron');
    state = reducer(state, { type: 'failed', message: 'bad timeout', field: 'timeout' });
    expect(state.errors).toMatchObject({ schedule: 'bad cron', timeout: 'bad timeout' });
    // A field the form cannot check: its change retracts the server's verdict, only its own.
    state = reducer(state, { type: 'field', field: 'timeout', value: '30m' });
    expect(state.errors).toMatchObject({ schedule: 'bad cron', timeout: '' });
  });

  it('a field the form checks is cleared only when its check passes', () => {
    let state = reducer(loaded(), { type: 'field', field: 'concurrency', value: 'many' });
    expect(state.errors.concurrency).toMatch('whole number');
    state = reducer(state, { type: 'field', field: 'name', value: 'ok-name' });
    expect(state.errors.concurrency).toMatch('whole number');
    state = reducer(state, { type: 'field', field: 'concurrency', value: '2' });
    expect(state.errors.concurrency).toBe('');
  });

  it('Run now is not held back by the schedule the run does not use', () => {
    const state = reducer(loaded(), { type: 'fieldErrors', errors: { schedule: 'bad cron' } });
    expect(validate(state, 'run')).toEqual({});
    expect(validate(state, 'schedule')).toEqual({ schedule: 'bad cron' });
  });
});

describe('Sweep mode', () => {
  it('counts the combinations before submitting', () => {
    const values = { lr: ['0.1', '0.01'], seed: ['1', '2', '3'], flag: ['false'] };
    expect(combinations([LR, SEED, FLAG], values)).toBe(6);
    expect(combinationText([LR, SEED, FLAG], values)).toBe('2 × 3');
    expect(combinations([LR], { lr: ['0.1'] })).toBe(1);
    expect(combinationText([LR], { lr: ['0.1'] })).toBe('');
  });

  it('checks each value by its parameter type', () => {
    expect(checkValues(SEED, ['1', '+2', '3_000'], syntax)).toBeNull();
    expect(checkValues(SEED, ['1', '2.5'], syntax)).toBe(
      "value 2 of 2: parameter 'seed' expects int, got '2.5'"
    );
    expect(checkValues(FLAG, ['yes', 'off'], syntax)).toBeNull();
    expect(checkValues(FLAG, ['maybe'], syntax)).toBe("parameter 'flag' expects bool, got 'maybe'");
    expect(checkValues(MAX_DEPTH, ['', 'None', '3'], syntax)).toBeNull();
    expect(checkValues(MAX_DEPTH, ['deep'], syntax)).toMatch('expects int');
    expect(checkValues(MODEL, ['', 'forest, extra'], syntax)).toBeNull(); // any text
    expect(checkValues(LR, [], syntax)).toMatch('empty list');
    // Floats, lists and dicts are the server's to read (Python's and YAML's syntax).
    expect(checkValues(LR, ['1e-3', 'fast'], syntax)).toBeNull();
  });

  it('a bool sweeps over its ticked values', () => {
    expect(boolValues({ true: true, false: true }, syntax)).toEqual(['true', 'false']);
    expect(boolValues({ true: false, false: true }, syntax)).toEqual(['false']);
  });

  it('needs a parameter with two values; submits axes, changed values and None', () => {
    expect(checkSweep([LR, SEED], { lr: ['0.1'], seed: ['0'] }, syntax)).toEqual({
      parameters: 'nothing to sweep: give a parameter two or more values'
    });
    expect(
      sweepParameters([MAX_DEPTH, LR, SEED, MODEL], {
        max_depth: ['', '5'],
        lr: ['0.1'], // the default: left to the notebook
        seed: ['7'], // one changed value: fixed for every run
        model: ['logreg'] // a str's default as typed
      })
    ).toEqual({ max_depth: [null, '5'], seed: ['7'] });
  });

  it('the reducer keeps each parameter list and its error; the form is POST /sweeps', () => {
    let state = reducer(loaded(), { type: 'mode', mode: 'sweep' });
    expect(state.sweep).toMatchObject({ lr: ['0.1'], seed: ['0'], max_depth: [''] });
    expect(validate(state, 'sweep')).toHaveProperty('parameters');
    state = reducer(state, { type: 'sweepValues', name: 'seed', texts: ['1', 'two'] });
    expect(state.errors['parameters.seed']).toMatch("value 2 of 2: parameter 'seed'");
    state = reducer(state, { type: 'sweepValues', name: 'lr', texts: ['0.1', '0.2'] });
    expect(state.errors['parameters.seed']).toMatch('value 2 of 2');
    state = reducer(state, { type: 'sweepValues', name: 'seed', texts: ['1', '2'] });
    expect(validate(state, 'sweep')).toEqual({});
    expect(combinations(INFO.parameters, state.sweep)).toBe(4);
    expect(sweepForm(state, 'train.ipynb')).toEqual({
      path: 'train.ipynb',
      name: 'train',
      parameters: { lr: ['0.1', '0.2'], seed: ['1', '2'] },
      kernel: 'python3',
      timeout: '',
      report_mode: false
    });
    state = reducer(state, {
      type: 'swept',
      sweep: { sweep_id: 's1', job: 'train', swept: ['lr'], run_ids: [], count: 4, page: '' }
    });
    expect(state.swept?.sweep_id).toBe('s1');
  });
});
