/** A modal overlay holding a React form (it stays open on errors): the Schedule and Backfill dialogs. */
import { ReactWidget } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

export class Overlay extends ReactWidget {
  constructor(private element: () => JSX.Element) {
    super();
    this.addClass('nbprod-dialog');
    this.node.setAttribute('role', 'dialog');
  }

  render(): JSX.Element {
    return <div className="nbprod-dialog-content">{this.element()}</div>;
  }

  open(): void {
    Widget.attach(this, document.body);
  }
}
