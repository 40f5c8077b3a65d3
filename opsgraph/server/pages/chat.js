// The web chat: the same engine as `opsgraph chat`, through POST /api/ask.
"use strict";
const log = document.getElementById("log");

function say(who, text, source) {
  log.append(el("div", { class: `msg ${who}` }, el("b", {}, who === "you" ? "you" : `opsgraph${source === "llm" ? " (llm)" : ""}`),
    el("pre", {}, text)));
  log.scrollTop = log.scrollHeight;
}

document.getElementById("ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("question");
  const question = input.value.trim();
  if (!question) return;
  input.value = "";
  say("you", question);
  try {
    const answer = await api("/api/ask", { method: "POST", body: JSON.stringify({ question }) });
    say("bot", answer.text, answer.source);
    showError("");
  } catch (error) { showError(error.message); }
});

setupToken(() => {});
say("bot", "Ask: what is wrong? · explain INCIDENT · what is pending my approval? · approve APPROVAL · what will breach next?");
