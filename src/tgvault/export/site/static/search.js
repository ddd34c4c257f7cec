/* tgvault search. The index (see docs/search.md) is a set of small script files calling tgvaultSearch.*:
   search/index.js, one bucket per query term (search/i/<bucket>.js), more chunks of long posting lists
   only when needed, the recent shard of each term when the manifest has a recent part (search/r/<shard>.js:
   posts changed since the buckets were written; the bucket postings of the posts it owns are ignored), and
   the text of the results shown (search/t/...). Scripts rather than fetch, so it
   works from file:// too. Post text is untrusted: results are built with DOM nodes and textContent only. */
(function () {
  "use strict";

  var MAX_KEY = 20;
  var PREFIX = 4;
  var NO_SPACE = [[0x0E00, 0x0EFF], [0x1000, 0x109F], [0x1780, 0x17FF], [0x19E0, 0x19FF], [0x2E80, 0x2FDF],
    [0x3005, 0x3007], [0x3021, 0x3029], [0x3031, 0x3035], [0x3038, 0x303C], [0x3040, 0x30FF], [0x31F0, 0x31FF],
    [0x3400, 0x4DBF], [0x4E00, 0x9FFF], [0xF900, 0xFAFF], [0x20000, 0x3FFFF]];
  var WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

  var manifest = null;
  var owned = null; // "slot:id" of the posts the recent part owns
  var store = {};
  var waiting = {};
  var run = 0;

  function arrive(name, data) {
    store[name] = data;
    var callbacks = waiting[name] || [];
    delete waiting[name];
    callbacks.forEach(function (callback) { callback(data); });
  }

  window.tgvaultSearch = {
    index: function (data) { manifest = data; start(); },
    bucket: function (bucket, entries) { arrive("i" + bucket, entries); },
    recent: function (shard, entries) { arrive("r" + shard, entries); },
    chunk: function (name, flat) { arrive("c" + name, flat); },
    text: function (name, rows) { arrive("t" + name, rows); },
    month: function () {},
    // the rules of tokens.py, for the tests that hold both sides to the same answers
    terms: function (query) { return queryTerms(query); },
    bucketOf: function (key, buckets) { return bucketOf(key, buckets); },
    // the first ``count`` results of a query as [month, slot, id], loading no more than they need
    results: function (query, count, done) {
      var current = ++run;
      var found = new Query(queryTerms(query), { slot: null, from: -Infinity, to: Infinity });
      found.open(function () {
        found.fill(count, current, function () { done(found.results.slice(0, count), found.complete); });
      });
    }
  };

  function load(name, src, done) {
    if (Object.prototype.hasOwnProperty.call(store, name)) return done(store[name]);
    if (waiting[name]) { waiting[name].push(done); return; }
    waiting[name] = [done];
    var script = document.createElement("script");
    script.src = src;
    script.async = true;
    script.onerror = function () { arrive(name, null); };
    document.head.appendChild(script);
  }

  function loadAll(items, done) {
    var left = items.length;
    var out = new Array(items.length);
    if (!left) return done(out);
    items.forEach(function (item, i) {
      load(item[0], item[1], function (data) {
        out[i] = data;
        if (--left === 0) done(out);
      });
    });
  }

  // ---- terms: the same rules as tgvault/export/site/search/tokens.py -----------------------------

  function normalise(text) {
    return text.normalize("NFKC").toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "")
      .normalize("NFC").replace(/ß/g, "ss").replace(/ς/g, "σ");
  }

  function kind(ch) {
    if (!WORD_CHAR.test(ch)) return 0;
    var code = ch.codePointAt(0);
    for (var i = 0; i < NO_SPACE.length; i++) {
      if (code >= NO_SPACE[i][0] && code <= NO_SPACE[i][1]) return 2;
    }
    return 1;
  }

  function queryTerms(query) {
    var chars = Array.from(normalise(query));
    var terms = [];
    var runChars = [];
    var runKind = 0;
    function flush() {
      if (!runKind) return;
      var cut = [];
      if (runKind === 1 || runChars.length === 1) cut.push(runChars.join(""));
      else for (var i = 0; i + 1 < runChars.length; i++) cut.push(runChars[i] + runChars[i + 1]);
      cut.forEach(function (term) { if (terms.indexOf(term) < 0) terms.push(term); });
    }
    chars.concat([" "]).forEach(function (ch) {
      var now = kind(ch);
      if (now !== runKind) { flush(); runChars = []; runKind = now; }
      runChars.push(ch);
    });
    return terms;
  }

  function bucketOf(key, buckets) {
    var value = 0x811C9DC5;
    Array.from(key).slice(0, PREFIX).forEach(function (ch) {
      value ^= ch.codePointAt(0);
      value = Math.imul(value, 0x01000193) >>> 0;
    });
    return value % buckets;
  }

  // ---- posting lists ----------------------------------------------------------------------------

  function decode(flat, into) {
    var at = 0;
    while (at < flat.length) {
      var month = flat[at], slot = flat[at + 1], count = flat[at + 2], id = flat[at + 3];
      into.push([month, slot, id]);
      for (var i = 1; i < count; i++) { id -= flat[at + 3 + i]; into.push([month, slot, id]); }
      at += 3 + count;
    }
  }

  function newer(a, b) { // -1 when posting (or group) a comes before b in newest-first order
    if (a[0] !== b[0]) return a[0] > b[0] ? -1 : 1;
    if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
    if (a.length > 2 && b.length > 2 && a[2] !== b[2]) return a[2] > b[2] ? -1 : 1;
    return 0;
  }

  // A query: per term, the keys it is looked up by, each with the chunks loaded so far.
  function Query(terms, filter) {
    this.terms = terms.map(function (term) {
      var chars = Array.from(term);
      var lookup = chars.slice(0, MAX_KEY).join("");
      return { term: term, lookup: lookup, exact: chars.length < PREFIX, bucket: bucketOf(lookup, manifest.buckets), keys: [] };
    });
    this.filter = filter;
    this.results = [];
    this.complete = false;
  }

  function ownedPosts() {
    if (owned) return owned;
    owned = {};
    var flat = [];
    if (manifest.recent) decode(manifest.recent.owned, flat);
    flat.forEach(function (p) { owned[p[1] + ":" + p[2]] = true; });
    return owned;
  }

  Query.prototype.open = function (done) {
    var self = this;
    var recent = manifest.recent;
    var items = this.terms.map(function (t) { return ["i" + t.bucket, "search/i/" + t.bucket + ".js"]; });
    var shards = [];
    if (recent) {
      this.terms.forEach(function (t) {
        var shard = t.bucket % recent.shards;
        if (recent.files.indexOf(shard) >= 0 && shards.indexOf(shard) < 0) shards.push(shard);
      });
      shards.forEach(function (shard) { items.push(["r" + shard, "search/r/" + shard + ".js"]); });
    }
    loadAll(items, function (loaded) {
      self.terms.forEach(function (t, i) {
        var entries = loaded[i] || {};
        Object.keys(entries).forEach(function (key) {
          if (t.exact ? key !== t.lookup : key.indexOf(t.lookup) !== 0) return;
          var entry = entries[key];
          var state = { bucket: t.bucket, chunks: entry[1], id: entry[3], loaded: 1, postings: [], masked: !!recent };
          decode(entry[2], state.postings);
          t.keys.push(state);
        });
        if (!recent) return;
        var at = shards.indexOf(t.bucket % recent.shards);
        var shard = at < 0 ? {} : loaded[self.terms.length + at] || {};
        Object.keys(shard).forEach(function (key) {
          if (t.exact ? key !== t.lookup : key.indexOf(t.lookup) !== 0) return;
          var state = { bucket: t.bucket, chunks: 1, id: 0, loaded: 1, postings: [], masked: false };
          decode(shard[key], state.postings);
          t.keys.push(state);
        });
      });
      self.evaluate();
      done();
    });
  };

  // The newest group up to which every key's list is loaded: results newer than it are final.
  Query.prototype.bound = function () {
    var bound = null;
    this.terms.forEach(function (t) {
      t.keys.forEach(function (k) {
        if (k.loaded >= k.chunks || !k.postings.length) return;
        var last = k.postings[k.postings.length - 1];
        if (bound === null || newer(last, bound) < 0) bound = [last[0], last[1]];
      });
    });
    return bound;
  };

  Query.prototype.evaluate = function () {
    var bound = this.bound();
    var filter = this.filter;
    var found = null;
    var mask = manifest.recent ? ownedPosts() : {};
    this.terms.forEach(function (t) {
      var docs = {};
      t.keys.forEach(function (k) {
        k.postings.forEach(function (p) {
          if (bound !== null && newer([p[0], p[1]], bound) > 0) return;
          if (k.masked && mask[p[1] + ":" + p[2]]) return; // the recent part has this post's keys
          if (filter.slot !== null && p[1] !== filter.slot) return;
          if (p[0] < filter.from || p[0] > filter.to) return;
          if (!found || found[p[1] + ":" + p[2]]) docs[p[1] + ":" + p[2]] = p;
        });
      });
      found = docs;
    });
    var list = [];
    Object.keys(found || {}).forEach(function (key) { list.push(found[key]); });
    list.sort(newer);
    this.results = list;
    this.complete = bound === null;
  };

  // Load the next chunk of the keys that hold the bound back, then evaluate again.
  Query.prototype.more = function (done) {
    var bound = this.bound();
    var items = [];
    var states = [];
    this.terms.forEach(function (t) {
      t.keys.forEach(function (k) {
        if (k.loaded >= k.chunks || !k.postings.length) return;
        var last = k.postings[k.postings.length - 1];
        if (newer([last[0], last[1]], bound) !== 0) return;
        var name = k.bucket + "/" + k.id + "-" + (k.chunks - k.loaded); // numbered from the oldest
        items.push(["c" + name, "search/i/" + name + ".js"]);
        states.push(k);
      });
    });
    var self = this;
    loadAll(items, function (chunks) {
      states.forEach(function (k, i) { k.loaded++; if (chunks[i]) decode(chunks[i], k.postings); });
      self.evaluate();
      done();
    });
  };

  // Evaluate until ``wanted`` results are final or every list is loaded.
  Query.prototype.fill = function (wanted, current, done) {
    var self = this;
    (function step() {
      if (current !== run) return;
      if (self.complete || self.results.length >= wanted) return done();
      self.more(step);
    })();
  };

  // ---- showing results --------------------------------------------------------------------------

  function folded(text) {
    var chars = Array.from(text);
    var out = [];
    var from = [];
    chars.forEach(function (ch, i) {
      Array.from(normalise(ch)).forEach(function (f) { out.push(f); from.push(i); });
    });
    return { chars: chars, text: out, from: from };
  }

  function matches(fold, terms) {
    var hay = fold.text;
    var spans = [];
    terms.forEach(function (term) {
      var needle = Array.from(term);
      for (var i = 0; i + needle.length <= hay.length; i++) {
        var ok = true;
        for (var j = 0; j < needle.length && ok; j++) ok = hay[i + j] === needle[j];
        if (ok) spans.push([fold.from[i], fold.from[i + needle.length - 1] + 1, term]);
      }
    });
    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    return spans;
  }

  function proximity(spans, terms) { // the shortest stretch of text holding every term
    var best = Infinity;
    for (var i = 0; i < spans.length; i++) {
      var seen = {};
      var count = 0;
      for (var j = i; j < spans.length; j++) {
        if (!seen[spans[j][2]]) { seen[spans[j][2]] = true; count++; }
        if (count === terms.length) { best = Math.min(best, spans[j][1] - spans[i][0]); break; }
      }
    }
    return best;
  }

  function snippet(text, terms) {
    var fold = folded(text);
    var spans = matches(fold, terms);
    var first = spans.length ? spans[0][0] : 0;
    var start = Math.max(0, first - 60);
    var end = Math.min(fold.chars.length, start + 240);
    var fragment = document.createDocumentFragment();
    var at = start;
    if (start > 0) fragment.appendChild(document.createTextNode("…"));
    var merged = [];
    spans.forEach(function (span) { // overlapping matches (東京 and 京都 in 東京都) make one mark
      var last = merged[merged.length - 1];
      if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
      else merged.push([span[0], span[1]]);
    });
    merged.forEach(function (span) {
      if (span[0] < at || span[1] > end) return;
      fragment.appendChild(document.createTextNode(fold.chars.slice(at, span[0]).join("")));
      var mark = document.createElement("mark");
      mark.textContent = fold.chars.slice(span[0], span[1]).join("");
      fragment.appendChild(mark);
      at = span[1];
    });
    fragment.appendChild(document.createTextNode(fold.chars.slice(at, end).join("") + (end < fold.chars.length ? "…" : "")));
    return { node: fragment, closeness: proximity(spans, terms) };
  }

  function channelBySlot(slot) {
    for (var i = 0; i < manifest.channels.length; i++) {
      if (manifest.channels[i][0] === slot) return manifest.channels[i];
    }
    return [slot, 0, ""];
  }

  function monthKey(month) {
    var m = month % 12 + 1;
    return Math.floor(month / 12) + "-" + (m < 10 ? "0" : "") + m;
  }

  function showPage(query, from, current, done) {
    var page = query.results.slice(from, from + manifest.page);
    var shift = manifest.blockShift;
    var items = page.map(function (p) {
      var channel = channelBySlot(p[1]);
      var name = channel[1] + "/" + monthKey(p[0]) + "/" + Math.floor(p[2] / Math.pow(2, shift));
      return ["t" + name, "search/t/" + name + ".js"];
    });
    loadAll(items, function (blocks) {
      if (current !== run) return;
      var shown = [];
      page.forEach(function (p, i) {
        var rows = blocks[i] || [];
        for (var r = 0; r < rows.length; r++) {
          if (rows[r][0] !== p[2]) continue;
          var result = snippet(String(rows[r][3]), query.terms.map(function (t) { return t.term; }));
          shown.push({ posting: p, row: rows[r], result: result, order: i });
          break;
        }
      });
      // ranked: every term close together first, then newest
      shown.sort(function (a, b) {
        var near = Math.min(a.result.closeness, 400) - Math.min(b.result.closeness, 400);
        return Math.abs(near) > 40 ? near : a.order - b.order;
      });
      var list = document.getElementById("search-results");
      shown.forEach(function (item) {
        var li = document.createElement("li");
        var meta = document.createElement("div");
        meta.className = "result-meta";
        var link = document.createElement("a");
        link.href = String(item.row[1]);
        link.textContent = String(item.row[2]);
        meta.appendChild(link);
        meta.appendChild(document.createTextNode(" · " + channelBySlot(item.posting[1])[2]));
        var body = document.createElement("p");
        body.className = "result-text";
        body.setAttribute("dir", "auto");
        body.appendChild(item.result.node);
        li.appendChild(meta);
        li.appendChild(body);
        list.appendChild(li);
      });
      done(page.length);
    });
  }

  function parseMonth(value, fallback) {
    var match = /^(\d{4})-(\d{2})$/.exec(value || "");
    return match ? Number(match[1]) * 12 + Number(match[2]) - 1 : fallback;
  }

  function search(form) {
    var current = ++run;
    var results = document.getElementById("search-results");
    var status = document.getElementById("search-status");
    var moreButton = document.getElementById("search-more");
    results.textContent = "";
    moreButton.hidden = true;
    var terms = queryTerms(form.query);
    if (!terms.length) { status.textContent = ""; return; }
    var slot = null;
    manifest.channels.forEach(function (c) { if (String(c[1]) === form.channel) slot = c[0]; });
    var query = new Query(terms, { slot: slot, from: parseMonth(form.from, -Infinity), to: parseMonth(form.to, Infinity) });
    var shown = 0;
    status.textContent = "Searching…";
    function next() {
      query.fill(shown + manifest.page, current, function () {
        showPage(query, shown, current, function (count) {
          shown += count;
          var total = query.results.length;
          var more = !query.complete || shown < total;
          if (!shown) status.textContent = "No posts found.";
          else if (more) status.textContent = "Showing " + shown + " posts, newest first; more can be loaded.";
          else status.textContent = total + (total === 1 ? " post found." : " posts found.");
          moreButton.hidden = !more;
        });
      });
    }
    moreButton.onclick = function () { next(); };
    query.open(next);
  }

  function start() {
    var form = document.getElementById("search-form");
    if (!form) return;
    var input = document.getElementById("search-input");
    var select = document.getElementById("search-channel");
    var from = document.getElementById("search-from");
    var to = document.getElementById("search-to");
    manifest.channels.forEach(function (channel) {
      var option = document.createElement("option");
      option.value = String(channel[1]);
      option.textContent = channel[2];
      select.appendChild(option);
    });
    var params = new URLSearchParams(window.location.search);
    input.value = params.get("q") || "";
    select.value = params.get("channel") || "";
    from.value = params.get("from") || "";
    to.value = params.get("to") || "";
    function current() { return { query: input.value, channel: select.value, from: from.value, to: to.value }; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var url = new URL(window.location.href);
      var values = { q: input.value, channel: select.value, from: from.value, to: to.value };
      Object.keys(values).forEach(function (name) {
        if (values[name]) url.searchParams.set(name, values[name]); else url.searchParams.delete(name);
      });
      try { window.history.replaceState(null, "", url.toString()); } catch (e) { /* file:// may refuse */ }
      search(current());
    });
    if (input.value) search(current());
    input.focus();
  }
})();
