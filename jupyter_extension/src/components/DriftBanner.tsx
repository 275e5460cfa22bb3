/**
 * The drift banner: the working copy of a job's notebook differs from the snapshot its
 * latest version pins (runs use the snapshot), with the changed cells and *Update job*.
 * Self-contained (it asks the server itself), so the Jobs panel and the Schedule dialog
 * both render it with just a client and a job name.
 */
import * as React from 'react';

import { ApiError, IDrift, NbprodClient } from '../api';

export interface IDriftBannerProps {
  client: NbprodClient;
  job: string;
  /** Called after *Update job* stored a new version. */
  onUpdated?: () => void;
  /** Bumped by the owner to look again (e.g. after a refresh). */
  refreshKey?: unknown;
}

export function DriftBanner(props: IDriftBannerProps): JSX.Element | null {
  const { client, job } = props;
  const [drift, setDrift] = React.useState<IDrift | null>(null);
  const [open, setOpen] = React.useState(false);
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);

  const load = React.useCallback(async () => {
    try {
      setDrift(await client.jobDrift(job));
      setError(null);
    } catch (e) {
      setError((e as ApiError).message);
    }
  }, [client, job]);

  React.useEffect(() => {
    void load();
  }, [load, props.refreshKey]);

  if (error) {
    return <div className="nbprod-drift nbprod-general-error">{error}</div>;
  }
  if (!drift || !drift.drifted) {
    return null;
  }
  const update = async () => {
    setBusy(true);
    try {
      await client.pinWorkingCopy(job);
      await load();
      props.onUpdated?.();
    } catch (e) {
      setError((e as ApiError).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="nbprod-drift" data-job={job} role="status">
      <div className="nbprod-drift-message">
        <b>Notebook changed</b> since v{drift.version}: {drift.message}.
      </div>
      <div className="nbprod-actions">
        <button
          type="button"
          className="jp-Button jp-mod-minimal nbprod-drift-toggle"
          onClick={() => setOpen(!open)}
        >
          {open ? 'Hide changes' : `Show changes (${drift.cells.length})`}
        </button>
        <button
          type="button"
          className="jp-Button jp-mod-minimal nbprod-drift-update"
          disabled={busy}
          onClick={() => void update()}
        >
          {busy ? 'Updating…' : 'Update job'}
        </button>
      </div>
      {open && (
        <ul className="nbprod-drift-cells">
          {drift.cells.map((cell, index) => (
            <li key={index} className={`nbprod-drift-cell nbprod-drift-${cell.kind}`}>
              <div className="nbprod-muted">
                {cell.where} {cell.kind}
              </div>
              <pre>
                {cell.summary.split('\n').map((line, n) => (
                  <span
                    key={n}
                    className={
                      line.startsWith('+')
                        ? 'nbprod-diff-add'
                        : line.startsWith('-')
                          ? 'nbprod-diff-del'
                          : undefined
                    }
                  >
                    {line}
                    {'\n'}
                  </span>
                ))}
              </pre>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
