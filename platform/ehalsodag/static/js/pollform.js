/* ehalsodag: the control panel's New poll form (polls/new_poll.html). Everything works without this file: then every
   kind's fields show and the server ignores those that do not belong to the chosen kind.

   - Only the chosen kind's fields show; the others are hidden and disabled, so they are not sent.
   - The options are counted as they are typed; too few, too many or two alike are said beside the field before
     anything is sent (the server says the same if it gets there).
   - After each answer of the server (the fields come back empty, filled or with the error beside its field) the
     focus goes where it makes sense: the first refused field, else the field the server names (data-focus). */
(function () {
  "use strict";

  function fieldsOf(root) {
    return (root || document).querySelector("#poll-form .poll-fields");
  }

  function applyKind(fields) {
    if (!fields) return;
    var select = fields.querySelector("#poll-kind");
    if (!select) return;
    var kind = select.value;
    fields.querySelectorAll("[data-kinds]").forEach(function (part) {
      var fits = part.getAttribute("data-kinds").split(" ").indexOf(kind) >= 0;
      part.hidden = !fits;
      if (part.tagName === "FIELDSET") part.disabled = !fits;
    });
  }

  function options(fields) {
    var box = fields.querySelector("#poll-options");
    if (!box) return [];
    return box.value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
  }

  function count(fields) {
    var out = fields && fields.querySelector("#poll-options-count");
    if (!out) return;
    out.textContent = out.getAttribute("data-template").replace("{n}", String(options(fields).length));
  }

  function setError(fields, name, message) {
    var error = fields.querySelector("#poll-err-" + name);
    var field = fields.querySelector("[name=" + name + "]");
    if (!error || !field) return;
    var ids = (field.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== error.id;
    });
    if (message) {
      error.textContent = message;
      error.hidden = false;
      field.setAttribute("aria-invalid", "true");
      ids.unshift(error.id);
    } else {
      error.textContent = "";
      error.hidden = true;
      field.removeAttribute("aria-invalid");
    }
    if (ids.length) field.setAttribute("aria-describedby", ids.join(" "));
    else field.removeAttribute("aria-describedby");
  }

  /* The checks the server makes too, said before sending: the question, and the options of the kinds that have them. */
  function problems(fields) {
    var found = [];
    var question = fields.querySelector("#poll-question");
    if (question && !question.value.trim()) found.push(["question", fields.dataset.emptyQuestion]);
    var box = fields.querySelector("#poll-options");
    var set = box ? box.closest("fieldset") : null;
    if (set && !set.disabled) {
      var list = options(fields);
      var max = parseInt(box.getAttribute("data-max"), 10) || 20;
      var seen = {};
      var twice = list.some(function (o) { var k = o.toLocaleLowerCase(); if (seen[k]) return true; seen[k] = 1; return false; });
      if (list.length < 2 || list.length > max) found.push(["options", fields.dataset.optionCount]);
      else if (twice) found.push(["options", fields.dataset.optionTwice]);
    }
    return found;
  }

  function settle(fields) {
    if (!fields) return;
    applyKind(fields);
    count(fields);
  }

  document.addEventListener("change", function (evt) {
    if (evt.target && evt.target.id === "poll-kind") {
      var fields = evt.target.closest(".poll-fields");
      applyKind(fields);
      setError(fields, "options", "");
    }
  });
  document.addEventListener("input", function (evt) {
    if (evt.target && evt.target.id === "poll-options") count(evt.target.closest(".poll-fields"));
  });

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt || elt.id !== "poll-submit") return;
    var fields = elt.closest(".poll-fields");
    var found = problems(fields);
    ["question", "options"].forEach(function (name) { setError(fields, name, ""); });
    if (!found.length) return;
    evt.preventDefault();
    found.forEach(function (p) { setError(fields, p[0], p[1]); });
    var status = document.getElementById("new-poll-status");
    if (status) {
      var message = document.createElement("p");
      message.className = "message message-error";
      message.setAttribute("role", "alert");
      message.textContent = found[0][1];
      status.replaceChildren(message);
    }
    var first = fields.querySelector("[aria-invalid=true]");
    if (first) first.focus();
  });

  document.addEventListener("htmx:afterSettle", function () {
    var fields = fieldsOf();
    if (!fields || fields.dataset.settled) return;
    fields.dataset.settled = "1";
    settle(fields);
    var target = fields.querySelector("[aria-invalid=true]") ||
      (fields.dataset.focus ? document.getElementById(fields.dataset.focus) : null);
    if (target) {
      target.focus();
      if (target.scrollIntoView) target.scrollIntoView({block: "nearest"});
    }
  });

  function start() {
    var fields = fieldsOf();
    if (fields) { fields.dataset.settled = "1"; settle(fields); }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
