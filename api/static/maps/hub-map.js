// What every map under /maps/ does, whatever it shows: load its description
// (/maps/<name>/deck.json: a pydeck deck, its legend, the time of its data, its event
// streams, its side panel's figures), draw it with pydeck's offline deck.gl bundle, draw
// the legend with a toggle per group of layers, say when the data is from in
// Europe/Bucharest time, thin out labels that would overlap, and reload the description
// when one of its server-sent event streams says the data changed (no page reload).
// A map's own script registers hooks: panel(view, ctx), query(ctx), onClick(info, ctx).
'use strict';

const HubMap = (() => {
  const TIME_ZONE = 'Europe/Bucharest';
  const RELOAD_MIN_MS = 1500;  // events come in bursts (a simulator tick): one reload each
  // the hub's parts follow the database each on its own: the live twin may announce a
  // change before the part a map reads (parking's live lots) has it, so a change is
  // read again a little later, once
  const TRAILING_MS = 3000;
  const LABEL_HEIGHT = 18;
  const LABEL_CHAR = 7.2;      // px per character of a 12-13 px sans-serif label
  const clock = new Intl.DateTimeFormat('en-GB', {
    timeZone: TIME_ZONE, day: 'numeric', month: 'short', year: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
  });
  const hooks = {};
  const ctx = {
    name: null, view: null, deck: null, shown: {}, extra: {}, streams: {},
    loading: null, pending: false, lastLoad: 0, loads: 0, error: null, trailing: null,
  };

  function register(name, hook) { hooks[name] = hook; }
  function hook() { return hooks[ctx.name] || {}; }

  /** A moment (ISO 8601) as people in the town read it, with the time zone. */
  function formatTime(iso) {
    return `${clock.format(new Date(iso))} (${TIME_ZONE})`;
  }

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key === 'style') node.style.cssText = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function rgba(colour) {
    const [r, g, b, a] = colour;
    if (a === 0) return 'transparent';  // "no figure": drawn as nothing on the map
    return `rgba(${r},${g},${b},${a === undefined ? 1 : Math.max(a / 255, 0.25)})`;
  }

  function renderLegend() {
    const legend = document.getElementById('legend');
    legend.replaceChildren();
    ctx.view.legend.forEach(group => {
      if (!group.layers.length) return;  // a layer this town does not have
      const shown = ctx.shown[group.title] ?? group.visible;
      const box = element('input', {type: 'checkbox', 'data-group': group.title});
      box.checked = shown;
      box.addEventListener('change', () => { ctx.shown[group.title] = box.checked; render(); });
      const items = group.items.map(item => element('li', {},
        element('span', {class: `sw ${group.shape}`, style: `background:${rgba(item.colour)}`}),
        item.label));
      legend.append(element('div', {class: 'group'},
        element('label', {}, box, ' ', group.title), element('ul', {}, ...items)));
    });
  }

  /** Labels kept where they would not overlap, lowest rank first, on screen only. */
  function declutter(rows) {
    const viewport = ctx.deck && ctx.deck.getViewports()[0];
    if (!viewport) return rows;
    // the part of the map not under the bar or the side panel
    const top = document.getElementById('bar').getBoundingClientRect().bottom;
    const panel = document.getElementById('panel');
    const right = panel.offsetParent && panel.getBoundingClientRect().top <= top + 1
      ? panel.getBoundingClientRect().left : viewport.width;
    const kept = [];
    const boxes = [];
    const sorted = [...rows].sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0));
    for (const row of sorted) {
      const [x, y] = viewport.project(row.position);
      const width = String(row.text).length * LABEL_CHAR + 8;
      const box = [x - width / 2, y - 16 - LABEL_HEIGHT / 2, x + width / 2, y - 16 + LABEL_HEIGHT / 2];
      if (box[0] < 0 || box[2] > right || box[1] < top || box[3] > viewport.height) continue;
      if (boxes.some(o => box[0] < o[2] && o[0] < box[2] && box[1] < o[3] && o[1] < box[3])) continue;
      boxes.push(box);
      kept.push(row);
    }
    return kept;
  }

  /** The deck as the user asked for it: groups toggled, client data in, labels thinned. */
  function deckJson() {
    const json = JSON.parse(JSON.stringify(ctx.view.deck));
    const hidden = new Set();
    ctx.view.legend.forEach(group => {
      if (!(ctx.shown[group.title] ?? group.visible)) group.layers.forEach(l => hidden.add(l));
    });
    for (const layer of json.layers) {
      layer.visible = !hidden.has(layer.id);
      if (ctx.extra[layer.id]) layer.data = ctx.extra[layer.id];
      if (ctx.view.labels.includes(layer.id)) {
        layer.data = declutter(layer.data);
        // every character the labels hold (ASCII only by default: Romanian names need
        // more); set here, as pydeck makes any string or list it is given an expression
        layer.characterSet = 'auto';
      }
    }
    return json;
  }

  function render() {
    const json = deckJson();
    if (!ctx.deck) {
      ctx.deck = createDeck({
        container: document.getElementById('deck-container'), jsonInput: json,
        tooltip: json.tooltip || true, handleEvent: onDeckEvent,
      });
      setTimeout(render, 0);  // labels need the viewport, which exists from now on
      return;
    }
    delete json.initialViewState;  // keep the user's pan and zoom
    updateDeck(json, ctx.deck);
  }

  let resting = null;
  function onDeckEvent(name, info) {
    if (name === 'deck-view-state-change-event') {
      clearTimeout(resting);
      resting = setTimeout(render, 150);  // labels again once the view rests
    } else if (name === 'deck-click-event' && hook().onClick) {
      hook().onClick(info, ctx);
    }
  }

  function connectStreams() {
    const wanted = new Map(ctx.view.streams.map(s => [`${s.url} ${s.event} ${s.kind}`, s]));
    for (const [key, source] of Object.entries(ctx.streams)) {
      if (!wanted.has(key)) { source.close(); delete ctx.streams[key]; }
    }
    for (const [key, stream] of wanted) {
      if (ctx.streams[key]) continue;
      const source = new EventSource(stream.url);
      source.addEventListener(stream.event, event => {
        if (stream.kind && JSON.parse(event.data).kind !== stream.kind) return;
        reload();
        clearTimeout(ctx.trailing);
        ctx.trailing = setTimeout(reload, TRAILING_MS);
      });
      source.addEventListener('ready', () => showLive());
      source.onerror = () => showLive();
      ctx.streams[key] = source;
    }
    showLive();
  }

  function showLive() {
    const live = document.getElementById('live');
    const sources = Object.values(ctx.streams);
    const open = sources.length && sources.every(s => s.readyState === EventSource.OPEN);
    live.className = open ? 'on' : '';
    live.textContent = !sources.length ? 'not live' : open ? 'live' : 'connecting…';
  }

  async function load() {
    const query = hook().query ? hook().query(ctx) : '';
    const response = await fetch(`/maps/${ctx.name}/deck.json${query}`, {cache: 'no-store'});
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem.detail || `HTTP ${response.status}`);
    }
    ctx.view = await response.json();
    ctx.loads += 1;
    ctx.lastLoad = Date.now();
    document.getElementById('as-of').textContent = `Data of ${formatTime(ctx.view.as_of)}`;
    renderLegend();
    if (hook().panel) hook().panel(ctx.view, ctx);
    render();
    connectStreams();
  }

  /** Load the map's data again (now, or once the load under way is done). */
  function reload() {
    if (ctx.loading) { ctx.pending = true; return ctx.loading; }
    const wait = Math.max(0, ctx.lastLoad + RELOAD_MIN_MS - Date.now());
    ctx.loading = new Promise(resolve => setTimeout(resolve, wait))
      .then(load)
      .catch(err => { ctx.error = err.message; document.getElementById('as-of').textContent = `update failed: ${err.message}`; })
      .finally(() => {
        ctx.loading = null;
        if (ctx.pending) { ctx.pending = false; reload(); }
      });
    return ctx.loading;
  }

  /** Whether the map is drawn: its data loaded and every layer's data in (for tests). */
  function drawn() {
    if (!ctx.deck || !ctx.view || ctx.loading) return false;
    const layers = ctx.deck.layerManager ? ctx.deck.layerManager.getLayers() : [];
    return layers.length > 0 && layers.every(layer => layer.isLoaded);
  }

  function start(name) {
    ctx.name = name;
    const panel = document.getElementById('panel');
    if (window.matchMedia('(max-width: 700px)').matches) panel.classList.add('collapsed');
    document.getElementById('panel-toggle').addEventListener('click', () => panel.classList.toggle('collapsed'));
    reload();
  }

  return {register, start, reload, render, formatTime, element, rgba, drawn, ctx};
})();
