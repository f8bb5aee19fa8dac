/* ehalsodag: small progressive enhancements on top of htmx. Everything works without this file. */
(function () {
  "use strict";

  /* After a restart, come back quickly: back off 1.5× per try from one second, never beyond ten
     seconds, with jitter so that thousands of screens do not knock at the same instant. */
  if (window.htmx) {
    window.htmx.config.wsReconnectDelay = function (retryCount) {
      var delay = Math.min(1000 * Math.pow(1.5, retryCount), 10000);
      return delay * (0.5 + Math.random() / 2);
    };
  }

  /* A live update must not take the focus away: if the element being replaced holds the focus,
     focus its counterpart in the new content afterwards (without scrolling). */
  var refocus = null;
  function focusKey(el) {
    if (el.id) return "#" + CSS.escape(el.id);
    var key = el.tagName.toLowerCase();
    if (el.dataset.questionId) key += '[data-question-id="' + el.dataset.questionId + '"]';
    if (el.name) key += '[name="' + CSS.escape(el.name) + '"]';
    if (el.value && (el.type === "radio" || el.type === "checkbox" || el.type === "hidden")) {
      key += '[value="' + CSS.escape(el.value) + '"]';
    }
    var form = el.closest("form[action]");
    return form ? 'form[action="' + form.getAttribute("action") + '"] ' + key : key;
  }
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var active = document.activeElement;
    if (evt.detail.target && active && active !== document.body && evt.detail.target.contains(active)) {
      refocus = focusKey(active);
    }
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!refocus) return;
    var again = document.querySelector(refocus);
    refocus = null;
    if (again) again.focus({ preventScroll: true });
  });

  /* Keep a playing stream playing: a push that carries the same embed does not replace it. */
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || target.id !== "player") return;
    var current = target.querySelector(":scope > .player-frame");
    var incoming = evt.detail.fragment && evt.detail.fragment.querySelector(".player-frame");
    var sameFilm = (target.querySelector("details.film .player-frame") || {}).dataset;
    var newFilm = evt.detail.fragment && evt.detail.fragment.querySelector("details.film .player-frame");
    var filmUnchanged = (!sameFilm && !newFilm) || (sameFilm && newFilm && sameFilm.embed === newFilm.dataset.embed);
    if (current && incoming && current.dataset.embed === incoming.dataset.embed && filmUnchanged) {
      evt.detail.shouldSwap = false;
    }
  });

  /* Forms that clear after a successful send (the question and chat forms). No inline handlers:
     the Content-Security-Policy allows scripts from this file only. */
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (form && form.classList && form.classList.contains("reset-on-success") && evt.detail.successful) form.reset();
  });
  document.addEventListener("click", function (evt) {
    if (evt.target.closest && evt.target.closest("[data-print]")) window.print();
  });

  /* HLS streams through the vendored hls.js (Safari plays HLS natively). */
  function startHls(root) {
    (root || document).querySelectorAll("video[data-hls-src]").forEach(function (video) {
      if (video.dataset.hlsStarted) return;
      video.dataset.hlsStarted = "1";
      var src = video.dataset.hlsSrc;
      if (video.canPlayType("application/vnd.apple.mpegurl")) { video.src = src; return; }
      var load = function () {
        if (window.Hls && window.Hls.isSupported()) {
          var hls = new window.Hls();
          hls.loadSource(src);
          hls.attachMedia(video);
        }
      };
      if (window.Hls) { load(); return; }
      var script = document.createElement("script");
      script.src = "/static/vendor/hls.light-1.7.4.min.js";
      script.onload = load;
      document.head.appendChild(script);
    });
  }

  /* "N min left", kept current between pushes. */
  function updateCountdowns() {
    document.querySelectorAll("[data-countdown-to]").forEach(function (el) {
      var left = Math.ceil((new Date(el.dataset.countdownTo) - new Date()) / 60000);
      if (left < 0) left = 0;
      var number = el.querySelector(".countdown-n");
      if (number) number.textContent = String(left);
    });
  }

  function setConnection(state) {
    var el = document.getElementById("connection");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = state === "open" ? el.dataset.connectedText : el.dataset.reconnectingText;
  }

  /* Q&A: sort by votes or time (the server sends most upvoted first); remember one's own upvotes. */
  var sortMode = "votes";
  function sortQuestions() {
    var list = document.getElementById("question-list");
    if (!list) return;
    var items = Array.prototype.slice.call(list.querySelectorAll(":scope > li.question"));
    items.sort(function (a, b) {
      var key = sortMode === "time" ? "time" : "votes";
      var diff = Number(b.dataset[key]) - Number(a.dataset[key]);
      return diff !== 0 ? diff : Number(a.dataset.time) - Number(b.dataset.time);
    });
    items.forEach(function (li) { list.appendChild(li); });
  }
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-sort]");
    if (!button) return;
    sortMode = button.dataset.sort;
    document.querySelectorAll("[data-sort]").forEach(function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    sortQuestions();
  });
  var upvoted = {};
  /* Decide when the request leaves: a push may replace (detach) the button before the answer comes back. */
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form || !form.classList || !form.classList.contains("upvote-form")) return;
    var button = form.querySelector("[data-question-id]");
    upvoted[button.dataset.questionId] = button.getAttribute("aria-pressed") !== "true";
    restoreUpvotes();
  });
  function restoreUpvotes() {
    document.querySelectorAll(".upvote[data-question-id]").forEach(function (button) {
      var id = button.dataset.questionId;
      if (id in upvoted) button.setAttribute("aria-pressed", upvoted[id] ? "true" : "false");
    });
    /* A question of one's own that is now approved leaves the "waiting" list. */
    document.querySelectorAll("#my-questions [data-question-id]").forEach(function (li) {
      if (document.getElementById("q-" + li.dataset.questionId)) li.remove();
    });
  }

  document.addEventListener("htmx:wsOpen", function () { setConnection("open"); });
  document.addEventListener("htmx:wsClose", function (evt) {
    setConnection("closed");
    /* The server says "going away" (1001) when it restarts or a worker stops; the ws extension only
       reconnects by itself after abnormal closes, so come back here (with jitter). */
    var code = evt.detail && evt.detail.event && evt.detail.event.code;
    if (code === 1001 && evt.detail.socketWrapper && !leaving) {
      setTimeout(evt.detail.socketWrapper.reconnect, 500 + Math.random() * 1500);
    }
  });
  var leaving = false;
  window.addEventListener("pagehide", function () { leaving = true; });
  /* The chat log shows the newest message at the bottom: stay there unless the reader scrolled up. */
  var chatPinned = true;
  document.addEventListener("scroll", function (evt) {
    var log = evt.target;
    if (log && log.id === "chat-log") chatPinned = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  }, true);
  function pinChat() {
    var log = document.getElementById("chat-log");
    if (log && chatPinned) log.scrollTop = log.scrollHeight;
  }

  document.addEventListener("htmx:wsAfterMessage", function () {
    startHls(); updateCountdowns(); sortQuestions(); restoreUpvotes(); pinChat();
  });
  document.addEventListener("DOMContentLoaded", function () {
    startHls();
    updateCountdowns();
    pinChat();
    setInterval(updateCountdowns, 15000);
  });
})();
