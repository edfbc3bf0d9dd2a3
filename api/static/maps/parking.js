// The parking map's own part: the lots' table, and the way to the nearest lot with
// free places from where the user clicks (GET /parking/nearest), drawn as a route.
'use strict';

HubMap.register('parking', (() => {
  const {element, rgba} = HubMap;
  let nearest = 'Click the map: the way to the nearest lot with free places is drawn.';

  function panel(view) {
    const rows = view.panel.lots.map(lot => element('tr', {id: `lot-${lot.lot_id}`, 'data-free': lot.free ?? ''},
      element('td', {}, element('span', {class: 'sw dot', style: `background:${rgba(lot.colour)}`})),
      element('td', {}, lot.name, lot.flags.length ? element('div', {class: 'muted'}, lot.flags.join('; ')) : null),
      element('td', {class: 'n free'}, lot.free === null ? '–' : String(lot.free)),
      element('td', {class: 'n'}, lot.capacity === null ? '–' : String(lot.capacity)),
      element('td', {}, lot.status.replace('_', ' '))));
    document.getElementById('map-panel').replaceChildren(
      element('h2', {}, 'Lots'),
      element('table', {}, element('tr', {}, element('th', {}, ''), element('th', {}, 'Lot'),
        element('th', {}, 'Free'), element('th', {}, 'Places'), element('th', {}, 'Status')), ...rows),
      element('p', {class: 'muted', id: 'faulty-bays'}, `Bays whose sensor is silent: ${view.panel.faulty_bays}`),
      element('h2', {}, 'Nearest lot with free places'),
      element('p', {id: 'nearest'}, nearest));
  }

  async function onClick(info, ctx) {
    if (!info.coordinate) return;
    const [lon, lat] = info.coordinate;
    const answer = await fetch(`/parking/nearest?lon=${lon.toFixed(6)}&lat=${lat.toFixed(6)}&min_free=1&limit=1`);
    const found = await answer.json();
    if (!answer.ok || !found.features.length) {
      nearest = answer.ok ? 'No lot with free places can be reached from there.' : found.detail;
      ctx.extra['nearest-route'] = [];
      ctx.extra['nearest-origin'] = [];
    } else {
      const way = found.features[0];
      const p = way.properties;
      nearest = `${p.name}: ${Math.round(p.distance_m)} m along the streets, ${p.free} free places.`;
      ctx.extra['nearest-route'] = [{path: way.geometry.coordinates, tooltip: nearest}];
      ctx.extra['nearest-origin'] = [{position: [lon, lat]}];
    }
    document.getElementById('nearest').textContent = nearest;
    HubMap.render();
  }

  return {panel, onClick};
})());
