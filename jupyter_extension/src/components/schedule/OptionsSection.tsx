/**
 * Retries, timeout, store, and what else a job definition has (concurrency, overlap,
 * catch-up, tags, report mode, description): text the server parses and checks like `nbprod jobs apply`
 * checks YAML (`30m`, `s3://bucket/prefix`, …); the choices are the server's.
 */
import * as React from 'react';

import { IRules } from '../../api';
import { IFields } from '../../form/state';
import { FieldError } from './FieldError';

export interface IOptionsSectionProps {
  fields: IFields;
  errors: Record<string, string>;
  rules: IRules;
  onChange: (field: keyof IFields, value: string) => void;
  reportMode: boolean;
  onReportMode: (value: boolean) => void;
  /** Sweep mode: a one-off run's options only (the timeout). */
  sweep?: boolean;
  /** The notifications, shown in the same fieldset. */
  children?: React.ReactNode;
}

function TextRow(props: {
  field: 'retries' | 'timeout' | 'store' | 'concurrency' | 'tags';
  label: string;
  placeholder?: string;
  number?: { min: number };
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
          min={props.number?.min}
          value={options.fields[field]}
          placeholder={props.placeholder}
          onChange={e => options.onChange(field, e.target.value)}
        />
      </label>
      <FieldError errors={options.errors} field={field} />
    </>
  );
}

function ChoiceRow(props: {
  field: 'overlap' | 'catchup';
  label: string;
  describe: Record<string, string>;
  options: IOptionsSectionProps;
}): JSX.Element {
  const { field, options } = props;
  return (
    <>
      <label className="nbprod-row">
        <span>{props.label}</span>
        <select
          name={field}
          className="jp-mod-styled"
          value={options.fields[field]}
          onChange={e => options.onChange(field, e.target.value)}
        >
          {options.rules.job_choices[field].map(choice => (
            <option key={choice} value={choice}>
              {props.describe[choice] ? `${choice}: ${props.describe[choice]}` : choice}
            </option>
          ))}
        </select>
      </label>
      <FieldError errors={options.errors} field={field} />
    </>
  );
}

/** papermill's report mode, for readers who want the results, not the code. */
function ReportModeRow(props: { options: IOptionsSectionProps }): JSX.Element {
  const { options } = props;
  return (
    <>
      <label className="nbprod-row">
        <span>Report mode</span>
        <span>
          <input
            name="report_mode"
            type="checkbox"
            checked={options.reportMode}
            onChange={e => options.onReportMode(e.target.checked)}
          />{' '}
          hide code in the output
        </span>
      </label>
      <FieldError errors={options.errors} field="report_mode" />
    </>
  );
}

const OVERLAP: Record<string, string> = {
  skip: 'a fire at the limit is skipped',
  queue: 'a fire at the limit waits in the queue'
};

const CATCHUP: Record<string, string> = {
  latest: 'after downtime, run the latest missed fire',
  none: 'after downtime, run no missed fire',
  all: 'after downtime, run every missed fire'
};

export function OptionsSection(props: IOptionsSectionProps): JSX.Element {
  if (props.sweep) {
    return (
      <fieldset className="nbprod-options">
        <legend>Options</legend>
        <TextRow
          field="timeout"
          label="Timeout"
          placeholder="none (e.g. 30m, 2h)"
          options={props}
        />
        <ReportModeRow options={props} />
      </fieldset>
    );
  }
  return (
    <fieldset className="nbprod-options">
      <legend>Options</legend>
      <TextRow field="retries" label="Retries" number={{ min: 0 }} options={props} />
      <TextRow field="timeout" label="Timeout" placeholder="none (e.g. 30m, 2h)" options={props} />
      <TextRow
        field="store"
        label="Store"
        placeholder="the configured store (or s3://bucket/prefix)"
        options={props}
      />
      <TextRow field="concurrency" label="Concurrency" number={{ min: 1 }} options={props} />
      <ChoiceRow field="overlap" label="Overlap" describe={OVERLAP} options={props} />
      <ChoiceRow field="catchup" label="Catch-up" describe={CATCHUP} options={props} />
      <TextRow field="tags" label="Tags" placeholder="e.g. nightly, finance" options={props} />
      <ReportModeRow options={props} />
      <label className="nbprod-row">
        <span>Description</span>
        <textarea
          name="description"
          className="jp-mod-styled"
          rows={2}
          value={props.fields.description}
          onChange={e => props.onChange('description', e.target.value)}
        />
      </label>
      <FieldError errors={props.errors} field="description" />
      {props.children}
    </fieldset>
  );
}
