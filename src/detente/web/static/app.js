// detente's page: plain JavaScript over the HTTP API (/openapi.json documents it).
// Every string from a scenario, a file or the server goes in with textContent, never as HTML.
"use strict";

const state = {
  scenario: null,      // the scenario's JSON, edited in place by the table
  models: [],
  evidence: new Map(), // path -> evidence row (sources do not change when values are edited)
  documents: new Map(),
  problems: [],
  lastForecast: new Map(), // model -> forecast of its previous run
  run: null,
  runs: [],            // every model's run of a reopened record
  mc: null,
  sensitivity: null,
  maxUpload: Infinity,
};

const signed = (x) => (x === null || x === undefined ? "–" : (x >= 0 ? "+" : "") + x.toFixed(1));
const valueOf = (estimate) => (estimate !== null && typeof estimate === "object" ? estimate.value : estimate);
const sourced = (estimate) => estimate !== null && typeof estimate === "object" && estimate.source;

// -- scenario ---------------------------------------------------------------------------

async function loadBuiltin() {
  const name = $("scenario-select").value;
  if (!name) return;
  showError("upload-error", null);
  try {
    setScenario(await api("GET", `/api/scenarios/${encodeURIComponent(name)}`));
  } catch (error) {
    showError("upload-error", error);
  }
}

