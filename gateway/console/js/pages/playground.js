// Playground: chat with a model through /v1 using one of the user's keys, streamed.
// The full key is only known at creation, so the user pastes one or creates a temporary
// key here; it is kept in sessionStorage (this tab only) and never put in a URL.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { ms, num } from "../format.js";
import { sseData } from "../sse.js";
import { busy, button, errorBox, field, pageHead } from "../ui.js";
import { PLAYGROUND_KEY } from "./key_form.js";

async function v1Error(res) {
  try {
    const j = await res.json();
    return j?.error?.message || j?.message || `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

export async function render(root, ctx) {
  const keyInput = h("input", { id: "pg-key", type: "password", autocomplete: "off", spellcheck: "false", placeholder: "sk-…", value: sessionStorage.getItem(PLAYGROUND_KEY) || "" });
  const keyErr = errorBox();
  const model = h("select", { id: "pg-model", disabled: true }, h("option", { value: "" }, "Load models first"));
  const loadBtn = button("Load models", () => busy(loadBtn, keyErr, loadModels), { id: "pg-load" });
  const createBtn = button("Create a playground key", () => busy(createBtn, keyErr, async () => {
    const created = await api("POST", "/token", { name: "playground", unlimited_quota: true });
    keyInput.value = created.key;
    sessionStorage.setItem(PLAYGROUND_KEY, created.key);
    await loadModels();
  }), { id: "pg-create-key" });
  const forget = button("Forget key", () => { sessionStorage.removeItem(PLAYGROUND_KEY); keyInput.value = ""; resetModels("Load models first"); }, { class: "link" });
  const system = h("textarea", { id: "pg-system", rows: 2, placeholder: "You are a helpful assistant." });
  const chat = h("div", { class: "chat", role: "log", "aria-label": "Conversation", id: "pg-chat" },
    h("p", { class: "chat-empty" }, "Messages appear here."));
  const input = h("textarea", { id: "pg-input", rows: 2, placeholder: "Ask something… (Enter sends, Shift+Enter for a new line)" });
  const send = h("button", { type: "submit", class: "primary", id: "pg-send" }, "Send");
  const stop = button("Stop", () => controller?.abort(), { id: "pg-stop", disabled: true });
  const clear = button("Clear", () => { turns.length = 0; mount(chat, h("p", { class: "chat-empty" }, "Messages appear here.")); }, { class: "link" });
  const sendErr = errorBox();
  const turns = [];
  let controller = null;

  function resetModels(text) {
    mount(model, h("option", { value: "" }, text));
    model.disabled = true;
  }

  async function loadModels() {
    const key = keyInput.value.trim();
    if (!key) throw new Error("Paste an API key or create a playground key.");
    sessionStorage.setItem(PLAYGROUND_KEY, key);
    const res = await fetch("/v1/models", { headers: { Authorization: `Bearer ${key}` }, cache: "no-store" });
    if (!res.ok) { resetModels("No models"); throw new Error(await v1Error(res)); }
    const ids = ((await res.json()).data || []).map((m) => m.id).sort();
    if (!ids.length) { resetModels("No models"); throw new Error("This key may use no model yet: add a channel or widen the key's models."); }
    mount(model, ids.map((id) => h("option", { value: id }, id)));
    model.disabled = false;
  }

  function bubble(role, text) {
    chat.querySelector(".chat-empty")?.remove();
    const body = h("span", { class: "text" }, text);
    const el = h("div", { class: ["msg", role] }, h("span", { class: "visually-hidden" }, role === "user" ? "You: " : "Assistant: "), body);
    chat.append(el);
    chat.scrollTop = chat.scrollHeight;
    return { el, body };
  }

  async function ask() {
    const key = keyInput.value.trim();
    const text = input.value.trim();
    if (!key) throw new Error("Paste an API key or create a playground key first.");
    if (!model.value) throw new Error("Load the models and pick one.");
    if (!text) throw new Error("Type a message.");
    input.value = "";
    bubble("user", text);
    turns.push({ role: "user", content: text });
    const messages = system.value.trim() ? [{ role: "system", content: system.value.trim() }, ...turns] : [...turns];
    const out = bubble("assistant", "");
    out.el.setAttribute("aria-busy", "true");
    controller = new AbortController();
    stop.disabled = false;
    const started = performance.now();
    let answer = "";
    let usage = null;
    try {
      const res = await fetch("/v1/chat/completions", {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ model: model.value, messages, stream: true, stream_options: { include_usage: true } }),
        signal: controller.signal,
      });
      if (!res.ok) throw new Error(await v1Error(res));
      for await (const data of sseData(res.body, controller.signal)) {
        if (data === "[DONE]") break;
        let ev;
        try { ev = JSON.parse(data); } catch { continue; }
        if (ev.error) throw new Error(ev.error.message || "The stream ended with an error.");
        const delta = ev.choices?.[0]?.delta?.content;
        if (delta) {
          answer += delta;
          out.body.textContent = answer;
          chat.scrollTop = chat.scrollHeight;
        }
        if (ev.usage) usage = ev.usage;
      }
      const meta = [`${model.value}`, ms(Math.round(performance.now() - started))];
      if (usage) meta.push(`${num(usage.prompt_tokens)} + ${num(usage.completion_tokens)} tokens`);
      out.el.append(h("span", { class: "meta" }, meta.join(" · ")));
    } catch (e) {
      const aborted = e.name === "AbortError";
      if (!answer) out.el.remove();
      else out.el.append(h("span", { class: "meta" }, aborted ? "stopped" : "interrupted"));
      if (!aborted) throw e;
    } finally {
      out.el.removeAttribute("aria-busy");
      if (answer) turns.push({ role: "assistant", content: answer });
      controller = null;
      stop.disabled = true;
    }
  }

  const form = h("form", { novalidate: true, "aria-label": "Send a message" },
    field("Message", input), sendErr.el,
    h("div", { class: "actions" }, send, stop, clear));
  form.addEventListener("submit", (e) => { e.preventDefault(); busy(send, sendErr, ask); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  ctx.onLeave(() => controller?.abort());

  root.append(pageHead("Playground"),
    h("div", { class: "grid two" },
      h("section", { class: "card", "aria-labelledby": "pg-key-h" },
        h("h2", { id: "pg-key-h" }, "Key and model"),
        field("API key", keyInput, "Kept in this tab only (sessionStorage)."),
        h("div", { class: "actions field" }, loadBtn, createBtn, forget), keyErr.el,
        field("Model", model)),
      h("section", { class: "card", "aria-labelledby": "pg-sys-h" },
        h("h2", { id: "pg-sys-h" }, "System prompt"),
        field("Instructions (optional)", system))),
    h("section", { class: "card section", "aria-labelledby": "pg-chat-h" },
      h("h2", { id: "pg-chat-h" }, "Chat"), chat, form));
  if (keyInput.value) busy(loadBtn, keyErr, loadModels);
}
