// Shared by the dashboard and the chat: the token in localStorage, authenticated fetch, safe text nodes.
"use strict";
const TOKEN_KEY = "opsgraph_token";

function token() { return localStorage.getItem(TOKEN_KEY) || ""; }

async function api(path, options = {}) {
  const headers = Object.assign({ "Authorization": "Bearer " + token() }, options.headers || {});
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(response.status + ": " + (data.detail ? JSON.stringify(data.detail) : response.statusText));
  return data;
}

// Build elements from text only: nothing from the server is ever parsed as HTML.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message; box.hidden = !message;
}

function setupToken(onChange) {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(TOKEN_KEY, input.value.trim()); input.value = ""; onChange();
  });
  document.getElementById("whoami").textContent = token() ? "token set" : "no token";
}
