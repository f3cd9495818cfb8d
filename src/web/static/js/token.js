// The token page: request a token (note, expiry, scopes), list API tokens and OAuth-authorized
// applications, revoke them; all through {hub}api/users/<me>/tokens.
import { ApiError, h, makeApi, pageConfig, seg, timeEl } from './jhapi.js';

const root = document.getElementById('token-app');
const cfg = pageConfig(root);
const api = makeApi({ hubPrefix: cfg.hubPrefix, xsrf: cfg.xsrf });
const $ = (id) => document.getElementById(id);
const tokensPath = `/users/${seg(cfg.user)}/tokens`;

function showError(e) {
  const el = $('token-error');
  el.textContent = e instanceof ApiError ? `Error ${e.status}: ${e.message}` : String(e.message || e);
  el.hidden = false;
}

function scopesCell(scopes) {
  const list = (scopes || []).slice().sort();
  if (!list.length) return h('td', { class: 'muted' }, 'identify only');
  const shown = list.slice(0, 6);
  const cell = h('td', { class: 'scopes' }, h('ul', { class: 'scope-list compact' }, shown.map((s) => h('li', {}, h('code', {}, s)))));
  if (list.length > shown.length) {
    const more = h('details', {}, h('summary', {}, `${list.length - shown.length} more`), h('ul', { class: 'scope-list compact' }, list.slice(shown.length).map((s) => h('li', {}, h('code', {}, s)))));
    cell.append(more);
  }
  return cell;
}

async function revoke(id, what) {
  try {
    await api.del(`${tokensPath}/${seg(id)}`);
    $('token-status').textContent = `Revoked ${what}.`;
  } catch (e) {
    showError(e);
  }
  await load();
}

async function load() {
  let tokens = [];
  try {
    const { data } = await api.get(tokensPath);
    tokens = (data && data.api_tokens) || [];
  } catch (e) {
    showError(e);
    return;
  }
  const apiTokens = tokens.filter((t) => !t.oauth_client || t.oauth_client === 'JupyterHub');
  const oauth = new Map();
  for (const t of tokens) {
    if (!t.oauth_client || t.oauth_client === 'JupyterHub') continue;
    const c = oauth.get(t.oauth_client) || { client: t.oauth_client, tokens: [], created: t.created, last_activity: t.last_activity, scopes: new Set() };
    c.tokens.push(t);
    if (t.created && (!c.created || t.created < c.created)) c.created = t.created;
    if (t.last_activity && (!c.last_activity || t.last_activity > c.last_activity)) c.last_activity = t.last_activity;
    for (const s of t.scopes || []) c.scopes.add(s);
    oauth.set(t.oauth_client, c);
  }
  const rows = apiTokens
    .slice()
    .reverse()
    .map((t) =>
      h(
        'tr',
        { dataset: { tokenId: t.id } },
        h('th', { scope: 'row', class: 'token-note' }, t.note || h('span', { class: 'muted' }, '(no note)')),
        scopesCell(t.scopes),
        h('td', {}, timeEl(t.last_activity)),
        h('td', {}, timeEl(t.created, '—')),
        h('td', {}, timeEl(t.expires_at, 'Never')),
        h('td', {}, h('button', { type: 'button', class: 'btn-danger revoke-token', 'aria-label': `Revoke token ${t.note || t.id}`, onclick: () => revoke(t.id, `token ${t.note || t.id}`) }, 'Revoke')),
      ),
    );
  if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No API tokens.')));
  $('api-tokens').replaceChildren(...rows);

  const crow = [...oauth.values()]
    .sort((a, b) => String(b.last_activity || b.created).localeCompare(String(a.last_activity || a.created)))
    .map((c) =>
      h(
        'tr',
        { dataset: { oauthClient: c.client } },
        h('th', { scope: 'row', class: 'client-name' }, c.client, c.tokens.length > 1 ? h('span', { class: 'muted small' }, ` (${c.tokens.length} tokens)`) : null),
        scopesCell([...c.scopes]),
        h('td', {}, timeEl(c.last_activity)),
        h('td', {}, timeEl(c.created, '—')),
        h('td', {}, h('button', { type: 'button', class: 'btn-danger revoke-token', 'aria-label': `Revoke access of ${c.client}`, onclick: () => revoke(c.tokens[0].id, `access of ${c.client}`) }, 'Revoke')),
      ),
    );
  if (!crow.length) crow.push(h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No authorized applications.')));
  $('oauth-clients').replaceChildren(...crow);
}

$('request-token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('token-error').hidden = true;
  const body = { note: $('token-note').value.trim() || undefined };
  const exp = $('token-expiration-seconds').value;
  body.expires_in = exp ? Number(exp) : null;
  const scopes = $('token-scopes')
    .value.split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length) body.scopes = scopes;
  try {
    const { data } = await api.post(tokensPath, body);
    $('token-result').textContent = data.token;
    $('token-area').hidden = false;
    $('token-note').value = '';
    $('token-scopes').value = '';
    $('copy-token').focus();
  } catch (ex) {
    showError(ex);
  }
  await load();
});

$('copy-token').addEventListener('click', async () => {
  const text = $('token-result').textContent;
  try {
    await navigator.clipboard.writeText(text);
    $('token-status').textContent = 'Token copied to the clipboard.';
  } catch {
    const range = document.createRange();
    range.selectNodeContents($('token-result'));
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    $('token-status').textContent = 'Token selected: press Ctrl+C to copy it.';
  }
});

await load();
root.dataset.ready = 'true';
