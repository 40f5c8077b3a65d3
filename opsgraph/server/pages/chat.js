// The web chat: the same engine as `opsgraph chat`, through POST /api/ask.
"use strict";
const log = document.getElementById("log");
const CLOSED = ["resolved", "escalated"];
const FOLLOW_MS = 1000, FOLLOW_LIMIT_MS = 120000;

function say(who, text, source, attrs = {}) {
  const node = el("div", Object.assign({ class: `msg ${who}` }, attrs),
    el("b", {}, who === "you" ? "you" : `opsgraph${source === "llm" ? " (llm)" : ""}`), el("pre", {}, text));
  log.append(node);
  log.scrollTop = log.scrollHeight;
  return node;
}

// After a decision the loop resumes the incident at its next step: follow it until it closes (as `opsgraph chat` does).
async function follow(incidentId) {
  const started = Date.now();
  const note = say("bot", `Following ${incidentId}: waiting for the loop to resume it…`, "deterministic",
                   { "data-follow": incidentId, "data-status": "waiting" });
  while (Date.now() - started < FOLLOW_LIMIT_MS) {
    try {
      const incident = await api(`/api/incidents/${encodeURIComponent(incidentId)}`);
      note.setAttribute("data-status", incident.status);
      if (CLOSED.includes(incident.status)) {
        note.querySelector("pre").textContent = `Incident ${incidentId} is now ${incident.status}: ${incident.summary || ""}`;
        return;
      }
      note.querySelector("pre").textContent = `Incident ${incidentId} is ${incident.status}; the loop resumes it at its next step…`;
    } catch (error) { showError(error.message); }
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
  }
  note.querySelector("pre").textContent += " (still not closed: is `opsgraph run` running?)";
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
    say("bot", answer.text, answer.source, { "data-intent": answer.intent, "data-citations": (answer.citations || []).join(" ") });
    showError("");
    if ((answer.decided || []).length) for (const id of answer.incidents || []) follow(id);
  } catch (error) { showError(error.message); }
});

setupToken(() => {});
say("bot", "Ask: what is wrong? · explain INCIDENT · what is pending my approval? · approve APPROVAL · what will breach next?");
