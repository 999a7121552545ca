// What detente's pages share (index.html, advise.html, structure.html load it before their own
// script): elements made with text only, the HTTP API with its errors in one line, and where a
// page shows them. Every string from a scenario, a file or the server goes in with textContent,
// never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "title" || key === "colspan") {
      node.setAttribute(key, String(value));
    } else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status; // 0: the server was not reached
  }
}

// JSON in and out; an answer that is not 2xx, or no answer at all, throws an ApiError whose
// message is one line for the page to show.
async function api(method, path, body) {
  const options = { method, headers: { accept: "application/json" } };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    // fetch rejects only when no answer came (server stopped, network down, request aborted)
    throw new ApiError(0, `the server did not answer (${method} ${path}): ${error.message}`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, errorText(data, response));
  return data;
}

// FastAPI's error bodies: "detail" as a string (the app's refusals, 413/422/503 over a limit
// naming it, e.g. "...; this server allows at most 20,000 (--max-draws)") or as a list of
// validation errors; anything else (a proxy's page, an empty body) by its status.
function errorText(data, response) {
  if (data && typeof data.detail === "string") return data.detail;
  if (data && Array.isArray(data.detail)) {
    return data.detail
      .map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`)
      .join("; ");
  }
  if (data && typeof data.limit === "string") {
    return `${response.status}: over the limit ${data.limit} (${data.value}; at most ${data.allowed})`;
  }
  return `${response.status} ${response.statusText}`.trim();
}

// An error (an Error, a string) in the element `id`, or none (null or "") hides it.
function showError(id, error) {
  const node = $(id);
  if (!error) {
    node.hidden = true;
    node.textContent = "";
    return;
  }
  node.textContent = error instanceof Error ? error.message : String(error);
  node.hidden = false;
}

const fmt = (x, digits = 1) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
