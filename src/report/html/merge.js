// The merged page: inputs, one column per machine/backend, rows op/kernel variant with the rows
// whose verdicts disagree highlighted, and each disagreement with its case ids.
(function () {
  const m = RECORD;
  const seeds = [...$("record").textContent.matchAll(/"seed":\s*(\d+)/g)].map((x) => "0x" + BigInt(x[1]).toString(16));
  const disagree = m.rows.filter((r) => r.disagree);
  let h = `<p class="headline ${disagree.length ? "v-fail" : "v-pass"}">${disagree.length} of ${m.rows.length} rows disagree</p>` +
    `<p>${m.rows.length} rows × ${m.columns.length} columns from ${m.inputs.length} files.</p>` +
    '<details><summary>Inputs</summary><table class="plain"><thead><tr><th scope="col">file</th><th scope="col">machine</th>' +
    '<th scope="col">crosscheck</th><th scope="col">seed</th><th scope="col">shard</th><th scope="col">backends</th></tr></thead><tbody>';
  m.inputs.forEach((i, n) => {
    h += `<tr><th scope="row">${esc(i.file)}</th><td>${esc(i.machine)}</td><td>${esc(i.crosscheck_version)}</td>` +
      `<td><code>${seeds[n] || "?"}</code></td><td>${esc(i.shard || "—")}</td><td>${i.backends.map(esc).join("<br>")}</td></tr>`;
  });
  $("summary").innerHTML = h + "</tbody></table></details>";

  const split = (col) => {
    const k = col.lastIndexOf("/");
    return [col.slice(0, k), col.slice(k + 1)];
  };
  const columns = m.columns.map((col) => {
    const [machine, backend] = split(col);
    return { label: `${esc(machine)}<br><span class="variant">${esc(backend)}</span>`, keys: { machine, backend } };
  });
  const rows = m.rows.map((row) => {
    const label = `${row.op}/${row.kernel} ${row.variant}`;
    return {
      label,
      mark: row.disagree ? '<span class="mark" title="verdicts disagree">≠ </span>' : "",
      cls: row.disagree ? "disagree" : "",
      keys: { op: row.op, kernel: row.kernel, precision: row.variant, disagree: row.disagree ? "yes" : "no" },
      cells: row.cells.map((c, ci) => (c ? addCell(c, `${row.op}/${row.kernel}:${m.columns[ci]}:${row.variant}`, `${label} on ${m.columns[ci]}`) : -1)),
    };
  });
  const uniq = (list) => [...new Set(list)];
  const content = $("content");
  renderFilters([["op", "op", uniq(m.rows.map((r) => r.op))], ["kernel", "kernel", uniq(m.rows.map((r) => r.kernel))],
    ["machine", "machine", uniq(columns.map((c) => c.keys.machine))], ["backend", "backend", uniq(columns.map((c) => c.keys.backend))],
    ["precision", "precision", uniq(m.rows.map((r) => r.variant))]], content,
    '<label><input type="checkbox" data-dim="disagree" value="yes"> only rows that disagree</label>');
  renderGrids([{ corner: "op/kernel variant", columns, rows }], content);
  content.insertAdjacentHTML("beforeend", LEGEND);

  // Each disagreement: the columns of every verdict but the most common one, each with its
  // failing (or finding) case ids; the most common verdict's columns are counted.
  if (disagree.length) {
    let d = '<section><h2>Disagreements</h2><ul class="cells">';
    m.rows.forEach((row, ri) => {
      if (!row.disagree) return;
      const byVerdict = {};
      row.cells.forEach((c, ci) => c && (byVerdict[c.verdict] ||= []).push(ci));
      const common = Object.keys(byVerdict).sort((a, b) => byVerdict[b].length - byVerdict[a].length)[0];
      d += `<li class="disagree">≠ ${esc(rows[ri].label)}<ul>`;
      for (const [verdict, cols] of Object.entries(byVerdict)) {
        if (verdict === common && cols.length > 3) {
          d += `<li>${LABELS[verdict]} on ${cols.length} columns</li>`;
          continue;
        }
        for (const ci of cols) {
          const c = row.cells[ci], i = rows[ri].cells[ci];
          const notes = c.failures.length ? c.failures : c.findings;
          let ids = notes.slice(0, 3).map((n) => `<li><code class="case">${esc(n.case)}</code></li>`).join("");
          if (notes.length > 3) ids += `<li>and ${notes.length - 3} more in the cell's detail</li>`;
          d += `<li><a href="#cell=${encodeURIComponent(CELLS[i].key)}" data-i="${i}">${esc(m.columns[ci])}</a>: ` +
            `<span class="badge ${cellClass(c)}">${esc(cellText(c))}</span>${ids ? `<ul class="ids">${ids}</ul>` : ""}</li>`;
        }
      }
      d += "</ul></li>";
    });
    content.insertAdjacentHTML("beforeend", d + "</ul></section>");
  }
  finish();
})();
