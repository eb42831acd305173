// Renders what ScopeGuard's remote endpoints return. Everything that came from
// Jira or the service (issue keys, names, statuses, authors) is set with
// textContent, never parsed as HTML: issue summaries and names are written by
// clients.

/** An element with a class, text and children; text is always textContent. */
function el(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
  for (const [name, value] of Object.entries(options.attrs || {})) {
    node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child) node.append(child);
  }
  return node;
}

function formatNumber(t, value, digits = 1) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  return new Intl.NumberFormat(t.locale, { maximumFractionDigits: digits }).format(value);
}

function formatMoney(t, amount, currency) {
  try {
    return new Intl.NumberFormat(t.locale, { style: 'currency', currency }).format(amount);
  } catch {
    return `${formatNumber(t, amount, 2)} ${currency}`;
  }
}

function formatTime(t, iso) {
  if (!iso) return t.never;
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso);
  return new Intl.DateTimeFormat(t.locale, { dateStyle: 'medium', timeStyle: 'short' }).format(when);
}

function healthBadge(t, health) {
  const known = ['ok', 'warning', 'breach'].includes(health) ? health : 'warning';
  return el('span', { className: `health health-${known}`, text: t.health[known] || health });
}

function linkButton(text, onClick, className = 'link') {
  const button = el('button', { className, text, attrs: { type: 'button' } });
  button.addEventListener('click', (event) => {
    event.preventDefault();
    onClick();
  });
  return button;
}

function scopeTable(t, scope) {
  const head = el('tr', {}, [
    el('th', { text: t.unit, attrs: { scope: 'col' } }),
    el('th', { text: t.contracted, attrs: { scope: 'col' } }),
    el('th', { text: t.approved, attrs: { scope: 'col' } }),
    el('th', { text: t.creep, attrs: { scope: 'col' } }),
    el('th', { text: t.creepPercent, attrs: { scope: 'col' } }),
  ]);
  const rows = Object.entries(scope.by_unit || {}).map(([unit, figures]) =>
    el('tr', { attrs: { 'data-unit': unit } }, [
      el('th', { text: t.units[unit] || unit, attrs: { scope: 'row' } }),
      el('td', { className: 'num', text: formatNumber(t, figures.contracted) }),
      el('td', { className: 'num', text: formatNumber(t, figures.approved) }),
      el('td', { className: 'num', text: formatNumber(t, figures.creep) }),
      el('td', { className: 'num creep-percent', text: `${formatNumber(t, figures.creep_percent)} %` }),
    ]),
  );
  return el('table', { className: 'scope' }, [
    el('caption', { text: t.scope }),
    el('thead', {}, [head]),
    el('tbody', {}, rows),
  ]);
}

function overLimitList(t, revisions, actions) {
  const keys = revisions.over_limit || [];
  if (keys.length === 0) return el('p', { className: 'none-over-limit', text: t.noneOverLimit });
  const limit = revisions.per_issue_limit;
  const items = keys.map((key) => {
    const used = (revisions.by_issue || {})[key] ?? 0;
    return el('li', { attrs: { 'data-issue': key } }, [
      linkButton(key, () => actions.openIssue(key), 'link issue-key'),
      el('span', { className: 'rounds', text: t.roundsOf(used, limit) }),
    ]);
  });
  return el('ul', { className: 'over-limit' }, items);
}

function clientSection(t, client, actions) {
  const summary = client.summary;
  const headingId = `client-${client.key}`;
  const overage = summary.overage || {};
  return el('section', { className: 'client', attrs: { 'aria-labelledby': headingId, 'data-client': client.key } }, [
    el('header', { className: 'client-head' }, [
      el('h2', { text: client.name, attrs: { id: headingId } }),
      healthBadge(t, summary.health),
    ]),
    el('p', {
      className: 'meta',
      text: `${t.asOf} ${formatTime(t, summary.as_of)} · ${t.lastSync} ${formatTime(t, summary.sync && summary.sync.last_success)}`,
    }),
    scopeTable(t, summary.scope || {}),
    el('h3', { text: `${t.overLimit} (${(summary.revisions.over_limit || []).length})` }),
    overLimitList(t, summary.revisions, actions),
    el('dl', { className: 'facts' }, [
      el('dt', { text: t.reopens }),
      el('dd', { className: 'reopens', text: formatNumber(t, summary.reopens.total, 0) }),
      el('dt', { text: t.overage }),
      el('dd', { className: 'overage' }, [
        el('strong', { text: formatMoney(t, overage.amount || 0, overage.currency || 'EUR') }),
        el('span', { className: 'detail', text: ` (${t.overageDetail(overage.rounds ?? 0, formatNumber(t, overage.hours ?? 0))})` }),
      ]),
    ]),
    creepChart(t, client.creep_chart_svg),
    riskSection(t, client.risk),
    linkButton(t.dashboard, () => actions.openDashboard(client.dashboard_url), 'link dashboard'),
  ]);
}

// SVG elements and attributes the creep chart may keep once parsed (as XML, never as
// HTML): ScopeGuard draws it, but whatever comes over the wire is cut to drawing.
const SVG_ELEMENTS = new Set([
  'svg', 'g', 'defs', 'clipPath', 'path', 'use', 'text', 'tspan', 'rect', 'line',
  'polyline', 'polygon', 'circle', 'ellipse', 'title', 'desc', 'style', 'metadata',
]);

