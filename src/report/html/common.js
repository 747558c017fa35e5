// Shared by every crosscheck page: the embedded record, cell text and colour, the grid with its
// filters, and the detail dialog (click or Enter on a cell opens it, Escape closes it).
"use strict";
const RECORD = JSON.parse(document.getElementById("record").textContent);
const STARTED = performance.now();
const CELLS = []; // {c: cell record, key, title}
const GROUPS = []; // {el: table, columns: [{keys}], rows: [{keys, cells?}]}
const FILTER = {};
const HIDDEN = document.head.appendChild(document.createElement("style"));
const $ = (id) => document.getElementById(id);

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
}
function fnum(x) {
  if (x === null || x === undefined) return "—";
  if (typeof x === "string" || x === 0) return String(x);
  const a = Math.abs(x);
  return a >= 1e7 || a < 1e-4 ? x.toExponential(4) : String(+x.toPrecision(8));
}
function fratio(r) {
  if (typeof r !== "number") return String(r ?? "—");
  return r < 1000 ? r.toFixed(3) : r.toExponential(2);
}
function fsec(s) {
  return s < 1 ? (s * 1000).toFixed(1) + " ms" : s.toFixed(2) + " s";
}
const LABELS = { pass: "PASS", fail: "FAIL", finding: "FIND", not_applicable: "n/a" };

// The matrix text of a cell, as the terminal table writes it.
function cellText(c) {
  let t = LABELS[c.verdict] || c.verdict;
  if (c.verdict === "pass") {
    const r = c.worst_ratio;
    t += c.exact_only ? " exact" : r > 0 && r < 0.005 ? " <.01" : " " + Number(r).toFixed(2);
  }
  if (c.verdict !== "not_applicable" && c.skipped.length) t += "*";
  if (c.launch_notes.length) t += "†";
  return t;
}
// Verdict class, and for a pass its shade: how much of the error allowance it used.
function cellClass(c) {
  let cls = "v-" + c.verdict;
  if (c.verdict === "pass") {
    const r = c.worst_ratio;
    cls += c.exact_only ? " p0" : r < 0.1 ? " p1" : r < 0.25 ? " p2" : r < 0.5 ? " p3" : " p4";
  }
  return cls;
}
// The plan's seed in hex, read from the JSON text (a u64 does not fit a JavaScript number).
function seedHex(text) {
  const m = /"seed":\s*(\d+)/.exec(text || $("record").textContent);
  return m ? "0x" + BigInt(m[1]).toString(16) : "?";
}
const LEGEND = '<p class="legend"><span class="v-pass p0">PASS exact</span> judged bit for bit ' +
  '<span class="v-pass p1">PASS x</span><span class="v-pass p2">&lt; .25</span><span class="v-pass p3">&lt; .5</span>' +
  '<span class="v-pass p4">≤ 1</span> x = worst err/bound, the share of the error allowance used ' +
  '<span class="v-fail">FAIL</span> <span class="v-finding">FIND</span> portability finding ' +
  '<span class="v-not_applicable">n/a</span> cannot run here; * some cases skipped; † launches differ where the ' +
  "kernel does not promise otherwise. Click a cell, or focus it (Tab, arrow keys) and press Enter, for its detail; Escape closes it.</p>";
function addCell(c, key, title) {
  CELLS.push({ c, key, title });
  return CELLS.length - 1;
}
function section(title, body) {
  return `<section><h3>${title}</h3>${body}</section>`;
}

