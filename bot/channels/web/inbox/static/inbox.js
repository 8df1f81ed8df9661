// The carebot staff inbox: plain JavaScript over the JSON API (/openapi.json), no build step.
// Every text from the server is put into the page as text (textContent), never as HTML.
'use strict';

(function () {
  const state = {
    me: null,
    view: 'all',
    tickets: [],
    selected: null,
    detail: null,
    page: 'inbox',
    source: null,
    pending: new Set(),
    timer: 0,
    shownWarnings: '',
    shownConversation: '',
  };
  const $ = (id) => document.getElementById(id);

  // --- plumbing --------------------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'text') node.textContent = value;
      else if (key === 'className') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      if (state.me && state.me.csrf_token) headers['X-CSRF-Token'] = state.me.csrf_token;
    }
    const request = fetch(path, {
      method,
      headers,
      body: method === 'GET' ? undefined : JSON.stringify(body || {}),
      credentials: 'same-origin',
    });
    state.pending.add(request);
    request.finally(() => state.pending.delete(request)).catch(() => null);
    const response = await request;
    if (response.status === 401) {
      window.location.assign('/login');
      throw new Error('Your session ended; please log in again.');
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `The server answered ${response.status}.`);
    return data;
  }

  function say(text, isError) {
    const status = $('status');
    status.textContent = text;
    status.classList.toggle('error', Boolean(isError));
  }

  function duration(seconds) {
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
    return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  }

  function when(iso) {
    if (!iso) return '–';
    const date = new Date(iso);
    return date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
  }

  // --- the queue -------------------------------------------------------------------------------------------

  function filterQuery() {
    const form = $('filters');
    const params = new URLSearchParams({ view: state.view });
    for (const name of ['status', 'priority', 'channel']) {
      const value = form.elements[name].value;
      if (value) params.set(name, value);
    }
    return params.toString();
  }

  // Requests overlap (an action, a live update, the refresh timer): only the newest answer is shown, so a
  // slow older answer can never paint over a newer one.
  const latest = { list: 0, ticket: 0 };

  async function loadList() {
    const mark = ++latest.list;
    const data = await api('GET', `/api/tickets?${filterQuery()}`);
    if (mark !== latest.list) return;
    state.tickets = data.tickets;
    for (const name of ['mine', 'unassigned', 'all']) $(`count-${name}`).textContent = data.counts[name];
    // The tab's title tells an agent working elsewhere that customers are waiting for someone.
    const waiting = data.counts.unassigned;
    document.title = `${waiting ? `(${waiting}) ` : ''}Inbox · carebot`;
    renderList();
  }

  function renderList() {
    const list = $('tickets');
    const hadFocus = list.contains(document.activeElement);
    list.replaceChildren();
    for (const ticket of state.tickets) {
      const who = ticket.customer.name || `customer #${ticket.customer.id}`;
      const button = el(
        'button',
        {
          type: 'button',
          className: 'ticket-item',
          'data-id': ticket.id,
          'aria-current': ticket.id === state.selected ? 'true' : null,
          onclick: () => openTicket(ticket.id, { focus: false }),
        },
        el('span', { className: 'line' },
          el('strong', { text: `#${ticket.id}` }), ' ',
          el('span', { className: `badge ${ticket.priority}`, text: ticket.priority }), ' ',
          ticket.overdue ? el('span', { className: 'badge overdue', text: 'overdue' }) : null, ' ',
          el('span', { className: 'who', text: who }),
          el('span', { className: 'channel', text: ` · ${ticket.customer.channel}` })),
        el('span', { className: 'line small' },
          `${ticket.status}${ticket.assignee ? ` (${ticket.assignee})` : ''} · waiting ${duration(ticket.waiting_seconds)}`,
          ticket.viewers.length ? ` · open by ${ticket.viewers.join(', ')}` : ''),
        el('span', { className: 'line preview', text: ticket.last_customer_text || ticket.summary }),
      );
      list.append(el('li', {}, button));
    }
    $('empty').hidden = state.tickets.length > 0;
    if (hadFocus) focusSelected();
  }

  function focusSelected() {
    const current = $('tickets').querySelector(`[data-id="${state.selected}"]`);
    if (current) current.focus();
  }

  function move(step) {
    if (!state.tickets.length) return;
    let index = state.tickets.findIndex((t) => t.id === state.selected);
    index = index < 0 ? 0 : Math.min(state.tickets.length - 1, Math.max(0, index + step));
    openTicket(state.tickets[index].id, { focus: false }).then(focusSelected);
  }

  function setView(view) {
    state.view = view;
    for (const button of document.querySelectorAll('[data-view]')) {
      button.setAttribute('aria-pressed', String(button.dataset.view === view));
    }
    loadList().catch((error) => say(error.message, true));
  }

  // --- one ticket -------------------------------------------------------------------------------------------

  async function openTicket(id, options) {
    const mark = ++latest.ticket;
    const data = await api('GET', `/api/tickets/${id}`);
    if (mark !== latest.ticket) return;
    const switching = id !== state.selected;
    state.selected = id;
    state.detail = data;
    if (switching) {
      $('reply').value = '';
      $('note').value = '';
      $('reply-wait').checked = false;
    }
    renderDetail();
    for (const item of $('tickets').querySelectorAll('.ticket-item')) {
      if (Number(item.dataset.id) === id) item.setAttribute('aria-current', 'true');
      else item.removeAttribute('aria-current');
    }
    if (options && options.focus) $('ticket').focus();
  }

  function renderDetail() {
    const { ticket, messages, events, earlier_tickets: earlier, warnings, rating } = state.detail;
    $('ticket-hint').hidden = true;
    $('ticket-body').hidden = false;
    const who = ticket.customer.name || `customer #${ticket.customer.id}`;
    $('ticket-heading').textContent = `#${ticket.id} · ${who}`;
    // Repainted only when they change: the region is role=alert, and a screen reader would read it
    // again on every refresh.
    if (warnings.join('\n') !== state.shownWarnings) {
      state.shownWarnings = warnings.join('\n');
      $('warnings').replaceChildren(...warnings.map((text) => el('p', { className: 'warning', text })));
    }
    $('ticket-meta').replaceChildren(el('span', {},
      el('span', { className: `badge ${ticket.priority}`, text: ticket.priority }), ' ',
      ticket.overdue ? el('span', { className: 'badge overdue', text: 'first response overdue' }) : null, ' ',
      `${ticket.status}${ticket.assignee ? ` with ${ticket.assignee}` : ', nobody assigned'} · reason ${ticket.reason}`,
      ` · waiting ${duration(ticket.waiting_seconds)}`,
      ticket.anger ? ` · anger ${Math.round(ticket.anger)}` : '',
      ticket.anger_reasons.length ? ` (${ticket.anger_reasons.join('; ')})` : '',
      ticket.snoozed_until ? ` · snoozed until ${when(ticket.snoozed_until)}` : '',
      rating ? ` · rated ${rating}/5` : ''));
    const resolved = ticket.status === 'resolved';
    for (const button of document.querySelectorAll('[data-action]')) {
      const action = button.dataset.action;
      button.disabled = action === 'reopen' ? (ticket.status === 'open' && !ticket.assignee) : resolved && action !== 'block';
      if (action === 'block') button.textContent = ticket.customer.blocked ? 'Unblock customer' : 'Block customer';
    }
    // The conversation is repainted (and scrolled to its end) only when it changed, so an agent reading
    // further up is not thrown to the bottom by the regular refresh.
    const conversation = `${ticket.id}:${messages.map((m) => `${m.id}${m.delivered ? '+' : ''}`).join(',')}`;
    const changed = conversation !== state.shownConversation;
    if (changed) {
      state.shownConversation = conversation;
      $('messages').replaceChildren(...messages.map(renderMessage));
    }
    const customer = ticket.customer;
    $('customer').replaceChildren(
      el('dt', { text: 'Name' }), el('dd', { text: customer.name || '–' }),
      el('dt', { text: 'Channel' }), el('dd', { text: customer.channel }),
      el('dt', { text: 'Language' }), el('dd', { text: customer.language || '–' }),
      el('dt', { text: 'Customer' }), el('dd', { text: `#${customer.id}${customer.blocked ? ' (blocked)' : ''}` }),
    );
    $('earlier').replaceChildren(
      ...(earlier.length
        ? earlier.map((t) => el('li', {},
          el('button', { type: 'button', className: 'link', onclick: () => openTicket(t.id, { focus: true }) },
            `#${t.id} ${t.status} · ${t.reason} · ${when(t.created_at)}`)))
        : [el('li', { text: 'none' })]),
    );
    $('events').replaceChildren(
      ...events.map((e) => el('li', {}, el('time', { datetime: e.created_at, text: when(e.created_at) }),
        ` ${e.actor} ${e.kind}`, e.text ? ` (${e.text})` : '')),
    );
    if (changed) $('messages').scrollTop = $('messages').scrollHeight;
  }

  function renderMessage(message) {
    let who = message.author === 'customer' ? 'Customer' : message.author === 'bot' ? 'Bot' : message.agent;
    if (message.private) who = `Note by ${message.agent}`;
    const classes = ['message', message.author, message.private ? 'private' : ''].join(' ');
    const text = message.attachment ? `[${message.attachment}] ${message.text}` : message.text;
    return el('li', { className: classes },
      el('span', { className: 'from' }, el('strong', { text: who }), ' ',
        el('time', { datetime: message.created_at, text: when(message.created_at) }),
        message.delivered === false ? el('span', { className: 'badge', text: 'not delivered yet' }) : null),
      el('p', { className: 'text', text }),
      message.button_pressed ? el('p', { className: 'small', text: `pressed ${message.button_pressed}` }) : null,
      message.buttons.length ? el('p', { className: 'small', text: `buttons: ${message.buttons.join(' | ')}` }) : null,
      message.analysis ? el('p', { className: 'analysis', text: `bot saw: ${message.analysis.summary}` }) : null);
  }

  // --- actions ---------------------------------------------------------------------------------------------

  async function act(action, body) {
    if (!state.selected) return say('Open a ticket first.', true);
    const id = state.selected;
    try {
      const result = await api('POST', `/api/tickets/${id}/${action}`, body);
      say(result.message);
      await loadList();
      if (action === 'resolve-and-next' && result.next_ticket) {
        await openTicket(result.next_ticket, { focus: false });
        focusSelected();
      } else {
        await openTicket(id, { focus: false });
      }
      return result;
    } catch (error) {
      say(error.message, true);
      return null;
    }
  }

  function claim() {
    // Someone else's ticket is taken over only after asking: one agent per ticket.
    const ticket = state.detail && state.detail.ticket;
    const holder = ticket && ticket.assignee && ticket.assignee !== state.me.name && ticket.status !== 'open'
      ? ticket.assignee : null;
    if (holder && !window.confirm(`${holder} holds this ticket. Take it over?`)) return null;
    return act('claim', { force: Boolean(holder) });
  }

  function actionButton(action) {
    if (action === 'claim') return claim();
    if (action === 'snooze') return act('snooze', { minutes: Number($('snooze-minutes').value) });
    if (action === 'block') {
      const blocked = state.detail && state.detail.ticket.customer.blocked;
      if (!blocked && !window.confirm('Block this customer? The bot will ignore them and their open tickets close.')) return null;
      return act('block', { undo: Boolean(blocked) });
    }
    return act(action, {});
  }

  async function sendReply(event) {
    if (event) event.preventDefault();
    const text = $('reply').value.trim();
    if (!text) return say('The reply is empty.', true);
    const result = await act('reply', { text, wait: $('reply-wait').checked });
    if (result) $('reply').value = '';
    return result;
  }

  async function sendNote(event) {
    if (event) event.preventDefault();
    const text = $('note').value.trim();
    if (!text) return say('The note is empty.', true);
    const result = await act('note', { text });
    if (result) $('note').value = '';
    return result;
  }

  // --- live updates ----------------------------------------------------------------------------------------

  function listen() {
    const source = new EventSource('/api/events');
    state.source = source;
    source.addEventListener('hello', () => {
      // The stream starts from now: whatever changed since the first list was loaded comes in this reload.
      $('live').textContent = 'live';
      loadList().catch((error) => say(error.message, true));
    });
    source.addEventListener('change', (event) => {
      $('live').textContent = 'live';
      const data = JSON.parse(event.data);
      if (data.new_tickets.length) {
        say(`New ticket${data.new_tickets.length > 1 ? 's' : ''}: ${data.new_tickets.map((n) => `#${n}`).join(', ')}`);
      } else if (data.customer_messages.length) {
        say(`New customer message on ${data.customer_messages.map((n) => `#${n}`).join(', ')}`);
      }
      loadList().catch((error) => say(error.message, true));
      if (state.selected && data.tickets.includes(state.selected)) {
        openTicket(state.selected, { focus: false }).catch((error) => say(error.message, true));
      }
    });
    source.onerror = () => { $('live').textContent = 'reconnecting…'; };
  }

  // --- statistics ------------------------------------------------------------------------------------------

  const SVG = 'http://www.w3.org/2000/svg';

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function barChart(container, rows, labelEvery, caption) {
    // Two bars per row: customer messages and new tickets.
    const width = 720, height = 220, left = 36, bottom = 28, top = 10;
    const max = Math.max(1, ...rows.map((r) => Math.max(r.messages, r.tickets)));
    const slot = (width - left) / rows.length;
    const bar = Math.max(1, slot / 2 - 1);
    const scale = (value) => (height - top - bottom) * (value / max);
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': caption, class: 'bars' });
    chart.append(svg('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: 'axis' }));
    chart.append(svg('text', { x: left - 4, y: top + 8, 'text-anchor': 'end', class: 'tick' }, String(max)));
    chart.append(svg('text', { x: left - 4, y: height - bottom, 'text-anchor': 'end', class: 'tick' }, '0'));
    rows.forEach((row, index) => {
      const x = left + index * slot;
      for (const [offset, key] of [[0, 'messages'], [bar + 1, 'tickets']]) {
        const h = scale(row[key]);
        const rect = svg('rect', { x: x + offset, y: height - bottom - h, width: bar, height: h, class: key });
        rect.append(svg('title', {}, `${row.label}: ${row[key]} ${key === 'messages' ? 'customer messages' : 'new tickets'}`));
        chart.append(rect);
      }
      if (index % labelEvery === 0) {
        chart.append(svg('text', { x: x + slot / 2, y: height - 8, 'text-anchor': 'middle', class: 'tick' }, row.label));
      }
    });
    const legend = el('p', { className: 'legend' },
      el('span', { className: 'key messages' }), ' customer messages ', el('span', { className: 'key tickets' }), ' new tickets');
    container.replaceChildren(chart, legend);
  }

  async function loadStats() {
    const data = await api('GET', `/api/stats?days=${$('stats-days').value}`);
    const seconds = (value) => (value === null ? '–' : duration(value));
    const share = data.bot_resolved_share === null ? '–'
      : `${Math.round(data.bot_resolved_share * 100)} % (${data.bot_resolved} of ${data.conversations} conversations)`;
    const numbers = [
      ['Median first response', seconds(data.median_first_response_seconds)],
      ['Median resolution', seconds(data.median_resolution_seconds)],
      ['Resolved by the bot alone', share],
      ['CSAT', data.csat_average === null ? '–' : `${data.csat_average.toFixed(2)} / 5 (${data.ratings} ratings)`],
      ['First response overdue now', String(data.overdue_first_response)],
      ['Replies pending / failed', `${data.outbox_pending} / ${data.outbox_failed}`],
    ];
    $('stats-numbers').replaceChildren(...numbers.flatMap(([label, value]) => [
      el('div', {}, el('dt', { text: label }), el('dd', { text: value }))]));
    const days = data.per_day.map((d) => ({ label: d.day.slice(5), messages: d.messages, tickets: d.tickets }));
    barChart($('chart-days'), days, Math.ceil(days.length / 10), 'chart-days-caption');
    const hours = data.per_hour.map((h) => ({ label: String(h.hour), messages: h.messages, tickets: h.tickets }));
    barChart($('chart-hours'), hours, 3, 'chart-hours-caption');
  }

  function showPage(page) {
    state.page = page;
    $('inbox-page').hidden = page !== 'inbox';
    $('stats-page').hidden = page !== 'stats';
    $('show-inbox').setAttribute('aria-pressed', String(page === 'inbox'));
    $('show-stats').setAttribute('aria-pressed', String(page === 'stats'));
    if (page === 'stats') loadStats().catch((error) => say(error.message, true));
  }

  // --- keyboard --------------------------------------------------------------------------------------------

  function typing(target) {
    return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.metaKey) return;
    const target = event.target;
    if (typing(target)) {
      if (event.key === 'Escape') { target.blur(); focusSelected(); }
      if (event.key === 'Enter' && event.ctrlKey && target.id === 'reply') { event.preventDefault(); sendReply(); }
      if (event.key === 'Enter' && event.ctrlKey && target.id === 'note') { event.preventDefault(); sendNote(); }
      return;
    }
    if (event.ctrlKey || $('help').open || state.page !== 'inbox') {
      if (event.key === '?' && !$('help').open) { event.preventDefault(); $('help').showModal(); }
      return;
    }
    const keys = {
      j: () => move(1),
      k: () => move(-1),
      r: () => state.selected && $('reply').focus(),
      n: () => state.selected && $('note').focus(),
      c: () => claim(),
      e: () => act('resolve', {}),
      E: () => act('resolve-and-next', {}),
      '?': () => $('help').showModal(),
    };
    const run = keys[event.key];
    if (run) { event.preventDefault(); run(); }
  }

  // --- start -----------------------------------------------------------------------------------------------

  async function start() {
    state.me = await api('GET', '/api/me');
    $('me').textContent = state.me.name;
    for (const button of document.querySelectorAll('[data-view]')) {
      button.addEventListener('click', () => setView(button.dataset.view));
    }
    $('filters').addEventListener('change', () => loadList().catch((error) => say(error.message, true)));
    $('filters').addEventListener('submit', (event) => event.preventDefault());
    for (const button of document.querySelectorAll('[data-action]')) {
      button.addEventListener('click', () => actionButton(button.dataset.action));
    }
    $('reply-form').addEventListener('submit', sendReply);
    $('note-form').addEventListener('submit', sendNote);
    $('show-inbox').addEventListener('click', () => showPage('inbox'));
    $('show-stats').addEventListener('click', () => showPage('stats'));
    $('stats-days').addEventListener('change', () => loadStats().catch((error) => say(error.message, true)));
    $('help-button').addEventListener('click', () => $('help').showModal());
    $('logout').addEventListener('click', async () => {
      // Stop listening first: nothing may ask the server anything once the session is gone.
      if (state.source) state.source.close();
      window.clearInterval(state.timer);
      await Promise.allSettled([...state.pending]);
      await api('POST', '/logout', {}).catch(() => null);
      window.location.assign('/login');
    });
    document.addEventListener('keydown', onKey);
    await loadList();
    listen();
    // Keep "who has it open" fresh for colleagues, and the waiting times honest.
    state.timer = window.setInterval(() => {
      if (state.selected && state.page === 'inbox' && !document.hidden) {
        openTicket(state.selected, { focus: false }).catch(() => null);
      }
    }, 20000);
  }

  start().catch((error) => say(error.message, true));
})();
