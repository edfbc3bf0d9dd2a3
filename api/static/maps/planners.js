// The planners' map's own part: a time control that replays the twin's past (the
// map's data at a moment of the last days, from the twin's snapshot at that moment).
'use strict';

HubMap.register('planners', (() => {
  const {element, formatTime} = HubMap;
  const STEP_MS = 15 * 60 * 1000;
  let at = null;  // the moment replayed, or null: now, live
  let waiting = null;

  function query() { return at ? `?at=${encodeURIComponent(at)}` : ''; }

  function panel(view) {
    const replay = view.panel.replay;
    const earliest = Date.parse(replay.earliest);
    const latest = Date.parse(replay.latest);
    const steps = Math.floor((latest - earliest) / STEP_MS);
    const slider = element('input', {type: 'range', id: 'replay', min: '0', max: String(steps), step: '1'});
    slider.value = at ? String(Math.round((Date.parse(at) - earliest) / STEP_MS)) : String(steps);
    const shown = element('div', {id: 'replay-at'}, at ? `Replaying ${formatTime(at)}` : 'Now (live)');
    slider.addEventListener('input', () => {
      const moment = new Date(earliest + Number(slider.value) * STEP_MS);
      shown.textContent = `Replaying ${formatTime(moment.toISOString())}`;
      clearTimeout(waiting);
      waiting = setTimeout(() => {
        at = Number(slider.value) >= steps ? null : moment.toISOString();
        HubMap.reload();
      }, 400);
    });
    const now = element('button', {type: 'button', id: 'replay-now'}, 'Back to now');
    now.addEventListener('click', () => { at = null; HubMap.reload(); });
    document.getElementById('map-panel').replaceChildren(
      element('h2', {}, 'Time'),
      element('p', {class: 'muted'}, 'Drag to replay the last 7 days (assets\u2019 states, parking pressure and air quality by zone).'),
      slider, shown, now);
  }

  return {panel, query};
})());
