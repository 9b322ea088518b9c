// The operator console (Admin role only: hidden for others, and the server refuses them its
// methods): GetServerStatistics and GetConnectedUsers polled every 2 s while connected, and a
// broadcast form with a confirmation and a history.

const pollMs = 2000;
const transportNames = { WebSockets: 'WebSockets', ServerSentEvents: 'Server-Sent Events', LongPolling: 'Long polling' };
const protocolNames = { json: 'JSON', messagepack: 'MessagePack' };

const $ = (id) => document.getElementById(id);

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.append(td);
}

function bars(list, counts, names) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0) || 1;
  list.replaceChildren(...Object.entries(counts).map(([key, n]) => {
    const li = document.createElement('li');
    li.dataset.key = key;
    li.innerHTML = '<span class="bar-label"></span><span class="bar"><span class="bar-fill"></span></span><span class="bar-value"></span>';
    li.querySelector('.bar-label').textContent = names[key] ?? key;
    li.querySelector('.bar-fill').style.width = `${(100 * n) / total}%`;
    li.querySelector('.bar-value').textContent = n;
    return li;
  }));
}

const rate = (v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));

export class OperatorConsole {
  constructor(hub, messages) {
    this.hub = hub;
    this.messages = messages;
    this.timer = 0;
    $('broadcast').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = $('broadcast-text').value.trim();
      if (!text) return;
      $('confirm-text').textContent = text;
      $('confirm').returnValue = '';
      $('confirm').showModal();
    });
    $('confirm').addEventListener('close', () => {
      if ($('confirm').returnValue === 'send') this.broadcast($('confirm-text').textContent);
    });
  }

  show(on) {
    $('admin').hidden = !on;
    clearInterval(this.timer);
    this.timer = 0;
    if (!on) return;
    this.poll();
    this.timer = setInterval(() => this.poll(), pollMs);
  }

  async poll() {
    if (!this.hub.connected) return;
    try {
      const [stats, users] = await Promise.all([
        this.hub.invoke('GetServerStatistics'),
        this.hub.invoke('GetConnectedUsers'),
      ]);
      this.render(stats, users);
      $('admin-error').textContent = '';
    } catch (err) {
      if (this.hub.connected) $('admin-error').textContent = `Statistics unavailable: ${err.message ?? err}`;
    }
  }

  render(stats, users) {
    $('stat-connections').textContent = stats.connections;
    $('users-count').textContent = stats.clusterUsers >= 0 ? stats.clusterUsers : stats.connectedUsers;
    $('stat-messages').textContent = rate(stats.messagesPerSecond);
    $('stat-ticks').textContent = rate(stats.ticksPerSecond);
    bars($('by-transport'), stats.connectionsByTransport, transportNames);
    bars($('by-protocol'), stats.connectionsByProtocol, protocolNames);
    const nodes = stats.nodes ?? [];
    $('nodes-box').hidden = nodes.length === 0;
    $('nodes').tBodies[0].replaceChildren(...nodes.map((n) => {
      const tr = document.createElement('tr');
      tr.dataset.node = n.node;
      if (n.node === stats.node) tr.className = 'self';
      cell(tr, n.node);
      cell(tr, n.connections, 'num');
      cell(tr, n.connectedUsers, 'num');
      cell(tr, rate(n.messagesPerSecond), 'num');
      cell(tr, rate(n.ticksPerSecond), 'num');
      return tr;
    }));
    $('users').tBodies[0].replaceChildren(...users.map((u) => {
      const tr = document.createElement('tr');
      tr.dataset.email = u.email;
      cell(tr, u.email);
      cell(tr, u.roles.join(', '));
      cell(tr, u.connections, 'num');
      cell(tr, u.transports.map((t) => transportNames[t] ?? t).join(', '));
      const since = u.connectedSince instanceof Date ? u.connectedSince : new Date(u.connectedSince);
      cell(tr, since.toLocaleTimeString(), 'wide-only');
      return tr;
    }));
    $('admin-updated').textContent = `${stats.node === 'local' ? 'this server' : `node ${stats.node}`} · ${new Date().toLocaleTimeString()}`;
  }

  async broadcast(text) {
    const li = document.createElement('li');
    const time = document.createElement('time');
    time.textContent = new Date().toLocaleTimeString();
    const status = document.createElement('span');
    status.className = 'status';
    status.textContent = 'sending…';
    li.append(time, document.createTextNode(` ${text} `), status);
    $('broadcast-history').prepend(li);
    try {
      await this.hub.invoke('BroadcastMessage', text);
      status.textContent = 'sent';
      li.className = 'sent';
      $('broadcast-text').value = '';
    } catch (err) {
      status.textContent = `failed: ${err.message ?? err}`;
      li.className = 'error';
    }
  }
}
