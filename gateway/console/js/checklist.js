// The dashboard's "Getting started" checklist, shown until the user's first successful
// request. Each step's state comes from GET /api/user/self/getting_started (the data,
// not remembered clicks), so it is right whoever did the step.

import { api } from "./api.js";
import { h } from "./dom.js";

function steps(isAdmin) {
  return [
    { key: "channel", title: "Add a channel", route: isAdmin ? "channels" : null,
      text: isAdmin ? "Point the gateway at a provider (OpenAI, Anthropic, Gemini…) with its API key." : "An administrator connects the gateway to a provider." },
    { key: "quota", title: "Give quota", route: isAdmin ? "users" : null,
      text: isAdmin ? "Set a balance on your user (Users → Edit) so requests can be billed." : "An administrator sets a balance on your account." },
    { key: "key", title: "Create an API key", route: "keys", text: "Keys authenticate calls to /v1; the full key is shown once." },
    { key: "request", title: "Try the playground", route: "playground", text: "Send a first message with your key. This list goes away after the first successful request." },
  ];
}

/** The checklist card, or null when the first request already succeeded. */
export async function gettingStarted(ctx) {
  const done = await api("GET", "/user/self/getting_started");
  if (done.request) return null;
  const items = steps(ctx.isAdmin).map((s, i) => {
    const ok = !!done[s.key];
    const title = s.route && !ok ? h("a", { href: `#/${s.route}`, class: "step-title" }, s.title) : h("span", { class: "step-title" }, s.title);
    return h("li", { class: ok ? "done" : null, dataset: { step: s.key, done: String(ok) } },
      h("span", { class: "mark", "aria-hidden": "true" }, ok ? "✓" : String(i + 1)),
      h("div", null, title, h("span", { class: "visually-hidden" }, ok ? " (done)" : " (to do)"),
        h("span", { class: "muted small" }, s.text)));
  });
  const left = items.length - Object.values(done).filter(Boolean).length;
  return h("section", { class: "card section", id: "getting-started", "aria-labelledby": "gs-h" },
    h("h2", { id: "gs-h" }, "Getting started"),
    h("p", { class: "section-note" }, `${left} of ${items.length} steps left before your first request.`),
    h("ol", { class: "checklist section" }, items));
}
