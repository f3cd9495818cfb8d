// The admin panel: users (search, sort, pages, add, edit, delete, servers, bulk actions),
// groups (create, delete, members, properties) and hub shutdown, all through the REST API.
// Only one page of users is ever fetched (offset/limit with the pagination envelope).
import { ApiError, confirmDialog, h, makeApi, pageConfig, seg, timeEl } from './jhapi.js';

const root = document.getElementById('admin-app');
const cfg = pageConfig(root);
const api = makeApi({ hubPrefix: cfg.hubPrefix, xsrf: cfg.xsrf });
const namedServers = cfg.namedServers === 'true';
const $ = (id) => document.getElementById(id);

const statusEl = $('admin-status');
const errorEl = $('admin-error');
const confirmEl = $('confirm-dialog');

function say(msg) {
  statusEl.textContent = msg;
}
function fail(err) {
  const msg = err instanceof ApiError ? `Error ${err.status}: ${err.message}` : String(err && err.message ? err.message : err);
  errorEl.textContent = msg;
  errorEl.hidden = false;
}
function clearError() {
  errorEl.hidden = true;
  errorEl.textContent = '';
}

// ---- URL state -------------------------------------------------------------------------
const params = new URLSearchParams(window.location.search);
const SORTS = ['id', '-id', 'name', '-name', 'last_activity', '-last_activity'];
const users = {
  offset: Math.max(0, parseInt(params.get('offset') || '0', 10) || 0),
  limit: [10, 25, 50, 100, 200].includes(Number(params.get('limit'))) ? Number(params.get('limit')) : [10, 25, 50, 100, 200].includes(Number(cfg.pageSize)) ? Number(cfg.pageSize) : 50,
  q: params.get('q') || '',
  sort: SORTS.includes(params.get('sort')) ? params.get('sort') : 'id',
  state: ['active', 'ready', 'inactive'].includes(params.get('state')) ? params.get('state') : '',
  total: 0,
  items: [],
  selected: new Set(),
  expanded: new Set(),
  serverSort: true,
};
let tab = params.get('tab') === 'groups' ? 'groups' : 'users';

function saveUrl() {
  const p = new URLSearchParams();
  if (tab !== 'users') p.set('tab', tab);
  if (users.q) p.set('q', users.q);
  if (users.sort !== 'id') p.set('sort', users.sort);
  if (users.state) p.set('state', users.state);
  if (users.offset) p.set('offset', String(users.offset));
  if (users.limit !== 50) p.set('limit', String(users.limit));
  const qs = p.toString();
  window.history.replaceState(null, '', window.location.pathname + (qs ? '?' + qs : ''));
}

// ---- permissions of the viewer (to hide what the API would refuse) ----------------------
let myScopes = null;
function holds(base) {
  if (!myScopes) return true;
  return myScopes.some((s) => s === base || s.startsWith(base + '!'));
}
async function loadMe() {
  try {
    const { data } = await api.get('/user');
    myScopes = Array.isArray(data.scopes) ? data.scopes : null;
  } catch {
    myScopes = null;
  }
  $('shutdown-hub').hidden = !holds('shutdown');
  $('add-users-button').hidden = !holds('admin:users');
  $('tab-groups').hidden = !(holds('list:groups') || holds('groups') || holds('admin:groups'));
}

// ---- users -----------------------------------------------------------------------------
function userPath(name) {
  return `/users/${seg(name)}`;
}
function serverPath(name, server) {
  return server ? `/users/${seg(name)}/servers/${seg(server)}` : `/users/${seg(name)}/server`;
}
function serverUrl(user, server, model) {
  if (model && model.url) return model.url;
  return `${cfg.baseUrl}user/${seg(user.name)}/${server ? seg(server) + '/' : ''}`;
}
function defaultServer(user) {
  return (user.servers && user.servers['']) || null;
}
function serverStatus(model, user) {
  const pending = model ? model.pending : user && user.pending;
  if (pending === 'spawn') return 'Starting…';
  if (pending === 'stop') return 'Stopping…';
  if (pending === 'check') return 'Checking…';
  if ((model && model.ready) || (!model && user && user.server)) return 'Running';
  return 'Stopped';
}
function isRunning(model, user) {
  const s = serverStatus(model, user);
  return s !== 'Stopped';
}

