/** The notebook's typed parameters: one input each (a checkbox for a bool), help, error. */
import * as React from 'react';

import { IParameter, IValueSyntax } from '../../api';
import { boolText, isTrue, typeLabel } from '../../form/parameters';
import { FieldError } from './FieldError';

export interface IParameterFieldsProps {
  parameters: IParameter[];
  values: Record<string, string>;
  syntax: IValueSyntax;
  errors: Record<string, string>;
  onChange: (name: string, text: string) => void;
}

/** An optional parameter's empty input means None: its placeholder says so. */
function nullablePlaceholder(p: IParameter): string {
  if (!p.nullable) {
    return p.default_source;
  }
  return p.default_source === 'None' ? 'None (leave empty)' : `${p.default_source} (empty: None)`;
}

function ParameterInput(props: {
  p: IParameter;
  text: string;
  syntax: IValueSyntax;
  onChange: (text: string) => void;
}): JSX.Element {
  const { p } = props;
  if (p.kind === 'bool') {
    return (
      <input
        type="checkbox"
        name={`param-${p.name}`}
        checked={isTrue(props.text, props.syntax)}
        onChange={e => props.onChange(boolText(e.target.checked, props.syntax))}
      />
    );
  }
  return (
    <input
      name={`param-${p.name}`}
      className="jp-mod-styled"
      value={props.text}
      placeholder={nullablePlaceholder(p)}
      onChange={e => props.onChange(e.target.value)}
    />
  );
}

export function ParameterFields(props: IParameterFieldsProps): JSX.Element {
  return (
    <fieldset className="nbprod-parameters">
      <legend>Parameters</legend>
      {props.parameters.length === 0 && (
        <div className="nbprod-muted">This notebook has no cell tagged “parameters”.</div>
      )}
      {props.parameters.map(p => (
        <div className="nbprod-param" key={p.name} data-param={p.name}>
          <label className="nbprod-row">
            <span>
              {p.name} <code className="nbprod-type">{typeLabel(p)}</code>
              {p.required && <b> *</b>}
            </span>
            <ParameterInput
              p={p}
              text={props.values[p.name] ?? ''}
              syntax={props.syntax}
              onChange={text => props.onChange(p.name, text)}
            />
          </label>
          {p.help && <div className="nbprod-help">{p.help}</div>}
          <FieldError errors={props.errors} field={`parameters.${p.name}`} />
        </div>
      ))}
      <FieldError errors={props.errors} field="parameters" />
    </fieldset>
  );
}
