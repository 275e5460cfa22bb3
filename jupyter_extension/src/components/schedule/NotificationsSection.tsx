/** Notification rows: event, target type (both lists from the server) and the target. */
import * as React from 'react';

import { IRules } from '../../api';
import { INotifyRow } from '../../form/notifications';
import { Action } from '../../form/state';
import { FieldError } from './FieldError';

export interface INotificationsSectionProps {
  rows: INotifyRow[];
  rules: IRules;
  errors: Record<string, string>;
  dispatch: (action: Action) => void;
}

function Choice(props: {
  value: string;
  options: string[];
  label?: (option: string) => string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <select
      className="jp-mod-styled"
      value={props.value}
      onChange={e => props.onChange(e.target.value)}
    >
      {props.options.map(option => (
        <option key={option} value={option}>
          {props.label ? props.label(option) : option}
        </option>
      ))}
    </select>
  );
}

export function NotificationsSection(props: INotificationsSectionProps): JSX.Element {
  const { rules, dispatch } = props;
  const edit = (index: number, row: Partial<INotifyRow>) =>
    dispatch({ type: 'notifyEdit', index, row });
  return (
    <div className="nbprod-notify">
      <span>Notifications</span>
      {props.rows.map((row, index) => (
        <div className="nbprod-notify-row" key={index}>
          <Choice
            value={row.event}
            options={rules.notification_events}
            label={event => event.replace('on_', 'on ')}
            onChange={event => edit(index, { event })}
          />
          <Choice
            value={row.type}
            options={rules.notification_targets}
            onChange={type => edit(index, { type })}
          />
          <input
            className="jp-mod-styled"
            value={row.target}
            placeholder={row.type === 'email' ? 'a@example.org, b@…' : 'https://…'}
            onChange={e => edit(index, { target: e.target.value })}
          />
          <button
            type="button"
            className="jp-Button jp-mod-minimal"
            title="Remove"
            onClick={() => dispatch({ type: 'notifyRemove', index })}
          >
            ✕
          </button>
        </div>
      ))}
      <button
        type="button"
        className="jp-Button jp-mod-minimal nbprod-add-notify"
        onClick={() => dispatch({ type: 'notifyAdd' })}
      >
        + Add notification
      </button>
      <FieldError errors={props.errors} field="notifications" />
    </div>
  );
}
