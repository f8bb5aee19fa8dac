/* ehalsodag: a ranking poll ordered by dragging (mouse, pen, touch: pointer events) or with the keyboard (a
   "move up" and a "move down" button on every option), announced in a polite live region ("Vårdpersonal,
   plats 2 av 5").

   The server's markup is one empty drop-down per place (templates/polls/form.html), which is what a page
   without JavaScript uses. Here the drop-downs are hidden and stay the form's fields: they are filled from the
   list only once the attendee has ordered it, by moving an option or by pressing "I am happy with this order"
   (an attendee who agrees with the shown order must be able to vote too, but not by doing nothing). Until then
   the send button says why it does nothing, and the server refuses a ranking that is not complete anyway.

   The form is kept by the live layer when its poll is pushed (data-keep), so a results update never resets the
   order being made; a form the server replaces (the attendee's own answer was stored) is enhanced again. */
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (all, name) { return values[name] !== undefined ? values[name] : all; });
  }

  function selectsOf(fieldset) {
    return Array.prototype.slice.call(fieldset.querySelectorAll("select[name=ranking]"));
  }

  function itemsOf(list) {
    return Array.prototype.slice.call(list.children);
  }

  /* The options in the order to show: the attendee's stored ranking when every place is filled, else as listed. */
  function startOrder(fieldset) {
    var selects = selectsOf(fieldset);
    var options = [];
    if (!selects.length) return { options: options, ordered: false };
    Array.prototype.forEach.call(selects[0].options, function (o) {
      if (o.value) options.push({ id: o.value, label: o.textContent });
    });
    var chosen = selects.map(function (s) { return s.value; });
    var complete = chosen.every(Boolean) && new Set(chosen).size === options.length;
    if (!complete) return { options: options, ordered: false };
    var byId = {};
    options.forEach(function (o) { byId[o.id] = o; });
    return { options: chosen.map(function (id) { return byId[id]; }), ordered: true };
  }

  function makeButton(className, text, label) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary " + className;
    var icon = document.createElement("span");
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = className === "rank-up" ? "↑" : "↓";
    var name = document.createElement("span");
    name.className = "visually-hidden";
    name.textContent = text + ": " + label;
    button.appendChild(icon);
    button.appendChild(name);
    return button;
  }

  function enhance(fieldset) {
    if (fieldset.hasAttribute("data-rank-ready")) return;
    fieldset.querySelectorAll(".rank-ui").forEach(function (old) { old.remove(); });
    var start = startOrder(fieldset);
    if (!start.options.length) return;
    var form = fieldset.closest("form");
    var t = fieldset.dataset;
    var base = (form && form.id) || "rank";

    var ui = document.createElement("div");
    ui.className = "rank-ui";
    var how = document.createElement("p");
    how.className = "help";
    how.id = base + "-how";
    how.textContent = t.textHow;
    var list = document.createElement("ol");
    list.className = "rank-list";
    list.setAttribute("aria-describedby", how.id);
    start.options.forEach(function (o) {
      var li = document.createElement("li");
      li.className = "rank-item";
      li.dataset.optionId = o.id;
      li.dataset.label = o.label;
      var grip = document.createElement("span");
      grip.className = "rank-grip";
      grip.setAttribute("aria-hidden", "true");
      grip.textContent = "⠿";
      var label = document.createElement("span");
      label.className = "rank-label";
      label.textContent = o.label;
      var buttons = document.createElement("span");
      buttons.className = "rank-buttons";
      buttons.appendChild(makeButton("rank-up", t.textUp, o.label));
      buttons.appendChild(makeButton("rank-down", t.textDown, o.label));
      li.appendChild(grip);
      li.appendChild(label);
      li.appendChild(buttons);
      list.appendChild(li);
    });
    var ok = document.createElement("button");
    ok.type = "button";
    ok.className = "secondary rank-ok";
    ok.textContent = t.textOk;
    var live = document.createElement("p");
    live.className = "rank-live visually-hidden";
    live.setAttribute("aria-live", "polite");
    ui.appendChild(how);
    ui.appendChild(list);
    ui.appendChild(ok);
    ui.appendChild(live);
    fieldset.appendChild(ui);
    fieldset.querySelectorAll(".rank-row").forEach(function (row) { row.hidden = true; });
    fieldset.setAttribute("data-rank-ready", "");
    setOrdered(fieldset, start.ordered);
    refreshButtons(list);
  }

  function refreshButtons(list) {
    var items = itemsOf(list);
    items.forEach(function (li, i) {
      li.querySelector(".rank-up").setAttribute("aria-disabled", i === 0 ? "true" : "false");
      li.querySelector(".rank-down").setAttribute("aria-disabled", i === items.length - 1 ? "true" : "false");
    });
  }

  /* The hidden drop-downs follow the list once it is the attendee's order; before that they stay empty. */
  function setOrdered(fieldset, ordered) {
    var list = fieldset.querySelector(".rank-list");
    var form = fieldset.closest("form");
    var send = form ? form.querySelector("button[type=submit]") : null;
    if (ordered) fieldset.setAttribute("data-ordered", "");
    else fieldset.removeAttribute("data-ordered");
    var ok = fieldset.querySelector(".rank-ok");
    if (ok) ok.setAttribute("aria-pressed", ordered ? "true" : "false");
    var selects = selectsOf(fieldset);
    var items = list ? itemsOf(list) : [];
    selects.forEach(function (select, i) { select.value = ordered && items[i] ? items[i].dataset.optionId : ""; });
    if (send) {
      if (ordered) send.removeAttribute("aria-disabled");
      else send.setAttribute("aria-disabled", "true");
    }
  }

  function announce(fieldset, text) {
    var live = fieldset.querySelector(".rank-live");
    if (!live) return;
    /* The same words twice in a row are still read: the region is emptied first. */
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  function placeText(fieldset, li) {
    var items = itemsOf(li.parentNode);
    return fill(fieldset.dataset.textPlace, { label: li.dataset.label, place: items.indexOf(li) + 1, count: items.length });
  }

  function moved(fieldset, li) {
    refreshButtons(li.parentNode);
    setOrdered(fieldset, true);
    announce(fieldset, placeText(fieldset, li));
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest(".rank-up, .rank-down, .rank-ok");
    if (!button) return;
    var fieldset = button.closest("fieldset[data-rank]");
    if (!fieldset) return;
    if (button.classList.contains("rank-ok")) {
      setOrdered(fieldset, true);
      announce(fieldset, fieldset.dataset.textDone);
      clearRefusal(fieldset);
      return;
    }
    if (button.getAttribute("aria-disabled") === "true") return;
    var li = button.closest(".rank-item");
    var list = li.parentNode;
    if (button.classList.contains("rank-up")) list.insertBefore(li, li.previousElementSibling);
    else list.insertBefore(li, li.nextElementSibling ? li.nextElementSibling.nextElementSibling : null);
    /* Moving a node takes its focus away: give it back to the same button (it says "dimmed" at an end). */
    li.querySelector(button.classList.contains("rank-up") ? ".rank-up" : ".rank-down").focus();
    moved(fieldset, li);
    clearRefusal(fieldset);
  });

  /* The send button refuses an unordered ranking, and says why beside it (capture: before htmx sends). */
  function refuse(form, fieldset) {
    var message = form.querySelector(".poll-message");
    if (!message) return;
    var p = document.createElement("p");
    p.className = "message message-error rank-refusal";
    p.setAttribute("role", "alert");
    p.textContent = fieldset.dataset.textFirst;
    message.replaceChildren(p);
    fieldset.setAttribute("aria-invalid", "true");
    var ids = (fieldset.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (message.id && ids.indexOf(message.id) < 0) ids.push(message.id);
    if (ids.length) fieldset.setAttribute("aria-describedby", ids.join(" "));
  }
  function clearRefusal(fieldset) {
    var form = fieldset.closest("form");
    var refusal = form ? form.querySelector(".rank-refusal") : null;
    if (refusal) refusal.remove();
    fieldset.removeAttribute("aria-invalid");
  }
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var fieldset = form && form.querySelector ? form.querySelector("fieldset[data-rank][data-rank-ready]") : null;
    if (!fieldset || fieldset.hasAttribute("data-ordered")) return;
    evt.preventDefault();
    evt.stopImmediatePropagation();
    refuse(form, fieldset);
  }, true);
  document.addEventListener("click", function (evt) {
    var send = evt.target.closest && evt.target.closest("button[type=submit][aria-disabled=true]");
    var form = send ? send.closest("form") : null;
    var fieldset = form ? form.querySelector("fieldset[data-rank][data-rank-ready]") : null;
    if (!fieldset || fieldset.hasAttribute("data-ordered")) return;
    evt.preventDefault();
    evt.stopImmediatePropagation();
    refuse(form, fieldset);
  }, true);

  /* Dragging: the item follows the pointer and changes places with the one it passes the middle of. A mouse or
     pen drags from anywhere on the item; a finger from the grip only, so that a swipe over the list still scrolls. */
  var drag = null;
  document.addEventListener("pointerdown", function (evt) {
    var li = evt.target.closest && evt.target.closest(".rank-item");
    if (!li || evt.target.closest("button") || (evt.pointerType === "mouse" && evt.button !== 0)) return;
    if (evt.pointerType === "touch" && !evt.target.closest(".rank-grip")) return;
    var fieldset = li.closest("fieldset[data-rank]");
    if (!fieldset) return;
    evt.preventDefault();
    drag = { li: li, fieldset: fieldset, pointerId: evt.pointerId, startY: evt.clientY, moved: false,
             index: itemsOf(li.parentNode).indexOf(li) };
    try { li.setPointerCapture(evt.pointerId); } catch (e) { /* a synthetic pointer: document listeners suffice */ }
    li.classList.add("rank-dragging");
  });
  document.addEventListener("pointermove", function (evt) {
    if (!drag || evt.pointerId !== drag.pointerId) return;
    evt.preventDefault();
    var li = drag.li;
    var list = li.parentNode;
    if (!list) { drag = null; return; }
    if (Math.abs(evt.clientY - drag.startY) > 3) drag.moved = true;
    var previous = li.previousElementSibling;
    var next = li.nextElementSibling;
    if (previous) {
      var p = previous.getBoundingClientRect();
      if (evt.clientY < p.top + p.height / 2) { list.insertBefore(li, previous); return; }
    }
    if (next) {
      var n = next.getBoundingClientRect();
      if (evt.clientY > n.top + n.height / 2) list.insertBefore(li, next.nextElementSibling);
    }
  });
  function endDrag(evt) {
    if (!drag || evt.pointerId !== drag.pointerId) return;
    var state = drag;
    drag = null;
    state.li.classList.remove("rank-dragging");
    try { state.li.releasePointerCapture(evt.pointerId); } catch (e) { /* already released */ }
    if (!state.li.parentNode) return;
    var index = itemsOf(state.li.parentNode).indexOf(state.li);
    if (index !== state.index || (state.moved && evt.type === "pointerup")) {
      moved(state.fieldset, state.li);
      clearRefusal(state.fieldset);
    }
  }
  document.addEventListener("pointerup", endDrag);
  document.addEventListener("pointercancel", endDrag);

  function enhanceAll() {
    document.querySelectorAll("fieldset[data-rank]:not([data-rank-ready])").forEach(enhance);
  }
  document.addEventListener("DOMContentLoaded", enhanceAll);
  document.addEventListener("ehalsodag:applied", enhanceAll);
  document.addEventListener("htmx:afterSettle", enhanceAll);
  if (document.readyState !== "loading") enhanceAll();
})();
