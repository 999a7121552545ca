// An actor's levers for a built-in scenario (/advise?scenario=NAME), over POST /api/advise.
// Strings go in with textContent, never as HTML.
"use strict";

const KINDS = ["position", "salience", "persuade-position", "persuade-salience", "shock",
  "causal"];
const SHOWN = 15;

// A gain with its sign (common.js's fmt gives the number alone).
function gain(x, digits) {
  const text = fmt(x, digits);
  return x !== null && x !== undefined && x >= 0 ? `+${text}` : text;
}

function draw(result) {
  const top = result.levers.slice(0, SHOWN);
  const labels = top.map((lv) => lv.label);
  const trace = {
    type: "bar",
    orientation: "h",
    y: labels,
    x: top.map((lv) => lv.gain.median),
    error_x: {
      type: "data",
      symmetric: false,
      array: top.map((lv) => lv.gain.q95 - lv.gain.median),
      arrayminus: top.map((lv) => lv.gain.median - lv.gain.q05),
    },
    hovertemplate: "%{y}: %{x:+.2f}<extra></extra>",
  };
  const layout = {
    height: 140 + 26 * top.length,
    margin: { l: 340, r: 16, t: 16, b: 48 },
    yaxis: { autorange: "reversed", automargin: true },
    xaxis: { title: { text: `gain for ${result.actor} (points)` }, zeroline: true },
  };
  Plotly.react("chart", [trace], layout, { responsive: true });
  const body = $("levers").querySelector("tbody");
  body.replaceChildren();
  top.forEach((lv, n) => {
    const row = document.createElement("tr");
    row.append(el("td", { text: String(n + 1) }), el("td", { text: lv.label }), el("td", { text: lv.kind }),
      el("td", { text: gain(lv.gain.median, 2) }), el("td", { text: gain(lv.gain.q05, 1) }),
      el("td", { text: gain(lv.gain.q95, 1) }), el("td", { text: `${fmt(100 * lv.helps, 0)} %` }),
      el("td", { text: fmt(lv.concession, 1) }));
    body.append(row);
  });
  const d = result.distance;
  $("summary").textContent = `${result.model}, ${result.draws} draws, seed ${result.seed}:`
    + ` without a lever the forecast lies ${fmt(d.median, 1)} points from ${result.actor}'s`
    + ` positions (5–95 %: ${fmt(d.q05, 1)}–${fmt(d.q95, 1)}); ${result.levers.length} levers.`;
  $("caveat").textContent = `Caveat: ${result.caveat}.`;
}

async function ask(scenario) {
  showError("error", null);
  const kinds = [...$("kinds").querySelectorAll("input:checked")].map((i) => i.value);
  const body = {
    scenario,
    actor: $("actor").value,
    model: $("model").value,
    draws: Number($("draws").value),
    kinds,
  };
  $("summary").textContent = "running…";
  try {
    const answer = await api("POST", "/api/advise", body);
    draw(answer.result);
    $("run").textContent = `recorded as run ${answer.run_id}`;
  } catch (error) {
    $("summary").textContent = "";
    showError("error", error);
  }
}

async function main() {
  const name = new URLSearchParams(window.location.search).get("scenario") || "ukraine-talks";
  $("scenario-name").textContent = name;
  let scenario;
  try {
    scenario = (await api("GET", `/api/scenarios/${encodeURIComponent(name)}`)).scenario;
    const models = await api("GET", "/api/models");
    for (const spec of models) $("model").append(el("option", { text: spec.name }));
    $("model").value = "median";
  } catch (error) {
    showError("error", error);
    return;
  }
  for (const actor of scenario.actors) {
    const option = el("option", { text: actor.label || actor.id });
    option.value = actor.id;
    $("actor").append(option);
  }
  for (const kind of KINDS) {
    const box = document.createElement("input");
    Object.assign(box, { type: "checkbox", value: kind, checked: kind !== "persuade-salience" });
    const label = el("label", { text: ` ${kind}` });
    label.prepend(box);
    $("kinds").append(label);
  }
  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    ask(scenario);
  });
}

document.addEventListener("DOMContentLoaded", main);
