// The UI's words in English and Russian, chosen from the Jira user's locale.

const EN = {
  title: 'ScopeGuard',
  loading: 'Loading ScopeGuard figures…',
  failed: 'ScopeGuard could not be reached or refused this request.',
  noClient: 'No ScopeGuard client is mapped to this project.',
  health: { ok: 'On track', warning: 'Warning', breach: 'Contract breached' },
  asOf: 'As of',
  lastSync: 'last sync',
  never: 'never',
  scope: 'Scope against the contract',
  unit: 'Unit',
  units: { issues: 'Issues', story_points: 'Story points', hours: 'Hours' },
  contracted: 'Contracted',
  approved: 'Approved changes',
  creep: 'Creep',
  creepPercent: 'Creep %',
  overLimit: 'Deliverables past their revision allowance',
  noneOverLimit: 'No deliverable is past its revision allowance.',
  roundsOf: (used, allowed) => `${used} of ${allowed} revision rounds`,
  reopens: 'Reopened',
  overage: 'Billable overage',
  overageDetail: (rounds, hours) => `${rounds} extra rounds, ${hours} h of creep`,
  dashboard: 'Open the full ScopeGuard dashboard',
  notTracked: 'This issue is outside the contract scope ScopeGuard tracks for this project.',
  trail: 'Revision rounds',
  noRounds: 'No revision rounds yet.',
  reopen: 'reopened',
  beyond: 'beyond allowance',
  by: 'by',
  overAllowance: 'Past the included revision rounds',
  withinAllowance: 'Within the included revision rounds',
};

const RU = {
  title: 'ScopeGuard',
  loading: 'Загружаем данные ScopeGuard…',
  failed: 'ScopeGuard недоступен или отклонил запрос.',
  noClient: 'Этот проект не связан ни с одним клиентом ScopeGuard.',
  health: { ok: 'В рамках', warning: 'Внимание', breach: 'Договор нарушен' },
  asOf: 'На',
  lastSync: 'синхронизация',
  never: 'не было',
  scope: 'Объём работ относительно договора',
  unit: 'Единица',
  units: { issues: 'Задачи', story_points: 'Стори-поинты', hours: 'Часы' },
  contracted: 'По договору',
  approved: 'Согласованные изменения',
  creep: 'Разрастание',
  creepPercent: 'Разрастание, %',
  overLimit: 'Результаты сверх лимита правок',
  noneOverLimit: 'Ни один результат не превысил лимит правок.',
  roundsOf: (used, allowed) => `${used} из ${allowed} кругов правок`,
  reopens: 'Переоткрыто',
  overage: 'К доплате',
  overageDetail: (rounds, hours) => `лишних кругов: ${rounds}, часов разрастания: ${hours}`,
  dashboard: 'Открыть полную панель ScopeGuard',
  notTracked: 'Эта задача вне объёма договора, который ScopeGuard отслеживает в этом проекте.',
  trail: 'Круги правок',
  noRounds: 'Кругов правок пока не было.',
  reopen: 'переоткрыта',
  beyond: 'сверх лимита',
  by: 'автор',
  overAllowance: 'Лимит правок превышен',
  withinAllowance: 'В пределах лимита правок',
};

/** Messages and a BCP 47 locale for number and date formatting. */
export function messagesFor(locale) {
  const tag = typeof locale === 'string' && locale ? locale.replace('_', '-') : 'en-US';
  const words = tag.toLowerCase().startsWith('ru') ? RU : EN;
  return { ...words, locale: tag };
}
