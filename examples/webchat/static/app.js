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

  // With IBM's web chat, log out as IBM documents it: destroySession() and a
  // page reload (webchatid.logout's reload option); the new page starts a new
  // web chat session. The stand-in keeps the page and takes a new anonymous
  // token, as in IBM's mid-session tutorial.
  // https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-security-authenticate
  var logoutOptions = document.body.dataset.mode === 'ibm' ? { reload: true } : undefined;

  button.addEventListener('click', function () {
    button.disabled = true;
    var action = loggedIn ? webchatid.logout(logoutOptions) : webchatid.login();
    action
      .then(function () {
        note(loggedIn ? 'Logged out: web chat got an anonymous token.' : 'Logged in as Cade: web chat got a new token with the same sub.');
      })
      .catch(function (err) {
        note(err.message, 'error');
      })
      .then(refreshGreeting);
  });

  refreshGreeting();

  if (document.body.dataset.mode !== 'standin') return;

  var chat = new window.StandinChat({
    url: '/standin/message',
    onChange: function (what) {
      document.getElementById('token-count').textContent = String(chat.stats.tokens);
      document.getElementById('expired-count').textContent = String(chat.stats.expired);
      if (what === 'expired') {
        note('The token expired: the stand-in refused it, web chat fired identityTokenExpired, ' +
          'webchatid.js fetched a new token and the message was sent again.');
      }
      if (what === 'destroyed') {
        messages.textContent = '';
        note('Session destroyed (logout), as IBM advises.');
      }
    },
  });
  webchatid.attach(chat);
  window.demoChat = chat;

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