let seq = 0;
let inflight = null;
let pollTimer = null;
let pollCount = 0;

async function loadUsers({ keepStatus = false } = {}) {
  const my = ++seq;
  if (inflight) inflight.abort();
  inflight = new AbortController();
  const query = { offset: users.offset, limit: users.limit, name_filter: users.q, state: users.state };
  if (users.sort !== 'id' && users.serverSort) query.sort = users.sort;
  if (namedServers) query.include_stopped_servers = '1';
  saveUrl();
  $('users-table').setAttribute('aria-busy', 'true');
  try {
    const { data } = await api.get('/users', { query, paginated: true, signal: inflight.signal });
    if (my !== seq) return;
    let items = Array.isArray(data) ? data : data.items || [];
    users.total = data && data._pagination ? data._pagination.total : users.offset + items.length;
    if (users.sort !== 'id' && !users.serverSort) items = sortLocally(items, users.sort);
    users.items = items;
    if (users.offset > 0 && items.length === 0 && users.total > 0) {
      users.offset = Math.max(0, Math.floor((users.total - 1) / users.limit) * users.limit);
      return loadUsers({ keepStatus });
    }
    if (!keepStatus) clearError();
    renderUsers();
    schedulePoll();
  } catch (e) {
    if (e && e.name === 'AbortError') return;
    if (e instanceof ApiError && e.status === 400 && /sort/i.test(e.message) && users.serverSort) {
      // An API without `sort` (JupyterHub < 5.0): sort the current page only.
      users.serverSort = false;
      return loadUsers({ keepStatus });
    }
    if (my === seq) fail(e);
  } finally {
    if (my === seq) $('users-table').removeAttribute('aria-busy');
  }
}

function sortLocally(items, sort) {
  const desc = sort.startsWith('-');
  const key = desc ? sort.slice(1) : sort;
  const val = (u) => (key === 'name' ? u.name : key === 'last_activity' ? u.last_activity || '' : 0);
  const out = [...items].sort((a, b) => (val(a) < val(b) ? -1 : val(a) > val(b) ? 1 : 0));
  return desc ? out.reverse() : out;
}

function schedulePoll() {
  clearTimeout(pollTimer);
  const pending = users.items.some((u) => u.pending || Object.values(u.servers || {}).some((s) => s.pending));
  if (!pending) {
    pollCount = 0;
    return;
  }
  if (++pollCount > 120) return;
  pollTimer = setTimeout(() => loadUsers({ keepStatus: true }), 1000);
}

function renderUsers() {
  const body = $('users-body');
  const rows = [];
  if (!users.items.length) {
    rows.push(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, users.q ? `No users match “${users.q}”.` : 'No users.')));
  }
  for (const user of users.items) {
    rows.push(userRow(user));
    if (users.expanded.has(user.name)) rows.push(detailsRow(user));
  }
  body.replaceChildren(...rows);
  const first = users.total ? users.offset + 1 : 0;
  const last = users.offset + users.items.length;
  $('users-page-info').textContent = `${first}–${last} of ${users.total} users`;
  $('users-prev').disabled = users.offset <= 0;
  $('users-next').disabled = users.offset + users.limit >= users.total;
  $('users-page-size').value = String(users.limit);
  $('user-search').value = users.q;
  $('state-filter').value = users.state;
  $('sort-select').value = users.sort;
  for (const th of document.querySelectorAll('#users-table th[data-sort-key]')) {
    const k = th.dataset.sortKey;
    th.setAttribute('aria-sort', users.sort === k ? 'ascending' : users.sort === '-' + k ? 'descending' : 'none');
  }
  updateSelection();
}