// Tables of cells: groups of {corner, columns: [{label, keys}], rows: [{label, mark, cls, keys,
// cells: [CELLS index or -1]}]}. Cells carry their verdict as text, are focusable, and hold
// data-key for #cell= links.
function renderGrids(groups, into) {
  let h = "";
  groups.forEach((g, gi) => {
    const n = GROUPS.length + gi;
    h += `<div class="grid-wrap"><table class="grid" id="g${n}"><thead><tr><th scope="col">${esc(g.corner)}</th>`;
    g.columns.forEach((col, ci) => {
      h += `<th scope="col" class="c${n}_${ci}">${col.label}</th>`;
    });
    h += "</tr></thead><tbody>";
    for (const row of g.rows) {
      h += `<tr${row.cls ? ` class="${row.cls}"` : ""}><th scope="row">${row.mark || ""}${esc(row.label)}</th>`;
      row.cells.forEach((i, ci) => {
        if (i < 0) {
          h += `<td class="c${n}_${ci} none">—</td>`;
          return;
        }
        const x = CELLS[i];
        h += `<td class="c${n}_${ci} ${cellClass(x.c)}" tabindex="0" data-i="${i}" data-key="${esc(x.key)}" title="${esc(x.title)}">${esc(cellText(x.c))}</td>`;
      });
      h += "</tr>";
    }
    h += "</tbody></table></div>";
  });
  into.insertAdjacentHTML("beforeend", h);
  groups.forEach((g, gi) => GROUPS.push({ el: $("g" + (GROUPS.length)), columns: g.columns, rows: g.rows }));
}

