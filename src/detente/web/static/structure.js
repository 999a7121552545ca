// The causal map and the summit of a built-in scenario (/structure?scenario=NAME), over
// POST /api/causal and POST /api/summit. Strings go in with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

function cell(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

async function api(method, path, body) {
  const options = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = data && data.detail;
    throw new Error(typeof detail === "string" ? detail : `HTTP ${response.status}`);
  }
  return data;
}

function show(id, message) {
  $(id).textContent = message;
  $(id).hidden = !message;
}

function fmt(x, digits) {
  return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
}

async function drawMap(scenario, levers) {
  show("map-error", "");
  try {
    const answer = await api("POST", "/api/causal", { scenario, levers });
    Plotly.react("map-chart", answer.figure.data, answer.figure.layout, { responsive: true });
    const body = $("changes").querySelector("tbody");
    body.replaceChildren();
    for (const change of answer.result.changes) {
      const row = document.createElement("tr");
      row.append(cell("td", change.target), cell("td", fmt(change.before, 3)),
        cell("td", fmt(change.after, 3)));
      body.append(row);
    }
    $("map-notes").replaceChildren(...answer.result.notes.map((n) => cell("li", n)));
  } catch (error) {
    show("map-error", error.message);
  }
}

function leverForm(scenario) {
  const form = $("levers");
  const high = 1;
  const low = ["tanh", "trivalent"].includes(scenario.causal.transfer) ? -1 : 0;
  const inputs = [];
  for (const concept of scenario.causal.concepts) {
    if (concept.kind !== "lever") continue;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: low, max: high, step: 0.05 });
    input.value = concept.value === undefined || concept.value === null ? 0 : concept.value;
    input.dataset.lever = concept.id;
    const label = cell("label", `${concept.label || concept.id} `);
    const value = cell("output", input.value);
    input.addEventListener("input", () => { value.textContent = input.value; });
    input.addEventListener("change", () => {
      const levers = {};
      for (const each of inputs) levers[each.dataset.lever] = Number(each.value);
      drawMap(scenario, levers);
    });
    label.append(input, value);
    form.append(label);
    inputs.push(input);
  }
}

async function drawSummit(scenario) {
  show("summit-error", "");
  try {
    const answer = await api("POST", "/api/summit", { scenario });
    const result = answer.result;
    const [a, b] = result.between;
    $("summit-info").textContent =
      `${a} and ${b} on ${result.issues.length} issues; no deal: ${result.no_deal.basis}`;
    Plotly.react("summit-chart", answer.figure.data, answer.figure.layout, { responsive: true });
    const head = document.createElement("tr");
    for (const name of ["solution", a, b, ...result.issues]) head.append(cell("th", name));
    $("solutions").querySelector("thead").replaceChildren(head);
    const body = $("solutions").querySelector("tbody");
    body.replaceChildren();
    for (const [name, found] of Object.entries(result.solutions)) {
      const row = document.createElement("tr");
      row.append(cell("td", name + (name === result.chosen ? " (chosen)" : "")));
      if (found === null) row.append(cell("td", "no agreement"));
      else {
        for (const u of found.utilities) row.append(cell("td", fmt(u, 3)));
        for (const v of found.outcome) row.append(cell("td", fmt(v, 1)));
      }
      body.append(row);
    }
  } catch (error) {
    show("summit-error", error.message);
  }
}

async function main() {
  const name = new URLSearchParams(window.location.search).get("scenario") || "ukraine-talks";
  $("scenario-name").textContent = name;
  let scenario;
  try {
    scenario = (await api("GET", `/api/scenarios/${encodeURIComponent(name)}`)).scenario;
  } catch (error) {
    show("map-error", error.message);
    return;
  }
  if (scenario.causal) {
    leverForm(scenario);
    drawMap(scenario, {});
  } else show("map-error", `scenario ${name} has no causal map`);
  if (scenario.summit) drawSummit(scenario);
  else show("summit-error", `scenario ${name} has no summit`);
}

document.addEventListener("DOMContentLoaded", main);
