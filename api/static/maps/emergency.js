// The emergency map's own part: the Danube gauge's panel (level, thresholds, trend),
// the open alerts as a banner no one can miss and a list, and their acknowledgement
// (its button only for the emergency role, which the server says: can_acknowledge).
'use strict';

HubMap.register('emergency', (() => {
  const {element, formatTime} = HubMap;
  const CODE_NAMES = {none: 'no warning', yellow: 'yellow code', orange: 'orange code', red: 'red code'};
  const CODE_COLOURS = {none: '#005ab4', yellow: '#e0b400', orange: '#e06a00', red: '#c40000'};
  const SEVERITY = {yellow: 1, orange: 2, red: 3};

  async function acknowledge(alert) {
    const note = `acknowledged on the emergency map`;
    const answer = await fetch(`/river/alerts/${alert.alert_id}/ack`, {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({note}),
    });
    if (!answer.ok) {
      const problem = await answer.json().catch(() => ({}));
      window.alert(`Not acknowledged: ${problem.detail || answer.status}`);
    }
    HubMap.reload();
  }

  function ackButton(alert, view) {
    if (!view.panel.can_acknowledge || alert.acknowledged_by) return null;
    return element('button', {type: 'button', class: 'ack', 'data-alert': alert.alert_id,
                              onclick: () => acknowledge(alert)}, 'Acknowledge');
  }

  let gaugeNames = {};

  function describe(alert) {
    const what = (alert.kind || 'alert').replace(/_/g, ' ');
    const value = alert.value === null || alert.value === undefined ? '' : ` at ${alert.value} cm`;
    const where = gaugeNames[alert.gauge_id] || alert.gauge_id || 'Danube';
    return `${where}: ${what}${value}, ${CODE_NAMES[alert.code] || alert.code}`;
  }

  function banner(view) {
    const node = document.getElementById('banner');
    const alerts = view.panel.alerts;
    if (!alerts.length) { node.hidden = true; node.replaceChildren(); document.title = document.title.replace(/^⚠ ALERT · /, ''); return; }
    const worst = alerts.reduce((a, b) => ((SEVERITY[b.code] || 0) > (SEVERITY[a.code] || 0) ? b : a));
    node.className = worst.code === 'red' ? '' : worst.code;
    const lines = alerts.map(alert => element('span', {class: 'banner-alert'}, `⚠ ${describe(alert)}`,
      alert.acknowledged_by ? ` · acknowledged by ${alert.acknowledged_by}` : ' · not acknowledged', ' ', ackButton(alert, view)));
    node.replaceChildren(...lines);
    node.hidden = false;
    if (!document.title.startsWith('⚠')) document.title = `⚠ ALERT · ${document.title}`;
  }

  function gaugePanel(gauge) {
    const level = gauge.level;
    const thresholds = Object.entries(gauge.thresholds_cm).map(([name, cm]) =>
      element('tr', {}, element('td', {}, name), element('td', {class: 'n'}, `${cm} cm`)));
    const trend = gauge.trend;
    return element('div', {id: `gauge-${gauge.device_id}`},
      element('div', {}, gauge.name),
      element('div', {class: 'big', id: 'level', style: `color:${CODE_COLOURS[level ? level.code : 'none']}`},
        level ? `${level.cm} cm` : 'no reading'),
      level ? element('div', {class: 'muted'}, `${CODE_NAMES[level.code]} · read ${formatTime(level.time)}`) : null,
      element('table', {}, element('tr', {}, element('th', {}, 'Threshold'), element('th', {}, 'Level')), ...thresholds),
      element('p', {id: 'trend'}, trend
        ? `Trend: ${trend.cm_per_h > 0 ? '+' : ''}${trend.cm_per_h} cm/h over ${trend.hours} h` +
          (trend.next_threshold ? `; ${trend.next_threshold.code} code at ${formatTime(trend.next_threshold.reached_at)} if it holds` : '')
        : 'Trend: not enough readings yet'));
  }

  function panel(view) {
    gaugeNames = Object.fromEntries(view.panel.gauges.map(g => [g.device_id, g.name]));
    banner(view);
    const flood = view.panel.flood;
    const alerts = view.panel.alerts.map(alert => element('div', {class: 'alert'},
      describe(alert), element('div', {class: 'muted'}, `since ${formatTime(alert.opened_at || alert.at || view.as_of)}`),
      ackButton(alert, view)));
    document.getElementById('map-panel').replaceChildren(
      element('h2', {}, 'The Danube'), ...view.panel.gauges.map(gaugePanel),
      element('h2', {}, `Open alerts (${view.panel.alerts.length})`),
      ...(alerts.length ? alerts : [element('p', {class: 'muted'}, 'None.')]),
      element('h2', {}, 'Under water now'),
      element('p', {id: 'flood-summary'}, flood ? flood.summary.text : 'No terrain model: the flood extent cannot be computed.'),
      ...(flood ? flood.assets.map(a => element('div', {class: 'muted'}, `${a.name}: ${a.depth_m.toFixed(2)} m`)) : []));
  }

  return {panel};
})());
