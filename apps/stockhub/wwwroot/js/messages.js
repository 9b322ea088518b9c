// System messages and errors: a toast that goes by itself, and a line in the history.

const toastMs = 6000;
const maxToasts = 4;
const maxHistory = 200;

export class Messages {
  constructor(toasts, history, empty) {
    this.toasts = toasts;
    this.history = history;
    this.empty = empty;
  }

  show(text, kind = 'info') {
    const at = new Date();
    const li = document.createElement('li');
    li.className = kind;
    const time = document.createElement('time');
    time.dateTime = at.toISOString();
    time.textContent = at.toLocaleTimeString();
    li.append(time, document.createTextNode(` ${text}`));
    this.history.prepend(li);
    while (this.history.children.length > maxHistory) this.history.lastChild.remove();
    this.empty.hidden = true;

    const toast = document.createElement('div');
    toast.className = `toast ${kind}`;
    toast.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    toast.textContent = text;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'toast-close';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    close.addEventListener('click', () => toast.remove());
    toast.append(close);
    this.toasts.append(toast);
    while (this.toasts.children.length > maxToasts) this.toasts.firstChild.remove();
    setTimeout(() => toast.remove(), toastMs);
  }

  clear() {
    this.history.replaceChildren();
    this.toasts.replaceChildren();
    this.empty.hidden = false;
  }
}
