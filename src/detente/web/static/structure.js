// The causal map and the summit of a built-in scenario (/structure?scenario=NAME), over
// POST /api/causal and POST /api/summit. Strings go in with textContent, never as HTML.
"use strict";

async function drawMap(scenario, levers) {
  showError("map-error", null);
  try {
    const answer = await api("POST", "/api/causal", { scenario, levers });
    Plotly.react("map-chart", answer.figure.data, answer.figure.layout, { responsive: true });
    const body = $("changes").querySelector("tbody");
    body.replaceChildren();
    for (const change of answer.result.changes) {
      const row = document.createElement("tr");
      row.append(el("td", { text: change.target }), el("td", { text: fmt(change.before, 3) }),
        el("td", { text: fmt(change.after, 3) }));
      body.append(row);
    }
    $("map-notes").replaceChildren(...answer.result.notes.map((n) => el("li", { text: n })));
  } catch (error) {
    showError("map-error", error);
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
    const label = el("label", { text: `${concept.label || concept.id} ` });
    const value = el("output", { text: input.value });
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
  showError("summit-error", null);
  try {
    const answer = await api("POST", "/api/summit", { scenario });
    const result = answer.result;
    const [a, b] = result.between;
    $("summit-info").textContent =
      `${a} and ${b} on ${result.issues.length} issues; no deal: ${result.no_deal.basis}`;
    Plotly.react("summit-chart", answer.figure.data, answer.figure.layout, { responsive: true });
    const head = document.createElement("tr");
    for (const name of ["solution", a, b, ...result.issues]) head.append(el("th", { text: name }));
    $("solutions").querySelector("thead").replaceChildren(head);
    const body = $("solutions").querySelector("tbody");
    body.replaceChildren();
    for (const [name, found] of Object.entries(result.solutions)) {
      const row = document.createElement("tr");
      row.append(el("td", { text: name + (name === result.chosen ? " (chosen)" : "") }));
      if (found === null) row.append(el("td", { text: "no agreement" }));
      else {
        for (const u of found.utilities) row.append(el("td", { text: fmt(u, 3) }));
        for (const v of found.outcome) row.append(el("td", { text: fmt(v, 1) }));
      }
      body.append(row);
    }
  } catch (error) {
    showError("summit-error", error);
  }
}

async function main() {
  const name = new URLSearchParams(window.location.search).get("scenario") || "ukraine-talks";
  $("scenario-name").textContent = name;
  let scenario;
  try {
    scenario = (await api("GET", `/api/scenarios/${encodeURIComponent(name)}`)).scenario;
  } catch (error) {
    showError("map-error", error);
    return;
  }
  if (scenario.causal) {
    leverForm(scenario);
    drawMap(scenario, {});
  } else showError("map-error", `scenario ${name} has no causal map`);
  if (scenario.summit) drawSummit(scenario);
  else showError("summit-error", `scenario ${name} has no summit`);
}

document.addEventListener("DOMContentLoaded", main);
