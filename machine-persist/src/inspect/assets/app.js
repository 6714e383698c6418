// The machine inspector's pages. Every value that comes from the store is set with
// `textContent` (never as markup), so a payload holding "<script>" shows as those characters.
'use strict';

const $ = (selector) => document.querySelector(selector);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function url(path, params) {
  const target = new URL(path, document.baseURI);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') target.searchParams.set(key, value);
  }
  return target;
}

async function api(path, params, options) {
  const response = await fetch(url(path, params), options);
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function showError(error) {
  const box = $('#error');
  if (!error) {
    box.hidden = true;
    return;
  }
  box.textContent = String(error.message || error);
  box.hidden = false;
}

function when(text) {
  return text ? String(text).replace('T', ' ').replace(/(\.\d{3})\d*/, '$1').replace('Z', ' UTC') : '';
}

function pretty(value) {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

function compact(value) {
  return value === undefined ? '—' : JSON.stringify(value);
}

function debounce(action, millis) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(action, millis);
  };
}

function follow(params, onChange) {
  const status = $('#live-status');
  const source = new EventSource(url('api/live', params));
  source.addEventListener('ready', () => {
    status.textContent = 'live';
    status.className = 'live on';
  });
  source.addEventListener('change', (message) => onChange(JSON.parse(message.data)));
  source.addEventListener('failure', (message) => {
    status.textContent = 'live: ' + message.data;
    status.className = 'live off';
  });
  source.onerror = () => {
    status.textContent = 'reconnecting…';
    status.className = 'live off';
  };
  return source;
}

// ---- the actor list -------------------------------------------------------------------------

async function listPage() {
  const typeSelect = $('#type');
  const stateSelect = $('#state');
  const { types } = await api('api/types');
  for (const type of types) typeSelect.append(new Option(type.name, type.name));

  function fillStates() {
    stateSelect.replaceChildren(new Option('any', ''));
    const chosen = types.filter((type) => !typeSelect.value || type.name === typeSelect.value);
    const names = [...new Set(chosen.flatMap((type) => type.states.map((state) => state.name)))];
    for (const name of names) stateSelect.append(new Option(name, name));
  }
  fillStates();

  const ago = (seconds) => (seconds ? new Date(Date.now() - Number(seconds) * 1000).toISOString() : '');

  async function refresh() {
    try {
      const data = await api('api/actors', {
        type: typeSelect.value,
        state: stateSelect.value,
        q: $('#search').value.trim(),
        active_after: ago($('#active').value),
        active_before: ago($('#idle').value),
        limit: 200,
      });
      const rows = data.actors.map((actor) => {
        const row = element('tr');
        row.dataset.actor = actor.actor_id;
        const link = element('a', actor.actor_id, 'actor-link');
        link.href = 'actor?' + new URLSearchParams({ type: actor.machine_type, id: actor.actor_id });
        const first = element('td');
        first.append(link);
        const state = element('td');
        state.append(element('span', actor.state_tag, 'tag'));
        row.append(
          first,
          element('td', actor.machine_type),
          state,
          element('td', actor.version, 'num'),
          element('td', when(actor.last_activity)),
        );
        return row;
      });
      $('#actors tbody').replaceChildren(...rows);
      const unreadable = data.unreadable.length ? `, ${data.unreadable.length} unreadable` : '';
      const more = data.truncated ? ' (more match: narrow the search)' : '';
      $('#summary').textContent = `${data.actors.length} actors${unreadable}${more}`;
      showError(null);
    } catch (error) {
      showError(error);
    }
  }

  const later = debounce(refresh, 200);
  $('#search').addEventListener('input', later);
  typeSelect.addEventListener('change', () => {
    fillStates();
    refresh();
  });
  for (const id of ['#state', '#active', '#idle']) $(id).addEventListener('change', refresh);
  await refresh();
  follow({}, debounce(refresh, 300));
}

// ---- one actor ------------------------------------------------------------------------------

