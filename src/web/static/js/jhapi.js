// Small helpers shared by the hub's pages: REST API calls authenticated by the login
// cookie plus the X-XSRFToken header (rest-api.md §1.2), DOM building without innerHTML,
// and date formatting. Everything user-controlled goes through textContent/attributes.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const PAGINATION_MEDIA = 'application/jupyterhub-pagination+json';

/** Configuration of the page from data-* attributes of the app root element. */
export function pageConfig(root) {
  return { ...root.dataset };
}

/** A client for {hub}api: `api.get('/users', {query, paginated})`, `api.post(...)`, ... */
export function makeApi({ hubPrefix, xsrf }) {
  const base = `${hubPrefix}api`;
  async function request(method, path, { body, query, paginated = false, signal } = {}) {
    const url = new URL(base + path, window.location.origin);
    if (query) for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    const headers = { 'X-XSRFToken': xsrf, Accept: paginated ? `${PAGINATION_MEDIA}, application/json` : 'application/json' };
    const init = { method, headers, credentials: 'same-origin', signal };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const r = await fetch(url, init);
    const text = await r.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!r.ok) {
      const message = data && typeof data === 'object' && data.message ? data.message : `${r.status} ${r.statusText}`;
      throw new ApiError(r.status, message);
    }
    return { status: r.status, data };
  }
  return {
    get: (p, o) => request('GET', p, o),
    post: (p, body, o = {}) => request('POST', p, { ...o, body }),
    patch: (p, body, o = {}) => request('PATCH', p, { ...o, body }),
    put: (p, body, o = {}) => request('PUT', p, { ...o, body }),
    del: (p, body, o = {}) => request('DELETE', p, { ...o, body }),
  };
}

/** Path segment escaping as the hub does (unreserved + @ and ~). */
export function seg(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%40/g, '@');
}

/** Create an element: h('td', {class: 'x', onclick: fn}, 'text', child, ...). Strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const rtf = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat('en', { numeric: 'auto' }) : null;
/** "3 minutes ago" (with the exact time as title), or "Never". */
export function timeEl(iso, never = 'Never') {
  if (!iso) return h('span', { class: 'muted' }, never);
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return h('span', {}, String(iso));
  const diff = (t - Date.now()) / 1000;
  const units = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1]];
  let text = new Date(t).toLocaleString();
  if (rtf) {
    for (const [u, s] of units) {
      if (Math.abs(diff) >= s || u === 'second') {
        text = Math.abs(diff) < 10 ? 'just now' : rtf.format(Math.round(diff / s), u);
        break;
      }
    }
  }
  return h('time', { datetime: iso, title: new Date(t).toISOString() }, text);
}

/** Show a modal <dialog> asking for confirmation; resolves true when confirmed. */
export function confirmDialog(dialog, message, okLabel = 'Confirm') {
  return new Promise((resolve) => {
    dialog.querySelector('#confirm-message').textContent = message;
    dialog.querySelector('#confirm-ok').textContent = okLabel;
    dialog.returnValue = '';
    const done = () => {
      dialog.removeEventListener('close', done);
      resolve(dialog.returnValue === 'ok');
    };
    dialog.addEventListener('close', done);
    dialog.showModal();
  });
}
