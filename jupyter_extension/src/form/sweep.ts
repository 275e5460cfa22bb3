/**
 * The Schedule dialog's Sweep mode: a list of values per parameter (each typed and checked
 * like a single value), the number of runs they make, and the form `POST /sweeps` takes.
 * The server expands and validates the grid again (nbprod.core.sweeps).
 */
import { IParameter, IValueSyntax } from '../api';
import { boolText, checkValue, defaultText, submittedValue } from './parameters';

/** Parameter name → its values as text (at least one each). */
export type SweepValues = Record<string, string[]>;

/** Each parameter starts with one value: the text its single input has. */
export function initialSweep(parameters: IParameter[], texts: Record<string, string>): SweepValues {
  const values: SweepValues = {};
  for (const p of parameters) {
    values[p.name] = [texts[p.name] ?? defaultText(p)];
  }
  return values;
}

/** The values a bool parameter's two checkboxes give (the ticked ones, true first). */
export function boolValues(
  checked: { true: boolean; false: boolean },
  syntax: IValueSyntax
): string[] {
  return [
    ...(checked.true ? [boolText(true, syntax)] : []),
    ...(checked.false ? [boolText(false, syntax)] : [])
  ];
}

/** The number of runs: the product of each parameter's number of values. */
export function combinations(parameters: IParameter[], values: SweepValues): number {
  return parameters.reduce((count, p) => count * Math.max(1, (values[p.name] || []).length), 1);
}

/** How the count is made: `2 × 2` (the parameters with several values), or '' for one run. */
export function combinationText(parameters: IParameter[], values: SweepValues): string {
  return parameters
    .map(p => (values[p.name] || []).length)
    .filter(n => n > 1)
    .join(' × ');
}

/** Why the server would reject a parameter's values: the first bad one, or null. */
export function checkValues(p: IParameter, texts: string[], syntax: IValueSyntax): string | null {
  if (texts.length === 0) {
    return `parameter '${p.name}' has an empty list of values`;
  }
  for (let i = 0; i < texts.length; i++) {
    const problem = checkValue(p, texts[i], syntax);
    if (problem) {
      return texts.length > 1 ? `value ${i + 1} of ${texts.length}: ${problem}` : problem;
    }
  }
  return null;
}

/** Errors per `parameters.<name>`, and `parameters` when no parameter has two values. */
export function checkSweep(
  parameters: IParameter[],
  values: SweepValues,
  syntax: IValueSyntax
): Record<string, string> {
  const found: Record<string, string> = {};
  for (const p of parameters) {
    const problem = checkValues(p, values[p.name] || [], syntax);
    if (problem) {
      found[`parameters.${p.name}`] = problem;
    }
  }
  if (!parameters.some(p => (values[p.name] || []).length > 1)) {
    found.parameters = 'nothing to sweep: give a parameter two or more values';
  }
  return found;
}

/**
 * The values submitted: every parameter with several values, and one value where it
 * differs from the notebook's default or the parameter is required; an empty value of a
 * nullable parameter is null (None).
 */
export function sweepParameters(
  parameters: IParameter[],
  values: SweepValues
): Record<string, (string | null)[]> {
  const result: Record<string, (string | null)[]> = {};
  for (const p of parameters) {
    const texts = values[p.name] || [];
    if (texts.length > 1 || p.required || (texts.length === 1 && texts[0] !== defaultText(p))) {
      result[p.name] = texts.map(text => submittedValue(p, text));
    }
  }
  return result;
}
