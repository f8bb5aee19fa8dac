/* ehalsodag: small progressive enhancements on top of htmx. Everything works without this file. */
(function () {
  "use strict";

  /* After a restart, come back quickly: back off 1.5× per try from one second, never beyond ten
     seconds, with jitter so that thousands of screens do not knock at the same instant. */
  /* A server that is briefly without Redis or its database accepts the socket and closes it at once with
     1012/1013 ("try again later"): that open resets the extension's own count, so keep ours until a frame
     (the snapshot) arrives, and back off as for a refused connection. */
  var tryAgain = 0;
  if (window.htmx) {
    window.htmx.config.wsReconnectDelay = function (retryCount) {
      var delay = Math.min(1000 * Math.pow(1.5, Math.max(retryCount, tryAgain)), 10000);
      return delay * (0.5 + Math.random() / 2);
    };
  }
  document.addEventListener("htmx:wsClose", function (evt) {
    var code = evt.detail && evt.detail.event && evt.detail.event.code;
    if (code === 1012 || code === 1013) tryAgain += 1;
  });
  document.addEventListener("ehalsodag:applied", function () { tryAgain = 0; });

  /* Live pushes are applied by live.js (the frame protocol): it keeps focus, typed text and open boxes. */

  /* Forms that clear after a successful send (the question and chat forms). No inline handlers:
     the Content-Security-Policy allows scripts from this file only. */
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    var ok = evt.detail.xhr && evt.detail.xhr.status >= 200 && evt.detail.xhr.status < 300;
    if (form && form.classList && form.classList.contains("reset-on-success") && ok) form.reset();
  });

  /* A refused form's error is tied to its field (aria-invalid, aria-describedby the message); a later success
     unties it. The typed text stays (only a success resets the form). */
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt && evt.detail.elt.closest ? evt.detail.elt.closest("form") : null;
    var target = evt.detail.target;
    if (!form || !target || !target.id || !evt.detail.xhr) return;
    if (target.classList.contains("form-status")) return;  /* the control panel's forms: the message says which */
    var field = form.querySelector("textarea, input[name=text], fieldset");
    if (!field) return;
    if (evt.detail.xhr.status >= 400) {
      field.setAttribute("aria-invalid", "true");
      var ids = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (ids.indexOf(target.id) < 0) ids.push(target.id);
      field.setAttribute("aria-describedby", ids.join(" "));
    } else {
      field.removeAttribute("aria-invalid");
    }
  });

  /* Multiple choice: a tick beyond the poll's maximum is undone at once, and the page says why. */
  document.addEventListener("change", function (evt) {
    var box = evt.target;
    if (!box || box.type !== "checkbox") return;
    var group = box.closest("fieldset[data-max-picks]");
    if (!group || !box.checked) return;
    var max = parseInt(group.dataset.maxPicks, 10);
    if (group.querySelectorAll("input[type=checkbox]:checked").length <= max) return;
    box.checked = false;
    var form = group.closest("form");
    var message = form ? form.querySelector(".poll-message") : null;
    if (message) {
      var p = document.createElement("p");
      p.className = "message message-error";
      p.textContent = group.dataset.maxText;
      message.replaceChildren(p);
    }
  });

  /* Control panel: each form's answer (done or refused) appears next to its own submit button in a polite live
     region, not in the message area at the top of the page; a form that succeeded starts empty again (its
     defaults), unless it shows the current state (data-keep-values: the announcement). */
  var statusCount = 0;
  function formStatus(form, html) {
    var status = form.querySelector(".form-status");
    if (status) return status;
    status = document.createElement("div");
    if (html) status.innerHTML = html;  /* put back after a push: present before the region is, so not re-read */
    status.className = "form-status";
    status.id = "form-status-" + (++statusCount);
    status.setAttribute("aria-live", "polite");
    var buttons = form.querySelectorAll("button[type=submit], button:not([type])");
    var last = buttons.length ? buttons[buttons.length - 1] : null;
    var anchor = last ? (last.closest(".button-row") || last) : null;
    if (anchor && form.contains(anchor)) anchor.insertAdjacentElement("afterend", status);
    else form.appendChild(status);
    return status;
  }
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt || evt.detail.elt;
    var form = elt && elt.closest ? elt.closest("form") : null;
    if (!form || !target || target.id !== "control-message") return;
    evt.detail.target = formStatus(form);
    var status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    if (status >= 200 && status < 300 && !form.hasAttribute("data-keep-values")) form.reset();
  });
  /* A push may redraw the form that was just used (a switch's label changes): its answer stays beside it. */
  var lastStatus = null;
  function formKey(form) {
    var button = form.querySelector("button[id]");
    return button ? "#" + button.id : form.getAttribute("action");
  }
  document.addEventListener("htmx:afterRequest", function (evt) {
    var target = evt.detail.target;
    var form = target && target.classList && target.classList.contains("form-status") ? target.closest("form") : null;
    if (!form) return;
    var around = form.parentElement ? form.parentElement.closest("[id]") : null;
    lastStatus = {key: formKey(form), html: target.innerHTML, until: Date.now() + 15000,
                  around: around ? around.id : null};
  });
  document.addEventListener("ehalsodag:applied", function () {
    if (!lastStatus || Date.now() > lastStatus.until) return;
    var form = null;
    if (lastStatus.key.charAt(0) === "#") {
      var button = document.getElementById(lastStatus.key.slice(1));
      form = button ? button.closest("form") : null;
    } else {
      document.querySelectorAll("form").forEach(function (f) { if (f.getAttribute("action") === lastStatus.key) form = f; });
    }
    if (form) {
      if (!form.querySelector(".form-status")) formStatus(form, lastStatus.html);
      return;
    }
    /* The form is gone (a block that went live has no "go live" button): the answer stays where it was. */
    var place = lastStatus.around ? document.getElementById(lastStatus.around) : null;
    if (place && place.tagName === "TR") place = place.lastElementChild;
    if (!place || place.querySelector(".form-status")) return;
    var status = document.createElement("div");
    status.className = "form-status";
    status.innerHTML = lastStatus.html;
    status.setAttribute("aria-live", "polite");
    place.appendChild(status);
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

  /* Q&A: most upvoted first (the server's order, data-sort) or newest first (data-time, descending). live.js keeps
     the chosen order as items arrive, moving other items rather than the one holding the focus. */
  var sortMode = "votes";
  function applySortMode() {
    var list = document.getElementById("question-list");
    if (!list || !window.ehalsodagLive) return;
    if (sortMode === "time") {
      list.setAttribute("data-order", "data-time");
      list.setAttribute("data-order-dir", "desc");
    } else {
      list.removeAttribute("data-order");
      list.removeAttribute("data-order-dir");
    }
    window.ehalsodagLive.reorder(list);
  }
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-sort-questions]");
    if (!button) return;
    sortMode = button.dataset.sortQuestions;
    document.querySelectorAll("[data-sort-questions]").forEach(function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    applySortMode();
  });
  /* An upvote shows at once; the attendee's own push confirms it a moment later. */
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form || !form.classList || !form.classList.contains("upvote-form")) return;
    var button = form.querySelector("button[aria-pressed]");
    if (button) button.setAttribute("aria-pressed", button.getAttribute("aria-pressed") === "true" ? "false" : "true");
  });

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

  /* Presenter screen: a long question (up to 500 characters) is fitted to the screen: its text shrinks step by
     step until nothing runs off the bottom, never below 28 px (readable from the back of a room at 1080p). */
  function fitScreen() {
    if (!document.body.classList.contains("screen")) return;
    var question = document.querySelector(".screen-question");
    if (!question) return;
    question.style.fontSize = "";
    var size = parseFloat(getComputedStyle(question).fontSize);
    var root = document.documentElement;
    while (root.scrollHeight > window.innerHeight && size > 28) {
      size = Math.max(28, size * 0.9);
      question.style.fontSize = size + "px";
    }
  }
  window.addEventListener("resize", fitScreen);

  document.addEventListener("ehalsodag:applied", function () {
    fitScreen();
    startHls(); updateCountdowns(); if (sortMode !== "votes") applySortMode(); pinChat();
  });
  document.addEventListener("DOMContentLoaded", function () {
    fitScreen();
    startHls();
    updateCountdowns();
    pinChat();
    setInterval(updateCountdowns, 15000);
  });
})();
