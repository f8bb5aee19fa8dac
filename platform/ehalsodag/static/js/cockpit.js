/* ehalsodag: the moderator's cockpit (control/panel.html). Everything here is an enhancement: without it the tabs
   are sections reached by anchor links, and every button works as a plain form.

   - Tabs (WAI-ARIA tabs pattern): [data-tabs] holds a .tab-list of links to its [data-tabpanel] panels; the links
     become tabs with a roving tabindex (arrow keys, Home, End; automatic activation), the other panels hide.
   - Question search: filters the moderator's question lists as one types, pushed items included.
   - Bulk approve: "Approve all shown" ticks every waiting question the search leaves visible and sends the form.
   - Keyboard shortcuts (listed in the panel; "?" shows them): never while typing in a field; the result is said
     aloud by the card's status region (or, when that card is not shown, by the tab bar's). */
(function () {
  "use strict";

  var cockpit = document.getElementById("cockpit");
  if (!cockpit) return;
  cockpit.classList.add("cockpit-js");

  function toArray(list) { return Array.prototype.slice.call(list); }
  function visible(el) { return !!el && el.getClientRects().length > 0; }

  /* ---- Tabs ----------------------------------------------------------------------------------------------- */

  function tabsOf(root) {
    var list = root.querySelector(".tab-list");
    return list ? toArray(list.querySelectorAll("a[href^='#']")) : [];
  }
  function panelOf(tab) { return document.getElementById(tab.getAttribute("href").slice(1)); }

  function select(root, tab, focus) {
    tabsOf(root).forEach(function (other) {
      var on = other === tab;
      other.setAttribute("aria-selected", on ? "true" : "false");
      other.setAttribute("tabindex", on ? "0" : "-1");
      var panel = panelOf(other);
      if (panel) panel.hidden = !on;
    });
    if (focus) tab.focus();
    root.dataset.selected = tab.id;
  }

  function setupTabs(root) {
    var list = root.querySelector(".tab-list");
    var tabs = tabsOf(root);
    if (!list || !tabs.length) return;
    list.setAttribute("role", "tablist");
    toArray(list.children).forEach(function (li) { li.setAttribute("role", "presentation"); });
    tabs.forEach(function (tab) {
      var panel = panelOf(tab);
      tab.setAttribute("role", "tab");
      if (panel) {
        tab.setAttribute("aria-controls", panel.id);
        panel.setAttribute("role", "tabpanel");
        panel.setAttribute("aria-labelledby", tab.id);
        panel.setAttribute("tabindex", "0");
      }
      tab.addEventListener("click", function (evt) {
        evt.preventDefault();
        select(root, tab, true);
      });
      tab.addEventListener("keydown", function (evt) {
        var at = tabs.indexOf(tab);
        var next = null;
        if (evt.key === "ArrowRight" || evt.key === "ArrowDown") next = tabs[(at + 1) % tabs.length];
        else if (evt.key === "ArrowLeft" || evt.key === "ArrowUp") next = tabs[(at - 1 + tabs.length) % tabs.length];
        else if (evt.key === "Home") next = tabs[0];
        else if (evt.key === "End") next = tabs[tabs.length - 1];
        if (!next) return;
        evt.preventDefault();
        select(root, next, true);
      });
    });
    select(root, initialTab(root, tabs), false);
  }

  function initialTab(root, tabs) {
    var hash = window.location.hash.slice(1);
    var target = hash ? document.getElementById(hash) : null;
    var holding = target ? tabs.filter(function (t) { var p = panelOf(t); return p && p.contains(target); }) : [];
    if (holding.length) return holding[0];
    if (root.dataset.tabs === "questions") {
      var waiting = document.getElementById("mod-count-pending");
      if (!waiting || waiting.textContent.trim() === "0") {
        var approved = document.getElementById("mod-tab-approved");
        if (approved) return approved;
      }
    }
    return tabs[0];
  }

  /* Show the panel (in every tab level) that holds el. */
  function reveal(el) {
    toArray(document.querySelectorAll("[data-tabs]")).forEach(function (root) {
      tabsOf(root).forEach(function (tab) {
        var panel = panelOf(tab);
        if (panel && panel.contains(el) && panel.hidden) select(root, tab, false);
      });
    });
  }

  toArray(document.querySelectorAll("[data-tabs]")).forEach(setupTabs);
  window.addEventListener("hashchange", function () {
    var target = document.getElementById(window.location.hash.slice(1));
    if (target) reveal(target);
  });

  /* ---- Search --------------------------------------------------------------------------------------------- */

  var search = document.querySelector("[data-question-search]");
  var searchResult = document.getElementById("mod-q-search-result");
  var lastResult = "";
  function filterQuestions() {
    if (!search) return;
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var matches = 0;
    toArray(document.querySelectorAll("#mod-questions li.mod-question")).forEach(function (li) {
      var text = li.textContent.toLowerCase();
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
      li.hidden = !ok;
      if (ok) matches += 1;
    });
    if (!searchResult) return;
    var said = !words.length ? "" : (matches === 1 ? search.dataset.foundOne : search.dataset.foundMany || "")
      .replace("{n}", String(matches));
    if (said !== lastResult) searchResult.textContent = said;
    lastResult = said;
  }
  if (search) search.addEventListener("input", filterQuestions);
  document.addEventListener("ehalsodag:applied", filterQuestions);

  /* ---- Status ---------------------------------------------------------------------------------------------- */

  var shortcutStatus = document.getElementById("shortcut-status");
  /* Say text in the tab bar's status region (used when no card of the page will say it). */
  function say(text) {
    if (!shortcutStatus) return;
    shortcutStatus.textContent = "";
    window.setTimeout(function () { shortcutStatus.textContent = text; }, 50);
  }
  /* A shortcut's action answers in its card; if that card is in a hidden tab, the tab bar says it instead. */
  var pendingShortcut = false;
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (!pendingShortcut) return;
    pendingShortcut = false;
    var target = evt.detail.target;
    if (target && !visible(target)) say(target.textContent.trim());
  });

  /* ---- Bulk approve ----------------------------------------------------------------------------------------- */

  var bulkAll = document.querySelector("[data-bulk-all]");
  if (bulkAll) {
    bulkAll.hidden = false;
    bulkAll.addEventListener("click", function () {
      var max = parseInt(bulkAll.dataset.max, 10) || 80;  /* the server takes so many at a time */
      var boxes = toArray(document.querySelectorAll("#mod-list-pending li:not([hidden]) input.mod-pick")).slice(0, max);
      if (!boxes.length) {
        say(bulkAll.dataset.noneText || "");
        return;
      }
      boxes.forEach(function (box) { box.checked = true; });
      var form = document.getElementById("mod-bulk");
      form.requestSubmit(document.getElementById("mod-bulk-approve"));
    });
  }

  /* ---- Keyboard shortcuts -------------------------------------------------------------------------------------- */

  var dialog = document.getElementById("shortcuts-dialog");
  var opener = document.getElementById("shortcuts-open");
  function openShortcuts() {
    if (!dialog || dialog.open) return;
    var body = document.getElementById("shortcuts-dialog-body");
    var list = document.querySelector("#shortcuts .shortcut-list");
    if (body && list && !body.firstChild) body.appendChild(list.cloneNode(true));
    dialog.showModal();
  }
  if (opener) {
    opener.hidden = false;
    opener.addEventListener("click", openShortcuts);
  }

  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    if (el.tagName !== "INPUT") return false;
    return ["checkbox", "radio", "button", "submit", "reset", "image", "range", "color"].indexOf(el.type) < 0;
  }

  var VIEWS = ["pending", "approved", "onstage", "answered", "hidden"];
  function showQuestions(view) {
    var main = document.getElementById("tab-questions-tab");
    if (main) select(main.closest("[data-tabs]"), main, false);
    var sub = view ? document.getElementById("mod-tab-" + view) : null;
    if (sub) select(sub.closest("[data-tabs]"), sub, false);
  }
  function currentView() {
    var root = document.querySelector("[data-tabs=questions]");
    var tab = root ? document.getElementById(root.dataset.selected) : null;
    return tab ? tab.dataset.view : "pending";
  }
  function items(view) {
    return toArray(document.querySelectorAll("#mod-list-" + view + " > li.mod-question:not([hidden])"));
  }
  function chosen() {
    var active = document.activeElement;
    var li = active && active.closest ? active.closest("li.mod-question") : null;
    return li && !li.hidden && visible(li) ? li : null;
  }
  function focusItem(li) {
    if (!li) return;
    li.focus({ preventScroll: true });
    li.scrollIntoView({ block: "nearest" });
  }
  function press(button) {
    if (!button) return false;
    pendingShortcut = true;
    button.click();
    return true;
  }
  function act(li, action, fallbackView) {
    var item = li;
    if (!item || !item.querySelector("[data-shortcut-action=" + action + "]")) {
      item = fallbackView ? items(fallbackView).filter(function (el) {
        return el.querySelector("[data-shortcut-action=" + action + "]");
      })[0] : null;
    }
    if (!item) {
      say(cockpit.dataset["none" + action.charAt(0).toUpperCase() + action.slice(1)] || cockpit.dataset.noneQuestion);
      return;
    }
    // the item leaves its view once the push arrives: the focus goes on to its neighbour first
    if (item === chosen()) {
      var siblings = items(currentView());
      var at = siblings.indexOf(item);
      var next = siblings[at + 1] || siblings[at - 1];
      if (next) focusItem(next);
    }
    press(item.querySelector("[data-shortcut-action=" + action + "]"));
  }
  function move(step) {
    showQuestions(null);
    var list = items(currentView());
    if (!list.length) { say(cockpit.dataset.noneQuestion); return; }
    var at = list.indexOf(chosen());
    var next = at < 0 ? (step > 0 ? list[0] : list[list.length - 1]) : list[Math.min(Math.max(at + step, 0), list.length - 1)];
    focusItem(next);
  }
  function toggleBlockPoll() {
    var now = document.getElementById("ros-now");
    var block = now ? now.dataset.now : "";
    var polls = block ? toArray(document.querySelectorAll("#mod-poll-list > li.mod-poll")).filter(function (li) {
      return li.dataset.block === block;
    }) : [];
    var poll = polls.filter(function (li) { return li.classList.contains("state-open"); })[0] || polls[0];
    if (!poll || !press(poll.querySelector("button[id$='-state']"))) say(cockpit.dataset.noPoll);
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.defaultPrevented || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (dialog && dialog.open) return;
    if (isTyping(evt.target)) return;
    var key = evt.key;
    var handled = true;
    if (key === "?") openShortcuts();
    else if (key === "/") { showQuestions(null); if (search) search.focus(); }
    else if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "a") { showQuestions(null); act(chosen(), "approve", "pending"); }
    else if (key === "h") act(chosen(), "hide", null);
    else if (key === "s") act(chosen(), "highlight", "approved");
    else if (key === "d") act(items("onstage")[0] || null, "answer", null);
    else if (key === "o") toggleBlockPoll();
    else if (/^[1-5]$/.test(key)) showQuestions(VIEWS[parseInt(key, 10) - 1]);
    else handled = false;
    if (handled) evt.preventDefault();
  });
})();
