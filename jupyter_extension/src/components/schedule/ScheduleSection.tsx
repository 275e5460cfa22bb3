/**
 * Preset, cron expression and timezone, with the description and next fire times the server
 * computes in the chosen timezone (its 400 is shown next to the field it names).
 */
import * as React from 'react';

import { ApiError, ICronPreview, NbprodClient } from '../../api';
import { formatTime } from '../../format';
import { PRESETS } from '../../form/schedule';
import { IFields } from '../../form/state';
import { FieldError } from './FieldError';

export interface IScheduleSectionProps {
  client: NbprodClient;
  schedule: string;
  preset: string;
  timezone: string;
  errors: Record<string, string>;
  onChange: (field: keyof IFields, value: string) => void;
  onErrors: (errors: Record<string, string>) => void;
}

function useTimezones(client: NbprodClient): string[] {
  const [timezones, setTimezones] = React.useState<string[]>([]);
  React.useEffect(() => {
    client
      .timezones()
      .then(setTimezones)
      .catch(() => setTimezones([]));
  }, []);
  return timezones;
}

function usePreview(props: IScheduleSectionProps): ICronPreview | null {
  const [preview, setPreview] = React.useState<ICronPreview | null>(null);
  const { client, schedule, timezone, onErrors } = props;
  React.useEffect(() => {
    const handle = window.setTimeout(() => {
      client
        .cronPreview(schedule, timezone, 3)
        .then(data => {
          setPreview(data);
          onErrors({ schedule: '', timezone: '' });
        })
        .catch((error: ApiError) => {
          setPreview(null);
          onErrors({ [error.field || 'schedule']: error.message });
        });
    }, 250);
    return () => window.clearTimeout(handle);
  }, [schedule, timezone]);
  return preview;
}

function Preview(props: { preview: ICronPreview }): JSX.Element {
  const { preview } = props;
  return (
    <div className="nbprod-preview">
      <div className="nbprod-cron-description">{preview.description}</div>
      {preview.next.length > 0 && (
        <ol className="nbprod-next-runs">
          {preview.next.map(t => (
            <li key={t}>{formatTime(t)}</li>
          ))}
        </ol>
      )}
    </div>
  );
}

export function ScheduleSection(props: IScheduleSectionProps): JSX.Element {
  const timezones = useTimezones(props.client);
  const preview = usePreview(props);
  return (
    <fieldset className="nbprod-schedule">
      <legend>Schedule</legend>
      <label className="nbprod-row">
        <span>Preset</span>
        <select
          name="preset"
          className="jp-mod-styled"
          value={props.preset}
          onChange={e => props.onChange('preset', e.target.value)}
        >
          {PRESETS.map(p => (
            <option key={p.label} value={p.cron}>
              {p.label}
            </option>
          ))}
        </select>
      </label>
      <label className="nbprod-row">
        <span>Cron</span>
        <input
          name="schedule"
          className="jp-mod-styled"
          value={props.schedule}
          placeholder="m h dom mon dow"
          onChange={e => props.onChange('schedule', e.target.value)}
        />
      </label>
      <FieldError errors={props.errors} field="schedule" />
      <label className="nbprod-row">
        <span>Timezone</span>
        <input
          name="timezone"
          className="jp-mod-styled"
          list="nbprod-timezones"
          value={props.timezone}
          onChange={e => props.onChange('timezone', e.target.value)}
        />
        <datalist id="nbprod-timezones">
          {timezones.map(z => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </label>
      <FieldError errors={props.errors} field="timezone" />
      {preview && <Preview preview={preview} />}
    </fieldset>
  );
}
