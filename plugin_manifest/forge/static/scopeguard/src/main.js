// ScopeGuard's Custom UI: one bundle for both modules. The module type from
// the Forge context decides what to ask ScopeGuard for; which project and issue
// ScopeGuard answers about comes from the signed invocation token, not from here.
import { invokeRemote, router, view } from '@forge/bridge';

import { messagesFor } from './messages.js';
import { renderError, renderIssue, renderLoading, renderProject } from './render.js';

const ENDPOINTS = {
  'jira:projectPage': '/forge/v1/project-summary',
  'jira:issuePanel': '/forge/v1/issue-trail',
};

class RemoteError extends Error {
  constructor(status, body) {
    super((body && body.message) || `ScopeGuard answered ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** GET a ScopeGuard endpoint through Forge Remote; its JSON body, or a RemoteError. */
async function callScopeGuard(path) {
  const response = await invokeRemote({ path, method: 'GET' });
  const status = response && typeof response.status === 'number' ? response.status : 0;
  if (status < 200 || status >= 300 || !response.body) {
    throw new RemoteError(status, response && response.body);
  }
  return response.body;
}

const actions = {
  openIssue: (key) => router.navigate(`/browse/${encodeURIComponent(key)}`),
  openDashboard: (url) => router.open(url),
};

async function main() {
  const root = document.getElementById('root');
  let t = messagesFor(undefined);
  try {
    const context = await view.getContext();
    t = messagesFor(context && context.locale);
    document.documentElement.lang = t.locale;
    renderLoading(root, t);
    const type = context && context.extension && context.extension.type;
    const path = ENDPOINTS[type] || ENDPOINTS['jira:projectPage'];
    const body = await callScopeGuard(path);
    if (type === 'jira:issuePanel') {
      renderIssue(root, body, t, actions);
    } else {
      renderProject(root, body, t, actions);
    }
  } catch (error) {
    // A RemoteError, or the bridge's rejection (which may carry the status).
    const status = error && typeof error.status === 'number' ? error.status : '';
    renderError(root, t, status === 404 ? t.noClient : t.failed);
    console.warn('ScopeGuard:', status, error && error.message);
  }
}

main();
