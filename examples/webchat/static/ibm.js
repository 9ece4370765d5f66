// Loads IBM's web chat from IBM's CDN with the settings the server put on
// <body data-…>, and hands the instance to webchatid.js. (IBM's embed snippet
// is an inline script; this is the same code as a file, for a strict CSP.)
(function () {
  'use strict';
  var d = document.body.dataset;
  window.watsonAssistantChatOptions = {
    integrationID: d.integrationId,
    region: d.region,
    serviceInstanceID: d.serviceInstanceId,
    onLoad: function (instance) {
      webchatid.attach(instance); // answers identityTokenExpired from /createJWT
      window.demoChat = instance;
      return instance.render();
    },
  };
  var s = document.createElement('script');
  s.src = 'https://web-chat.global.assistant.watson.appdomain.cloud/versions/latest/WatsonAssistantChatEntry.js';
  document.head.appendChild(s);
})();
