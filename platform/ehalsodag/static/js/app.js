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
  /* A form inside a pushed item that moves or goes when it is used (a question that is approved moves to another
     view, a deleted chat message goes, a block taken live loses its button) answers in its card's status region
     (made once per card, so that it is in the page before it speaks). */
  function cardStatus(form) {
    if (!form.closest(".mod-questions li[data-swap], #mod-chat li[data-swap], #ros-now")) return null;
    var card = form.closest("[data-status-card], .mod-section, .card");
    if (!card) return null;
    var status = card.querySelector(".card-status");
    if (status && status.closest("[data-status-card], .mod-section, .card") === card) return status;
    return null;
  }
  /* A push may have swapped the form while its request was under way: answer in its successor (same id, or the
     same button id), which is in the page. */
  function liveForm(form) {
    if (form.isConnected) return form;
    var twin = form.id ? document.getElementById(form.id) : null;
    var button = twin ? null : form.querySelector("button[id]");
    var other = button ? document.getElementById(button.id) : null;
    twin = twin || (other ? other.closest("form") : null);
    return twin && twin.tagName === "FORM" ? twin : form;
  }
  function ensureCardStatuses() {
    document.querySelectorAll(".control [data-status-card], .control .mod-section").forEach(function (card) {
      var own = Array.prototype.some.call(card.querySelectorAll(".card-status"), function (s) {
        return s.closest("[data-status-card], .mod-section, .card") === card;
      });
      if (own) return;
      var status = document.createElement("p");
      status.className = "card-status form-status";
      status.setAttribute("aria-live", "polite");
      var heading = card.querySelector("h2");
      if (heading && heading.parentNode === card) heading.insertAdjacentElement("afterend", status);
      else card.insertBefore(status, card.firstChild);
    });
  }
  document.addEventListener("DOMContentLoaded", ensureCardStatuses);
  document.addEventListener("ehalsodag:applied", ensureCardStatuses);
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt || evt.detail.elt;
    var form = elt && elt.closest ? elt.closest("form") : null;
    if (!form || !target || target.id !== "control-message") return;
    form = liveForm(form);
    var inCard = cardStatus(form);
    if (inCard) {
      evt.detail.target = inCard;
      return;
    }
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
  /* The "Answered" tab shows the answered questions; the other two the open ones (the list is one: an item that is
     answered changes its class, pushed alone, and so moves between the tabs). */
  function applyTab() {
    var lists = document.getElementById("qa-lists");
    if (lists) lists.setAttribute("data-show", sortMode === "answered" ? "answered" : "open");
  }
  function applySortMode() {
    applyTab();
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
  /* "N characters left" under the question, chat and edit fields: kept current while typing; said aloud (politely,
     once per step) only near the limit, so that typing is not talked over. The limit is the field's data-counter,
     the server's own (rendered from the same constant). */
  var COUNTER_STEPS = [0, 10, 20, 50];
  function counterAnnouncer() {
    var region = document.getElementById("counter-announcer");
    if (!region) {
      region = document.createElement("div");
      region.id = "counter-announcer";
      region.className = "visually-hidden";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    return region;
  }
  function updateCounter(field, announce) {
    var counter = document.getElementById(field.id + "-counter");
    var max = parseInt(field.getAttribute("data-counter"), 10);
    if (!counter || isNaN(max)) return;
    var left = Math.max(0, max - field.value.length);
    var text = (left === 1 ? counter.dataset.one : counter.dataset.many).replace("{n}", String(left));
    if (counter.textContent !== text) counter.textContent = text;
    var step = null;
    COUNTER_STEPS.forEach(function (limit) { if (step === null && left <= limit) step = limit; });
    var previous = field.dataset.counterStep ? parseInt(field.dataset.counterStep, 10) : null;
    field.dataset.counterStep = step === null ? "" : String(step);
    counter.classList.toggle("near-limit", step !== null);
    if (announce && step !== null && (previous === null || step < previous)) counterAnnouncer().textContent = text;
  }
  document.addEventListener("input", function (evt) {
    var field = evt.target;
    if (field && field.hasAttribute && field.hasAttribute("data-counter")) updateCounter(field, true);
  });
  /* An edit box that arrived by a push starts empty: filled with the text to correct when opened. It is filled
     as the summary is activated (click, Enter or Space), before the box opens, so that nothing is written into it
     after the person has started typing; "toggle" comes a task later and only covers other ways of opening, and
     never writes into the field that has the focus. */
  function fillEditBox(box) {
    box.querySelectorAll("textarea[data-fill-from]").forEach(function (field) {
      var source = document.getElementById(field.getAttribute("data-fill-from"));
      if (field.value === "" && source && document.activeElement !== field) {
        field.value = source.textContent.trim();
      }
      updateCounter(field, false);
    });
  }
  document.addEventListener("click", function (evt) {
    var summary = evt.target && evt.target.closest ? evt.target.closest("summary") : null;
    var box = summary && summary.parentElement;
    if (box && box.tagName === "DETAILS" && !box.open && box.firstElementChild === summary) fillEditBox(box);
  }, true);
  document.addEventListener("toggle", function (evt) {
    var box = evt.target;
    if (box && box.tagName === "DETAILS" && box.open) fillEditBox(box);
  }, true);
  document.addEventListener("reset", function (evt) {
    var form = evt.target;
    setTimeout(function () {
      form.querySelectorAll("[data-counter]").forEach(function (field) { updateCounter(field, false); });
    }, 0);
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    applyTab();
    document.querySelectorAll("[data-counter]").forEach(function (field) { updateCounter(field, false); });
    fitScreen();
    startHls();
    updateCountdowns();
    pinChat();
    setInterval(updateCountdowns, 15000);
  });
})();