async function uploadFile() {
  const file = $("upload-input").files[0];
  if (!file) return;
  showError("upload-error", null);
  if (file.size > state.maxUpload) {
    showError("upload-error", `${file.name}: too large (${file.size.toLocaleString()} bytes;` +
      ` at most ${state.maxUpload.toLocaleString()} are accepted)`);
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  $("upload-status").textContent = "reading…";
  try {
    setScenario(await api("POST", "/api/upload", form));
    $("upload-status").textContent = "";
  } catch (error) {
    $("upload-status").textContent = "";
    showError("upload-error", error);
  } finally {
    $("upload-input").value = "";
  }
}

function setScenario(loaded) {
  state.scenario = loaded.scenario;
  state.problems = [];
  state.lastForecast.clear();
  state.evidence.clear();
  $("scenario-info").hidden = false;
  $("scenario-name").textContent = loaded.scenario.name;
  $("scenario-origin").textContent = `(${loaded.origin}, ${loaded.format})`;
  $("scenario-description").textContent = loaded.scenario.description || "";
  $("scenario-notes").replaceChildren(...loaded.notes.map((n) => el("li", { text: n })));
  $("seed-input").value = "";
  renderTable();
  renderProblems();
  renderIssueChoice();
  renderShocks();
  clearResults();
  closeEvidence();
  loadEvidence();
}

function clearResults() {
  state.run = null;
  state.runs = [];
  state.mc = null;
  state.sensitivity = null;
  for (const id of ["forecast-table", "mc-table", "mc-thresholds", "compare-table", "sens-table"]) $(id).replaceChildren();
  for (const id of ["run-notes", "mc-notes", "compare-notes", "sens-notes", "explain-text"]) $(id).replaceChildren();
  for (const id of ["positions-chart", "mc-chart", "sens-chart"]) {
    if (plotly() && $(id).data) plotly().purge($(id));
    $(id).replaceChildren();
  }
  for (const id of ["run-error", "mc-error", "compare-error", "sens-error", "explain-error"]) showError(id, null);
  $("explain-box").hidden = true;
  for (const id of ["run-status", "mc-status", "compare-status", "sens-status"]) $(id).textContent = "";
  $("sens-progress").hidden = true;
  $("mc-progress").hidden = true;
}

function renderTable() {
  const sc = state.scenario;
  const table = $("scenario-table");
  const head1 = el("tr", {}, el("th", { text: "Actor", rowSpan: 2 }), el("th", { text: "Capability", rowSpan: 2 }));
  const head2 = el("tr");
  for (const issue of sc.issues) {
    const scale = issue.scale || { min: 0, max: 100 };
    const ends = `${scale.min} = ${scale.min_label || "min"}; ${scale.max} = ${scale.max_label || "max"}`;
    head1.append(el("th", { text: issue.label || issue.id, colspan: 2, title: ends, class: "issue" }));
    head2.append(el("th", { text: "position", class: "sub" }), el("th", { text: "salience", class: "sub" }));
  }
  const body = el("tbody");
  for (const actor of sc.actors) {
    const row = el("tr", {}, el("th", { text: actor.label || actor.id, title: actor.description || actor.id, scope: "row" }));
    row.append(cell(actor, null, "capability", actor.capability));
    for (const issue of sc.issues) {
      const stance = actor.stances[issue.id];
      if (!stance) {
        row.append(el("td", { text: "—", class: "missing", title: "no stance" }), el("td", { text: "—", class: "missing" }));
        continue;
      }
      row.append(cell(actor, issue.id, "position", stance.position), cell(actor, issue.id, "salience", stance.salience));
    }
    body.append(row);
  }
  table.replaceChildren(el("thead", {}, head1, head2), body);
}

function cellPath(actorId, issueId, field) {
  return issueId === null ? `${actorId}.${field}` : `${actorId}.${issueId}.${field}`;
}

function cell(actor, issueId, field, estimate) {
  const path = cellPath(actor.id, issueId, field);
  const input = el("input", {
    type: "text",
    inputMode: "decimal",
    value: String(valueOf(estimate)),
    class: "value",
    "data-actor": actor.id,
    "data-issue": issueId === null ? "" : issueId,
    "data-field": field,
    "aria-label": `${actor.label || actor.id} ${issueId === null ? "" : issueId + " "}${field}`,
  });
  input.addEventListener("change", () => editValue(actor.id, issueId, field, input.value));
  const message = el("div", { class: "cell-error", role: "alert", "data-path": path });
  message.hidden = true;
  const line = el("div", { class: "cell-line" }, input);
  if (sourced(estimate)) {
    const button = el("button", {
      type: "button",
      class: "src",
      text: "§",
      title: "open the source of this value",
      "data-path": path,
      "aria-label": `source of ${path}`,
    });
    button.addEventListener("click", () => openEvidence(path));
    line.append(button);
  }
  return el("td", { class: `cell ${field}` }, line, message);
}

function editValue(actorId, issueId, field, raw) {
  const text = raw.trim();
  const number = Number(text);
  const parsed = text !== "" && Number.isFinite(number) ? number : text;
  const actor = state.scenario.actors.find((a) => a.id === actorId);
  const holder = issueId === null ? actor : actor.stances[issueId];
  const current = holder[field];
  if (current !== null && typeof current === "object") current.value = parsed;
  else holder[field] = parsed;
  validate();
}

let validation = 0;

async function validate() {
  const ticket = ++validation;
  try {
    const report = await api("POST", "/api/validate", state.scenario);
    if (ticket !== validation) return; // a later edit has been checked meanwhile
    state.problems = report.problems;
  } catch (error) {
    state.problems = [{ message: error.message }];
  }
  renderProblems();
}

function findInput(actor, issue, field) {
  for (const input of document.querySelectorAll("#scenario-table input.value")) {
    if (input.dataset.actor === actor && input.dataset.field === field && input.dataset.issue === (issue || "")) {
      return input;
    }
  }
  return null;
}

function renderProblems() {
  for (const input of document.querySelectorAll("#scenario-table input.invalid")) {
    input.classList.remove("invalid");
    input.removeAttribute("aria-invalid");
  }
  for (const message of document.querySelectorAll("#scenario-table .cell-error")) {
    message.textContent = "";
    message.hidden = true;
  }
  const general = [];
  for (const problem of state.problems) {
    const input = problem.actor && problem.field ? findInput(problem.actor, problem.issue, problem.field) : null;
    if (!input) {
      general.push(problem.message);
      continue;
    }
    input.classList.add("invalid");
    input.setAttribute("aria-invalid", "true");
    const message = input.closest("td").querySelector(".cell-error");
    message.textContent = message.textContent ? `${message.textContent}; ${problem.message}` : problem.message;
    message.hidden = false;
  }
  $("problems").replaceChildren(...general.map((m) => el("li", { text: m })));
  for (const id of ["run-button", "mc-button", "compare-button", "sens-button"]) $(id).disabled = state.problems.length > 0;
}

// -- runs -------------------------------------------------------------------------------

function parseParams() {
  const params = {};
  for (const part of $("params-input").value.split(",")) {
    if (!part.trim()) continue;
    const [key, ...rest] = part.split("=");
    if (!rest.length || !key.trim()) throw new Error(`parameters: expected KEY=VALUE, got '${part.trim()}'`);
    params[key.trim()] = rest.join("=").trim();
  }
  return params;
}

function seedValue() {
  const text = $("seed-input").value.trim();
  return text === "" ? null : Number(text);
}

async function runModel() {
  if (!state.scenario) return;
  showError("run-error", null);
  const model = $("model-select").value;
  let body;
  try {
    body = { scenario: state.scenario, model, seed: seedValue(), params: parseParams() };
  } catch (error) {
    showError("run-error", error);
    return;
  }
  $("run-status").textContent = "running…";
  $("run-button").disabled = true;
  try {
    const result = await api("POST", "/api/run", body);
    const previous = state.lastForecast.get(result.model) || null;
    state.lastForecast.set(result.model, result.forecast);
    state.run = result;
    state.runs = [result];
    renderForecast(result, previous);
    drawPositions();
    $("run-status").textContent = `run ${result.run_id}: ${result.model}, seed ${result.seed}, ${result.positions.length - 1 || 1} round(s)`;
    loadExplanation(result.run_id);
    refreshRuns();
  } catch (error) {
    $("run-status").textContent = "";
    showError("run-error", error);
  } finally {
    $("run-button").disabled = state.problems.length > 0;
  }
}

function issueTitle(issueId) {
  const issue = state.scenario.issues.find((i) => i.id === issueId);
  return issue ? issue.label || issue.id : issueId;
}

function renderForecast(result, previous) {
  const head = el("tr", {}, el("th", { text: "Issue" }), el("th", { text: `Forecast (${result.model})` }));
  if (previous) head.append(el("th", { text: "Before" }), el("th", { text: "Change" }));
  const rows = result.issues.map((issueId) => {
    const value = result.forecast[issueId];
    const row = el("tr", {}, el("th", { text: issueTitle(issueId), scope: "row" }),
      el("td", { text: fmt(value), class: "num forecast", "data-issue": issueId }));
    if (previous) {
      const before = previous[issueId];
      const delta = value === null || before === null || before === undefined ? null : value - before;
      row.append(el("td", { text: fmt(before), class: "num" }),
        el("td", { text: signed(delta), class: `num ${delta > 0 ? "up" : delta < 0 ? "down" : ""}` }));
    }
    return row;
  });
  $("forecast-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
  $("run-notes").replaceChildren(...result.notes.map((n) => el("li", { text: n })));
}

function renderIssueChoice() {
  for (const id of ["chart-issue", "sens-issue"]) {
    const select = $(id);
    const chosen = select.value;
    select.replaceChildren(...state.scenario.issues.map((i) => el("option", { value: i.id, text: i.label || i.id })));
    if (state.scenario.issues.some((i) => i.id === chosen)) select.value = chosen;
  }
}

function plotly() {
  return window.Plotly || null;
}

function shorten(text, length) {
  const chars = Array.from(text);
  return chars.length > length ? chars.slice(0, length - 1).join("") + "…" : text;
}

// The issue's scale ends on the chart itself: a dotted line at each end with what it means,
// written in a band kept free of data above the top and below the bottom of the scale.
function scaleEnds(scale) {
  const span = scale.max - scale.min;
  const ends = [
    [scale.max, scale.max_label, "bottom", "▲"],
    [scale.min, scale.min_label, "top", "▼"],
  ];
  const shapes = ends.map(([y]) => ({
    type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: y, y1: y,
    line: { color: "#8a94a3", width: 1, dash: "dot" },
  }));
  const annotations = ends.map(([y, label, anchor, arrow]) => ({
    xref: "paper", x: 0, xanchor: "left", yref: "y", y, yanchor: anchor,
    text: `${arrow} ${fmtScale(y)}${label ? ": " + shorten(label, 70) : ""}`,
    hovertext: label || undefined,
    showarrow: false,
    font: { size: 11, color: "#3d4654" },
    captureevents: false,
    name: anchor === "bottom" ? "scale-max" : "scale-min",
  }));
  return { range: [scale.min - 0.14 * span, scale.max + 0.14 * span], shapes, annotations };
}

// Up to four significant digits, without trailing zeros (0.4, 12.5, 100).
const fmtScale = (x) => String(Number(Number(x).toPrecision(4)));

function chartLayout(issueId, yTitle, rounds) {
  const issue = state.scenario.issues.find((i) => i.id === issueId);
  const scale = (issue && issue.scale) || { min: 0, max: 100 };
  const last = Math.max(1, rounds - 1);
  const ends = scaleEnds(scale);
  return {
    margin: { l: 55, r: 10, t: 36, b: 40 },
    height: 380,
    autosize: true,
    title: { text: issueTitle(issueId), font: { size: 14 } },
    xaxis: { title: { text: "round" }, dtick: last > 12 ? undefined : 1, range: [-0.2, last + 0.2] },
    yaxis: { title: { text: yTitle }, range: ends.range, zeroline: false },
    shapes: ends.shapes,
    annotations: ends.annotations,
    // Below the axis title, never over it: anchored by its top, under the title's line.
    legend: { orientation: "h", yanchor: "top", y: -0.3, x: 0 },
  };
}

function drawPositions() {
  const result = state.run;
  const chart = $("positions-chart");
  if (!result) return;
  if (!plotly()) {
    chart.replaceChildren(el("p", { class: "muted", text: "Charts need plotly (pip install 'detente[web]')." }));
    return;
  }
  const issueId = $("chart-issue").value || result.issues[0];
  const k = result.issues.indexOf(issueId);
  const rounds = result.positions.map((_, r) => r);
  const actors = state.scenario.actors;
  const traces = result.actors.map((actorId, a) => {
    const actor = actors.find((x) => x.id === actorId);
    return {
      x: rounds,
      y: result.positions.map((state_) => state_[a][k]),
      name: actor ? actor.label || actor.id : actorId,
      mode: rounds.length > 1 ? "lines+markers" : "markers",
      type: "scatter",
    };
  });
  const forecast = result.forecast[issueId];
  if (forecast !== null) {
    traces.push({
      x: [0, Math.max(1, rounds.length - 1)],
      y: [forecast, forecast],
      name: `forecast (${result.model})`,
      mode: "lines",
      line: { dash: "dash", color: "black" },
      type: "scatter",
    });
  }
  plotly().react(chart, traces, chartLayout(issueId, "position", rounds.length), { displaylogo: false, responsive: true });
}

// -- Monte Carlo ------------------------------------------------------------------------

async function runMonteCarlo() {
  if (!state.scenario) return;
  showError("mc-error", null);
  let body;
  try {
    body = {
      scenario: state.scenario,
      model: $("model-select").value,
      draws: Number($("draws-input").value),
      seed: seedValue(),
      params: parseParams(),
    };
  } catch (error) {
    showError("mc-error", error);
    return;
  }
  const progress = $("mc-progress");
  $("mc-button").disabled = true;
  try {
    let job = await api("POST", "/api/mc", body);
    progress.hidden = false;
    while (job.status === "queued" || job.status === "running") {
      progress.max = job.total;
      progress.value = job.done;
      $("mc-status").textContent = `${job.done.toLocaleString()} / ${job.total.toLocaleString()} draws`;
      await new Promise((resolve) => setTimeout(resolve, 250));
      job = await api("GET", `/api/jobs/${job.id}`);
    }
    progress.max = job.total;
    progress.value = job.done;
    if (job.status === "failed") throw new Error(job.error);
    state.mc = job.result;
    $("mc-status").textContent = `run ${job.run_id}: ${job.result.draws.toLocaleString()} draws of ${job.result.model}, seed ${job.result.seed}`;
    renderMonteCarlo();
    refreshRuns();
  } catch (error) {
    $("mc-status").textContent = "";
    showError("mc-error", error);
  } finally {
    $("mc-button").disabled = state.problems.length > 0;
  }
}

function renderMonteCarlo() {
  const mc = state.mc;
  const rows = Object.entries(mc.issues).map(([issueId, band]) =>
    el("tr", {}, el("th", { text: issueTitle(issueId), scope: "row" }),
      el("td", { text: fmt(band.median), class: "num mc-median", "data-issue": issueId }),
      el("td", { text: `${fmt(band.q05)} – ${fmt(band.q95)}`, class: "num" })));
  $("mc-table").replaceChildren(
    el("thead", {}, el("tr", {}, el("th", { text: "Issue" }), el("th", { text: "Median" }), el("th", { text: "5–95 %" }))),
    el("tbody", {}, ...rows));
  const thresholds = mc.thresholds.map((t) =>
    el("tr", {}, el("th", { text: t.label || `${t.issue} ${t.op} ${t.value}`, scope: "row" }),
      el("td", { text: `${(100 * t.probability).toFixed(1)} %`, class: "num" })));
  $("mc-thresholds").replaceChildren(
    ...(thresholds.length
      ? [el("thead", {}, el("tr", {}, el("th", { text: "Threshold" }), el("th", { text: "P" }))), el("tbody", {}, ...thresholds)]
      : []));
  $("mc-notes").replaceChildren(...mc.notes.map((n) => el("li", { text: n })));
  drawFan();
}

function drawFan() {
  const mc = state.mc;
  if (!mc) return;
  const chart = $("mc-chart");
  if (!plotly()) {
    chart.replaceChildren(el("p", { class: "muted", text: "Charts need plotly (pip install 'detente[web]')." }));
    return;
  }
  const issueId = $("chart-issue").value || Object.keys(mc.issues)[0];
  const byRound = mc.rounds.by_issue[issueId] || [];
  const qs = mc.rounds.quantiles;
  const column = (q) => byRound.map((row) => row[qs.indexOf(q)]);
  const x = byRound.map((_, r) => r);
  const band = (low, high, name, opacity) => [
    { x, y: column(low), mode: "lines", line: { width: 0 }, showlegend: false, hoverinfo: "skip", type: "scatter" },
    { x, y: column(high), mode: "lines", line: { width: 0 }, fill: "tonexty", name,
      fillcolor: `rgba(31, 119, 180, ${opacity})`, type: "scatter" },
  ];
  const traces = [
    ...band(0.05, 0.95, "5–95 %", 0.18),
    ...band(0.25, 0.75, "25–75 %", 0.35),
    { x, y: column(0.5), mode: x.length > 1 ? "lines+markers" : "markers", name: "median", line: { color: "rgb(31, 119, 180)" }, type: "scatter" },
  ];
  const layout = chartLayout(issueId, mc.rounds.statistic, x.length);
  layout.title.text = `${issueTitle(issueId)}: ${mc.draws.toLocaleString()} draws of ${mc.model}`;
  plotly().react(chart, traces, layout, { displaylogo: false, responsive: true });
}

// -- shocks -----------------------------------------------------------------------------

function renderShocks() {
  const shocks = Object.entries(state.scenario.shocks || {});
  const list = $("shock-list");
  const legend = el("legend", { text: "Shocks" });
  if (!shocks.length) {
    list.replaceChildren(legend, el("p", { class: "muted", text: "This scenario defines no shocks." }));
    return;
  }
  list.replaceChildren(legend, ...shocks.map(([name, shock]) =>
    el("label", { class: "check", title: shock.description || "" },
      el("input", { type: "checkbox", value: name, checked: true, class: "shock-choice" }),
      ` ${shock.label || name}`)));
}

function renderModelChoices() {
  const box = $("compare-models");
  box.replaceChildren(el("legend", { text: "Models" }), ...state.models.map((m) =>
    el("label", { class: "check", title: m.title },
      el("input", { type: "checkbox", value: m.name, checked: m.name === $("model-select").value, class: "model-choice" }),
      ` ${m.name}`)));
}

async function compareShocks() {
  if (!state.scenario) return;
  showError("compare-error", null);
  const shocks = [...document.querySelectorAll(".shock-choice:checked")].map((i) => i.value);
  const models = [...document.querySelectorAll(".model-choice:checked")].map((i) => i.value);
  if (!shocks.length || !models.length) {
    showError("compare-error", "choose at least one shock and one model");
    return;
  }
  const body = { scenario: state.scenario, shocks, models, seed: seedValue(), combined: $("combined-input").checked };
  $("compare-status").textContent = "running…";
  $("compare-button").disabled = true;
  try {
    const result = await api("POST", "/api/compare", body);
    renderComparison(result);
    $("compare-status").textContent = `run ${result.run_id}, seed ${result.seed}`;
    refreshRuns();
  } catch (error) {
    $("compare-status").textContent = "";
    showError("compare-error", error);
  } finally {
    $("compare-button").disabled = state.problems.length > 0;
  }
}

function renderComparison(result) {
  const variants = [...new Set(result.results.map((r) => r.shock))];
  const byKey = new Map(result.results.map((r) => [`${r.model}\u0000${r.shock}`, r]));
  const head1 = el("tr", {}, el("th", { text: "Issue", rowSpan: 2 }));
  const head2 = el("tr");
  for (const model of result.models) {
    head1.append(el("th", { text: model, colspan: variants.length + 1, class: "group" }));
    head2.append(el("th", { text: "baseline", class: "sub" }),
      ...variants.map((v) => el("th", { text: shockTitle(v), class: "sub", title: v })));
  }
  const body = el("tbody");
  for (const issueId of state.scenario.issues.map((i) => i.id)) {
    const row = el("tr", {}, el("th", { text: issueTitle(issueId), scope: "row" }));
    for (const model of result.models) {
      row.append(el("td", { text: fmt(result.baseline[model][issueId]), class: "num baseline" }));
      for (const variant of variants) {
        const run = byKey.get(`${model}\u0000${variant}`);
        const change = run && run.issues.find((c) => c.issue === issueId);
        if (!change) {
          row.append(el("td", { text: "–", class: "num" }));
          continue;
        }
        const top = change.contributions.slice(0, 3)
          .map((c) => `${c.actor} ${signed(c.contribution)}`).join(", ");
        const td = el("td", {
          class: `num shocked ${change.delta > 0.05 ? "up" : change.delta < -0.05 ? "down" : ""}`,
          title: top ? `top contributors (${change.method}): ${top}` : change.method,
          "data-model": model,
          "data-shock": variant,
          "data-issue": issueId,
        }, `${fmt(change.shocked)} `, el("span", { class: "delta", text: `(${signed(change.delta)})` }));
        row.append(td);
      }
    }
    body.append(row);
  }
  $("compare-table").replaceChildren(el("thead", {}, head1, head2), body);
  const notes = Object.entries(result.shock_notes).flatMap(([shock, list]) => list.map((n) => `${shockTitle(shock)}: ${n}`));
  $("compare-notes").replaceChildren(...notes.map((n) => el("li", { text: n })));
}

function shockTitle(name) {
  const shock = (state.scenario.shocks || {})[name];
  return shock && shock.label ? shock.label : name;
}

// -- evidence ---------------------------------------------------------------------------

async function loadEvidence() {
  const scenario = state.scenario;
  try {
    const out = await api("POST", "/api/evidence", { scenario });
    if (scenario !== state.scenario) return;
    for (const row of out.rows) state.evidence.set(row.path, row);
  } catch (error) {
    state.evidence.set("*error*", { error: error.message });
  }
}

function currentValue(path) {
  for (const input of document.querySelectorAll("#scenario-table input.value")) {
    if (cellPath(input.dataset.actor, input.dataset.issue || null, input.dataset.field) === path) return input.value;
  }
  return "";
}

async function openEvidence(path) {
  const panel = $("evidence-panel");
  panel.hidden = false;
  showError("evidence-error", null);
  $("evidence-path").textContent = path;
  $("evidence-value").textContent = currentValue(path);
  $("document-title").textContent = "";
  $("document-view").replaceChildren();
  if (!state.evidence.has(path)) await loadEvidence();
  const row = state.evidence.get(path);
  if (!row || row.error) {
    $("evidence-kind").textContent = "";
    $("evidence-text").textContent = "";
    $("evidence-note").textContent = "";
    showError("evidence-error", (row && row.error) || (state.evidence.get("*error*") || {}).error || "no source recorded");
    return;
  }
  $("evidence-kind").textContent = row.kind;
  $("evidence-text").textContent = row.kind === "anchor" ? "" : row.text;
  $("evidence-note").textContent = row.note || "";
  if (row.kind !== "anchor") return;
  if (row.problem) {
    showError("evidence-error", row.problem);
    return;
  }
  try {
    let doc = state.documents.get(row.document);
    if (!doc) {
      doc = await api("GET", `/api/documents/${encodeURIComponent(row.document)}`);
      state.documents.set(row.document, doc);
    }
    showDocument(doc, row.start, row.end);
  } catch (error) {
    showError("evidence-error", error);
  }
}

function showDocument(doc, start, end) {
  // Anchors count Python characters (code points); JavaScript strings count UTF-16 units.
  const chars = Array.from(doc.text);
  const mark = el("mark", { id: "evidence-mark", text: chars.slice(start, end).join("") });
  $("document-title").textContent = `${doc.name} [${start}, ${end})`;
  $("document-view").replaceChildren(
    document.createTextNode(chars.slice(0, start).join("")),
    mark,
    document.createTextNode(chars.slice(end).join("")));
  mark.scrollIntoView({ block: "center" });
}

function closeEvidence() {
  $("evidence-panel").hidden = true;
}

// -- run history ------------------------------------------------------------------------

async function refreshRuns() {
  showError("runs-error", null);
  try {
    const runs = await api("GET", "/api/runs?limit=15");
    const head = el("tr", {}, ...["id", "kind", "scenario", "models", "seed", "when (UTC)", ""].map((t) => el("th", { text: t })));
    const rows = runs.map((r) => el("tr", { "data-run": r.id },
      el("td", { text: String(r.id), class: "num" }), el("td", { text: r.kind }),
      el("td", { text: r.scenario_name }), el("td", { text: r.models.join(", ") }),
      el("td", { text: String(r.seed), class: "num" }),
      el("td", { text: String(r.created_at).replace("T", " ").slice(0, 19) }),
      el("td", { class: "actions" }, openButton(r),
        el("a", { href: `/api/runs/${r.id}/report`, download: `run-${r.id}.html`, class: "report-link",
          text: "report", title: "download the run's HTML report" }))));
    $("runs-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
  } catch (error) {
    showError("runs-error", error);
  }
}

function openButton(summary) {
  const known = ["run", "mc", "compare", "shock", "sensitivity"].includes(summary.kind);
  const button = el("button", {
    type: "button", class: "open-run", text: "open",
    title: known ? "show this run's scenario and results here" : "this kind of run is shown by its report",
    "data-run": summary.id,
  });
  button.disabled = !known;
  button.addEventListener("click", () => reopenRun(summary.id));
  return button;
}

// A recorded run back on the page: its scenario in the table, its results in their section.
async function reopenRun(runId) {
  $("reopen-status").textContent = `opening run ${runId}…`;
  showError("runs-error", null);
  try {
    const view = await api("GET", `/api/runs/${runId}/view`);
    setScenario({ scenario: view.scenario, origin: `run ${runId}`, format: "stored", notes: [] });
    $("seed-input").value = String(view.seed);
    const when = String(view.created_at).replace("T", " ").slice(0, 19);
    let where = null;
    if (view.runs && view.runs.length) {
      state.runs = view.runs;
      const model = $("model-select").value;
      showStoredRun(view.runs.find((r) => r.model === model) || view.runs[0]);
      where = "run-section";
    } else if (view.mc) {
      state.mc = view.mc;
      selectModel(view.mc.model);
      $("mc-status").textContent = `run ${runId}: ${view.mc.draws.toLocaleString()} draws of ${view.mc.model}, seed ${view.mc.seed} (${when})`;
      renderMonteCarlo();
      where = "mc-section";
    } else if (view.comparison) {
      renderComparison(view.comparison);
      $("compare-status").textContent = `run ${runId}, seed ${view.comparison.seed} (${when})`;
      where = "compare-section";
    } else if (view.sensitivity) {
      state.sensitivity = view.sensitivity;
      selectModel(view.sensitivity.model);
      $("sens-method").value = view.sensitivity.method;
      $("sens-status").textContent = sensitivityStatus(runId, view.sensitivity);
      renderSensitivity();
      where = "sensitivity-section";
    }
    $("reopen-status").textContent = `run ${runId} (${view.kind}, ${when}) is open above.`;
    if (where) $(where).scrollIntoView({ block: "start" });
  } catch (error) {
    $("reopen-status").textContent = "";
    showError("runs-error", error);
  }
}

function selectModel(name) {
  if (state.models.some((m) => m.name === name)) {
    $("model-select").value = name;
    $("model-select").dispatchEvent(new Event("change"));
  }
}

function showStoredRun(result) {
  state.run = result;
  selectModel(result.model);
  renderForecast(result, null);
  drawPositions();
  const others = state.runs.filter((r) => r !== result).map((r) => r.model);
  $("run-status").textContent = `run ${result.run_id}: ${result.model}, seed ${result.seed}` +
    (others.length ? `; also ${others.join(", ")} (choose the model above)` : "");
  loadExplanation(result.run_id, result.model);
}

// -- explanations ----------------------------------------------------------------------

let explaining = 0;

async function loadExplanation(runId, model) {
  const ticket = ++explaining;
  showError("explain-error", null);
  $("explain-text").replaceChildren();
  $("explain-box").hidden = false;
  $("explain-summary").textContent = "How the model got there (loading…)";
  try {
    const out = await api("GET", `/api/runs/${runId}/explain`);
    if (ticket !== explaining) return;
    const shown = out.models.filter((m) => !model || m.model === model);
    $("explain-summary").textContent = shown.length === 1
      ? `How ${shown[0].model} got there (${shown[0].lines.length} step${shown[0].lines.length === 1 ? "" : "s"})`
      : "How the models got there";
    $("explain-text").replaceChildren(...shown.flatMap((m) => [
      el("h3", { text: `${m.title} (${m.model})` }),
      el("ol", { class: "explain-lines", "data-model": m.model },
        ...(m.lines.length ? m.lines : ["(this model gives no explanation)"]).map((line) => el("li", { text: line }))),
    ]));
  } catch (error) {
    if (ticket !== explaining) return;
    $("explain-summary").textContent = "How the model got there";
    showError("explain-error", error);
  }
}

// -- sensitivity -----------------------------------------------------------------------

function sensitivityStatus(runId, result) {
  return `run ${runId}: ${result.method} on ${result.model}, ${result.inputs.length} inputs,` +
    ` ${result.evaluations.toLocaleString()} evaluations, seed ${result.seed}`;
}

async function runSensitivity() {
  if (!state.scenario) return;
  showError("sens-error", null);
  let body;
  try {
    const samples = $("sens-samples").value.trim();
    body = {
      scenario: state.scenario,
      model: $("model-select").value,
      method: $("sens-method").value,
      samples: samples === "" ? null : Number(samples),
      seed: seedValue(),
      params: parseParams(),
    };
  } catch (error) {
    showError("sens-error", error);
    return;
  }
  const progress = $("sens-progress");
  $("sens-button").disabled = true;
  try {
    let job = await api("POST", "/api/sensitivity", body);
    progress.hidden = false;
    while (job.status === "queued" || job.status === "running") {
      progress.max = job.total;
      progress.value = job.done;
      $("sens-status").textContent = `${job.done.toLocaleString()} / ${job.total.toLocaleString()} evaluations`;
      await new Promise((resolve) => setTimeout(resolve, 250));
      job = await api("GET", `/api/jobs/${job.id}`);
    }
    progress.max = job.total;
    progress.value = job.done;
    if (job.status === "failed") throw new Error(job.error);
    state.sensitivity = job.result;
    $("sens-status").textContent = sensitivityStatus(job.run_id, job.result);
    renderSensitivity();
    refreshRuns();
  } catch (error) {
    $("sens-status").textContent = "";
    showError("sens-error", error);
  } finally {
    $("sens-button").disabled = state.problems.length > 0;
  }
}

function renderSensitivity() {
  const result = state.sensitivity;
  if (!result) return;
  const issueId = $("sens-issue").value || Object.keys(result.ranking)[0];
  const ranked = (result.ranking[issueId] || []).slice(0, 10);
  const inputs = new Map(result.inputs.map((x) => [x.name, x]));
  const key = result.ranked_by;
  const sobol = result.method === "sobol";
  const heads = ["#", "input", "value", "range", ...(sobol ? ["ST", "± 95 %", "S1"] : ["mu*", "± 95 %", "sigma"])];
  const digits = sobol ? 3 : 2;
  const rows = ranked.map((r, i) => {
    const x = inputs.get(r.input);
    const cells = sobol ? [r.values.ST, r.values.ST_conf, r.values.S1] : [r.values.mu_star, r.values.mu_star_conf, r.values.sigma];
    return el("tr", {},
      el("td", { text: String(i + 1), class: "num" }),
      el("th", { text: r.input, scope: "row", class: "sens-input", "data-issue": issueId }),
      el("td", { text: x ? fmtScale(x.value) : "–", class: "num" }),
      el("td", { text: x ? `${fmtScale(x.low)} – ${fmtScale(x.high)}` : "–", class: "num", title: x ? x.bounds : "" }),
      ...cells.map((v) => el("td", { text: fmt(v, digits), class: "num" })));
  });
  $("sens-table").replaceChildren(el("thead", {}, el("tr", {}, ...heads.map((t) => el("th", { text: t })))),
    el("tbody", {}, ...rows));
  $("sens-notes").replaceChildren(...result.notes.map((n) => el("li", { text: n })));
  const chart = $("sens-chart");
  if (!plotly()) {
    chart.replaceChildren(el("p", { class: "muted", text: "Charts need plotly (pip install 'detente[web]')." }));
    return;
  }
  const shown = [...ranked].reverse();
  const label = sobol ? "total-order index ST" : "mu* (mean |elementary effect|)";
  plotly().react(chart, [{
    type: "bar", orientation: "h",
    x: shown.map((r) => r.values[key]),
    y: shown.map((r) => r.input),
    error_x: { type: "data", array: shown.map((r) => r.values[sobol ? "ST_conf" : "mu_star_conf"]), visible: true },
    marker: { color: "rgb(31, 119, 180)" },
    name: key,
  }], {
    margin: { l: 10, r: 10, t: 36, b: 40 },
    height: Math.max(220, 60 + 26 * shown.length),
    autosize: true,
    title: { text: `${issueTitle(issueId)}: ${result.model}, ${result.method}`, font: { size: 14 } },
    xaxis: { title: { text: label }, rangemode: "tozero" },
    yaxis: { automargin: true },
    showlegend: false,
  }, { displaylogo: false, responsive: true });
}

// -- start ------------------------------------------------------------------------------

async function start() {
  $("load-button").addEventListener("click", loadBuiltin);
  $("upload-input").addEventListener("change", uploadFile);
  $("run-button").addEventListener("click", runModel);
  $("mc-button").addEventListener("click", runMonteCarlo);
  $("compare-button").addEventListener("click", compareShocks);
  $("sens-button").addEventListener("click", runSensitivity);
  $("sens-issue").addEventListener("change", renderSensitivity);
  $("evidence-close").addEventListener("click", closeEvidence);
  $("runs-refresh").addEventListener("click", refreshRuns);
  $("chart-issue").addEventListener("change", () => {
    drawPositions();
    drawFan();
  });
  $("model-select").addEventListener("change", () => {
    const spec = state.models.find((m) => m.name === $("model-select").value);
    $("model-summary").textContent = spec ? `${spec.title}: ${spec.summary}` : "";
    // A reopened record with several models: show the chosen one's run.
    const stored = state.runs.find((r) => r.model === $("model-select").value);
    if (stored && state.runs.length > 1 && stored !== state.run) showStoredRun(stored);
  });
  try {
    const [info, scenarios, models] = await Promise.all([
      api("GET", "/api/info"), api("GET", "/api/scenarios"), api("GET", "/api/models")]);
    state.maxUpload = info.max_upload_bytes;
    $("draws-input").max = info.max_draws;
    $("version").textContent = `v${info.version}`;
    state.models = models;
    $("model-select").replaceChildren(...models.map((m) => el("option", { value: m.name, text: `${m.name} — ${m.title}` })));
    $("model-select").value = models.some((m) => m.name === "median") ? "median" : models[0].name;
    $("model-select").dispatchEvent(new Event("change"));
    renderModelChoices();
    $("scenario-select").replaceChildren(...scenarios.map((s) => el("option", { value: s.name, text: s.name, title: s.description || "" })));
    if (scenarios.length) await loadBuiltin();
    refreshRuns();
    document.body.dataset.ready = "true";
  } catch (error) {
    showError("upload-error", error);
  }
}

document.addEventListener("DOMContentLoaded", start);
