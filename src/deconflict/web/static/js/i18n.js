// Whole-UI translation (EN / RU) and per-language formatting. One catalogue mechanism for server and
// browser: the UI's gettext catalogues (static/i18n/locale/<lang>/LC_MESSAGES/ui.po) and the
// hotline's (deconflict/hotline/locale) are compiled by the server into one JSON per language
// (GET /i18n/<lang>.json, web/routes/i18n.py), which this module loads. Message ids are the English
// text; placeholders are `%(name)s` as in the server's catalogues. Times are always UTC with `Z`; numbers use the language's separators but the
// same rounding in every language, and units are never converted (ft stays ft, NM stays NM).

export const LANGUAGES = ['en', 'ru'];
const LOCALES = {en: 'en-US', ru: 'ru-RU'};

let current = 'en';
let catalogue = {lang: 'en', messages: {}, hotline: {templates: {}, fields: {}, values: {}, headers: {}, formats: {}}};
const listeners = [];

/** Load `lang`'s catalogue (one request per language change) and notify listeners. */
export async function setLanguage(lang) {
  const want = LANGUAGES.includes(lang) ? lang : 'en';
  const res = await fetch(`i18n/${want}.json`, {cache: 'no-cache'});
  if (!res.ok) throw new Error(`catalogue ${want}: HTTP ${res.status}`);
  catalogue = await res.json();
  current = want;
  document.documentElement.lang = want;
  translateDom(document);
  for (const fn of listeners) fn(want);
}

export function language() { return current; }
export function onLanguage(fn) { listeners.push(fn); }

/** Translate a message id (English text), substituting `%(name)s` placeholders from `params`. */
export function t(msgid, params = null) {
  const text = catalogue.messages[msgid] || msgid;
  if (!params) return text;
  return text.replace(/%\((\w+)\)s/g, (_, k) => String(params[k] ?? ''));
}

/** True when the current catalogue translates `msgid` (English: when it is a known id). */
export function has(msgid) {
  return msgid in catalogue.messages;
}

/** Hotline labels (template titles, field labels, enumerated values, header labels, patterns). */
export function hotlineLabel(group, key) {
  const g = catalogue.hotline[group] || {};
  return g[key] ?? null;
}

/** Elements marked data-i18n / data-i18n-title / -placeholder / -aria-label get their text. */
export function translateDom(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-title]')) node.title = t(node.dataset.i18nTitle);
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll('[data-i18n-aria-label]')) node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
}

const formatters = new Map();
/** A number with the language's separators and exactly `digits` decimals (same rounding everywhere). */
export function num(value, digits = 0) {
  if (!Number.isFinite(value)) return '—';
  const key = `${current}:${digits}`;
  if (!formatters.has(key)) {
    formatters.set(key, new Intl.NumberFormat(LOCALES[current], {minimumFractionDigits: digits, maximumFractionDigits: digits}));
  }
  return formatters.get(key).format(value);
}

/** Feet: "25,000 ft" / "25 000 фт". */
export function ft(value) { return Number.isFinite(value) ? t('%(value)s ft', {value: num(value, 0)}) : '—'; }
/** Nautical miles with `digits` decimals: "1.9 NM" / "1,9 м. миль". */
export function nm(value, digits = 1) { return Number.isFinite(value) ? t('%(value)s NM', {value: num(value, digits)}) : '—'; }
/** Knots: "420 kt". */
export function kt(value) { return Number.isFinite(value) ? t('%(value)s kt', {value: num(value, 0)}) : '—'; }
/** Feet per minute: "-1,500 fpm". */
export function fpm(value) { return Number.isFinite(value) ? t('%(value)s fpm', {value: num(value, 0)}) : '—'; }
/** Degrees (track): "090°". */
export function deg(value) { return Number.isFinite(value) ? `${String(Math.round(value) % 360).padStart(3, '0')}°` : '—'; }

/** Marks a message id for extraction without translating it (translated later with t()). */
export function N_(msgid) { return msgid; }

/**
 * Values the server sends that the screen shows translated (t(value)): alert severities and kinds,
 * conflict outcomes and statuses, notice states, key roles, line sides. Listed so the catalogue
 * check (tests/e2e/test_i18n_catalogue.py) knows they must be in every catalogue.
 */
export const SERVER_VALUES = [
  N_('warning'), N_('caution'), N_('WARNING'), N_('CAUTION'),
  N_('conflict'), N_('incursion'), N_('nonconforming'), N_('CONFLICT'), N_('INCURSION'), N_('NONCONFORMING'),
  N_('recorded'), N_('refused'), N_('active'), N_('resolved'),
  N_('notified'), N_('cancelled'),
  N_('viewer'), N_('duty_officer'), N_('party_admin'), N_('operator'),
  N_('left'), N_('right'),
  N_('%(n)s s'), N_('%(n)s min'), N_('%(n)s h'),
  // subjects of threads the broker opens itself (broker/hotline: open_conflict_thread)
  N_('Advisory conflict (opened by the broker)'),
  N_('Private-mode conflict (opened by the broker)'), // broker/private_relay.py FOUND_SUBJECT
];