async function actorPage() {
  const query = new URLSearchParams(location.search);
  const type = query.get('type') || '';
  const id = query.get('id') || '';
  const slider = $('#slider');
  let head = 0;
  let selected = 0;
  let latest = 0; // the newest step request: older answers are dropped
  let canRewind = false;
  let running = false;

  $('#title').textContent = `${type} · ${id}`;
  document.title = `${id} · machine inspector`;

  const [info, chart] = await Promise.all([api('api/actor', { type, id }), api('api/chart', { type })]);
  const parsed = new DOMParser().parseFromString(chart.svg, 'image/svg+xml');
  $('#chart').replaceChildren(document.importNode(parsed.documentElement, true));
  $('#mermaid').textContent = chart.mermaid;
  canRewind = info.rewind;

  function showMeta(data) {
    const actor = data.actor;
    head = actor.version;
    slider.max = String(head);
    const rows = [
      ['Actor', actor.actor_id],
      ['Machine type', actor.machine_type],
      ['State', actor.state_tag],
      ['Head version', actor.version],
      ['Entered state', when(actor.entered_at)],
      ['Created', when(actor.created_at)],
      ['Last activity', when(actor.last_activity)],
    ];
    $('#meta').replaceChildren(
      ...rows.map(([name, value]) => {
        const pair = element('div');
        pair.append(element('dt', name), element('dd', value));
        return pair;
      }),
    );
    running = Boolean(data.live);
    const live = data.live;
    $('#live-actor').textContent = !live
      ? 'not running in this process'
      : live.rewound
        ? `running, rewound to v${live.version} (head v${live.head})`
        : `running at v${live.version}`;
    $('#rewind-btn').hidden = !(canRewind && running);
    $('#resume-btn').hidden = !(canRewind && running && live.rewound);
    showEffects(data.effects || []);
  }

  // The outbox rows of the actor: its durable actions and the plain effects that failed.
  function showEffects(effects) {
    const rows = effects.map((effect) => {
      const row = element('tr');
      if (effect.error) {
        const cell = element('td', effect.error, 'bad');
        cell.colSpan = 5;
        row.append(cell);
        return row;
      }
      row.className = `status-${effect.status}`;
      row.append(
        element('td', effect.name),
        element('td', `v${effect.version}`),
        element('td', effect.status, 'status'),
        element('td', effect.attempts),
        cause(effect.cause),
      );
      return row;
    });
    $('#effects tbody').replaceChildren(...rows);
    $('#effects-empty').hidden = effects.length > 0;
  }

  function cause(value) {
    const cell = element('td', null, 'cause');
    if (!value) return cell;
    if (value.type_name) cell.append(element('span', value.type_name, 'tag'));
    const chain = element('ol', null, 'chain');
    chain.append(...value.chain.map((message) => element('li', message)));
    cell.append(chain);
    if (value.value !== undefined && value.value !== null) cell.append(element('pre', pretty(value.value)));
    return cell;
  }
  showMeta(info);

  function highlight(step) {
    const svg = $('#chart svg');
    if (!svg) return;
    for (const node of svg.querySelectorAll('.current, .previous, .taken')) {
      node.classList.remove('current', 'previous', 'taken');
    }
    for (const node of svg.querySelectorAll('.node')) {
      if (node.dataset.state === step.state_tag) node.classList.add('current');
      else if (step.event && node.dataset.state === step.previous_tag) node.classList.add('previous');
    }
    if (!step.event) return;
    for (const edge of svg.querySelectorAll('.edge')) {
      const { from, event, to } = edge.dataset;
      if (from === step.previous_tag && event === step.event.tag && to === step.state_tag) {
        edge.classList.add('taken');
      }
    }
  }

  function showStep(step) {
    $('#state-tag').textContent = step.state_tag;
    $('#state').textContent = pretty(step.state);
    if (step.event) {
      $('#event-tag').textContent = step.event.tag;
      $('#event-payload').textContent = pretty(step.event.payload);
      $('#event-time').textContent =
        `v${step.version}, recorded ${when(step.event.recorded_at)}, journal position ${step.event.position}, schema ${step.event.schema_version}`;
      $('#event-meta').textContent = pretty(step.event.metadata);
    } else {
      $('#event-tag').textContent = '';
      $('#event-payload').textContent = '';
      $('#event-time').textContent = 'v0: the state the actor started in, before any event';
      $('#event-meta').textContent = '';
    }
    const rows = step.diff.map((change) => {
      const row = element('tr');
      row.dataset.path = change.path;
      row.append(
        element('td', change.path || '(state)', 'path'),
        element('td', compact(change.before), 'before'),
        element('td', compact(change.after), 'after'),
      );
      return row;
    });
    $('#diff tbody').replaceChildren(...rows);
    $('#diff-empty').hidden = rows.length > 0 || !step.event;
    highlight(step);
    for (const item of document.querySelectorAll('#timeline li')) {
      item.classList.toggle('selected', Number(item.dataset.version) === step.version);
    }
  }

  async function select(version) {
    selected = Math.max(0, Math.min(head, Number(version)));
    slider.value = String(selected);
    $('#version-label').textContent = `v${selected} / ${head}`;
    const request = ++latest;
    const next = new URLSearchParams(location.search);
    next.set('version', String(selected));
    history.replaceState(null, '', '?' + next);
    try {
      const step = await api('api/step', { type, id, version: selected });
      if (request !== latest) return;
      document.body.dataset.version = String(step.version);
      showStep(step);
      showError(null);
    } catch (error) {
      if (request === latest) showError(error);
    }
  }

  function addEntries(events) {
    const list = $('#timeline');
    for (const entry of events) {
      if (list.querySelector(`li[data-version="${Number(entry.version)}"]`)) continue;
      const item = element('li');
      item.dataset.version = String(entry.version);
      const button = element('button', `v${entry.version} ${entry.tag}`);
      button.type = 'button';
      button.title = when(entry.recorded_at);
      button.addEventListener('click', () => select(entry.version));
      item.append(button);
      list.append(item);
    }
  }

  async function loadTimeline() {
    const from = Math.max(1, head - 999);
    const { events } = await api('api/timeline', { type, id, from, to: head });
    const start = element('li');
    start.dataset.version = '0';
    const button = element('button', 'v0 start');
    button.type = 'button';
    button.addEventListener('click', () => select(0));
    start.append(button);
    $('#timeline').replaceChildren(start);
    addEntries(events);
  }

  slider.addEventListener('input', () => select(slider.value));
  $('#prev').addEventListener('click', () => select(selected - 1));
  $('#next').addEventListener('click', () => select(selected + 1));
  document.addEventListener('keydown', (event) => {
    if (event.target === slider) return; // the slider steps itself
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
    const moves = { ArrowLeft: selected - 1, ArrowRight: selected + 1, Home: 0, End: head };
    if (event.key in moves) {
      event.preventDefault();
      select(moves[event.key]);
    }
  });

  $('#verify-btn').addEventListener('click', async () => {
    const box = $('#verify-result');
    box.hidden = false;
    box.className = 'verify';
    box.replaceChildren(element('p', 'replaying the journal…', 'muted'));
    try {
      const report = await api('api/verify', { type, id });
      box.className = report.consistent ? 'verify ok' : 'verify bad';
      const parts = [element('p', report.summary)];
      const first = report.divergences[0];
      if (first) {
        parts.push(element('p', `First divergence at version ${first.version}: ${first.kind}`, 'first'));
        if (first.stored !== null) parts.push(element('h3', 'Stored'), element('pre', pretty(first.stored)));
        if (first.replayed !== null) parts.push(element('h3', 'Replayed now'), element('pre', pretty(first.replayed)));
        const jump = element('button', `Show version ${first.version}`);
        jump.type = 'button';
        jump.addEventListener('click', () => select(first.version));
        parts.push(jump);
      }
      box.replaceChildren(...parts);
    } catch (error) {
      box.className = 'verify bad';
      box.replaceChildren(element('p', String(error.message || error)));
    }
  });

  async function act(path, params) {
    try {
      await api(path, params, { method: 'POST', headers: { 'x-machine-inspector': '1' } });
      showMeta(await api('api/actor', { type, id }));
      showError(null);
    } catch (error) {
      showError(error);
    }
  }
  $('#rewind-btn').addEventListener('click', () => act('api/rewind', { type, id, version: selected }));
  $('#resume-btn').addEventListener('click', () => act('api/resume', { type, id }));

  await loadTimeline();
  const wanted = query.has('version') ? Number(query.get('version')) : head;
  await select(Number.isFinite(wanted) ? wanted : head);

  const refreshMeta = debounce(async () => {
    try {
      const following = selected === head;
      const data = await api('api/actor', { type, id });
      showMeta(data);
      const { events } = await api('api/timeline', { type, id, from: Math.max(1, head - 999), to: head });
      addEntries(events);
      if (following) await select(head);
      else $('#version-label').textContent = `v${selected} / ${head}`;
    } catch (error) {
      showError(error);
    }
  }, 150);
  follow({ type, id }, refreshMeta);
}

const pages = { list: listPage, actor: actorPage };
const page = pages[document.body.dataset.page];
if (page) page().catch(showError);
