/**
 * Parameter values in the Schedule form: the text each input starts with, the instant check
 * of a typed value, and which values are submitted. The rules are the server's: each
 * parameter's `kind` and `nullable` come with the notebook's parameters, the words and the
 * int pattern with `/info` (`rules.values`); the server parses and checks again on submit.
 */
import { IParameter, IValueSyntax, ParameterTexts } from '../api';

/** The text a parameter's input starts with: its default as the user would type it. */
export function defaultText(p: IParameter): string {
  if (p.default === null || p.default === undefined) {
    return p.default_source === 'None' ? '' : p.default_source;
  }
  return valueText(p.default);
}

/** A stored value (a job's parameter) as text. */
export function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The inputs' starting texts: the job's values where it has them, else the defaults. */
export function initialTexts(
  parameters: IParameter[],
  given: Record<string, unknown> = {}
): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const p of parameters) {
    texts[p.name] = given[p.name] !== undefined ? valueText(given[p.name]) : defaultText(p);
  }
  return texts;
}

function word(text: string): string {
  return text.trim().toLowerCase();
}

/** A parameter's type as `nbprod params` shows it (`int?` for `int | None`): the server's. */
export function typeLabel(p: IParameter): string {
  return p.label || p.type;
}

/** Whether `text` means None for `p`: an empty input or a word for None, when `p` is
 * nullable (`int | None`). An empty input is submitted as null, never as ''. */
export function isNone(p: IParameter, text: string, syntax: IValueSyntax): boolean {
  return p.nullable && (text.trim() === '' || syntax.null.includes(word(text)));
}

/** What an input submits: null for None, else its text (parsed by the server). */
export function submittedValue(p: IParameter, text: string): string | null {
  return p.nullable && text.trim() === '' ? null : text;
}

/** Whether a bool parameter's text means true (its checkbox is ticked). */
export function isTrue(text: string, syntax: IValueSyntax): boolean {
  return syntax.true.includes(word(text));
}

/** The text a bool parameter's checkbox submits. */
export function boolText(checked: boolean, syntax: IValueSyntax): string {
  return checked ? syntax.true[0] : syntax.false[0];
}

/**
 * Why the server would reject `text` for `p`, or null. Checked here: the words for None
 * (nullable parameters), bools, ints. Floats, lists and dicts are left to the server (its
 * 400 names the field, shown next to the input): their syntax is Python's and YAML's.
 */
export function checkValue(p: IParameter, text: string, syntax: IValueSyntax): string | null {
  if (p.kind === 'any' || isNone(p, text, syntax)) {
    return null;
  }
  const bad = `parameter '${p.name}' expects ${p.type}, got '${text}'`;
  if (p.kind === 'int' && !new RegExp(`^(?:${syntax.int})$`).test(text.trim())) {
    return bad;
  }
  if (
    p.kind === 'bool' &&
    !syntax.true.includes(word(text)) &&
    !syntax.false.includes(word(text))
  ) {
    return bad;
  }
  return null;
}

/**
 * The values submitted: those that differ from the notebook's defaults, every value the
 * job already sets (so an edit keeps it), and every required one; an empty input of a
 * nullable parameter is null (None).
 */
export function submittedTexts(
  parameters: IParameter[],
  texts: Record<string, string>,
  given: Record<string, unknown> = {}
): ParameterTexts {
  const result: ParameterTexts = {};
  for (const p of parameters) {
    const text = texts[p.name] ?? '';
    if (given[p.name] !== undefined || text !== defaultText(p) || p.required) {
      result[p.name] = submittedValue(p, text);
    }
  }
  return result;
}
