// Unit tests for ../static/ibm.js (IBM's embed snippet as a file) and for
// ../static/app.js in IBM mode, run by TestStandinChatScript:
// node --test examples/webchat/testdata/ibm.test.js
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const read = (name) => fs.readFileSync(path.join(__dirname, '..', 'static', name), 'utf8');

// page makes a fake document in IBM mode and a fake webchatid that records calls.
function page() {
  const appended = [];
  const elements = {};
  const el = (id) =>
    (elements[id] = elements[id] || {
      id,
      textContent: '',
      disabled: true,
      listeners: {},
      addEventListener(type, fn) {
        this.listeners[type] = fn;
      },
    });
  const calls = [];
  const window = {};
  const ctx = vm.createContext({
    window,
    document: {
      body: { dataset: { mode: 'ibm', integrationId: 'int-1', region: 'us-south', serviceInstanceId: 'svc-1' } },
      head: { appendChild: (n) => appended.push(n) },
      createElement: (tag) => ({ tag }),
      getElementById: (id) => (id === 'messages' ? null : el(id)), // no chat box in IBM mode
    },
    webchatid: {
      attach: (inst) => calls.push(['attach', inst]),
      login: () => (calls.push(['login']), Promise.resolve('t')),
      logout: (opts) => (calls.push(['logout', opts]), Promise.resolve()),
    },
    fetch: () => Promise.resolve({ ok: true, json: async () => ({ logged_in: true, name: 'Cade' }) }),
  });
  ctx.window = ctx; // scripts use both window.x and bare globals
  return { ctx, appended, calls, el };
}

test('ibm.js sets IBM embed options from the page and loads the entry script from the CDN', async () => {
  const { ctx, appended, calls } = page();
  vm.runInContext(read('ibm.js'), ctx);
  const opts = ctx.watsonAssistantChatOptions;
  assert.equal(opts.integrationID, 'int-1');
  assert.equal(opts.region, 'us-south');
  assert.equal(opts.serviceInstanceID, 'svc-1');
  assert.equal(appended.length, 1);
  assert.equal(
    appended[0].src,
    'https://web-chat.global.assistant.watson.appdomain.cloud/versions/latest/WatsonAssistantChatEntry.js'
  );
  let rendered = 0;
  const inst = { render: async () => rendered++ };
  await opts.onLoad(inst);
  assert.deepEqual(calls, [['attach', inst]]);
  assert.equal(rendered, 1);
});

test('app.js in IBM mode logs out with webchatid.js\'s default way (destroySession and a reload, as IBM documents)', async () => {
  const { ctx, calls, el } = page();
  vm.runInContext(read('app.js'), ctx);
  for (let i = 0; i < 20 && !el('greeting').textContent; i++) await new Promise((r) => setTimeout(r, 0));
  assert.equal(el('greeting').textContent, 'Welcome back, Cade!');
  el('login').listeners.click();
  assert.equal(calls.length, 1);
  assert.equal(calls[0][0], 'logout');
  // No destroy option: the helper's default sessionEnd, 'reload', applies.
  assert.deepEqual({ ...calls[0][1] }, { rotateAnonymousID: false });
});