function userRow(user) {
  const srv = defaultServer(user);
  const running = isRunning(srv, user);
  const expanded = users.expanded.has(user.name);
  const named = Object.keys(user.servers || {}).filter((n) => n !== '');
  const detailsId = `details-${rowId(user.name)}`;
  const check = h('input', {
    type: 'checkbox',
    class: 'select-user',
    'aria-label': `Select ${user.name}`,
    onchange: (e) => {
      if (e.target.checked) users.selected.add(user.name);
      else users.selected.delete(user.name);
      updateSelection();
    },
  });
  check.checked = users.selected.has(user.name);
  const actions = h('div', { class: 'row-actions' });
  if (running) {
    actions.append(h('button', { type: 'button', class: 'stop-server', onclick: () => stopServer(user.name, '') }, 'Stop server'));
  } else {
    actions.append(h('button', { type: 'button', class: 'start-server', onclick: () => startServer(user.name, '') }, 'Start server'));
  }
  if (srv && srv.ready) actions.append(h('a', { class: 'btn access-server', href: serverUrl(user, '', srv) }, 'Access server'));
  actions.append(h('button', { type: 'button', class: 'edit-user', onclick: () => openEditUser(user) }, 'Edit user'));
  actions.append(
    h(
      'button',
      {
        type: 'button',
        class: 'toggle-details',
        'aria-expanded': expanded ? 'true' : 'false',
        'aria-controls': detailsId,
        onclick: () => {
          if (users.expanded.has(user.name)) users.expanded.delete(user.name);
          else users.expanded.add(user.name);
          renderUsers();
          const again = document.querySelector(`tr[data-user-row="${CSS.escape(user.name)}"] .toggle-details`);
          if (again) again.focus();
        },
      },
      expanded ? 'Hide details' : 'Details',
    ),
  );
  return h(
    'tr',
    { dataset: { userRow: user.name } },
    h('td', { class: 'col-select' }, check),
    h('th', { scope: 'row', class: 'user-name' }, h('span', { class: 'name' }, user.name), named.length ? h('span', { class: 'muted small' }, ` (+${named.length} named)`) : null),
    h('td', { 'data-label': 'Admin' }, user.admin ? h('span', { class: 'badge' }, 'admin') : h('span', { class: 'muted' }, 'no')),
    h('td', { 'data-label': 'Last activity' }, timeEl(user.last_activity)),
    h('td', { class: 'server-status', 'data-label': 'Server' }, serverStatus(srv, user)),
    h('td', {}, actions),
  );
}

function rowId(name) {
  let out = '';
  for (const c of name) out += /[A-Za-z0-9_-]/.test(c) ? c : '_' + c.codePointAt(0).toString(16);
  return out;
}

function jsonBlock(label, value) {
  return [h('dt', {}, label), h('dd', {}, h('pre', { class: 'json' }, JSON.stringify(value, null, 2)))];
}

function serverBlock(user, name, model) {
  const running = isRunning(model, user);
  const title = name ? `Server “${name}”` : 'Default server';
  const dl = h(
    'dl',
    { class: 'server-info' },
    h('dt', {}, 'Status'),
    h('dd', { class: 'server-status' }, serverStatus(model, name ? null : user)),
    h('dt', {}, 'Last activity'),
    h('dd', {}, timeEl(model && model.last_activity)),
    h('dt', {}, 'Started'),
    h('dd', {}, timeEl(model && model.started, '—')),
  );
  if (model && model.url) dl.append(h('dt', {}, 'URL'), h('dd', {}, h('code', {}, model.url)));
  if (model && model.user_options && Object.keys(model.user_options).length) dl.append(...jsonBlock('User options', model.user_options));
  if (model && model.state !== undefined) dl.append(...jsonBlock('Spawner state', model.state));
  const actions = h('div', { class: 'row-actions' });
  if (running) actions.append(h('button', { type: 'button', class: 'stop-server', onclick: () => stopServer(user.name, name) }, name ? `Stop ${name}` : 'Stop server'));
  else actions.append(h('button', { type: 'button', class: 'start-server', onclick: () => startServer(user.name, name) }, name ? `Start ${name}` : 'Start server'));
  if (model && model.ready) actions.append(h('a', { class: 'btn access-server', href: serverUrl(user, name, model) }, name ? `Access ${name}` : 'Access server'));
  if (name && !running) actions.append(h('button', { type: 'button', class: 'btn-danger remove-server', onclick: () => removeServer(user.name, name) }, `Delete ${name}`));
  return h('section', { class: 'server-card', dataset: { server: name } }, h('h4', {}, title), dl, actions);
}