// Filter selects over dimensions [[dim, label, values]]; rows and columns whose keys name a
// dimension show only when they match it. `#filter=dim:value,...` presets them.
function renderFilters(dims, into, extra) {
  let h = '<form class="filters" role="search" aria-label="Filter the cells">';
  for (const [dim, label, values] of dims) {
    h += `<label>${label} <select data-dim="${dim}"><option value="">all</option>`;
    h += values.map((v) => `<option>${esc(v)}</option>`).join("") + "</select></label>";
  }
  h += (extra || "") + '<output id="shown" aria-live="polite"></output></form>';
  into.insertAdjacentHTML("beforeend", h);
  const form = into.lastElementChild;
  const read = () => {
    for (const el of form.querySelectorAll("[data-dim]")) {
      FILTER[el.dataset.dim] = el.type === "checkbox" ? (el.checked ? el.value : "") : el.value;
    }
  };
  form.addEventListener("change", () => {
    read();
    applyFilters();
  });
  // `#filter=dim:value,...`: set the selects, applied once the page has rendered.
  PRESET = () => {
    const m = /(?:^#|&)filter=([^&]*)/.exec(location.hash);
    if (!m) return false;
    for (const part of decodeURIComponent(m[1]).split(",")) {
      const [dim, value] = part.split(":");
      const el = form.querySelector(`[data-dim="${dim}"]`);
      if (el && el.type === "checkbox") el.checked = value === el.value;
      else if (el) el.value = value;
    }
    read();
    return true;
  };
}
let PRESET = () => false;
function matches(keys) {
  for (const dim in FILTER) {
    if (FILTER[dim] && dim in keys && keys[dim] !== FILTER[dim]) return false;
  }
  return true;
}
// Hides rows (the hidden attribute) and columns (one generated style rule); times itself,
// layout included, into body[data-filter-ms].
function applyFilters() {
  void document.body.offsetHeight; // earlier changes are not the filter's to pay for
  const t = performance.now();
  const hidden = [];
  let shown = 0, rowsShown = 0;
  GROUPS.forEach((g, n) => {
    const cols = g.columns.map((c) => matches(c.keys));
    cols.forEach((ok, ci) => ok || hidden.push(`.c${n}_${ci}`));
    const trs = g.el.tBodies[0].rows;
    let any = false;
    g.rows.forEach((row, ri) => {
      const ok = matches(row.keys);
      trs[ri].hidden = !ok;
      if (!ok) return;
      any = true;
      rowsShown++;
      if (row.cells) row.cells.forEach((i, ci) => (shown += i >= 0 && cols[ci] ? 1 : 0));
    });
    g.el.parentNode.hidden = !any || (cols.length > 0 && !cols.some(Boolean));
  });
  HIDDEN.textContent = hidden.length ? hidden.join(",") + "{display:none}" : "";
  const out = $("shown");
  if (out) out.textContent = CELLS.length ? `${shown} of ${CELLS.length} cells shown` : `${rowsShown} rows shown`;
  void document.body.offsetHeight;
  document.body.dataset.filterMs = (performance.now() - t).toFixed(1);
}

function elementsTable(els) {
  let h = '<table class="els"><thead><tr><th scope="col">element</th><th scope="col">value</th>' +
    '<th scope="col">oracle</th><th scope="col">allowed interval</th><th scope="col">err/bound</th></tr></thead><tbody>';
  for (const e of els) {
    const bad = e.unwritten || !(typeof e.ratio === "number" && e.ratio <= 1);
    h += `<tr${bad ? ' class="bad"' : ""}><th scope="row"><code>${esc(e.element)}</code></th>` +
      `<td>${e.unwritten ? "never written" : esc(fnum(e.value))}</td><td>${esc(fnum(e.oracle))}</td>` +
      `<td>[${esc(fnum(e.lo))}, ${esc(fnum(e.hi))}]</td><td>${esc(fratio(e.ratio))}</td></tr>`;
  }
  return h + "</tbody></table>";
}
function repro(note) {
  const cmd = note.repro || "crosscheck repro " + note.case;
  return `<div class="repro"><code>${esc(cmd)}</code><button type="button" class="copy" data-copy="${esc(cmd)}">Copy</button></div>`;
}
function notesList(notes, withRepro) {
  let h = '<ol class="notes">';
  for (const n of notes) {
    h += `<li><code class="case">${esc(n.case)}</code>`;
    if (n.from) h += ` <span class="from">shrunk from <code>${esc(n.from)}</code></span>`;
    h += `<p>${esc(n.text)}</p>`;
    if (withRepro) h += repro(n);
    if (n.worst && n.worst.length) h += elementsTable(n.worst);
    h += "</li>";
  }
  return h + "</ol>";
}
// The err/bound histogram as bars, with the count above each and the bins past 1 in red.
function histogram(hist) {
  if (!hist || !hist.counts || !hist.counts.length) return "<p>Not in this record.</p>";
  const labels = hist.upper.map((u, i) => (i === 0 ? "0" : "≤" + String(u).replace(/^0\./, "."))).concat(["> " + hist.upper[hist.upper.length - 1]]);
  const max = Math.max(1, ...hist.counts);
  const bw = 46, H = 110, W = bw * labels.length;
  let s = `<svg class="hist" viewBox="0 0 ${W} ${H + 34}" width="${W}" height="${H + 34}" role="img" aria-label="cases per worst err/bound bin: ` +
    esc(labels.map((l, i) => `${l}: ${hist.counts[i]}`).join(", ")) + '">';
  hist.counts.forEach((n, i) => {
    const h = n ? Math.max(2, (H - 14) * n / max) : 0;
    const over = i > 0 && hist.upper[i - 1] >= 1;
    s += `<rect x="${i * bw + 4}" y="${H - h}" width="${bw - 8}" height="${h}" class="${over ? "over" : "under"}"></rect>`;
    s += `<text x="${i * bw + bw / 2}" y="${H - h - 3}" text-anchor="middle">${n}</text>`;
    s += `<text x="${i * bw + bw / 2}" y="${H + 14}" text-anchor="middle">${esc(labels[i])}</text>`;
  });
  return s + `<text x="${W / 2}" y="${H + 31}" text-anchor="middle">worst err/bound of a case (≤ 1 passes)</text></svg>`;
}
function detailHtml(x) {
  const c = x.c;
  let h = `<h2 id="detail-title">${esc(x.title)} <span class="badge ${cellClass(c)}">${esc(cellText(c))}</span></h2>`;
  h += '<dl class="facts">';
  const fact = (k, v) => (h += `<div><dt>${k}</dt><dd>${v}</dd></div>`);
  fact("cases run", c.cases);
  fact("worst err/bound", c.exact_only ? "exact (bit for bit)" : esc(fratio(c.worst_ratio)));
  fact("max NMSE", esc(fnum(c.stats.max_nmse)));
  fact("max ulp", esc(fnum(c.stats.max_ulp)));
  fact("wall time", fsec(c.wall_s));
  fact("in the kernel", fsec(c.kernel_s));
  h += "</dl>";
  if (c.reason) h += section("Not applicable", `<p>${esc(c.reason)}</p>`);
  if (c.verdict !== "not_applicable") h += section("Worst err/bound per case", histogram(c.histogram));
  if (c.worst) h += section(`Worst element, in <code>${esc(c.worst.case)}</code>`, elementsTable([c.worst]));
  if (c.failures.length) h += section(`Failing cases (${c.failures.length} of ${c.cases})`, notesList(c.failures, true));
  if (c.shrunk && c.shrunk.length) h += section("Shrunk to", notesList(c.shrunk, true));
  if (c.findings.length) h += section(`Portability findings (${c.findings.length})`, notesList(c.findings, true));
  if (c.launch_notes.length) h += section(`† Launches differ (${c.launch_notes.length} cases)`, notesList(c.launch_notes, false));
  if (c.skipped.length) h += section(`Skipped cases (${c.skipped.length})`, notesList(c.skipped, false));
  return h;
}

let opener = null;
function openDetail(i) {
  const x = CELLS[i];
  const d = $("detail");
  $("detail-body").innerHTML = detailHtml(x);
  if (!d.open) {
    opener = document.activeElement;
    d.showModal();
  }
  try {
    history.replaceState(null, "", "#cell=" + encodeURIComponent(x.key));
  } catch (e) {
    /* a file URL may refuse; the detail still opens */
  }
}
$("detail").addEventListener("close", () => {
  try {
    history.replaceState(null, "", location.pathname + location.search);
  } catch (e) {
    /* as above */
  }
  if (opener) opener.focus();
});
function copyText(text, button) {
  const done = () => {
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = "Copy"), 1500);
  };
  const fallback = () => {
    const t = document.createElement("textarea");
    t.value = text;
    button.parentNode.appendChild(t);
    t.select();
    document.execCommand("copy");
    t.remove();
    done();
  };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
  else fallback();
}
document.addEventListener("click", (ev) => {
  const el = ev.target.closest("[data-i], [data-copy]");
  if (!el) return;
  if (el.dataset.copy !== undefined) copyText(el.dataset.copy, el);
  else {
    ev.preventDefault();
    openDetail(+el.dataset.i);
  }
});
// Enter or Space opens a cell; arrow keys move between visible cells.
document.addEventListener("keydown", (ev) => {
  const td = ev.target.closest && ev.target.closest("td[data-i]");
  if (!td) return;
  if (ev.key === "Enter" || ev.key === " ") {
    ev.preventDefault();
    openDetail(+td.dataset.i);
    return;
  }
  const step = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] }[ev.key];
  if (!step) return;
  const visible = (el) => el && el.offsetParent !== null;
  let row = td.parentElement, col = td.cellIndex, next = null;
  if (step[0] === 0) {
    for (let c = col + step[1]; c > 0 && c < row.cells.length && !next; c += step[1]) {
      if (visible(row.cells[c]) && row.cells[c].dataset.i) next = row.cells[c];
    }
  } else {
    for (let r = step[0] > 0 ? row.nextElementSibling : row.previousElementSibling; r && !next;
      r = step[0] > 0 ? r.nextElementSibling : r.previousElementSibling) {
      if (!r.hidden && r.cells[col] && r.cells[col].dataset.i) next = r.cells[col];
    }
  }
  if (next) {
    ev.preventDefault();
    next.focus();
  }
});
// After the page's script: the page laid out and timed (body[data-loaded-ms] from navigation
// start, body[data-render-ms] in this script), then a #filter= applied (body[data-filter-ms])
// and a #cell= detail opened.
function finish() {
  applyFilters();
  const now = performance.now();
  document.body.dataset.renderMs = (now - STARTED).toFixed(1);
  document.body.dataset.loadedMs = now.toFixed(1);
  if (PRESET()) applyFilters();
  const m = /(?:^#|&)cell=([^&]*)/.exec(location.hash);
  if (m) {
    const key = decodeURIComponent(m[1]);
    const i = CELLS.findIndex((x) => x.key === key);
    if (i >= 0) openDetail(i);
  }
  document.body.dataset.ready = "1";
}
