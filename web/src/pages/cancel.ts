/**
 * The cancel control of an experiment page: shown while the experiment is pending or running,
 * enabled when the session's role may cancel (the server still checks ownership and answers 403
 * with the reason, shown next to the button). Two clicks: "cancel…" then "confirm cancel".
 */
import { h } from '../dom.js';
import type { Source } from '../source.js';

export class CancelControl {
  readonly el = h('div', { class: 'actions', 'data-role': 'cancel' });
  private readonly button = h('button', { type: 'button' }, 'cancel…');
  private readonly note = h('span', { class: 'hint' });
  private armed = false;
  private allowed = false;

  constructor(
    private readonly source: Source,
    private readonly id: string,
  ) {
    this.el.append(this.button, ' ', this.note);
    this.el.hidden = true;
    this.button.addEventListener('click', () => void this.click());
    if (!source.live) return;
    source.session().then(
      (session) => {
        this.allowed = session.canCancel;
        this.button.disabled = !session.canCancel;
        if (!session.canCancel) this.note.textContent = `read-only as ${session.name || 'a guest'}: cannot cancel`;
      },
      () => undefined,
    );
  }

  /** Shows the control while the experiment can still be cancelled. */
  update(status: string): void {
    this.el.hidden = !this.source.live || (status !== 'pending' && status !== 'running');
  }

  private async click(): Promise<void> {
    if (!this.allowed) return;
    if (!this.armed) {
      this.armed = true;
      this.button.textContent = 'confirm cancel';
      return;
    }
    this.button.disabled = true;
    try {
      await this.source.cancel(this.id);
      this.note.textContent = 'cancelled';
    } catch (err) {
      this.note.textContent = err instanceof Error ? err.message : String(err);
      this.button.disabled = false;
    }
    this.armed = false;
    this.button.textContent = 'cancel…';
  }
}
