/**
 * Sweep mode's parameters: a list of values each (two checkboxes for a bool), typed and
 * checked like a single value, and the number of runs the combinations make.
 */
import * as React from 'react';

import { IParameter, IValueSyntax } from '../../api';
import { isTrue, typeLabel } from '../../form/parameters';
import { SweepValues, boolValues, combinationText, combinations } from '../../form/sweep';
import { FieldError } from './FieldError';

export interface ISweepFieldsProps {
  parameters: IParameter[];
  values: SweepValues;
  syntax: IValueSyntax;
  errors: Record<string, string>;
  onChange: (name: string, texts: string[]) => void;
}

function BoolValues(props: {
  p: IParameter;
  texts: string[];
  syntax: IValueSyntax;
  onChange: (texts: string[]) => void;
}): JSX.Element {
  const checked = {
    true: props.texts.some(t => isTrue(t, props.syntax)),
    false: props.texts.some(t => !isTrue(t, props.syntax))
  };
  const box = (value: 'true' | 'false') => (
    <label className="nbprod-sweep-bool">
      <input
        type="checkbox"
        name={`sweep-${props.p.name}-${value}`}
        checked={checked[value]}
        onChange={e =>
          props.onChange(boolValues({ ...checked, [value]: e.target.checked }, props.syntax))
        }
      />
      {value}
    </label>
  );
  return (
    <div className="nbprod-sweep-values">
      {box('true')}
      {box('false')}
    </div>
  );
}

function TextValues(props: {
  p: IParameter;
  texts: string[];
  onChange: (texts: string[]) => void;
}): JSX.Element {
  const { p, texts } = props;
  const set = (index: number, text: string) =>
    props.onChange(texts.map((t, i) => (i === index ? text : t)));
  return (
    <div className="nbprod-sweep-values">
      {texts.map((text, index) => (
        <span className="nbprod-sweep-value" key={index}>
          <input
            name={`sweep-${p.name}-${index}`}
            className="jp-mod-styled"
            value={text}
            placeholder={p.nullable ? 'None' : p.default_source}
            onChange={e => set(index, e.target.value)}
          />
          {texts.length > 1 && (
            <button
              type="button"
              className="jp-Button jp-mod-minimal nbprod-sweep-remove"
              title="Remove this value"
              onClick={() => props.onChange(texts.filter((_, i) => i !== index))}
            >
              ✕
            </button>
          )}
        </span>
      ))}
      <button
        type="button"
        className="jp-Button jp-mod-minimal nbprod-sweep-add"
        title="Add a value"
        onClick={() => props.onChange([...texts, ''])}
      >
        + value
      </button>
    </div>
  );
}

export function SweepFields(props: ISweepFieldsProps): JSX.Element {
  const count = combinations(props.parameters, props.values);
  const how = combinationText(props.parameters, props.values);
  return (
    <fieldset className="nbprod-parameters nbprod-sweep">
      <legend>Parameters (a list of values each)</legend>
      {props.parameters.length === 0 && (
        <div className="nbprod-muted">This notebook has no cell tagged “parameters”.</div>
      )}
      {props.parameters.map(p => {
        const texts = props.values[p.name] || [];
        const onChange = (next: string[]) => props.onChange(p.name, next);
        return (
          <div className="nbprod-param" key={p.name} data-param={p.name}>
            <div className="nbprod-row">
              <span>
                {p.name} <code className="nbprod-type">{typeLabel(p)}</code>
                {p.required && <b> *</b>}
              </span>
              {p.kind === 'bool' ? (
                <BoolValues p={p} texts={texts} syntax={props.syntax} onChange={onChange} />
              ) : (
                <TextValues p={p} texts={texts} onChange={onChange} />
              )}
            </div>
            {p.help && <div className="nbprod-help">{p.help}</div>}
            <FieldError errors={props.errors} field={`parameters.${p.name}`} />
          </div>
        );
      })}
      <div className="nbprod-sweep-count" data-count={count}>
        {count === 1 ? '1 run' : `${count} runs`}
        {how && ` (${how})`}
      </div>
      <FieldError errors={props.errors} field="parameters" />
    </fieldset>
  );
}
