/* Search over the prebuilt index (assets/search-index.js), loaded on first use by a script
   tag so that it also works from file://. Every query word must be the start of some word of
   a page; title matches rank first, then knowledge before experiments before runs. Runs of one
   task (one group "g") show as one result with a link to where the rest are listed ("gu").
   No framework, no network. */
(function () {
  "use strict";
  var root = document.body.getAttribute("data-root") || "";
  var input = document.getElementById("search-input");
  var dropdown = document.getElementById("search-results");
  var pageList = document.getElementById("search-page-results");
  var status = document.getElementById("search-status");
  var index = null;
  var waiting = [];
  var LIMIT = 12;
  var RANK = { policy: 0, intervention: 1, failure: 2, knowledge_card: 3, claim: 4, source: 5,
               experiment: 6, report: 7, test: 8, run: 9 };

  function load(done) {
    if (index) { done(index); return; }
    waiting.push(done);
    if (waiting.length > 1) { return; }
    var script = document.createElement("script");
    script.src = root + "assets/search-index.js";
    script.onload = function () {
      index = window.XOS_SEARCH_INDEX || [];
      var calls = waiting; waiting = [];
      calls.forEach(function (f) { f(index); });
    };
    document.head.appendChild(script);
  }

  function terms(query) {
    return (query.toLowerCase().match(/[\p{L}\p{N}]+/gu) || []);
  }

  function search(entries, query) {
    var words = terms(query);
    if (!words.length) { return []; }
    var hits = [];
    entries.forEach(function (e) {
      var hay = " " + e.w;
      var title = e.t.toLowerCase();
      var score = 0;
      for (var i = 0; i < words.length; i++) {
        if (hay.indexOf(" " + words[i]) < 0) { return; }
        score += title.indexOf(words[i]) >= 0 ? 10 : 1;
      }
      hits.push({ e: e, score: score });
    });
    hits.sort(function (a, b) {
      return b.score - a.score || rank(a.e) - rank(b.e) ||
        (a.e.t < b.e.t ? -1 : a.e.t > b.e.t ? 1 : 0);
    });
    return grouped(hits.map(function (h) { return h.e; }));
  }

  function rank(e) {
    return RANK.hasOwnProperty(e.k) ? RANK[e.k] : 10;
  }

  // The best hit of each group stands for the group; `more` counts the rest.
  function grouped(entries) {
    var seen = {};
    var out = [];
    entries.forEach(function (e) {
      if (e.g && seen.hasOwnProperty(e.g)) { seen[e.g].more += 1; return; }
      var hit = { e: e, more: 0 };
      if (e.g) { seen[e.g] = hit; }
      out.push(hit);
    });
    return out;
  }

  function item(hit) {
    var e = hit.e;
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = root + e.u;
    a.textContent = e.t;
    li.appendChild(a);
    var kind = document.createElement("span");
    kind.className = "tag";
    kind.textContent = e.k;
    li.appendChild(document.createTextNode(" "));
    li.appendChild(kind);
    if (e.s) {
      var small = document.createElement("small");
      small.textContent = e.s;
      li.appendChild(small);
    }
    if (hit.more) {
      var more = document.createElement("a");
      more.className = "more";
      more.href = root + e.gu;
      more.textContent = "and " + hit.more + " more " + (hit.more === 1 ? "run" : "runs") +
        " of this task";
      li.appendChild(more);
    }
    return li;
  }

  function fill(list, results, limit) {
    list.textContent = "";
    results.slice(0, limit).forEach(function (e) { list.appendChild(item(e)); });
  }

  function live() {
    var query = input.value.trim();
    if (!query) { dropdown.hidden = true; dropdown.textContent = ""; return; }
    load(function (entries) {
      if (input.value.trim() !== query) { return; }
      var results = search(entries, query);
      fill(dropdown, results, LIMIT);
      if (!results.length) {
        var li = document.createElement("li");
        li.className = "empty";
        li.textContent = "No page matches.";
        dropdown.appendChild(li);
      }
      dropdown.hidden = false;
    });
  }

  if (input && dropdown) {
    input.addEventListener("input", live);
    input.addEventListener("focus", function () { load(function () {}); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { dropdown.hidden = true; }
    });
    document.addEventListener("click", function (event) {
      if (!input.form.contains(event.target)) { dropdown.hidden = true; }
    });
  }

  if (pageList) {
    var query = new URLSearchParams(window.location.search).get("q") || "";
    if (input) { input.value = query; }
    if (query.trim()) {
      load(function (entries) {
        var results = search(entries, query);
        fill(pageList, results, 200);
        status.textContent = results.length + " result(s) for \u201c" + query + "\u201d";
      });
    }
  }
}());
