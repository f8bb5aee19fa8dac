/* ehalsodag live layer: applies the HTML "frames" that the websocket pushes.

   The same contract is implemented in Python in tests/support/livedom.py (the server tests' simulated client),
   and tests/browser/test_live_applier.py checks on random frames that both give the same DOM.

   A frame is an HTML string. Each top-level element is one instruction and carries an id (top-level elements
   without an id, and top-level text, are ignored). data-swap selects the operation (default "replace"):
     replace  if an element with that id exists, PATCH it into the new element; otherwise nothing.
     inner    if it exists, its children become the new element's children (plainly: no KEEP, no morph); its own
              attributes, and the node, stay. Used for live regions: unchanged content is left alone, so a
              reconnect's snapshot never makes a screen reader read the same banner again.
     upsert   with data-into="<container id>" and data-sort="<string>": PATCH the element if it exists, else
              insert it into the container (no container: nothing); then ORDER the container; if it has
              data-max="N", then remove element children from its start until at most N remain.
     append / prepend   with data-into: PATCH the element if it exists, else insert it as the container's
              last / first element child; if the container has data-max="N", then remove element children
              from the other end (from the start after an append) until at most N remain.
     remove   remove the element with that id, if present.
   Unknown operations are ignored. data-swap, data-into and data-sort stay on the inserted element: the
   server renders the same attributes in its full snapshot. Ids are unique in the page and in each frame.
   Table parts as instructions (<tr>; <td>/<th>; <tbody>, <thead>, <tfoot>, <caption>, <colgroup>; <col>)
   travel in frames of their own kind: a <template> parses by its first top-level element, so a <tr> after an
   <li> would be dropped (its contents kept) and a <tr> after a <tbody> wrapped in a new tbody.

   PATCH(old, new): the result is the new element, except that
     KEEP   a descendant of old with data-keep and an id whose id also occurs on a descendant of new is kept:
            the old node (typed text, checked state, an open <details>, focus) takes the place of the new one;
            its subtree travels with it and is never synced. A kept node without a counterpart is dropped.
            old itself is never kept: a frame that targets an element directly always replaces it.
     FOCUS  nodes equal to their new version are left in place (a small morph, below), so a focused button
            whose markup did not change keeps the focus. If the focused node had to go anyway, its
            counterpart with the same id gets the focus back, without scrolling.
     STATE  a form control whose markup changed takes the value (checked, selected) of its new markup;
            one whose markup is unchanged keeps what the user did; data-keep keeps everything.
   New elements are handed to htmx.process() so that their hx-* attributes work.

   ORDER(container): element children that have data-sort end in ascending order of that attribute, compared
   as plain strings by UTF-16 code unit (JS "<", not localeCompare); ties keep their relative order; children
   without data-sort stay after the sorted ones, in their order. A container may ask for another key with
   data-order="<attribute>" and data-order-dir="desc" (a user's "newest first"). Only nodes that are out of
   place move, and never the one holding the focus: moving a node blurs it. */
