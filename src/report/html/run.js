// The run page: headline, backends, the matrix (rows op/kernel, columns backend × variant,
// grouped like the terminal table), failing cells, n/a reasons and † notes.
(function () {
  const r = RECORD, s = r.summary;
  const failed = s.fail > 0 || s.required_missing;
  let h = `<p class="headline ${failed ? "v-fail" : "v-pass"}">${failed ? "FAIL" : "PASS"}</p>` +
    `<p>${s.cells} cells, ${s.cases} cases: ${s.pass} pass, ${s.fail} fail, ${s.finding} finding, ${s.not_applicable} n/a ` +
    `— machine <b>${esc(r.machine.name)}</b> (${esc(r.machine.os)} ${esc(r.machine.arch)}, ${r.machine.threads} threads), ` +
    `seed <code>${seedHex()}</code>, ${r.plan.random_cases} random cases per cell, ` +
    `${r.elapsed_s.toFixed(1)} s, crosscheck ${esc(r.crosscheck_version)}, ${new Date(r.started_unix_s * 1000).toISOString()}</p>`;
  if (s.required_missing) h += `<p class="v-fail">${esc(s.required_missing)}</p>`;
  h += '<table class="plain"><thead><tr><th scope="col">backend</th><th scope="col">device</th><th scope="col">driver</th></tr></thead><tbody>';
  for (const b of r.backends) h += `<tr><th scope="row">${esc(b.name)}</th><td>${esc(b.device)} (${esc(b.api)})</td><td>${esc(b.driver)}</td></tr>`;
  for (const m of r.missing) h += `<tr><th scope="row">${esc(m.backend)}</th><td>unavailable: ${esc(m.reason)}</td><td>${esc(m.hint)}</td></tr>`;
  $("summary").innerHTML = h + "</tbody></table>";

  // Columns: backends in the record's order, each with its variants in order of appearance.
  const order = r.backends.map((b) => b.name);
  for (const c of r.cells) if (!order.includes(c.backend)) order.push(c.backend);
  const variants = {};
  const rows = [];
  const at = {};
  for (const c of r.cells) {
    (variants[c.backend] ||= []).includes(c.variant) || variants[c.backend].push(c.variant);
    const row = c.op + "/" + c.kernel;
    if (!rows.includes(row)) rows.push(row);
    at[row + "|" + c.backend + "|" + c.variant] = addCell(c, `${row}:${c.backend}:${c.variant}`, `${row} on ${c.backend} ${c.variant}`);
  }
  // One table per run of rows with the same columns, as the terminal prints.
  const groups = [];
  for (const row of rows) {
    const cols = [];
    for (const b of order) for (const v of variants[b] || []) if ((row + "|" + b + "|" + v) in at) cols.push([b, v]);
    const sig = cols.map((x) => x.join(" ")).join(",");
    let g = groups[groups.length - 1];
    if (!g || g.sig !== sig) {
      g = { sig, corner: "op/kernel", rows: [], columns: cols.map(([b, v]) => ({ label: `${esc(b)}<br><span class="variant">${esc(v)}</span>`, keys: { backend: b, precision: v } })), cols };
      groups.push(g);
    }
    const [op, kernel] = row.split("/");
    g.rows.push({ label: row, keys: { op, kernel }, cells: g.cols.map(([b, v]) => at[row + "|" + b + "|" + v]) });
  }
  const uniq = (f) => [...new Set(r.cells.map(f))];
  const content = $("content");
  renderFilters([["op", "op", uniq((c) => c.op)], ["kernel", "kernel", uniq((c) => c.kernel)],
    ["backend", "backend", uniq((c) => c.backend)], ["precision", "precision", uniq((c) => c.variant)]], content);
  renderGrids(groups, content);
  content.insertAdjacentHTML("beforeend", LEGEND);

  // Below the matrix: every failing cell with its failing case ids, then findings, n/a and †.
  let below = "";
  const list = (title, verdict, line) => {
    const cells = CELLS.map((x, i) => [x, i]).filter(([x]) => verdict(x.c));
    if (!cells.length) return;
    below += `<section><h2>${title}</h2><ul class="cells">`;
    for (const [x, i] of cells) below += `<li><a href="#cell=${encodeURIComponent(x.key)}" data-i="${i}">${esc(x.title)}</a>: ${line(x.c)}</li>`;
    below += "</ul></section>";
  };
  list("Failures", (c) => c.verdict === "fail", (c) => `${c.failures.length} of ${c.cases} cases failed` +
    '<ul class="ids">' + c.failures.map((f) => `<li><code class="case">${esc(f.case)}</code></li>`).join("") + "</ul>");
  list("Portability findings", (c) => c.verdict === "finding", (c) => `${c.findings.length} of ${c.cases} cases, e.g. ${esc(c.findings[0].text)}`);
  list("Not applicable", (c) => c.verdict === "not_applicable", (c) => esc(c.reason || ""));
  list("† Launches differ", (c) => c.launch_notes.length > 0, (c) => `in ${c.launch_notes.length} of ${c.cases} cases, e.g. ${esc(c.launch_notes[0].text)}`);
  content.insertAdjacentHTML("beforeend", below);
  finish();
})();
