// The bench page: measured rooflines, the performance-portability table, every timed workload
// (filterable by op, kernel, backend and precision) and the err/bound distribution; the plots
// are inline SVG below.
(function () {
  const b = RECORD;
  const pct = (f) => (typeof f === "number" ? (100 * f).toFixed(1) + "%" : "—");
  const n2 = (x) => (typeof x === "number" && isFinite(x) ? x.toFixed(2) : "—");
  let h = `<p>machine <b>${esc(b.machine)}</b>, crosscheck ${esc(b.crosscheck_version)}; every time is a whole launch ` +
    "(upload, dispatch, readback), the median of launches repeated to about a second after a warm-up.</p>" +
    '<table class="plain"><caption>Measured rooflines (probe kernels)</caption><thead><tr><th scope="col">backend</th>' +
    '<th scope="col">device</th><th scope="col">GFLOP/s</th><th scope="col">GB/s</th></tr></thead><tbody>';
  for (const p of b.backends) {
    h += `<tr><th scope="row">${esc(p.backend)}</th><td>${esc(p.device)}</td>` +
      (p.roofline ? `<td class="num">${n2(p.roofline.gflops)}</td><td class="num">${n2(p.roofline.gbps)}</td>`
        : `<td colspan="2">${esc(p.error || "not probed")}</td>`) + "</tr>";
  }
  $("summary").innerHTML = h + "</tbody></table>";

  const content = $("content");
  const backends = [...new Set(b.portability.flatMap((p) => p.fractions.map((f) => f[0])))];
  let t = '<section><h2>Performance portability</h2><p>Pennycook\'s figure: the harmonic mean of the roofline ' +
    "fractions over the backends, 0 when one cannot run the kernel.</p>" +
    '<div class="grid-wrap"><table class="plain" id="portability"><thead><tr><th scope="col">kernel</th><th scope="col">variant</th>' +
    `<th scope="col">workload</th>${backends.map((x) => `<th scope="col">${esc(x)}</th>`).join("")}<th scope="col">portability</th></tr></thead><tbody>`;
  for (const p of b.portability) {
    const f = Object.fromEntries(p.fractions);
    t += `<tr><th scope="row">${esc(p.kernel)}</th><td>${esc(p.variant)}</td><td>${esc(p.workload)}</td>` +
      backends.map((x) => `<td class="num">${x in f ? pct(f[x]) : "—"}</td>`).join("") + `<td class="num"><b>${pct(p.pennycook)}</b></td></tr>`;
  }
  t += "</tbody></table></div></section>";

  t += '<section><h2>Every timed workload</h2><div class="grid-wrap"><table class="plain" id="measurements"><thead><tr>' +
    ["op/kernel", "backend", "variant", "workload", "median", "spread", "GFLOP/s", "GB/s", "roofline"].map((x) => `<th scope="col">${x}</th>`).join("") +
    "</tr></thead><tbody>";
  const rows = [];
  for (const x of b.measurements) {
    t += `<tr><th scope="row">${esc(x.op)}/${esc(x.kernel)}</th><td>${esc(x.backend)}</td><td>${esc(x.variant)}</td><td>${esc(x.workload)}</td>`;
    t += x.note && !x.times_s.length ? `<td colspan="5">${esc(x.note)}</td>`
      : `<td class="num">${fsec(x.median_s)}</td><td class="num">${(100 * x.spread).toFixed(0)}%</td>` +
        `<td class="num">${n2(x.gflops)}</td><td class="num">${n2(x.gbps)}</td><td class="num">${pct(x.roofline_fraction)}</td>`;
    t += "</tr>";
    rows.push({ keys: { op: x.op, kernel: x.kernel, backend: x.backend, precision: x.variant } });
  }
  t += "</tbody></table></div></section>";
  if (b.accuracy.length) {
    t += '<section><h2>err/bound of the judged cases</h2><table class="plain"><thead><tr><th scope="col">precision</th>' +
      '<th scope="col">cases</th><th scope="col">median</th><th scope="col">worst</th></tr></thead><tbody>';
    for (const a of b.accuracy) {
      const r = a.ratios;
      t += `<tr><th scope="row">${esc(a.precision)}</th><td class="num">${r.length}</td>` +
        `<td class="num">${r.length ? fratio(r[r.length >> 1]) : "—"}</td><td class="num">${r.length ? fratio(r[r.length - 1]) : "—"}</td></tr>`;
    }
    t += "</tbody></table></section>";
  }
  if (b.verification) {
    const v = b.verification;
    t += `<section><h2>Verifying a ${v.n}³ product</h2><p>${esc(v.kernel)}: launch ${fsec(v.kernel_s)}, Freivalds' check ` +
      `${fsec(v.freivalds_s)} (${v.vectors} vectors, ${v.samples} sampled elements, ${v.freivalds_passed ? "passed" : "FAILED"})` +
      `${v.oracle_s === null ? "" : `, full oracle ${fsec(v.oracle_s)}`}.</p></section>`;
  }
  const uniq = (f) => [...new Set(b.measurements.map(f))];
  renderFilters([["op", "op", uniq((x) => x.op)], ["kernel", "kernel", uniq((x) => x.kernel)],
    ["backend", "backend", uniq((x) => x.backend)], ["precision", "precision", uniq((x) => x.variant)]], content);
  content.insertAdjacentHTML("beforeend", t);
  GROUPS.push({ el: $("measurements"), columns: [], rows });
  finish();
})();