(function () {
  "use strict";

  function toArray(list) {
    return Array.prototype.slice.call(list);
  }

  /* Ids may be any string ("constructor" too), hence a map without a prototype. */
  function emptyMap() {
    return Object.create(null);
  }

  function processHtmx(node) {
    if (window.htmx && node && node.nodeType === 1) window.htmx.process(node);
  }

  function setChildren(parent, nodes) {
    while (parent.firstChild) parent.removeChild(parent.firstChild);
    nodes.forEach(function (node) { parent.appendChild(node); });
  }

  /* ---- PATCH ---------------------------------------------------------------------------------------- */

  /* The kept nodes, by id: descendants of old with data-keep whose id occurs below new. A kept node's
     subtree comes along with it, so a data-keep node inside it is not looked at separately. */
  function collectKeep(old, neu) {
    var wanted = emptyMap();
    toArray(neu.querySelectorAll("[id]")).forEach(function (el) { if (el.id) wanted[el.id] = true; });
    var keep = emptyMap();
    var chosen = [];
    toArray(old.querySelectorAll("[data-keep][id]")).forEach(function (el) {
      if (!el.id || !wanted[el.id] || keep[el.id]) return;
      if (chosen.some(function (outer) { return outer.contains(el); })) return;
      keep[el.id] = el;
      chosen.push(el);
    });
    return keep;
  }

  function take(keep, id) {
    var node = keep[id];
    delete keep[id];
    return node;
  }

  /* A node from the frame, ready to go into the page: kept nodes (in document order, first come first
     served) take the place of their counterparts inside it. */
  function materialize(node, keep) {
    if (node.nodeType !== 1) return node;
    if (node.id && keep[node.id]) return take(keep, node.id);
    toArray(node.querySelectorAll("[id]")).forEach(function (el) {
      // el may have left node already, inside an earlier counterpart that a kept node replaced.
      if (keep[el.id] && node.contains(el)) el.parentNode.replaceChild(take(keep, el.id), el);
    });
    return node;
  }

  function sameKind(a, b) {
    return a.nodeName === b.nodeName && (a.nodeType !== 1 || a.id === b.id);
  }

  function syncAttributes(target, source) {
    toArray(target.attributes).forEach(function (attr) {
      if (!source.hasAttributeNS(attr.namespaceURI, attr.localName)) {
        target.removeAttributeNS(attr.namespaceURI, attr.localName);
      }
    });
    toArray(source.attributes).forEach(function (attr) {
      if (target.getAttributeNS(attr.namespaceURI, attr.localName) !== attr.value) {
        target.setAttributeNS(attr.namespaceURI, attr.name, attr.value);
      }
    });
  }

  /* A control morphed in place keeps its live value unless told otherwise: the new markup wins. */
  function resetState(el) {
    if (el.tagName === "TEXTAREA") {
      el.value = el.defaultValue;
    } else if (el.tagName === "OPTION") {
      el.selected = el.defaultSelected;
    } else if (el.tagName === "INPUT" && el.type !== "file") {
      if (el.type === "checkbox" || el.type === "radio") el.checked = el.defaultChecked;
      else el.value = el.defaultValue;
    }
  }

  /* Turn the page node o into the frame node n; returns the node that is in the page afterwards. */
  function morph(o, n, keep) {
    if (n.nodeType === 1 && n.id && keep[n.id]) {
      var kept = take(keep, n.id);
      if (kept !== o) o.parentNode.replaceChild(kept, o);
      return kept;
    }
    if (o.isEqualNode(n)) return o;
    if (!sameKind(o, n)) {
      var fresh = materialize(n, keep);
      o.parentNode.replaceChild(fresh, o);
      return fresh;
    }
    if (o.nodeType !== 1) {
      if (o.nodeValue !== n.nodeValue) o.nodeValue = n.nodeValue;
      return o;
    }
    syncAttributes(o, n);
    morphChildren(o, n, keep);
    resetState(o);
    return o;
  }

  /* Pairwise when the two child lists line up (same length, same tag and id at each place), otherwise the
     children are replaced wholesale (kept nodes still come along). */
  function morphChildren(o, n, keep) {
    var olds = toArray(o.childNodes);
    var news = toArray(n.childNodes);
    var lineUp = olds.length === news.length && olds.every(function (child, i) { return sameKind(child, news[i]); });
    if (lineUp) {
      olds.forEach(function (child, i) { morph(child, news[i], keep); });
    } else {
      setChildren(o, news.map(function (child) { return materialize(child, keep); }));
    }
  }

  function selectionOf(el) {
    try {
      if (typeof el.selectionStart === "number") {
        return { start: el.selectionStart, end: el.selectionEnd, direction: el.selectionDirection };
      }
    } catch (e) { /* inputs without a text selection */ }
    return null;
  }

  function findById(root, id) {
    return root.id === id ? root : root.querySelector("#" + CSS.escape(id));
  }

  function patch(old, neu) {
    var active = document.activeElement;
    var focused = active && active !== document.body && old.contains(active) ? active : null;
    var selection = focused && selectionOf(focused);
    var result = morph(old, neu, collectKeep(old, neu));
    if (focused && document.activeElement !== focused) {
      // Still in the page: a kept node that had to move. Otherwise its counterpart, if it has an id.
      var target = focused.isConnected ? focused : focused.id ? findById(result, focused.id) : null;
      if (target) {
        target.focus({ preventScroll: true });
        if (target === focused && selection) {
          try {
            target.setSelectionRange(selection.start, selection.end, selection.direction);
          } catch (e) { /* not a text control after all */ }
        }
      }
    }
    return result;
  }

  /* ---- ORDER ---------------------------------------------------------------------------------------- */

  /* The indices (into positions) of a longest increasing run of positions, found by patience sorting.
     tests/support/livedom.py has the same function, so both move the same nodes. */
  function longestIncreasing(indices, positions) {
    var tails = [];
    var previous = emptyMap();
    indices.forEach(function (index) {
      var lo = 0;
      var hi = tails.length;
      while (lo < hi) {
        var mid = (lo + hi) >> 1;
        if (positions[tails[mid]] < positions[index]) lo = mid + 1;
        else hi = mid;
      }
      previous[index] = lo > 0 ? tails[lo - 1] : -1;
      tails[lo] = index;
    });
    var run = [];
    for (var at = tails.length ? tails[tails.length - 1] : -1; at !== -1; at = previous[at]) run.push(at);
    return run;
  }

  function reorder(container) {
    var attr = container.getAttribute("data-order") || "data-sort";
    var descending = container.getAttribute("data-order-dir") === "desc";
    var children = toArray(container.children);
    var sorted = [];
    var rest = [];
    children.forEach(function (el, position) {
      if (el.hasAttribute(attr)) sorted.push({ el: el, key: el.getAttribute(attr), position: position });
      else rest.push({ el: el, position: position });
    });
    sorted.sort(function (a, b) {
      if (a.key === b.key) return a.position - b.position;
      var order = a.key < b.key ? -1 : 1;
      return descending ? -order : order;
    });
    var desired = sorted.concat(rest);
    var positions = desired.map(function (item) { return item.position; });
    var indices = positions.map(function (position, index) { return index; });

    // The nodes that stay where they are: a longest run already in order, which must include the one
    // holding the focus (if any), so that the others move around it.
    var active = document.activeElement;
    var anchor = -1;
    desired.forEach(function (item, index) { if (item.el.contains(active)) anchor = index; });
    var stay;
    if (anchor < 0) {
      stay = longestIncreasing(indices, positions);
    } else {
      stay = longestIncreasing(indices.filter(function (i) {
        return i < anchor && positions[i] < positions[anchor];
      }), positions).concat([anchor], longestIncreasing(indices.filter(function (i) {
        return i > anchor && positions[i] > positions[anchor];
      }), positions));
    }
    var staying = emptyMap();
    stay.forEach(function (index) { staying[index] = true; });

    // From the end: each node that moves goes right before its successor, which is in place already.
    for (var i = desired.length - 1; i >= 0; i--) {
      if (!staying[i]) container.insertBefore(desired[i].el, i + 1 < desired.length ? desired[i + 1].el : null);
    }
  }

  /* ---- Instructions --------------------------------------------------------------------------------- */

  function trim(container, fromStart) {
    var max = parseInt(container.getAttribute("data-max"), 10);
    if (isNaN(max)) return;
    while (container.children.length > Math.max(max, 0)) {
      (fromStart ? container.firstElementChild : container.lastElementChild).remove();
    }
  }

  function run(item) {
    var swap = item.getAttribute("data-swap") || "replace";
    var current = document.getElementById(item.id);
    if (swap === "remove") {
      if (current) current.remove();
    } else if (swap === "inner") {
      if (current && current.innerHTML !== item.innerHTML) {
        setChildren(current, toArray(item.childNodes));
        processHtmx(current);
      }
    } else if (swap === "replace") {
      if (current) processHtmx(patch(current, item));
    } else if (swap === "upsert" || swap === "append" || swap === "prepend") {
      var into = item.getAttribute("data-into");
      var container = into ? document.getElementById(into) : null;
      if (current) {
        processHtmx(patch(current, item));
      } else if (container) {
        if (swap === "prepend") container.insertBefore(item, container.firstElementChild);
        else container.appendChild(item);
        processHtmx(item);
      }
      if (!container) return;
      if (swap === "upsert") reorder(container);
      trim(container, swap !== "prepend");
    }
  }

  function apply(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    toArray(template.content.children).forEach(function (item) {
      if (item.id) run(item);
    });
  }

  window.ehalsodagLive = { apply: apply, reorder: reorder };

  /* The htmx ws extension asks before it swaps a message: we apply it ourselves and say no. No first, so
     that an error half-way cannot have htmx swap the frame a second time in its own way. */
  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var message = evt.detail && evt.detail.message;
    if (evt.defaultPrevented || typeof message !== "string") return;
    evt.preventDefault();
    apply(message);
    document.dispatchEvent(new CustomEvent("ehalsodag:applied", { detail: { message: message } }));
  });
})();

