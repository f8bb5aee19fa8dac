/* ehalsodag safety: "Undo" beside a moderator's action for its 10 seconds, kept in the same card when a push takes
   the item away (a hidden question, a deleted message); the shift form's button waits for its answer. Everything
   works without this file: the server refuses a late undo, and plain forms come back to the panel with the undo. */
(function () {
  "use strict";
  var undone = {};
  var tracked = [];

  function until(box) { return new Date(box.getAttribute("data-undo-until")).getTime(); }
  function left(ms) { return Math.ceil((ms - Date.now()) / 1000); }

  /* the card (section) an element is in: where its undo stays when the element itself goes */
  function home(el) {
    var place = el && el.closest ? el.closest("[data-undo-home], section[id], [role=tabpanel][id], .card[id]") : null;
    return place ? place.id : null;
  }

  function tick() {
    document.querySelectorAll("[data-undo-until]").forEach(function (box) {
      var ms = until(box);
      if (isNaN(ms)) return;
      var id = box.getAttribute("data-undo-id");
      if (left(ms) <= 0 || undone[id]) {
        var slot = box.closest(".undo-slot");
        var status = box.closest(".form-status");
        box.remove();
        if (slot && !slot.textContent.trim()) slot.remove();
        /* an answer put back beside a redrawn form ("hidden") is stale once undone */
        else if (undone[id] && status && !slot && !status.ehdPending) status.remove();
        return;
      }
      var n = box.querySelector(".undo-seconds");
      if (n) n.textContent = String(left(ms));
    });
    tracked = tracked.filter(function (t) { return left(t.until) > 0 && !undone[t.id]; });
  }

  function place(t) {
    if (document.querySelector('[data-undo-id="' + t.id + '"]')) return;
    var card = t.home ? document.getElementById(t.home) : null;
    if (!card) return;
    var slot = card.querySelector(":scope > .undo-slot");
    if (!slot) {
      slot = document.createElement("div");
      slot.className = "form-status undo-slot";
      slot.setAttribute("aria-live", "polite");
      var heading = card.querySelector(":scope > h2, :scope > h3");
      if (heading) heading.insertAdjacentElement("afterend", slot); else card.prepend(slot);
    }
    slot.innerHTML = t.html;
    if (window.htmx) window.htmx.process(slot);
  }

  function keepAll() {
    tick();
    tracked.forEach(place);
    if (window.htmx) {
      document.querySelectorAll("[data-undo-until]").forEach(function (box) { window.htmx.process(box); });
    }
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    if (elt) elt.ehdUndoHome = home(elt);
    /* pressed: never offered again (nor put back over its answer) */
    if (elt && elt.getAttribute && elt.getAttribute("data-undo-for")) {
      undone[elt.getAttribute("data-undo-for")] = true;
      var answer = elt.closest(".form-status");
      if (answer) answer.ehdPending = true;  /* where the undo's own answer goes: kept */
    }
    var form = elt && elt.closest ? elt.closest("form") : null;
    if (form && /\/control\/shift$/.test(form.getAttribute("action") || "")) {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt;
    var ok = evt.detail.xhr && evt.detail.xhr.status >= 200 && evt.detail.xhr.status < 300;
    var form = elt && elt.closest ? elt.closest("form") : null;
    if (form && /\/control\/shift$/.test(form.getAttribute("action") || "")) {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      if (ok) form.reset();  /* a second click must not shift again */
    }
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt || evt.detail.elt;
    var target = evt.detail.target;
    if (!target || !target.querySelectorAll) return;
    target.querySelectorAll("[data-undo-until]").forEach(function (box) {
      var id = box.getAttribute("data-undo-id");
      if (tracked.some(function (t) { return t.id === id; })) return;
      tracked.push({id: id, until: until(box), html: box.outerHTML,
                    home: (box.isConnected && home(box)) || (elt && elt.ehdUndoHome) || null});
    });
    setTimeout(keepAll, 0);  /* a push may already have taken the item away */
  });

  document.addEventListener("ehalsodag:applied", keepAll);
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