function detailsRow(user) {
  const cell = h('td', { colspan: 6 });
  const info = h(
    'dl',
    { class: 'user-info' },
    h('dt', {}, 'Created'),
    h('dd', {}, timeEl(user.created, '—')),
    h('dt', {}, 'Groups'),
    h('dd', {}, (user.groups || []).length ? user.groups.join(', ') : '—'),
    h('dt', {}, 'Roles'),
    h('dd', {}, (user.roles || []).length ? user.roles.join(', ') : '—'),
  );
  cell.append(h('h3', { class: 'visually-hidden' }, `Details of ${user.name}`), info);
  const servers = user.servers || {};
  cell.append(serverBlock(user, '', servers[''] || null));
  for (const name of Object.keys(servers).sort()) if (name !== '') cell.append(serverBlock(user, name, servers[name]));
  if (namedServers) {
    const inputId = `new-server-${rowId(user.name)}`;
    const input = h('input', { id: inputId, type: 'text', required: true, autocomplete: 'off', pattern: '[^/]+' });
    cell.append(
      h(
        'form',
        {
          class: 'toolbar new-server',
          onsubmit: (e) => {
            e.preventDefault();
            const n = input.value.trim();
            if (n) startServer(user.name, n);
          },
        },
        h('div', { class: 'field' }, h('label', { for: inputId }, `New named server for ${user.name}`), input),
        h('button', { type: 'submit' }, 'Start named server'),
      ),
    );
  }
  return h('tr', { class: 'details', id: `details-${rowId(user.name)}`, dataset: { detailsFor: user.name } }, cell);
}

function label(name, server) {
  return server ? `${name}/${server}` : name;
}

async function startServer(name, server) {
  clearError();
  say(`Starting ${label(name, server)}…`);
  try {
    const r = await api.post(serverPath(name, server));
    say(r.status === 202 ? `Server ${label(name, server)} is starting.` : `Server ${label(name, server)} started.`);
  } catch (e) {
    fail(e);
  }
  pollCount = 0;
  await loadUsers({ keepStatus: true });
}

async function stopServer(name, server) {
  clearError();
  say(`Stopping ${label(name, server)}…`);
  try {
    const r = await api.del(serverPath(name, server));
    say(r.status === 202 ? `Server ${label(name, server)} is stopping.` : `Server ${label(name, server)} stopped.`);
  } catch (e) {
    fail(e);
  }
  pollCount = 0;
  await loadUsers({ keepStatus: true });
}

async function removeServer(name, server) {
  if (!(await confirmDialog(confirmEl, `Delete the server “${server}” of ${name}? Its stored state is removed.`, 'Delete server'))) return;
  clearError();
  try {
    await api.del(serverPath(name, server), { remove: true });
    say(`Server ${label(name, server)} deleted.`);
  } catch (e) {
    fail(e);
  }
  await loadUsers({ keepStatus: true });
}

// bulk actions on the selected users (default servers)
function updateSelection() {
  const n = users.selected.size;
  $('selection-count').textContent = n ? `${n} selected` : '';
  $('start-selected').disabled = n === 0;
  $('stop-selected').disabled = n === 0;
  const boxes = [...document.querySelectorAll('#users-body .select-user')];
  const all = $('select-page');
  all.checked = boxes.length > 0 && boxes.every((b) => b.checked);
  all.indeterminate = !all.checked && boxes.some((b) => b.checked);
}