/* Votes over the open socket (docs/api.md, "Votes over the websocket"). A poll form (form[ws-send]) goes over the
   socket when it is open, else over HTTP (its hx-post; without JavaScript, the plain form). Each vote sent gets a
   new key in its vote_key input; until the server's acknowledgement names that key (data-ack), the vote is kept
   (in sessionStorage too) and sent again, with the same key, whenever the socket (re)opens: the server answers
   a vote it has already stored as before and counts it once. Only a poll's latest vote is kept for resending. */
(function () {
  "use strict";

  var STORE = "ehalsodag:unacknowledged-votes";
  var pending = Object.create(null);
  var socket = null;

  try {
    var saved = JSON.parse(window.sessionStorage.getItem(STORE) || "{}");
    Object.keys(saved).forEach(function (key) { pending[key] = saved[key]; });
  } catch (e) { /* no storage: kept in memory only */ }

  function save() {
    try { window.sessionStorage.setItem(STORE, JSON.stringify(pending)); } catch (e) { /* in memory only */ }
  }

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function isVoteForm(el) {
    return el && el.nodeType === 1 && el.tagName === "FORM" && el.hasAttribute("ws-send");
  }

  function resend() {
    Object.keys(pending).forEach(function (key) { if (socket) socket.send(pending[key].body); });
  }

  document.addEventListener("htmx:wsOpen", function (evt) {
    socket = evt.detail && evt.detail.socketWrapper;
    resend();
  });
  document.addEventListener("htmx:wsClose", function () { socket = null; });

  /* Before htmx sees the submit: a new key, and which way this vote goes. */
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!isVoteForm(form)) return;
    var input = form.querySelector("input[name=vote_key]");
    if (input) input.value = newKey();
    form.setAttribute("data-via", socket ? "ws" : "http");
  }, true);

  /* htmx handles a submit once per element: the ws extension's handler takes it, never the form's hx-post (which
     stays for a form outside a socket's element). So without an open socket, the vote is POSTed from here. */
  document.addEventListener("htmx:wsConfigSend", function (evt) {
    var form = evt.target;
    if (!isVoteForm(form)) return;
    if (form.getAttribute("data-via") !== "ws") {
      evt.preventDefault();
      window.htmx.ajax("POST", form.getAttribute("hx-post") || form.getAttribute("action"),
                       { source: form, target: form.getAttribute("hx-target") || form });
      return;
    }
    var fields = Object.assign({}, evt.detail.parameters);
    var body = JSON.stringify(fields);
    Object.keys(pending).forEach(function (key) {
      if (String(pending[key].poll) === String(fields.poll_id)) delete pending[key];
    });
    if (fields.vote_key) pending[fields.vote_key] = { poll: fields.poll_id, body: body };
    save();
    evt.detail.messageBody = body;
  });

  document.addEventListener("ehalsodag:applied", function (evt) {
    var message = evt.detail && evt.detail.message;
    if (typeof message !== "string" || message.indexOf("data-ack") < 0) return;
    var template = document.createElement("template");
    template.innerHTML = message;
    Array.prototype.forEach.call(template.content.querySelectorAll("[data-ack]"), function (el) {
      delete pending[el.getAttribute("data-ack")];
    });
    save();
  });

  window.ehalsodagVotes = { pending: function () { return Object.keys(pending); } };
})();
