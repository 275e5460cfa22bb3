/**
 * Backfill a job from its menu in the Jobs panel: a past date range, the number of runs it
 * makes (the server's fire times, shown before submitting), then one queued run per fire
 * time with `scheduled_for` set.
 */
import * as React from 'react';

import { ApiError, IBackfill, IJob, NbprodClient } from '../api';
import { checkRange, countText, daysBefore } from '../form/backfill';

export interface IBackfillFormProps {
  client: NbprodClient;
  job: IJob;
  today?: Date;
  onDone: (done: IBackfill) => void;
  onCancel: () => void;
}

export function BackfillForm(props: IBackfillFormProps): JSX.Element {
  const { client, job } = props;
  const today = props.today ?? new Date();
  const todayText = daysBefore(today, 0);
  const [from, setFrom] = React.useState(daysBefore(today, 3));
  const [to, setTo] = React.useState(daysBefore(today, 1));
  const [plan, setPlan] = React.useState<IBackfill | null>(null);
  const [serverError, setServerError] = React.useState<{ field: string; message: string } | null>(
    null
  );
  const [busy, setBusy] = React.useState(false);
  const local = checkRange(from, to, todayText);

  React.useEffect(() => {
    setPlan(null);
    setServerError(null);
    if (local) {
      return;
    }
    let current = true;
    client
      .backfillPreview(job.name, from, to)
      .then(answer => current && setPlan(answer))
      .catch(
        (e: ApiError) => current && setServerError({ field: e.field || 'from', message: e.message })
      );
    return () => {
      current = false;
    };
  }, [from, to]);

  const error = local ?? serverError;
  const submit = async () => {
    setBusy(true);
    try {
      props.onDone(await client.backfill(job.name, from, to));
    } catch (e) {
      setServerError({ field: (e as ApiError).field || 'from', message: (e as ApiError).message });
      setBusy(false);
    }
  };
  const field = (name: 'from' | 'to', value: string, set: (v: string) => void) => (
    <label className="nbprod-field">
      <span>{name === 'from' ? 'From' : 'To (included)'}</span>
      <input
        type="date"
        name={name}
        value={value}
        max={todayText}
        onChange={e => set(e.target.value)}
      />
      {error && error.field === name && (
        <span className="nbprod-field-error" data-field={name}>
          {error.message}
        </span>
      )}
    </label>
  );
  return (
    <div className="nbprod-form nbprod-backfill" data-job={job.name}>
      <h2>Backfill {job.name}</h2>
      <p className="nbprod-muted">
        One run per fire time of <code>{job.schedule}</code> ({job.timezone}) in the range, up to
        now, queued with its scheduled time.
      </p>
      {field('from', from, setFrom)}
      {field('to', to, setTo)}
      <div className="nbprod-backfill-count" data-count={plan ? plan.count : ''}>
        {plan ? countText(plan.count, plan.first, plan.last) : error ? '' : 'counting…'}
      </div>
      <div className="nbprod-form-buttons">
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          onClick={props.onCancel}
          disabled={busy}
        >
          Cancel
        </button>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept nbprod-backfill-submit"
          disabled={busy || !plan || plan.count === 0 || !!error}
          onClick={() => void submit()}
        >
          {plan ? `Queue ${plan.count} run${plan.count === 1 ? '' : 's'}` : 'Queue runs'}
        </button>
      </div>
    </div>
  );
}
