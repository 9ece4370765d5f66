// The demo page: a Login/Logout button and a greeting that follow the session
// (read from /session, because the session cookie is HttpOnly), and, without
// IBM settings, a small chat box talking to the stand-in through StandinChat.
(function () {
  'use strict';

  var button = document.getElementById('login');
  var greeting = document.getElementById('greeting');
  var messages = document.getElementById('messages');
  var loggedIn = false;

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function note(text, className) {
    if (!messages) return;
    messages.appendChild(el('li', className || 'note', text));
    messages.scrollTop = messages.scrollHeight;
  }

  function refreshGreeting() {
    return fetch('/session', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (s) {
        loggedIn = !!s.logged_in;
        greeting.textContent = loggedIn ? 'Welcome back, ' + s.name + '!' : 'Hello, anonymous visitor.';
        button.textContent = loggedIn ? 'Logout' : 'Login';
        button.disabled = false;
        document.body.dataset.loggedIn = String(loggedIn);
      })
      .catch(function (err) {
        greeting.textContent = 'Could not read the session: ' + err.message;
        button.disabled = false;
      });
  }

  // Logging out ends web chat's session as IBM documents it (webchatid.js's
  // sessionEnd, set on its script tag: destroySession() and a page reload by
  // default, or destroy() and destroySession() with -session-end destroy). The
  // "shared device" box (-logout-policy on-request) asks the server for a new
  // anonymous ID, so the next person does not continue this one's sub.
  // https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-security-authenticate
  var shared = document.getElementById('shared-device');

  button.addEventListener('click', function () {
    button.disabled = true;
    var action = loggedIn ? webchatid.logout({ rotateAnonymousID: !!(shared && shared.checked) }) : webchatid.login();
    action
      .then(function (token) {
        if (loggedIn) note('Logged out: web chat\'s session ended.');
        else if (token) note('Logged in as Cade: web chat got a new token with the same sub.');
        else note('Logged in as Cade: sub changed, so web chat\'s session ended and a new one started.');
      })
      .catch(function (err) {
        note(err.message, 'error');
      })
      .then(refreshGreeting);
  });

  refreshGreeting();

  if (document.body.dataset.mode !== 'standin') return;

  var chat;
  // createChat makes a stand-in web chat and attaches webchatid.js to it: at
  // page load, and after webchatid.js destroyed the previous one
  // (-session-end destroy).
  function createChat() {
    var c = new window.StandinChat({
      url: '/standin/message',
      onChange: function (what) {
        if (c !== chat) return;
        document.getElementById('token-count').textContent = String(c.stats.tokens);
        document.getElementById('expired-count').textContent = String(c.stats.expired);
        document.getElementById('asked-count').textContent = String(c.stats.asked);
        if (what === 'expired') {
          note('The token was refused: web chat fired identityTokenExpired, ' +
            'webchatid.js fetched a new token and the message was sent again.');
        }
        if (what === 'destroyed') {
          messages.textContent = '';
          note('Session destroyed, as IBM advises.');
        }
      },
    });
    chat = c;
    webchatid.attach(c);
    window.demoChat = c;
    return c;
  }
  webchatid.configure({
    onDestroy: function () {
      createChat();
      note('Web chat destroyed and created again, without a page reload.');
    },
  });
  createChat();

  function answer(body) {
    var sys = body.system_integrations || {};
    var sub = sys.channel && sys.channel.private && sys.channel.private.user && sys.channel.private.user.id;
    var payload = sys.chat && sys.chat.private && sys.chat.private.user_payload;
    var stats = body.stand_in || {};
    var li = el('li', 'bot', body.output && body.output.text);
    li.dataset.sub = sub || '';
    li.dataset.customUserId = (payload && payload.custom_user_id) || '';
    li.dataset.name = (payload && payload.name) || '';
    li.dataset.expiresAt = stats.token_expires_at || '';
    li.dataset.expiredRefused = String(stats.expired_tokens_refused || 0);
    li.dataset.subChangesRefused = String(stats.sub_changes_refused || 0);
    li.appendChild(
      el(
        'pre',
        '',
        'system_integrations.channel.private.user.id = ' + sub + '\n' +
          'system_integrations.chat.private.user_payload = ' +
          (stats.user_payload === 'unreadable' ? '(encrypted for IBM: unreadable here)' : JSON.stringify(payload, null, 1)) +
          (stats.user_payload_note ? '\n(' + stats.user_payload_note + ')' : '')
      )
    );
    messages.appendChild(li);
    messages.scrollTop = messages.scrollHeight;
  }

  document.getElementById('chat-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var input = document.getElementById('chat-input');
    var text = input.value.trim();
    if (!text) return;
    input.value = '';
    messages.appendChild(el('li', 'user', text));
    chat.send(text).then(answer, function (err) {
      note('Not delivered: ' + err.message, 'error');
    });
  });
})();
