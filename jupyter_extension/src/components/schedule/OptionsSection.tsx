/** Retries, timeout and store (text the server parses: `30m`, `s3://bucket/prefix`, …). */
import * as React from 'react';

import { IFields } from '../../form/state';
import { FieldError } from './FieldError';

export interface IOptionsSectionProps {
  fields: IFields;
  errors: Record<string, string>;
  onChange: (field: keyof IFields, value: string) => void;
  /** The notifications, shown in the same fieldset. */
  children?: React.ReactNode;
}

function TextRow(props: {
  field: 'retries' | 'timeout' | 'store';
  label: string;
  placeholder?: string;
  number?: boolean;
  options: IOptionsSectionProps;
}): JSX.Element {
  const { field, options } = props;
  return (
    <>
      <label className="nbprod-row">
        <span>{props.label}</span>
        <input
          name={field}
          className="jp-mod-styled"
          type={props.number ? 'number' : undefined}
          min={props.number ? 0 : undefined}
          value={options.fields[field]}
          placeholder={props.placeholder}
          onChange={e => options.onChange(field, e.target.value)}
        />
      </label>
      <FieldError errors={options.errors} field={field} />
    </>
  );
}

export function OptionsSection(props: IOptionsSectionProps): JSX.Element {
  return (
    <fieldset className="nbprod-options">
      <legend>Options</legend>
      <TextRow field="retries" label="Retries" number options={props} />
      <TextRow field="timeout" label="Timeout" placeholder="none (e.g. 30m, 2h)" options={props} />
      <TextRow
        field="store"
        label="Store"
        placeholder="the configured store (or s3://bucket/prefix)"
        options={props}
      />
      {props.children}
    </fieldset>
  );
}