function cleanSvg(node) {
  for (const child of [...node.children]) {
    if (!SVG_ELEMENTS.has(child.localName)) {
      child.remove();
      continue;
    }
    for (const attribute of [...child.attributes]) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.trim();
      const external = (name === 'href' || name.endsWith(':href')) && !value.startsWith('#');
      if (name.startsWith('on') || external || /url\(\s*['"]?(?!#)/i.test(value)) {
        child.removeAttribute(attribute.name);
      }
    }
    if (child.localName === 'style' && /@import|url\(\s*['"]?(?!#)/i.test(child.textContent)) {
      child.textContent = '';
    }
    cleanSvg(child);
  }
  return node;
}

/** The creep-over-time chart ScopeGuard sent as SVG text, parsed as XML and inlined. */
function creepChart(t, svgText) {
  if (typeof svgText !== 'string' || !svgText) return null;
  const parsed = new DOMParser().parseFromString(svgText, 'image/svg+xml');
  const root = parsed.documentElement;
  if (!root || root.localName !== 'svg' || parsed.getElementsByTagName('parsererror').length) {
    return null;
  }
  const svg = cleanSvg(document.importNode(root, true));
  for (const attribute of [...svg.attributes]) {
    if (attribute.name.toLowerCase().startsWith('on')) svg.removeAttribute(attribute.name);
  }
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t.creepChart);
  return el('figure', { className: 'creep-chart' }, [svg, el('figcaption', { text: t.creepChart })]);
}

function riskSection(t, risk) {
  if (!risk) return null;
  const level = risk.level ? t.riskLevels[risk.level] || risk.level : t.notEnoughData;
  const reasons = (risk.reasons || []).map((reason) =>
    el('li', { attrs: { 'data-signal': reason.signal } }, [
      el('strong', { text: t.signals[reason.signal] || reason.signal }),
      el('span', {
        text: ` (${reason.side === 'agency' ? t.agencySide : t.clientSide}): ${formatNumber(t, reason.value, 2)}`,
      }),
      el('ul', {}, (reason.events || []).map((event) =>
        el('li', {
          text: `${event.issue} · ${formatTime(t, event.at)}${event.text ? ` · “${event.text}”` : ''}`,
        }),
      )),
    ]),
  );
  return el('section', { className: 'risk', attrs: { 'data-part': 'client-risk' } }, [
    el('h3', { text: t.clientRisk }),
    el('p', {
      className: `risk-score risk-${risk.level || 'none'}`,
      text: `${t.riskScore}: ${risk.score ?? '—'} · ${level} · ${t.verdicts[risk.verdict] || risk.verdict}`,
    }),
    reasons.length ? el('ol', { className: 'risk-reasons' }, reasons) : null,
  ]);
}

/** The project page: one section per client mapped to the project. */
export function renderProject(root, body, t, actions) {
  const clients = (body && body.clients) || [];
  const children = clients.length
    ? clients.map((client) => clientSection(t, client, actions))
    : [el('p', { className: 'notice', text: t.noClient })];
  root.replaceChildren(el('h1', { className: 'visually-hidden', text: t.title }), ...children);
  root.setAttribute('aria-busy', 'false');
}

function roundItem(t, round) {
  const flags = [];
  if (round.is_reopen) flags.push(el('span', { className: 'flag reopen', text: t.reopen }));
  if (round.beyond_allowance) flags.push(el('span', { className: 'flag beyond', text: t.beyond }));
  return el('li', { className: round.beyond_allowance ? 'round beyond-allowance' : 'round' }, [
    el('span', { className: 'when', text: formatTime(t, round.at) }),
    el('span', { className: 'transition', text: `${round.from_status} → ${round.to_status}` }),
    el('span', { className: 'author', text: `${t.by} ${round.author || '—'}` }),
    ...flags,
  ]);
}

/** The issue panel: this issue's revision rounds against the client's allowance. */
export function renderIssue(root, body, t, actions) {
  if (!body || !body.tracked) {
    root.replaceChildren(el('p', { className: 'notice not-tracked', text: t.notTracked }));
    root.setAttribute('aria-busy', 'false');
    return;
  }
  const allowance = body.allowance;
  const used = body.rounds;
  const meter = el('div', {
    className: body.over_limit ? 'allowance over' : 'allowance',
    attrs: {
      role: 'meter',
      'aria-valuemin': 0,
      'aria-valuemax': Math.max(allowance, used),
      'aria-valuenow': used,
      'aria-label': t.roundsOf(used, allowance),
    },
  });
  const fill = el('div', { className: 'fill' });
  // CSSOM, not a style attribute: Forge's content security policy allows it.
  fill.style.width = `${Math.min(100, allowance > 0 ? (100 * used) / allowance : used > 0 ? 100 : 0)}%`;
  meter.append(fill);
  const rounds = body.trail.revisions || [];
  root.replaceChildren(
    el('header', { className: 'issue-head' }, [
      el('h2', { className: 'issue-key', text: body.issue }),
      el('span', { className: 'client-name', text: body.client.name }),
    ]),
    el('p', {
      className: body.over_limit ? 'rounds-used over' : 'rounds-used',
      text: t.roundsOf(used, allowance),
    }),
    meter,
    el('p', { className: 'verdict', text: body.over_limit ? t.overAllowance : t.withinAllowance }),
    el('h3', { text: t.trail }),
    rounds.length
      ? el('ol', { className: 'trail' }, rounds.map((round) => roundItem(t, round)))
      : el('p', { className: 'notice', text: t.noRounds }),
    linkButton(t.dashboard, () => actions.openDashboard(body.client.dashboard_url), 'link dashboard'),
  );
  root.setAttribute('aria-busy', 'false');
}

export function renderLoading(root, t) {
  root.replaceChildren(el('p', { className: 'notice loading', text: t.loading }));
  root.setAttribute('aria-busy', 'true');
}

export function renderError(root, t, message) {
  root.replaceChildren(el('p', { className: 'notice error', text: message || t.failed, attrs: { role: 'alert' } }));
  root.setAttribute('aria-busy', 'false');
}
