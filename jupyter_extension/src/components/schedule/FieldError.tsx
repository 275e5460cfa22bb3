import * as React from 'react';

/** A field's error message (from the form's checks or the server's 400 naming the field). */
export function FieldError(props: {
  errors: Record<string, string>;
  field: string;
}): JSX.Element | null {
  const message = props.errors[props.field];
  return message ? (
    <div className="nbprod-field-error" data-field={props.field}>
      {message}
    </div>
  ) : null;
}
