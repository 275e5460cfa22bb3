/**
 * Parameter values: the instant check by the server-sent kind, nullability and value words
 * (test/fixtures/rules.json is what /info sends: tests/lab/test_lab_rules.py keeps it so),
 * and which texts are submitted.
 */
import { IParameter, IRules, ParameterKind } from '../src/api';
import {
  boolText,
  checkValue,
  defaultText,
  initialTexts,
  isTrue,
  submittedTexts
} from '../src/form/parameters';
import rules from './fixtures/rules.json';

const syntax = (rules as IRules).values;

function param(
  kind: ParameterKind,
  more: Partial<IParameter> = {},
  type: string = kind
): IParameter {
  return {
    name: 'p',
    type,
    kind,
    default: null,
    default_source: '',
    nullable: false,
    help: '',
    required: false,
    ...more
  };
}

describe('checkValue', () => {
  it.each(['7', '-3', '+1_000', ' 42 '])('int accepts %p', text => {
    expect(checkValue(param('int'), text, syntax)).toBeNull();
  });
  it.each(['1.5', '1__0', '0x10', '', 'seven', 'none'])('int rejects %p', text => {
    expect(checkValue(param('int'), text, syntax)).toBe(`parameter 'p' expects int, got '${text}'`);
  });
  it('the null words are accepted for a nullable parameter only', () => {
    for (const word of ['None', 'null', '~', ' NULL ']) {
      expect(checkValue(param('int', { nullable: true }), word, syntax)).toBeNull();
      expect(checkValue(param('bool'), word, syntax)).not.toBeNull();
    }
  });
  it('bool accepts the server words in any case, nothing else', () => {
    for (const word of ['true', 'Yes', 'ON', '1', 'false', 'no', 'Off', '0']) {
      expect(checkValue(param('bool'), word, syntax)).toBeNull();
    }
    expect(checkValue(param('bool'), 'maybe', syntax)).toContain('expects bool');
  });
  it('the type shown is the declared one, the check is by kind', () => {
    const listOfInt = param('list', {}, 'list[int]');
    expect(checkValue(listOfInt, '[1, 2', syntax)).toBeNull(); // YAML: the server's to check
    expect(checkValue(param('int', {}, 'Optional[int]'), 'x', syntax)).toBe(
      "parameter 'p' expects Optional[int], got 'x'"
    );
  });
  it('float, str and untyped values are left to the server', () => {
    for (const kind of ['float', 'str', 'any', 'dict'] as ParameterKind[]) {
      expect(checkValue(param(kind), 'anything at all', syntax)).toBeNull();
    }
  });
});

describe('bool inputs', () => {
  it('a checkbox is ticked by the true words and submits the first word of each', () => {
    expect(isTrue('Yes', syntax)).toBe(true);
    expect(isTrue('off', syntax)).toBe(false);
    expect(boolText(true, syntax)).toBe('true');
    expect(boolText(false, syntax)).toBe('false');
  });
});

describe('texts', () => {
  const days = param('int', { name: 'days', default: 7, default_source: '7' });
  const region = param('str', { name: 'region', default: 'eu', default_source: '"eu"' });
  const since = param('str', { name: 'since', default: null, default_source: 'None' });
  const when = param('any', { name: 'when', default: null, default_source: 'today()' });
  const must = param('str', { name: 'must', default: null, default_source: '', required: true });

  it('an input starts with the default as typed', () => {
    expect([days, region, since, when].map(defaultText)).toEqual(['7', 'eu', '', 'today()']);
    expect(defaultText(param('list', { default: [1, 2] }))).toBe('[1,2]');
  });

  it('a job being edited starts with its own values', () => {
    expect(initialTexts([days, region], { days: 30 })).toEqual({ days: '30', region: 'eu' });
  });

  it('submits changed values, the values a job sets, and required ones', () => {
    const all = [days, region, since, must];
    expect(submittedTexts(all, { days: '7', region: 'eu', since: '', must: '' })).toEqual({
      must: ''
    });
    expect(submittedTexts(all, { days: '8', region: 'eu', since: '', must: 'x' })).toEqual({
      days: '8',
      must: 'x'
    });
    // An edited job's value stays submitted even when set back to the default.
    expect(
      submittedTexts(all, { days: '7', region: 'eu', since: '', must: 'x' }, { days: 9 })
    ).toEqual({ days: '7', must: 'x' });
  });
});