async function bulk(action) {
  const names = [...users.selected];
  if (!names.length) return;
  clearError();
  say(`${action === 'start' ? 'Starting' : 'Stopping'} ${names.length} servers…`);
  const failures = [];
  let i = 0;
  async function worker() {
    while (i < names.length) {
      const name = names[i++];
      try {
        if (action === 'start') await api.post(serverPath(name, ''));
        else await api.del(serverPath(name, ''));
      } catch (e) {
        // "already running" / "not running" are fine for a bulk action
        if (!(e instanceof ApiError && e.status === 400 && /already running|is pending/.test(e.message))) failures.push(`${name}: ${e.message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(5, names.length) }, worker));
  const done = names.length - failures.length;
  say(`${action === 'start' ? 'Started' : 'Stopped'} ${done} of ${names.length} servers.`);
  if (failures.length) fail(new Error(`Failed: ${failures.join('; ')}`));
  users.selected.clear();
  pollCount = 0;
  await loadUsers({ keepStatus: true });
}

// add users
const addDialog = $('add-users-dialog');
function closeOnButton(dialog) {
  for (const b of dialog.querySelectorAll('[data-close]')) b.addEventListener('click', () => dialog.close('cancel'));
}
closeOnButton(addDialog);
$('add-users-button').addEventListener('click', () => {
  $('add-users-names').value = '';
  $('add-users-admin').checked = false;
  $('add-users-error').hidden = true;
  addDialog.showModal();
  $('add-users-names').focus();
});
$('add-users-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const names = $('add-users-names')
    .value.split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  const err = $('add-users-error');
  if (!names.length) {
    err.textContent = 'Enter at least one user name.';
    err.hidden = false;
    return;
  }
  try {
    const { data } = await api.post('/users', { usernames: [...new Set(names)], admin: $('add-users-admin').checked });
    addDialog.close('add');
    const created = Array.isArray(data) ? data.map((u) => u.name) : [];
    say(`Added ${created.length} user${created.length === 1 ? '' : 's'}${created.length && created.length <= 10 ? ': ' + created.join(', ') : ''}.`);
    clearError();
    await loadUsers({ keepStatus: true });
  } catch (ex) {
    err.textContent = ex.message;
    err.hidden = false;
  }
});

// edit / delete a user
const editDialog = $('edit-user-dialog');
closeOnButton(editDialog);
let editing = null;
function openEditUser(user) {
  editing = user;
  $('edit-user-title').textContent = `Edit user ${user.name}`;
  $('edit-user-name').value = user.name;
  $('edit-user-admin').checked = !!user.admin;
  $('edit-user-error').hidden = true;
  $('delete-user').hidden = user.name === cfg.user || !holds('delete:users');
  editDialog.showModal();
  $('edit-user-name').focus();
}
$('edit-user-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!editing) return;
  const body = {};
  const newName = $('edit-user-name').value.trim();
  if (newName && newName !== editing.name) body.name = newName;
  if ($('edit-user-admin').checked !== !!editing.admin) body.admin = $('edit-user-admin').checked;
  if (!Object.keys(body).length) {
    editDialog.close('save');
    return;
  }
  try {
    await api.patch(userPath(editing.name), body);
    editDialog.close('save');
    if (body.name && users.selected.delete(editing.name)) users.selected.add(body.name);
    say(`Updated user ${body.name || editing.name}.`);
    clearError();
    await loadUsers({ keepStatus: true });
  } catch (ex) {
    const err = $('edit-user-error');
    err.textContent = ex.message;
    err.hidden = false;
  }
});
$('delete-user').addEventListener('click', async () => {
  if (!editing) return;
  const name = editing.name;
  editDialog.close('cancel');
  if (!(await confirmDialog(confirmEl, `Delete user ${name}? Their servers are stopped and their records removed.`, 'Delete user'))) return;
  try {
    await api.del(userPath(name));
    users.selected.delete(name);
    users.expanded.delete(name);
    say(`Deleted user ${name}.`);
    clearError();
  } catch (ex) {
    fail(ex);
  }
  await loadUsers({ keepStatus: true });
});

// search, filters, sorting, pages
let searchTimer = null;
$('user-search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    const q = $('user-search').value.trim();
    if (q === users.q) return;
    users.q = q;
    users.offset = 0;
    loadUsers();
  }, 250);
});
$('user-search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(searchTimer);
  users.q = $('user-search').value.trim();
  users.offset = 0;
  loadUsers();
});
$('state-filter').addEventListener('change', () => {
  users.state = $('state-filter').value;
  users.offset = 0;
  loadUsers();
});
$('sort-select').addEventListener('change', () => {
  users.sort = $('sort-select').value;
  users.offset = 0;
  loadUsers();
});
for (const b of document.querySelectorAll('#users-table .sort-button')) {
  b.addEventListener('click', () => {
    const k = b.dataset.sort;
    // name: A–Z first; last_activity: most recent first
    const first = k === 'last_activity' ? '-' + k : k;
    const second = k === 'last_activity' ? k : '-' + k;
    users.sort = users.sort === first ? second : first;
    users.offset = 0;
    loadUsers();
  });
}
$('users-prev').addEventListener('click', () => {
  users.offset = Math.max(0, users.offset - users.limit);
  loadUsers();
});
$('users-next').addEventListener('click', () => {
  if (users.offset + users.limit < users.total) users.offset += users.limit;
  loadUsers();
});
$('users-page-size').addEventListener('change', () => {
  users.limit = Number($('users-page-size').value);
  users.offset = 0;
  loadUsers();
});
$('select-page').addEventListener('change', (e) => {
  for (const u of users.items) {
    if (e.target.checked) users.selected.add(u.name);
    else users.selected.delete(u.name);
  }
  for (const b of document.querySelectorAll('#users-body .select-user')) b.checked = e.target.checked;
  updateSelection();
});
$('start-selected').addEventListener('click', () => bulk('start'));
$('stop-selected').addEventListener('click', () => bulk('stop'));

$('shutdown-hub').addEventListener('click', async () => {
  if (!(await confirmDialog(confirmEl, 'Shut down the hub? Users cannot log in or start servers until it is started again.', 'Shut down'))) return;
  try {
    await api.post('/shutdown');
    say('The hub is shutting down.');
    for (const b of root.querySelectorAll('button')) b.disabled = true;
  } catch (e) {
    fail(e);
  }
});

// ---- groups ----------------------------------------------------------------------------
const groups = { offset: 0, limit: 50, total: 0, items: [], current: null };

async function loadGroups() {
  try {
    const { data } = await api.get('/groups', { query: { offset: groups.offset, limit: groups.limit }, paginated: true });
    groups.items = Array.isArray(data) ? data : data.items || [];
    groups.total = data && data._pagination ? data._pagination.total : groups.items.length;
    renderGroups();
  } catch (e) {
    fail(e);
  }
}

function renderGroups() {
  const rows = groups.items.map((g) =>
    h(
      'tr',
      { dataset: { groupRow: g.name } },
      h('th', { scope: 'row', class: 'group-name' }, g.name),
      h('td', {}, String((g.users || []).length)),
      h('td', {}, h('button', { type: 'button', class: 'edit-group', onclick: () => openGroup(g.name) }, `Edit group`)),
    ),
  );
  if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: 3, class: 'empty' }, 'No groups.')));
  $('groups-body').replaceChildren(...rows);
  const first = groups.total ? groups.offset + 1 : 0;
  $('groups-page-info').textContent = `${first}–${groups.offset + groups.items.length} of ${groups.total} groups`;
  $('groups-prev').disabled = groups.offset <= 0;
  $('groups-next').disabled = groups.offset + groups.limit >= groups.total;
}

async function openGroup(name) {
  clearError();
  try {
    const { data } = await api.get(`/groups/${seg(name)}`);
    groups.current = data;
    renderGroupEditor();
    $('group-editor').hidden = false;
    $('group-editor-title').focus();
  } catch (e) {
    fail(e);
  }
}

function renderGroupEditor() {
  const g = groups.current;
  $('group-editor-title').textContent = `Group ${g.name}`;
  $('group-editor-title').setAttribute('tabindex', '-1');
  const members = (g.users || []).map((u) =>
    h('li', {}, h('span', {}, u), ' ', h('button', { type: 'button', class: 'remove-member', 'aria-label': `Remove ${u} from ${g.name}`, onclick: () => removeMember(u) }, 'Remove')),
  );
  if (!members.length) members.push(h('li', { class: 'muted' }, 'No members.'));
  $('group-members').replaceChildren(...members);
  $('group-properties').value = JSON.stringify(g.properties || {}, null, 2);
}

async function removeMember(u) {
  const g = groups.current;
  try {
    const { data } = await api.del(`/groups/${seg(g.name)}/users`, { users: [u] });
    groups.current = data;
    renderGroupEditor();
    say(`Removed ${u} from ${g.name}.`);
    loadGroups();
  } catch (e) {
    fail(e);
  }
}

$('add-member-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const g = groups.current;
  const names = $('add-member-name')
    .value.split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (!g || !names.length) return;
  clearError();
  try {
    const { data } = await api.post(`/groups/${seg(g.name)}/users`, { users: names });
    groups.current = data;
    $('add-member-name').value = '';
    renderGroupEditor();
    say(`Added ${names.join(', ')} to ${g.name}.`);
    loadGroups();
  } catch (ex) {
    fail(ex);
  }
});

$('group-properties-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const g = groups.current;
  let props;
  try {
    props = JSON.parse($('group-properties').value || '{}');
    if (!props || typeof props !== 'object' || Array.isArray(props)) throw new Error('Properties must be a JSON object');
  } catch (ex) {
    fail(new Error(`Invalid properties: ${ex.message}`));
    $('group-properties').setAttribute('aria-invalid', 'true');
    return;
  }
  $('group-properties').removeAttribute('aria-invalid');
  clearError();
  try {
    const { data } = await api.put(`/groups/${seg(g.name)}/properties`, props);
    groups.current = data;
    renderGroupEditor();
    say(`Saved properties of ${g.name}.`);
  } catch (ex) {
    fail(ex);
  }
});

$('delete-group').addEventListener('click', async () => {
  const g = groups.current;
  if (!g) return;
  if (!(await confirmDialog(confirmEl, `Delete group ${g.name}? Members keep their accounts.`, 'Delete group'))) return;
  try {
    await api.del(`/groups/${seg(g.name)}`);
    say(`Deleted group ${g.name}.`);
    groups.current = null;
    $('group-editor').hidden = true;
    clearError();
    await loadGroups();
  } catch (ex) {
    fail(ex);
  }
});
$('close-group-editor').addEventListener('click', () => {
  $('group-editor').hidden = true;
  groups.current = null;
});

$('create-group-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('new-group-name').value.trim();
  if (!name) return;
  clearError();
  try {
    await api.post(`/groups/${seg(name)}`);
    $('new-group-name').value = '';
    say(`Created group ${name}.`);
    await loadGroups();
    await openGroup(name);
  } catch (ex) {
    fail(ex);
  }
});
$('groups-prev').addEventListener('click', () => {
  groups.offset = Math.max(0, groups.offset - groups.limit);
  loadGroups();
});
$('groups-next').addEventListener('click', () => {
  groups.offset += groups.limit;
  loadGroups();
});

// ---- tabs (WAI-ARIA tab pattern) -----------------------------------------------------------
const tabs = [$('tab-users'), $('tab-groups')];
function selectTab(name, focus = false) {
  tab = name;
  for (const t of tabs) {
    const on = t.id === `tab-${name}`;
    t.setAttribute('aria-selected', on ? 'true' : 'false');
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
    if (on && focus) t.focus();
  }
  saveUrl();
  if (name === 'groups') loadGroups();
}
for (const t of tabs) {
  t.addEventListener('click', () => selectTab(t.id.slice(4)));
  t.addEventListener('keydown', (e) => {
    const visible = tabs.filter((x) => !x.hidden);
    const i = visible.indexOf(t);
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      const next = visible[(i + (e.key === 'ArrowRight' ? 1 : visible.length - 1)) % visible.length];
      selectTab(next.id.slice(4), true);
    }
  });
}

// ---- start -------------------------------------------------------------------------------
await loadMe();
selectTab(tab);
await loadUsers();
root.dataset.ready = 'true';
